"""What the phone parsers share: epochs, Android's message and call codes, and how numbers are
written into identifiers.

Sources (research formats.md §2-3): Android ``Telephony.Sms`` / ``CallLog.Calls`` codes as read in
ALEAPP ``scripts/artifacts/smsmms.py`` and ``calllog.py`` (citing developer.android.com); SMS
Backup & Restore uses the same codes (shruggietech ``docs/xml-reference.md``); Apple's epoch and
the seconds/nanoseconds switch from iLEAPP ``scripts/artifacts/sms.py`` and the plaso and mvt
sample databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from courseline.timeline.event import RawTime

UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
APPLE_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)

# Identifiers for callers and senders that have no number. Kept as written and never matched to
# a person (courseline.timeline.identity): a withheld call is counted, not attributed.
WITHHELD = "tel:Withheld"
UNKNOWN_NUMBER = "tel:Unknown"
PAYPHONE = "tel:Payphone"

# CallLog.Calls.PRESENTATION_*: 1 allowed, 2 restricted, 3 unknown, 4 payphone.
_PRESENTATION = {2: WITHHELD, 3: UNKNOWN_NUMBER, 4: PAYPHONE}
# Older Android releases wrote these into the number column instead of a presentation.
_NUMBER_SENTINELS = {"-1": UNKNOWN_NUMBER, "-2": WITHHELD, "-3": PAYPHONE, "-4": UNKNOWN_NUMBER}


def owner_side_of(direction: str) -> str | None:
    """Which side of a phone's record is the device's owner: the recipient of what came in, the
    sender of what went out, neither when the direction is unknown."""
    return {"incoming": "recipients", "outgoing": "sender"}.get(direction)


def phone_identifier(number: object, presentation: object = None) -> str:
    """The identifier of the other party of a call or text, as the source wrote it.

    A restricted, unknown or payphone presentation wins over whatever the number column holds;
    an iMessage or RCS address that is an e-mail address becomes an ``email:`` identifier.
    """
    try:
        shown = _PRESENTATION.get(int(presentation)) if presentation not in (None, "") else None
    except (TypeError, ValueError):
        shown = None
    if shown:
        return shown
    text = "" if number is None else str(number).strip()
    if text.lower() in ("", "null"):
        return UNKNOWN_NUMBER
    if text in _NUMBER_SENTINELS:
        return _NUMBER_SENTINELS[text]
    if "@" in text and not text.lower().startswith("tel:"):
        return f"email:{text.removeprefix('mailto:')}"
    return f"tel:{text}"


# -- times ---------------------------------------------------------------------------------------

def epoch_time(value: object, epoch: datetime, unit: str, source: str) -> RawTime:
    """A count of ``unit`` ("s", "ms", "ns") since ``epoch``, as a UTC RawTime.

    Zero and missing values mean "not recorded" (a RawTime without a value: the event is rejected
    with the reason); a value that is not a number likewise.
    """
    if value.__class__ is int and value and unit == "ms":
        # The common case (an Android database), kept short: whole milliseconds need no rounding.
        try:
            moment = epoch + timedelta(0, value // 1000, 0, value % 1000)
        except OverflowError:
            return RawTime(str(value), None, "utc", "s", source)
        return RawTime(str(value), moment, "utc", "ms", source)
    raw = "" if value is None else str(value)
    try:
        number = float(value) if isinstance(value, (int, float)) else float(raw.strip())
    except ValueError:
        return RawTime(raw, None, "utc", "s", source)
    if number == 0 or number != number:  # zero or NaN
        return RawTime(raw, None, "utc", "s", source)
    try:
        # Whole numbers stay integers: a float has too few digits for nanoseconds since 2001.
        digits = raw.strip()
        whole = (value if isinstance(value, int) else
                 int(digits) if digits.lstrip("-").isdigit() else int(number))
        if unit == "ns":
            delta, precision = timedelta(microseconds=whole // 1000), "ms"
        elif unit == "ms":
            delta, precision = timedelta(milliseconds=whole), "ms"
        else:
            delta, precision = timedelta(seconds=number), ("s" if number.is_integer() else "ms")
        moment = epoch + delta
    except (OverflowError, ValueError):  # "1e20", "inf": not a time any clock wrote
        return RawTime(raw, None, "utc", "s", source)
    if precision == "ms":
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return RawTime(raw, moment, "utc", precision, source)


def unix_seconds_or_ms(value: object) -> str:
    """Which unit a Unix time is in, by its size: "ms" above 10^11 (past 1973 in ms, past the
    year 5138 in seconds), otherwise "s". Used where one field holds either."""
    try:
        return "ms" if abs(float(str(value))) > 1e11 else "s"
    except ValueError:
        return "s"


def apple_unit(value: object) -> str:
    """iOS 11 and later write Apple-epoch times in nanoseconds, earlier ones in seconds (iLEAPP's
    rule: above 10^15 it is nanoseconds)."""
    try:
        return "ns" if abs(float(str(value))) > 1e15 else "s"
    except ValueError:
        return "s"


# -- Android codes ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    """What an Android message type (``sms.type``) or MMS ``msg_box`` says about a message."""

    direction: str
    flags: tuple[str, ...]
    name: str


SMS_BOXES = {
    1: Box("incoming", (), "inbox"),
    2: Box("outgoing", (), "sent"),
    3: Box("outgoing", ("draft",), "draft"),
    4: Box("outgoing", ("failed",), "outbox (not yet sent)"),
    5: Box("outgoing", ("failed",), "failed"),
    6: Box("outgoing", ("failed",), "queued (not yet sent)"),
}


def sms_box(code: object) -> Box:
    try:
        return SMS_BOXES[int(code)]
    except (KeyError, TypeError, ValueError):
        return Box("unknown", (), f"type {code}")


@dataclass(frozen=True)
class CallType:
    direction: str
    status: str
    name: str


CALL_TYPES = {
    1: CallType("incoming", "answered", "incoming"),
    2: CallType("outgoing", "answered", "outgoing"),
    3: CallType("incoming", "missed", "missed"),
    4: CallType("incoming", "voicemail", "voicemail"),
    5: CallType("incoming", "rejected", "rejected"),
    6: CallType("incoming", "blocked", "blocked"),
    7: CallType("incoming", "answered", "answered on another device"),
}


def call_type(code: object, duration: int | None) -> tuple[CallType | None, list[str]]:
    """The meaning of an Android (or SMS Backup & Restore) call type, and notes on derivations.

    An outgoing call of 0 seconds was not answered: Android records no separate status for it.
    """
    try:
        known = CALL_TYPES.get(int(code))
    except (TypeError, ValueError):
        known = None
    if known is None:
        return None, []
    if known.direction == "outgoing" and duration == 0:
        return (CallType("outgoing", "unanswered", "outgoing"),
                ["call status 'unanswered' derived: an outgoing call lasting 0 s"])
    return known, []


def seconds(value: object) -> int | None:
    """A duration in whole seconds, or None when it is missing or not a number."""
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return int(number) if number == number and number >= 0 else None
