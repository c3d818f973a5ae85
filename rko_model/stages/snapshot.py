"""Point-in-time snapshots: one row per eligible client at a report date, features from data up to it.

A snapshot is assembled from one SQL file per data source under ``sql/snapshot/``; every
file sees only rows dated on or before the report date, through windows of 1, 3, 6 and 12
months whose bounds are computed here and bound as parameters. Where the monthly feature
marts cover the window, the same features are summed from them instead (``sql/marts/``,
:mod:`rko_model.stages.feature_source`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import BigInteger, Column, MetaData, Table
from sqlalchemy.engine import Connection, Engine

from rko_model import columns as col
from rko_model.common.dates import add_months, parse_report_date
from rko_model.common.exclusions import OkvedExclusions, load_exclusions
from rko_model.common.partitions import WHOLE, Partition
from rko_model.errors import DataContractError, IncompleteDataError
from rko_model.settings import Settings
from rko_model.stages.feature_source import FEATURES_MART_QUERY, RAW_SOURCE_QUERIES, source_queries
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.bulk import bulk_insert
from rko_model.warehouse.contract import check_contract
from rko_model.warehouse.plans import per_client_full_scans
from rko_model.warehouse.query import ColumnKind, execute, read_frame
from rko_model.warehouse.readers import ConnectionReader, Reader, open_reader

log = logging.getLogger(__name__)

#: SQL files of the feature sources on the raw tables, merged onto the eligible clients in this order.
SOURCE_QUERIES = RAW_SOURCE_QUERIES
#: Optional contract tables' source queries, read beside the others when the table is there (features
#: zero without it): the contact history of marketing_contacts.
OPTIONAL_SOURCES = {"snapshot/contacts": "marketing_contacts"}

_KINDS: dict[str, ColumnKind] = {
    col.CLIENT_ID: "int",
    **{c: "str" for c in (*col.CATEGORICAL_FEATURES, *col.TEXT_FEATURES)},
    "registration_date": "date",
    "last_product_open_date": "date",
    "last_contact_date": "date",
    **{c: "float" for c in col.NUMERIC_FEATURES},
}


#: Client ids [from, to) of a part of a parallel read; None for no bound.
IdRange = tuple[int | None, int | None]
ALL_IDS: IdRange = (None, None)


def snapshot_params(
    report_date: dt.date, exclusions: OkvedExclusions, partition: Partition = WHOLE, ids: IdRange = ALL_IDS
) -> dict[str, object]:
    """Every bound parameter of the snapshot SQL files, computed in Python."""
    params: dict[str, object] = {
        **partition.params(),
        "id_from": ids[0],
        "id_to": ids[1],
        "report_date": report_date,
        "segment": col.SMB_SEGMENT,
        "rko_product": col.RKO_PRODUCT,
        "excluded_codes": list(exclusions.codes),
        "excluded_classes": list(exclusions.classes),
        "text_start": add_months(report_date, -col.TEXT_WINDOW_MONTHS),
        "text_max_payments": col.TEXT_MAX_PAYMENTS,
    }
    params.update({f"start_{w}m": add_months(report_date, -w) for w in col.WINDOWS})
    return params


def data_span(engine: Engine, settings: Settings) -> tuple[dt.date, dt.date] | None:
    """The first and last complete month ends in the warehouse, or None when it holds no months."""
    sql = backend_for(engine).load_sql(settings.sql_dir, "data_horizon")
    frame = read_frame(engine, sql, {}, {"data_start": "date", "data_end": "date"})
    if frame.empty or pd.isna(frame["data_end"].iloc[0]):
        return None
    return pd.Timestamp(frame["data_start"].iloc[0]).date(), pd.Timestamp(frame["data_end"].iloc[0]).date()


def data_end(engine: Engine, settings: Settings) -> dt.date | None:
    """The latest complete month end in the warehouse, or None when it holds no months."""
    span = data_span(engine, settings)
    return None if span is None else span[1]


def check_report_date(engine: Engine, settings: Settings, report_date: dt.date) -> None:
    """Refuse a warehouse that breaks the data contract, and a report date after its latest complete month."""
    check_contract(engine)
    span = data_span(engine, settings)
    if span is None:
        raise IncompleteDataError("the warehouse holds no account months: generate or load data first")
    start, end = span
    if report_date < start:
        raise IncompleteDataError(
            f"report date {report_date.isoformat()} is before the warehouse's first month {start.isoformat()} "
            f"(the earliest month_end in account_monthly): it holds no data for it; score a month from "
            f"{start.isoformat()} to {end.isoformat()}"
        )
    if report_date > end:
        raise IncompleteDataError(
            f"report date {report_date.isoformat()} is after the latest complete month {end.isoformat()} "
            f"(the latest month_end in account_monthly): load the month first, or score {end.isoformat()}"
        )


@contextmanager
def eligible_clients(
    engine: Engine, report_date: dt.date, settings: Settings, partition: Partition = WHOLE
) -> Iterator[tuple[Connection, dict]]:
    """A connection holding the temporary table ``snapshot_eligible`` of ``report_date`` (one partition's clients).

    The source queries join it, so they aggregate eligible clients only. The transaction
    is rolled back at the end, which removes the table on both engines; the snapshot
    itself never writes anything.
    """
    params = snapshot_params(report_date, load_exclusions(settings.okved_exclusions_path), partition)
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            _prepare_reading(ConnectionReader(conn), settings, params)
            yield conn, params
        finally:
            transaction.rollback()


@contextmanager
def eligible_reader(
    engine: Engine, report_date: dt.date, settings: Settings, partition: Partition = WHOLE, ids: IdRange = ALL_IDS
) -> Iterator[tuple[Reader, dict]]:
    """Like :func:`eligible_clients`, on the backend's fastest reading session (ADBC on PostgreSQL);
    ``ids`` narrows the partition's clients to an id range (a part of a parallel read)."""
    params = snapshot_params(report_date, load_exclusions(settings.okved_exclusions_path), partition, ids)
    with open_reader(engine) as reader:
        _prepare_reading(reader, settings, params)
        yield reader, params


def _prepare_reading(reader: Reader, settings: Settings, params: dict) -> None:
    """``snapshot_eligible``, with room to join it (a marts build makes it too, under its own settings)."""
    reader.execute(reader.backend.load_sql(settings.sql_dir, "snapshot/tune"))
    make_eligible(reader, settings, params)


def make_eligible(reader: Reader, settings: Settings, params: dict) -> None:
    """Create ``snapshot_eligible`` in the reader's session, with fresh statistics (a marts build makes its
    candidates with it too)."""
    for name in ("snapshot/eligible", "snapshot/analyze_eligible"):
        reader.execute(reader.backend.load_sql(settings.sql_dir, name), params)


#: Where the backend reads in parallel (PostgreSQL), a partition's clients are read in this many
#: parts at once, each on its own connection with its own ``snapshot_eligible`` (ranges of
#: consecutive client ids, about as many clients each; every source per part).
READERS = 2


def extract_snapshot(
    engine: Engine, report_date: dt.date | str, settings: Settings, partition: Partition = WHOLE
) -> pd.DataFrame:
    """Read the snapshot of ``report_date`` (of one partition's clients) from the warehouse."""
    report_date = parse_report_date(report_date)
    check_report_date(engine, settings, report_date)
    sources = source_queries(engine, settings, report_date)
    if not backend_for(engine).parallel_reads:
        with eligible_reader(engine, report_date, settings, partition) as (reader, params):
            return read_snapshot(reader, params, settings, report_date, sources)
    started = time.perf_counter()
    ranges = id_ranges(engine, settings, READERS)
    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="snapshot") as pool:
        frames = list(pool.map(lambda ids: _read_part(engine, report_date, settings, partition, ids, sources), ranges))
    log.info("snapshot %s: all sources read in %.1f s", report_date, time.perf_counter() - started)
    # A null id (a broken clients view) falls in every part: keep one, for validation to report.
    frames = [frames[0], *(f[f[col.CLIENT_ID].notna()] for f in frames[1:])]
    return merge_parts(frames)


def id_ranges(engine: Engine, settings: Settings, parts: int) -> list[IdRange]:
    """``parts`` ranges of consecutive client ids with about as many clients each (the first and last open).

    Parts of consecutive ids concatenate in id order: the parts of a modulo split interleave,
    and putting them in order took the month's rows again (0.5 s at 1M clients).
    """
    sql = backend_for(engine).load_sql(settings.sql_dir, "snapshot/id_split")
    splits: list[int | None] = []
    for part in range(1, parts):
        found = read_frame(engine, sql, {"part": part, "parts": parts}, {col.CLIENT_ID: "int"})
        splits.append(int(found[col.CLIENT_ID].iloc[0]) if len(found) else None)
    bounds = [None, *splits, None]
    return list(itertools.pairwise(bounds))


def merge_parts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts' rows as one frame in client-id order (a null id last), each row copied once.

    Parts of consecutive ids (:func:`id_ranges`) are in order once concatenated; others are
    taken by their sorted order in one Arrow pass (pandas' concat and sort copied the month
    twice: 1.4 s of the extract at 1M clients, 0.5 s this way).
    """
    try:
        table = pa.concat_tables([pa.Table.from_pandas(f, preserve_index=False) for f in frames])
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # parts whose columns Arrow types apart (an empty part's)
        frame = pd.concat(frames, ignore_index=True)
        return frame.sort_values(col.CLIENT_ID, kind="stable").reset_index(drop=True)
    if _ascending(table.column(col.CLIENT_ID)):
        return table.to_pandas()
    order = pc.sort_indices(table, sort_keys=[(col.CLIENT_ID, "ascending")])  # nulls at the end, as pandas
    return table.take(order).to_pandas()


def _ascending(ids: pa.ChunkedArray) -> bool:
    """Whether ``ids`` hold no null and never decrease."""
    if ids.null_count or len(ids) < 2:
        return ids.null_count == 0
    return bool(pc.all(pc.less_equal(ids[:-1], ids[1:])).as_py())


def _read_part(
    engine: Engine,
    report_date: dt.date,
    settings: Settings,
    partition: Partition,
    ids: IdRange,
    sources: tuple[str, ...],
) -> pd.DataFrame:
    """The snapshot of the partition's clients in an id range, on a session of its own."""
    with eligible_reader(engine, report_date, settings, partition, ids) as (reader, params):
        if reader.backend.per_client_index_reads:
            check_per_client_plans(reader, params, settings, sources)
        return read_snapshot(reader, params, settings, report_date, sources)


def check_per_client_plans(
    reader: Reader, params: dict, settings: Settings, sources: tuple[str, ...] = SOURCE_QUERIES
) -> None:
    """Refuse to run a source query whose plan would scan a whole table once per eligible client.

    The PostgreSQL files read each client's window through an index on ``(client_id, date)``
    (docs/data_contract.md); a warehouse without it would make the extract run for hours.
    """
    for name in (*sources, *present_optional_sources(reader)):
        plan = reader.explain(reader.backend.load_sql(settings.sql_dir, name), params)
        slow = per_client_full_scans(plan, "snapshot_eligible", "el.client_id")
        if slow:
            raise DataContractError(
                f"{name} would read all of {', '.join(slow)} once per eligible client: the table behind it has no "
                "index on (client_id, date) that the snapshot can use; create the indexes listed in "
                "docs/data_contract.md (Indexes), then run again"
            )


def present_optional_sources(reader: Reader) -> tuple[str, ...]:
    """The optional source queries whose tables the warehouse has."""
    return tuple(n for n, table in OPTIONAL_SOURCES.items() if reader.has_table(table))


def read_snapshot(
    reader: Reader,
    params: dict,
    settings: Settings,
    report_date: dt.date,
    sources: tuple[str, ...] = SOURCE_QUERIES,
) -> pd.DataFrame:
    """The snapshot, read in a session that holds ``snapshot_eligible`` (see :func:`eligible_reader`).

    ``sources`` are the feature SQL files (:mod:`rko_model.stages.feature_source`): the raw tables'
    or the marts'; both give the same snapshot.
    """
    optional = present_optional_sources(reader)
    frames = read_queries(reader, params, settings, report_date, ("snapshot/eligible_profile", *sources, *optional))
    if FEATURES_MART_QUERY in sources:
        missing = uncovered_clients(frames["snapshot/eligible_profile"], frames[FEATURES_MART_QUERY])
        if missing:
            log.warning(
                "snapshot %s: the features mart lacks %d of the eligible clients (their attributes or products "
                "were corrected after the month's build, or an earlier version built it): these clients' features "
                "are read from the raw tables; `rko marts build --month %s` rebuilds the month",
                report_date,
                missing,
                report_date.isoformat(),
            )
            sources, unread = RAW_SOURCE_QUERIES, tuple(n for n in RAW_SOURCE_QUERIES if n not in frames)
            if reader.backend.per_client_index_reads:
                check_per_client_plans(reader, params, settings, unread)
            frames.update(read_queries(reader, params, settings, report_date, unread))
    parts = [frames[n] for n in (*sources, *optional)]
    return assemble_snapshot(frames["snapshot/eligible_profile"], parts, report_date)


def uncovered_clients(eligible: pd.DataFrame, features: pd.DataFrame) -> int:
    """How many eligible clients have no row in the features mart's read (its build held every candidate)."""
    ids = eligible[col.CLIENT_ID].dropna()
    return int((~ids.isin(features[col.CLIENT_ID])).sum())


def read_queries(
    reader: Reader, params: dict, settings: Settings, report_date: dt.date, names: tuple[str, ...]
) -> dict[str, pd.DataFrame]:
    """The named snapshot queries' results, read one after the other in the session, with progress in the log."""
    out = {}
    for name in names:
        started = time.perf_counter()
        out[name] = reader.read_frame(reader.backend.load_sql(settings.sql_dir, name), params, _KINDS)
        log.info(
            "snapshot %s p%sof%s%s: %s gave %d rows (%.1f s)",
            report_date,
            params.get("partition", 0),
            params.get("partitions", 1),
            _id_label(params),
            name,
            len(out[name]),
            time.perf_counter() - started,
        )
    return out


def _id_label(params: dict) -> str:
    """`` ids [a, b)`` for a part of a parallel read, else nothing."""
    low, high = params.get("id_from"), params.get("id_to")
    if low is None and high is None:
        return ""
    return f" ids [{'' if low is None else low}, {'' if high is None else high})"


def assemble_snapshot(eligible: pd.DataFrame, parts: list[pd.DataFrame], report_date: dt.date) -> pd.DataFrame:
    """Join the source aggregates onto the eligible clients and derive date-based features."""
    ids = pd.Index(eligible[col.CLIENT_ID])
    columns = [eligible.reset_index(drop=True)]
    for part in parts:
        if _same_ids(part[col.CLIENT_ID], ids):  # already aligned (the features mart's read): no copy
            columns.append(part.drop(columns=col.CLIENT_ID).reset_index(drop=True))
            continue
        part = part.set_index(col.CLIENT_ID)
        # A client repeated by a broken clients view repeats here too (validation reports it);
        # one row per id lets each source be aligned once, instead of re-joining the growing frame.
        part = part[~part.index.duplicated()]
        columns.append(part.reindex(ids).reset_index(drop=True))
    frame = pd.concat(columns, axis=1)
    stamp = pd.Timestamp(report_date)
    frame[col.REPORT_DATE] = stamp
    frame[col.REPORT_DATE] = frame[col.REPORT_DATE].astype("datetime64[s]")
    frame["company_age_months"] = _months_between(frame["registration_date"], stamp)
    frame["months_since_last_product"] = _months_between(frame["last_product_open_date"], stamp)
    frame["months_since_contact"] = _months_between(
        frame.get("last_contact_date", pd.Series(pd.NaT, index=frame.index)), stamp
    )
    for name in col.ZERO_WHEN_ABSENT:  # an optional source's table may be absent: its counts are zero
        frame[name] = frame[name].fillna(0.0) if name in frame.columns else 0.0
    for name in col.NUMERIC_FEATURES:
        frame[name] = frame[name].astype("float64")
    for name in (*col.CATEGORICAL_FEATURES, *col.TEXT_FEATURES):
        frame[name] = frame[name].astype("str")
    frame = frame[list(col.SNAPSHOT_COLUMNS)]
    if frame[col.CLIENT_ID].is_monotonic_increasing:  # the profile query's order: no copy to sort
        return frame.reset_index(drop=True)
    return frame.sort_values(col.CLIENT_ID, kind="stable").reset_index(drop=True)


def _same_ids(values: pd.Series, ids: pd.Index) -> bool:
    """Whether a source's ids are the eligible ids, row for row (none missing, repeated or null)."""
    return len(values) == len(ids) and not ids.hasnans and bool(np.array_equal(values.to_numpy(), ids.to_numpy()))


def _months_between(earlier: pd.Series, stamp: pd.Timestamp) -> pd.Series:
    return ((stamp - pd.to_datetime(earlier)).dt.days / 30.4375).round(2)


_VALIDATION_IDS = Table("validation_ids", MetaData(), Column("client_id", BigInteger), prefixes=["TEMPORARY"])


def extract_client_facts(
    engine: Engine, report_date: dt.date, settings: Settings, client_ids: np.ndarray
) -> pd.DataFrame:
    """Facts at ``report_date`` about ``client_ids``, for the validation's independent eligibility re-check.

    The ids go into a temporary table (COPY on PostgreSQL) that the facts query joins, so the
    query reads the snapshot's clients only; the transaction is rolled back afterwards.
    """
    sql = backend_for(engine).load_sql(settings.sql_dir, "validation/client_facts")
    params = {"report_date": report_date, "rko_product": col.RKO_PRODUCT}
    kinds = {col.CLIENT_ID: "int", "segment": "str", "okved_code": "str", "liquidated": "int", "holds_rko": "int"}
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            execute(conn, backend_for(engine).load_sql(settings.sql_dir, "snapshot/tune"))  # the snapshot's settings
            _VALIDATION_IDS.create(conn)
            # A null or repeated id is the validation's to report, not a reason to fail here.
            ids = pd.Series(client_ids).dropna().drop_duplicates().to_numpy(dtype=np.int64)
            bulk_insert(conn, _VALIDATION_IDS, pd.DataFrame({col.CLIENT_ID: ids}))
            return read_frame(conn, sql, params, kinds)  # type: ignore[arg-type]
        finally:
            transaction.rollback()
