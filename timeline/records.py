"""From a parser's :class:`Event` to the normalised record that is stored, hashed and sealed.

The record holds what the source says (verbatim fields) and what the core derived from the
source's settings (UTC time, normalised identifiers, direction from the owner's identifiers), each
derivation named; it is what ``event_id`` hashes. A change to those settings (the source's zone or
clock offset, the owner's identifiers) parses the source again and may change its event ids. Who
the identifiers belong to (``sender_person``, ``recipient_persons``) is added when the timeline is
written and is not part of ``event_id``: naming a new identifier of the suspect in the case file
changes the attribution, not the events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from courseline.timeline.event import Event, canonical_json, clean_text, sha256_hex
from courseline.timeline.identity import PLATFORM_SCHEMES, normalise
from courseline.timeline.timeutil import normalise as normalise_time

# Fields a third party strips from a timeline row to recompute its event_id (courseline/docs/VERIFYING.md).
# The version of how an event becomes a record here (direction, identifiers…): stored events
# made under other rules are made again, so a fresh parse (verify) gives the same records.
RECORD_RULES = "2"   # 2: the owner's addresses overrule a folder that says the other way

NOT_HASHED = ("event_id", "seq", "chain", "provenance", "sender_person", "recipient_persons")


@dataclass(frozen=True)
class SourceSettings:
    """What the records of one source depend on besides its bytes."""

    zone: str
    case_zone: str
    clock_offset_seconds: float
    region: str
    owner_identifiers: frozenset[str]
    owner_key: str | None = None
    options: str = "{}"   # canonical JSON of the source's parser options (a CSV column mapping)

    def parse_key(self, parser: str, parser_version: str) -> str:
        return sha256_hex(canonical_json({
            "parser": parser, "parser_version": parser_version, "zone": self.zone,
            "case_zone": self.case_zone, "clock_offset_seconds": self.clock_offset_seconds,
            "region": self.region, "owner": sorted(self.owner_identifiers),
            "owner_key": self.owner_key, "options": self.options, "rules": RECORD_RULES,
        }))

    def owner_identifier(self, scheme: str) -> str | None:
        """How the device owner is written where a record leaves them out (``owner_side``): their
        one identifier of that scheme in the case file, else ``owner:<person key>`` (a person
        with two numbers: the record does not say which one the device used)."""
        try:
            return self._owner_by_scheme[scheme]
        except KeyError:
            pass
        found = None
        if self.owner_key is not None:
            mine = sorted(i for i in self.owner_identifiers if i.startswith(f"{scheme}:"))
            found = mine[0] if len(mine) == 1 else f"owner:{self.owner_key}"
        self._owner_by_scheme[scheme] = found
        return found

    @cached_property
    def _owner_by_scheme(self) -> dict[str, str | None]:
        return {}   # filled as schemes are asked for: looked up once per phone record


_WHOLE_SCALARS = frozenset({str, int, bool, type(None)})


def _plain_whole(value: dict[str, Any]) -> bool:
    """Whether details are already plain (string keys) and hold no float: the common case."""
    if value.__class__ is not dict:
        return False
    for key, item in value.items():
        if key.__class__ is not str or item.__class__ not in _WHOLE_SCALARS:
            return False
    return True


def _plain(value: Any) -> Any:
    """Details as JSON types with string keys, so that sorting the keys cannot fail."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _json_safe(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _direction(event: Event, sender: str | None, recipients: list[str],
               owner: frozenset[str]) -> tuple[str, str | None]:
    if event.direction != "unknown":
        # A folder or label (a message filed in Sent) says what its store thought; where the
        # addresses show the owner on the other side, they win and the basis says so.
        if event.direction == "outgoing" and sender and owner and sender not in owner \
                and owner.intersection(recipients):
            return "incoming", "owner (the source's folder or label said outgoing)"
        if event.direction == "incoming" and owner and sender in owner \
                and not owner.intersection(recipients):
            return "outgoing", "owner (the source's folder or label said incoming)"
        return event.direction, "source"
    if owner and sender in owner:
        return "outgoing", "owner"
    if owner and owner.intersection(recipients):
        return "incoming", "owner"
    return "unknown", None


@dataclass(frozen=True)
class Normalised:
    """An event's record, its canonical text (what ``event_id`` hashes) and its instant."""

    record: dict[str, Any]
    text: str
    instant_us: int


def normalise_event(event: Event, settings: SourceSettings) -> Normalised:
    """The record of an event in canonical form. Text that cannot be written as UTF-8 (lone
    surrogates from a damaged source) is repaired field by field, only when there is any."""
    record, instant, floats = _record(event, settings)
    text = canonical_json(record, floats)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        record = _json_safe(record)
        text = canonical_json(record)
    return Normalised(record, text, instant)


def _record(event: Event, settings: SourceSettings) -> tuple[dict[str, Any], int, bool]:
    """The record, its instant, and whether it may hold a float (a location, details with one)."""
    event.check()
    when = normalise_time(event.time, settings.zone, settings.case_zone,
                          settings.clock_offset_seconds)
    sender = str(normalise(event.sender, settings.region)) if event.sender else None
    recipients: list[str] = []
    for written in event.recipients:
        ident = str(normalise(written, settings.region))
        if ident not in recipients:
            recipients.append(ident)
    owner_side = None
    if event.owner_side:
        scheme = (sender or (recipients[0] if recipients else "")).partition(":")[0]
        if scheme in ("owner", ""):
            # Nothing in the record names a scheme: the platform's own, else a phone's number.
            scheme = event.platform if event.platform in PLATFORM_SCHEMES else "tel"
        owner = settings.owner_identifier(scheme)
        if owner and event.owner_side == "sender" and sender is None:
            sender, owner_side = owner, "sender"
        elif owner and event.owner_side == "recipients" and owner not in recipients:
            # Alone, or beside the other members of a group chat.
            recipients, owner_side = [*recipients, owner], "recipients"
    direction, direction_basis = _direction(event, sender, recipients, settings.owner_identifiers)
    whole = _plain_whole(event.details)
    floats = not whole or event.location is not None or event.duration_s.__class__ is float
    return {
        "occurred_utc": when.occurred_utc,
        "precision": when.precision,
        "time_basis": when.time_basis,
        "time_raw": when.time_raw,
        "time_source": when.time_source,
        "time_zone": when.time_zone,
        "time_flags": list(when.time_flags),
        "time_readings": list(when.time_readings),
        "time_uncorrected_utc": when.uncorrected_utc,
        "kind": event.kind,
        "platform": event.platform,
        "direction": direction,
        "direction_basis": direction_basis,
        "sender": sender,
        "recipients": recipients,
        "owner_side": owner_side,
        "subject": event.subject,
        "text": event.text,
        "call_status": event.call_status,
        "duration_s": event.duration_s,
        "attachments": [a.as_dict() for a in event.attachments],
        "location": event.location.as_dict() if event.location else None,
        "flags": sorted(set(event.flags)),
        "details": event.details if whole else _plain(event.details),
        "notes": list(event.notes),
    }, when.instant_us, floats


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _content(text: str | None) -> str:
    # Line endings and trailing spaces differ between copies of one message (CRLF in a .eml,
    # LF in an mbox); they are not evidence of a different message.
    if not text:
        return ""
    if "\r" not in text and "\n" not in text:
        return text.strip()
    return "\n".join(line.rstrip() for line in _LINE_BREAK.split(text)).strip()


def merge_key(record: dict[str, Any]) -> str:
    """Events from different sources with the same key, at agreeing times, are one event.

    A call is the same call whoever logged it, but the phone and the network (a carrier's
    call log) word an unanswered call differently (rejected / missed) and time a call's length by
    their own clocks. So for calls the key holds whether the call was answered, not the status
    word or the length; and a call timed only to the day never merges with one timed closer
    (a whole day is too wide a window to say two calls are one).
    """
    if record["kind"] == "call":
        outcome: Any = ["answered" if record["call_status"] == "answered" else "not answered",
                        record["precision"] == "day"]
        length = None
    else:
        outcome, length = record["call_status"], record["duration_s"]
    message_id = record["details"].get("message_id")  # the source's own id, where it has one
    return sha256_hex(canonical_json([
        record["platform"], record["kind"], record["sender"], sorted(record["recipients"]),
        message_id, _content(record["subject"]), _content(record["text"]), outcome, length,
        sorted(a["sha256"] for a in record["attachments"]),
    ], floats=length.__class__ not in _WHOLE_SCALARS or message_id.__class__ not in _WHOLE_SCALARS))
