"""Monthly feature marts: a month's per-client aggregates, computed once when the month closes.

A snapshot on the raw tables rescans 12 months of payments, account months and digital
activity per client, every month, and training pays it again for every stacked month. The
marts keep that work to the month it belongs to, in two layers (``sql/marts/``; the tables are
in :mod:`rko_model.warehouse.schema` and docs/data_contract.md):

- the monthly marts, built from one month's raw rows: ``mart_client_month`` (account, payment
  and digital sums and counts, money in kopecks), ``mart_counterparty_month`` (the month's
  distinct counterparties: a distinct count is not additive) and ``mart_payment_text_month``
  (the month's newest payment purposes, the inputs of the text field);
- the features mart ``mart_client_features``: per report month and client, every windowed
  sum, the distinct counterparties of 12 months and the payment text, so that a snapshot (and
  each stacked training month) reads one row per client. Its 12-month windows are composed of
  the report month's three monthly rows and the 3- and 6-month sums of the rows of 3 and 6
  months before (exact: whole kopecks and counts), not summed again from twelve.

Building is idempotent per month: a month's rebuild replaces its rows and its registry entry in
one transaction. A late correction of month M's raw rows rebuilds M's monthly marts and the
features of the report months whose window holds M (M to M + 11 months), oldest first, and
nothing else; until they are rebuilt, those report months are not registered, so snapshots of
them read the raw tables instead of stale features. :func:`corrected_months` finds such months
by comparing the facts of their raw rows (counts and sums) with those stored when they were built.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import pandas as pd
from sqlalchemy import Index
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import DropIndex

from rko_model import columns as col
from rko_model.common.dates import add_months, month_end, month_ends, parse_report_date
from rko_model.common.exclusions import OkvedExclusions
from rko_model.errors import IncompleteDataError, InvalidInputError, WarehouseError
from rko_model.settings import Settings
from rko_model.stages.feature_source import built_months, counted_months, feature_months, raw_months
from rko_model.stages.snapshot import make_eligible, snapshot_params
from rko_model.stages.source_values import source_bounds
from rko_model.warehouse import schema
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.bulk import refresh_after_load
from rko_model.warehouse.contract import check_contract
from rko_model.warehouse.query import dbapi_errors, execute, read_frame
from rko_model.warehouse.readers import ConnectionReader

log = logging.getLogger(__name__)

#: The advisory lock of mart builds on PostgreSQL (one writer at a time).
MARTS_LOCK_KEY = 0x726B6F6D  # "rkom"

#: The build's statements, in order, inside one transaction.
_DELETE = (
    "marts/delete_client_month",
    "marts/delete_counterparty_month",
    "marts/delete_payment_text_month",
    "marts/delete_source_values",
    "marts/delete_month",
)
_INSERT = ("marts/client_month", "marts/counterparty_month", "marts/payment_text_month", "marts/month_source_values")

#: Report months whose features read a month's monthly marts: the month and the 11 after it.
DEPENDENT_MONTHS = max(col.WINDOWS) - 1

_FACTS = ("account_rows", "account_kop", "payment_rows", "payment_kop", "digital_rows", "digital_units")


@dataclass(frozen=True)
class MonthBuild:
    """What building one month's marts did: its monthly marts, its features mart, or both."""

    month_end: dt.date
    clients: int
    account_rows: int
    payment_rows: int
    digital_rows: int
    replaced: bool
    seconds: float
    #: Whether the monthly marts were built (False: only the features, which depend on another month).
    monthly: bool = True
    #: Rows of the month's features mart, or None when it was not built.
    feature_clients: int | None = None
    feature_seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "month_end": self.month_end.isoformat(),
            "monthly": self.monthly,
            "clients": self.clients,
            "account_rows": self.account_rows,
            "payment_rows": self.payment_rows,
            "digital_rows": self.digital_rows,
            "replaced": self.replaced,
            "seconds": self.seconds,
            "feature_clients": self.feature_clients,
            "feature_seconds": self.feature_seconds,
        }


def month_params(month: dt.date) -> dict[str, object]:
    """The bound parameters of a month's build: its rows are dated in (month_start, month_end]."""
    return {
        "month_start": add_months(month, -1),
        "month_end": month,
        "text_max_payments": col.TEXT_MAX_PAYMENTS,
        **source_bounds(),
    }


def feature_params(month: dt.date) -> dict[str, object]:
    """The bound parameters of a report month's features build (sql/marts/features_*.sql)."""
    return {
        "month_end": month,
        **{f"start_{w}m": add_months(month, -w) for w in col.WINDOWS},
        "text_start": add_months(month, -col.TEXT_WINDOW_MONTHS),
        "text_max_payments": col.TEXT_MAX_PAYMENTS,
    }


def candidate_params(month: dt.date) -> dict[str, object]:
    """The snapshot's eligibility at ``month`` without the OKVED exclusions: the features mart's clients.

    A snapshot of the month scores a subset of them whatever the exclusions are set to; a
    client the build did not hold (its attributes or products corrected since) sends that
    snapshot to the raw tables (:func:`rko_model.stages.snapshot.read_snapshot`).
    """
    return snapshot_params(month, OkvedExclusions(classes=(), codes=()))


def ensure_marts(conn: Connection) -> None:
    """Create the mart tables and their indexes where missing (in the caller's transaction).

    Indexes of earlier versions of the marts are dropped: every write would maintain them.
    """
    schema.metadata.create_all(conn, tables=list(schema.MART_TABLES), checkfirst=True)
    existing = {ix["name"] for t in schema.MART_TABLES for ix in sa_inspect(conn).get_indexes(t.name)}
    for name in schema.OBSOLETE_MART_INDEXES:
        if name in existing:
            conn.execute(DropIndex(Index(name)))
    schema.create_indexes(conn, schema.MART_INDEXES)


def drop_marts(conn: Connection) -> None:
    """Drop the marts (a regenerated bank makes them stale; snapshots then read the raw tables)."""
    schema.metadata.drop_all(conn, tables=list(schema.MART_TABLES), checkfirst=True)


def fingerprint(facts: pd.Series) -> str:
    """A short digest of a month's raw facts: equal facts, equal digest."""
    text = "|".join(f"{name}={int(facts[name])}" for name in _FACTS)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def month_facts(conn: Engine | Connection, settings: Settings, month: dt.date) -> pd.Series:
    """Counts and sums of the month's raw rows, as the marts record them (see sql/marts/month_facts.sql)."""
    return _read_facts(conn, settings, "marts/month_facts", month)


def _read_facts(conn: Engine | Connection, settings: Settings, name: str, month: dt.date) -> pd.Series:
    frame = read_frame(conn, backend_for(conn).load_sql(settings.sql_dir, name), month_params(month))
    return frame.iloc[0].reindex(list(_FACTS)).fillna(0).astype("int64")


#: How long a month's build waits for another build's write lock on SQLite, 10 minutes (PostgreSQL waits on
#: its advisory lock, see sql/marts/lock_marts.postgresql.sql).
BUILD_WAIT_SECONDS = 600


def build_month(engine: Engine, settings: Settings, month: dt.date | str) -> MonthBuild:
    """Build (or rebuild) one month's marts from its raw rows, replacing the month in one transaction."""
    month = parse_report_date(month)
    started = time.perf_counter()
    backend = backend_for(engine)
    params = month_params(month)
    try:
        with backend.write_transaction(engine, BUILD_WAIT_SECONDS) as conn:
            # The lock first: two months built at once (a backfill) would otherwise race to create the tables.
            execute(conn, backend.load_sql(settings.sql_dir, "marts/lock_marts"), {"lock_key": MARTS_LOCK_KEY})
            ensure_marts(conn)
            execute(conn, backend.load_sql(settings.sql_dir, "marts/tune"))
            replaced = execute(conn, backend.load_sql(settings.sql_dir, "marts/delete_month"), params) > 0
            dependents = {"month_end": month, "last_dependent": add_months(month, DEPENDENT_MONTHS)}
            execute(conn, backend.load_sql(settings.sql_dir, "marts/unregister_features"), dependents)
            for name in _DELETE[:-1]:
                execute(conn, backend.load_sql(settings.sql_dir, name), params)
            execute(conn, backend.load_sql(settings.sql_dir, "marts/month_payments"), params)
            clients = execute(conn, backend.load_sql(settings.sql_dir, _INSERT[0]), params)
            for name in _INSERT[1:]:
                execute(conn, backend.load_sql(settings.sql_dir, name), params)
            facts = _read_facts(conn, settings, "marts/built_facts", month)
            execute(conn, backend.load_sql(settings.sql_dir, "marts/drop_month_payments"))
            execute(
                conn,
                backend.load_sql(settings.sql_dir, "marts/register_month"),
                {
                    "month_end": month,
                    "built_at": dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
                    "clients": clients,
                    "account_rows": int(facts["account_rows"]),
                    "payment_rows": int(facts["payment_rows"]),
                    "digital_rows": int(facts["digital_rows"]),
                    "fingerprint": fingerprint(facts),
                },
            )
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(
            f"building the marts of {month.isoformat()} failed and was rolled back (the month's earlier marts, "
            f"if any, are unchanged): {exc}"
        ) from exc
    return MonthBuild(
        month_end=month,
        clients=clients,
        account_rows=int(facts["account_rows"]),
        payment_rows=int(facts["payment_rows"]),
        digital_rows=int(facts["digital_rows"]),
        replaced=replaced,
        seconds=round(time.perf_counter() - started, 2),
    )


def count_source_values(engine: Engine, settings: Settings, month: dt.date) -> None:
    """Count (again) one month's out-of-bound source values, without rebuilding its marts.

    The build counts them; a month built by an earlier version holds none, and validation would
    then rescan 12 months of raw rows for every window holding it.
    """
    backend = backend_for(engine)
    params = month_params(month)
    try:
        with backend.write_transaction(engine, BUILD_WAIT_SECONDS) as conn:
            execute(conn, backend.load_sql(settings.sql_dir, "marts/lock_marts"), {"lock_key": MARTS_LOCK_KEY})
            ensure_marts(conn)
            execute(conn, backend.load_sql(settings.sql_dir, "marts/delete_source_values"), params)
            execute(conn, backend.load_sql(settings.sql_dir, "marts/month_payments"), params)
            execute(conn, backend.load_sql(settings.sql_dir, "marts/month_source_values"), params)
            execute(conn, backend.load_sql(settings.sql_dir, "marts/drop_month_payments"))
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(
            f"counting the source values of {month.isoformat()} failed and was rolled back: {exc}"
        ) from exc


def analyze_marts(engine: Engine) -> None:
    """VACUUM (ANALYZE) the marts after a build (PostgreSQL), for their index-only scans and fresh statistics.

    Autovacuum may be off (or late); VACUUM cannot run inside a transaction, so it runs after
    the build committed. A failure is reported, but the built months stay.
    """
    refresh_after_load(engine, schema.MART_TABLES, "marts", "the marts are built", "the mart tables")


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Month ends from ``first`` to ``last``, both included."""
    months, month = [], month_end(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def build_features(
    engine: Engine, settings: Settings, month: dt.date | str, composed: bool = True
) -> tuple[int, float]:
    """Build (or rebuild) report month ``month``'s features mart, replacing it in one transaction.

    Reads the monthly marts of the month's 12-month window (:func:`plan_builds` sees that they
    are built). ``composed``: the 12 months are composed of the month's last three monthly rows
    and the features of 3 and 6 months before (built and current); otherwise summed from the
    twelve monthly rows. The month's candidates (:func:`candidate_params`) get a row each. Where
    the backend reads in parallel (PostgreSQL), the distinct counterparties, the build's longest
    part, are counted on a second connection into a scratch table while this one computes the
    text and the sums into temporary tables; one insert then joins the three. Snapshots never read
    the scratch table, and the month's features appear, complete, when this transaction commits.
    Returns the rows written and the seconds.
    """
    month = parse_report_date(month)
    started = time.perf_counter()
    backend = backend_for(engine)
    params = {**candidate_params(month), **feature_params(month)}
    sql = lambda name: backend.load_sql(settings.sql_dir, name)  # noqa: E731

    def candidates(conn: Connection, then: Callable[[], None]) -> None:
        """``then``, with the month's candidates as ``snapshot_eligible`` (dropped afterwards: the
        transaction commits, and a pooled connection must not keep it)."""
        make_eligible(ConnectionReader(conn), settings, params)
        then()
        execute(conn, sql("marts/drop_candidates"))

    def count_counterparties(conn: Connection) -> None:
        execute(conn, sql("marts/tune"))
        execute(conn, sql("marts/delete_build_counterparties"), params)
        candidates(conn, lambda: execute(conn, sql("marts/features_counterparties"), params))

    def count_beside() -> None:
        with engine.begin() as conn:  # its own transaction: the scratch rows are committed for the build to read
            count_counterparties(conn)

    try:
        with (
            backend.write_transaction(engine, BUILD_WAIT_SECONDS) as conn,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="marts") as pool,
        ):
            execute(conn, sql("marts/lock_marts"), {"lock_key": MARTS_LOCK_KEY})  # no other build runs now
            execute(conn, sql("marts/tune"))
            execute(conn, sql("marts/delete_features"), params)
            execute(conn, sql("marts/analyze_features"))
            beside = pool.submit(count_beside) if backend.parallel_reads else None
            if beside is None:
                count_counterparties(conn)
            clients = 0

            def text_and_sums() -> None:  # beside the counterparties; the insert joins all three
                nonlocal clients
                execute(conn, sql("marts/features_text"), params)
                execute(conn, sql("marts/features_sums" if composed else "marts/features_sums_direct"), params)
                if beside is not None:
                    beside.result()
                clients = execute(conn, sql("marts/features_insert"), params)

            candidates(conn, text_and_sums)
            execute(conn, sql("marts/delete_build_counterparties"), params)
            execute(conn, sql("marts/drop_build_text"))
            execute(conn, sql("marts/drop_build_sums"))
            registered = {
                "month_end": month,
                "built_at": dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
                "clients": clients,
            }
            execute(conn, sql("marts/unregister_features"), {"month_end": month, "last_dependent": month})
            execute(conn, sql("marts/register_features"), registered)
    except (SQLAlchemyError, *dbapi_errors(engine)) as exc:
        raise WarehouseError(
            f"building the features mart of {month.isoformat()} failed and was rolled back (its earlier features, "
            f"if any, are unchanged): {exc}"
        ) from exc
    return clients, round(time.perf_counter() - started, 2)


def prepare_marts(engine: Engine, settings: Settings) -> None:
    """Create the mart tables and indexes where missing, committed (a second connection must see them)."""
    backend = backend_for(engine)
    with backend.write_transaction(engine, BUILD_WAIT_SECONDS) as conn:
        execute(conn, backend.load_sql(settings.sql_dir, "marts/lock_marts"), {"lock_key": MARTS_LOCK_KEY})
        ensure_marts(conn)


#: The earlier report months whose features a month's features are composed of (their 3m and 6m sums).
COMPOSED_FROM = (3, 6)


@dataclass(frozen=True)
class BuildPlan:
    """What a build writes, oldest first: monthly marts, then features marts (which read them).

    ``composed`` are the features months composed of earlier features (the rest are summed
    from their twelve monthly rows).
    """

    monthly: tuple[dt.date, ...]
    features: tuple[dt.date, ...]
    composed: frozenset[dt.date]


def plan_builds(
    engine: Engine, settings: Settings, months: Sequence[dt.date], rebuild_monthly: bool = True
) -> BuildPlan:
    """``months``' monthly and features marts, the features that depend on them, and the monthly marts they need.

    - A month whose monthly marts are built again invalidates the features of the 12 report
      months whose window holds it: those already built are rebuilt.
    - A report month's features need the monthly marts of its 12 months (months before the
      warehouse's first month hold nothing and count as built): missing ones are added, so that
      ``--month M`` on a new warehouse builds what M needs.
    - A features month is composed where the features of 3 and 6 months before are current
      or built earlier in the same run (or precede the warehouse's first month).

    ``rebuild_monthly`` False: ``months``' features only, with the monthly marts that are missing.
    """
    first, _ = raw_months(engine, settings)
    monthly_built, features_built = set(built_months(engine, settings)), set(feature_months(engine, settings))
    monthly = set(months) if rebuild_monthly else set()
    dependents = {m for m in features_built if any(k <= m <= add_months(k, DEPENDENT_MONTHS) for k in monthly)}
    features = set(months) | dependents
    for month in features:
        monthly |= {m for m in month_ends(month, max(col.WINDOWS)) if m >= first and m not in monthly_built}
    current = (features_built - dependents) | features
    composed = frozenset(
        m for m in features if all(add_months(m, -k) < first or add_months(m, -k) in current for k in COMPOSED_FROM)
    )
    return BuildPlan(tuple(sorted(monthly)), tuple(sorted(features)), composed)


def build_months(
    engine: Engine,
    settings: Settings,
    months: Sequence[dt.date],
    progress: Callable[[str], None] | None = None,
    rebuild_monthly: bool = True,
) -> list[MonthBuild]:
    """Build ``months``' marts (each month and layer its own transaction), with a progress line per step.

    What else the months need or invalidate is built too (:func:`plan_builds`): the monthly
    marts first, then the features marts, oldest first. A failure stops the run; the months
    built before it stay built (each is complete), and a features month not yet rebuilt stays
    unregistered (its snapshots read the raw tables). ``rebuild_monthly`` False builds the
    months' features only (and the monthly marts they lack), e.g. after an upgrade.
    """
    check_contract(engine)
    _, last = raw_months(engine, settings)
    late = [m for m in months if m > last]
    if late:
        raise IncompleteDataError(
            f"month {late[0].isoformat()} is after the latest complete month {last.isoformat()} (the latest "
            f"month_end in account_monthly): its marts would be built from part of it; load it first"
        )
    prepare_marts(engine, settings)
    plan = plan_builds(engine, settings, months, rebuild_monthly)
    extra = sorted(set(plan.monthly) - set(months))
    if extra:
        log.info("marts: also building the monthly marts of %d month(s) that the features need", len(extra))
    started = time.perf_counter()

    def report(line: str) -> None:
        line = f"{line} ({time.perf_counter() - started:.0f} s so far)"
        log.info("%s", line)
        if progress:
            progress(line)

    done: dict[dt.date, MonthBuild] = {}
    for i, month in enumerate(plan.monthly, start=1):
        built = build_month(engine, settings, month)
        done[month] = built
        report(
            f"marts {month.isoformat()} ({i}/{len(plan.monthly)}): {built.clients:,d} clients from "
            f"{built.account_rows:,d} account, {built.payment_rows:,d} payment and {built.digital_rows:,d} digital "
            f"rows, {'rebuilt' if built.replaced else 'built'} in {built.seconds:.1f} s"
        )
    uncounted = sorted(set(built_months(engine, settings)) - set(counted_months(engine, settings)))
    for month in uncounted:  # built by an earlier version: count them, so validation need not rescan
        count_source_values(engine, settings, month)
        report(f"source values {month.isoformat()}: counted")
    if plan.monthly:
        analyze_marts(engine)  # the features builds read what was just written: fresh statistics first
    for i, month in enumerate(plan.features, start=1):
        clients, seconds = build_features(engine, settings, month, composed=month in plan.composed)
        earlier = done.get(month) or MonthBuild(month, 0, 0, 0, 0, False, 0.0, monthly=False)
        done[month] = replace(earlier, feature_clients=clients, feature_seconds=seconds)
        how = "composed" if month in plan.composed else "summed from 12 months"
        report(
            f"features {month.isoformat()} ({i}/{len(plan.features)}): {clients:,d} clients ({how}) in {seconds:.1f} s"
        )
    if plan.features:
        analyze_marts(engine)
    return [done[m] for m in sorted(done)]


def plan_months(
    engine: Engine, settings: Settings, month: str | None = None, first: str | None = None, last: str | None = None
) -> list[dt.date]:
    """The months to build: one month, a range, or (neither given) every month of the warehouse."""
    check_contract(engine)
    if month and (first or last):
        raise InvalidInputError("give either --month or --from/--to, not both")
    if month:
        return [parse_report_date(month)]
    span = raw_months(engine, settings) if not (first and last) else None
    start = parse_report_date(first) if first else span[0]  # type: ignore[index]
    end = parse_report_date(last) if last else span[1]  # type: ignore[index]
    if start > end:
        raise InvalidInputError(f"--from {start.isoformat()} is after --to {end.isoformat()}")
    return months_between(start, end)


def corrected_months(engine: Engine, settings: Settings, months: Sequence[dt.date]) -> list[dt.date]:
    """The built months among ``months`` whose raw rows changed since they were built (a late correction).

    Compares the facts of each month's raw rows (counts, and sums in kopecks or units) with
    those recorded at its build. A month not built yet is not a correction (a backfill builds it).
    """
    if not months:
        return []
    recorded = _recorded_fingerprints(engine, settings)
    checked = [m for m in months if m in recorded]
    workers = CHECK_READERS if backend_for(engine).parallel_reads else 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="marts-check") as pool:
        facts = list(pool.map(lambda month: month_facts(engine, settings, month), checked))
    changed = []
    for month, found in zip(checked, facts, strict=True):
        if fingerprint(found) != recorded[month]:
            log.warning("marts %s: the raw rows changed since the month was built (a late correction)", month)
            changed.append(month)
    return changed


#: Months whose raw facts the correction check reads at once (PostgreSQL): each is a few range scans.
CHECK_READERS = 2


def _recorded_fingerprints(engine: Engine, settings: Settings) -> dict[dt.date, str]:
    if not built_months(engine, settings):
        return {}
    frame = read_frame(engine, backend_for(engine).load_sql(settings.sql_dir, "marts/built_months"), {})
    pairs = zip(frame["month_end"], frame["fingerprint"], strict=True)
    return {dt.date.fromisoformat(str(m)[:10]): str(f) for m, f in pairs}


def close_month(
    engine: Engine,
    settings: Settings,
    month: dt.date | str,
    lookback: int = 12,
    progress: Callable[[str], None] | None = None,
) -> dict[str, object]:
    """What the marts DAG does when a month closes: build it, and rebuild earlier months that were corrected.

    ``lookback`` earlier months (those a snapshot of ``month`` reads) are checked for late
    corrections; only the months whose raw rows changed are rebuilt.
    """
    month = parse_report_date(month)
    earlier = [add_months(month, -k) for k in range(lookback, 0, -1)]
    corrected = corrected_months(engine, settings, earlier)
    built = build_months(engine, settings, [*corrected, month], progress)
    return {
        "report_date": month.isoformat(),
        "corrected": [m.isoformat() for m in corrected],
        "months": [b.to_dict() for b in built],
        "seconds": round(sum(b.seconds for b in built), 2),
    }
