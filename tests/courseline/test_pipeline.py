from datetime import datetime, timedelta, timezone

from courseline.reading import ProvenanceText, row_for
from courseline.timeline.event import Event, RawTime, Reject
from courseline.timeline.records import SourceSettings

SETTINGS = SourceSettings(zone="Europe/London", case_zone="Europe/London", clock_offset_seconds=0,
                          region="GB", owner_identifiers=frozenset())


def event_at(moment: datetime) -> Event:
    return Event(kind="email", platform="email", locator="file",
                 time=RawTime("as written", moment, "offset", "s", "Date header"))


def test_a_time_out_of_range_is_a_reject_not_a_crash(tmp_path):
    if True:
        year_one = datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
        row = row_for(event_at(year_one), SETTINGS, ProvenanceText({}), {}, 1)
        assert isinstance(row, Reject) and "could not be normalised" in row.reason
        early = row_for(event_at(datetime(999, 5, 1, tzinfo=timezone.utc)), SETTINGS, ProvenanceText({}), {}, 1)
        assert not isinstance(early, Reject)
        assert '"occurred_utc":"0999-05-01T00:00:00Z"' in early[5]


def test_the_same_record_twice_in_one_source_is_two_events(tmp_path):
    if True:
        seen: dict[str, int] = {}
        moment = datetime(2024, 5, 1, tzinfo=timezone.utc)
        first = row_for(event_at(moment), SETTINGS, ProvenanceText({}), seen, 1)
        second = row_for(event_at(moment), SETTINGS, ProvenanceText({}), seen, 1)
        assert first[1] != second[1] and '"repeat":1' in second[5]


def test_sources_read_in_bulk_are_cleared_through_their_index(tmp_path):
    """While many rows are added the time and merge indexes are dropped, but a source's earlier
    rows are still deleted through the index by source: without it, a camera roll of thousands
    of photos, each cleared before it is read, scanned the whole table once per photo."""
    from courseline.timeline.db import CaseDB

    db = CaseDB(tmp_path / "case.sqlite")
    try:
        with db.bulk_events():
            plan = " ".join(row[-1] for row in db.conn.execute(
                "EXPLAIN QUERY PLAN DELETE FROM events WHERE source_id = 1"))
            kept = {row[0] for row in db.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")}
        assert "USING INDEX events_source" in plan or "USING COVERING INDEX events_source" in plan
        assert {"events_order", "events_merge"}.isdisjoint(kept)
        after = {row[0] for row in db.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")}
        assert {"events_order", "events_merge", "events_source"} <= after
    finally:
        db.close()
