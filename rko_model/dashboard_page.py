"""The monitoring page as one self-contained HTML document (inline CSS and SVG, no scripts).

Rendering is pure: :func:`render_page` takes a :class:`~rko_model.dashboard.MonitoringView`
and returns text, so the Airflow plugin only serves it and tests read it directly.
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

import pandas as pd

from rko_model.dashboard import MonitoringView
from rko_model.svgchart import IntervalSeries, RefLine, bar_chart, interval_chart, line_chart

OK_COLOR, WARN_COLOR, BAD_COLOR = "#15803d", "#b45309", "#b91c1c"

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; padding: 20px 24px;
       color: #111827; background: #f9fafb; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; }
.sub { color: #4b5563; font-size: 13px; margin-bottom: 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card .k { font-size: 12px; color: #6b7280; } .card .v { font-size: 20px; font-weight: 600; margin-top: 2px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
.chart { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; max-width: 100%; height: auto; }
.chart-title { font-size: 13px; font-weight: 600; fill: #111827; }
.tick { font-size: 10px; fill: #6b7280; } .grid { stroke: #f1f5f9; } .axis { stroke: #9ca3af; }
.ref-label { font-size: 10px; } .empty { font-size: 13px; fill: #9ca3af; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid #e5e7eb; padding: 4px 8px; text-align: right; white-space: nowrap; }
th { background: #f3f4f6; white-space: normal; vertical-align: bottom; } td.l, th.l { text-align: left; }
.wide { overflow-x: auto; }
.ok { color: #15803d; } .warn { color: #b45309; font-weight: 600; } .bad { color: #b91c1c; font-weight: 600; }
.muted { color: #9ca3af; } dl { display: grid; grid-template-columns: max-content auto; gap: 4px 16px; margin: 0; }
dt { color: #6b7280; } dd { margin: 0; font-family: ui-monospace, monospace; font-size: 13px; }
pre { background: #fff; border: 1px solid #e5e7eb; padding: 10px; overflow: auto; max-height: 420px; font-size: 12px; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
"""


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _num(value: Any, fmt: str = "{:.3f}") -> str:
    return '<span class="muted">–</span>' if _missing(value) else escape(fmt.format(float(value)))


def _values(frame: pd.DataFrame, column: str) -> list[float | None]:
    return [None if _missing(v) else float(v) for v in frame[column]]


def month_label(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m")


def _psi_class(value: Any, view: MonitoringView) -> str:
    if _missing(value):
        return ""
    return "bad" if float(value) > view.psi_alert else "warn" if float(value) >= view.psi_warn else "ok"


def _validation(row: pd.Series) -> str:
    if _missing(row["validation_success"]):
        return '<span class="muted">–</span>'
    warnings = 0 if _missing(row["validation_warnings"]) else int(row["validation_warnings"])
    if int(row["validation_success"]) == 1:
        extra = f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""
        return f'<span class="ok">passed{extra}</span>'
    critical = 0 if _missing(row["validation_critical"]) else int(row["validation_critical"])
    return f'<span class="bad">failed: {critical} critical</span>'


def _verdict(row: pd.Series) -> str:
    status = row["performance_status"]
    if _missing(status):
        pending = str(row["run_status"]) == "published"
        title = "its 3-month window is open, or rko_performance_monitoring has not run for it yet"
        return f'<span class="muted" title="{title}">pending</span>' if pending else '<span class="muted">–</span>'
    css = {"ok": "ok", "warning": "warn", "alert": "bad"}.get(str(status), "")
    message = "" if _missing(row["performance_message"]) else str(row["performance_message"])
    return f'<span class="{css}" title="{escape(message)}">{escape(str(status))}</span>'


def _table(view: MonitoringView) -> str:
    head = (
        "<tr><th class='l'>month</th><th>runs</th><th class='l'>latest run</th><th class='l'>model</th>"
        "<th>rows scored</th><th class='l'>validation</th><th>score PSI</th><th>max feature PSI</th>"
        "<th>realised Gini</th><th>top-decile lift</th><th>top-10% conversion</th><th>openings</th>"
        "<th class='l'>verdict</th></tr>"
    )
    rows = []
    for _, row in view.months.sort_values("report_date", ascending=False).iterrows():
        gini_css = "" if _missing(row["gini"]) else "bad" if float(row["gini"]) < view.gini_floor else "ok"
        rows.append(
            "<tr>"
            f"<td class='l'>{month_label(row['report_date'])}</td>"
            f"<td>{_num(row['runs'], '{:.0f}')}</td>"
            f"<td class='l'>{escape('' if _missing(row['run_status']) else str(row['run_status']))}</td>"
            f"<td class='l'>{escape('' if _missing(row['model_version']) else str(row['model_version']))}</td>"
            f"<td>{_num(row['rows_scored'], '{:,.0f}')}</td>"
            f"<td class='l'>{_validation(row)}</td>"
            f"<td class='{_psi_class(row['score_psi'], view)}'>{_num(row['score_psi'])}</td>"
            f"<td>{_num(row['feature_psi_max'])}</td>"
            f"<td class='{gini_css}'>{_num(row['gini'])}</td>"
            f"<td>{_num(row['lift_top_decile'], '{:.2f}')}</td>"
            f"<td>{_num(row['conversion_top10'], '{:.2%}')}</td>"
            f"<td>{_num(row['positives'], '{:,.0f}')}</td>"
            f"<td class='l'>{_verdict(row)}</td>"
            "</tr>"
        )
    return f"<div class='wide'><table class='months'>{head}{''.join(rows)}</table></div>"


def _charts(view: MonitoringView) -> str:
    months = view.months
    labels = [month_label(d) for d in months["report_date"]]
    failed = [not _missing(v) and int(v) == 0 for v in months["validation_success"]]
    retro = (view.champion_manifest or {}).get("retro", {}).get("gini_mean")
    gini_refs = [RefLine(view.gini_floor, f"floor {view.gini_floor:.2f}", BAD_COLOR)]
    if retro is not None:
        gini_refs.append(RefLine(float(retro), f"champion retro mean {float(retro):.2f}", "#6b7280"))
    charts = [
        bar_chart(
            "Rows scored per month (red: snapshot rows refused by validation)",
            labels,
            [
                s if not f else r
                for s, r, f in zip(
                    _values(months, "rows_scored"), _values(months, "rows_snapshot"), failed, strict=True
                )
            ],
            colors=[BAD_COLOR if f else "#1d4ed8" for f in failed],
            css_class="rows-scored",
        ),
        line_chart(
            "Score PSI against the champion's reference",
            labels,
            _values(months, "score_psi"),
            refs=[
                RefLine(view.psi_warn, f"warn {view.psi_warn:.2f}", WARN_COLOR),
                RefLine(view.psi_alert, f"alert {view.psi_alert:.2f}", BAD_COLOR),
            ],
            fmt=lambda v: f"{v:.3f}",
            css_class="score-psi",
        ),
        line_chart(
            "Realised Gini (3-month window closed)",
            labels,
            _values(months, "gini"),
            refs=gini_refs,
            color=OK_COLOR,
            css_class="realised-gini",
        ),
        line_chart(
            "Realised top-decile lift",
            labels,
            _values(months, "lift_top_decile"),
            refs=[RefLine(1.0, "random 1.0", "#6b7280")],
            color="#7c3aed",
            css_class="lift",
        ),
    ]
    legend = (
        "<div class='legend'><span><i class='swatch' style='background:#1d4ed8'></i>validation passed</span>"
        f"<span><i class='swatch' style='background:{BAD_COLOR}'></i>validation failed (nothing published)</span></div>"
    )
    return f"{legend}<div class='charts'>{''.join(charts)}</div>"


def _cards(view: MonitoringView) -> str:
    months = view.months
    scored = months[months["rows_scored"].notna()] if not months.empty else months
    evaluated = months[months["gini"].notna()] if not months.empty else months
    cards = [("months recorded", f"{len(months)}")]
    if not scored.empty:
        last = scored.iloc[-1]
        cards.append((f"rows scored, {month_label(last['report_date'])}", f"{float(last['rows_scored']):,.0f}"))
        cards.append((f"score PSI, {month_label(last['report_date'])}", _num(last["score_psi"])))
    if not evaluated.empty:
        last = evaluated.iloc[-1]
        cards.append((f"realised Gini, {month_label(last['report_date'])}", _num(last["gini"])))
        cards.append((f"top-decile lift, {month_label(last['report_date'])}", _num(last["lift_top_decile"], "{:.2f}")))
    cards.append(("champion", escape(view.champion_version or "none")))
    return (
        "<div class='cards'>"
        + "".join(f"<div class='card'><div class='k'>{escape(k)}</div><div class='v'>{v}</div></div>" for k, v in cards)
        + "</div>"
    )


def _champion(view: MonitoringView) -> str:
    if view.champion_manifest is None:
        return f"<p class='bad'>{escape(view.champion_problem or 'no champion')}</p>"
    m = view.champion_manifest
    retro = m.get("retro", {})
    months = m.get("training_months", [])
    spec = m.get("feature_spec", {})
    n_features = sum(len(spec.get(k, [])) for k in ("numeric", "categorical", "text"))
    facts = [
        ("version", m.get("version")),
        ("created at", m.get("created_at")),
        ("training months", f"{months[0]} … {months[-1]} ({len(months)})" if months else "–"),
        ("retro test months", ", ".join(retro.get("test_months", [])) or "–"),
        (
            "retro Gini",
            f"mean {retro['gini_mean']:.3f}, std {retro.get('gini_std', float('nan')):.3f}"
            if "gini_mean" in retro
            else "–",
        ),
        (
            "features",
            f"{n_features} ({', '.join(f'{len(spec.get(k, []))} {k}' for k in ('numeric', 'categorical', 'text'))})",
        ),
        ("best iteration", m.get("best_iteration")),
        ("parameters", json.dumps(m.get("params", {}), ensure_ascii=False)),
        ("libraries", ", ".join(f"{k} {v}" for k, v in m.get("libraries", {}).items())),
        ("training data fingerprint", m.get("data_fingerprint")),
        ("model sha256 (verified)", m.get("model_sha256")),
    ]
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in facts)
    full = escape(json.dumps(m, indent=2, ensure_ascii=False))
    return f"<dl class='manifest'>{rows}</dl><details><summary>full manifest.json</summary><pre>{full}</pre></details>"


_PILOT_LINES = (("model", "#1d4ed8"), ("rules", "#b45309"))


def _pilot(view: MonitoringView) -> str:
    """The pilot: realised incremental conversion of the contacted arms over control, per month, and the table."""
    pilot = view.pilot
    if pilot is None or pilot.empty:
        return (
            "<p class='muted'>No pilot month measured yet: the list carries arms, and once a month's window has "
            "closed and its contacts are in marketing_contacts, <code>rko_performance_monitoring</code> or "
            "<code>rko pilot report</code> measures it.</p>"
        )
    months = sorted(pilot["report_date"].unique())
    labels = [month_label(d) for d in months]
    series = []
    for line, color in _PILOT_LINES:
        rows = pilot[pilot["line"] == line].set_index("report_date").reindex(months)
        series.append(
            IntervalSeries(line, _values(rows, "increment"), _values(rows, "ci_low"), _values(rows, "ci_high"), color)
        )
    chart = interval_chart(
        "Incremental 3-month conversion of contacts over control, 95% interval",
        labels,
        series,
        refs=[RefLine(0.0, "no effect", "#6b7280")],
        fmt=lambda v: f"{100 * v:+.2f} pp",
        css_class="pilot-increment",
    )
    head = (
        "<tr><th class='l'>month</th><th class='l'>line</th><th>eligible</th><th>contacted</th><th>openings</th>"
        "<th>conversion</th><th>increment</th><th class='l'>95% interval</th><th class='l'>verdict</th>"
        "<th>cost per incremental opening</th><th>MDE</th><th>months needed</th></tr>"
    )
    rows = []
    for _, row in pilot.sort_values(["report_date", "line"], ascending=[False, True]).iterrows():
        conversion = row["contacted_conversion"] if not _missing(row["contacted_conversion"]) else row["conversion"]
        interval = (
            "–"
            if _missing(row["ci_low"])
            else f"[{100 * float(row['ci_low']):+.2f}, {100 * float(row['ci_high']):+.2f}] pp"
        )
        verdict = str(row["verdict"])
        css = "ok" if verdict == "positive" else "bad" if verdict == "negative" else "muted"
        rows.append(
            "<tr>"
            f"<td class='l'>{month_label(row['report_date'])}</td><td class='l'>{escape(str(row['line']))}</td>"
            f"<td>{_num(row['eligible'], '{:,.0f}')}</td><td>{_num(row['contacted'], '{:,.0f}')}</td>"
            f"<td>{_num(row['openings'], '{:,.0f}')}</td><td>{_num(conversion, '{:.2%}')}</td>"
            f"<td>{_num(None if _missing(row['increment']) else 100 * float(row['increment']), '{:+.2f} pp')}</td>"
            f"<td class='l'>{interval}</td><td class='l {css}'>{escape(verdict)}</td>"
            f"<td>{_num(row['cost_per_incremental_opening'], '{:,.0f} ₽')}</td>"
            f"<td>{_num(None if _missing(row['mde']) else 100 * float(row['mde']), '{:.2f} pp')}</td>"
            f"<td>{_num(row['months_needed'], '{:.0f}')}</td>"
            "</tr>"
        )
    note = (
        "<p class='muted'>An interval that holds zero is <b>inconclusive</b>: not a success. The increment compares "
        "the contacted rows of an arm with the control rows of the same ranks (never contacted).</p>"
    )
    table = f"<div class='wide'><table class='pilot'>{head}{''.join(rows)}</table></div>"
    return f"<div class='charts'>{chart}</div>{note}{table}"


def render_page(view: MonitoringView) -> str:
    """The whole page."""
    thresholds = (
        f"Gini floor {view.gini_floor:.2f} · score PSI warning from {view.psi_warn:.2f}, alert above "
        f"{view.psi_alert:.2f} · read {view.read_at:%Y-%m-%d %H:%M} UTC"
    )
    body = (
        "<p class='muted'>No scoring run recorded yet: run <code>rko_monthly_scoring</code>.</p>"
        if view.months.empty
        else _charts(view) + "<h2>Month by month</h2>" + _table(view)
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>RKO monitoring</title><style>{CSS}</style></head><body>"
        "<h1>RKO propensity: monitoring</h1>"
        f"<div class='sub'>Monthly scoring runs (rko_monitoring.rko_run_metrics) and realised performance once a "
        f"month's 3-month window has closed (rko_monitoring.rko_realised_performance). {escape(thresholds)}</div>"
        f"{_cards(view)}<h2>Trends</h2>{body}<h2>Pilot</h2>{_pilot(view)}"
        f"<h2>Champion model</h2>{_champion(view)}</body></html>"
    )
