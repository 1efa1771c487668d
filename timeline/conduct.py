"""Course-of-conduct figures gathered while the timeline is written: facts, not findings.

* pairs: for every ordered pair of persons with traffic, events, distinct days (in the case's
  zone), first and last, by platform and by kind;
* possible breaches: each event from an order's respondent to the protected person after the
  order was served and before it expired (orders with ``no_contact``); contact in that window
  with anyone else is listed apart as possible indirect contact, never counted as a breach;
* unknown identifiers: identifiers not tied to any person that exchanged traffic with a victim;
* places: each event whose position lies within a case-file place's radius (great-circle
  distance, whole metres, the position's own accuracy beside it), listed under that place;
* stalkerware indicators: each installed app (an ``app`` record) whose package or signing
  certificate the case's indicator file lists, with the entry and the file's hash: a match with
  a list, not a finding that the app was used;
* diary: each entry of the victim's diary with the device and account records of the same day
  that corroborate it: the same channel, the same place, the same person, or (for someone not
  tied to a person) the same account or number (reasons listed).
  Diary entries are recollections: they are counted in none of the figures above.

Drafts and messages the device failed to send are on the timeline but counted in none of these:
they reached no one.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Protocol

from courseline.timeline.identity import could_be_a_person
from courseline.timeline.indicators import PACKAGE_DETAIL, Indicators
from courseline.timeline.timeutil import civil_clock, parse_utc

NOT_SENT = frozenset({"draft", "failed"})
EARTH_RADIUS_M = 6_371_008.8          # the mean radius (IUGG): distances are good to about 0.5 %
MAX_LISTED_PER_PLACE = 10_000         # events listed under one place; all are counted
MAX_CORROBORATING = 200               # records listed under one diary entry; all are counted
# The diary's "channel" words, and the records each means: (platforms, kinds); empty: any.
CHANNELS: tuple[tuple[tuple[str, ...], frozenset[str], frozenset[str]], ...] = (
    (("whatsapp",), frozenset({"whatsapp"}), frozenset()),
    (("instagram",), frozenset({"instagram"}), frozenset()),
    (("facebook", "messenger"), frozenset({"facebook"}), frozenset()),
    (("telegram",), frozenset({"telegram"}), frozenset()),
    (("snapchat",), frozenset({"snapchat"}), frozenset()),
    (("signal",), frozenset({"signal"}), frozenset()),
    (("twitter", "x.com"), frozenset({"x"}), frozenset()),
    (("discord",), frozenset({"discord"}), frozenset()),
    (("e-mail", "email"), frozenset(), frozenset({"email"})),
    (("text", "sms"), frozenset(), frozenset({"sms", "mms"})),
    (("call", "phone", "voicemail"), frozenset(), frozenset({"call"})),
    (("in person", "saw", "seen", "followed", "outside", "car"), frozenset(),
     frozenset({"location", "media"})),
)


class OrderTerms(Protocol):
    kind: str
    reference: str
    protects: str
    against: str
    served: datetime
    expires: datetime | None
    no_contact: bool


@dataclass
class _Pair:
    events: int = 0
    days: set[str] = field(default_factory=set)
    first_utc: str | None = None
    last_utc: str | None = None
    by_platform: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)


@dataclass
class _Unknown:
    events: int = 0
    first_utc: str | None = None
    last_utc: str | None = None
    persons: set[str] = field(default_factory=set)


class PlaceTerms(Protocol):
    name: str
    lat: float
    lon: float
    radius_m: float


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, on a sphere of the Earth's mean radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass
class _Place:
    terms: PlaceTerms
    events: int = 0
    listed: list[dict[str, Any]] = field(default_factory=list)


def _brief(row: dict[str, Any], day: str, places: list[str]) -> dict[str, Any]:
    """What corroboration needs of a row, kept for the days that have diary entries."""
    return {"event_id": row["event_id"], "seq": row["seq"], "occurred_utc": row["occurred_utc"],
            "precision": row.get("precision"), "day": day, "kind": row["kind"],
            "platform": row["platform"], "sender_person": row["sender_person"],
            "persons": {row["sender_person"], *row["recipient_persons"]} - {None},
            "identifiers": {row["sender"], *row["recipients"]} - {None},
            "sender": row["sender"],
            "places": places,
            "exhibits": _exhibits(row)}


def _exhibits(row: dict[str, Any]) -> list[str]:
    return sorted({p["exhibit"] for p in row["provenance"]})


def _channel(words: str) -> tuple[frozenset[str], frozenset[str]]:
    """The platforms and kinds of record a diary's channel words mean."""
    platforms: set[str] = set()
    kinds: set[str] = set()
    for names, on, of in CHANNELS:
        if any(name in words for name in names):
            platforms |= on
            kinds |= of
    return frozenset(platforms), frozenset(kinds)


def order_label(order: OrderTerms, index: int) -> str:
    """How an order is named in the outputs: its reference, or its kind and place in the case file."""
    return order.reference or f"{order.kind} (order {index + 1} in the case file)"


class ConductAccumulator:
    def __init__(self, zone: str, victims: Iterable[str], orders: Iterable[OrderTerms],
                 places: Iterable[PlaceTerms] = (), diary_days: Iterable[str] = (),
                 indicators: Indicators | None = None):
        self.clock = civil_clock(zone)
        self.victims = frozenset(victims)
        self.orders = [(order_label(order, index), order) for index, order in enumerate(orders)]
        self.respondents = frozenset(order.against for _, order in self.orders)
        self.pairs: dict[tuple[str, str], _Pair] = defaultdict(_Pair)
        self.unknown: dict[str, _Unknown] = defaultdict(_Unknown)
        self.breaches: list[dict[str, Any]] = []
        self.indirect: list[dict[str, Any]] = []
        self.places = [_Place(place) for place in places]
        self.diary_days = frozenset(diary_days)
        self.indicators = indicators
        self.app_matches: list[dict[str, Any]] = []
        self.diaries: list[dict[str, Any]] = []
        self.day_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, row: dict[str, Any], day: str | None = None) -> None:
        """Count a timeline row; ``day``: its civil date in the case zone, when known."""
        when = row["occurred_utc"]
        near = self._near_places(row) if self.places and row.get("location") else []
        if self.indicators is not None and row["kind"] == "app":
            self._indicators(row)
        if when is None:
            return   # undated: listed near places, counted in no figure of time
        if day is None:
            day = self.clock.local(when)[1]
        if row["kind"] == "diary":
            self.diaries.append({**_brief(row, day, near), "details": row.get("details") or {}})
            return   # a recollection: evidence of its own kind, counted in no figure
        if day in self.diary_days:
            self.day_rows[day].append(_brief(row, day, near))
        flags = row.get("flags")
        if flags and NOT_SENT.intersection(flags):
            return  # a draft, or a message the phone never sent, reached no one
        sender = row["sender_person"]
        receivers = [p for p in row["recipient_persons"] if p]
        if sender:
            for receiver in dict.fromkeys(receivers):
                if receiver == sender:
                    continue
                pair = self.pairs[(sender, receiver)]
                pair.events += 1
                pair.days.add(day)
                pair.first_utc = pair.first_utc or when
                pair.last_utc = when
                pair.by_platform[row["platform"]] += 1
                pair.by_kind[row["kind"]] += 1
        self._unknown_identifiers(row, sender, receivers)
        if sender in self.respondents:
            self._orders(row, parse_utc(when), sender, receivers)

    def _indicators(self, row: dict[str, Any]) -> None:
        matches = self.indicators.match_details(row.get("details") or {})
        if matches:
            self.app_matches.append({
                "event_id": row["event_id"], "seq": row["seq"], "occurred_utc": row["occurred_utc"],
                "package": (row.get("details") or {}).get(PACKAGE_DETAIL),
                "matches": [match.as_dict() for match in matches],
                "exhibits": _exhibits(row)})

    def _near_places(self, row: dict[str, Any]) -> list[str]:
        """The names of the places the row's position is within, each listing the row."""
        where = row["location"]
        names = []
        for place in self.places:
            terms = place.terms
            metres = distance_m(terms.lat, terms.lon, where["lat"], where["lon"])
            if metres > terms.radius_m:
                continue
            place.events += 1
            names.append(terms.name)
            if len(place.listed) < MAX_LISTED_PER_PLACE:
                place.listed.append({
                    "event_id": row["event_id"], "seq": row["seq"],
                    "occurred_utc": row["occurred_utc"], "kind": row["kind"],
                    "platform": row["platform"], "distance_m": round(metres),
                    "accuracy_m": where.get("accuracy_m"),
                    "exhibits": _exhibits(row)})
        return names

    def _unknown_identifiers(self, row: dict[str, Any], sender: str | None,
                             receivers: list[str]) -> None:
        victims = self.victims.intersection(receivers)
        if sender in self.victims:
            victims = victims | {sender}
        if not victims:
            return
        idents = [(row["sender"], sender)] + list(zip(row["recipients"], row["recipient_persons"], strict=True))
        for ident, person in idents:
            if ident and person is None:
                item = self.unknown[ident]
                item.events += 1
                item.first_utc = item.first_utc or row["occurred_utc"]
                item.last_utc = row["occurred_utc"]
                item.persons |= victims

    def _orders(self, row: dict[str, Any], moment: datetime, sender: str | None,
                receivers: list[str]) -> None:
        if not sender:
            return
        for label, order in self.orders:
            if not order.no_contact or sender != order.against or moment < order.served:
                continue
            if order.expires is not None and moment >= order.expires:
                continue
            item = {"order": label, "event_id": row["event_id"],
                    "occurred_utc": row["occurred_utc"], "platform": row["platform"]}
            if order.protects in receivers:
                self.breaches.append(item)
            else:
                self.indirect.append({**item, "to": sorted(set(receivers)) or None,
                                      "identifiers": row["recipients"]})

    def extend(self, later: "ConductAccumulator") -> None:
        """Add the figures gathered from the rows that follow this accumulator's rows."""
        for key, pair in later.pairs.items():
            mine = self.pairs[key]
            mine.events += pair.events
            mine.days |= pair.days
            mine.first_utc = mine.first_utc or pair.first_utc
            mine.last_utc = pair.last_utc or mine.last_utc
            mine.by_platform.update(pair.by_platform)
            mine.by_kind.update(pair.by_kind)
        for ident, item in later.unknown.items():
            mine_item = self.unknown[ident]
            mine_item.events += item.events
            mine_item.first_utc = mine_item.first_utc or item.first_utc
            mine_item.last_utc = item.last_utc or mine_item.last_utc
            mine_item.persons |= item.persons
        self.breaches += later.breaches
        self.indirect += later.indirect
        for mine_place, place in zip(self.places, later.places, strict=True):
            mine_place.events += place.events
            room = MAX_LISTED_PER_PLACE - len(mine_place.listed)
            mine_place.listed += place.listed[:max(room, 0)]
        self.diaries += later.diaries
        self.app_matches += later.app_matches
        for day, rows in later.day_rows.items():
            self.day_rows[day] += rows

    def conduct(self) -> dict[str, Any]:
        pairs = [{
            "from": sender, "to": receiver, "events": p.events, "days": len(p.days),
            "first_utc": p.first_utc, "last_utc": p.last_utc,
            "by_platform": dict(sorted(p.by_platform.items())),
            "by_kind": dict(sorted(p.by_kind.items())),
        } for (sender, receiver), p in sorted(self.pairs.items())]
        counts = Counter(b["order"] for b in self.breaches)
        return {
            "pairs": pairs,
            "breaches": self.breaches,
            "breach_counts": dict(sorted(counts.items())),
            "repeated_breaches": sorted(order for order, n in counts.items() if n >= 2),
            "possible_indirect_contact": self.indirect,
            "places": [{
                "place": p.terms.name, "lat": p.terms.lat, "lon": p.terms.lon,
                "radius_m": p.terms.radius_m, "events": p.events, "listed": len(p.listed),
                "near": p.listed,
            } for p in self.places],
            "diary": [self._corroboration(entry) for entry in self.diaries],
            "stalkerware_indicators": None if self.indicators is None else {
                "file": self.indicators.source.name, "sha256": self.indicators.source.sha256,
                "entries": self.indicators.source.entries, "matches": self.app_matches},
        }

    def _corroboration(self, entry: dict[str, Any]) -> dict[str, Any]:
        """A diary entry and the records of its day that share its channel, place or person."""
        details = entry["details"]
        channel = str(details.get("channel", "")).casefold()
        platforms, kinds = _channel(channel)
        place = str(details.get("place", "")).casefold()
        person, account = entry["sender_person"], entry["sender"]
        found = []
        for row in self.day_rows.get(entry["day"], ()):
            because = []
            if channel and (row["platform"] in platforms or row["kind"] in kinds):
                because.append("same channel")
            if place and place in (name.casefold() for name in row["places"]):
                because.append("same place")
            if person and person in row["persons"]:
                because.append("same person")
            elif account and account in row["identifiers"]:
                because.append("same account")
            if because:
                found.append({"event_id": row["event_id"], "seq": row["seq"],
                              "occurred_utc": row["occurred_utc"], "kind": row["kind"],
                              "platform": row["platform"], "because": because,
                              "exhibits": row["exhibits"]})
        return {"event_id": entry["event_id"], "seq": entry["seq"],
                "occurred_utc": entry["occurred_utc"], "precision": entry["precision"],
                "day": entry["day"], "who": person, "channel": details.get("channel"),
                "place": details.get("place"),
                "written_days_after": details.get("written_days_after"),
                "corroborating": len(found), "corroborated_by": found[:MAX_CORROBORATING]}

    def unknown_identifiers(self) -> list[dict[str, Any]]:
        return [{"identifier": ident, "events": u.events, "first_utc": u.first_utc,
                 "last_utc": u.last_utc, "with": sorted(u.persons),
                 "could_be_tied_to_a_person": could_be_a_person(ident)}
                for ident, u in sorted(self.unknown.items())]
