"""No secrets in the repository: tracked files are scanned for credentials, keys and tokens.

Passwords in URLs and ``*PASSWORD*``/``*SECRET*``/``*TOKEN*`` settings are allowed only where
:data:`ALLOWED` lists them: the documented defaults of the local Docker stack and made-up
values in tests. ``${VAR:-default}`` placeholders are judged by their default.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest

from rko_model.settings import PROJECT_ROOT

#: (file, value) -> why the value may stay.
ALLOWED = {
    ("docker-compose.yml", "airflow"): (
        "the local stack's metadata database and UI login, documented in README (Full stack) and the compose header"
    ),
    ("docker-compose.yml", "rko"): "the local stack's warehouse role, documented in the compose header",
    ("docker-compose.yml", "airflow_jwt_secret"): (
        "the local stack's default JWT secret, overridable in .env (the compose file's own default)"
    ),
    ("docker-compose.yml", "rko-minio-secret"): (
        "the local stack's MinIO (artefact store) password, documented in the compose header, overridable in .env"
    ),
    ("tests/dags/test_hooks.py", "s3cret"): "a made-up password in a Connection-to-URL test",
    ("tests/dags/test_monitoring_plugin.py", "not-a-token"): "a forged cookie the page must refuse",
    ("sql/roles/roles.postgresql.sql", "from-your-vault"): "a placeholder in the documented example of a login",
    ("docs/security.md", "from-your-vault"): "a placeholder in the documented example of a login",
}

#: Files not scanned: this one holds the patterns and made-up leaks to test them; the lock is generated
#: (`make lock`) and holds only package names, versions and hashes (``asttokens==`` looks like a token setting).
SKIPPED = {"tests/test_secrets.py", "requirements.txt"}

#: Values computed at run time (a call such as ``secrets.token_hex(32)``) or a type annotation: not literals.
_CODE = re.compile(r"^(?:[A-Za-z_][\w.]*\(|str\)?$|int\)?$)")

#: Values that are never secrets: empty, or a reference to something else.
_PLACEHOLDER = re.compile(
    r"^(|\*+|\.+|x+|<[^>]*>|\{[^}]*\}|%\([^)]*\)s|none|null|false|true|password|pass|secret|token)$", re.I
)

_SUBSTITUTION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")
_URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://([^\s:/@'\"]*):([^\s@/'\"]+)@", re.I)
_SETTING = re.compile(
    r"""(?ix)(?:^|[\s{,"'])[\w.-]*(?:password|passwd|secret|token(?!iz)|api_?key|fernet_key)[\w.-]*["']?\s*[:=]\s*
    (?!\s*(?:os\.|env|settings|conn\.|self\.|args\.|None\b|f["']))["']?([^\s"',}]+)"""
)
_SQL_PASSWORD = re.compile(r"\bPASSWORD\s+'([^']*)'", re.I)
_KEYS_AND_TOKENS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
}


def _tracked_files() -> Iterator[tuple[str, str]]:
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout: {exc}")
    for rel in filter(None, listing.split("\0")):
        path = PROJECT_ROOT / rel
        if rel in SKIPPED:
            continue
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary
        yield rel, data.decode("utf-8", errors="replace")


def _with_defaults(line: str) -> str:
    """``${VAR:-default}`` becomes ``default`` (``VAR`` when there is none): what a reader of the file gets."""
    return _SUBSTITUTION.sub(lambda m: m.group(2) if m.group(2) is not None else m.group(1), line)


def findings(rel: str, text: str) -> Iterator[tuple[str, int, str, str]]:
    """(file, line, kind, value) of every credential-like value in ``text``."""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _with_defaults(raw)
        for kind, pattern in _KEYS_AND_TOKENS.items():
            for match in pattern.finditer(line):
                yield rel, number, kind, match.group()
        for match in _URL_CREDENTIALS.finditer(line):
            yield rel, number, "password in a URL", match.group(2)
        for match in (*_SETTING.finditer(line), *_SQL_PASSWORD.finditer(line)):
            yield rel, number, "password, secret or token setting", match.group(1)


def _scan() -> tuple[list[str], set[tuple[str, str]]]:
    problems, used = [], set()
    for rel, text in _tracked_files():
        for file, number, kind, value in findings(rel, text):
            if _PLACEHOLDER.match(value) or (file.endswith(".py") and _CODE.match(value)):
                continue
            if (file, value) in ALLOWED:
                used.add((file, value))
                continue
            problems.append(f"{file}:{number}: {kind}: {value[:6]}...")
    return problems, used


def test_no_credentials_in_tracked_files() -> None:
    problems, _ = _scan()
    assert not problems, "credential-like values (move them to the environment or list them in ALLOWED):\n" + (
        "\n".join(problems)
    )


def test_every_allowlist_entry_is_still_needed() -> None:
    _, used = _scan()
    assert set(ALLOWED) == used, f"stale entries: {sorted(set(ALLOWED) - used)}"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("url = 'postgresql://scoring:Xk29fz@dwh.bank/db'", "password in a URL"),
        ("DB_PASSWORD=Xk29fz", "password, secret or token setting"),
        ('"api_key": "a1b2c3d4e5"', "password, secret or token setting"),
        ("  JWT_SECRET: ${JWT_SECRET:-Xk29fz}", "password, secret or token setting"),
        ("CREATE ROLE job LOGIN PASSWORD 'Xk29fz'", "password, secret or token setting"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key"),
        ("token = ghp_" + "a" * 36, "GitHub token"),
        ("AKIA" + "ABCDEFGHIJKLMNOP", "AWS access key"),
    ],
)
def test_the_patterns_catch_common_leaks(line: str, kind: str) -> None:
    assert kind in {k for *_, k, _ in findings("x", line)}


def test_a_text_tokenizer_is_no_token() -> None:
    """CatBoost's text processing names its tokenizers ("tokenizer_id": "Space"): a word splitter, not a credential."""
    assert not list(findings("x.py", '"tokenizers": [{"tokenizer_id": "Space", "delimiter": " "}],'))
    assert list(findings("x.py", 'refresh_token = "a1b2c3d4e5"'))


@pytest.mark.parametrize(
    "line",
    [
        "url = make_url(settings.warehouse_url).render_as_string(hide_password=True)",
        "password=conn.password or None,",
        "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
        "FERNET_KEY: ${FERNET_KEY:-}",
        "redis://:@redis:6379/0",
    ],
)
def test_references_and_empty_values_pass(line: str) -> None:
    assert all(_PLACEHOLDER.match(value) for *_, value in findings("x", line))
