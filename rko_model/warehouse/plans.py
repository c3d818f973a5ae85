"""Whether PostgreSQL reads each eligible client's rows through an index, judged from the query plan.

The PostgreSQL snapshot SQL visits every eligible client in a nested loop (``CROSS JOIN
LATERAL``); with an index on ``(client_id, date)`` each visit is a short range scan, without
one it is a scan of the whole table per client, which at a million clients never ends. The
plan says which it will be before anything runs, so the extract can stop with the table's
name instead of hanging.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: Plan nodes that reach rows through an index condition.
_INDEX_NODES = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
#: Plan nodes that read every row of a relation.
_FULL_SCANS = ("Seq Scan", "Bitmap Heap Scan", "Index Scan", "Index Only Scan")


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def per_client_full_scans(plan: dict[str, Any], outer: str, key: str) -> list[str]:
    """Relations that a nested loop over ``outer`` reads without an index condition on ``key``.

    ``key`` is the outer side's column as the plan prints it (e.g. ``el.client_id``). An
    inner side that reaches its rows through an index condition naming ``key`` is fine;
    otherwise its scanned relations are returned.
    """
    slow = []
    for node in _nodes(plan):
        if node.get("Node Type") != "Nested Loop" or len(node.get("Plans", [])) != 2:
            continue
        first, inner = node["Plans"]
        if not any(n.get("Relation Name") == outer for n in _nodes(first)):
            continue
        inner_nodes = list(_nodes(inner))
        if any(n.get("Node Type") in _INDEX_NODES and key in str(n.get("Index Cond", "")) for n in inner_nodes):
            continue
        slow += [n["Relation Name"] for n in inner_nodes if n.get("Node Type") in _FULL_SCANS and "Relation Name" in n]
    return sorted(set(slow))
