"""Google Maps Timeline exported from the phone (2024 onwards): Android's ``Timeline.json`` and the
iPhone's ``location-history.json``.

How it is made: in 2024 Google moved Timeline from its servers onto the phone and Takeout stopped
giving ``Records.json`` (:mod:`courseline.parsers.google_location`). On Android: *Settings →
Location → Location services → Timeline → Export Timeline data* writes ``Timeline.json`` (named in
the phone's language: ``Zeitachse.json`` in German; it is recognised by its content). On an
iPhone: Google Maps → profile → *Your Timeline* → ⋯ → *Location and privacy settings* → *Export
Timeline data* writes ``location-history.json``. On a seized phone the same files may be found in
its downloads.

Sources (public, read with the code search): nabedroid/google-timeline-viewer ``README.md`` (every
field of the Android file, from the author's own data: ``semanticSegments`` with ``startTime``/
``endTime`` ISO 8601 with an offset and ``…TimezoneUtcOffsetMinutes``, ``visit.topCandidate
{placeId, semanticType, probability, placeLocation.latLng}``, ``activity{start, end,
distanceMeters, topCandidate.type, parking}``, ``timelinePath[{point, time}]``,
``timelineMemory``; ``rawSignals`` of ``position{LatLng, accuracyMeters, altitudeMeters, source,
timestamp, speedMetersPerSecond}``, ``wifiScan``, ``activityRecord``; ``userLocationProfile
{frequentPlaces, persona}``; positions written ``"35.1234567°, 139.1234567°"``);
dedicatedcode/reitti ``src/test/resources/data/google/Zeitachse.json`` (a small Android file,
positions with fewer than 7 places such as ``53.86324°``) and
``GoogleIOSTimelineImporter.java`` / ``BaseGoogleTimelineImporter.java`` (the iPhone file is a
top-level array; ``geo:lat,lon`` and ``°`` forms; a path point's time is ``startTime`` plus
``durationMinutesOffsetFromStartTime`` minutes); tess1o/geopulse ``GoogleTimelineRecord.java``,
``GoogleTimelineActivity.java``, ``GoogleTimelineVisitCandidate.java`` (iPhone: ``placeID`` with a
capital D, numbers written as strings, ``activity.start``/``end`` as ``geo:`` text); bobg/lohi
``schema/schema.go`` (the Android field names again). Two public descriptions of real iPhone
files, whose repositories the search did not name, agree (``"2023-08-23T06:56:03.696+02:00"``,
``"distanceMeters": "29132.000000"``, ``"durationMinutesOffsetFromStartTime": "7"``). No real
export was available: checked on synthetic files built in these shapes only
(tests/parsers/test_google_location.py).

What is read (kind ``location``, platform ``device``; details keep the export's field names for
values copied as written, snake_case for values courseline derived):

* A segment (``semanticSegments[N]`` on Android, the array's element ``[N]`` on the iPhone):
  ``visit`` → one event at ``startTime`` at ``topCandidate.placeLocation``; its ``endTime`` is in
  details and the event says so; details ``placeId``/``placeID``, ``semanticType``,
  ``probability`` (the candidate's and the visit's), ``hierarchyLevel``, ``isTimelessVisit``.
  ``activity`` → one event at ``startTime`` at ``activity.start``; ``endTime``, ``end_location``,
  ``distanceMeters``, ``topCandidate.type`` (as ``type``) and ``probability`` in details; its
  ``parking`` (Android) is an event at its own ``startTime``. ``timelinePath`` → one event per
  point: at its own ``time`` (Android), or at ``startTime`` plus ``durationMinutesOffsetFromStart
  Time`` whole minutes (iPhone: precision ``min``, the derivation noted).
  ``timelineMemory`` (a trip summary: destinations by place id, no position) is rejected, named.
* ``rawSignals[N]`` (Android): ``position`` → an event at its ``timestamp``, location basis its
  ``source`` in lower case (``gps``, ``wifi``, ``cell``, ``unknown``), accuracy
  ``accuracyMeters``, details ``altitudeMeters``, ``speedMetersPerSecond``. ``wifiScan`` and
  ``activityRecord`` hold no position and are rejected, named (so the count of records read
  stays true).
* ``userLocationProfile`` (Android): no times; its frequent places (``label``, ``placeId``,
  ``placeLocation``) and travel-mode affinities are said in a source note.
* Times: ISO 8601 as written: ``Z`` gives basis ``utc``, an offset basis ``offset`` (the wall
  clock where the phone was); precision ``ms`` when a fraction is written. The phone wrote them,
  so ``device_clock`` is true. Positions: decimal degrees read exactly (``geo:`` parameters
  other than the two numbers are noted, not read); positions carry no basis where the export
  says nothing of how they were found.

Rejects (never dropped): a segment, signal or point that is not an object, has no usable time
(missing, not ISO 8601, without a zone) or no usable position. Locators ``json:semanticSegments
[N].visit``, ``json:semanticSegments[N].timelinePath[M]``, ``json:rawSignals[N]`` (Android) and
``json:[N].visit``, ``json:[N].timelinePath[M]`` (iPhone), 0-based as jq.

Streaming: as for ``Records.json`` (:class:`~courseline.parsers.google_location.StreamReading`):
one segment or signal decoded at a time, a cut or broken file gives what came before and one
reject where it stops.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import detail_value
from courseline.parsers._json_stream import json_head
from courseline.parsers.google_location import (
    MAX_LIST_ITEMS,
    MAX_SHOWN,
    StreamReading,
    Unusable,
    accuracy_m,
    copy_fields,
    end_time_note,
    iso_time,
    location_basis,
    location_event,
    not_an_object,
    number,
    shown,
    text_position,
    text_value,
)
from courseline.timeline.event import (
    Event,
    RawTime,
    Reject,
    SourceNote,
    bounded,
    clean_text,
)

SEGMENT_KINDS = ("visit", "activity", "timelinePath", "timelineMemory")
MAX_PATH_MINUTES = 7 * 24 * 60        # a path point offset beyond a week is not a segment's


# -- positions as the phone writes them ------------------------------------------------------------

def place_of(value: Any, name: str) -> tuple[tuple[float, float], list[str]]:
    """A position written as text (iPhone: ``"geo:…"``) or as ``{"latLng": "…°, …°"}``
    (Android)."""
    if isinstance(value, dict):
        key = "latLng" if "latLng" in value else "LatLng"
        return text_position(value.get(key), f"{name}.{key}")
    return text_position(value, name)


# -- one segment -----------------------------------------------------------------------------------

class Segments:
    """The events of one semantic segment: its visit, activity, path points and trip memory."""

    def of(self, locator: str, segment: Any) -> Iterator[Event | Reject]:
        if not isinstance(segment, dict):
            yield not_an_object(locator, segment)
            return
        kinds = [kind for kind in SEGMENT_KINDS if segment.get(kind) is not None]
        if not kinds:
            keys = ", ".join(bounded(clean_text(k), 60)[0] for k in list(segment)[:MAX_SHOWN])
            yield Reject(locator, f"no visit, activity, timelinePath or timelineMemory (keys: "
                                  f"{keys or 'none'}): nothing to read")
            return
        for kind in kinds:
            where = f"{locator}.{kind}"
            value = segment[kind]
            if kind == "visit":
                yield self.visit(where, segment, value)
            elif kind == "activity":
                yield from self.activity(where, segment, value)
            elif kind == "timelinePath":
                yield from self.path(where, segment, value)
            else:
                yield self.memory(where, value)

    @staticmethod
    def times(segment: dict[str, Any], details: dict[str, Any], notes: list[str],
              what: str) -> RawTime:
        """The segment's start as the event's time; its end into details, the derivation into
        notes. Unusable when the start cannot be read."""
        start = iso_time(segment.get("startTime"), "startTime")
        copy_fields(segment, ("startTimeTimezoneUtcOffsetMinutes",
                              "endTimeTimezoneUtcOffsetMinutes"), details)
        if segment.get("endTime") is None:
            notes.append(f"a {what}: the event is its start; its end is not in the export")
            return start
        try:
            end = iso_time(segment["endTime"], "endTime")
        except Unusable as error:
            notes.append(f"a {what}: the event is its start; its end was not read ({error})")
            return start
        details["endTime"] = detail_value(end.raw)
        notes.append(f"a {what}: the event is its start; it ended at {end.raw} (details.endTime)")
        odd = end_time_note(start, end)
        if odd:
            notes.append(odd)
        return start

    def visit(self, locator: str, segment: dict[str, Any], visit: Any) -> Event | Reject:
        if not isinstance(visit, dict):
            return not_an_object(locator, visit)
        candidate = visit.get("topCandidate") if isinstance(visit.get("topCandidate"), dict) else {}
        details: dict[str, Any] = {}
        notes: list[str] = []
        try:
            start = self.times(segment, details, notes, "visit")
            where, place_notes = place_of(candidate.get("placeLocation"),
                                          "topCandidate.placeLocation")
        except Unusable as error:
            return Reject(locator, f"{error}: a visit needs a start time and a place")
        notes.extend(place_notes)
        copy_fields(candidate, ("placeId", "placeID", "semanticType", "isTimelessVisit"), details)
        if "probability" in candidate:
            details["topCandidate.probability"] = detail_value(candidate["probability"])
        copy_fields(visit, ("hierarchyLevel", "probability", "isTimelessVisit"), details)
        return location_event(locator, start, where, None, None, details, notes)

    def activity(self, locator: str, segment: dict[str, Any], activity: Any
                 ) -> Iterator[Event | Reject]:
        if not isinstance(activity, dict):
            yield not_an_object(locator, activity)
            return
        details: dict[str, Any] = {}
        notes: list[str] = []
        try:
            start = self.times(segment, details, notes, "journey")
            where, place_notes = place_of(activity.get("start"), "activity.start")
        except Unusable as error:
            yield Reject(locator, f"{error}: a journey's event needs its start time and place")
        else:
            notes.extend(place_notes)
            self._journey_details(activity, details, notes)
            yield location_event(locator, start, where, None, None, details, notes)
        if activity.get("parking") is not None:
            yield self.parking(f"{locator}.parking", activity["parking"])

    @staticmethod
    def _journey_details(activity: dict[str, Any], details: dict[str, Any],
                         notes: list[str]) -> None:
        candidate = activity.get("topCandidate")
        if isinstance(candidate, dict):
            copy_fields(candidate, ("type",), details)
            if "probability" in candidate:
                details["topCandidate.probability"] = detail_value(candidate["probability"])
        copy_fields(activity, ("distanceMeters", "probability"), details)
        if activity.get("end") is not None:
            try:
                (lat, lon), _ = place_of(activity["end"], "activity.end")
                details["end_location"] = {"lat": lat, "lon": lon}
            except Unusable as error:
                notes.append(f"activity.end not read: {error}")

    @staticmethod
    def parking(locator: str, parking: Any) -> Event | Reject:
        if not isinstance(parking, dict):
            return not_an_object(locator, parking)
        try:
            time = iso_time(parking.get("startTime"), "parking.startTime")
            where, notes = place_of(parking.get("location"), "parking.location")
        except Unusable as error:
            return Reject(locator, f"{error}: a parking record needs a time and a place")
        return location_event(locator, time, where, None, None, {"record": "parking"}, notes)

    def path(self, locator: str, segment: dict[str, Any], path: Any) -> Iterator[Event | Reject]:
        if not isinstance(path, list):
            yield Reject(locator, f"timelinePath is a JSON {shown(type(path).__name__)}, not a "
                                  "list of points: nothing read")
            return
        for index, point in enumerate(path):
            yield self.path_point(f"{locator}[{index}]", segment, point)

    @staticmethod
    def path_point(locator: str, segment: dict[str, Any], point: Any) -> Event | Reject:
        if not isinstance(point, dict):
            return not_an_object(locator, point)
        notes: list[str] = []
        try:
            if point.get("time") is not None:
                time = iso_time(point["time"], "time")
            else:
                time, notes = offset_time(segment.get("startTime"),
                                          point.get("durationMinutesOffsetFromStartTime"))
            where, place_notes = place_of(point.get("point"), "point")
        except Unusable as error:
            return Reject(locator, f"{error}: a path point needs a time and a place")
        return location_event(locator, time, where, None, None, {"record": "timelinePath point"},
                              notes + place_notes)

    @staticmethod
    def memory(locator: str, memory: Any) -> Reject:
        """A trip summary: no position, so no location event; its content is named."""
        if not isinstance(memory, dict):
            return not_an_object(locator, memory)
        trip = memory.get("trip") if isinstance(memory.get("trip"), dict) else {}
        destinations = trip.get("destinations") if isinstance(trip.get("destinations"), list) \
            else []
        ids = [detail_value(d["identifier"].get("placeId")) for d in destinations[:MAX_SHOWN]
               if isinstance(d, dict) and isinstance(d.get("identifier"), dict)]
        said = f"; destination place ids: {', '.join(map(str, ids))}" if ids else ""
        return Reject(locator, f"a timeline memory (Google's trip summary) holds no position: not "
                               f"a location record{bounded(said, 1500)[0]}")


def offset_time(start_value: Any, minutes_value: Any) -> tuple[RawTime, list[str]]:
    """An iPhone path point's time: the segment's ``startTime`` plus whole minutes."""
    start = iso_time(start_value, "startTime")
    if minutes_value is None:
        raise Unusable("no time and no durationMinutesOffsetFromStartTime")
    minutes = number(minutes_value)
    if not isinstance(minutes, int) or not 0 <= minutes <= MAX_PATH_MINUTES:
        raise Unusable(f"durationMinutesOffsetFromStartTime {shown(minutes_value)} is not a "
                       f"whole number of minutes from 0 to {MAX_PATH_MINUTES}")
    assert start.value is not None
    raw = f"{start.raw} + {minutes_value} min"
    time = RawTime(raw, start.value + timedelta(minutes=minutes), start.basis, "min",
                   "startTime + durationMinutesOffsetFromStartTime")
    note = (f"time derived: the segment's startTime {start.raw} plus {minutes} minute(s) (the "
            "export gives a path point's time to the minute only)")
    return time, [note]


# -- raw signals and the location profile (Android) ------------------------------------------------

def signal_record(locator: str, signal: Any) -> Event | Reject:
    """One element of ``rawSignals``: a position is an event; a Wi-Fi scan or an activity record
    has no position and is rejected, named."""
    if not isinstance(signal, dict):
        return not_an_object(locator, signal)
    found = signal.get("position")
    if isinstance(found, dict):
        return position_event(locator, found)
    if isinstance(signal.get("wifiScan"), dict):
        scan = signal["wifiScan"]
        count = len(scan["devicesRecords"]) if isinstance(scan.get("devicesRecords"), list) else 0
        return Reject(locator, f"a Wi-Fi scan ({count} access point(s) by MAC address, delivered "
                               f"{shown(scan.get('deliveryTime'))}) holds no position: not a "
                               "location record")
    if isinstance(signal.get("activityRecord"), dict):
        record = signal["activityRecord"]
        activities = record.get("probableActivities")
        best = activities[0] if isinstance(activities, list) and activities else None
        kind = shown(best.get("type")) if isinstance(best, dict) else "none"
        return Reject(locator, f"an activity record (most likely {kind} at "
                               f"{shown(record.get('timestamp'))}) holds no position: not a "
                               "location record")
    keys = ", ".join(bounded(clean_text(k), 60)[0] for k in list(signal)[:MAX_SHOWN])
    return Reject(locator, f"no position, wifiScan or activityRecord (keys: {keys or 'none'}): "
                           "nothing read")


def position_event(locator: str, found: dict[str, Any]) -> Event | Reject:
    key = "LatLng" if "LatLng" in found else "latLng"
    try:
        time = iso_time(found.get("timestamp"), "position.timestamp")
        where, notes = text_position(found.get(key), f"position.{key}")
    except Unusable as error:
        return Reject(locator, f"{error}: a position needs a time and a place")
    details: dict[str, Any] = {"record": "rawSignals position"}
    copy_fields(found, ("source", "altitudeMeters", "speedMetersPerSecond"), details)
    accuracy = accuracy_m(found.get("accuracyMeters"))
    return location_event(locator, time, where, accuracy, location_basis(found.get("source")),
                          details, notes)


def profile_notes(profile: Any) -> Iterator[SourceNote]:
    """``userLocationProfile``: what the phone took to be the owner's frequent places (no times,
    so no events), said once."""
    if not isinstance(profile, dict):
        return
    places = profile.get("frequentPlaces")
    described = []
    for place in places[:MAX_SHOWN] if isinstance(places, list) else []:
        if isinstance(place, dict):
            label = text_value(place.get("label")) or "no label"
            where = text_value(place.get("placeLocation")) or "no position"
            described.append(f"{label} at {where} (placeId {text_value(place.get('placeId'))})")
    if isinstance(places, list):
        more = f" and {len(places) - MAX_SHOWN} more" if len(places) > MAX_SHOWN else ""
        yield SourceNote(bounded(clean_text(
            f"userLocationProfile lists {len(places)} frequent place(s) (no times: not events)"
            + (": " + "; ".join(described) + more if described else "")), 4000)[0])
    persona = profile.get("persona")
    if isinstance(persona, dict) and persona.get("travelModeAffinities") is not None:
        yield SourceNote(bounded(clean_text(
            "userLocationProfile.persona.travelModeAffinities: "
            + json.dumps(persona["travelModeAffinities"][:MAX_LIST_ITEMS]
                         if isinstance(persona["travelModeAffinities"], list)
                         else persona["travelModeAffinities"], ensure_ascii=False,
                         sort_keys=True, default=str)), 2000)[0])


# -- the parsers -----------------------------------------------------------------------------------

_ANDROID_HEAD = json_head(rb"\{", rb'"(?:semanticSegments|rawSignals|userLocationProfile)"', rb":",
                          rb"[\[{]")


class GoogleTimelineAndroidParser(Parser):
    NAME = "google-timeline-json"
    DATA_FORMAT = "Google Maps Timeline export from an Android phone (Timeline.json)"
    VERSION = "1"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        return _ANDROID_HEAD.match(sample.text_head) is not None

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        segments = Segments()
        with source.path.open("rb") as handle:
            reading = StreamReading(source, handle)

            def semantic_segments() -> Iterator[Event | Reject]:
                for item in reading.elements("json:semanticSegments"):
                    if isinstance(item, Reject):
                        yield item
                    else:
                        yield from segments.of(*item)

            def raw_signals() -> Iterator[Event | Reject]:
                for item in reading.elements("json:rawSignals"):
                    yield item if isinstance(item, Reject) else signal_record(*item)

            def location_profile() -> Iterator[Reject | SourceNote]:
                found = reading.walk.value("json:userLocationProfile")
                if isinstance(found, Reject):
                    yield found
                else:
                    yield from profile_notes(found.value)

            yield from reading.guarded(reading.top_object(
                {"semanticSegments": ("[", semantic_segments), "rawSignals": ("[", raw_signals),
                 "userLocationProfile": ("{", location_profile)},
                '"semanticSegments" or "rawSignals"'))


_IOS_HEAD = json_head(rb"\[", rb"\{")


class GoogleTimelineIosParser(Parser):
    NAME = "google-timeline-ios-json"
    DATA_FORMAT = "Google Maps Timeline export from an iPhone (location-history.json)"
    VERSION = "1"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        found = _IOS_HEAD.match(sample.text_head)
        if found is None:
            return False
        text = sample.text_head[found.end() - 1:].decode("utf-8", "replace")
        try:
            first, _ = json.JSONDecoder().raw_decode(text)
        except json.JSONDecodeError:   # the first segment runs past the head: its keys lead it
            start = text[:4096]
            return '"startTime"' in start and any(
                f'"{kind}"' in start for kind in ("visit", "activity", "timelinePath"))
        return (isinstance(first, dict) and ("startTime" in first or "endTime" in first)
                and any(kind in first for kind in SEGMENT_KINDS))

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        segments = Segments()
        with source.path.open("rb") as handle:
            reading = StreamReading(source, handle)

            def elements() -> Iterator[Event | Reject | SourceNote]:
                if reading.stream.peek() != "[":
                    yield Reject("json:file", f"{source.name} is not a JSON array: nothing read")
                    return
                for item in reading.elements("json:"):
                    if isinstance(item, Reject):
                        yield item
                    else:
                        yield from segments.of(*item)
                trailing = reading.walk.trailing_note()
                if trailing:
                    yield trailing

            yield from reading.guarded(elements())


__all__ = [
    "GoogleTimelineAndroidParser",
    "GoogleTimelineIosParser",
    "Segments",
    "offset_time",
    "signal_record",
]
