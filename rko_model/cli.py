"""``rko``: the command line over the same functions the Airflow DAGs call."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import sys
import typing
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from rko_model.common import logmask
from rko_model.common.dates import add_months
from rko_model.model import defaults as D
from rko_model.runs.faults import describe
from rko_model.settings import Settings

log = logging.getLogger("rko")

#: Training months when --train-months is not given.
DEFAULT_TRAIN_MONTHS = D.TRAIN_MONTHS


def _cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.synth.generator import generate
    from rko_model.synth.spec import BankSpec
    from rko_model.warehouse.bank_writer import write_bank
    from rko_model.warehouse.engine import make_engine

    spec = BankSpec(n_clients=args.clients, n_months=args.months, seed=args.seed, last_month=args.last_month)
    engine = make_engine(settings.warehouse_url)
    chunks = generate(spec)
    if args.partly_loaded:
        from rko_model.synth.partial import partly_loaded

        chunks = partly_loaded(chunks, spec.last_month, spec.seed)
    rows = write_bank(engine, chunks)
    partly = f", its last month {spec.last_month} partly loaded" if args.partly_loaded else ""
    print(
        f"synthetic bank ({spec.n_clients} clients x {spec.n_months} months, seed {spec.seed}{partly}) written to "
        f"{engine.url.render_as_string(hide_password=True)}"
    )
    for table, count in rows.items():
        print(f"  {table:<18} {count:>12,d} rows")
    return 0


def _cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.common.dates import parse_report_date
    from rko_model.stages.readiness import check_readiness
    from rko_model.warehouse.attribute_history import check_attribute_history
    from rko_model.warehouse.contract import check_contract
    from rko_model.warehouse.engine import make_engine

    engine = make_engine(settings.warehouse_url)
    check_contract(engine)
    report_date = parse_report_date(_resolve_date(args.report_date, engine, settings))
    history = check_attribute_history(engine, settings, report_date)
    readiness = check_readiness(engine, settings, report_date)
    print(f"{report_date}: the data contract's tables and columns are there")
    for line in (*(f"CRITICAL {m}" for m in history.critical), *(f"WARNING {m}" for m in history.warnings)):
        print(f"  {line}")
    print(f"  readiness: {readiness.message()}")
    return 0 if history.ok and readiness.ready else 3


def _resolve_date(value: str, engine: Engine, settings: Settings, back: int = 0) -> dt.date | str:
    """``latest`` means the latest complete month, moved ``back`` months; other values pass through."""
    from rko_model.errors import IncompleteDataError
    from rko_model.stages.snapshot import data_end

    if value != "latest":
        return value
    end = data_end(engine, settings)
    if end is None:
        raise IncompleteDataError("the warehouse holds no months yet: run `rko generate` first")
    return add_months(end, -back)


def _cmd_snapshot(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.stages.snapshot import extract_snapshot
    from rko_model.warehouse.engine import make_engine

    engine = make_engine(settings.warehouse_url)
    report_date = _resolve_date(args.report_date, engine, settings)
    frame = extract_snapshot(engine, report_date, settings)
    _write_csv(frame, args.out)
    print(
        f"snapshot {frame['report_date'].iloc[0].date() if len(frame) else report_date}: "
        f"{len(frame):,d} clients x {frame.shape[1]} columns -> {args.out}"
    )
    return 0


def _cmd_labels(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model import columns as col
    from rko_model.stages.labels import extract_labels
    from rko_model.warehouse.engine import make_engine

    engine = make_engine(settings.warehouse_url)
    report_date = _resolve_date(args.report_date, engine, settings, back=col.LABEL_HORIZON_MONTHS)
    frame = extract_labels(engine, report_date, settings)
    _write_csv(frame, args.out)
    print(
        f"labels {report_date}: {len(frame):,d} clients, {int(frame['target'].sum()):,d} opened RKO "
        f"({frame['target'].mean():.2%}) -> {args.out}"
    )
    return 0


def _cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.model.dataset import plan_from_warehouse
    from rko_model.model.train import TrainParams
    from rko_model.runs.training import train_and_report
    from rko_model.warehouse.engine import make_engine

    # A window given on the command line is checked against the warehouse before any work.
    n_train = args.train_months or DEFAULT_TRAIN_MONTHS
    if args.train_months is not None:
        plan_from_warehouse(make_engine(settings.warehouse_url), settings, n_train, args.test_months, strict=True)
    params = TrainParams(
        iterations=args.iterations,
        learning_rate=args.learning_rate,
        depth=args.depth,
        l2_leaf_reg=args.l2_leaf_reg,
        negative_share=args.negative_share,
        validation=args.validation,
        time_folds=args.time_folds,
    )
    run = train_and_report(
        make_engine(settings.warehouse_url),
        settings,
        n_train=n_train,
        n_test=args.test_months,
        params=params,
        ablation=not args.no_ablation,
        walk_forward=not args.no_walk_forward,
        package_retro_model=args.package_retro_model,
    )
    h = run.headline
    print(
        f"training run {run.run_id}: CatBoost multimodal mean retro Gini {h['gini_mean']:.3f} "
        f"(std {h['gini_std']:.3f}, min {h['gini_min']:.3f}); over logistic regression {h['gain_over_logreg']:+.3f}, "
        f"over the rules {h['gain_over_rules']:+.3f}; conversion uplift {h['conversion_uplift_mean']:+.1%}, "
        f"cost saving {h['cost_saving_mean']:.1%}"
    )
    if h.get("near_cap"):
        print(f"  warning: the best iteration ({h['best_iteration']:.0f}) is within 5% of the cap: raise --iterations")
    which = (
        "the retro-tested model itself (audit)"
        if run.packaged == "retro"
        else "the recipe refit on the latest labelled months"
    )
    print(f"  package: {run.package_url} ({which})")
    print(f"  report:  {run.report_url}")
    print(f"  promote it with: rko promote --version {run.run_id}")
    return 0


def _cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.runs.training import rerender_report

    print(f"report: {rerender_report(settings, args.run)}")
    return 0


def _cmd_champion(args: argparse.Namespace, settings: Settings) -> int:
    """The champion's version (exit 0), or exit 3 when the registry has none: scripts ask the store, not a path.

    Only the version goes to stdout (``v=$(rko champion)``); any other failure exits 2 or 75 as usual.
    """
    from rko_model.model.registry import Registry

    version = Registry.of(settings).champion_version()
    if version is None:
        print(f"no champion in {settings.registry_url}", file=sys.stderr)
        return 3
    print(version)
    return 0


def _cmd_promote(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.errors import PackageError
    from rko_model.model.registry import Registry

    registry = Registry.of(settings)
    version = args.version or registry.latest_complete()
    if version is None:
        raise PackageError(f"the registry {settings.registry_url} holds no complete packages: run `rko train` first")
    decision = registry.promote(version, tolerance=args.tolerance)
    verdict = "promoted to champion" if decision.promoted else "not promoted"
    print(f"{version}: {verdict}: {decision.reason}")
    return 0 if decision.promoted or args.allow_refusal else 3


def _cmd_score(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.common.run_ids import check_run_id
    from rko_model.runs.monthly import STAGING_TABLE, run_month
    from rko_model.warehouse.engine import make_engine

    run_id = check_run_id(args.run_id or f"cli__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}")
    engine = make_engine(settings.warehouse_url)
    report_date = _resolve_date(args.report_date, engine, settings)
    out = run_month(settings, report_date, run_id, partitions=args.partitions, force=args.force)
    rows = "?" if out.get("rows_published") is None else f"{out['rows_published']:,d}"
    psi = "unknown" if out.get("score_psi") is None else f"{out['score_psi']:.3f}"
    again = ", published earlier by this run: not published again" if out.get("already_published") else ""
    print(f"{report_date}: {rows} clients published to {STAGING_TABLE} (run {run_id}, score PSI {psi}{again})")
    if out.get("record_problem"):
        print(
            f"rko score: warning: {report_date} is published, but its run metrics were not fully recorded "
            f"({logmask.mask_inns(out['record_problem'])}); run the same command again to record them",
            file=sys.stderr,
        )
    return 0


def _cmd_top(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.warehouse.engine import make_engine
    from rko_model.warehouse.staging import make_staging_engine, read_published

    report_date = _resolve_date(args.report_date, make_engine(settings.warehouse_url), settings)
    published = read_published(make_staging_engine(settings.staging_url), dt.date.fromisoformat(str(report_date)))
    print(f"mo_staging.rko_propensity, {report_date}: {len(published):,d} clients; top {args.n}:")
    print(published.head(args.n).to_string(index=False))
    return 0


def _cmd_performance(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model import columns as col
    from rko_model.runs.performance import evaluate_month, raise_on_alert
    from rko_model.warehouse.engine import make_engine

    engine = make_engine(settings.warehouse_url)
    report_date = _resolve_date(args.report_date, engine, settings, back=col.LABEL_HORIZON_MONTHS)
    figures = evaluate_month(settings, report_date)
    psi = "unknown" if figures.score_psi is None else f"{figures.score_psi:.3f}"
    print(
        f"{figures.report_date}: {figures.rows:,d} listed clients, {figures.positives:,d} opened RKO "
        f"({figures.base_rate:.2%}); realised Gini {figures.gini:.3f}, top-decile lift {figures.lift_top_decile:.2f}, "
        f"top-10% conversion {figures.conversion_top10:.2%}; score PSI {psi}; model {figures.model_version}: "
        f"{figures.status} (stored in rko_monitoring.rko_realised_performance)"
    )
    raise_on_alert(figures)
    if figures.message:
        print(f"  {figures.message}")
    return 0


def _cmd_roles(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.warehouse.engine import make_engine
    from rko_model.warehouse.roles import RoleNames, set_up_roles

    engine = make_engine(args.url or settings.staging_url)
    names = set_up_roles(
        engine, settings.sql_dir, RoleNames(args.owner, args.scoring, args.reader, args.warehouse_schema)
    )
    print(
        f"roles set up in {engine.url.render_as_string(hide_password=True)}: owner {names.owner_role}, "
        f"scoring {names.scoring_role} (reads schema {names.warehouse_schema}), reader {names.reader_role}; "
        "grant them to logins, e.g. CREATE ROLE scoring_job LOGIN IN ROLE "
        f"{names.scoring_role} (docs/security.md)"
    )
    return 0


def _pilot_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    from dataclasses import replace

    return replace(settings, pilot_config_path=args.config) if args.config else settings


def _cmd_pilot_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.model.train import TrainParams
    from rko_model.pilot.simulate import Simulation, simulate

    settings = _pilot_settings(args, settings)
    sim = Simulation(
        n_clients=args.clients,
        history_months=args.history_months,
        pilot_months=args.months,
        seed=args.seed,
        history_end=args.history_end,
    )
    contacts = simulate(settings, sim, train=TrainParams(fixed_iterations=args.iterations), n_train=args.train_months)
    dates = sim.report_dates
    print(
        f"pilot {settings.pilot_config().name} simulated on {sim.n_clients:,d} clients: lists {dates[0]}..{dates[-1]}, "
        f"{len(contacts):,d} contacts written back; the bank runs to {sim.last_month}, so every window has closed: "
        "run `rko pilot report`"
    )
    return 0


def _cmd_pilot_report(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.errors import IncompleteDataError
    from rko_model.pilot.report import pilot_report, render_markdown

    settings = _pilot_settings(args, settings)
    months = [dt.date.fromisoformat(args.report_date)] if args.report_date else None
    report = pilot_report(settings, months)
    if not report.months:
        raise IncompleteDataError(
            "no pilot month to measure: no published list with arms whose 3-month window has closed and "
            "whose contacts are in marketing_contacts"
        )
    text = render_markdown(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        partial = args.out.with_name(args.out.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(args.out)
        print(f"pilot report of {len(report.months)} months -> {args.out} (stored in rko_monitoring.rko_pilot_results)")
    else:
        print(text)
    return 0


def _cmd_marts_build(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.stages.marts import build_months, plan_months
    from rko_model.warehouse.engine import make_engine

    engine = make_engine(settings.warehouse_url)
    months = plan_months(engine, settings, args.month, args.first, args.last)
    print(f"building the feature marts of {len(months)} month(s): {months[0]}..{months[-1]}", flush=True)
    built = build_months(engine, settings, months, progress=lambda line: print(line, flush=True))
    monthly, features = sum(b.monthly for b in built), sum(b.feature_clients is not None for b in built)
    seconds = sum(b.seconds + b.feature_seconds for b in built)
    print(f"done: {monthly} monthly and {features} features month(s) in {seconds:.1f} s")
    return 0


def _cmd_marts_status(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.stages.feature_source import built_months, feature_months
    from rko_model.stages.marts import months_between, raw_months
    from rko_model.warehouse.engine import make_engine

    engine = make_engine(settings.warehouse_url)
    first, last = raw_months(engine, settings)
    for name, built in (("marts", built_months(engine, settings)), ("features mart", feature_months(engine, settings))):
        missing = [m for m in months_between(first, last) if m not in set(built)]
        print(f"warehouse months {first}..{last}; {name} built for {len(built)} month(s)", end="")
        print(f" ({built[0]}..{built[-1]})" if built else "")
        if missing:
            print(f"  not built: {', '.join(m.isoformat() for m in missing)}")
    print(f"  snapshots read: {settings.feature_source} (RKO_FEATURE_SOURCE)")
    return 0


def _logical_date(report_date: dt.date) -> str:
    """The logical date of the scoring DAG run whose data interval is ``report_date``'s month."""
    return f"{report_date + dt.timedelta(days=1):%Y-%m-%d}T03:00:00+00:00"


def _cmd_logical_date(args: argparse.Namespace, settings: Settings) -> int:
    from rko_model.common.dates import parse_report_date
    from rko_model.warehouse.engine import make_engine

    report_date = parse_report_date(_resolve_date(args.report_date, make_engine(settings.warehouse_url), settings))
    print(_logical_date(report_date))
    return 0


def _cmd_airflow_env(args: argparse.Namespace, settings: Settings) -> int:
    """Shell exports that point a local Airflow at this checkout and at the settings' databases."""
    import json
    import shlex

    from rko_model.settings import PROJECT_ROOT

    home = Path(args.airflow_home) if args.airflow_home else settings.data_dir / "airflow"
    exports = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW_CONN_RKO_WAREHOUSE": json.dumps(
            {"conn_type": "generic", "extra": {"sqlalchemy_url": settings.warehouse_url}}
        ),
        "AIRFLOW_CONN_RKO_STAGING": json.dumps(
            {"conn_type": "generic", "extra": {"sqlalchemy_url": settings.staging_url}}
        ),
        "RKO_DATA_DIR": str(settings.data_dir),
        "RKO_WAREHOUSE_URL": settings.warehouse_url,
        "RKO_STAGING_URL": settings.staging_url,
        "GX_ANALYTICS_ENABLED": "false",
    }
    for key, value in exports.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _write_csv(frame: pd.DataFrame, out: Path) -> None:
    """Write through a temporary file and rename: a failed run never leaves half a CSV, nor the temporary file."""
    from rko_model.storage.atomic import partial_path

    with partial_path(out) as partial:
        frame.to_csv(partial, index=False, date_format="%Y-%m-%d")


class _Parser(argparse.ArgumentParser):
    """argparse with its errors in one line on stderr (exit 2), like every other error of the CLI."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _tolerance(text: str) -> float:
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be at least 0")
    return value


def _share(text: str) -> float:
    value = _finite_float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value} must be above 0 and at most 1")
    return value


def _partitions(text: str) -> int:
    from rko_model.common.partitions import MAX_PARTITIONS

    value = _positive_int(text)
    if value > MAX_PARTITIONS:
        raise argparse.ArgumentTypeError(f"{value} is more than {MAX_PARTITIONS} partitions")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rko", description="RKO propensity scoring for SMB clients.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic bank into the warehouse (replaces it)")
    gen.add_argument("--clients", type=_positive_int, default=20_000)
    gen.add_argument("--months", type=_positive_int, default=24)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument(
        "--last-month",
        type=dt.date.fromisoformat,
        default=dt.date(2026, 10, 31),
        help="last month end of the data (default 2026-10-31)",
    )
    gen.add_argument(
        "--partly-loaded",
        action="store_true",
        help="leave the last month partly loaded, as early in a month's load (see rko check)",
    )
    gen.set_defaults(func=_cmd_generate)

    chk = sub.add_parser(
        "check", help="check the data contract, the attribute history and a month's readiness, without scoring"
    )
    chk.add_argument("--report-date", default="latest", help="a month end or 'latest'")
    chk.set_defaults(func=_cmd_check)

    snap = sub.add_parser("snapshot", help="write the point-in-time snapshot of a report date to CSV")
    snap.add_argument("--report-date", required=True, help="a month end (YYYY-MM-DD) or 'latest'")
    snap.add_argument("--out", type=Path, required=True)
    snap.set_defaults(func=_cmd_snapshot)

    lab = sub.add_parser("labels", help="write the 3-month RKO labels of a report date to CSV")
    lab.add_argument("--report-date", required=True, help="a month end or 'latest' (latest labelled month)")
    lab.add_argument("--out", type=Path, required=True)
    lab.set_defaults(func=_cmd_labels)

    trn = sub.add_parser("train", help="retro-test the models, package the multimodal model, write the report")
    trn.add_argument(
        "--train-months",
        type=_positive_int,
        help=f"monthly snapshots stacked for training (default {D.TRAIN_MONTHS}, fewer when the warehouse "
        "is shorter; a number given here must fit the warehouse)",
    )
    trn.add_argument(
        "--test-months", type=_positive_int, default=D.TEST_MONTHS, help="later months for the out-of-time tests"
    )
    trn.add_argument(
        "--iterations", type=_positive_int, default=D.ITERATIONS, help="cap on trees (early stopping chooses)"
    )
    trn.add_argument("--learning-rate", type=_share, default=D.LEARNING_RATE)
    trn.add_argument("--depth", type=_positive_int, default=D.DEPTH)
    trn.add_argument("--l2-leaf-reg", type=float, default=D.L2_LEAF_REG)
    trn.add_argument(
        "--negative-share",
        type=_share,
        default=D.NEGATIVE_SHARE,
        help="share of non-openers kept for fitting, reweighted (default: all; lower it to save memory)",
    )
    trn.add_argument(
        "--validation",
        choices=("time", "random", "kfold"),
        default=D.VALIDATION,
        help="how the number of trees is chosen (default: the latest months held out)",
    )
    trn.add_argument(
        "--time-folds",
        type=_positive_int,
        default=D.TIME_FOLDS,
        help="purged time holdouts whose mean chooses the tree count (1: the latest block only)",
    )
    trn.add_argument("--no-ablation", action="store_true", help="skip the one-source-at-a-time ablation")
    trn.add_argument("--no-walk-forward", action="store_true", help="skip the walk-forward retraining comparison")
    trn.add_argument(
        "--package-retro-model",
        action="store_true",
        help="package the retro-tested model itself (for audit) instead of the recipe refit on the latest months",
    )
    trn.set_defaults(func=_cmd_train)

    rep = sub.add_parser("report", help="redraw a training run's HTML report from its stored results")
    rep.add_argument("--run", help="run id (default: the latest run)")
    rep.set_defaults(func=_cmd_report)

    pro = sub.add_parser("promote", help="promote a package to champion if it beats the current one")
    pro.add_argument("--version", help="package version (default: the latest package)")
    pro.add_argument("--tolerance", type=_tolerance, default=0.01, help="allowed increase of the monthly Gini std")
    pro.add_argument("--allow-refusal", action="store_true", help="exit 0 even when the rule refuses")
    pro.set_defaults(func=_cmd_promote)

    cha = sub.add_parser("champion", help="print the champion's version (exit 3 when there is none)")
    cha.set_defaults(func=_cmd_champion)

    sco = sub.add_parser("score", help="run the monthly scoring steps without Airflow and publish the list")
    sco.add_argument("--report-date", required=True, help="a month end or 'latest'")
    sco.add_argument("--run-id", help="run id recorded with the list (default: cli__<time>)")
    sco.add_argument(
        "--partitions", type=_partitions, default=1, help="split the month into N partitions (client id %% N)"
    )
    sco.add_argument(
        "--force",
        action="store_true",
        help="score a month that some source does not fully hold yet (recorded in the run metrics)",
    )
    sco.set_defaults(func=_cmd_score)

    top = sub.add_parser("top", help="print the head of a published ranked list")
    top.add_argument("--report-date", default="latest")
    top.add_argument("-n", type=_positive_int, default=10)
    top.set_defaults(func=_cmd_top)

    perf = sub.add_parser(
        "performance", help="compare a scored month's list with the RKO openings of its closed 3-month window"
    )
    perf.add_argument("--report-date", default="latest", help="a month end or 'latest' (latest labelled month)")
    perf.set_defaults(func=_cmd_performance)

    logical = sub.add_parser("logical-date", help="the scoring DAG's logical date for a report month")
    logical.add_argument("--report-date", default="latest")
    logical.set_defaults(func=_cmd_logical_date)

    marts = sub.add_parser("marts", help="the monthly feature marts the snapshots read")
    marts_sub = marts.add_subparsers(dest="marts_command", required=True)
    mbuild = marts_sub.add_parser(
        "build", help="build (or rebuild) months of the feature marts; each month replaced in one transaction"
    )
    mbuild.add_argument("--month", help="one month end (YYYY-MM-DD)")
    mbuild.add_argument("--from", dest="first", help="first month end of a range (default: the warehouse's first)")
    mbuild.add_argument("--to", dest="last", help="last month end of a range (default: the latest complete month)")
    mbuild.set_defaults(func=_cmd_marts_build)
    mstatus = marts_sub.add_parser("status", help="which months of the feature marts are built")
    mstatus.set_defaults(func=_cmd_marts_status)

    rol = sub.add_parser("roles", help="create or refresh the least-privilege PostgreSQL roles (as a superuser)")
    rol.add_argument("--url", help="the database holding mo_staging (default: the staging URL)")
    rol.add_argument("--warehouse-schema", default="public", help="schema of the contract tables (default public)")
    rol.add_argument("--owner", default="rko_owner", help="owner of the output schemas and publishing functions")
    rol.add_argument("--scoring", default="rko_scoring", help="the monthly job's role")
    rol.add_argument("--reader", default="rko_optimizer_reader", help="the marketing optimizer's role")
    rol.set_defaults(func=_cmd_roles)

    pilot = sub.add_parser("pilot", help="the pilot: simulate it on the synthetic bank, or report its realised effect")
    pilot_sub = pilot.add_subparsers(dest="pilot_command", required=True)
    sim = pilot_sub.add_parser(
        "simulate", help="play the optimizer for K months against a synthetic bank (replaces it)"
    )
    sim.add_argument("--months", type=int, required=True, help="pilot months K")
    sim.add_argument("--clients", type=int, default=20_000)
    sim.add_argument("--history-months", type=int, default=24, help="months of history before the pilot")
    sim.add_argument("--history-end", type=dt.date.fromisoformat, default=dt.date(2026, 10, 31))
    sim.add_argument("--seed", type=int, default=42)
    sim.add_argument(
        "--iterations",
        type=int,
        default=300,
        help="trees of the champion trained when there is none (fixed: too few months to early-stop on)",
    )
    sim.add_argument("--train-months", type=int, default=6, help="months stacked to train that champion")
    sim.add_argument("--config", type=Path, help="pilot configuration (default RKO_PILOT_CONFIG)")
    sim.set_defaults(func=_cmd_pilot_simulate)
    rep = pilot_sub.add_parser("report", help="measure the closed pilot months and store them in rko_monitoring")
    rep.add_argument("--report-date", help="one month (default: every closed pilot month)")
    rep.add_argument("--config", type=Path, help="pilot configuration (default RKO_PILOT_CONFIG)")
    rep.add_argument("--out", type=Path, help="write the Markdown report here instead of printing it")
    rep.set_defaults(func=_cmd_pilot_report)

    env = sub.add_parser("airflow-env", help="print shell exports wiring a local Airflow to these settings")
    env.add_argument("--airflow-home", help="default: <data>/airflow")
    env.set_defaults(func=_cmd_airflow_env)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logmask.install()
    try:
        settings = Settings.from_env()
        return int(args.func(args, settings))
    except Exception as exc:
        fault = describe(exc)
        if fault is None:  # a bug: its traceback is what a developer needs
            raise
        log.debug("rko %s failed", args.command, exc_info=True)
        again = " (temporary: try again later)" if fault.transient else ""
        print(f"rko {args.command}: error: {logmask.mask_inns(fault.message)}{again}", file=sys.stderr)
        return fault.exit_code


if __name__ == "__main__":
    sys.exit(main())
