"""Tasks mask INNs: task_settings() puts the mask on the handler that Airflow's task process logs through."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from rko_model.common.logmask import InnMaskFilter
from rko_model.errors import PackageError

INN = "7707083893"


@pytest.fixture
def airflow_handler() -> Iterator[io.StringIO]:
    """A root handler formatted as in Airflow 3's task process: structlog's ProcessorFormatter, JSON lines."""
    import structlog
    from airflow.sdk._shared.logging.structlog import drop_positional_args, structlog_processors

    shared, for_stdlib, _ = structlog_processors(json_output=True)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            use_get_message=False,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, drop_positional_args, for_stdlib],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            pass_foreign_args=True,
        )
    )
    root = logging.getLogger()
    root.addHandler(handler)
    yield buffer
    root.removeHandler(handler)


def test_task_settings_masks_inns_in_task_logs(airflow_handler: io.StringIO, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rko_airflow.context import task_settings

    url = json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": f"sqlite:///{tmp_path / 'w.db'}"}})
    monkeypatch.setenv("AIRFLOW_CONN_RKO_WAREHOUSE", url)
    monkeypatch.setenv("AIRFLOW_CONN_RKO_STAGING", url)
    task_settings()
    handler = logging.getLogger().handlers[-1]
    assert any(isinstance(f, InnMaskFilter) for f in handler.filters)

    log = logging.getLogger("rko_model.runs.monthly")
    log.info("counterparty %s", INN)
    try:
        raise PackageError(f"package trained for INN {INN}")
    except PackageError:
        log.exception("scoring failed")
    lines = [json.loads(line) for line in airflow_handler.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == ["rko_model.runs.monthly", "rko_model.runs.monthly"]
    assert lines[0]["event"] == "counterparty **********"
    assert "PackageError: package trained for INN **********" in lines[1]["event"]
    assert INN not in airflow_handler.getvalue()
