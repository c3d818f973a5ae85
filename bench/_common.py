"""Helpers of the bench scripts: run one measurement in a child process and report its peak RSS."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateSchema

DEFAULT_PG = os.environ.get("RKO_BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def schema_url(base: str, schema: str) -> str:
    """``base`` with its search_path set to ``schema``, created if missing."""
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(CreateSchema(schema, if_not_exists=True))  # the name quoted by the dialect
    engine.dispose()
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def process_cpu_s() -> float:
    """CPU seconds this process has used (user and system, all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu_s() -> float | None:
    """CPU seconds used so far by the local PostgreSQL server's processes (from /proc); None if none is seen.

    The difference across a step is the database's share of its work: with the process's own
    CPU it is what the step costs the machine, and the total over a machine's cores is the
    shortest wall time any schedule of the same work could reach.
    """
    tick, total, seen = os.sysconf("SC_CLK_TCK"), 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended
            continue
        if text[text.index("(") + 1 : text.rindex(")")].startswith("postgres"):
            fields = text[text.rindex(")") + 2 :].split()
            total += sum(int(v) for v in fields[11:15])  # utime, stime, and those of waited-for children
            seen = True
    return total / tick if seen else None


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(func: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``func(*args)`` in a fresh interpreter so that its peak RSS is its own."""
    module = func.__module__
    if module == "__main__":
        module = os.path.splitext(os.path.basename(sys.modules["__main__"].__file__ or ""))[0]
    code = (
        f"import json, sys, time; sys.path.insert(0, {os.path.dirname(__file__)!r});"
        f"from {module} import {func.__name__} as f; from _common import peak_rss_mb;"
        "t = time.perf_counter(); out = f(*json.loads(sys.argv[1]));"
        "out['wall_s'] = round(time.perf_counter() - t, 2); out['peak_rss_mb'] = round(peak_rss_mb());"
        "print('RESULT ' + json.dumps(out))"
    )
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench child failed after {time.perf_counter() - started:.0f} s:\n{proc.stderr[-3000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])
