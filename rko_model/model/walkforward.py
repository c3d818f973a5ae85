"""Walk-forward retro tests: how the model ages, and how often retraining pays.

For each test month M a production retraining could only use months whose 3-month label
windows had closed by M (``m + 3 <= M``); it stacks the latest ``n_train`` of them. Three
strategies are compared on the same test months:

- **frozen**: the model trained once, before the first test month (today's retro-tested model);
- **monthly**: retrained at every test month on the 12 months labelled by then;
- **quarterly**: retrained at the first test month and every third month after it.

To stay affordable on a small machine, the retrained models reuse the frozen model's tree
count (no validation fit of their own: one fit each), the frames are stacked once and sliced,
and a model retrained at the first test month is the frozen model itself.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from rko_model import columns as col
from rko_model.common.dates import add_months
from rko_model.errors import InvalidInputError
from rko_model.model import metrics
from rko_model.model.spec import FeatureSpec
from rko_model.model.train import TrainedModel, TrainParams, train

log = logging.getLogger(__name__)

STRATEGIES = ("frozen", "monthly", "quarterly")


@dataclass(frozen=True)
class Refit:
    """One model of a strategy: trained on ``train_months``, scoring ``test_months``."""

    strategy: str
    trained_at: dt.date
    train_months: tuple[dt.date, ...]
    test_months: tuple[dt.date, ...]


def labelled_by(month: dt.date, n_train: int) -> tuple[dt.date, ...]:
    """The latest ``n_train`` months whose label windows had closed at ``month``."""
    last = add_months(month, -col.LABEL_HORIZON_MONTHS)
    return tuple(add_months(last, -k) for k in range(n_train - 1, -1, -1))


def plan_walk_forward(
    test_months: Sequence[dt.date], n_train: int = 12, every: dict[str, int] | None = None
) -> list[Refit]:
    """The models each strategy trains (pure): frozen once, monthly every month, quarterly every 3 months."""
    months = sorted(test_months)
    if not months:
        raise InvalidInputError("walk-forward needs at least one test month")
    every = every or {"frozen": len(months), "monthly": 1, "quarterly": 3}
    plan = []
    for strategy in STRATEGIES:
        step = every[strategy]
        for i in range(0, len(months), step):
            at = months[i]
            plan.append(Refit(strategy, at, labelled_by(at, n_train), tuple(months[i : i + step])))
    return plan


def run_walk_forward(
    frame: pd.DataFrame,
    frozen: TrainedModel | None,
    test_months: Sequence[dt.date],
    n_train: int = 12,
    params: TrainParams | None = None,
    spec: FeatureSpec | None = None,
) -> pd.DataFrame:
    """Gini per strategy and test month; ``frame`` holds every month the plan needs, labelled.

    By default every retrained model repeats the frozen model's recipe with its tree count.
    ``params`` with ``fixed_iterations`` set trains every model of the comparison, the frozen
    one included, with that cheaper recipe instead (fewer trees, for a loaded machine); then
    ``frozen`` may be None and ``spec`` says the features.
    Returns rows (strategy, month, trained_at, gini). A month the frame lacks raises.
    """
    cheaper = params is not None and params.fixed_iterations is not None
    if frozen is None and not (cheaper and spec is not None):
        raise InvalidInputError("walk-forward needs the frozen model, or a fixed-trees recipe and a spec")
    spec = spec or frozen.spec  # type: ignore[union-attr]
    if not cheaper:
        params = replace(params or frozen.params, fixed_iterations=frozen.iterations)  # type: ignore[union-attr]
    dates = pd.to_datetime(frame[spec.date_column]).dt.date
    available = set(dates.unique())
    plan = plan_walk_forward(test_months, n_train)
    first = min(test_months)
    models: dict[tuple[dt.date, ...], TrainedModel] = {} if cheaper else {frozen_key(frozen): frozen}  # type: ignore[arg-type]
    rows = []
    fits = len({r.train_months for r in plan} - set(models))
    done = 0
    for refit in plan:
        missing = [m for m in (*refit.train_months, *refit.test_months) if m not in available]
        if missing:
            raise InvalidInputError(f"walk-forward: the frame lacks months {[m.isoformat() for m in missing]}")
        model = models.get(refit.train_months)
        if model is None and refit.trained_at == first and not cheaper:
            model = frozen
        if model is None:
            done += 1
            log.info("walk-forward: %s model at %s (%d/%d fits)", refit.strategy, refit.trained_at, done, fits)
            model = train(frame[dates.isin(refit.train_months).to_numpy()], spec, params)  # type: ignore[arg-type]
            models[refit.train_months] = model
        for month in refit.test_months:
            part = frame[(dates == month).to_numpy()]
            score = model.predict(part)
            rows.append(
                {
                    "strategy": refit.strategy,
                    "month": month.isoformat(),
                    "trained_at": refit.trained_at.isoformat(),
                    "train_last": refit.train_months[-1].isoformat(),
                    "gini": metrics.gini(part[spec.target].to_numpy(), score),
                }
            )
    return pd.DataFrame(rows)


def frozen_key(model: TrainedModel) -> tuple[dt.date, ...]:
    return tuple(dt.date.fromisoformat(d) for d in model.fit_dates)


def summarise(walk: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and min Gini per strategy, and the mean gain over the frozen model."""
    table = walk.groupby("strategy", sort=False)["gini"].agg(
        gini_mean="mean", gini_std=lambda g: float(np.std(g)), gini_min="min"
    )
    table["gain_over_frozen"] = table["gini_mean"] - table.loc["frozen", "gini_mean"]
    return table.reset_index()
