"""The event model: what every parser yields and what the timeline seals.

A parser describes one source record as an :class:`Event` carrying a :class:`RawTime` (the time as
the source wrote it, and on what basis). It never converts local times itself: the core
(:mod:`courseline.timeline.timeutil`) turns the raw time into a UTC instant with the source's zone
and clock offset, and flags ambiguous or non-existent local times.

A record that cannot become an event is yielded as a :class:`Reject` with its locator and reason,
so that nothing a source holds is silently lost.

This module is the contract between the stages; parsers import it and nothing else from the
timeline package.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

KINDS = frozenset({
    "email", "sms", "mms", "call", "message", "post", "comment", "reaction", "friend-request",
    "media", "location", "diary", "app", "account",
})
PLATFORMS = frozenset({
    "email", "phone", "whatsapp", "facebook", "instagram", "x", "telegram", "snapchat", "discord",
    "google-chat", "google-voice", "signal", "device", "diary",
})
DIRECTIONS = frozenset({"incoming", "outgoing", "unknown"})
TIME_BASES = frozenset({"utc", "offset", "local", "assumed", "recalled"})
PRECISIONS = ("ms", "s", "min", "day")  # finest first
CALL_STATUSES = frozenset({"answered", "missed", "rejected", "blocked", "voicemail", "unanswered"})
FLAGS = frozenset({
    "deleted", "edited", "unsent", "forwarded", "draft", "spam", "sent", "trash", "truncated",
    "failed",  # the device tried to send it and could not (Android failed/outbox/queued boxes)
})

GENESIS = "0" * 64  # the "previous hash" of the first link of every hash chain

# Bounds on untrusted content kept in one event. Larger values are cut and the event says so.
MAX_TEXT_CHARS = 1_000_000
MAX_FIELD_CHARS = 10_000


@dataclass(frozen=True, init=False)
class RawTime:
    """A time exactly as a source recorded it, before the core normalises it.

    ``value`` is timezone-aware for the ``utc`` and ``offset`` bases, naive for ``local``
    (read in the source's zone), ``assumed`` (read in the case zone) and ``recalled``.
    ``source`` names the field the time came from, e.g. ``"Date header"``. ``device_clock`` says
    whether the source device's own clock wrote it: only then does the source's measured clock
    offset apply (an e-mail's Date header was written by the sender's clock, not the owner's).
    """

    raw: str
    value: datetime | None
    basis: str
    precision: str
    source: str
    device_clock: bool = True

    def __init__(self, raw: str, value: datetime | None, basis: str, precision: str,
                 source: str, device_clock: bool = True) -> None:
        # Made for every event: the frozen dataclass's own __init__ sets each field through
        # object.__setattr__, which costs more than the rest of a parser's work on a chat line.
        # The fields are written once here, straight into the instance, and frozen after.
        fields = self.__dict__
        fields["raw"], fields["value"], fields["basis"] = raw, value, basis
        fields["precision"], fields["source"], fields["device_clock"] = precision, source, device_clock
        self._check()

    def _check(self) -> None:
        value, basis = self.value, self.basis
        if value is not None and self.precision in PRECISIONS and (
                (basis == "utc" and value.tzinfo is UTC)
                or (basis == "local" and value.tzinfo is None)):
            return   # the common cases, checked first: this runs for every event
        if self.basis not in TIME_BASES:
            raise ValueError(f"unknown time basis {self.basis!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}")
        if self.value is not None:
            aware = self.value.tzinfo is not None and self.value.utcoffset() is not None
            if self.basis in ("utc", "offset") and not aware:
                raise ValueError(f"a {self.basis} time needs an offset: {self.raw!r}")
            if self.basis in ("local", "assumed", "recalled") and aware:
                raise ValueError(f"a {self.basis} time must be a wall-clock time: {self.raw!r}")


@dataclass(frozen=True)
class Attachment:
    name: str | None
    sha256: str
    size: int
    media_type: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "size": self.size,
                "media_type": self.media_type}


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    accuracy_m: float | None = None
    basis: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lon": self.lon, "accuracy_m": self.accuracy_m,
                "basis": self.basis}


@dataclass
class Event:
    """One record of a source, as the parser read it.

    ``sender`` and ``recipients`` are identifiers ``scheme:value`` as the source wrote them
    (``email:X@Example.org``, ``tel:07700 900001``); the core normalises them. ``direction`` is
    what the source itself says (a Sent label, an SMS type); leave it ``unknown`` and the core
    derives it from the source owner's identifiers. A phone's records name only the other party:
    ``owner_side`` (``"sender"`` or ``"recipients"``) says which side is the device's owner, left
    out by the parser and filled by the core from the source's ``owner`` in the case file (added
    to the recipients, beside any other members of a group chat). ``details`` holds verbatim source-specific
    values worth showing (headers kept for attribution, message ids); ``notes`` says what could
    not be read, and how any value was derived rather than read.
    """

    kind: str
    platform: str
    time: RawTime
    locator: str
    direction: str = "unknown"
    sender: str | None = None
    recipients: list[str] = field(default_factory=list)
    subject: str | None = None
    text: str | None = None
    call_status: str | None = None
    duration_s: int | None = None
    attachments: list[Attachment] = field(default_factory=list)
    location: Location | None = None
    flags: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    owner_side: str | None = None

    def check(self) -> None:
        """Raise ValueError when a field is outside the contract (a parser bug, not bad input)."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown platform {self.platform!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {self.direction!r}")
        if self.call_status is not None and self.call_status not in CALL_STATUSES:
            raise ValueError(f"unknown call status {self.call_status!r}")
        if self.flags and not FLAGS.issuperset(self.flags):
            raise ValueError(f"unknown flags {sorted(set(self.flags) - FLAGS)}")
        if not self.locator:
            raise ValueError("an event needs a locator")
        if self.owner_side not in (None, "sender", "recipients"):
            raise ValueError(f"unknown owner side {self.owner_side!r}")


@dataclass(frozen=True)
class Reject:
    """A record that could not become an event: where it is and why."""

    locator: str
    reason: str


@dataclass(frozen=True)
class SourceNote:
    """Something true of a whole source, said once rather than on every event: a unit decided
    by magnitude, a write-ahead log applied, a layout recognised. Shown in the manifest; not a
    record (it is not counted as read, made or rejected)."""

    text: str


def bounded(text: str | None, limit: int = MAX_FIELD_CHARS) -> tuple[str | None, bool]:
    """Return the text cut to ``limit`` characters, and whether it was cut."""
    if text is None or len(text) <= limit:
        return text, False
    return text[:limit], True


def clean_text(text: str) -> str:
    """Replace lone surrogates (left by ``surrogateescape`` decoding) so the text encodes as UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


# check_circular off: what is encoded comes from parsers' plain values, never a cycle (and a
# cycle would still fail, on recursion depth); it saves a little on every event.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False, check_circular=False)
# orjson writes the same text as the encoder above, four times faster (it runs several times per
# event), for every value without a float: floats are written differently (1e-05 as 0.00001) and
# go to the standard library, as do integers beyond 64 bits, keys that are not strings, lone
# surrogates and nesting deeper than 254 (orjson raises TypeError on those). Datetimes and
# dataclasses, which orjson would write and the standard library refuses, are passed through to a
# default there is not, so they raise TypeError, as before.
_ORJSON_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                   | orjson.OPT_PASSTHROUGH_DATACLASS)
# orjson reads an integer of 2**64 or more as a float: texts with a run of 20 digits are read by
# the standard library. (Found by mapping digits to "1" and all else to "0": a regular expression
# takes ten times as long on a row.)
_DIGITS_AS_ONES = bytes(0x31 if 0x30 <= b <= 0x39 else 0x2d if b == 0x2d else 0x30
                        for b in range(256))
_TWENTY_DIGITS = b"1" * 20
_NEGATIVE_NINETEEN = b"-" + b"1" * 19   # below -2**63 orjson gives a float, not an integer


def canonical_json(obj: Any, floats: bool = True) -> str:
    """The canonical form: sorted keys, no insignificant white space, UTF-8, times as strings
    (what ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes).

    ``floats=False``: the caller knows ``obj`` holds no float (a record without a location or
    numbers with a fraction), and the check for one is skipped."""
    try:
        text = orjson.dumps(obj, option=_ORJSON_OPTIONS).decode("utf-8")
    except TypeError:
        return _CANONICAL.encode(obj)
    if floats and _may_hold_float(text):
        return _CANONICAL.encode(obj)
    return text


def _may_hold_float(text: str) -> bool:
    """Whether JSON text may hold a float: a number with a point or an exponent outside its
    strings (or strings with an escaped quote, which this quick look cannot step over)."""
    if '\\"' in text:
        return True
    outside = "".join(text.split('"')[0::2])
    return "." in outside or "e" in outside.replace("true", "").replace("false", "")


def read_json(text: str | bytes) -> Any:
    """Read JSON text (canonical rows and records; or their UTF-8 bytes, when the caller has
    them already) as ``json.loads`` reads it, faster."""
    if isinstance(text, bytes):
        data = text
    else:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:   # a lone surrogate: never in a stored row, read the slow way
            return json.loads(text)
    shape = data.translate(_DIGITS_AS_ONES)
    if _TWENTY_DIGITS in shape or _NEGATIVE_NINETEEN in shape:
        return json.loads(data)
    return orjson.loads(data)


def sha256_hex(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()
