"""INNs never reach the log: the filter that the CLI installs masks messages, arguments and exceptions."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from rko_model.cli import main
from rko_model.common import logmask
from rko_model.errors import ValidationError

COMPANY, TRADER = "7707083893", "500100732259"


def test_only_ten_and_twelve_digit_runs_are_masked() -> None:
    text = f"ИНН {COMPANY}, ИП {TRADER}; client 123456789, 11 digits 12345678901, 13 digits 1234567890123, 2026-10-31"
    masked = logmask.mask_inns(text)
    assert COMPANY not in masked and TRADER not in masked
    assert "ИНН **********, ИП ************;" in masked
    for kept in ("123456789", "12345678901", "1234567890123", "2026-10-31"):
        assert kept in masked


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """A root handler of our own, as a deployment's log configuration would add."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield buffer
    root.removeHandler(handler)


def _log_inns() -> None:
    log = logging.getLogger("rko_model.runs.monthly")
    log.warning("payment to %s flagged (purpose: оплата по счету ИНН %s)", COMPANY, TRADER)
    try:
        raise ValidationError(f"counterparty {COMPANY} of client 42 is unknown")
    except ValidationError:
        log.exception("validation of 2026-10-31 failed")


def test_the_cli_masks_inns_in_every_handler(
    stream: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["airflow-env"]) == 0  # any command: main() installs the mask on the root handlers
    capsys.readouterr()
    with caplog.at_level(logging.INFO):
        _log_inns()
    out = stream.getvalue()
    assert "rko_model.runs.monthly" in out and "Traceback" in out and "ValidationError: counterparty" in out
    for text in (out, caplog.text, *(r.getMessage() for r in caplog.records)):
        assert COMPANY not in text and TRADER not in text
    assert "**********" in out and "************" in out


def test_installing_twice_adds_one_filter(stream: io.StringIO) -> None:
    first, second = logmask.install(), logmask.install()
    assert first is second
    for handler in logging.getLogger().handlers:
        assert sum(isinstance(f, logmask.InnMaskFilter) for f in handler.filters) == 1


def test_cli_errors_are_masked_too(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RKO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RKO_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    assert main(["snapshot", "--report-date", f"{COMPANY}", "--out", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert "rko snapshot: error:" in err and COMPANY not in err
