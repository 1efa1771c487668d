"""Merging the same record found in different sources (an e-mail in an mbox and as a .eml).

Events from different sources that agree on platform, participants and content (the merge key),
and whose times differ by less than the coarser precision of the two, become one event carrying
every provenance entry. Events of one source are never merged with each other. The record kept is
the one with the finest precision, then the most flags, then the most details (a Gmail copy with
its labels over a bare .eml), then the smallest event id; the records absorbed are listed in the
manifest. Nothing in this depends on the order in which sources were added.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import timedelta

from courseline.timeline.event import PRECISIONS
from courseline.timeline.timeutil import UNDATED, precision_unit


@dataclass
class _Member:
    row: int
    source: int
    event_id: str
    instant_us: int
    precision: str
    record: str

    def richness(self) -> tuple[int, int]:
        record = json.loads(self.record)
        return len(record["flags"]), len(record["details"])


@dataclass
class _Cluster:
    members: list[_Member] = field(default_factory=list)

    def accepts(self, other: _Member) -> bool:
        if any(m.source == other.source for m in self.members):
            return False
        anchor = self.members[0]
        if UNDATED in (anchor.precision, other.precision):
            # The same undated record (a screenshot) in two exports is one; never one with a time.
            return anchor.precision == other.precision
        unit = max(precision_unit(anchor.precision), precision_unit(other.precision))
        return abs(anchor.instant_us - other.instant_us) < unit // timedelta(microseconds=1)

    def kept(self) -> _Member:
        def preference(member: _Member) -> tuple:
            flags, details = member.richness()
            rank = PRECISIONS.index(member.precision) if member.precision in PRECISIONS \
                else len(PRECISIONS)
            return (rank, -flags, -details, member.event_id)
        return min(self.members, key=preference)


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
            f"SELECT id, source_id, event_id, instant_us, precision, record FROM events "
            f"WHERE merge_key = ? AND source_id IN ({marks}) ORDER BY instant_us, event_id",
            [key, *source_ids])]
        for cluster in _cluster(members):
            kept = cluster.kept()
            for member in cluster.members:
                if member is not kept:
                    conn.execute("INSERT INTO merges VALUES (?, ?)", (kept.row, member.row))
                    absorbed += 1
    return absorbed
