"""Taxpayer numbers (INN) never reach a log: a filter masks every 10- or 12-digit run in a record.

Payments carry the counterparty's INN and payment purposes often quote one, so any message
or exception that echoes warehouse data could print one. The filter rewrites the record
before any handler formats it: the message (with its arguments merged in), an exception's
text (folded into the message, so that every formatter, Airflow's structlog one included,
prints the masked version) and the stack. Other numbers (ids, counts, dates) have other
lengths; a 10- or 12-digit one is masked too, which errs on the safe side.

Handlers carry the filter, not loggers: a logger's filters skip records of its children.
:func:`install` puts it on every handler of the root logger (idempotent); the CLI calls it
after configuring logging, and Airflow tasks call it when they start (``rko_airflow.context``).
"""

from __future__ import annotations

import logging
import re
import traceback

#: 10 digits (a company's INN) or 12 (a sole trader's), not part of a longer run of digits.
INN_PATTERN = re.compile(r"(?<!\d)(?:\d{12}|\d{10})(?!\d)")


def mask_inns(text: str) -> str:
    """``text`` with each INN-like run of digits replaced by as many asterisks."""
    return INN_PATTERN.sub(lambda m: "*" * len(m.group()), text)


class InnMaskFilter(logging.Filter):
    """Masks INNs in a record's message, exception and stack; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_rko_inn_masked", False):
            return True
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{''.join(traceback.format_exception(*record.exc_info)).rstrip()}"
            record.exc_info = None
        elif record.exc_text:
            message = f"{message}\n{record.exc_text}"
        record.exc_text = None
        record.msg, record.args = mask_inns(message), ()
        if record.stack_info:
            record.stack_info = mask_inns(record.stack_info)
        record._rko_inn_masked = True  # several handlers share one record: mask it once
        return True


def install(logger: logging.Logger | None = None) -> InnMaskFilter:
    """Put the filter on every handler of ``logger`` (the root logger by default), once each."""
    target = logger or logging.getLogger()
    existing = [f for h in target.handlers for f in h.filters if isinstance(f, InnMaskFilter)]
    mask = existing[0] if existing else InnMaskFilter()
    for handler in target.handlers:
        if not any(isinstance(f, InnMaskFilter) for f in handler.filters):
            handler.addFilter(mask)
    return mask
