"""The monitoring page's data (both engines) and its HTML: months, figures, charts, the champion."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from rko_model.settings import Settings
from rko_model.ui.dashboard import MONTH_COLUMNS, month_table, read_monitoring
from rko_model.ui.dashboard_page import month_label, render_page
from rko_model.ui.svgchart import RefLine, bar_chart, line_chart
from tests.conftest import ENGINES, POSTGRES_URL, need_postgres
from tests.helpers import reset_postgres_staging
from tests.monitoring_seed import (
    BREACH,
    FAILED,
    MONTHS,
    PSI_WARNING,
    RESCORED,
    latest_runs,
    seed_champion,
    seed_monitoring,
    seeded_performance,
)


@pytest.fixture(params=ENGINES)
def monitoring_settings(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    """Settings whose staging database holds the seeded monitoring tables, on each engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{settings.data_dir / 'mo_staging.db'}"
    else:
        need_postgres()
        reset_postgres_staging(POSTGRES_URL)
        url = POSTGRES_URL
    seed_monitoring(url)
    yield replace(settings, staging_url=url)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("registry")
    seed_champion(folder)
    return folder


def test_one_row_per_month_with_the_latest_run_and_the_realised_figures(monitoring_settings: Settings) -> None:
    view = read_monitoring(monitoring_settings)
    months = view.months
    assert list(months.columns) == list(MONTH_COLUMNS)
    assert months["report_date"].tolist() == [pd.Timestamp(m) for m in MONTHS]
    latest = latest_runs()
    by_month = months.set_index(months["report_date"].dt.date)
    for month, run in latest.iterrows():
        assert by_month.loc[month, "run_id"] == run["run_id"]
        assert by_month.loc[month, "run_status"] == run["status"]
    assert by_month.loc[RESCORED, "runs"] == 2 and by_month.loc[RESCORED, "score_psi"] < 0.3  # the latest run's
    assert by_month.loc[FAILED, "validation_success"] == 0 and pd.isna(by_month.loc[FAILED, "gini"])
    performance = pd.DataFrame(seeded_performance()).set_index("report_date")
    for month, row in performance.iterrows():
        assert by_month.loc[month, "gini"] == pytest.approx(row["gini"])
        assert by_month.loc[month, "lift_top_decile"] == pytest.approx(row["lift_top_decile"])
        assert by_month.loc[month, "performance_status"] == row["status"]
    assert by_month["gini"].notna().sum() == len(performance)
    assert view.champion_manifest is None and "no champion" in (view.champion_problem or "")


def test_realised_figures_without_any_run_still_show() -> None:
    performance = pd.DataFrame(seeded_performance()).rename(columns={})
    performance["report_date"] = pd.to_datetime(performance["report_date"]).astype("datetime64[s]")
    months = month_table(pd.DataFrame(), performance)
    assert len(months) == len(performance) and months["run_id"].isna().all()
    assert months["gini"].tolist() == pytest.approx(performance["gini"].tolist())


def test_a_rerun_after_a_failure_on_the_same_day_is_the_latest_run() -> None:
    """recorded_at may hold the day only, and run ids do not sort by time (manual__ < scheduled__)."""
    day = "2026-11-01"
    runs = pd.DataFrame(
        {
            "run_id": ["scheduled__2026-11-01T03:00:00+00:00", "manual__2026-11-01T09:12:00+00:00"],
            "report_date": pd.to_datetime(["2026-10-31", "2026-10-31"]).astype("datetime64[s]"),
            "status": ["failed_validation", "published"],
            "recorded_at": [day, day],
            "rows_scored": [None, 1200.0],
        }
    )
    months = month_table(runs, pd.DataFrame())
    assert months["run_id"].tolist() == ["manual__2026-11-01T09:12:00+00:00"] and months["runs"].tolist() == [2]


def _cells(page: str) -> dict[str, list[str]]:
    """The month table's cells by month, tags stripped."""
    table = page.split("<table class='months'>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    out = {}
    for row in rows:
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        if cells:
            out[cells[0]] = cells
    return out


def test_the_page_shows_every_month_its_figures_and_the_champion(monitoring_settings: Settings, registry: Path) -> None:
    view = read_monitoring(replace(monitoring_settings, registry_url=str(registry)))
    page = render_page(view)
    cells = _cells(page)
    assert sorted(cells) == [month_label(m) for m in MONTHS]
    latest = latest_runs()
    for month, row in pd.DataFrame(seeded_performance()).set_index("report_date").iterrows():
        line = cells[month_label(month)]
        assert f"{row['gini']:.3f}" in line and f"{row['lift_top_decile']:.2f}" in line
        assert f"{row['conversion_top10']:.2%}" in line and row["status"] in line
        assert f"{latest.loc[month, 'rows_scored']:,.0f}" in line
    assert "failed: 2 critical" in cells[month_label(FAILED)]
    assert "pending" in cells[month_label(MONTHS[-1])]
    assert re.search(rf"class='warn'>{latest.loc[PSI_WARNING, 'score_psi']:.3f}<", page)
    assert re.search(r"class='bad'>0\.270<", page) and BREACH.isoformat() in page  # the breach, with its message
    for chart in ("rows-scored", "score-psi", "realised-gini", "lift"):
        assert f'class="chart {chart}"' in page
    rows_chart = page.split('class="chart rows-scored"', 1)[1].split("</svg>", 1)[0]
    assert rows_chart.count("<rect") == len(MONTHS) and rows_chart.count('fill="#b91c1c"') == 1
    gini_chart = page.split('class="chart realised-gini"', 1)[1].split("</svg>", 1)[0]
    assert gini_chart.count("<circle") == len(seeded_performance())
    assert "floor 0.30" in gini_chart and "champion retro mean 0.55" in gini_chart
    assert view.champion_version and f"<dd>{view.champion_version}</dd>" in page
    assert view.champion_manifest and view.champion_manifest["model_sha256"] in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_an_empty_monitoring_database_gives_a_page_that_says_so(settings: Settings) -> None:
    page = render_page(read_monitoring(settings))
    assert "No scoring run recorded yet" in page and "no champion" in page


def test_charts_scale_to_their_thresholds_and_leave_gaps() -> None:
    svg = line_chart("psi", ["a", "b", "c"], [0.01, None, 0.02], refs=[RefLine(0.25, "alert")])
    assert svg.count("<circle") == 2 and "<polyline" not in svg  # a gap leaves two single points
    ticks = [float(t) for t in re.findall(r'class="tick" text-anchor="end">([\d.]+)<', svg)]
    assert max(ticks) >= 0.25  # the alert line is inside the plot
    bars = bar_chart("rows", ["a", "b"], [10.0, 20.0], colors=["#000", "#111"])
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" fill', bars)]
    assert heights[1] == pytest.approx(2 * heights[0], abs=0.2)  # drawn to 0.1 px
    assert "no data yet" in bar_chart("rows", ["a"], [None])


HOSTILE = "\"'><script>alert('x')</script>"
ESCAPED = "&#34;&#39;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def test_the_page_escapes_every_text_it_shows(settings: Settings, registry: Path) -> None:
    """Texts from the tables and the registry (a version, a status, a message) are escaped by the template."""
    url = f"sqlite:///{settings.data_dir / 'mo_staging.db'}"
    seed_monitoring(url)
    view = read_monitoring(replace(settings, staging_url=url, registry_url=str(registry)))
    assert view.champion_manifest is not None
    months = view.months.assign(model_version=HOSTILE, run_status=HOSTILE, performance_message=HOSTILE)
    manifest = {**view.champion_manifest, "version": HOSTILE, "created_at": HOSTILE}
    page = render_page(replace(view, months=months, champion_version=HOSTILE, champion_manifest=manifest))
    assert "<script" not in page and HOSTILE not in page
    assert f"<td class='l'>{ESCAPED}</td>" in page  # the month table's run status and model
    assert f'title="{ESCAPED}"' in page  # the verdict's message, inside an attribute
    assert f"<div class='v'>{ESCAPED}</div>" in page and f"<dd>{ESCAPED}</dd>" in page  # the champion
    assert _cells(page)[month_label(MONTHS[0])][3] == ESCAPED
    problem = render_page(replace(view, champion_manifest=None, champion_problem=HOSTILE))
    assert f"<p class='bad'>{ESCAPED}</p>" in problem and "<script" not in problem
