"""The feature spec: which columns are the key, the date, the target and the features.

Training, scoring and validation read a :class:`FeatureSpec`; nothing else re-lists columns.
A spec is plain data, so it travels in a model package's manifest and is compared on load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from rko_model import columns as col
from rko_model.errors import InvalidInputError


@dataclass(frozen=True)
class FeatureSpec:
    """Columns of a modelling frame by role."""

    id_column: str
    date_column: str
    target: str
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    name: str = field(default="custom", compare=False)
    #: How many earlier dates' labels overlap a date's label (a 3-month window on monthly dates: 2).
    #: The time holdout leaves that many dates out of the fit before its held block.
    label_overlap: int = 0

    def __post_init__(self) -> None:
        features = self.features
        if not features:
            raise InvalidInputError("a feature spec needs at least one feature")
        duplicated = sorted({c for c in features if features.count(c) > 1})
        if duplicated:
            raise InvalidInputError(f"feature spec lists columns in more than one role: {duplicated}")
        if {self.id_column, self.date_column, self.target} & set(features):
            raise InvalidInputError("the id, date and target columns cannot also be features")
        if self.label_overlap < 0:
            raise InvalidInputError(f"label_overlap must be at least 0, got {self.label_overlap}")

    @property
    def features(self) -> tuple[str, ...]:
        """Feature columns in model order: numeric, categorical, text."""
        return (*self.numeric, *self.categorical, *self.text)

    def check(self, frame: pd.DataFrame, *, with_target: bool = False) -> None:
        """Refuse a frame that lacks a column of the spec, naming every missing one."""
        needed = [self.id_column, *self.features] + ([self.target] if with_target else [])
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise InvalidInputError(f"frame lacks columns of feature spec {self.name!r}: {missing}")

    def without_text(self) -> FeatureSpec:
        return FeatureSpec(
            self.id_column,
            self.date_column,
            self.target,
            self.numeric,
            self.categorical,
            (),
            name=f"{self.name}-tabular",
            label_overlap=self.label_overlap,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def rko_spec(sources: Iterable[str] | None = None) -> FeatureSpec:
    """The RKO snapshot's spec, from the data sources in ``columns.SOURCES`` (all by default)."""
    chosen = list(col.SOURCES) if sources is None else list(sources)
    unknown = [s for s in chosen if s not in col.SOURCES]
    if unknown:
        raise InvalidInputError(f"unknown data sources {unknown}; known: {list(col.SOURCES)}")
    groups = [col.SOURCES[s] for s in chosen]
    return FeatureSpec(
        id_column=col.CLIENT_ID,
        date_column=col.REPORT_DATE,
        target=col.TARGET,
        numeric=tuple(c for g in groups for c in g.get("numeric", ())),
        categorical=tuple(c for g in groups for c in g.get("categorical", ())),
        text=tuple(c for g in groups for c in g.get("text", ())),
        name="rko-" + "+".join(chosen) if sources is not None else "rko",
        label_overlap=col.LABEL_HORIZON_MONTHS - 1,  # report months' 3-month windows overlap the 2 before
    )
