"""The one Jinja2 environment of the HTML pages (the monitoring page, the training report).

Autoescape is on for every template and undefined names raise (StrictUndefined), so a value
reaches the page escaped unless the code marks it :class:`~markupsafe.Markup` on purpose. The
templates are package data (``rko_model/ui/templates``), found by the package loader from an
editable install as from a wheel.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("rko_model", "ui/templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(template: str, **values: object) -> str:
    """``template`` (a name under rko_model/ui/templates) rendered with ``values``."""
    return environment().get_template(template).render(**values)
