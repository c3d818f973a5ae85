"""``rko pilot simulate``: the marketing optimizer played against the synthetic bank for K months.

The bank spans its history, the K pilot months and the 3 months that close the last window.
Month by month the bank is generated again with the same seed and every contact made so far,
so everything before a contact is identical and the bank's later months answer the contacts.
Accounts, payments and digital activity follow the clients' traits, not their RKO or the
contacts, so they are written once, whole (every snapshot reads only rows dated up to its
report date); the tables a contact changes (product events, the truths, the contacts) are
rewritten each month with nothing dated after the month being scored. Each pilot month:

1. score and publish the list with arms (:func:`rko_model.runs.monthly.run_month`);
2. contact the top of the model arm by model rank and the top of the rules arm by rules rank,
   at equal volume, the best ranks by a client manager and the rest by banner; the control
   group is never contacted;
3. write the contacts back (``marketing_contacts``, dated in the month after the list).

Finally the whole bank is written, so every pilot month's window has closed: ``rko pilot
report`` measures it. The old rules process contacts the bank's history and stops 3 months
before the pilot (a wash-out, so no old contact acts inside a pilot month's window).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Index, MetaData
from sqlalchemy.engine import Engine

from rko_model import columns as col
from rko_model.common.dates import add_months
from rko_model.errors import InvalidInputError
from rko_model.model.registry import Registry
from rko_model.model.train import TrainParams
from rko_model.pilot.config import BANNER, CONTROL, MANAGER, MODEL, RULES, PilotConfig
from rko_model.pilot.store import read_pilot_list
from rko_model.runs.monthly import run_month
from rko_model.settings import Settings
from rko_model.synth.contacts import CONTACT_DATE, ContactEffects, ContactPlan
from rko_model.synth.generator import generate
from rko_model.synth.spec import DEFAULT_LAST_MONTH, BankSpec, Effects
from rko_model.warehouse import schema
from rko_model.warehouse.backends import backend_for
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.bulk import bulk_insert
from rko_model.warehouse.engine import make_engine
from rko_model.warehouse.staging import make_staging_engine

log = logging.getLogger(__name__)

CONTACT_COLUMNS = (col.CLIENT_ID, CONTACT_DATE, "channel", "campaign_id", "arm")
#: The tables a contact can change: RKO openings (and the other products' openings drawn after them in
#: the month's random stream), the truths and the contacts themselves.
CONTACT_DEPENDENT = ("product_events", "synthetic_truth", "synthetic_contact_truth", "marketing_contacts")


@dataclass(frozen=True)
class Simulation:
    """A simulated pilot: the bank, the history, the pilot months and how the bank answers contacts."""

    n_clients: int
    history_months: int
    pilot_months: int
    seed: int = 42
    history_end: dt.date = DEFAULT_LAST_MONTH
    effects: ContactEffects = field(default_factory=ContactEffects)
    bank_effects: Effects = field(default_factory=Effects)

    def __post_init__(self) -> None:
        if self.pilot_months < 1:
            raise InvalidInputError(f"--months must be at least 1, got {self.pilot_months}")
        if self.history_months < 8:
            raise InvalidInputError(
                f"--history-months must be at least 8 to train and score, got {self.history_months}"
            )

    @property
    def last_month(self) -> dt.date:
        return add_months(self.history_end, self.pilot_months - 1 + col.LABEL_HORIZON_MONTHS)

    @property
    def bank(self) -> BankSpec:
        months = self.history_months + self.pilot_months - 1 + col.LABEL_HORIZON_MONTHS
        return BankSpec(n_clients=self.n_clients, n_months=months, seed=self.seed, last_month=self.last_month)

    @property
    def report_dates(self) -> list[dt.date]:
        return [add_months(self.history_end, k) for k in range(self.pilot_months)]

    def plan(self, contacts: pd.DataFrame) -> ContactPlan:
        legacy_until = add_months(self.history_end, -(col.LABEL_HORIZON_MONTHS - 1))
        return ContactPlan(effects=self.effects, injected=contacts, legacy_until=legacy_until)


def visible(chunks: Iterable[tuple[str, pd.DataFrame]], cut: dt.date) -> Iterator[tuple[str, pd.DataFrame]]:
    """The bank as the warehouse sees it at the end of ``cut``'s month: nothing dated later."""
    stamp = pd.Timestamp(cut)
    by_date = {
        "account_monthly": "month_end",
        "digital_activity": "month_end",
        "synthetic_truth": "month_end",
        "synthetic_hazard": "month_end",
        "synthetic_contact_truth": "month_end",
        "payments": "payment_date",
        "marketing_contacts": CONTACT_DATE,
    }
    for name, frame in chunks:
        if name in by_date:
            frame = frame[pd.to_datetime(frame[by_date[name]]) <= stamp]
        elif name == "clients":
            frame = frame[pd.to_datetime(frame["registration_date"]) <= stamp].copy()
            frame.loc[pd.to_datetime(frame["liquidation_date"]) > stamp, "liquidation_date"] = pd.NaT
        elif name == "product_events":
            frame = frame[pd.to_datetime(frame["open_date"]) <= stamp].copy()
            frame.loc[pd.to_datetime(frame["close_date"]) > stamp, "close_date"] = pd.NaT
        elif name == "client_attributes":  # the history as recorded by then: a later change is not known yet
            frame = frame[pd.to_datetime(frame["valid_from"]) <= stamp].copy()
            frame.loc[pd.to_datetime(frame["valid_to"]) > stamp, "valid_to"] = pd.NaT
        yield name, frame


def choose_contacts(listed: pd.DataFrame, config: PilotConfig, report_date: dt.date) -> pd.DataFrame:
    """The optimizer: the top of the model arm by rank and of the rules arm by rules rank, at equal volume.

    The volume is ``contact_share`` of the smaller contacted arm; the best ``manager_share``
    of each arm's contacts go to client managers, the rest get a banner. Rows flagged do not
    contact are never chosen.
    """
    allowed = listed[listed["do_not_contact"].fillna(0) == 0]
    sizes = [int((allowed["arm"] == arm).sum()) for arm in (MODEL, RULES)]
    present = [s for s in sizes if s > 0]
    volume = round(config.contact_share * min(present)) if present else 0
    frames = []
    for arm, rank in ((MODEL, "rank"), (RULES, "rules_rank")):
        rows = allowed[allowed["arm"] == arm].sort_values([rank, col.CLIENT_ID]).head(volume)
        if rows.empty:
            continue
        managers = round(config.manager_share * len(rows))
        channel = np.where(np.arange(len(rows)) < managers, MANAGER, BANNER)
        ids = rows[col.CLIENT_ID].to_numpy(dtype=np.int64)
        day = pd.Timestamp(report_date) + pd.to_timedelta(1 + ids % 10, unit="D")
        frames.append(
            pd.DataFrame(
                {
                    col.CLIENT_ID: ids,
                    CONTACT_DATE: day.astype("datetime64[s]"),
                    "channel": channel,
                    "campaign_id": f"{config.name}_{report_date:%Y%m}",
                    "arm": arm,
                }
            )
        )
    chosen = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(CONTACT_COLUMNS))
    assert not chosen["arm"].eq(CONTROL).any()
    return chosen


def replace_tables(engine: Engine, chunks: Iterable[tuple[str, pd.DataFrame]], names: tuple[str, ...]) -> int:
    """Replace the synthetic bank's tables ``names`` with ``chunks`` in one transaction (the rest stay)."""
    tables = [schema.metadata.tables[n] for n in names]
    rows = 0
    with engine.begin() as conn:
        schema.metadata.drop_all(conn, tables=tables)
        schema.metadata.create_all(conn, tables=tables)
        for name, frame in chunks:
            if name in names:
                rows += bulk_insert(conn, schema.metadata.tables[name], frame)
        for spec in schema.INDEXES:
            if spec.table.name in names:
                detached = spec.table.to_metadata(MetaData())
                index = Index(spec.name, *(detached.c[c] for c in spec.columns), unique=spec.unique)
                index.create(conn, checkfirst=True)
    backend_for(engine).refresh_statistics(engine, tables)
    return rows


def _write(settings: Settings, sim: Simulation, contacts: pd.DataFrame, cut: dt.date, *, whole: bool) -> None:
    """The bank with ``contacts`` injected: every table (``whole``) or the contact-dependent ones up to ``cut``."""
    started = time.perf_counter()
    chunks = generate(sim.bank, sim.bank_effects, sim.plan(contacts))
    engine = make_engine(settings.warehouse_url)
    if whole:
        write_bank(engine, chunks)
    else:
        replace_tables(engine, visible(chunks, cut), CONTACT_DEPENDENT)
    log.info(
        "pilot simulation: bank %s up to %s (%d contacts so far, %.1f s)",
        "written" if whole else "answered",
        cut,
        len(contacts),
        time.perf_counter() - started,
    )


def _ensure_champion(settings: Settings, train: TrainParams, n_train: int, n_test: int, as_of: dt.date) -> str:
    registry = Registry.of(settings)
    version = registry.champion_version()
    if version is not None:
        return version
    from rko_model.runs.training import train_and_report

    log.info("pilot simulation: no champion yet; training one on the history")
    run = train_and_report(  # a champion to score with: no ablation, no cadence comparison (walk-forward)
        make_engine(settings.warehouse_url),
        settings,
        n_train=n_train,
        n_test=n_test,
        params=train,
        ablation=False,
        walk_forward=False,
        as_of=as_of,  # the bank's later months are written, but their openings are not known yet
    )
    registry.promote(run.run_id)
    return registry.required_champion_version()


def simulate(
    settings: Settings,
    sim: Simulation,
    *,
    train: TrainParams | None = None,
    n_train: int = 6,
    n_test: int = 1,
) -> pd.DataFrame:
    """Play the pilot; returns every contact the optimizer made (also in ``marketing_contacts``)."""
    config = settings.pilot_config()
    if config.rules_share == 0:
        log.warning("pilot %s has no rules arm (rules_share 0): only the model arm is contacted", config.name)
    contacts = pd.DataFrame(columns=list(CONTACT_COLUMNS))
    staging = make_staging_engine(settings.staging_url)
    _write(settings, sim, contacts, sim.last_month, whole=True)
    for k, report_date in enumerate(sim.report_dates):
        _write(settings, sim, contacts, report_date, whole=False)
        if k == 0:
            version = _ensure_champion(
                settings, train or TrainParams(fixed_iterations=200), n_train, n_test, report_date
            )
            log.info("pilot simulation: champion %s scores the pilot", version)
        run_month(settings, report_date, f"pilot__{config.name}__{report_date:%Y%m%d}")
        listed = read_pilot_list(staging, settings.sql_dir, report_date)
        chosen = choose_contacts(listed, config, report_date)
        contacts = pd.concat([contacts, chosen], ignore_index=True) if len(contacts) else chosen
        log.info(
            "pilot simulation: %s (%d/%d): %d listed, %d contacted (%s)",
            report_date,
            k + 1,
            len(sim.report_dates),
            len(listed),
            len(chosen),
            chosen["arm"].value_counts().to_dict(),
        )
    _write(settings, sim, contacts, sim.last_month, whole=False)
    return contacts
