"""Google location history (parsers/google_location.py: Takeout ``Records.json`` and Semantic
Location History; parsers/google_timeline.py: the phone's ``Timeline.json`` and the iPhone's
``location-history.json``): synthetic files in the four shapes the public sources describe (no real
export was available).

Synthetic places only: made-up names and addresses, place ids that are not Google's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from courseline.parsers import SourceFile, google_location, parser_for
from courseline.parsers.google_location import (
    GoogleLocationRecordsParser,
    GoogleSemanticLocationParser,
)
from courseline.parsers.google_timeline import (
    GoogleTimelineAndroidParser,
    GoogleTimelineIosParser,
)
from tests_support import (
    by_locator,
    events,
    export_source,
    parsed,
    read_jsonl,
    rejects,
    run_cli,
    source_file,
    source_notes,
)

BOM = b"\xef\xbb\xbf"
WHEN = datetime(2024, 3, 2, 21, 14, 5, 123000, tzinfo=UTC)     # 2024-03-02T21:14:05.123Z
WHEN_MS = "1709414045123"
PLUS_ONE = timezone(timedelta(hours=1))
TAG = 1234567890


# -- builders --------------------------------------------------------------------------------------

def record(lat: object = 515007123, lon: object = -1246000, timestamp: object = WHEN_MS,
           iso: bool = True, **fields: object) -> dict:
    """A Records.json element: ``timestamp`` (ISO, 2022 on) or ``timestampMs`` (before)."""
    made: dict = {"latitudeE7": lat, "longitudeE7": lon, "accuracy": 20}
    if iso:
        made["timestamp"] = timestamp if timestamp != WHEN_MS else "2024-03-02T21:14:05.123Z"
    else:
        made["timestampMs"] = timestamp
    for name in [k for k, v in made.items() if v is None]:
        del made[name]
    made.update(fields)
    return made


def write(tmp_path: Path, name: str, data: object, folder: str = "export") -> Path:
    path = tmp_path / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes)
                     else json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))
    return path


def records_source(tmp_path: Path, data: object, settings: object | None = None,
                   name: str = "Records.json") -> SourceFile:
    path = write(tmp_path, f"Takeout/Location History/{name}", data)
    copies = {}
    if settings is not None:
        copies["exports/takeout.zip!Takeout/Location History/Settings.json"] = write(
            tmp_path, "Takeout/Location History/Settings.json", settings)
    return export_source(path, f"exports/takeout.zip!Takeout/Location History/{name}", copies)


def semantic_source(tmp_path: Path, data: object, settings: object | None = None) -> SourceFile:
    inner = "Takeout/Location History/Semantic Location History/2024/2024_MARCH.json"
    path = write(tmp_path, inner, data)
    copies = {}
    if settings is not None:
        copies["exports/takeout.zip!Takeout/Location History/Settings.json"] = write(
            tmp_path, "Takeout/Location History/Settings.json", settings)
    return export_source(path, f"exports/takeout.zip!{inner}", copies)


def settings() -> dict:
    return {"createdTime": "2019-01-07T18:13:23.713Z", "deviceSettings": [
        {"deviceTag": TAG, "devicePrettyName": "Example Phone 7", "platformType": "ANDROID"}]}


def e7(value: int) -> dict:
    return {"latitudeE7": value, "longitudeE7": -1246000}


def place_visit(**fields: object) -> dict:
    visit: dict = {
        "location": {"latitudeE7": 515007000, "longitudeE7": -1246000,
                     "placeId": "ChIJexamplePlace01", "address": "1 Example Street\nLondon",
                     "name": "Example Café", "semanticType": "TYPE_HOME",
                     "sourceInfo": {"deviceTag": TAG}, "locationConfidence": 87.5,
                     "accuracyMetres": 19},
        "duration": {"startTimestamp": "2024-03-02T21:14:05.123Z",
                     "endTimestamp": "2024-03-02T23:00:00Z"},
        "placeConfidence": "HIGH_CONFIDENCE", "visitConfidence": 95,
        "otherCandidateLocations": [{"latitudeE7": 515010000, "longitudeE7": -1250000,
                                     "placeId": "ChIJexamplePlace02", "name": "Example Pub",
                                     "semanticType": "TYPE_UNKNOWN"}]}
    visit.update(fields)
    return {"placeVisit": visit}


def activity_segment(**fields: object) -> dict:
    segment: dict = {
        "startLocation": {"latitudeE7": 515007000, "longitudeE7": -1246000,
                          "sourceInfo": {"deviceTag": TAG}},
        "endLocation": {"latitudeE7": 514995000, "longitudeE7": -1300000},
        "duration": {"startTimestamp": "2024-03-02T23:00:00Z",
                     "endTimestamp": "2024-03-02T23:20:00Z"},
        "distance": 2640, "activityType": "IN_BUS", "confidence": "HIGH",
        "waypointPath": {"waypoints": [{"latE7": 515000000, "lngE7": -1260000},
                                       {"latE7": 514990000, "lngE7": -1280000}]},
        "simplifiedRawPath": {"source": "INFERRED", "points": [
            {"latE7": 515001000, "lngE7": -1262000, "accuracyMeters": 10,
             "timestamp": "2024-03-02T23:05:00Z"}]},
        "parkingEvent": {"location": {"latitudeE7": 514995000, "longitudeE7": -1300000,
                                      "accuracyMetres": 12},
                         "method": "END_OF_ACTIVITY_SEGMENT", "locationSource": "UNKNOWN",
                         "timestamp": "2024-03-02T23:21:00Z"}}
    segment.update(fields)
    return {"activitySegment": segment}


def android_timeline() -> dict:
    return {
        "semanticSegments": [
            {"startTime": "2024-07-04T09:00:00.000+01:00", "endTime": "2024-07-04T11:00:00.000+01:00",
             "startTimeTimezoneUtcOffsetMinutes": 60, "endTimeTimezoneUtcOffsetMinutes": 60,
             "visit": {"hierarchyLevel": 0, "probability": 0.83,
                       "topCandidate": {"placeId": "ChIJexamplePlace01", "semanticType": "HOME",
                                        "probability": 0.91,
                                        "placeLocation": {"latLng": "51.5007°, -0.1246°"}}}},
            {"startTime": "2024-07-04T11:00:00.000+01:00", "endTime": "2024-07-04T11:30:00.000+01:00",
             "activity": {"start": {"latLng": "51.5007°, -0.1246°"},
                          "end": {"latLng": "51.4995°, -0.13°"}, "distanceMeters": 1200.5,
                          "topCandidate": {"type": "IN_PASSENGER_VEHICLE", "probability": 0.9},
                          "parking": {"location": {"latLng": "51.4995°, -0.13°"},
                                      "startTime": "2024-07-04T11:31:00.000+01:00"}}},
            {"startTime": "2024-07-04T09:00:00.000+01:00", "endTime": "2024-07-04T11:00:00.000+01:00",
             "timelinePath": [{"point": "53.86324°, 10.7011764°",
                               "time": "2024-07-04T09:38:00.000+01:00"},
                              {"point": "not a place", "time": "2024-07-04T09:40:00.000+01:00"}]},
            {"startTime": "2024-07-04T00:00:00.000+01:00", "endTime": "2024-07-05T00:00:00.000+01:00",
             "timelineMemory": {"trip": {"distanceFromOriginKms": 120, "destinations": [
                 {"identifier": {"placeId": "ChIJexampleTown"}}]}}},
        ],
        "rawSignals": [
            {"position": {"LatLng": "51.5007123°, -0.1246°", "accuracyMeters": 12,
                          "altitudeMeters": 53.7, "source": "GPS",
                          "timestamp": "2024-07-04T09:37:38.000+01:00",
                          "speedMetersPerSecond": 0.27}},
            {"wifiScan": {"deliveryTime": "2024-07-04T09:37:34.000+01:00",
                          "devicesRecords": [{"mac": 81764197721093, "rawRssi": -92}]}},
            {"activityRecord": {"probableActivities": [{"type": "STILL", "confidence": 0.97}],
                                "timestamp": "2024-07-04T09:37:37.000+01:00"}},
        ],
        "userLocationProfile": {"frequentPlaces": [
            {"placeId": "ChIJexamplePlace01", "placeLocation": "51.5007°, -0.1246°",
             "label": "HOME"}]},
    }


def ios_history() -> list:
    return [
        {"endTime": "2023-08-23T07:52:01.117+02:00", "startTime": "2023-08-23T06:56:03.696+02:00",
         "activity": {"probability": "0.99", "end": "geo:51.499500,-0.130000",
                      "topCandidate": {"type": "in passenger vehicle", "probability": "0.94"},
                      "distanceMeters": "29132.000000", "start": "geo:51.500700,-0.124600"}},
        {"endTime": "2023-08-23T18:02:50.990+02:00", "startTime": "2023-08-23T07:52:01.117+02:00",
         "visit": {"hierarchyLevel": "0", "probability": "0.930000",
                   "topCandidate": {"placeID": "ChIJexamplePlace01",
                                    "placeLocation": "geo:51.500700,-0.124600",
                                    "semanticType": "Unknown", "probability": "0.793349"}}},
        {"endTime": "2023-08-23T09:00:00.000Z", "startTime": "2023-08-23T07:00:00.000Z",
         "timelinePath": [{"point": "geo:51.500100,-0.126200",
                           "durationMinutesOffsetFromStartTime": "0"},
                          {"point": "geo:51.499800,-0.128000",
                           "durationMinutesOffsetFromStartTime": "7"},
                          {"point": "geo:51.499800,-0.128000",
                           "durationMinutesOffsetFromStartTime": "seven"}]},
    ]


def records_events(tmp_path: Path, locations: list, **kwargs: object) -> list:
    return parsed(GoogleLocationRecordsParser,
                  records_source(tmp_path, {"locations": locations}, **kwargs))


# -- recognising -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "parser"), [
    ({"locations": [record()]}, GoogleLocationRecordsParser),
    ({"locations": [record(iso=False)]}, GoogleLocationRecordsParser),
    ({"timelineObjects": [place_visit()]}, GoogleSemanticLocationParser),
    ({"timelineObjects": [activity_segment()]}, GoogleSemanticLocationParser),
    ({"timelineObjects": []}, GoogleSemanticLocationParser),
    (android_timeline(), GoogleTimelineAndroidParser),
    (ios_history(), GoogleTimelineIosParser),
])
def test_each_shape_is_recognised_by_content_with_or_without_bom(tmp_path: Path, data: object,
                                                                  parser: type) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
    for index, written in enumerate((text, BOM + text, BOM + b"\r\n  \t" + text,
                                     json.dumps(data).encode("utf-8"))):
        path = write(tmp_path, f"any name {index}.json", written)
        assert parser_for(source_file(path).sample) is parser, (index, written[:80])


@pytest.mark.parametrize("data", [
    {"messages": [{"creator": {"name": "A"}, "created_date": "x", "text": "hi"}]},  # Google Chat
    [{"ID": "1", "Timestamp": "2024-03-02 21:14:05", "Contents": "hi"}],          # Discord
    {"locations": [{"name": "Example Café", "address": "1 Example Street"}]},
    {"type": "FeatureCollection", "features": []},                                # saved places
    {"createdTime": "2019-01-07T18:13:23.713Z", "deviceSettings": []},           # Settings.json
    [{"title": "Visited example.org", "time": "2024-03-02T21:14:05.123Z"}],      # My Activity
    [], {}, {"locations": []},
])
def test_other_json_is_not_claimed(tmp_path: Path, data: object) -> None:
    sample = source_file(write(tmp_path, "data.json", data)).sample
    for parser in (GoogleLocationRecordsParser, GoogleSemanticLocationParser,
                   GoogleTimelineAndroidParser, GoogleTimelineIosParser):
        assert not parser.recognises(sample), parser


def test_an_empty_records_file_is_claimed_by_its_name_only(tmp_path: Path) -> None:
    source = records_source(tmp_path, {"locations": []})
    assert parsed(GoogleLocationRecordsParser, source) == []


# -- Records.json ----------------------------------------------------------------------------------

def test_a_record_with_an_iso_timestamp(tmp_path: Path) -> None:
    activity = [{"timestamp": "2024-03-02T21:14:06.000Z", "activity": [
        {"type": "ON_FOOT", "confidence": 89}, {"type": "WALKING", "confidence": 84}]}]
    items = records_events(tmp_path, [record(source="WIFI", deviceTag=TAG, platformType="ANDROID",
                                             altitude=150, activity=activity,
                                             activeWifiScan={"accessPoints": []})],
                           settings=settings())
    (event,) = events(items)
    assert not rejects(items)
    assert (event.kind, event.platform, event.locator) == ("location", "device",
                                                           "json:locations[0]")
    assert event.time.value == WHEN and event.time.basis == "utc"
    assert (event.time.precision, event.time.source) == ("ms", "timestamp")
    assert event.time.raw == "2024-03-02T21:14:05.123Z"
    assert (event.location.lat, event.location.lon) == (51.5007123, -0.1246)
    assert (event.location.accuracy_m, event.location.basis) == (20, "wifi")
    assert event.details == {
        "source": "WIFI", "deviceTag": TAG, "device_name": "Example Phone 7",
        "platformType": "ANDROID", "altitude": 150,
        "activity": [{"type": "ON_FOOT", "confidence": 89,
                      "timestamp": "2024-03-02T21:14:06.000Z"}]}
    assert any("Example Phone 7" in note for note in source_notes(items))


def test_an_older_record_with_timestamp_ms_and_activitys(tmp_path: Path) -> None:
    old = record(iso=False, activitys=[{"timestampMs": "1709414046000",
                                        "activities": [{"type": "still", "confidence": 100}]}])
    event = events(records_events(tmp_path, [old]))[0]
    assert event.time.value == WHEN and event.time.basis == "utc"
    assert (event.time.raw, event.time.source, event.time.precision) == (WHEN_MS, "timestampMs",
                                                                         "ms")
    assert event.details["activity"] == [{"type": "still", "confidence": 100,
                                          "timestampMs": "1709414046000"}]
    assert event.location.basis is None


def test_a_timestamp_without_fraction_is_to_the_second(tmp_path: Path) -> None:
    event = events(records_events(tmp_path, [record(timestamp="2024-03-02T21:14:05Z")]))[0]
    assert event.time.precision == "s" and event.time.value == WHEN.replace(microsecond=0)


def test_both_timestamps_disagreeing_is_noted(tmp_path: Path) -> None:
    event = events(records_events(tmp_path, [record(timestampMs="1709414000000")]))[0]
    assert event.time.source == "timestamp"
    assert any("timestampMs" in note and "disagrees" in note for note in event.notes)


@pytest.mark.parametrize(("lat", "lon", "expected"), [
    (515007000, -1246000, (51.5007, -0.1246)),
    (1, -1, (1e-07, -1e-07)),
    (900000000, -1800000000, (90.0, -180.0)),
    (414216106, 21684775, (41.4216106, 2.1684775)),
    (-337123457, 1512099999, (-33.7123457, 151.2099999)),
])
def test_e7_is_divided_exactly(tmp_path: Path, lat: int, lon: int,
                               expected: tuple[float, float]) -> None:
    event = events(records_events(tmp_path, [record(lat=lat, lon=lon)]))[0]
    assert (event.location.lat, event.location.lon) == expected
    # The float nearest the 7-place decimal: its shortest text is that decimal.
    assert repr(event.location.lat) == repr(float(f"{lat / 10**7:.7f}"))


@pytest.mark.parametrize(("changes", "reason"), [
    ({"lat": None}, "no latitudeE7"),
    ({"lon": "-1246000"}, "longitudeE7 '-1246000' is not an integer"),
    ({"lat": 515007000.5}, "is not an integer"),
    ({"lat": 950000000}, "outside -90..90"),
    ({"timestamp": "2024-03-02 at 21:14"}, "is not an ISO 8601 time"),
    ({"timestamp": "2024-03-02T21:14:05"}, "has no zone"),
    ({"timestamp": None}, "no timestamp (nor timestampMs)"),
    ({"timestamp": "1709414045123x", "iso": False}, "is not a number of milliseconds"),
])
def test_a_record_without_a_usable_time_or_place_is_rejected(tmp_path: Path, changes: dict,
                                                             reason: str) -> None:
    items = records_events(tmp_path, [record(), record(**changes), record()])
    assert [e.locator for e in events(items)] == ["json:locations[0]", "json:locations[2]"]
    (reject,) = rejects(items)
    assert reject.locator == "json:locations[1]" and reason in reject.reason, reject


def test_an_element_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    items = records_events(tmp_path, [record(), [1, 2], record()])
    assert len(events(items)) == 2
    assert rejects(items)[0].locator == "json:locations[1]"
    assert "JSON array" in rejects(items)[0].reason


def _records_text(count: int) -> bytes:
    return json.dumps({"locations": [record(lat=515000000 + i) for i in range(count)]},
                      indent=2).encode("utf-8")


def test_a_file_cut_off_mid_array_keeps_what_came_before(tmp_path: Path) -> None:
    text = _records_text(5)
    cut = text[:text.index(b"515000003")]              # inside the fourth record
    items = parsed(GoogleLocationRecordsParser, records_source(tmp_path, cut))
    assert [e.locator for e in events(items)] == [f"json:locations[{i}]" for i in range(3)]
    (reject,) = rejects(items)
    assert reject.locator == "json:locations[3]" and "cut short" in reject.reason


def test_a_file_cut_between_records_names_the_byte(tmp_path: Path) -> None:
    text = _records_text(3)
    cut = text[:text.rindex(b"}", 0, text.index(b"515000002")) + 1]   # after the second record
    items = parsed(GoogleLocationRecordsParser, records_source(tmp_path, cut))
    assert len(events(items)) == 2
    (reject,) = rejects(items)
    assert reject.locator == f"json:byte={len(cut)}" and "cut short" in reject.reason


def test_a_record_that_is_not_json_is_stepped_over(tmp_path: Path) -> None:
    text = _records_text(3).replace(b'"accuracy": 20,\n      "timestamp": "2024-03-02T21:14:05.123Z"\n    }',
                                    b'"accuracy": 20 oops }', 1)
    items = parsed(GoogleLocationRecordsParser, records_source(tmp_path, text))
    assert [e.locator for e in events(items)] == ["json:locations[1]", "json:locations[2]"]
    (reject,) = rejects(items)
    assert reject.locator == "json:locations[0]" and "not JSON" in reject.reason


def test_a_file_that_is_not_json_is_one_reject(tmp_path: Path) -> None:
    path = write(tmp_path, "Records.json", b'{"locations": [{"latitudeE7": 1, ]]]')
    items = list(GoogleLocationRecordsParser().parse(source_file(path)))
    assert not events(items) and rejects(items)


def test_other_top_level_fields_and_trailing_text_are_said(tmp_path: Path) -> None:
    text = json.dumps({"version": 2, "locations": [record()]}).encode() + b"\n# end"
    source = records_source(tmp_path, text)
    items = list(GoogleLocationRecordsParser().parse(source))
    assert len(events(items)) == 1
    notes = source_notes(items)
    assert any("version" in n for n in notes) and any("text after" in n for n in notes)


def test_without_settings_the_device_tag_is_explained(tmp_path: Path) -> None:
    items = records_events(tmp_path, [record(deviceTag=TAG)])
    assert events(items)[0].details["deviceTag"] == TAG
    assert "device_name" not in events(items)[0].details
    assert any("Settings.json" in n and "not beside" in n for n in source_notes(items))


def test_bytes_that_are_not_utf8_are_replaced_and_said(tmp_path: Path) -> None:
    text = json.dumps({"locations": [record(source="GPS\u00e9")]},
                      ensure_ascii=False).encode("utf-8")
    text = text.replace("\u00e9".encode("utf-8"), b"\xff")
    items = parsed(GoogleLocationRecordsParser, records_source(tmp_path, text))
    assert events(items)[0].details["source"] == "GPS\ufffd"
    assert any("not valid UTF-8" in n for n in source_notes(items))


def test_nan_written_by_a_broken_export_is_kept_as_text(tmp_path: Path) -> None:
    text = json.dumps({"locations": [record(altitude=1)]}).replace('"altitude": 1',
                                                                    '"altitude": NaN')
    event = events(parsed(GoogleLocationRecordsParser,
                          records_source(tmp_path, text.encode())))[0]
    assert event.details["altitude"] == "nan"


@pytest.mark.parametrize(("written", "basis", "precision", "offset"), [
    ("2024-03-02T21:14:05.123Z", "utc", "ms", timedelta(0)),
    ("2024-03-02T21:14:05Z", "utc", "s", timedelta(0)),
    ("2024-03-02T21:14:05.000+00:00", "offset", "ms", timedelta(0)),
    ("2024-03-02T22:14:05+01:00", "offset", "s", timedelta(hours=1)),
    ("2024-03-02T16:14:05.1234567-05:00", "offset", "ms", timedelta(hours=-5)),
])
def test_iso_times_keep_the_basis_they_are_written_in(written: str, basis: str, precision: str,
                                                      offset: timedelta) -> None:
    time = google_location.iso_time(written, "startTime")
    assert (time.basis, time.precision, time.raw) == (basis, precision, written)
    assert time.value.utcoffset() == offset
    assert time.value.astimezone(UTC).replace(microsecond=0) == WHEN.replace(microsecond=0)


# -- determinism and streaming ---------------------------------------------------------------------

def _as_data(items: list) -> list:
    return [repr(item) for item in items]


@pytest.mark.parametrize(("name", "data", "parser"), [
    ("Records.json", {"locations": [record(), record(lat=None), record(iso=False)]},
     GoogleLocationRecordsParser),
    ("2024_MARCH.json", {"timelineObjects": [place_visit(), activity_segment()]},
     GoogleSemanticLocationParser),
    ("Timeline.json", android_timeline(), GoogleTimelineAndroidParser),
    ("location-history.json", ios_history(), GoogleTimelineIosParser),
])
def test_each_shape_gives_the_same_records_every_time(tmp_path: Path, monkeypatch, name: str,
                                                      data: object, parser: type) -> None:
    source = source_file(write(tmp_path, name, data))
    first = _as_data(parsed(parser, source))
    assert first and first == _as_data(parsed(parser, source))
    monkeypatch.setattr(google_location, "CHUNK_BYTES", 61)    # records split across reads
    assert _as_data(parsed(parser, source)) == first


def test_same_input_same_output_whatever_the_chunk_size(tmp_path: Path, monkeypatch) -> None:
    text = BOM + _records_text(40)
    source = records_source(tmp_path, text, settings=settings())
    first = _as_data(parsed(GoogleLocationRecordsParser, source))
    assert first == _as_data(parsed(GoogleLocationRecordsParser, source))
    monkeypatch.setattr(google_location, "CHUNK_BYTES", 97)
    assert _as_data(parsed(GoogleLocationRecordsParser, source)) == first
    assert len(events(parsed(GoogleLocationRecordsParser, source))) == 40


# -- Semantic Location History ---------------------------------------------------------------------

def test_a_place_visit_is_one_event_at_its_start(tmp_path: Path) -> None:
    items = parsed(GoogleSemanticLocationParser,
                   semantic_source(tmp_path, {"timelineObjects": [place_visit()]}, settings()))
    assert not rejects(items)
    event = by_locator(items)["json:timelineObjects[0].placeVisit"]
    assert event.time.value == WHEN and event.time.source == "startTimestamp"
    assert (event.location.lat, event.location.lon, event.location.accuracy_m) == (51.5007,
                                                                                   -0.1246, 19)
    assert event.location.basis is None
    assert event.details["name"] == "Example Café"
    assert event.details["address"] == "1 Example Street\nLondon"
    assert event.details["placeId"] == "ChIJexamplePlace01"
    assert event.details["semanticType"] == "TYPE_HOME"
    assert event.details["endTimestamp"] == "2024-03-02T23:00:00Z"
    assert event.details["device_name"] == "Example Phone 7"
    assert event.details["otherCandidateLocations"] == [
        {"placeId": "ChIJexamplePlace02", "name": "Example Pub", "semanticType": "TYPE_UNKNOWN"}]
    assert any("the event is its start" in n and "2024-03-02T23:00:00Z" in n for n in event.notes)


def test_an_activity_segment_its_path_and_its_parking(tmp_path: Path) -> None:
    items = parsed(GoogleSemanticLocationParser,
                   semantic_source(tmp_path, {"timelineObjects": [activity_segment()]}))
    assert not rejects(items)
    found = by_locator(items)
    base = "json:timelineObjects[0].activitySegment"
    assert set(found) == {base, f"{base}.simplifiedRawPath.points[0]", f"{base}.parkingEvent"}
    journey = found[base]
    assert journey.time.value == datetime(2024, 3, 2, 23, 0, tzinfo=UTC)
    assert journey.time.precision == "s"
    assert (journey.location.lat, journey.location.lon) == (51.5007, -0.1246)
    assert journey.details["end_location"] == {"lat": 51.4995, "lon": -0.13}
    assert journey.details["activityType"] == "IN_BUS" and journey.details["distance"] == 2640
    assert journey.details["endTimestamp"] == "2024-03-02T23:20:00Z"
    assert journey.details["waypoints"] == [{"lat": 51.5, "lon": -0.126},
                                            {"lat": 51.499, "lon": -0.128}]
    point = found[f"{base}.simplifiedRawPath.points[0]"]
    assert point.time.value == datetime(2024, 3, 2, 23, 5, tzinfo=UTC)
    assert (point.location.accuracy_m, point.location.basis) == (10, "inferred")
    parking = found[f"{base}.parkingEvent"]
    assert parking.time.value == datetime(2024, 3, 2, 23, 21, tzinfo=UTC)
    assert (parking.location.lat, parking.location.accuracy_m) == (51.4995, 12)


def test_older_semantic_files_with_timestamp_ms(tmp_path: Path) -> None:
    visit = place_visit(duration={"startTimestampMs": WHEN_MS, "endTimestampMs": "1709420400000"})
    items = parsed(GoogleSemanticLocationParser,
                   semantic_source(tmp_path, {"timelineObjects": [visit]}))
    (event,) = events(items)
    assert event.time.value == WHEN and event.time.source == "startTimestampMs"
    assert event.details["endTimestampMs"] == "1709420400000"


def test_child_visits_and_a_visit_with_only_its_centre(tmp_path: Path) -> None:
    child = place_visit()["placeVisit"]
    visit = place_visit(childVisits=[child], centerLatE7=515008000, centerLngE7=-1247000)
    visit["placeVisit"]["location"] = {"placeId": "ChIJexamplePlace03", "name": "Example Mall"}
    items = parsed(GoogleSemanticLocationParser,
                   semantic_source(tmp_path, {"timelineObjects": [visit]}))
    found = by_locator(items)
    parent = found["json:timelineObjects[0].placeVisit"]
    assert (parent.location.lat, parent.location.lon) == (51.5008, -0.1247)
    assert any("centerLatE7" in n for n in parent.notes)
    assert "json:timelineObjects[0].placeVisit.childVisits[0]" in found


def test_a_segment_without_a_start_place_is_rejected_and_its_points_read(tmp_path: Path) -> None:
    segment = activity_segment()
    del segment["activitySegment"]["startLocation"]
    items = parsed(GoogleSemanticLocationParser,
                   semantic_source(tmp_path, {"timelineObjects": [segment, {"other": 1}]}))
    assert [r.locator for r in rejects(items)] == ["json:timelineObjects[0].activitySegment",
                                                   "json:timelineObjects[1]"]
    assert "no startLocation" in rejects(items)[0].reason
    assert len(events(items)) == 2            # the path point and the parking event


def test_a_semantic_file_cut_short(tmp_path: Path) -> None:
    text = json.dumps({"timelineObjects": [place_visit(), activity_segment()]}).encode()
    cut = text[:text.index(b'"activitySegment"') + 40]
    items = parsed(GoogleSemanticLocationParser, semantic_source(tmp_path, cut))
    assert [e.locator for e in events(items)] == ["json:timelineObjects[0].placeVisit"]
    assert [r.locator for r in rejects(items)] == ["json:timelineObjects[1]"]


# -- the phone's Timeline.json (Android) -----------------------------------------------------------

def test_android_timeline(tmp_path: Path) -> None:
    path = write(tmp_path, "Zeitachse.json", android_timeline())
    items = parsed(GoogleTimelineAndroidParser, source_file(path))
    found = by_locator(items)
    visit = found["json:semanticSegments[0].visit"]
    assert visit.time.basis == "offset" and visit.time.precision == "ms"
    assert visit.time.value == datetime(2024, 7, 4, 9, 0, tzinfo=PLUS_ONE)
    assert visit.time.value.utcoffset() == timedelta(hours=1)
    assert (visit.location.lat, visit.location.lon, visit.location.basis) == (51.5007, -0.1246,
                                                                              None)
    assert visit.details["placeId"] == "ChIJexamplePlace01"
    assert visit.details["semanticType"] == "HOME"
    assert visit.details["endTime"] == "2024-07-04T11:00:00.000+01:00"
    assert visit.details["startTimeTimezoneUtcOffsetMinutes"] == 60
    assert any("the event is its start" in n for n in visit.notes)

    journey = found["json:semanticSegments[1].activity"]
    assert journey.details["type"] == "IN_PASSENGER_VEHICLE"
    assert journey.details["end_location"] == {"lat": 51.4995, "lon": -0.13}
    parking = found["json:semanticSegments[1].activity.parking"]
    assert parking.time.value == datetime(2024, 7, 4, 11, 31, tzinfo=PLUS_ONE)

    point = found["json:semanticSegments[2].timelinePath[0]"]
    assert (point.location.lat, point.location.lon) == (53.86324, 10.7011764)
    assert point.time.value == datetime(2024, 7, 4, 9, 38, tzinfo=PLUS_ONE)

    signal = found["json:rawSignals[0]"]
    assert (signal.location.lat, signal.location.accuracy_m, signal.location.basis) == (
        51.5007123, 12, "gps")
    assert signal.details["altitudeMeters"] == 53.7

    reasons = {r.locator: r.reason for r in rejects(items)}
    assert set(reasons) == {"json:semanticSegments[2].timelinePath[1]",
                            "json:semanticSegments[3].timelineMemory",
                            "json:rawSignals[1]", "json:rawSignals[2]"}
    assert "not a position" in reasons["json:semanticSegments[2].timelinePath[1]"]
    assert "ChIJexampleTown" in reasons["json:semanticSegments[3].timelineMemory"]
    assert "Wi-Fi scan" in reasons["json:rawSignals[1]"]
    assert "'STILL'" in reasons["json:rawSignals[2]"]
    assert any("frequent place" in n and "HOME" in n for n in source_notes(items))


def test_android_timeline_cut_in_raw_signals(tmp_path: Path) -> None:
    text = json.dumps(android_timeline()).encode()
    cut = text[:text.index(b'"wifiScan"')]
    items = parsed(GoogleTimelineAndroidParser, source_file(write(tmp_path, "Timeline.json", cut)))
    assert "json:rawSignals[0]" in by_locator(items)
    assert rejects(items)[-1].locator == "json:rawSignals[1]"
    assert "cut short" in rejects(items)[-1].reason


# -- the iPhone's location-history.json ------------------------------------------------------------

def test_ios_location_history(tmp_path: Path) -> None:
    path = write(tmp_path, "location-history.json", ios_history())
    items = parsed(GoogleTimelineIosParser, source_file(path))
    found = by_locator(items)
    two = timezone(timedelta(hours=2))
    journey = found["json:[0].activity"]
    assert journey.time.value == datetime(2023, 8, 23, 6, 56, 3, 696000, tzinfo=two)
    assert journey.time.basis == "offset"
    assert (journey.location.lat, journey.location.lon) == (51.5007, -0.1246)
    assert journey.details["type"] == "in passenger vehicle"
    assert journey.details["distanceMeters"] == "29132.000000"
    assert journey.details["end_location"] == {"lat": 51.4995, "lon": -0.13}

    visit = found["json:[1].visit"]
    assert visit.details["placeID"] == "ChIJexamplePlace01"
    assert visit.details["endTime"] == "2023-08-23T18:02:50.990+02:00"

    first, second = found["json:[2].timelinePath[0]"], found["json:[2].timelinePath[1]"]
    assert first.time.value == datetime(2023, 8, 23, 7, 0, tzinfo=UTC)
    assert second.time.value == datetime(2023, 8, 23, 7, 7, tzinfo=UTC)
    assert (second.time.basis, second.time.precision) == ("utc", "min")
    assert second.time.raw == "2023-08-23T07:00:00.000Z + 7 min"
    assert any("plus 7 minute(s)" in n for n in second.notes)
    (reject,) = rejects(items)
    assert reject.locator == "json:[2].timelinePath[2]" and "'seven'" in reject.reason


def test_ios_segment_without_start_time_is_rejected(tmp_path: Path) -> None:
    data = ios_history()
    del data[1]["startTime"]
    data.append({"startTime": "2023-08-23T07:00:00.000Z", "somethingNew": {}})
    items = parsed(GoogleTimelineIosParser, source_file(write(tmp_path, "lh.json", data)))
    reasons = {r.locator: r.reason for r in rejects(items)}
    assert "no startTime" in reasons["json:[1].visit"]
    assert "json:[3]" in reasons


def test_ios_file_cut_short(tmp_path: Path) -> None:
    text = json.dumps(ios_history(), indent=2).encode()
    cut = text[:text.index(b'"visit"')]
    items = parsed(GoogleTimelineIosParser, source_file(write(tmp_path, "lh.json", cut)))
    assert [e.locator for e in events(items)] == ["json:[0].activity"]
    assert [r.locator for r in rejects(items)] == ["json:[1]"]


# -- through the pipeline --------------------------------------------------------------------------

def test_records_through_the_pipeline(tmp_path: Path) -> None:
    case = tmp_path / "case"
    folder = case / "exports" / "Location History"
    folder.mkdir(parents=True)
    (case / "case.toml").write_text(
        '[case]\nreference = "LOC-1"\n'
        '[[person]]\nkey = "suspect"\nrole = "suspect"\nidentifiers = ["tel:07700 900001"]\n'
        '[[source]]\npath = "exports"\nowner = "suspect"\n', encoding="utf-8")
    (folder / "Records.json").write_text(json.dumps(
        {"locations": [record(source="GPS"), record(lat=None)]}), encoding="utf-8")
    (folder / "Settings.json").write_text(json.dumps(settings()), encoding="utf-8")
    result = run_cli("build", case)
    assert result.exit_code == 3, result.output     # 3: built, with a record that needs a look
    (row,) = read_jsonl(case / "out" / "timeline.jsonl")
    assert row["occurred_utc"] == "2024-03-02T21:14:05.123Z"
    assert row["kind"] == "location" and row["platform"] == "device"
    assert row["location"] == {"lat": 51.5007123, "lon": -0.1246, "accuracy_m": 20,
                               "basis": "gps"}
    manifest = json.loads((case / "out" / "manifest.json").read_text(encoding="utf-8"))
    (source,) = [s for s in manifest["sources"] if s["path"].endswith("Records.json")]
    assert [r["locator"] for r in source["rejects"]] == ["json:locations[1]"]
