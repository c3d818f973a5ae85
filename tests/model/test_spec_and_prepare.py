from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rko_model import columns as col
from rko_model.errors import InvalidInputError
from rko_model.model.prepare import MISSING_CATEGORY, model_matrix
from rko_model.model.spec import FeatureSpec, rko_spec


def test_rko_spec_is_built_from_the_column_registry() -> None:
    spec = rko_spec()
    assert spec.features == (*col.NUMERIC_FEATURES, *col.CATEGORICAL_FEATURES, *col.TEXT_FEATURES)
    assert spec.text == ("payment_text",)
    assert rko_spec(["profile"]).text == ()
    assert set(rko_spec(["profile", "text"]).features) == set(rko_spec(["profile"]).features) | {"payment_text"}
    assert spec.without_text().text == () and spec.without_text().numeric == spec.numeric
    with pytest.raises(InvalidInputError, match="unknown data sources"):
        rko_spec(["profile", "weather"])


def test_spec_round_trips_and_is_validated() -> None:
    spec = rko_spec()
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(InvalidInputError, match="more than one role"):
        FeatureSpec("id", "d", "y", numeric=("a",), categorical=("a",))
    with pytest.raises(InvalidInputError, match="cannot also be features"):
        FeatureSpec("id", "d", "y", numeric=("y",))
    with pytest.raises(InvalidInputError, match="at least one feature"):
        FeatureSpec("id", "d", "y")
    with pytest.raises(InvalidInputError, match=r"lacks columns .*\['b'\]"):
        FeatureSpec("id", "d", "y", numeric=("a", "b")).check(pd.DataFrame({"id": [1], "a": [1.0]}))


def test_model_matrix_fills_what_catboost_rejects() -> None:
    spec = FeatureSpec("id", "d", "y", numeric=("n",), categorical=("c",), text=("t",))
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "n": pd.array([1, None, 3], dtype="Int64"),
            "c": pd.array(["a", None, "b"], dtype="string"),
            "t": pd.Series(["x y", np.nan, "z"], dtype="str"),
        }
    )
    matrix = model_matrix(frame, spec)
    assert matrix["n"].dtype == np.float64 and np.isnan(matrix["n"].iloc[1])
    assert matrix["c"].tolist() == ["a", MISSING_CATEGORY, "b"]
    assert matrix["t"].tolist() == ["x y", "", "z"]
    assert matrix["c"].dtype == object and matrix["t"].dtype == object
