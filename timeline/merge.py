"""Merging the same record found in different sources (an e-mail in an mbox and as a .eml).

Events from different sources that agree on platform, participants and content (the merge key),
and whose times agree within the coarser precision of the two, become one event carrying both
provenance entries. Events of one source are never merged with each other. The event kept is the
one with the finest precision, then the smallest event id, so the outcome does not depend on the
order in which sources were added.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from courseline.timeline.event import PRECISIONS
from courseline.timeline.timeutil import precision_unit


@dataclass
class _Member:
    row: int
    source: int
    event_id: str
    instant_us: int
    precision: str


@dataclass
class _Cluster:
    members: list[_Member] = field(default_factory=list)

    def accepts(self, other: _Member) -> bool:
        if any(m.source == other.source for m in self.members):
            return False
        anchor = self.members[0]
        unit = max(precision_unit(anchor.precision), precision_unit(other.precision))
        unit_us = int(unit.total_seconds() * 1_000_000)
        return anchor.instant_us // unit_us == other.instant_us // unit_us

    def kept(self) -> _Member:
        return min(self.members, key=lambda m: (PRECISIONS.index(m.precision), m.event_id))


def _cluster(members: list[_Member]) -> list[_Cluster]:
    clusters: list[_Cluster] = []
    for member in members:
        home = next((c for c in clusters if c.accepts(member)), None)
        if home is None:
            clusters.append(_Cluster([member]))
        else:
            home.members.append(member)
    return [c for c in clusters if len(c.members) > 1]


def compute_merges(conn: sqlite3.Connection, source_ids: list[int]) -> int:
    """Fill the merges table for the given sources; return the number of events absorbed."""
    conn.execute("DELETE FROM merges")
    if not source_ids:
        return 0
    marks = ",".join("?" for _ in source_ids)
    keys = [row[0] for row in conn.execute(
        f"SELECT merge_key FROM events WHERE source_id IN ({marks}) GROUP BY merge_key "
        f"HAVING COUNT(DISTINCT source_id) > 1 ORDER BY merge_key", source_ids)]
    absorbed = 0
    for key in keys:
        members = [_Member(*row) for row in conn.execute(
            f"SELECT id, source_id, event_id, instant_us, precision FROM events "
            f"WHERE merge_key = ? AND source_id IN ({marks}) ORDER BY instant_us, event_id",
            [key, *source_ids])]
        for cluster in _cluster(members):
            kept = cluster.kept()
            for member in cluster.members:
                if member is not kept:
                    conn.execute("INSERT INTO merges VALUES (?, ?)", (kept.row, member.row))
                    absorbed += 1
    return absorbed
