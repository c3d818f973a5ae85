"""Every fault as one line and a verdict: permanent (do not retry) or transient (retry later).

The CLI prints the line and exits with :data:`EXIT_PERMANENT` or :data:`EXIT_TRANSIENT`; the
Airflow tasks fail at once on a permanent fault and leave a transient one to their retries.
A database that does not answer, is busy or dropped the connection is transient; a malformed
URL, a database or role that does not exist, a refused privilege, a damaged file, a full or
read-only disk and every deliberate :class:`~rko_model.errors.RkoError` that is not flagged
``transient`` are permanent. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import re
import sqlite3
from dataclasses import dataclass

from rko_model.errors import RkoError

EXIT_PERMANENT = 2
#: sysexits' EX_TEMPFAIL: a scheduler that retries on it retries what may mend itself.
EXIT_TRANSIENT = 75

#: Longest line a fault is told in (a driver's message can quote a whole statement).
MAX_CHARS = 600

#: Driver messages of a database that does not answer now (retry) ...
_TRANSIENT_TEXT = re.compile(
    r"connection refused|could not connect|timeout expired|timed out|server closed the connection|"
    r"terminating connection|connection already closed|database is locked|database table is locked|"
    r"the database system is (starting up|shutting down)|too many clients|could not receive data",
    re.I,
)
#: ... and those a retry cannot mend (checked first).
_PERMANENT_TEXT = re.compile(
    r"does not exist|password authentication failed|no password supplied|invalid dsn|invalid connection option|"
    r"could not translate host name|unable to open database file|file is not a database|"
    r"database disk image is malformed|disk is full|readonly database|permission denied|must be owner",
    re.I,
)
#: PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57P0x shutdown, 40 rollback.
_TRANSIENT_PGCODE = re.compile(r"^(08|53|57P0[1-3]|40)")
_OS_HINTS = {
    errno.ENOSPC: "the disk is full: free space, then run again",
    errno.EDQUOT: "the disk quota is exhausted: free space, then run again",
    errno.EROFS: "the file system is read-only: point the setting at a writable folder",
    errno.EACCES: "permission denied: make it writable for this user or choose another path",
    errno.EPERM: "operation not permitted: choose another path",
    errno.ENOTDIR: "a part of the path is a file, not a folder: fix the path",
    errno.EISDIR: "the path is a folder, not a file: fix the path",
    errno.ENAMETOOLONG: "the file name is too long: use a shorter name",
    errno.ENOENT: "no such file or folder: check the path",
}


@dataclass(frozen=True)
class Fault:
    """What went wrong in one line, and whether trying again later can help."""

    message: str
    transient: bool

    @property
    def exit_code(self) -> int:
        return EXIT_TRANSIENT if self.transient else EXIT_PERMANENT


_BACKGROUND = re.compile(r"\s*\(Background on this error at: \S+\)")


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines of driver messages) as one space, cut to MAX_CHARS."""
    line = " ".join(_BACKGROUND.sub("", str(text)).split())
    return line if len(line) <= MAX_CHARS else line[: MAX_CHARS - 1] + "…"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _database_verdict(exc: BaseException) -> bool | None:
    """True: transient, False: permanent, None: not a database error this module knows."""
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return False
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    code = (
        getattr(original, "pgcode", None)
        or getattr(getattr(original, "diag", None), "sqlstate", None)
        or getattr(original, "sqlstate", None)  # ADBC, the snapshot's reading sessions
    )
    is_driver_error = isinstance(original, sqlite3.Error) or type(original).__module__.split(".")[0] in (
        "psycopg2",
        "psycopg",
        "adbc_driver_manager",
    )
    if not (is_driver_error or isinstance(exc, DBAPIError)):
        return None
    text = str(original)
    if _PERMANENT_TEXT.search(text):
        return False
    return bool((code and _TRANSIENT_PGCODE.match(code)) or _TRANSIENT_TEXT.search(text))


def describe(exc: BaseException) -> Fault | None:
    """The one-line fault of ``exc``; None for an exception no rule covers (a bug: keep its traceback)."""
    chain = _chain(exc)
    if isinstance(exc, RkoError):
        transient = exc.transient
        if transient:  # a wrapped database or file error decides: a missing database stays missing
            verdicts = [v for v in (_database_verdict(e) for e in chain[1:]) if v is not None]
            if verdicts and not verdicts[0]:
                transient = False
        return Fault(one_line(str(exc)), transient)
    for cause in chain:
        if isinstance(cause, OSError) and not isinstance(cause, ConnectionError) and cause.errno in _OS_HINTS:
            where = f" {cause.filename}" if cause.filename else ""
            return Fault(one_line(f"cannot write or read{where}: {cause.strerror}; {_OS_HINTS[cause.errno]}"), False)
        verdict = _database_verdict(cause)
        if verdict is not None:
            kind = "does not answer now; try again later" if verdict else "refused the request"
            return Fault(one_line(f"the database {kind}: {type(cause).__name__}: {cause}"), verdict)
    return None
