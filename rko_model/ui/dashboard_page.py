"""The monitoring page as one self-contained HTML document (inline CSS and SVG, no scripts).

Rendering is pure: :func:`render_page` takes a :class:`~rko_model.ui.dashboard.MonitoringView`
and returns text, so the Airflow plugin only serves it and tests read it directly. The markup
is the template ``templates/monitoring.html.j2`` (autoescaped); this module only shapes the
figures into text, one value per cell (None: the muted dash).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
from markupsafe import Markup

from rko_model.ui.dashboard import MonitoringView
from rko_model.ui.svgchart import IntervalSeries, RefLine, bar_chart, interval_chart, line_chart
from rko_model.ui.templating import render

OK_COLOR, WARN_COLOR, BAD_COLOR = "#15803d", "#b45309", "#b91c1c"


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _num(value: Any, fmt: str = "{:.3f}") -> str | None:
    """A figure as text; None when missing (the template draws the muted dash)."""
    return None if _missing(value) else fmt.format(float(value))


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


def _values(frame: pd.DataFrame, column: str) -> list[float | None]:
    return [None if _missing(v) else float(v) for v in frame[column]]


def month_label(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m")


def _svg(chart: str) -> Markup:
    # Trusted as markup: svgchart escapes every text and attribute it writes; the rest are numbers it formats.
    return Markup(chart)


def _psi_class(value: Any, view: MonitoringView) -> str:
    if _missing(value):
        return ""
    return "bad" if float(value) > view.psi_alert else "warn" if float(value) >= view.psi_warn else "ok"


def _mark(css: str, text: str, title: str | None = None) -> dict[str, str | None]:
    """A cell's coloured word (``mark`` in the template), with its tooltip."""
    return {"css": css, "text": text, "title": title}


def _validation(row: pd.Series) -> dict[str, str | None] | None:
    if _missing(row["validation_success"]):
        return None
    warnings = 0 if _missing(row["validation_warnings"]) else int(row["validation_warnings"])
    if int(row["validation_success"]) == 1:
        extra = f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""
        return _mark("ok", f"passed{extra}")
    critical = 0 if _missing(row["validation_critical"]) else int(row["validation_critical"])
    return _mark("bad", f"failed: {critical} critical")


def _verdict(row: pd.Series) -> dict[str, str | None] | None:
    status = row["performance_status"]
    if _missing(status):
        if str(row["run_status"]) != "published":
            return None
        title = "its 3-month window is open, or rko_performance_monitoring has not run for it yet"
        return _mark("muted", "pending", title)
    css = {"ok": "ok", "warning": "warn", "alert": "bad"}.get(str(status), "")
    return _mark(css, str(status), _text(row["performance_message"]))


def _month_rows(view: MonitoringView) -> list[dict[str, Any]]:
    rows = []
    for _, row in view.months.sort_values("report_date", ascending=False).iterrows():
        gini_css = "" if _missing(row["gini"]) else "bad" if float(row["gini"]) < view.gini_floor else "ok"
        rows.append(
            {
                "month": month_label(row["report_date"]),
                "runs": _num(row["runs"], "{:.0f}"),
                "run_status": _text(row["run_status"]),
                "model_version": _text(row["model_version"]),
                "rows_scored": _num(row["rows_scored"], "{:,.0f}"),
                "validation": _validation(row),
                "psi_class": _psi_class(row["score_psi"], view),
                "score_psi": _num(row["score_psi"]),
                "feature_psi_max": _num(row["feature_psi_max"]),
                "gini_class": gini_css,
                "gini": _num(row["gini"]),
                "lift": _num(row["lift_top_decile"], "{:.2f}"),
                "conversion": _num(row["conversion_top10"], "{:.2%}"),
                "positives": _num(row["positives"], "{:,.0f}"),
                "verdict": _verdict(row),
            }
        )
    return rows


def _charts(view: MonitoringView) -> list[Markup]:
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
    return [_svg(chart) for chart in charts]


def _cards(view: MonitoringView) -> list[tuple[str, str | None]]:
    months = view.months
    scored = months[months["rows_scored"].notna()] if not months.empty else months
    evaluated = months[months["gini"].notna()] if not months.empty else months
    cards: list[tuple[str, str | None]] = [("months recorded", f"{len(months)}")]
    if not scored.empty:
        last = scored.iloc[-1]
        cards.append((f"rows scored, {month_label(last['report_date'])}", f"{float(last['rows_scored']):,.0f}"))
        cards.append((f"score PSI, {month_label(last['report_date'])}", _num(last["score_psi"])))
    if not evaluated.empty:
        last = evaluated.iloc[-1]
        cards.append((f"realised Gini, {month_label(last['report_date'])}", _num(last["gini"])))
        cards.append((f"top-decile lift, {month_label(last['report_date'])}", _num(last["lift_top_decile"], "{:.2f}")))
    cards.append(("champion", view.champion_version or "none"))
    return cards


def _champion(view: MonitoringView) -> dict[str, Any]:
    if view.champion_manifest is None:
        return {"problem": view.champion_problem or "no champion"}
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
    return {
        "problem": None,
        "facts": [(k, str(v)) for k, v in facts],
        "manifest_json": json.dumps(m, indent=2, ensure_ascii=False),
    }


#: The charted lines: the contacted arms, and their first contacts (the unbiased read from a pilot's
#: second month on, see rko_model.pilot.measure); a line with no rows draws nothing.
_PILOT_LINES = (("model", "#1d4ed8"), ("rules", "#b45309"), ("model_first", "#60a5fa"), ("rules_first", "#f59e0b"))


def _pilot(view: MonitoringView) -> dict[str, Any] | None:
    """The pilot: realised incremental conversion of the contacted arms over control, per month, and the table."""
    pilot = view.pilot
    if pilot is None or pilot.empty:
        return None
    months = sorted(pilot["report_date"].unique())
    labels = [month_label(d) for d in months]
    series = []
    for line, color in _PILOT_LINES:
        rows = pilot[pilot["line"] == line].set_index("report_date").reindex(months)
        if rows["increment"].isna().all():
            continue
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
    rows = []
    for _, row in pilot.sort_values(["report_date", "line"], ascending=[False, True]).iterrows():
        conversion = row["contacted_conversion"] if not _missing(row["contacted_conversion"]) else row["conversion"]
        interval = (
            "–"
            if _missing(row["ci_low"])
            else f"[{100 * float(row['ci_low']):+.2f}, {100 * float(row['ci_high']):+.2f}] pp"
        )
        verdict = str(row["verdict"])
        rows.append(
            {
                "month": month_label(row["report_date"]),
                "line": str(row["line"]),
                "eligible": _num(row["eligible"], "{:,.0f}"),
                "contacted": _num(row["contacted"], "{:,.0f}"),
                "openings": _num(row["openings"], "{:,.0f}"),
                "conversion": _num(conversion, "{:.2%}"),
                "increment": _num(None if _missing(row["increment"]) else 100 * float(row["increment"]), "{:+.2f} pp"),
                "interval": interval,
                "verdict": verdict,
                "verdict_css": "ok" if verdict == "positive" else "bad" if verdict == "negative" else "muted",
                "cost": _num(row["cost_per_incremental_opening"], "{:,.0f} ₽"),
                "mde": _num(None if _missing(row["mde"]) else 100 * float(row["mde"]), "{:.2f} pp"),
                "months_needed": _num(row["months_needed"], "{:.0f}"),
            }
        )
    return {"chart": _svg(chart), "rows": rows}


def render_page(view: MonitoringView) -> str:
    """The whole page."""
    thresholds = (
        f"Gini floor {view.gini_floor:.2f} · score PSI warning from {view.psi_warn:.2f}, alert above "
        f"{view.psi_alert:.2f} · read {view.read_at:%Y-%m-%d %H:%M} UTC"
    )
    return render(
        "monitoring.html.j2",
        thresholds=thresholds,
        cards=_cards(view),
        months=[] if view.months.empty else _month_rows(view),
        charts=[] if view.months.empty else _charts(view),
        bad_color=BAD_COLOR,
        pilot=_pilot(view),
        champion=_champion(view),
    )


def render_unavailable(reason: str) -> str:
    """The page served (503) when the monitoring view cannot be read: the reason, escaped by the template."""
    return render("unavailable.html.j2", reason=reason)
