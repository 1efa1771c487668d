"""Course-of-conduct figures gathered while the timeline is written: facts, not findings.

* pairs: for every ordered pair of persons with traffic, events, distinct days (in the case's
  zone), first and last, by platform and by kind;
* possible breaches: each event from an order's respondent to the protected person after the
  order was served and before it expired (orders with ``no_contact``); contact in that window
  with anyone else is listed apart as possible indirect contact, never counted as a breach;
* unknown identifiers: identifiers not tied to any person that exchanged traffic with a victim.

Drafts and messages the device failed to send are on the timeline but counted in none of these:
they reached no one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Protocol

from courseline.timeline.identity import could_be_a_person
from courseline.timeline.timeutil import civil_clock, parse_utc


NOT_SENT = frozenset({"draft", "failed"})


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


def order_label(order: OrderTerms, index: int) -> str:
    """How an order is named in the outputs: its reference, or its kind and place in the case file."""
    return order.reference or f"{order.kind} (order {index + 1} in the case file)"


class ConductAccumulator:
    def __init__(self, zone: str, victims: Iterable[str], orders: Iterable[OrderTerms]):
        self.clock = civil_clock(zone)
        self.victims = frozenset(victims)
        self.orders = [(order_label(order, index), order) for index, order in enumerate(orders)]
        self.respondents = frozenset(order.against for _, order in self.orders)
        self.pairs: dict[tuple[str, str], _Pair] = defaultdict(_Pair)
        self.unknown: dict[str, _Unknown] = defaultdict(_Unknown)
        self.breaches: list[dict[str, Any]] = []
        self.indirect: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any], day: str | None = None) -> None:
        """Count a timeline row; ``day``: its civil date in the case zone, when known."""
        flags = row.get("flags")
        if flags and NOT_SENT.intersection(flags):
            return  # a draft, or a message the phone never sent, reached no one
        when = row["occurred_utc"]
        sender = row["sender_person"]
        receivers = [p for p in row["recipient_persons"] if p]
        if day is None:
            day = self.clock.local(when)[1]
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
        }

    def unknown_identifiers(self) -> list[dict[str, Any]]:
        return [{"identifier": ident, "events": u.events, "first_utc": u.first_utc,
                 "last_utc": u.last_utc, "with": sorted(u.persons),
                 "could_be_tied_to_a_person": could_be_a_person(ident)}
                for ident, u in sorted(self.unknown.items())]
