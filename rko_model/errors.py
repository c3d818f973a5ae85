"""One hierarchy of errors, so that callers (CLI, DAGs) can tell a person what to do.

Every error raised on purpose by rko_model derives from :class:`RkoError`; the CLI turns
it into a one-line message and a non-zero exit code instead of a traceback.

Every error is permanent (a retry cannot mend it: the DAG fails the task at once, the CLI exits
with code 2) unless its ``transient`` flag says otherwise (the DAG retries it, the CLI exits
with code 75): a database that does not answer, a month another run holds.
:func:`rko_model.runs.faults.describe` turns any exception into that one line and verdict.

- :class:`ConfigError`: a setting or config file is wrong (fix the environment or file).
- :class:`DataContractError`: the warehouse lacks a table or column of the data contract,
  or a column holds values of the wrong kind (fix the view, see ``docs/data_contract.md``).
- :class:`IncompleteDataError`: the request needs data the warehouse does not hold yet,
  e.g. labels for a month whose 3-month window has not closed (pick an earlier month).
- :class:`InvalidInputError`: an argument is malformed (e.g. a report date that is not a
  month end).
- :class:`WarehouseError`: a database operation failed; the transaction was rolled back.
- :class:`ValidationError`: a snapshot failed a critical expectation; the message lists
  them and names the full result file. Nothing was scored or published.
- :class:`PackageError`: a model package is missing, altered (checksum) or does not fit the
  data (feature spec); retrain or point at the right package.
- :class:`NotPublishedError`: a month to evaluate has no published list (it was never
  scored); there is nothing to compare with what happened.
- :class:`MonthBusyError`: another run holds the month (a PostgreSQL advisory lock, a lock file
  on SQLite), or this run lost its hold and another run claimed the month since (its fencing
  token is stale): nothing was published; wait for the other run, it is not an error in the data.
- :class:`PerformanceAlert`: a scored month's realised Gini fell below the floor or its score
  drifted beyond the alert level; the figures are stored, the message says which and by how much.
"""

from __future__ import annotations


class RkoError(Exception):
    """Base of every error rko_model raises on purpose; permanent unless ``transient``."""

    transient = False

    def __init__(self, message: str = "", *, transient: bool | None = None) -> None:
        super().__init__(message)
        if transient is not None:
            self.transient = transient


class ConfigError(RkoError):
    """A setting or configuration file is missing or malformed."""


class DataContractError(RkoError):
    """The warehouse does not provide a table or column that the data contract names."""


class IncompleteDataError(RkoError):
    """The data needed for the request is not (yet) in the warehouse."""


class InvalidInputError(RkoError):
    """An argument given by the caller is malformed."""


class WarehouseError(RkoError):
    """A database operation failed and was rolled back (transient unless the cause is known to be permanent)."""

    transient = True


class PackageError(RkoError):
    """A model package is missing, altered or does not match the expected feature spec."""


class ValidationError(RkoError):
    """A snapshot failed a critical data-quality expectation."""


class NotPublishedError(IncompleteDataError):
    """The month to evaluate has no published list."""


class PerformanceAlert(RkoError):
    """Realised performance or score stability breached its threshold."""


class MonthBusyError(RkoError):
    """Another run is scoring the same month right now, or claimed it after this run lost its hold."""

    transient = True
