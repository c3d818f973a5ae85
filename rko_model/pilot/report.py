"""``rko pilot report``: measure every closed pilot month, store it, and set it beside the truth and the retro estimate.

A month is measured once its 3-month window has closed in the warehouse and the optimizer's
contacts from its list are in ``marketing_contacts``. Its lines replace the month's rows in
``rko_monitoring.rko_pilot_results``. Beside the realised figures the report shows:

- **the retro estimate**: what the offline method says of the same months, the model's top
  against the rules' top of the same snapshot, read on the never-contacted control group
  (conversion uplift and cost saving at the pilot's volume), and the champion's retro
  figures from its training report;
- **the truth** (synthetic bank only): the generator's true expected increment of every
  contact made (``synthetic_contact_truth``), averaged over the contacted rows of each arm,
  and over each arm's first contacts (the rows of the first-contact lines of
  :mod:`rko_model.pilot.measure`, whose measurement has no attrition bias).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rko_model import columns as col
from rko_model.common.dates import add_months, parse_report_date
from rko_model.errors import IncompleteDataError, NotPublishedError
from rko_model.model.metrics import precision_at
from rko_model.pilot.config import CONTROL, MODEL, RULES, PilotConfig
from rko_model.pilot.measure import (
    FIRST,
    MODEL_VS_RULES,
    MODEL_VS_RULES_INCREMENT,
    PilotLine,
    contact_range,
    measure_month,
    pooled,
)
from rko_model.pilot.store import contact_truth, contacts_of_month, pilot_months, read_pilot_list, record_pilot_month
from rko_model.settings import Settings
from rko_model.stages.labels import extract_labels
from rko_model.stages.snapshot import data_end
from rko_model.warehouse.engine import make_engine
from rko_model.warehouse.staging import make_staging_engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PilotMonth:
    report_date: dt.date
    lines: list[PilotLine]
    truth: dict[str, float]
    retro: dict[str, float]
    #: Per contacted arm, the clients in its contact range this month (for the later months' first contacts).
    in_range: dict[str, set[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class PilotReport:
    config: PilotConfig
    months: list[PilotMonth]
    pooled: dict[str, dict[str, Any]] = field(default_factory=dict)
    truth: dict[str, float] = field(default_factory=dict)
    retro: dict[str, float] = field(default_factory=dict)
    champion_retro: dict[str, Any] = field(default_factory=dict)

    def lines_frame(self) -> pd.DataFrame:
        return pd.DataFrame([line.row() for m in self.months for line in m.lines])


def _armed_list(settings: Settings, report_date: dt.date) -> pd.DataFrame:
    listed = read_pilot_list(make_staging_engine(settings.staging_url), settings.sql_dir, report_date)
    if listed.empty or listed["arm"].isna().all():
        raise NotPublishedError(f"no list with arms for {report_date.isoformat()} in mo_staging.rko_propensity")
    return listed


def _labelled(settings: Settings, report_date: dt.date, listed: pd.DataFrame) -> pd.DataFrame:
    labels = extract_labels(make_engine(settings.warehouse_url), report_date, settings)
    return listed.merge(labels[[col.CLIENT_ID, col.TARGET]], on=col.CLIENT_ID, how="inner", validate="one_to_one")


def _ranges_before(settings: Settings, report_date: dt.date) -> dict[str, set[int]]:
    """Per contacted arm, the clients in its contact range in the pilot months before ``report_date``."""
    earlier: dict[str, set[int]] = {MODEL: set(), RULES: set()}
    warehouse = make_engine(settings.warehouse_url)
    for month in pilot_months(make_staging_engine(settings.staging_url), settings.sql_dir):
        if month >= report_date:
            continue
        contacts = contacts_of_month(warehouse, settings.sql_dir, month)
        if contacts is None or contacts.empty:
            continue
        for arm, ids in contact_range(_armed_list(settings, month), contacts).items():
            earlier[arm] |= ids
    return earlier


def _truth(
    truth: pd.DataFrame | None, contacts: pd.DataFrame, earlier: dict[str, set[int]] | None = None
) -> dict[str, float]:
    """The generator's true figures of the month's contacts, per arm (all and first contacts), model vs rules."""
    if truth is None or truth.empty:
        return {}
    merged = contacts.drop_duplicates(col.CLIENT_ID).merge(truth, on=col.CLIENT_ID, how="inner")
    out: dict[str, float] = {}
    for arm in (MODEL, RULES):
        rows = merged[merged["arm"] == arm]
        if rows.empty:
            continue
        out[f"{arm}_contacted"] = float(len(rows))
        out[f"{arm}_increment"] = float((rows["propensity_with"] - rows["propensity_without"]).mean())
        out[f"{arm}_conversion"] = float(rows["propensity_with"].mean())
        first = rows[~rows[col.CLIENT_ID].isin((earlier or {}).get(arm, set()))]
        if len(first):
            out[f"{FIRST[arm]}_contacted"] = float(len(first))
            out[f"{FIRST[arm]}_increment"] = float((first["propensity_with"] - first["propensity_without"]).mean())
    if {"model_conversion", "rules_conversion"} <= set(out):
        out["model_vs_rules"] = out["model_conversion"] - out["rules_conversion"]
        out["model_vs_rules_increment"] = out["model_increment"] - out["rules_increment"]
        out["conversion_uplift"] = out["model_conversion"] / out["rules_conversion"] - 1
        out["cost_saving"] = 1 - out["rules_conversion"] / out["model_conversion"]
    return out


def _retro(listed: pd.DataFrame, contacts: pd.DataFrame) -> dict[str, float]:
    """The offline estimate on the never-contacted control group: the model's top against the rules' top."""
    control = listed[listed["arm"] == CONTROL]
    contacted = listed[listed[col.CLIENT_ID].isin(contacts[col.CLIENT_ID]) & listed["arm"].isin([MODEL, RULES])]
    arms = listed["arm"].isin([MODEL, RULES]).sum()
    share = len(contacted) / arms if arms else 0.0
    if control.empty or share == 0 or control["rules_rank"].isna().all():
        return {}
    y = control[col.TARGET].to_numpy()
    model = precision_at(y, -control["rank"].to_numpy(dtype=float), share)
    rules = precision_at(y, -control["rules_rank"].to_numpy(dtype=float), share)
    return {
        "share": share,
        "model_conversion": model,
        "rules_conversion": rules,
        "conversion_uplift": model / rules - 1 if rules > 0 else math.nan,
        "cost_saving": 1 - rules / model if model > 0 else math.nan,
    }


def evaluate_pilot_month(
    settings: Settings, report_date: dt.date | str, earlier: dict[str, set[int]] | None = None
) -> PilotMonth:
    """Measure one closed month, store its lines in ``rko_monitoring.rko_pilot_results``, return it.

    ``earlier``: per contacted arm, the clients in its contact range in the pilot's earlier
    months (read from their lists and contacts when not given).
    """
    report_date = parse_report_date(report_date)
    config = settings.pilot_config()
    warehouse = make_engine(settings.warehouse_url)
    contacts = contacts_of_month(warehouse, settings.sql_dir, report_date)
    if contacts is None:
        raise IncompleteDataError(
            "the warehouse has no marketing_contacts table: the optimizer's contacts must be written back "
            "before a pilot can be measured (docs/data_contract.md)"
        )
    armed = _armed_list(settings, report_date)
    listed = _labelled(settings, report_date, armed)
    if earlier is None:
        earlier = _ranges_before(settings, report_date)
    lines = measure_month(report_date, listed, contacts, config, earlier)
    record_pilot_month(make_staging_engine(settings.staging_url), report_date, lines)
    month = PilotMonth(
        report_date,
        lines,
        _truth(contact_truth(warehouse, settings.sql_dir, report_date), contacts, earlier),
        _retro(listed, contacts),
        contact_range(armed, contacts),
    )
    model = next(line for line in lines if line.line == MODEL)
    log.info(
        "pilot %s: model arm %d contacted, increment %.4f [%.4f, %.4f] (%s)",
        report_date,
        model.contacted,
        model.increment,
        model.ci_low,
        model.ci_high,
        model.verdict,
    )
    return month


def closed_pilot_months(settings: Settings) -> list[dt.date]:
    """Months with an armed list whose window has closed in the warehouse."""
    end = data_end(make_engine(settings.warehouse_url), settings)
    if end is None:
        return []
    last = add_months(end, -col.LABEL_HORIZON_MONTHS)
    return [m for m in pilot_months(make_staging_engine(settings.staging_url), settings.sql_dir) if m <= last]


def _mean(values: list[dict[str, float]], key: str, weight: str | None = None) -> float:
    rows = [v for v in values if key in v and not math.isnan(v[key])]
    if not rows:
        return math.nan
    w = np.array([v.get(weight, 1.0) if weight else 1.0 for v in rows])
    return float(np.average([v[key] for v in rows], weights=w))


def pilot_report(settings: Settings, months: list[dt.date] | None = None) -> PilotReport:
    """Measure the given (default: every closed) pilot month and gather the report."""
    from rko_model.model.registry import Registry

    config = settings.pilot_config()
    months = months if months is not None else closed_pilot_months(settings)
    measured = []
    ordered = sorted(months)
    earlier = _ranges_before(settings, ordered[0]) if ordered else {}
    for month in ordered:
        contacts = contacts_of_month(make_engine(settings.warehouse_url), settings.sql_dir, month)
        if contacts is not None and contacts.empty:
            log.info("pilot %s: no contacts were made from this list; skipped", month)
            continue
        measured.append(evaluate_pilot_month(settings, month, earlier))
        earlier = {arm: earlier.get(arm, set()) | ids for arm, ids in measured[-1].in_range.items()}
    frame = pd.DataFrame([line.row() for m in measured for line in m.lines])
    pooled_lines = (
        {
            line: pooled(frame, line, config.target_increment)
            for line in (MODEL, RULES, FIRST[MODEL], FIRST[RULES], MODEL_VS_RULES, MODEL_VS_RULES_INCREMENT)
        }
        if not frame.empty
        else {}
    )
    truths = [m.truth for m in measured]
    truth = {
        key: _mean(truths, key, weight)
        for key, weight in (
            ("model_increment", "model_contacted"),
            ("rules_increment", "rules_contacted"),
            ("model_first_increment", "model_first_contacted"),
            ("rules_first_increment", "rules_first_contacted"),
            ("model_conversion", "model_contacted"),
            ("rules_conversion", "rules_contacted"),
            ("model_vs_rules", None),
            ("model_vs_rules_increment", None),
        )
    }
    if not math.isnan(truth["model_conversion"]) and not math.isnan(truth["rules_conversion"]):
        truth["conversion_uplift"] = truth["model_conversion"] / truth["rules_conversion"] - 1
        truth["cost_saving"] = 1 - truth["rules_conversion"] / truth["model_conversion"]
    retros = [m.retro for m in measured]
    retro = {k: _mean(retros, k) for k in ("model_conversion", "rules_conversion")}
    if retro["rules_conversion"] and not math.isnan(retro["rules_conversion"]):
        retro["conversion_uplift"] = retro["model_conversion"] / retro["rules_conversion"] - 1
        retro["cost_saving"] = 1 - retro["rules_conversion"] / retro["model_conversion"]
    champion: dict[str, Any] = {}
    registry = Registry.of(settings)
    version = registry.champion_version()
    if version is not None:
        manifest = registry.load(version).manifest
        champion = {
            "version": version,
            **{
                k: manifest.get("retro", {}).get(k) for k in ("conversion_uplift_mean", "cost_saving_mean", "gini_mean")
            },
        }
    return PilotReport(config, measured, pooled_lines, truth, retro, champion)


def _pct(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * value:+.{digits}f}%" if digits >= 0 else f"{100 * value:.0f}%"


def _pp(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * value:+.2f} pp"


def _interval(low: Any, high: Any) -> str:
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "–"
    return f"[{100 * low:+.2f}, {100 * high:+.2f}] pp"


def _money(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.0f} ₽"


def render_markdown(report: PilotReport) -> str:
    """The report as Markdown: per month and arm, pooled, and realised beside retro and truth."""
    c = report.config
    out = [
        f"# Pilot {c.name}: realised incremental conversion",
        "",
        f"Arms: model {c.model_share:.0%}, rules {c.rules_share:.0%}, control {c.control_share:.0%} "
        f"(salt `{c.salt}`); the optimizer contacts {c.contact_share:.0%} of each contacted arm "
        f"({c.manager_share:.0%} of them by client managers at {_money(c.cost('manager'))}, the rest by banner at "
        f"{_money(c.cost('banner'))}). Increments are 3-month conversions of the contacted rows over the control "
        "rows of the same ranks, with 95% intervals (Newcombe); an interval that holds zero is *inconclusive*.",
        "",
        "## Per month",
        "",
        "| month | line | eligible | contacted | openings | conversion | increment | 95% interval | verdict "
        "| cost per incremental opening | MDE | months needed |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for month in report.months:
        for line in month.lines:
            conv = line.contacted_conversion if not math.isnan(line.contacted_conversion) else line.conversion
            cells = (
                str(line.report_date),
                line.line,
                f"{line.eligible:,d}",
                f"{line.contacted:,d}",
                f"{line.openings:,d}",
                "–" if math.isnan(conv) else f"{100 * conv:.2f}%",
                _pp(line.increment),
                _interval(line.ci_low, line.ci_high),
                line.verdict,
                _money(line.cost_per_incremental_opening),
                _pp(line.mde),
                "–" if math.isnan(line.months_needed) else f"{line.months_needed:.0f}",
            )
            out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "## Pooled over the months",
        "",
        "| line | months | contacted | increment | 95% interval | verdict | MDE | months needed |",
        "|---|---:|---:|---:|---|---|---:|---:|",
    ]
    for name, p in report.pooled.items():
        if not p.get("months"):
            continue
        cells = (
            name,
            str(p["months"]),
            f"{p['contacted']:,d}",
            _pp(p["increment"]),
            _interval(p["ci_low"], p["ci_high"]),
            p["verdict"],
            _pp(p["mde"]),
            f"{p['months_needed']:.0f}",
        )
        out.append("| " + " | ".join(cells) + " |")
    model = report.pooled.get(MODEL, {})
    rules = report.pooled.get(RULES, {})
    mvr = report.pooled.get(MODEL_VS_RULES, {})
    frame = report.lines_frame()
    realised_uplift = realised_saving = math.nan
    if not frame.empty:
        vs = frame[frame["line"] == MODEL_VS_RULES]
        m_rows, r_rows = frame[frame["line"] == MODEL], frame[frame["line"] == RULES]
        if len(vs) and m_rows["contacted"].sum() and r_rows["contacted"].sum():
            pm = m_rows["contacted_openings"].sum() / m_rows["contacted"].sum()
            pr = r_rows["contacted_openings"].sum() / r_rows["contacted"].sum()
            realised_uplift = pm / pr - 1 if pr else math.nan
            realised_saving = 1 - pr / pm if pm else math.nan
    t, r, ch = report.truth, report.retro, report.champion_retro
    nan = math.nan

    def realised(p: dict[str, Any]) -> str:
        return f"{_pp(p.get('increment'))} {_interval(p.get('ci_low', nan), p.get('ci_high', nan))}"

    retro_gap = r.get("model_conversion", nan) - r.get("rules_conversion", nan)
    champion_uplift = f"(champion's retro: {_pct(ch.get('conversion_uplift_mean'))})"
    champion_saving = f"(champion's retro: {_pct(ch.get('cost_saving_mean'))})"
    rows = (
        ("incremental conversion, model arm", realised(model), "not estimable offline", _pp(t.get("model_increment"))),
        ("incremental conversion, rules arm", realised(rules), "not estimable offline", _pp(t.get("rules_increment"))),
        (
            "incremental conversion, model arm's first contacts",
            realised(report.pooled.get(FIRST[MODEL], {})),
            "not estimable offline",
            _pp(t.get("model_first_increment")),
        ),
        (
            "incremental conversion, rules arm's first contacts",
            realised(report.pooled.get(FIRST[RULES], {})),
            "not estimable offline",
            _pp(t.get("rules_first_increment")),
        ),
        ("conversion of contacts, model − rules", realised(mvr), _pp(retro_gap), _pp(t.get("model_vs_rules"))),
        (
            "conversion uplift, model over rules",
            _pct(realised_uplift),
            f"{_pct(r.get('conversion_uplift'))} {champion_uplift}",
            _pct(t.get("conversion_uplift")),
        ),
        (
            "cost saving, model over rules",
            _pct(realised_saving),
            f"{_pct(r.get('cost_saving'))} {champion_saving}",
            _pct(t.get("cost_saving")),
        ),
    )
    out += [
        "",
        "## Realised, retro estimate and truth",
        "",
        "| figure | realised | retro estimate | truth (generator) |",
        "|---|---:|---:|---:|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        "Retro estimate: the model's top against the rules' top at the pilot's volume, read on the never-contacted "
        "control group of the same months (what an offline test can say: conversion without contact); the champion's "
        "retro figures come from its training report (top 10%, retro months). Truth: the generator's expected "
        "3-month propensity of each contacted client with and without its contacts.",
        "",
        "First contacts: the contacted rows never in their arm's contact range in an earlier pilot month, against "
        "the control rows of the same ranks never in it either. From the second month on, the whole arm's increment "
        "is biased low: the clients a contact persuaded have opened and left the arm's list, while their control "
        "twins stay in the control's. The first-contact line has no such bias; it is the one to read against the "
        "truth.",
    ]
    return "\n".join(out) + "\n"
