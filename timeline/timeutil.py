"""Turning a source's raw time into a UTC instant, visibly.

Parsers hand over a :class:`~courseline.timeline.event.RawTime`; this module converts it with
``zoneinfo`` and says what it did:

* a wall-clock time (basis ``local``, ``assumed`` or ``recalled``) is read in a zone. When that
  zone's clocks went back, the time happened twice (``ambiguous``); when they went forward, it never
  happened (``nonexistent``). The standard library accepts both without complaint (PEP 495), so
  they are detected here and both readings are listed; the earlier reading orders the event.
* a measured clock offset of the source device (``clock_offset_seconds`` = device clock minus true
  time) is subtracted from times that device's clock wrote, the event is flagged
  ``clock-corrected`` and the uncorrected time is kept.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from courseline.timeline.event import RawTime

UTC = timezone.utc
_PRECISION_UNITS = {
    "ms": timedelta(milliseconds=1), "s": timedelta(seconds=1), "min": timedelta(minutes=1),
    "day": timedelta(days=1),
}


# Where an undated record sorts: after every dated one (year 148,000 or so).
UNDATED_INSTANT_US = 2 ** 62
UNDATED = "undated"   # the time flag of a record whose source gives it no time


class NormalTime(NamedTuple):   # a tuple: made once per event, so it must be cheap
    occurred_utc: str | None     # ISO 8601, "Z", as precise as the source; None: undated
    instant_us: int              # microseconds since the Unix epoch, for ordering
    precision: str | None
    time_basis: str | None
    time_raw: str
    time_source: str
    time_zone: str | None        # the zone a wall-clock time was read in
    time_flags: tuple[str, ...]
    time_readings: tuple[str, ...]   # both readings of an ambiguous or non-existent local time
    uncorrected_utc: str | None      # before a clock correction


def format_utc(moment: datetime, precision: str) -> str:
    """ISO 8601 in UTC with a ``Z``; milliseconds only when the source recorded them.

    Written field by field: ``strftime("%Y")`` does not pad years before 1000 on every platform.
    """
    m = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    if precision == "ms":
        text += f".{m.microsecond // 1000:03d}"
    return text + "Z"


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def instant_us(moment: datetime) -> int:
    delta = moment - _UNIX_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def precision_unit(precision: str) -> timedelta:
    return _PRECISION_UNITS[precision]


def local_readings(wall: datetime, zone: ZoneInfo) -> tuple[str | None, list[datetime]]:
    """The UTC readings of a wall-clock time in a zone: (flag, readings, earliest first).

    flag is ``ambiguous`` when the time happened twice, ``nonexistent`` when it never happened,
    otherwise None with a single reading.
    """
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None, [first.astimezone(UTC)]
    readings = sorted({first.astimezone(UTC), second.astimezone(UTC)})
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    flag = "ambiguous" if round_trip == wall else "nonexistent"
    return flag, readings


def normalise(raw: RawTime, source_zone: str, case_zone: str,
              clock_offset_seconds: float = 0) -> NormalTime:
    """Convert a raw time as DESIGN says. A record whose source gives it no time (a screenshot
    without EXIF, a package list) is undated: no instant, no precision, no basis, flagged
    ``undated``, what the source says of its time kept; it sorts after every dated record."""
    if raw.value is None:
        return NormalTime(None, UNDATED_INSTANT_US, None, None, raw.raw, raw.source, None,
                          (UNDATED,), (), None)
    if raw.basis in ("utc", "offset") and not (clock_offset_seconds and raw.device_clock):
        return _absolute(raw)
    flags: list[str] = []
    readings: list[datetime] = []
    zone_name: str | None = None
    if raw.basis in ("utc", "offset"):
        moment = raw.value if raw.value.tzinfo is UTC else raw.value.astimezone(UTC)
    else:
        zone_name = case_zone if raw.basis == "assumed" else source_zone
        flag, readings = local_readings(raw.value, ZoneInfo(zone_name))
        moment = readings[0]
        if flag:
            flags.append(flag)
        else:
            readings = []
    uncorrected: str | None = None
    if clock_offset_seconds and raw.device_clock:
        uncorrected = format_utc(moment, raw.precision)
        correction = timedelta(seconds=clock_offset_seconds)
        moment -= correction
        readings = [reading - correction for reading in readings]
        flags.append("clock-corrected")
    # The instant as written in occurred_utc, so that ordering agrees with what is shown.
    shown = moment.replace(microsecond=moment.microsecond // 1000 * 1000
                           if raw.precision == "ms" else 0)
    return NormalTime(
        occurred_utc=format_utc(shown, raw.precision),
        instant_us=instant_us(shown),
        precision=raw.precision,
        time_basis=raw.basis,
        time_raw=raw.raw,
        time_source=raw.source,
        time_zone=zone_name,
        time_flags=tuple(flags),
        time_readings=tuple(format_utc(reading, raw.precision) for reading in readings),
        uncorrected_utc=uncorrected,
    )


def _absolute(raw: RawTime) -> NormalTime:
    """The common case, kept short: an instant the source wrote with its offset (or as UTC),
    with no clock correction to apply."""
    value = raw.value
    moment = value if value.tzinfo is UTC else value.astimezone(UTC)
    micro = moment.microsecond
    if micro and not (raw.precision == "ms" and micro % 1000 == 0):
        moment = moment.replace(microsecond=micro // 1000 * 1000 if raw.precision == "ms" else 0)
    return NormalTime(format_utc(moment, raw.precision), instant_us(moment), raw.precision,
                      raw.basis, raw.raw, raw.source, None, (), (), None)


def civil_time(occurred_utc: str, zone: str) -> str:
    """UK civil time (or the case zone) with the offset written: ``2024-10-27 01:30:00 BST (UTC+01:00)``."""
    return civil_clock(zone).local(occurred_utc)[0] if occurred_utc else ""


@lru_cache(maxsize=16)
def civil_clock(zone: str) -> "CivilClock":
    return CivilClock(zone)


class CivilClock:
    """Civil time in one zone for many UTC times (``occurred_utc`` strings): the zone's offset
    and abbreviation are looked up once per hour of UTC and reused for every time in that hour,
    unless they differ at the two ends of the hour (a change of offset inside it, as on the
    Lord Howe Island half-hour change), when each time is looked up on its own."""

    MAX_HOURS = 200_000

    def __init__(self, zone: str):
        self.zone = ZoneInfo(zone)
        self._hours: dict[str, tuple[timedelta, str] | None] = {}

    def local(self, occurred_utc: str) -> tuple[str, str]:
        """(the civil time with its offset written, the civil date as YYYY-MM-DD)."""
        hour = occurred_utc[:13]
        try:
            found = self._hours[hour]
        except KeyError:
            if len(self._hours) >= self.MAX_HOURS:
                self._hours.clear()
            found = self._hours[hour] = self._hour(hour)
        if found is None:
            wall = parse_utc(occurred_utc).astimezone(self.zone)
            suffix = _suffix(wall)
        else:
            offset, suffix = found
            wall = datetime.fromisoformat(occurred_utc[:19]) + offset
        day = f"{wall.year:04d}-{wall.month:02d}-{wall.day:02d}"
        return (f"{day} {wall.hour:02d}:{wall.minute:02d}:{wall.second:02d} {suffix}", day)

    def _hour(self, hour: str) -> tuple[timedelta, str] | None:
        start = datetime.fromisoformat(f"{hour}:00:00").replace(tzinfo=UTC)
        first = start.astimezone(self.zone)
        last = (start + timedelta(seconds=3599)).astimezone(self.zone)
        if first.utcoffset() != last.utcoffset() or first.tzname() != last.tzname():
            return None
        return first.utcoffset() or timedelta(), _suffix(first)


def _suffix(local: datetime) -> str:
    return f"{local.tzname()} (UTC{_offset_text(local.utcoffset())})"


@lru_cache(maxsize=256)
def _offset_text(offset: timedelta | None) -> str:
    seconds = int((offset or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")
