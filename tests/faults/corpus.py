"""The fault corpus: every way an operator, a disk, a database or another process can break a run.

Each case breaks one thing of a clean, seeded bench (a bank with a champion and a published
list of REPORT_DATE) and runs the real ``rko`` command line. What must follow is declared:
the exit code (2 permanent, 75 transient), a pattern of the one error line on stderr, and,
where the command is a step of the monthly DAG, the task's fate (fails at once, or is left to
its retries). The harness (``test_faults.py``) also checks, for every case, that the earlier
published list is byte-identical, that no run was recorded as published, that the registry is
unchanged and that no ``.partial`` file is left. ``docs/bad_input.md`` shows the corpus as a
table generated from it (:func:`markdown_table`); a test keeps the two equal.

Classes: input (arguments and the warehouse's values), setting (the environment), file
(the registry and SQL files), disk (paths and space), database, process (other runs).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fsspec.core import url_to_fs
from sqlalchemy.engine import Engine

from rko_model.common.partitions import WHOLE
from rko_model.model.registry import Registry
from rko_model.runs import monthly
from rko_model.settings import Settings
from rko_model.warehouse.staging import claim_month, ensure_tables, hold_month, make_staging_engine
from tests.bad_input.cases import CHAMPION, PREVIOUS_MONTH, REPORT_DATE
from tests.helpers import registry_folder, run

ENGINE_FREE = ("engine-free",)  # cases that touch no database run once (on the SQLite bench)
BOTH = ("sqlite", "postgresql")
CLASSES = ("input", "setting", "file", "disk", "database", "process")


@dataclass(frozen=True)
class Stage:
    """The clean bench of one engine, as the cases see it."""

    kind: str
    engine: Engine  # the warehouse
    settings: Settings
    folder: Path
    env: dict[str, str]  # the environment that points `rko` at the bench

    @property
    def registry(self) -> Registry:
        return Registry.of(self.settings)


@dataclass(frozen=True)
class Trial:
    """What a case runs: the command line, changes to the environment, and the DAG step it stands for."""

    argv: list[str]
    env: dict[str, str | None] = field(default_factory=dict)
    step: Callable[[Settings], Any] | None = None


@dataclass(frozen=True)
class FaultCase:
    name: str
    kind: str
    breaks: Callable[[Stage], AbstractContextManager[Trial]]
    exit_code: int
    match: str
    engines: tuple[str, ...] = BOTH
    what: str = ""

    def runs_on(self, kind: str) -> bool:
        return kind in self.engines or (self.engines == ENGINE_FREE and kind == "sqlite")


CASES: list[FaultCase] = []


def fault(
    name: str, kind: str, exit_code: int, match: str, engines: tuple[str, ...] = BOTH
) -> Callable[[Callable[[Stage], Iterator[Trial]]], None]:
    assert kind in CLASSES, kind

    def register(breaks: Callable[[Stage], Iterator[Trial]]) -> None:
        what = " ".join((breaks.__doc__ or "").split())
        CASES.append(FaultCase(name, kind, contextmanager(breaks), exit_code, match, engines, what))

    return register


def score(run_id: str, report_date: str = REPORT_DATE.isoformat(), *more: str) -> list[str]:
    return ["score", "--report-date", report_date, "--run-id", run_id, *more]


def plan_step(settings: Settings) -> Any:
    return monthly.plan(settings)


def extract_step(settings: Settings) -> Any:
    return monthly.extract(settings, REPORT_DATE, "dag-step")


def scoring_steps(settings: Settings) -> Any:
    """extract, validate, score and publish of the DAG (one partition), in a row."""
    version = monthly.plan(settings)[0]["model_version"]
    extracted = monthly.extract(settings, REPORT_DATE, "dag-step")
    validated = monthly.validate(settings, REPORT_DATE, "dag-step", extracted)
    scored = monthly.score(settings, REPORT_DATE, "dag-step", validated, version)
    return monthly.publish(settings, REPORT_DATE, "dag-step", [scored], validated=[validated])


@contextmanager
def file_changed(path: Path, change: Callable[[bytes], bytes]) -> Iterator[None]:
    original = path.read_bytes()
    path.write_bytes(change(original))
    try:
        yield
    finally:
        path.write_bytes(original)


@contextmanager
def value_set(stage: Stage, sql: str, restore: str, **params: object) -> Iterator[None]:
    """Change one value in the warehouse for the case, and put it back."""
    run(stage.engine, sql, **params)
    try:
        yield
    finally:
        run(stage.engine, restore, **params)


def a_payment(stage: Stage) -> dict[str, Any]:
    with stage.engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT payment_id, amount FROM payments WHERE payment_date > :start AND payment_date <= :end "
                "ORDER BY payment_id LIMIT 1"
            ),
            {"start": dt.date(2026, 10, 1), "end": REPORT_DATE},
        ).one()
    return {"payment_id": int(row.payment_id), "amount": float(row.amount)}


# --- input: arguments ----------------------------------------------------------------------------------------


@fault("report date not a month end", "input", 2, r"report date 2026-10-15 is not a month end; did you mean 2026-10-31")
def _not_month_end(stage: Stage) -> Iterator[Trial]:
    """`rko score --report-date 2026-10-15`"""
    yield Trial(score("case-mid-month", "2026-10-15"))


@fault("report date before the data", "input", 2, r"report date 1999-12-31 is before the warehouse's first month")
def _very_old(stage: Stage) -> Iterator[Trial]:
    """a report date long before the warehouse's first month (it used to blame segment codes)"""
    yield Trial(score("case-very-old", "1999-12-31"), step=None)


@fault(
    "report date after the data", "input", 2, r"report date 2027-03-31 is after the latest complete month 2026-10-31"
)
def _future(stage: Stage) -> Iterator[Trial]:
    """a report date after the latest complete month"""
    yield Trial(score("case-future", "2027-03-31"))


@fault("injected report date", "input", 2, r"report date \"2026-10-31'; DROP TABLE clients;--\" is not an ISO date")
def _injected_date(stage: Stage) -> Iterator[Trial]:
    """`--report-date "2026-10-31'; DROP TABLE clients;--"`"""
    yield Trial(score("case-injected", "2026-10-31'; DROP TABLE clients;--"))


@fault("run id with a path", "input", 2, r"the run id '\.\./\.\./etc' holds characters other than")
def _run_id_path(stage: Stage) -> Iterator[Trial]:
    """`--run-id ../../etc`: never a path component"""
    yield Trial(score("../../etc"))


@fault("run id too long", "input", 2, r"the run id is 300 characters long, more than 200")
def _run_id_long(stage: Stage) -> Iterator[Trial]:
    """a run id of 300 characters (too long for a file name)"""
    yield Trial(score("r" * 300))


@fault("run id with control characters", "input", 2, r"the run id 'a\\\\x00b\\\\n' holds characters other than")
def _run_id_control(stage: Stage) -> Iterator[Trial]:
    """a run id holding NUL and a newline"""
    yield Trial(score("a\x00b\n"))


@fault("run id of another month", "input", 2, r"run id baseline-previous already names the run of 2026-09-30")
def _run_id_reused(stage: Stage) -> Iterator[Trial]:
    """October scored with the run id of September's run: September's row and list stay"""
    yield Trial(score("baseline-previous"))


@fault("zero partitions", "input", 2, r"argument --partitions: 0 must be at least 1", ENGINE_FREE)
def _zero_partitions(stage: Stage) -> Iterator[Trial]:
    """`rko score --partitions 0`"""
    yield Trial(score("case-p0", REPORT_DATE.isoformat(), "--partitions", "0"))


@fault("too many partitions", "input", 2, r"argument --partitions: 65 is more than 64 partitions", ENGINE_FREE)
def _many_partitions(stage: Stage) -> Iterator[Trial]:
    """`rko score --partitions 65`"""
    yield Trial(score("case-p65", REPORT_DATE.isoformat(), "--partitions", "65"))


@fault("zero training months", "input", 2, r"argument --train-months: 0 must be at least 1", ENGINE_FREE)
def _train_zero(stage: Stage) -> Iterator[Trial]:
    """`rko train --train-months 0`"""
    yield Trial(["train", "--train-months", "0"])


@fault(
    "training window longer than the data",
    "input",
    2,
    r"the warehouse spans 2025-07-31\.\.2026-10-31: (too short|it holds \d+ training months)",
)
def _train_long(stage: Stage) -> Iterator[Trial]:
    """`rko train --train-months 40` on 16 months of data (it used to train on 2 months silently)"""
    yield Trial(["train", "--train-months", "40", "--no-ablation"])


@fault(
    "negative share above 1", "input", 2, r"argument --negative-share: 1\.5 must be above 0 and at most 1", ENGINE_FREE
)
def _negative_share(stage: Stage) -> Iterator[Trial]:
    """`rko train --negative-share 1.5`"""
    yield Trial(["train", "--negative-share", "1.5"])


@fault("tolerance not a number", "input", 2, r"argument --tolerance: 'nan' is not a finite number", ENGINE_FREE)
def _tolerance_nan(stage: Stage) -> Iterator[Trial]:
    """`rko promote --tolerance nan` (it used to promote a package with 30 times the champion's Gini std)"""
    yield Trial(["promote", "--version", CHAMPION, "--tolerance", "nan"])


@fault("negative tolerance", "input", 2, r"argument --tolerance: -1\.0 must be at least 0", ENGINE_FREE)
def _tolerance_negative(stage: Stage) -> Iterator[Trial]:
    """`rko promote --tolerance -1`"""
    yield Trial(["promote", "--version", CHAMPION, "--tolerance", "-1"])


@fault("top zero rows", "input", 2, r"argument -n: 0 must be at least 1", ENGINE_FREE)
def _top_zero(stage: Stage) -> Iterator[Trial]:
    """`rko top -n 0`"""
    yield Trial(["top", "-n", "0"])


@fault("labels of an open window", "input", 2, r"labels for 2026-10-31 need data through 2027-01-31")
def _labels_open(stage: Stage) -> Iterator[Trial]:
    """`rko labels` of a month whose 3-month window has not closed"""
    yield Trial(["labels", "--report-date", "2026-10-31", "--out", str(stage.folder / "labels.csv")])


# --- input: values in the warehouse -----------------------------------------------------------------------------


@fault("infinite payment amount", "input", 2, r"CRITICAL payments\.amount holds 1 infinite or impossible values")
def _inf_amount(stage: Stage) -> Iterator[Trial]:
    """a payment amount of +inf (SQLite) or 'Infinity' (PostgreSQL): it made eight features infinite"""
    payment = a_payment(stage)
    with value_set(
        stage,
        "UPDATE payments SET amount = :bad WHERE payment_id = :payment_id",
        "UPDATE payments SET amount = :amount WHERE payment_id = :payment_id",
        bad=float("inf"),
        **payment,
    ):
        yield Trial(score("case-inf-amount"), step=scoring_steps)


@fault("minus infinite balance", "input", 2, r"CRITICAL account_monthly\.avg_balance holds \d+ infinite")
def _minus_inf_balance(stage: Stage) -> Iterator[Trial]:
    """an average balance of -inf in the report month"""
    with stage.engine.connect() as conn:
        client, balance = conn.execute(
            sa.text(
                "SELECT client_id, avg_balance FROM account_monthly WHERE month_end = :m ORDER BY client_id LIMIT 1"
            ),
            {"m": REPORT_DATE},
        ).one()
    with value_set(
        stage,
        "UPDATE account_monthly SET avg_balance = :bad WHERE client_id = :client AND month_end = :month",
        "UPDATE account_monthly SET avg_balance = :balance WHERE client_id = :client AND month_end = :month",
        bad=float("-inf"),
        balance=balance,
        client=client,
        month=REPORT_DATE,
    ):
        yield Trial(score("case-minus-inf"))


@fault("headcount beyond its bound", "input", 2, r"CRITICAL clients\.headcount holds 1 infinite or impossible values")
def _huge_headcount(stage: Stage) -> Iterator[Trial]:
    """a headcount of 10^9 (the bound is 10^6)"""
    with stage.engine.connect() as conn:
        client, heads = conn.execute(
            sa.text("SELECT client_id, headcount FROM clients WHERE headcount IS NOT NULL ORDER BY client_id LIMIT 1")
        ).one()
    with value_set(
        stage,
        "UPDATE clients SET headcount = :bad WHERE client_id = :client",
        "UPDATE clients SET headcount = :heads WHERE client_id = :client",
        bad=10**9,
        heads=heads,
        client=client,
    ):
        yield Trial(score("case-headcount"))


@fault(
    "NaN payment amount",
    "input",
    2,
    r"CRITICAL payments\.amount holds 1 infinite or impossible values",
    ("postgresql",),
)
def _nan_amount(stage: Stage) -> Iterator[Trial]:
    """a payment amount of 'NaN' (PostgreSQL; SQLite stores NaN as NULL)"""
    payment = a_payment(stage)
    with value_set(
        stage,
        "UPDATE payments SET amount = :bad WHERE payment_id = :payment_id",
        "UPDATE payments SET amount = :amount WHERE payment_id = :payment_id",
        bad=float("nan"),
        **payment,
    ):
        yield Trial(score("case-nan-amount"))


@fault("banner clicks beyond their bound", "input", 2, r"CRITICAL digital_activity\.banner_clicks holds 1 infinite")
def _huge_clicks(stage: Stage) -> Iterator[Trial]:
    """10^9 banner clicks in a month (the bound is 10^6)"""
    with stage.engine.connect() as conn:
        client, clicks = conn.execute(
            sa.text(
                "SELECT client_id, banner_clicks FROM digital_activity WHERE month_end = :m ORDER BY client_id LIMIT 1"
            ),
            {"m": REPORT_DATE},
        ).one()
    with value_set(
        stage,
        "UPDATE digital_activity SET banner_clicks = :bad WHERE client_id = :client AND month_end = :month",
        "UPDATE digital_activity SET banner_clicks = :clicks WHERE client_id = :client AND month_end = :month",
        bad=10**9,
        clicks=clicks,
        client=client,
        month=REPORT_DATE,
    ):
        yield Trial(score("case-clicks"))


# --- setting --------------------------------------------------------------------------------------------------


@fault("malformed warehouse URL", "setting", 2, r"RKO_WAREHOUSE_URL: 'not a url' is not a database URL", ENGINE_FREE)
def _bad_url(stage: Stage) -> Iterator[Trial]:
    """`RKO_WAREHOUSE_URL=not a url`"""
    yield Trial(score("case-url"), env={"RKO_WAREHOUSE_URL": "not a url"})


@fault("unparseable warehouse URL", "setting", 2, r"warehouse URL 'postgresql://:::' is not a valid", ENGINE_FREE)
def _unparseable_url(stage: Stage) -> Iterator[Trial]:
    """`RKO_WAREHOUSE_URL=postgresql://:::`"""
    yield Trial(score("case-url2", "latest"), env={"RKO_WAREHOUSE_URL": "postgresql://:::"}, step=extract_step)


@fault("unsupported database", "setting", 2, r"only sqlite, postgresql are supported", ENGINE_FREE)
def _mysql(stage: Stage) -> Iterator[Trial]:
    """`RKO_WAREHOUSE_URL=mysql://db/bank`"""
    yield Trial(score("case-mysql", "latest"), env={"RKO_WAREHOUSE_URL": "mysql://db/bank"})


@fault("malformed staging URL", "setting", 2, r"RKO_STAGING_URL: 'staging' is not a database URL", ENGINE_FREE)
def _bad_staging_url(stage: Stage) -> Iterator[Trial]:
    """`RKO_STAGING_URL=staging`"""
    yield Trial(score("case-staging-url"), env={"RKO_STAGING_URL": "staging"})


@fault("Gini floor not a number", "setting", 2, r"RKO_GINI_FLOOR: 'high' is not a number", ENGINE_FREE)
def _gini_floor(stage: Stage) -> Iterator[Trial]:
    """`RKO_GINI_FLOOR=high`"""
    yield Trial(score("case-gini"), env={"RKO_GINI_FLOOR": "high"})


@fault("PSI levels reversed", "setting", 2, r"need 0 <= warn < alert, got 0\.5 and 0\.2", ENGINE_FREE)
def _psi(stage: Stage) -> Iterator[Trial]:
    """`RKO_PSI_WARN=0.5 RKO_PSI_ALERT=0.2`"""
    yield Trial(score("case-psi"), env={"RKO_PSI_WARN": "0.5", "RKO_PSI_ALERT": "0.2"})


@fault("SQL folder missing", "setting", 2, r"RKO_SQL_DIR: SQL folder .*/nowhere does not exist", ENGINE_FREE)
def _sql_dir(stage: Stage) -> Iterator[Trial]:
    """`RKO_SQL_DIR` names a folder that does not exist"""
    yield Trial(score("case-sql-dir"), env={"RKO_SQL_DIR": str(stage.folder / "nowhere")})


@fault("exclusion list missing", "setting", 2, r"RKO_OKVED_EXCLUSIONS: exclusion list .* does not exist", ENGINE_FREE)
def _exclusions(stage: Stage) -> Iterator[Trial]:
    """`RKO_OKVED_EXCLUSIONS` names a file that does not exist"""
    yield Trial(score("case-okved"), env={"RKO_OKVED_EXCLUSIONS": str(stage.folder / "none.txt")})


@fault("data folder is a file", "setting", 2, r"RKO_DATA_DIR: .*data-file is a file, not a folder", ENGINE_FREE)
def _data_dir_file(stage: Stage) -> Iterator[Trial]:
    """`RKO_DATA_DIR` names a file"""
    path = stage.folder / "data-file"
    path.write_text("not a folder", encoding="utf-8")
    try:
        yield Trial(score("case-data-file"), env={"RKO_DATA_DIR": str(path)})
    finally:
        path.unlink()


# --- file: the registry and the SQL -------------------------------------------------------------------------------


@fault("champion pointer truncated", "file", 2, r"the champion pointer .*champion\.json is damaged", ENGINE_FREE)
def _champion_truncated(stage: Stage) -> Iterator[Trial]:
    """`champion.json` cut in half (a full disk); the DAG's `plan` used to retry it for 10 minutes"""
    with file_changed(registry_folder(stage.settings) / "champion.json", lambda data: data[: len(data) // 2]):
        yield Trial(score("case-champion"), step=plan_step)


@fault("champion pointer to no package", "file", 2, r"no model package 'gone' in", ENGINE_FREE)
def _champion_gone(stage: Stage) -> Iterator[Trial]:
    """`champion.json` names a version that is not in the registry"""
    with file_changed(registry_folder(stage.settings) / "champion.json", lambda _: b'{"version": "gone"}'):
        yield Trial(score("case-champion-gone"), step=scoring_steps)


@fault("manifest edited", "file", 2, r"manifest\.json checksum .* does not match the recorded", ENGINE_FREE)
def _manifest_edited(stage: Stage) -> Iterator[Trial]:
    """the champion's `manifest.json` edited (a better retro Gini written in): only model.cbm used to be checked"""
    path = registry_folder(stage.settings) / "packages" / CHAMPION / "manifest.json"
    with file_changed(path, lambda data: data.replace(b'"gini_mean": ', b'"gini_mean": 0.9, "was": ', 1)):
        yield Trial(score("case-manifest"), step=scoring_steps)


@fault("reference file damaged", "file", 2, r"reference\.json checksum", ENGINE_FREE)
def _reference_damaged(stage: Stage) -> Iterator[Trial]:
    """the champion's `reference.json` truncated (it used to be called the manifest)"""
    path = registry_folder(stage.settings) / "packages" / CHAMPION / "reference.json"
    with file_changed(path, lambda data: data[:100]):
        yield Trial(score("case-reference"))


@fault("model file truncated", "file", 2, r"model\.cbm checksum .* does not match", ENGINE_FREE)
def _model_truncated(stage: Stage) -> Iterator[Trial]:
    """the champion's `model.cbm` truncated"""
    path = registry_folder(stage.settings) / "packages" / CHAMPION / "model.cbm"
    with file_changed(path, lambda data: data[:1000]):
        yield Trial(score("case-model"))


@fault("checksums removed", "file", 2, r"has no checksums\.json", ENGINE_FREE)
def _checksums_removed(stage: Stage) -> Iterator[Trial]:
    """the champion's `checksums.json` deleted"""
    path = registry_folder(stage.settings) / "packages" / CHAMPION / "checksums.json"
    original = path.read_bytes()
    path.unlink()
    try:
        yield Trial(score("case-no-checksums"))
    finally:
        path.write_bytes(original)


@fault(
    "file slipped into a package", "file", 2, r"holds files its checksums do not list: \['extra\.json'\]", ENGINE_FREE
)
def _extra_file(stage: Stage) -> Iterator[Trial]:
    """a file added to the champion's package after it was written"""
    path = registry_folder(stage.settings) / "packages" / CHAMPION / "extra.json"
    path.write_text("{}", encoding="utf-8")
    try:
        yield Trial(score("case-extra-file"))
    finally:
        path.unlink()


@fault("SQL file broken", "file", 2, r"the database refused the request: .*(syntax error|SyntaxError)")
def _sql_broken(stage: Stage) -> Iterator[Trial]:
    """a snapshot SQL file with a syntax error (a bad edit of sql/)"""
    folder = stage.folder / "sql-broken"
    shutil.copytree(stage.settings.sql_dir, folder, dirs_exist_ok=True)
    for name in ("eligible.sql",):
        (folder / "snapshot" / name).write_text("SELEC client_id FROM clients WHERE", encoding="utf-8")
    try:
        yield Trial(score("case-sql"), env={"RKO_SQL_DIR": str(folder)}, step=extract_step)
    finally:
        shutil.rmtree(folder)


# --- disk -------------------------------------------------------------------------------------------------------


@fault("disk full", "disk", 2, r"No space left on device; the disk is full: free space, then run again")
def _disk_full(stage: Stage) -> Iterator[Trial]:
    """the disk fills while the snapshot is written (its .partial file is /dev/full); such a file used to stay,
    keeping the disk full"""
    folder = Path(url_to_fs(monthly.run_folder(stage.settings, REPORT_DATE, "case-disk-full"))[1])
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"snapshot_{WHOLE.label}.parquet.partial"
    partial.symlink_to("/dev/full")
    try:
        yield Trial(score("case-disk-full"))
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


@fault(
    "data folder not writable", "disk", 2, r"cannot write or read /sys/rko-data.*Operation not permitted", ENGINE_FREE
)
def _data_read_only(stage: Stage) -> Iterator[Trial]:
    """`RKO_DATA_DIR` on a file system where nothing may be created (/sys)"""
    yield Trial(score("case-read-only"), env={"RKO_DATA_DIR": "/sys/rko-data"}, step=extract_step)


@fault(
    "output not writable", "disk", 2, r"cannot write or read /proc/.*: (No such file|Permission denied|Operation not)"
)
def _out_unwritable(stage: Stage) -> Iterator[Trial]:
    """`rko snapshot --out /proc/rko/snapshot.csv`"""
    yield Trial(["snapshot", "--report-date", "latest", "--out", "/proc/rko/snapshot.csv"])


@fault("output is a folder", "disk", 2, r"cannot write or read .*: Is a directory; the path is a folder")
def _out_folder(stage: Stage) -> Iterator[Trial]:
    """`rko snapshot --out <an existing folder>`"""
    folder = stage.folder / "out-folder"
    folder.mkdir(exist_ok=True)
    try:
        yield Trial(["snapshot", "--report-date", "latest", "--out", str(folder)])
    finally:
        shutil.rmtree(folder)


@fault("output name too long", "disk", 2, r"File name too long; the file name is too long")
def _out_long(stage: Stage) -> Iterator[Trial]:
    """`rko snapshot --out <a 300-character file name>`"""
    yield Trial(["snapshot", "--report-date", "latest", "--out", str(stage.folder / ("s" * 300 + ".csv"))])


@fault("run folder blocked by a file", "disk", 2, r"cannot write or read .*monthly.*: Not a directory", ENGINE_FREE)
def _monthly_file(stage: Stage) -> Iterator[Trial]:
    """`<data>/monthly` is a file, so no run folder can be made in it"""
    data = stage.folder / "blocked-data"
    data.mkdir(exist_ok=True)
    (data / "monthly").write_text("", encoding="utf-8")
    try:
        yield Trial(score("case-blocked"), env={"RKO_DATA_DIR": str(data)}, step=extract_step)
    finally:
        shutil.rmtree(data)


# --- database -------------------------------------------------------------------------------------------------------


def _pg_url(stage: Stage, **parts: Any) -> str:
    return sa.engine.make_url(stage.settings.warehouse_url).set(**parts).render_as_string(hide_password=False)


@fault(
    "warehouse refuses connections",
    "database",
    75,
    r"connection to server .* port 1 failed: Connection refused.*\(temporary: try again later\)",
    ("postgresql",),
)
def _pg_refused(stage: Stage) -> Iterator[Trial]:
    """the warehouse's server is down (nothing listens on its port)"""
    url = _pg_url(stage, port=1)
    yield Trial(score("case-refused", "latest"), env={"RKO_WAREHOUSE_URL": url}, step=extract_step)


@fault(
    "warehouse database does not exist", "database", 2, r"database \"rko_no_such_db\" does not exist", ("postgresql",)
)
def _pg_missing(stage: Stage) -> Iterator[Trial]:
    """the warehouse URL names a database that does not exist"""
    url = _pg_url(stage, database="rko_no_such_db")
    yield Trial(score("case-no-db", "latest"), env={"RKO_WAREHOUSE_URL": url}, step=extract_step)


@fault("staging refuses connections", "database", 75, r"does not answer now.*Connection refused", ("postgresql",))
def _staging_refused(stage: Stage) -> Iterator[Trial]:
    """the staging database's server is down"""
    yield Trial(score("case-staging-refused"), env={"RKO_STAGING_URL": _pg_url(stage, port=1)})


@fault(
    "staging database does not exist",
    "database",
    2,
    r"database \"rko_no_such_staging\" does not exist",
    ("postgresql",),
)
def _staging_missing(stage: Stage) -> Iterator[Trial]:
    """the staging URL names a database that does not exist"""
    yield Trial(score("case-staging-missing"), env={"RKO_STAGING_URL": _pg_url(stage, database="rko_no_such_staging")})


@fault("warehouse file is a folder", "database", 2, r"unable to open database file", ("sqlite",))
def _sqlite_folder(stage: Stage) -> Iterator[Trial]:
    """the SQLite warehouse URL names a folder"""
    folder = stage.folder / "warehouse-folder"
    folder.mkdir(exist_ok=True)
    try:
        yield Trial(score("case-wh-folder", "latest"), env={"RKO_WAREHOUSE_URL": f"sqlite:///{folder}"})
    finally:
        shutil.rmtree(folder)


@fault("empty warehouse file", "database", 2, r"does not meet the data contract.*no table or view clients", ("sqlite",))
def _sqlite_empty(stage: Stage) -> Iterator[Trial]:
    """the SQLite warehouse URL names a new, empty file (a typo in the path)"""
    path = stage.folder / "typo" / "warehuose.db"
    try:
        yield Trial(score("case-wh-empty"), env={"RKO_WAREHOUSE_URL": f"sqlite:///{path}"})
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@fault("monitoring file damaged", "database", 2, r"file is not a database", ("sqlite",))
def _monitoring_damaged(stage: Stage) -> Iterator[Trial]:
    """the SQLite monitoring file beside another staging file is garbage"""
    folder = stage.folder / "damaged-staging"
    folder.mkdir(exist_ok=True)
    (folder / "rko_monitoring.db").write_bytes(b"garbage, not SQLite " * 200)
    try:
        yield Trial(score("case-monitoring-damaged"), env={"RKO_STAGING_URL": f"sqlite:///{folder / 'mo_staging.db'}"})
    finally:
        shutil.rmtree(folder)


@fault("monitoring database locked", "database", 75, r"database is locked.*temporary: try again later", ("sqlite",))
def _monitoring_locked(stage: Stage) -> Iterator[Trial]:
    """another process holds the monitoring database's write lock while the run publishes: list and run row go
    out together or not at all (the list used to go out with no run row and exit 1)"""
    path = Path(sa.engine.make_url(stage.settings.staging_url).database or "").with_name("rko_monitoring.db")
    locker = sqlite3.connect(path, isolation_level=None, timeout=1)
    locker.execute("BEGIN IMMEDIATE")
    try:
        yield Trial(score("case-locked"))
    finally:
        locker.execute("ROLLBACK")
        locker.close()


# --- process: other runs ------------------------------------------------------------------------------------------


@fault(
    "month held by another run",
    "process",
    75,
    r"another run is scoring 2026-10-31 right now; run case-busy did not start",
)
def _month_held(stage: Stage) -> Iterator[Trial]:
    """another `rko score` of the month is running (its lock is held); both used to publish on SQLite"""
    engine = make_staging_engine(stage.settings.staging_url)
    with hold_month(engine, REPORT_DATE, "other-run"):
        yield Trial(score("case-busy"))
    engine.dispose()


@fault(
    "month claimed by another run meanwhile",
    "process",
    2,
    r"run case-fenced lost its hold on 2026-10-31: run intruder claimed",
)
def _fenced(stage: Stage) -> Iterator[Trial]:
    """the run loses its lock mid-way and another run claims the month before it publishes: it publishes nothing"""
    engine = make_staging_engine(stage.settings.staging_url)
    original = monthly.score

    def score_then_intrude(*args: Any, **kwargs: Any) -> Any:
        ref = original(*args, **kwargs)
        with engine.begin() as conn:  # what the second run does once the first one's lock is gone
            ensure_tables(conn)
            claim_month(conn, REPORT_DATE, "intruder")
        return ref

    monthly.score = score_then_intrude  # type: ignore[assignment]
    try:
        yield Trial(score("case-fenced"))
    finally:
        monthly.score = original  # type: ignore[assignment]
        engine.dispose()


@fault("run id already published elsewhere", "process", 2, r"run id baseline already names the run of 2026-10-31")
def _published_id(stage: Stage) -> Iterator[Trial]:
    """September scored again under the run id that published October"""
    yield Trial(score("baseline", PREVIOUS_MONTH.isoformat()))


def markdown_table() -> str:
    """The corpus as the table of docs/bad_input.md: class, case, what is broken, exit code, engines."""
    lines = ["| class | case | what is broken | exit | engines |", "|---|---|---|---|---|"]
    for case in sorted(CASES, key=lambda c: (CLASSES.index(c.kind), CASES.index(c))):
        engines = (
            "both" if case.engines == BOTH else ("engine-free" if case.engines == ENGINE_FREE else case.engines[0])
        )
        lines.append(f"| {case.kind} | {case.name} | {case.what} | {case.exit_code} | {engines} |")
    return "\n".join(lines)


def counts() -> dict[str, int]:
    return {kind: sum(1 for c in CASES if c.kind == kind) for kind in CLASSES}


def environment(base: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    env = {**base}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env
