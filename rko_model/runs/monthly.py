"""The monthly scoring run: plan, then extract, validate and score per partition, then publish and record.

Each step is a plain function of the settings, the report date and the run id that returns a
small dict of references (URIs, counts, figures): the Airflow tasks return these as XCom
and pass them on, and ``rko score`` runs the same steps in a row. DataFrames travel as
Parquet files in the artefact store (:mod:`rko_model.storage.artifacts`, ``RKO_ARTIFACT_URL``) under
``monthly/<report date>/<run id>/``, never through XCom; no step reads another's local disk.

A month may be split into partitions (client id modulo N, see :mod:`rko_model.common.partitions`)
that are extracted, validated and scored independently, by different workers; publishing
gathers the partitions' scores, ranks the whole month and replaces it in one transaction, so
the list is the same for any N. Scoring streams its snapshot in chunks, so its memory does
not grow with the month; it also explains the partition's likely contacted clients
(:mod:`rko_model.pilot.listing`), which publishing joins to the list.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy.orm  # noqa: F401  (see validate: imported here, in one thread, before any pool starts)
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.common.dates import parse_report_date
from rko_model.common.exclusions import load_exclusions
from rko_model.common.partitions import WHOLE, Partition, partitions_of
from rko_model.common.run_ids import check_run_id, folder_name, month_run_id
from rko_model.errors import InvalidInputError, PackageError, RkoError, ValidationError
from rko_model.model.package import ModelPackage
from rko_model.model.registry import Registry
from rko_model.pilot.arms import rules_keys
from rko_model.pilot.listing import ReasonRows, prepare_list
from rko_model.runs.monitoring import (
    add_counts,
    drift_counts,
    drift_from_counts,
    score_distribution,
    unseen_counts,
    unseen_shares,
    unseen_warnings,
)
from rko_model.settings import Settings
from rko_model.stages.late_events import late_events
from rko_model.stages.readiness import month_readiness
from rko_model.stages.scoring import rank_scores
from rko_model.stages.snapshot import extract_client_facts, extract_snapshot
from rko_model.stages.source_values import infinite_features, source_value_failures
from rko_model.stages.validation import import_gx, validate_snapshot
from rko_model.storage import artifacts
from rko_model.warehouse.attribute_history import check_attribute_history
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.engine import make_engine
from rko_model.warehouse.query import read_frame
from rko_model.warehouse.staging import (
    MonthHold,
    ensure_tables,
    hold_month,
    make_staging_engine,
    month_of_run,
    publish_month,
    published_by,
    read_run,
    record_run,
)

log = logging.getLogger(__name__)

STAGING_TABLE = "mo_staging.rko_propensity"
#: Rows per scoring chunk, and per row group of the snapshot file that scoring streams.
CHUNK_ROWS = 20_000

#: Longest warning text carried in XCom and the run metrics (the full text is in the validation result).
MESSAGE_CHARS = 500

Ref = dict[str, Any]


@contextmanager
def _staging(settings: Settings) -> Iterator[Engine]:
    """An engine on the staging database for one step, its connections closed afterwards."""
    engine = make_staging_engine(settings.staging_url)
    try:
        yield engine
    finally:
        engine.dispose()


def run_folder(settings: Settings, report_date: dt.date, run_id: str) -> str:
    """The URI of a run's artefacts in the store; the run id is checked and never a raw path component."""
    return artifacts.join(settings.artifact_url, "monthly", report_date.isoformat(), folder_name(run_id))


def _write_parquet(frame: pd.DataFrame, uri: str) -> None:
    artifacts.write_parquet(frame, uri, row_group_size=CHUNK_ROWS)


def _partition_of(ref: Ref) -> Partition:
    return Partition(int(ref.get("partition", 0)), int(ref.get("partitions", 1)))


def plan(settings: Settings, partitions: int = 1) -> list[Ref]:
    """One reference per partition, with the champion's version fixed for the whole run."""
    version = Registry.of(settings).required_champion_version()
    return [{"partition": p.index, "partitions": p.count, "model_version": version} for p in partitions_of(partitions)]


def plan_months(settings: Settings, months: Sequence[dt.date | str], run_id: str, partitions: int = 1) -> list[Ref]:
    """One reference per month and partition, oldest month first: what a run that scores several months maps over.

    Each reference names its month (``report_date``, ISO) and the month's run id
    (:func:`rko_model.common.run_ids.month_run_id`); the champion's version is fixed once for every
    month of the run. The same month given twice is planned once.
    """
    dates = sorted({parse_report_date(month) for month in months})
    if not dates:
        return []
    planned = plan(settings, partitions)
    return [
        {**ref, "report_date": month.isoformat(), "run_id": month_run_id(run_id, month, len(dates))}
        for month in dates
        for ref in planned
    ]


def refs_of_month(refs: Sequence[Ref], month: dt.date | str) -> list[Ref]:
    """The references of one month among those of a run's months (they carry ``report_date``, as planned)."""
    month = parse_report_date(month).isoformat()
    return [ref for ref in refs if ref.get("report_date") == month]


def extract(settings: Settings, report_date: dt.date | str, run_id: str, partition: Partition = WHOLE) -> Ref:
    report_date = parse_report_date(report_date)
    started = time.perf_counter()
    frame = extract_snapshot(make_engine(settings.warehouse_url), report_date, settings, partition)
    path = f"{run_folder(settings, report_date, run_id)}/snapshot_{partition.label}.parquet"
    _write_parquet(frame, path)
    log.info("extract %s %s: %d clients -> %s", report_date, partition.label, len(frame), path)
    return {
        "snapshot_path": str(path),
        "rows": len(frame),
        **partition.params(),
        "seconds": round(time.perf_counter() - started, 2),
    }


def previous_rows(settings: Settings, report_date: dt.date, partition: Partition = WHOLE) -> int | None:
    """The partition's clients in the latest earlier published list: the row count's yardstick."""
    engine = make_staging_engine(settings.staging_url)
    with engine.begin() as conn:
        ensure_tables(conn)
    sql = backend_for(engine).load_sql(settings.sql_dir, "staging/previous_rows")
    params = {"report_date": report_date, "published": "published", **partition.params()}
    rows = int(read_frame(engine, sql, params, {"previous_rows": "int"})["previous_rows"].iloc[0])
    return rows or None


def validate(settings: Settings, report_date: dt.date | str, run_id: str, extracted: Ref) -> Ref:
    """Run the GX suite on a partition; on a critical failure record the run as failed and raise.

    The database lookups run in threads, in two waves that keep both cores busy: what the
    suite needs (the clients' facts, the previous month's rows) and the source values beside
    GX's import while this thread reads the snapshot; the checks that only add messages (the
    attribute history, late events) beside the suite's run, once GX is imported (1M clients:
    4.7-4.9 s -> 4.5 s). ``sqlalchemy.orm`` is imported with this module, not first by GX's
    import in a thread: a pool's ping in another thread compiles
    ``SELECT 1``, which inspects through ``sqlalchemy.orm``, and met it half initialised
    (AttributeError on ``sqlalchemy.orm.exc``, seen at 1M clients).
    """
    report_date = parse_report_date(report_date)
    partition = _partition_of(extracted)
    started = time.perf_counter()
    path = extracted["snapshot_path"]
    engine = make_engine(settings.warehouse_url)
    ids = artifacts.read_arrow(path, columns=[col.CLIENT_ID]).column(0).to_numpy(zero_copy_only=False)
    with ThreadPoolExecutor(max_workers=6, thread_name_prefix="validate") as pool:
        facts = pool.submit(extract_client_facts, engine, report_date, settings, ids)
        previous = pool.submit(previous_rows, settings, report_date, partition)
        gx = pool.submit(import_gx)
        source_values = pool.submit(source_value_failures, engine, settings, report_date)
        frame = artifacts.read_parquet(path)
        gx.result()
        # The second wave, beside the suite's run (GX's import and run hold one core each in turn).
        history = pool.submit(check_attribute_history, engine, settings, report_date)
        late = pool.submit(late_events, engine, settings, report_date)

        def warehouse_checks() -> tuple[list[str], list[str]]:
            warnings = [*history.result().warnings, *(e.message(report_date) for e in late.result())]
            return warnings, [*history.result().critical, *source_values.result()]

        result_folder = f"{run_folder(settings, report_date, run_id)}/{partition.label}"
        with artifacts.local_folder(result_folder) as folder:
            outcome = validate_snapshot(
                frame,
                facts.result(),
                load_exclusions(settings.okved_exclusions_path),
                report_date.isoformat(),
                previous_rows=previous.result(),
                artifact_dir=folder,
                extra_critical=infinite_features(frame),
                warehouse_checks=warehouse_checks,
            )
        if outcome.result_path:  # the store's URI, not the (maybe temporary) local file
            outcome = replace(
                outcome, result_path=artifacts.join(result_folder, outcome.result_path.rsplit("/", 1)[-1])
            )
    ref = {
        "snapshot_path": path,
        **partition.params(),
        "success": outcome.success,
        "critical": len(outcome.critical_failures),
        "warnings": len(outcome.warnings),
        "warning_messages": [m[:MESSAGE_CHARS] for m in outcome.warnings],
        "result_path": outcome.result_path,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if not outcome.success:
        record(settings, report_date, run_id, status="failed_validation", extracted=[extracted], validated=[ref])
        raise ValidationError(outcome.summary())
    return ref


def score(settings: Settings, report_date: dt.date | str, run_id: str, snapshot: Ref, model_version: str) -> Ref:
    """Score a partition's snapshot chunk by chunk with ``model_version``; write its (unranked) scores.

    ``snapshot`` is the partition's validated (or extracted) reference: scoring needs only the
    file it names. Whatever ran before, :func:`publish` refuses a partition without a passing
    validation of that file, so nothing unchecked goes out.
    """
    report_date = parse_report_date(report_date)
    partition = _partition_of(snapshot)
    started = time.perf_counter()
    package = Registry.of(settings).load(model_version)
    config = settings.pilot_config()
    # the rows that may need reasons are kept as they are scored, not read again afterwards
    explained = ReasonRows(package, config, partition.count, artifacts.parquet_rows(snapshot["snapshot_path"]))
    ids, scores, counts, unseen, keys = [], [], [], [], []
    for chunk, matrix in _prepared_ahead(artifacts.iter_parquet(snapshot["snapshot_path"], CHUNK_ROWS), package):
        chunk_scores = package.score_matrix(matrix)
        keys.append(rules_keys(chunk).drop(columns=col.CLIENT_ID))
        ids.append(chunk[col.CLIENT_ID].to_numpy(dtype=np.int64))
        explained.add(ids[-1], matrix, chunk_scores, keys[-1])
        del matrix
        scores.append(np.asarray(chunk_scores, dtype=np.float64))
        counts.append(drift_counts(chunk, chunk_scores, package.reference))
        unseen.append(unseen_counts(chunk, package.reference))
        del chunk
    frame = pd.DataFrame(
        {
            col.CLIENT_ID: np.concatenate(ids) if ids else np.array([], dtype=np.int64),
            "score": np.concatenate(scores) if scores else np.array([], dtype=np.float64),
        }
    )
    if keys:  # the rules' points and tie-break, for the list's rules_rank (rko_model.pilot)
        frame = pd.concat([frame, pd.concat(keys, ignore_index=True)], axis=1)
    path = f"{run_folder(settings, report_date, run_id)}/scores_{partition.label}.parquet"
    _write_parquet(frame, path)
    log.info("score %s %s: %d clients with model %s", report_date, partition.label, len(frame), package.version)
    scored_at = time.perf_counter()
    ref = {
        "scores_path": str(path),
        "snapshot_path": snapshot["snapshot_path"],
        **partition.params(),
        "rows": len(frame),
        "model_version": package.version,
        "bin_counts": add_counts(counts),
        "unseen_counts": None if None in unseen else add_counts(unseen),
    }
    if config.reason_deciles > 0:  # here, in the mapped tasks, rather than serially at publish
        reasons = explained.reasons(frame, snapshot["snapshot_path"])
        reasons_path = f"{run_folder(settings, report_date, run_id)}/reasons_{partition.label}.parquet"
        _write_parquet(reasons, reasons_path)
        ref.update(
            reasons_path=reasons_path,
            reasons_rows=len(reasons),
            # with the time spent keeping the rows while scoring, which is the reasons' too
            reasons_seconds=round(time.perf_counter() - scored_at + explained.keep_seconds, 2),
        )
        log.info("score %s %s: reasons for %d clients", report_date, partition.label, len(reasons))
    return {**ref, "seconds": round(time.perf_counter() - started, 2)}


def _prepared_ahead(
    chunks: Iterator[pd.DataFrame], package: ModelPackage
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Each chunk with its model matrix; the next chunk is read and made a matrix in a thread meanwhile.

    CatBoost's predict leaves a core idle part of the time, and the reading and the matrix are
    Python's work: done ahead, they fill it (the score step ran at 1.45 cores on 2).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="score") as pool:

        def prepare() -> tuple[pd.DataFrame, pd.DataFrame] | None:
            chunk = next(chunks, None)
            return None if chunk is None else (chunk, package.matrix(chunk))

        ahead = pool.submit(prepare)
        while (item := ahead.result()) is not None:
            ahead = pool.submit(prepare)
            yield item


def publish(
    settings: Settings,
    report_date: dt.date | str,
    run_id: str,
    scored: Sequence[Ref],
    *,
    validated: Sequence[Ref],
    hold: bool | MonthHold = True,
) -> Ref:
    """Rank the whole month from its partitions' scores and replace it in the staging table at once.

    ``validated`` are the partitions' validation references: each scored partition needs a
    passing one of the same snapshot file, or nothing is published. ``hold`` True takes the
    month's hold for the step; a caller that holds it already passes its :class:`MonthHold`,
    whose fencing token the publishing transaction checks. The run's
    metrics row (status published) is written in the same transaction. A month this run has
    published already is not published again (a retried task): its recorded figures are returned.
    """
    report_date = parse_report_date(report_date)
    check_run_id(run_id)
    done = already_published(settings, report_date, run_id)
    if done is not None:
        log.info("publish %s: run %s published this month already; not published again", report_date, run_id)
        return done
    if hold is True:
        with _staging(settings) as engine, hold_month(engine, report_date, run_id) as held:
            return publish(settings, report_date, run_id, scored, validated=validated, hold=held)
    started = time.perf_counter()
    scored = list(scored)
    _check_complete(scored)
    _check_validated(scored, validated, report_date)
    versions = {ref["model_version"] for ref in scored}
    if len(versions) != 1:
        raise PackageError(f"the partitions of {report_date} were scored by different models {sorted(versions)}")
    version = versions.pop()
    scores = pd.concat([artifacts.read_parquet(ref["scores_path"]) for ref in scored], ignore_index=True)
    ranked = rank_scores(scores[col.CLIENT_ID].to_numpy(), scores["score"].to_numpy(), report_date, version, run_id)
    ranked, pilot_figures = prepare_list(settings, ranked, scores, scored, version)
    reference = Registry.of(settings).reference(version)
    unseen_parts = [ref.get("unseen_counts") for ref in scored]
    unseen = unseen_shares(None if None in unseen_parts else add_counts(unseen_parts))  # type: ignore[arg-type]
    figures = {
        **score_distribution(scores["score"].to_numpy()),
        **drift_from_counts(add_counts(ref["bin_counts"] for ref in scored), reference),
        "unseen_categories": unseen,
        "warnings": unseen_warnings(unseen),
        "pilot": pilot_figures,
    }
    ref = {"table": STAGING_TABLE, "rows": len(ranked), "model_version": version, **figures}
    run_row = run_metrics_row(report_date, run_id, status="published", scored=scored, published=ref)
    with _staging(settings) as staging:
        rows = publish_month(
            staging,
            ranked,
            report_date,
            settings.sql_dir,
            hold=hold if isinstance(hold, MonthHold) else None,
            run_row=run_row,
        )
    log.info(
        "publish %s: %d clients, mean score %.4f, score PSI %.3f",
        report_date,
        rows,
        figures["score_mean"] or 0.0,
        figures["score_psi"],
    )
    return {**ref, "rows": rows, "seconds": round(time.perf_counter() - started, 2)}


def already_published(settings: Settings, report_date: dt.date, run_id: str) -> Ref | None:
    """What run ``run_id`` published for ``report_date``, when its list went out already; else None."""
    with _staging(settings) as staging:
        recorded = read_run(staging, report_date, run_id)
        publisher = published_by(staging, report_date)
    same_month = pd.to_datetime(recorded["report_date"]).dt.date == report_date
    mine = recorded[(recorded["run_id"] == run_id) & (recorded["status"] == "published") & same_month]
    if mine.empty and publisher != run_id:
        return None
    if mine.empty:  # the list went out, its row did not (another database): the figures are gone, the fact is not
        return {"table": STAGING_TABLE, "rows": None, "model_version": None, "already_published": True}
    row = mine.iloc[0]
    details = json.loads(row["details"] or "{}")

    def value(name: str) -> Any:
        item = row.get(name)
        return None if item is None or (isinstance(item, float) and np.isnan(item)) else item

    return {
        "table": STAGING_TABLE,
        "rows": None if value("rows_published") is None else int(value("rows_published")),
        "model_version": value("model_version"),
        **{k: value(k) for k in ("score_mean", "score_p50", "score_p90", "score_psi", "feature_psi_max")},
        "feature_psi": details.get("feature_psi"),
        "histogram": details.get("histogram"),
        "unseen_categories": details.get("unseen_categories"),
        "warnings": details.get("published_warnings", []),
        "already_published": True,
    }


def _check_complete(scored: list[Ref]) -> None:
    """Every partition of the month is there, once: a list is never published from part of a month."""
    if not scored:
        raise ValueError("no scored partitions to publish")
    count = _partition_of(scored[0]).count
    seen = sorted(_partition_of(ref).index for ref in scored)
    if seen != list(range(count)) or any(_partition_of(ref).count != count for ref in scored):
        raise ValueError(f"publishing needs each of the {count} partitions once, got {seen}")


def _check_validated(scored: list[Ref], validated: Sequence[Ref], report_date: dt.date) -> None:
    """Every scored partition's snapshot passed its validation: the list never carries unchecked rows."""
    passed = {(ref["snapshot_path"], _partition_of(ref)) for ref in validated if ref.get("success")}
    unchecked = [_partition_of(ref).label for ref in scored if (ref["snapshot_path"], _partition_of(ref)) not in passed]
    if unchecked:
        raise ValidationError(
            f"{report_date}: partitions {', '.join(unchecked)} were scored from snapshots without a passing "
            "validation; nothing is published: validate them (the run's validate step), then publish again"
        )


def record(
    settings: Settings,
    report_date: dt.date | str,
    run_id: str,
    *,
    status: str = "published",
    extracted: Sequence[Ref] = (),
    validated: Sequence[Ref] = (),
    scored: Sequence[Ref] = (),
    published: Ref | None = None,
    readiness: Ref | None = None,
) -> Ref:
    """One row of run metrics: rows at each step, validation, score distribution, drift, durations.

    Idempotent: it replaces the run's row, so a failed record step is retried on its own.
    ``readiness`` is the month's readiness check (:func:`rko_model.stages.readiness.Readiness.as_ref`),
    with ``forced`` set when the month was scored although a source did not hold it.
    """
    report_date = parse_report_date(report_date)
    check_run_id(run_id)
    row = run_metrics_row(
        report_date,
        run_id,
        status=status,
        extracted=extracted,
        validated=validated,
        scored=scored,
        published=published,
        readiness=readiness,
    )
    with _staging(settings) as staging:
        record_run(staging, row, settings.sql_dir)
    return {"status": status, "rows_published": row["rows_published"], "score_psi": row["score_psi"]}


def run_metrics_row(
    report_date: dt.date,
    run_id: str,
    *,
    status: str,
    extracted: Sequence[Ref] = (),
    validated: Sequence[Ref] = (),
    scored: Sequence[Ref] = (),
    published: Ref | None = None,
    readiness: Ref | None = None,
) -> dict[str, Any]:
    """The run-metrics row of the steps' references."""
    extracted, validated, scored, published = list(extracted), list(validated), list(scored), published or {}

    def total(refs: list[Ref], key: str) -> Any:
        return sum(int(ref[key]) for ref in refs) if refs and all(ref.get(key) is not None for ref in refs) else None

    def seconds(refs: list[Ref]) -> float | None:
        return round(sum(float(ref.get("seconds") or 0) for ref in refs), 2) if refs else None

    details = {
        "partitions": max((_partition_of(ref).count for ref in extracted), default=1),
        "seconds": {
            "extract": seconds(extracted),
            "validate": seconds(validated),
            "score": seconds(scored),
            "publish": published.get("seconds"),
        },
        "feature_psi": published.get("feature_psi"),
        "histogram": published.get("histogram"),
        "validation_result": [ref.get("result_path") for ref in validated],
        # Partitions repeat month-wide warnings (late events): each text once.
        "warnings": list(
            dict.fromkeys(
                [*(m for ref in validated for m in ref.get("warning_messages", [])), *published.get("warnings", [])]
            )
        ),
        "unseen_categories": published.get("unseen_categories"),
        "published_warnings": published.get("warnings", []),
        "snapshot_path": [ref.get("snapshot_path") for ref in extracted],
        "readiness": readiness,
        "pilot": published.get("pilot"),
    }
    row = {
        "run_id": run_id,
        "report_date": report_date,
        "model_version": published.get("model_version") or (scored[0]["model_version"] if scored else None),
        "status": status,
        "rows_snapshot": total(extracted, "rows"),
        "rows_scored": total(scored, "rows"),
        "rows_published": published.get("rows"),
        "validation_success": int(all(ref.get("success") for ref in validated)) if validated else None,
        "validation_critical": total(validated, "critical"),
        "validation_warnings": total(validated, "warnings"),
        "score_mean": published.get("score_mean"),
        "score_p50": published.get("score_p50"),
        "score_p90": published.get("score_p90"),
        "score_psi": published.get("score_psi"),
        "feature_psi_max": published.get("feature_psi_max"),
        "details": json.dumps(details, ensure_ascii=False, default=str),
    }
    return row


#: Attempts of the record step after a publish, and the pause before the first retry (doubled each time).
RECORD_ATTEMPTS, RECORD_PAUSE_SECONDS = 3, 0.5


def run_month(
    settings: Settings, report_date: dt.date | str, run_id: str, partitions: int = 1, *, force: bool = False
) -> Ref:
    """Every step in a row, as the DAG runs them (``rko score``), holding the month against other runs.

    The run id is checked first. A run id of another month is refused; a month this run
    published already is not redone: only its record step runs again.
    """
    report_date = parse_report_date(report_date)
    check_run_id(run_id)
    with _staging(settings) as staging:
        recorded_for = month_of_run(staging, run_id)
    if recorded_for is not None and recorded_for != report_date:
        raise InvalidInputError(
            f"run id {run_id} already names the run of {recorded_for}; a run id names one month: use a new one"
        )
    done = already_published(settings, report_date, run_id)
    if done is None:  # a month the warehouse cannot score is refused before the month is claimed
        readiness = month_readiness(settings, report_date, force=force)
    else:
        log.info("run %s published %s already: nothing is published again", run_id, report_date)
        return {"status": "published", "rows_published": done["rows"], "score_psi": done.get("score_psi"), **done}
    with _staging(settings) as staging, hold_month(staging, report_date, run_id) as held:
        planned = plan(settings, partitions)
        extracted, validated, scored = [], [], []
        for ref in planned:
            partition = _partition_of(ref)
            extracted.append(extract(settings, report_date, run_id, partition))
            validated.append(validate(settings, report_date, run_id, extracted[-1]))
            scored.append(score(settings, report_date, run_id, validated[-1], ref["model_version"]))
        published = publish(settings, report_date, run_id, scored, validated=validated, hold=held)
    return record_after_publish(settings, report_date, run_id, extracted, validated, scored, published, readiness)


def record_after_publish(
    settings: Settings,
    report_date: dt.date,
    run_id: str,
    extracted: Sequence[Ref],
    validated: Sequence[Ref],
    scored: Sequence[Ref],
    published: Ref,
    readiness: Ref | None = None,
) -> Ref:
    """The record step after the list went out: retried on its own, never failing the month.

    The published status is already recorded with the list; this adds the steps' figures. When
    it still fails, the month is reported published with a warning, never as failed.
    """
    pause = RECORD_PAUSE_SECONDS
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            return record(
                settings,
                report_date,
                run_id,
                extracted=extracted,
                validated=validated,
                scored=scored,
                published=published,
                readiness=readiness,
            )
        except RkoError as exc:
            if attempt == RECORD_ATTEMPTS or not exc.transient:
                log.warning(
                    "run %s: %s is published, but its full run metrics were not recorded (%s); "
                    "run `rko score --report-date %s --run-id %s` again to record them (nothing is republished)",
                    run_id,
                    report_date,
                    exc,
                    report_date,
                    run_id,
                )
                return {
                    "status": "published",
                    "rows_published": published.get("rows"),
                    "score_psi": published.get("score_psi"),
                    "record_problem": str(exc),
                }
            log.info("recording run %s failed (attempt %d): %s; retrying in %.1f s", run_id, attempt, exc, pause)
            time.sleep(pause)
            pause *= 2
    raise AssertionError("unreachable")
