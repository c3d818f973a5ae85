"""Run ids: checked before any work, never used as a raw path component.

A run id names one scoring run of one month in the list, the run metrics and the folder of
its artefacts. Airflow's ids (``scheduled__2026-11-01T03:00:00+00:00``) and the CLI's
(``cli__20261101T030000Z``) pass; anything else that could break a path, a log line or a
column (slashes, spaces, control characters, 251 characters) is refused with one line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from rko_model.errors import InvalidInputError

#: The characters a run id may hold: Airflow's run ids need ':' and '+'.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+@-]*")
#: The longest run id (the run_id columns hold 250 characters; a file name at most 255 bytes).
MAX_RUN_ID = 200
#: A folder name is the run id itself when it is this short and plain, else a readable cut plus a hash.
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_run_id(run_id: object) -> str:
    """``run_id`` when it is a usable run id; an InvalidInputError naming the problem otherwise."""
    if not isinstance(run_id, str) or not run_id:
        raise InvalidInputError("the run id is empty: give --run-id a name such as oct-rerun-1")
    if len(run_id) > MAX_RUN_ID:
        raise InvalidInputError(
            f"the run id is {len(run_id)} characters long, more than {MAX_RUN_ID}: use a shorter one"
        )
    if not RUN_ID_PATTERN.fullmatch(run_id):
        shown = run_id.encode("unicode_escape").decode("ascii")[:60]
        raise InvalidInputError(
            f"the run id {shown!r} holds characters other than letters, digits and _ . : + @ - "
            "(or does not start with a letter or digit): use e.g. oct-rerun-1"
        )
    return run_id


def folder_name(run_id: str) -> str:
    """The folder name of a run's artefacts: the id itself when plain, else a cut of it and its hash.

    Distinct ids never share a folder (``a:b`` and ``a_b`` differ by their hash).
    """
    check_run_id(run_id)
    if _PLAIN.fullmatch(run_id):
        return run_id
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)[:48]
    return f"{readable}-{hashlib.sha256(run_id.encode()).hexdigest()[:10]}"


def month_run_id(run_id: str, month: dt.date, months: int) -> str:
    """The run id of one month of a run that scores ``months`` months: a run id names one month.

    A run of one month keeps its own id (every manual run, most triggered ones); a run that
    scores several (the marts of several months landed together) gives each month its own id,
    the run's id and the month (``<run id>@2026-09``), so that each month's list, metrics row
    and artefacts stay apart, and a retried task finds the same id again.
    """
    check_run_id(run_id)
    return run_id if months == 1 else check_run_id(f"{run_id}@{month:%Y-%m}")
