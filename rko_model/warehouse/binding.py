"""How values reach SQL text: bound parameters only, list values expanding into ``IN (...)``.

Shared by :mod:`rko_model.warehouse.query` and the warehouse backends, so it imports neither.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from sqlalchemy import Date, Integer, String, bindparam, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import TypeEngine

Params = Mapping[str, object]

_BIND = re.compile(r"(?<![:\w]):(\w+)")


def used_params(sql: str, params: Params) -> dict[str, object]:
    """The subset of ``params`` that ``sql`` names: one parameter set can serve several files."""
    names = set(_BIND.findall(sql))
    return {k: v for k, v in params.items() if k in names}


def statement(sql: str, params: Params) -> TextClause:
    """A text statement whose list- or tuple-valued parameters expand into ``IN (...)``.

    An empty list stays typed (as text unless its first element says otherwise), so that
    ``x NOT IN :empty`` is valid on PostgreSQL too.
    """
    expanding = [
        bindparam(k, expanding=True, type_=_element_type(v)) for k, v in params.items() if isinstance(v, list | tuple)
    ]
    return text(sql).bindparams(*expanding) if expanding else text(sql)


def _element_type(values: list | tuple) -> type[TypeEngine]:  # type: ignore[type-arg]
    first = values[0] if values else ""
    if isinstance(first, bool | int):
        return Integer
    if isinstance(first, dt.date):
        return Date
    return String


def dbapi_errors(engine: Engine | Connection) -> tuple[type[Exception], ...]:
    """The driver's own error base: raw-cursor paths (COPY, executemany) raise these, not SQLAlchemy's."""
    return (engine.dialect.loaded_dbapi.Error,)
