"""No values are formatted into SQL: a static scan of the Python code and of sql/.

Python: every call that runs or builds SQL (``execute``, ``exec_driver_sql``, ``text``,
``read_frame``, ``read_sql``, ``copy_expert``, ...) is checked for an argument built by an
f-string, ``%``, ``.format`` or ``+`` with non-constant parts, directly or through a local
variable. Identifiers (schema and table names from constants or the dialect's quoting
preparer) may be built that way only where :data:`ALLOWED` says so, with the reason.

sql/: dynamic SQL in PL/pgSQL runs only through ``format()``, whose conversions quote
identifiers (``%I``) and literals (``%L``); a raw ``%s`` needs an entry in :data:`ALLOWED_SQL`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from rko_model.settings import PROJECT_ROOT

SCANNED = ("rko_model", "dags", "plugins", "bench", "scripts")
#: Calls whose arguments are SQL (or parameters that go into SQL).
SQL_CALLS = {
    "execute",
    "executemany",
    "exec_driver_sql",
    "execute_scalar",
    "read_frame",
    "read_sql",
    "read_sql_query",
    "copy_expert",
    "mogrify",
    "statement",
    "text",
}

#: (file, function) -> why its string-built SQL holds identifiers or driver-bound text only.
ALLOWED = {
    ("rko_model/warehouse/backends/_postgresql.py", "PostgreSQLBackend.read_frame"): (
        "COPY (query) TO STDOUT: the query text comes from cursor.mogrify, i.e. the driver has bound every value"
    ),
    ("rko_model/warehouse/backends/_postgresql.py", "_describe"): (
        "the same mogrify-bound query, wrapped for its column names"
    ),
    ("rko_model/warehouse/backends/_postgresql.py", "PostgreSQLBackend.explain"): (
        "EXPLAIN of a mogrify-bound query: the driver has bound every value"
    ),
    ("rko_model/warehouse/backends/_postgresql.py", "PostgreSQLBackend.bulk_insert"): (
        "COPY table (columns): identifiers quoted by the dialect's identifier preparer; the format is a constant word"
    ),
    ("rko_model/warehouse/backends/_postgresql.py", "PostgreSQLBackend.refresh_statistics"): (
        "VACUUM (ANALYZE) table: the name is a Table of schema.py, quoted by the identifier preparer"
    ),
    ("rko_model/warehouse/backends/_sqlite.py", "SQLiteBackend.create_staging_engine.attach"): (
        "ATTACH ... AS schema and PRAGMA schema.journal_mode: the schema names are the staging module's constants "
        "(an alias cannot be a bound parameter); the file path is bound"
    ),
    ("rko_model/warehouse/backends/_sqlite.py", "SQLiteBackend.bulk_insert"): (
        "INSERT INTO table (columns) VALUES (?, ...): identifiers quoted by the identifier preparer, values bound"
    ),
    ("rko_model/warehouse/backends/_sqlite.py", "SQLiteBackend.write_transaction"): (
        "PRAGMA busy_timeout = <milliseconds>: an int formatted with :d (a PRAGMA takes no bound parameter)"
    ),
    ("bench/bench_scoring_dag.py", "snapshot_query_only"): "the bench's COPY of mogrify-bound query text",
}

#: (sql file, format string fragment) -> why a raw %s is safe there.
ALLOWED_SQL = {
    ("roles/roles.postgresql.sql", "%I.%I(%s)"): (
        "a function's argument list from pg_get_function_identity_arguments: text the server generates"
    ),
}


def _python_files() -> Iterator[Path]:
    for folder in SCANNED:
        yield from sorted((PROJECT_ROOT / folder).rglob("*.py"))


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        if func.attr == "text":  # sqlalchemy's text(); not matplotlib's ax.text or Path.read_text
            owner = func.value
            return "text" if isinstance(owner, ast.Name) and owner.id in ("sa", "sqlalchemy") else None
        return func.attr
    return None


def _is_str_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _built(node: ast.AST, local: dict[str, list[ast.AST]], seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``node`` is a string assembled from non-constant parts."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _is_str_constant(node.left) or _built(node.left, local, seen)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        sides = (node.left, node.right)
        stringy = any(_is_str_constant(s) or isinstance(s, ast.JoinedStr) for s in sides)
        return any(_built(s, local, seen) for s in sides) or (
            stringy and not all(_is_str_constant(s) for s in sides) and not _names_only(sides, local)
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return True
    if isinstance(node, ast.IfExp):
        return _built(node.body, local, seen) or _built(node.orelse, local, seen)
    if isinstance(node, ast.Name) and node.id in local and node.id not in seen:
        return any(_built(value, local, seen | {node.id}) for value in local[node.id])
    return False


def _names_only(sides: tuple[ast.AST, ...], local: dict[str, list[ast.AST]]) -> bool:
    """Constant strings and module-level names (constants), none of them a local variable."""
    return all(_is_str_constant(s) or (isinstance(s, ast.Name) and s.id not in local) for s in sides)


def _assignments(function: ast.AST) -> dict[str, list[ast.AST]]:
    local: dict[str, list[ast.AST]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    local.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name) and node.value:
            local.setdefault(node.target.id, []).append(node.value)
    return local


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    """Every function with its qualified name (nested ones as ``outer.inner``), and the module as ``<module>``."""
    if not prefix:
        yield "<module>", tree
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield name, node
            yield from _functions(node, f"{name}.")
        else:
            yield from _functions(node, prefix) if prefix else ()


def _own_calls(function: ast.AST) -> Iterator[ast.Call]:
    """Calls in ``function`` itself, not in the functions nested in it (they are scanned on their own)."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def string_built_sql(path: Path) -> list[tuple[str, int, str]]:
    """(function, line, source) of every SQL call in ``path`` with a string-built argument."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    found = []
    for name, function in _functions(tree):
        local = _assignments(function) if name != "<module>" else {}
        for call in _own_calls(function):
            if _call_name(call) not in SQL_CALLS:
                continue
            arguments = [*call.args, *(k.value for k in call.keywords)]
            if any(_built(a, local) for a in arguments):
                found.append((name, call.lineno, ast.get_source_segment(source, call) or ""))
    return sorted(found, key=lambda item: item[1])


def _scan() -> dict[tuple[str, str], list[str]]:
    offenders: dict[tuple[str, str], list[str]] = {}
    for path in _python_files():
        rel = path.relative_to(PROJECT_ROOT).as_posix()
        for function, line, segment in string_built_sql(path):
            offenders.setdefault((rel, function), []).append(f"{rel}:{line}: {segment.splitlines()[0]}")
    return offenders


def test_no_values_are_formatted_into_sql() -> None:
    offenders = _scan()
    unexplained = {k: v for k, v in offenders.items() if k not in ALLOWED}
    assert not unexplained, "string-built SQL outside the allowlist:\n" + "\n".join(
        line for lines in unexplained.values() for line in lines
    )


def test_every_allowlist_entry_is_still_needed() -> None:
    stale = set(ALLOWED) - set(_scan())
    assert not stale, f"allowlist entries that match nothing (remove them): {sorted(stale)}"


def test_the_scan_catches_each_way_of_building_sql(tmp_path: Path) -> None:
    """The heuristic itself: each idiom that pastes a value is found; constants and bound parameters are not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import sqlalchemy as sa\n"
        "PART = 'SELECT 1'\n"
        "def bad(conn, cursor, engine, x):\n"
        "    conn.execute(sa.text(f'SELECT * FROM t WHERE id = {x}'))\n"
        "    cursor.execute('SELECT * FROM t WHERE id = %s' % x)\n"
        "    conn.exec_driver_sql('SELECT * FROM t WHERE id = {}'.format(x))\n"
        "    sql = 'SELECT * FROM t WHERE id = ' + str(x)\n"
        "    read_frame(engine, sql, {})\n"
        "def good(conn, cursor, engine, x, ax):\n"
        "    conn.execute(sa.text('SELECT * FROM t WHERE id = :x'), {'x': x})\n"
        "    cursor.execute('SELECT * FROM t WHERE id = %s', (x,))\n"
        "    read_frame(engine, PART + ' UNION SELECT 2', {})\n"
        "    ax.text(0, 1, f'{x:.3f}')\n",
        encoding="utf-8",
    )
    assert [(f, line) for f, line, _ in string_built_sql(sample)] == [
        ("bad", 4),
        ("bad", 5),
        ("bad", 6),
        ("bad", 8),
    ]


def _sql_body(path: Path) -> str:
    return "\n".join(line.split("--", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())


def test_dynamic_sql_in_sql_files_goes_through_format_with_quoting() -> None:
    sql_dir = PROJECT_ROOT / "sql"
    used_allowances = set()
    for path in sorted(sql_dir.rglob("*.sql")):
        rel = path.relative_to(sql_dir).as_posix()
        body = _sql_body(path)
        for match in re.finditer(r"\bEXECUTE\s+(?!ON\b)(\S+)", body, flags=re.I):
            assert match.group(1).lower().startswith("format("), (rel, body[match.start() : match.start() + 80])
        for match in re.finditer(r"format\(\s*((?:'(?:[^']|'')*'\s*)+)", body, flags=re.I):
            template = match.group(1)
            for conversion in re.finditer(r"%[^IL%]", template):
                allowed = [k for k in ALLOWED_SQL if k[0] == rel and k[1] in template]
                assert allowed, f"{rel}: raw {conversion.group()} in format({template.strip()[:80]}...)"
                used_allowances.update(allowed)
    assert used_allowances == set(ALLOWED_SQL), f"stale entries: {set(ALLOWED_SQL) - used_allowances}"
