"""Partitions of a month: clients split by their id modulo N, so that workers share a month.

Client ids are surrogate keys, so the id itself serves as the hash; a partition is the
clients whose id modulo ``count`` (taken non-negative, as Python's ``%``) is ``index``.
Partitions are disjoint and cover every client, so a month scored in N partitions publishes the same list as in one.
"""

from __future__ import annotations

from dataclasses import dataclass

from rko_model.errors import InvalidInputError

#: Most partitions a month may be split into (one task each).
MAX_PARTITIONS = 64


@dataclass(frozen=True)
class Partition:
    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise InvalidInputError(f"a month splits into at least one partition, not {self.count}")
        if not 0 <= self.index < self.count:
            raise InvalidInputError(f"partition index {self.index} is outside 0..{self.count - 1}")

    @property
    def label(self) -> str:
        """A file-name-safe name, e.g. ``p2of4``."""
        return f"p{self.index}of{self.count}"

    def params(self) -> dict[str, int]:
        """The bound parameters of the SQL that selects the partition's clients."""
        return {"partitions": self.count, "partition": self.index}


WHOLE = Partition(0, 1)


def partitions_of(count: int) -> list[Partition]:
    """Every partition of a month split ``count`` ways (one task each, so at most MAX_PARTITIONS)."""
    if not 1 <= count <= MAX_PARTITIONS:
        raise InvalidInputError(f"partitions must be between 1 and {MAX_PARTITIONS}, got {count}")
    return [Partition(i, count) for i in range(count)]
