"""Helpers of the bench scripts: run one measurement in a child process and report its peak RSS."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
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
