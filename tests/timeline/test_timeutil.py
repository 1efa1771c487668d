from datetime import datetime, timedelta, timezone

import pytest

from courseline.timeline.event import RawTime
from courseline.timeline.timeutil import civil_time, format_utc, normalise


def local(text: str, precision: str = "min", basis: str = "local") -> RawTime:
    return RawTime(text, datetime.fromisoformat(text), basis, precision, "test field")


def test_repeated_autumn_hour_is_flagged_with_both_readings():
    when = normalise(local("2024-10-27 01:30"), "Europe/London", "Europe/London")
    assert when.time_flags == ("ambiguous",)
    assert when.time_readings == ("2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z")
    assert when.occurred_utc == "2024-10-27T00:30:00Z"  # the earlier reading orders it


def test_skipped_spring_hour_is_flagged_nonexistent():
    when = normalise(local("2024-03-31 01:30"), "Europe/London", "Europe/London")
    assert when.time_flags == ("nonexistent",)
    assert len(when.time_readings) == 2


def test_ordinary_local_time_uses_the_source_zone_and_no_flags():
    when = normalise(local("2024-06-01 12:00"), "Europe/Paris", "Europe/London")
    assert when.occurred_utc == "2024-06-01T10:00:00Z"
    assert when.time_flags == () and when.time_readings == ()
    assert when.time_zone == "Europe/Paris"


def test_assumed_time_uses_the_case_zone():
    when = normalise(local("2024-06-01 12:00", basis="assumed"), "Europe/Paris", "Europe/London")
    assert when.occurred_utc == "2024-06-01T11:00:00Z"
    assert when.time_zone == "Europe/London"


def test_offset_times_keep_precision_and_raw():
    raw = RawTime("Sun, 27 Oct 2024 01:30:00.123 +0100",
                  datetime(2024, 10, 27, 1, 30, 0, 123000, tzinfo=timezone(timedelta(hours=1))),
                  "offset", "ms", "Date header")
    when = normalise(raw, "Europe/London", "Europe/London")
    assert when.occurred_utc == "2024-10-27T00:30:00.123Z"
    assert when.time_raw == raw.raw and when.time_flags == ()


def test_clock_offset_is_applied_visibly_and_the_original_kept():
    when = normalise(local("2024-06-01 12:00:30", precision="s"), "Europe/London", "Europe/London",
                     clock_offset_seconds=90)
    assert when.occurred_utc == "2024-06-01T10:59:00Z"
    assert when.uncorrected_utc == "2024-06-01T11:00:30Z"
    assert "clock-corrected" in when.time_flags


def test_raw_time_refuses_a_basis_that_contradicts_its_value():
    with pytest.raises(ValueError):
        RawTime("12:00", datetime(2024, 1, 1, 12), "offset", "s", "x")
    with pytest.raises(ValueError):
        RawTime("12:00", datetime(2024, 1, 1, 12, tzinfo=timezone.utc), "local", "s", "x")


def test_civil_time_writes_the_offset():
    assert civil_time("2024-10-27T00:30:00Z", "Europe/London") == "2024-10-27 01:30:00 BST (UTC+01:00)"
    assert civil_time("2024-10-27T01:30:00Z", "Europe/London") == "2024-10-27 01:30:00 GMT (UTC+00:00)"


def test_format_utc_shows_milliseconds_only_when_recorded():
    moment = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert format_utc(moment, "ms") == "2024-01-02T03:04:05.678Z"
    assert format_utc(moment, "s") == "2024-01-02T03:04:05Z"


@pytest.mark.parametrize("zone", ["Europe/London", "Australia/Lord_Howe", "America/St_Johns",
                                  "Asia/Kathmandu", "Pacific/Chatham", "UTC", "Europe/Dublin"])
def test_the_civil_clock_agrees_with_zoneinfo_time_by_time(zone):
    """Offsets are looked up once per hour; every time must still read as zoneinfo reads it,
    across clock changes (Lord Howe's is half an hour) and in zones with odd offsets."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from courseline.timeline.timeutil import CivilClock

    clock = CivilClock(zone)
    checks = []
    for start in ("2024-03-31T00:00:00", "2024-10-27T00:00:00", "2024-04-06T12:00:00",
                  "2024-10-05T13:00:00", "1971-10-31T00:00:00", "2024-06-01T00:00:00"):
        moment = datetime.fromisoformat(start).replace(tzinfo=timezone.utc)
        checks += [moment + timedelta(seconds=s) for s in range(0, 2 * 86_400, 599)]
    for moment in checks:
        utc = moment.strftime("%Y-%m-%dT%H:%M:%S") + ".123Z"
        local = moment.astimezone(ZoneInfo(zone))
        offset = local.utcoffset()
        sign = "-" if offset < timedelta(0) else "+"
        hours, rest = divmod(abs(int(offset.total_seconds())), 3600)
        expected = (f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} "
                    f"(UTC{sign}{hours:02d}:{rest // 60:02d})")
        assert clock.local(utc) == (expected, f"{local:%Y-%m-%d}"), utc
