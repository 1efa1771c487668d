"""Course-of-conduct analysis of the sealed timeline: measurements, not findings.

Every figure here counts or times events of the timeline; none says that a course of conduct,
harassment or stalking took place. That is for the court (PHA 1997 s.7; standards.md items 19
and 31). Each NPCC "FOUR" indicator (Fixated, Obsessive, Unwanted, Repeated) is shown as the
measured facts behind it, with a label saying so.

What counts (the rules of :mod:`courseline.timeline.conduct`): an undated row, a diary entry (a
recollection) and a draft or a message the device failed to send (it reached no one) count in no
figure. A row counts for the ordered pair (sender's person → each distinct recipient's person
that is known and is not the sender) once per recipient. Days and hours are civil, in the case's
zone (:class:`~courseline.timeline.timeutil.CivilClock`), so an event at 00:30 UTC on
27 October 2024 is at 01:30 BST and one at 01:30 UTC is at 01:30 GMT, both on the 27th.
Ties in time are ordered by ``seq``; times are shown as the rows write them.

The figures (:func:`analyse` returns them as one JSON-ready dict):

* ``pairs``: for every ordered pair of persons with traffic: events; distinct civil days; first
  and last; the span in civil days; the longest run of consecutive days with events and the
  longest stretch of days without any between two days with events; events by platform, kind,
  civil hour (and how many at night), civil day and ISO week (every week from the first to the
  last, weeks without events as 0), by week and platform; and the weekly trend (mean per week
  in the first and second halves of the weeks, least-squares slope of the weekly counts).
* ``focus``: for every suspect and every victim (by the persons' roles), even without traffic:
    - fixated: of the events the suspect sent, how many reached the victim, and the share (in
      these exhibits only);
    - obsessive: the most suspect→victim events in any window of ``burst_window_min`` minutes
      starting at an event, and the bursts: windows of at least ``burst_min_events`` events,
      chosen greedily, largest first (ties: earliest), sharing no event;
    - unwanted: the reviewer's marks (annotations tagged asked-to-stop, blocked or
      changed-number), the suspect→victim events after the first mark, and the identifiers the
      suspect first used towards the victim after the first blocked or changed-number mark. A
      mark is the victim's unless its event names other victims only; marks on events not in
      the timeline are counted, not used;
    - repeated: suspect→victim events, days, first, last and span;
    - channel hopping: the suspect's identifiers and platforms in order of first appearance.
* ``annotations``: how many annotations are on events of the timeline, by tag.

Marks are annotations: a reviewer's reading, attributed and timed, not evidence.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import numpy as np
import pandas as pd

from courseline.timeline.conduct import NOT_SENT
from courseline.timeline.timeutil import civil_clock, instant_us, parse_utc

UNWANTED_TAGS = ("asked-to-stop", "blocked", "changed-number")
BLOCK_TAGS = frozenset({"blocked", "changed-number"})
MAX_BURSTS = 50
NO_CODE = -1          # a column's code for "none" (no person, no identifier)
US_PER_MINUTE = 60_000_000

LABELS = {
    "fixated": "Fixated: a measurement, not a finding. The share of the events the suspect sent "
               "that reached the victim, counted over the traffic in these exhibits only; "
               "traffic the exhibits do not hold is not seen.",
    "obsessive": "Obsessive: a measurement, not a finding. The most suspect-to-victim events in "
                 "any window of the stated length, and the windows holding at least the stated "
                 "number of events (no event in two windows).",
    "unwanted": "Unwanted: a measurement, not a finding. The marks are a reviewer's annotations "
                "(an opinion, not evidence); the figures count the suspect-to-victim events "
                "after the marked events.",
    "repeated": "Repeated: a measurement, not a finding. Suspect-to-victim events and the civil "
                "days they fall on; whether they form a course of conduct is for the court.",
}


class PersonLike(Protocol):
    key: str
    role: str


class AnnotationLike(Protocol):
    event_id: str
    tags: tuple[str, ...]
    by: str
    time_utc: str
    seq: int
    note: str


class _Codes:
    """Strings as small integers, so that a million rows hold ints in arrays, not strings."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.names: list[str] = []

    def code(self, name: str | None) -> int:
        if name is None:
            return NO_CODE
        found = self.index.get(name)
        if found is None:
            found = self.index[name] = len(self.names)
            self.names.append(name)
        return found


@dataclass(frozen=True)
class _Marked:
    """What the marks need of an annotated event (any event on the timeline, counted or not)."""

    when: str | None
    seq: int
    persons: frozenset[str]


@dataclass
class _Columns:
    """The counted rows that name a person, as columns; pairs and the suspects' identifiers as
    rows pointing into them."""

    when: list[str] = field(default_factory=list)
    seq: array = field(default_factory=lambda: array("q"))
    day: array = field(default_factory=lambda: array("i"))      # proleptic ordinal of the date
    hour: array = field(default_factory=lambda: array("b"))
    kind: array = field(default_factory=lambda: array("i"))
    platform: array = field(default_factory=lambda: array("i"))
    sender: array = field(default_factory=lambda: array("i"))   # person code
    sender_id: array = field(default_factory=lambda: array("i"))  # identifier code
    pair_row: array = field(default_factory=lambda: array("q"))
    pair_to: array = field(default_factory=lambda: array("i"))
    touch_row: array = field(default_factory=lambda: array("q"))  # a suspect sent or received
    touch_person: array = field(default_factory=lambda: array("i"))
    touch_id: array = field(default_factory=lambda: array("i"))
    marked: dict[str, _Marked] = field(default_factory=dict)


@dataclass
class _Timeline:
    """The collected columns in time order (instant, then seq): position = row number."""

    when: list[str]
    instant: np.ndarray
    day: np.ndarray
    hour: np.ndarray
    kind: np.ndarray
    platform: np.ndarray
    sender: np.ndarray
    sender_id: np.ndarray
    pairs: pd.DataFrame      # one line per counted (sender → recipient): frm, to, pos, …
    touches: pd.DataFrame    # one line per (row, suspect, identifier): pos, person, ident, n
    persons: _Codes
    idents: _Codes
    kinds: _Codes
    platforms: _Codes

    def utc(self, pos: int) -> str:
        return self.when[pos]


def analyse(rows: Iterable[dict], *, zone: str, persons: Sequence[PersonLike],
            annotations: Sequence[AnnotationLike] = (), night_hours: tuple[int, int] = (22, 6),
            burst_window_min: int = 60, burst_min_events: int = 10) -> dict:
    """The course-of-conduct figures of a timeline's rows (see the module's docstring)."""
    _check(night_hours, burst_window_min, burst_min_events)
    suspects = sorted({p.key for p in persons if p.role == "suspect"})
    victims = sorted({p.key for p in persons if p.role == "victim"})
    # The four string tables: persons, identifiers, kinds, platforms. The case's persons are
    # entered first so that a suspect or victim without traffic still has a code.
    codes = person_codes, _, _, _ = _Codes(), _Codes(), _Codes(), _Codes()
    for key in sorted({p.key for p in persons}):
        person_codes.code(key)
    wanted = frozenset(a.event_id for a in annotations)
    columns = _collect(rows, zone, wanted, frozenset(suspects), *codes)
    timeline = _arrange(columns, *codes)
    on_timeline = [a for a in annotations if a.event_id in columns.marked]
    # Marks on events not in the timeline (another build, a mistyped id) are ignored, but said.
    lost_marks = sum(1 for a in annotations if a.event_id not in columns.marked
                     and set(UNWANTED_TAGS).intersection(a.tags))
    focus = [_focus(timeline, s, v, victims, on_timeline, columns.marked, lost_marks,
                    burst_window_min, burst_min_events)
             for s in suspects for v in victims]
    return _plain({
        "zone": zone,
        "night_hours": [int(night_hours[0]), int(night_hours[1])],
        "burst": {"window_min": burst_window_min, "min_events": burst_min_events},
        "pairs": _pairs(timeline, night_hours),
        "focus": focus,
        "annotations": _annotation_counts(on_timeline, len(annotations) - len(on_timeline)),
    })


def _check(night_hours: tuple[int, int], window_min: int, min_events: int) -> None:
    if len(night_hours) != 2 or not all(0 <= int(h) <= 23 for h in night_hours):
        raise ValueError(f"night_hours must be two hours 0-23, not {night_hours!r}")
    if window_min <= 0 or min_events <= 0:
        raise ValueError("burst_window_min and burst_min_events must be positive")


# ---------------------------------------------------------------------------- collecting rows

def _collect(rows: Iterable[dict], zone: str, wanted: frozenset[str], suspects: frozenset[str],
             persons: _Codes, idents: _Codes, kinds: _Codes, platforms: _Codes) -> _Columns:
    """One pass over the rows, keeping only what the figures need, as columns."""
    clock = civil_clock(zone)
    ordinals: dict[str, int] = {}
    out = _Columns()
    for position, row in enumerate(rows):
        if wanted and row.get("event_id") in wanted:
            out.marked[row["event_id"]] = _mark_of(row, position)
        when = row.get("occurred_utc")
        if when is None or row.get("kind") == "diary":
            continue   # undated, or a recollection: counted in no figure
        flags = row.get("flags")
        if flags and NOT_SENT.intersection(flags):
            continue   # a draft, or a message never sent, reached no one
        sender = row.get("sender_person")
        receivers = row.get("recipient_persons") or ()
        if sender is None and not any(receivers):
            continue   # names no person: in no pair and no suspect's figures
        civil, day = clock.local(when)
        ordinal = ordinals.get(day)
        if ordinal is None:
            ordinal = ordinals[day] = date.fromisoformat(day).toordinal()
        index = len(out.when)
        out.when.append(when)
        out.seq.append(int(row.get("seq", position)))
        out.day.append(ordinal)
        out.hour.append(int(civil[11:13]))   # the wall-clock hour CivilClock wrote
        out.kind.append(kinds.code(row.get("kind")))
        out.platform.append(platforms.code(row.get("platform")))
        out.sender.append(persons.code(sender))
        out.sender_id.append(idents.code(row.get("sender")))
        if sender is not None:
            for receiver in dict.fromkeys(receivers):   # distinct, in order
                if receiver is not None and receiver != sender:
                    out.pair_row.append(index)
                    out.pair_to.append(persons.code(receiver))
        if suspects and (sender in suspects or suspects.intersection(receivers)):
            _touch(out, index, row, sender, receivers, suspects, persons, idents)
    return out


def _mark_of(row: dict, position: int) -> _Marked:
    named = {row.get("sender_person"), *(row.get("recipient_persons") or ())} - {None}
    return _Marked(row.get("occurred_utc"), int(row.get("seq", position)), frozenset(named))


def _touch(out: _Columns, index: int, row: dict, sender: str | None, receivers: Sequence,
           suspects: frozenset[str], persons: _Codes, idents: _Codes) -> None:
    """Record each suspect's identifiers in a row the suspect sent or received (once a row)."""
    seen: dict[tuple[str, str | None], None] = {}
    if sender in suspects:
        seen[(sender, row.get("sender"))] = None
    for ident, person in zip(row.get("recipients") or (), receivers):
        if person in suspects:
            seen[(person, ident)] = None
    for person, ident in seen:
        out.touch_row.append(index)
        out.touch_person.append(persons.code(person))
        out.touch_id.append(idents.code(ident))


def _arrange(c: _Columns, persons: _Codes, idents: _Codes, kinds: _Codes,
             platforms: _Codes) -> _Timeline:
    """Put the columns in time order, so that a row's position orders it (ties by seq)."""
    if c.when:
        parsed = pd.to_datetime(pd.Series(c.when, dtype=object), format="ISO8601", utc=True)
        instant = pd.DatetimeIndex(parsed).as_unit("us").asi8   # microseconds since 1970
    else:
        instant = np.zeros(0, dtype="int64")
    order = np.lexsort((_np(c.seq), instant))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))

    sender = _np(c.sender)[order]
    pair_pos = rank[_np(c.pair_row)]
    pairs = pd.DataFrame({"frm": sender[pair_pos], "to": _np(c.pair_to), "pos": pair_pos})
    touch_pos = rank[_np(c.touch_row)]
    touches = pd.DataFrame({"pos": touch_pos, "person": _np(c.touch_person),
                            "ident": _np(c.touch_id),
                            "n": np.arange(len(touch_pos))})   # order within a row
    return _Timeline([c.when[i] for i in order], instant[order], _np(c.day)[order].astype("int64"),
                     _np(c.hour)[order], _np(c.kind)[order], _np(c.platform)[order],
                     sender, _np(c.sender_id)[order], pairs, touches,
                     persons, idents, kinds, platforms)


def _np(column: array) -> np.ndarray:
    """An array's numbers as a numpy array, without a copy (the buffer is shared)."""
    return np.frombuffer(column, dtype=np.dtype(column.typecode))


# ---------------------------------------------------------------------------------- pairs

def _is_night(hours: np.ndarray, night_hours: tuple[int, int]) -> np.ndarray:
    start, end = night_hours
    if start > end:   # the night spans midnight, as 22-6 does
        return (hours >= start) | (hours < end)
    return (hours >= start) & (hours < end)


def _pair_frame(t: _Timeline, night_hours: tuple[int, int]) -> pd.DataFrame:
    frame = t.pairs.copy()
    pos = frame["pos"].to_numpy()
    frame["day"] = t.day[pos]
    frame["week"] = frame["day"] - (frame["day"] + 6) % 7   # back to Monday (ordinal 1 is one)
    frame["hour"] = t.hour[pos]
    frame["night"] = _is_night(t.hour[pos], night_hours)
    frame["kind"] = t.kind[pos]
    frame["platform"] = t.platform[pos]
    return frame


def _counts(frame: pd.DataFrame, *columns: str) -> dict[tuple[int, int], list[tuple]]:
    """Events per value of ``columns`` for each pair: {(frm, to): [(value…, n), …]}."""
    found: dict[tuple[int, int], list[tuple]] = {}
    sizes = frame.groupby(["frm", "to", *columns], sort=True).size()
    for key, n in zip(sizes.index, sizes.to_numpy()):
        found.setdefault((int(key[0]), int(key[1])), []).append((*key[2:], int(n)))
    return found


def _pairs(t: _Timeline, night_hours: tuple[int, int]) -> list[dict[str, Any]]:
    if t.pairs.empty:
        return []
    frame = _pair_frame(t, night_hours)
    basic = frame.groupby(["frm", "to"], sort=True).agg(
        events=("pos", "size"), first=("pos", "min"), last=("pos", "max"), night=("night", "sum"))
    tables = {name: _counts(frame, *cols) for name, cols in (
        ("platform", ("platform",)), ("kind", ("kind",)), ("hour", ("hour",)),
        ("day", ("day",)), ("week", ("week",)), ("week_platform", ("week", "platform")))}
    found = []
    for (frm, to), line in basic.iterrows():
        key = (int(frm), int(to))
        found.append(_pair(t, key, line, {name: table[key] for name, table in tables.items()}))
    found.sort(key=lambda p: (p["from"], p["to"]))
    return found


def _pair(t: _Timeline, key: tuple[int, int], line: pd.Series,
          counts: dict[str, list[tuple]]) -> dict[str, Any]:
    days = np.array([d for d, _ in counts["day"]], dtype="int64")
    by_hour = [0] * 24
    for hour, n in counts["hour"]:
        by_hour[int(hour)] = n
    weeks = _weeks(counts["week"])
    by_week_platform: dict[str, dict[str, int]] = {}
    for week, platform, n in counts["week_platform"]:
        by_week_platform.setdefault(_day(week), {})[t.platforms.names[platform]] = n
    return {
        "from": t.persons.names[key[0]], "to": t.persons.names[key[1]],
        "events": int(line["events"]), "days": len(days),
        "first_utc": t.utc(int(line["first"])), "last_utc": t.utc(int(line["last"])),
        "span_days": int(days[-1] - days[0] + 1),
        **_runs_and_gaps(days),
        "by_platform": _named(counts["platform"], t.platforms),
        "by_kind": _named(counts["kind"], t.kinds),
        "by_hour": by_hour, "night_events": int(line["night"]),
        "by_day": {_day(d): n for d, n in counts["day"]},
        "weekly": [{"week_start": _day(w), "events": n} for w, n in weeks],
        "by_week_platform": _sorted(by_week_platform),
        "trend": _trend(np.array([n for _, n in weeks], dtype="float64")),
    }


def _day(ordinal: int) -> str:
    return date.fromordinal(int(ordinal)).isoformat()


def _named(counts: list[tuple], codes: _Codes) -> dict[str, int]:
    return dict(sorted((codes.names[value], n) for value, n in counts))


def _sorted(table: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {key: dict(sorted(inner.items())) for key, inner in sorted(table.items())}


def _weeks(counts: list[tuple]) -> list[tuple[int, int]]:
    """Every week from the first to the last with its events; weeks without any as 0: a quiet
    week is itself a fact the chart must show."""
    found = dict(counts)
    first, last = min(found), max(found)
    return [(week, found.get(week, 0)) for week in range(first, last + 1, 7)]


def _runs_and_gaps(days: np.ndarray) -> dict[str, Any]:
    """The longest run of consecutive days with events and the longest stretch without any
    between two days with events (the earliest on a tie); ``days``: sorted distinct ordinals."""
    steps = np.diff(days)
    breaks = np.flatnonzero(steps != 1)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(days) - 1]))
    lengths = days[ends] - days[starts] + 1
    best = int(np.argmax(lengths))           # argmax takes the first: the earliest run
    gaps = steps - 1
    widest = int(np.argmax(gaps)) if len(gaps) else 0
    has_gap = len(gaps) > 0 and gaps[widest] > 0
    return {"longest_run_days": int(lengths[best]), "run_start": _day(days[starts[best]]),
            "run_end": _day(days[ends[best]]),
            "longest_gap_days": int(gaps[widest]) if has_gap else 0,
            "gap_after": _day(days[widest]) if has_gap else None,
            "gap_before": _day(days[widest + 1]) if has_gap else None}


def _trend(counts: np.ndarray) -> dict[str, Any]:
    """Mean events per week in the first and the second half of the weeks (the middle week of
    an odd number in neither) and the least-squares slope; one week has no trend."""
    n = len(counts)
    if n < 2:
        return {"weeks": n, "first_half_per_week": None, "second_half_per_week": None,
                "slope_per_week": None, "rising": False}
    half = n // 2
    first, second = float(counts[:half].mean()), float(counts[n - half:].mean())
    x = np.arange(n, dtype="float64") - (n - 1) / 2
    slope = float((x * (counts - counts.mean())).sum() / (x * x).sum())
    return {"weeks": n, "first_half_per_week": first, "second_half_per_week": second,
            "slope_per_week": slope, "rising": bool(slope > 0 and second > first)}


# ---------------------------------------------------------------------------------- focus

def _focus(t: _Timeline, suspect: str, victim: str, victims: list[str],
           annotations: list[AnnotationLike], marked: dict[str, _Marked], off_timeline: int,
           window_min: int, min_events: int) -> dict[str, Any]:
    s, v = t.persons.index[suspect], t.persons.index[victim]
    pairs = t.pairs
    chosen = pairs[(pairs["frm"] == s) & (pairs["to"] == v)]
    pos = np.sort(chosen["pos"].to_numpy())   # this pair's rows, in time order
    return {
        "suspect": suspect, "victim": victim,
        "indicators": {
            "fixated": _fixated(t, s, len(pos)),
            "obsessive": _obsessive(t, pos, window_min, min_events),
            "unwanted": _unwanted(t, pos, victim, victims, annotations, marked, off_timeline),
            "repeated": _repeated(t, pos),
        },
        "channel_hopping": _channel_hopping(t, s),
    }


def _fixated(t: _Timeline, s: int, to_victim: int) -> dict[str, Any]:
    # Every counted row the suspect sent, to anyone (an identifier tied to no person included):
    # the share is of what the suspect is seen to send in these exhibits.
    sent = int(np.count_nonzero(t.sender == s))
    return {"suspect_events": sent, "to_victim": to_victim,
            "share": to_victim / sent if sent else None, "label": LABELS["fixated"]}


def _window_counts(instant: np.ndarray, window_min: int) -> np.ndarray:
    """Events in the window [t, t + window) starting at each event (instants sorted)."""
    ends = np.searchsorted(instant, instant + window_min * US_PER_MINUTE, side="left")
    return ends - np.arange(len(instant))


def _greedy_bursts(counts: np.ndarray, min_events: int) -> list[int]:
    """Window starts, largest window first (ties: earliest), skipping windows that share an
    event with one already taken."""
    candidates = np.flatnonzero(counts >= min_events)
    ranked = candidates[np.lexsort((candidates, -counts[candidates]))].tolist()
    sizes = counts.tolist()
    claimed = bytearray(len(sizes))
    taken = []
    for start in ranked:
        end = start + sizes[start] - 1
        # Windows taken before are at least as long as this one, so one that overlaps it holds
        # its first or its last event: checking the two ends is enough.
        if claimed[start] or claimed[end]:
            continue
        claimed[start:end + 1] = b"\x01" * (end - start + 1)
        taken.append(start)
    return taken


def _obsessive(t: _Timeline, pos: np.ndarray, window_min: int, min_events: int) -> dict[str, Any]:
    found: dict[str, Any] = {"max_in_window": 0, "max_window_start_utc": None, "bursts": [],
                             "bursts_total": 0, "label": LABELS["obsessive"]}
    if not len(pos):
        return found
    counts = _window_counts(t.instant[pos], window_min)
    peak = int(np.argmax(counts))
    taken = _greedy_bursts(counts, min_events)
    bursts = []
    for start in sorted(taken[:MAX_BURSTS]):
        rows = pos[start:start + int(counts[start])]
        bursts.append({"start_utc": t.utc(int(rows[0])), "end_utc": t.utc(int(rows[-1])),
                       "events": len(rows), "by_kind": _tally(t.kind[rows], t.kinds)})
    found.update(max_in_window=int(counts[peak]), max_window_start_utc=t.utc(int(pos[peak])),
                 bursts=bursts, bursts_total=len(taken))
    return found


def _tally(values: np.ndarray, codes: _Codes) -> dict[str, int]:
    numbers, counts = np.unique(values, return_counts=True)
    return dict(sorted((codes.names[int(v)], int(n)) for v, n in zip(numbers, counts)))


def _instant(when: str | None) -> int | None:
    return None if when is None else instant_us(parse_utc(when))


def _marks(victim: str, victims: list[str], annotations: list[AnnotationLike],
           marked: dict[str, _Marked]) -> list[dict[str, Any]]:
    """The victim's marks: those on events naming this victim, or naming no victim at all (a
    mark on another victim's event is that victim's)."""
    found = []
    for note in annotations:
        event = marked[note.event_id]
        named = event.persons.intersection(victims)
        if named and victim not in named:
            continue
        for tag in UNWANTED_TAGS:
            if tag in note.tags:
                found.append({"tag": tag, "event_id": note.event_id, "marked_utc": event.when,
                              "by": note.by, "note": note.note, "seq": note.seq,
                              "_at": _instant(event.when), "_event_seq": event.seq})
    # In time order; an undated event's marks last; then the annotations' order.
    found.sort(key=lambda m: (m["_at"] is None, m["_at"] or 0, m["_event_seq"], m["seq"],
                              m["tag"]))
    return found


def _unwanted(t: _Timeline, pos: np.ndarray, victim: str, victims: list[str],
              annotations: list[AnnotationLike], marked: dict[str, _Marked],
              off_timeline: int) -> dict[str, Any]:
    marks = _marks(victim, victims, annotations, marked)
    dated = [m for m in marks if m["_at"] is not None]
    blocks = [m for m in dated if m["tag"] in BLOCK_TAGS]
    return {
        "marks": [{k: v for k, v in m.items() if not k.startswith("_")} for m in marks],
        "after_first_mark": _after(t, pos, dated[0]["_at"]) if dated else None,
        "new_identifiers_after_block": _new_identifiers(t, pos, blocks[0]["_at"])
        if blocks else None,
        "marks_not_on_timeline": off_timeline,
        "label": LABELS["unwanted"],
    }


def _after(t: _Timeline, pos: np.ndarray, moment: int) -> dict[str, Any]:
    later = pos[t.instant[pos] > moment]
    return {"events": len(later), "days": len(np.unique(t.day[later])),
            "first_utc": t.utc(int(later[0])) if len(later) else None,
            "by_platform": _tally(t.platform[later], t.platforms)}


def _new_identifiers(t: _Timeline, pos: np.ndarray, moment: int) -> list[dict[str, Any]]:
    """The suspect's sending identifiers towards the victim first seen after ``moment``."""
    used = pd.DataFrame({"pos": pos, "ident": t.sender_id[pos]})
    used = used[used["ident"] != NO_CODE]
    found = []
    for ident, group in used.groupby("ident", sort=False):
        first = int(group["pos"].min())
        if t.instant[first] > moment:
            found.append((first, {"identifier": t.idents.names[int(ident)],
                                  "platform": t.platforms.names[int(t.platform[first])],
                                  "first_utc": t.utc(first), "events": len(group)}))
    return [item for _, item in sorted(found, key=lambda f: f[0])]


def _repeated(t: _Timeline, pos: np.ndarray) -> dict[str, Any]:
    if not len(pos):
        return {"events": 0, "days": 0, "first_utc": None, "last_utc": None, "span_days": 0,
                "label": LABELS["repeated"]}
    days = t.day[pos]
    return {"events": len(pos), "days": len(np.unique(days)), "first_utc": t.utc(int(pos[0])),
            "last_utc": t.utc(int(pos[-1])), "span_days": int(days.max() - days.min() + 1),
            "label": LABELS["repeated"]}


def _channel_hopping(t: _Timeline, s: int) -> dict[str, Any]:
    touches = t.touches[t.touches["person"] == s].sort_values(["pos", "n"])
    idents = touches[touches["ident"] != NO_CODE]
    identifiers = []
    if not idents.empty:
        spans = idents.groupby("ident", sort=False)["pos"].agg(["min", "max", "size"])
        for ident in idents.drop_duplicates("ident")["ident"]:   # in order of first appearance
            first, last, events = (int(x) for x in spans.loc[ident])
            identifiers.append({"identifier": t.idents.names[int(ident)],
                                "platform": t.platforms.names[int(t.platform[first])],
                                "first_utc": t.utc(first), "last_utc": t.utc(last),
                                "events": events})
    rows = np.unique(touches["pos"].to_numpy())   # each row once, however many identifiers
    platforms = []
    if len(rows):
        frame = pd.DataFrame({"pos": rows, "platform": t.platform[rows]})
        spans = frame.groupby("platform", sort=False)["pos"].agg(["min", "size"])
        for platform, (first, events) in spans.sort_values("min").iterrows():
            platforms.append({"platform": t.platforms.names[int(platform)],
                              "first_utc": t.utc(int(first)), "events": int(events)})
    return {"identifiers": identifiers, "platforms": platforms}


def _annotation_counts(on_timeline: list[AnnotationLike], off_timeline: int) -> dict[str, Any]:
    by_tag: dict[str, int] = {}
    for note in on_timeline:
        for tag in note.tags:
            by_tag[tag] = by_tag.get(tag, 0) + 1
    return {"entries": len(on_timeline), "by_tag": dict(sorted(by_tag.items())),
            "not_on_timeline": off_timeline}


# --------------------------------------------------------------------------------- output

def _plain(value: Any) -> Any:
    """JSON-ready and the same on every run: Python numbers, floats to 2 places, no NaN."""
    if isinstance(value, dict):
        return {str(k): _plain(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return round(number, 2) + 0.0 if math.isfinite(number) else None   # + 0.0: no "-0.0"
    return value
