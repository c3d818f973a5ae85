"""notebooks/eda.ipynb runs from top to bottom on a small generated bank and shows what it says.

The kernel is the venv's python3; its environment points the settings at a bank generated
into tmp_path (SQLite), and a cell inserted after the parameters cell makes the run short.
A cell appended at the end hands the notebook's tables back as JSON, to be checked against
the library's own labels.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from rko_model import columns as col
from rko_model.common.dates import add_months
from rko_model.settings import PROJECT_ROOT, Settings
from rko_model.stages.labels import extract_labels
from rko_model.stages.snapshot import data_end
from rko_model.synth.generator import generate
from rko_model.synth.spec import BankSpec
from rko_model.warehouse.bank_writer import write_bank
from rko_model.warehouse.engine import make_engine

NOTEBOOK = PROJECT_ROOT / "notebooks" / "eda.ipynb"
REPORT_MONTHS = 6
MARKER = "EDA-RESULTS "

DUMP = f"""
import json as _json
print({MARKER!r} + _json.dumps({{
    "target_by_month": target_by_month.to_dict(orient="records"),
    "rate_by_section": rate_by_section.to_dict(orient="records"),
    "rate_by_region": rate_by_region.to_dict(orient="records"),
    "drift": drift.reset_index().to_dict(orient="records"),
    "words": word_log_odds.reset_index().to_dict(orient="records"),
    "panel_rows": len(panel),
    "eligibility": eligibility.to_dict(orient="records"),
}}, default=str))
"""


def test_the_committed_notebook_has_no_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert sum("parameters" in cell.metadata.get("tags", []) for cell in code) == 1


@pytest.mark.slow
def test_the_eda_notebook_runs_on_a_small_bank(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings.from_env({"RKO_DATA_DIR": str(data_dir)})
    engine = make_engine(settings.warehouse_url)
    write_bank(engine, generate(BankSpec(n_clients=900, n_months=24, seed=11)))

    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = next(i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", []))
    nb.cells.insert(params + 1, nbformat.v4.new_code_cell(f"REPORT_MONTHS = {REPORT_MONTHS}\nMIN_WORD_CLIENTS = 10"))
    nb.cells.append(nbformat.v4.new_code_cell(DUMP))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RKO_") and k != "MPLBACKEND"}
    env.update(
        {
            "RKO_DATA_DIR": str(data_dir),
            "RKO_WAREHOUSE_URL": settings.warehouse_url,
            # The checkout under test, whichever checkout the venv's editable install points at.
            "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p),
        }
    )
    client = NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute(env=env)  # raises CellExecutionError, with the cell and traceback, on any error

    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 4, "the plots were not drawn"
    printed = "".join(out.text for out in outputs if out.output_type == "stream" and out.name == "stdout")
    results = json.loads(printed.split(MARKER, 1)[1].splitlines()[0])

    by_month = pd.DataFrame(results["target_by_month"])
    last_labelled = add_months(data_end(engine, settings), -col.LABEL_HORIZON_MONTHS)
    expected_months = [f"{add_months(last_labelled, -k):%Y-%m}" for k in range(REPORT_MONTHS - 1, -1, -1)]
    assert by_month["month"].tolist() == expected_months
    assert by_month["rate"].between(0.005, 0.5).all() and (by_month["converters"] <= by_month["clients"]).all()
    assert (by_month["low"] <= by_month["rate"]).all() and (by_month["rate"] <= by_month["high"]).all()
    labels = extract_labels(engine, last_labelled, settings)  # the library's own labels of the last month
    last = by_month.iloc[-1]
    assert (last["clients"], last["converters"]) == (len(labels), int(labels[col.TARGET].sum()))
    assert last["rate"] == pytest.approx(labels[col.TARGET].mean())

    # Eligibility as of each report date is the labelled population; today's values misjudge some client-months.
    eligibility = pd.DataFrame(results["eligibility"])
    assert eligibility["eligible_history"].tolist() == by_month["clients"].tolist()
    assert (eligibility["changed"] == eligibility["only_history"] + eligibility["only_current_values"]).all()
    assert eligibility["changed"].sum() > 0

    for key, group in (("rate_by_section", "okved_section"), ("rate_by_region", "region_code")):
        table = pd.DataFrame(results[key])
        assert table["clients"].sum() == results["panel_rows"] == by_month["clients"].sum()
        assert table["rate"].between(0, 1).all() and table[group].is_unique
    sections = set(pd.DataFrame(results["rate_by_section"])["okved_section"])
    assert sections <= {*"ABCDEFGHIJKLMNOPQRSTU?", "(missing)"} and "G" in sections  # retail and wholesale trade

    drift = pd.DataFrame(results["drift"]).set_index("month")
    assert drift.index.tolist() == expected_months and (drift.to_numpy() >= 0).all()
    assert (drift.iloc[0] == 0).all()  # the first month against itself

    words = pd.DataFrame(results["words"])
    assert words["word"].is_unique and words["word"].str.fullmatch(r"[а-яёa-z]{3,}").all()
    top, bottom = words.iloc[0], words.iloc[-1]
    assert top["z"] > 0 > bottom["z"]
    assert top["converters_share"] > top["others_share"] and bottom["converters_share"] < bottom["others_share"]
