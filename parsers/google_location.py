"""Google location history in a Google Takeout export: ``Location History/Records.json`` (every
position the account's devices reported) and ``Location History/Semantic Location History/YYYY/
YYYY_MONTH.json`` (Google's reading of them: places visited and journeys between them).

How it is made: takeout.google.com → *Deselect all* → tick *Location History (Timeline)* → JSON →
*Create export*. The zip holds ``Takeout/Location History/Records.json``, ``Settings.json`` and
``Semantic Location History/<year>/<year>_<MONTH>.json`` (folder and file names are translated
in other languages, e.g. German ``Standortverlauf``: the files are recognised by their content).
Google moved Timeline onto the phone in 2024 and stopped these Takeout files; the on-device
export is read by :mod:`courseline.parsers.google_timeline`, which shares this module's helpers.

Sources (public, checked with the code search on 2025 copies): CarlosBergillos/
LocationHistoryFormat ``schemas/Records.schema.json``, ``schemas/Semantic.schema.json`` and
``schemas/Settings.schema.json`` (every field named below, ``timestampMs`` "removed around January
2022" in favour of ``timestamp``, ``source`` values in upper or lower case, ``deviceTag`` keyed to
``Settings.json``'s ``deviceSettings``); purarue/google_takeout_parser ``parse_json.py`` (reads
``<key>Ms`` before ``<key>`` for both files; some recent visits lack ``placeId``); dedicatedcode/
reitti ``GoogleRecordsImporter.java`` (streams ``locations``); pastebin samples of 2015 and 2017
files (``timestampMs`` strings, the older ``activitys``/``activities`` spelling). formats.md §4.7
covers Takeout in general (localised names, pitfall 25) but not these files. No real file was
available: everything here is checked on synthetic files only (tests/parsers/
test_google_location.py).

What is read (kind ``location``, platform ``device``; details keep the export's own field names for
values copied as written, and snake_case names for values courseline derived):

* ``Records.json`` → one event per element of ``locations``. Time: ``timestamp`` (ISO 8601,
  ``Z``: basis ``utc``; precision ``ms`` when it has a fraction, else ``s``), else
  ``timestampMs`` (Unix milliseconds as a string: basis ``utc``, precision ``ms``); both written
  and disagreeing is noted. Position: ``latitudeE7``/``longitudeE7`` divided by 10^7 exactly (as
  decimals, so 515007000 is 51.5007, not a float's neighbour); ``accuracy`` in metres; the
  location's basis is ``source`` in lower case (``gps``, ``wifi``, ``cell``, ``visit_arrival``,
  ``unknown``), None when not written. Details: ``source``, ``deviceTag`` (and ``device_name``
  from ``Settings.json`` beside the file, when it is there), ``platformType``, ``formFactor``,
  ``altitude``, ``verticalAccuracy``, ``velocity``, ``heading``, ``placeId``,
  ``deviceTimestamp``, ``serverTimestamp``, ``batteryCharging``, and ``activity``: the most
  likely type of each detected-activity entry (``activity[].activity[0]`` or the 2015
  ``activitys[].activities[0]``) with its confidence and time.
* A semantic month file → for each element of ``timelineObjects``:
  ``placeVisit``: one event at the visit's start (``duration.startTimestamp`` or
  ``startTimestampMs``) at ``location.latitudeE7/longitudeE7`` (else ``centerLatE7/
  centerLngE7``, noted); its end (``endTimestamp``) is in details, not an event of its own, and
  the event says so. Details: ``name``, ``address``, ``placeId``, ``semanticType``,
  ``placeConfidence``, ``visitConfidence``, ``locationConfidence``, ``editConfirmationStatus``,
  ``placeVisitImportance``, ``deviceTag``, the names of ``otherCandidateLocations``.
  ``childVisits`` are visits of their own (``.childVisits[N]``).
  ``activitySegment``: one event at its start at ``startLocation``; ``endTimestamp``,
  ``end_location``, ``distance``, ``activityType``, ``confidence``, the waypoints of
  ``waypointPath`` (bounded) and the line and stops of ``transitPath`` in details.
  ``simplifiedRawPath.points`` (of a visit or a segment) and a ``parkingEvent`` each give an event
  at their own time and place. A segment without a start position is rejected; its points and
  parking event are still read.
* Which device the times come from: the phone reported them, so ``device_clock`` is true (a
  measured clock offset of the source applies, visibly).

Not read: ``Settings.json`` beyond device names; ``Timeline Edits.json``; Wi-Fi scans
(``activeWifiScan``, ``locationMetadata``) and ``inferredLocation`` of a record; ``roadSegment``,
``checkin`` and ``editActionMetadata`` of semantic objects; transit timetables.

Rejects (never dropped): an element that is not an object, has no usable time (missing, not ISO
8601 or milliseconds, without a zone), or no usable position (missing, not an integer, out of
range). Locators: ``json:locations[N]``, ``json:timelineObjects[N].placeVisit``,
``json:timelineObjects[N].activitySegment.simplifiedRawPath.points[M]`` (0-based, as jq).

Streaming: ``Records.json`` reaches gigabytes. The parsers' shared chunked reader
(``_json_stream.JsonStream`` and its ``RecordWalk``) reads it in chunks of :data:`CHUNK_BYTES` and
decodes one element at a time with the standard library's C decoder; memory is a chunk plus one
element. An element that is not JSON is stepped over and rejected; a file cut short (an
interrupted download) gives every element before the cut and one reject naming the element it
ends in (``json:byte=N`` when it ends between elements); a break in the structure around the
elements ends the read the same way. Bytes that are not UTF-8 are read as U+FFFD and said once.
Measured on a generated 300 MB ``Records.json`` (1.23 million elements, this parser alone, on
the shared 2-core machine): peak RSS 55 MiB, 4-5 MiB over the interpreter's own; 28,000 to
47,000 elements a second depending on the machine's load.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import detail_value
from courseline.parsers._json_stream import (
    WALK_ENDS,
    JsonStream,
    RecordWalk,
    json_head,
    read_small_json,
)
from courseline.timeline.event import (
    Event,
    Location,
    RawTime,
    Reject,
    SourceNote,
    bounded,
    clean_text,
)

CHUNK_BYTES = 1024 * 1024               # read size; memory is about this plus one record
MAX_RECORD_CHARS = 16 * 1024 * 1024     # one element larger than this is stepped over
MAX_SETTINGS_BYTES = 4 * 1024 * 1024
MAX_LIST_ITEMS = 200                    # items kept of a list copied into details
MAX_SHOWN = 20                          # items named in a note
MAX_VALUE_CHARS = 2_000                 # a string copied into details

PLATFORM = "device"
KIND = "location"
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
E7 = Decimal(10) ** 7


class Unusable(ValueError):
    """A value that cannot be read exactly; the message says why (it becomes a reject)."""


# -- small values ----------------------------------------------------------------------------------

def shown(value: Any, limit: int = 100) -> str:
    """A value of the export as a reason may quote it: bounded, never the whole of a long text."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return repr(bounded(clean_text(text), limit)[0])


def text_value(value: Any) -> str | None:
    """A string of the export fit for details, or None when it is not a non-empty string."""
    if not isinstance(value, str) or not value:
        return None
    return bounded(clean_text(value), MAX_VALUE_CHARS)[0]


def number(value: Any) -> int | float | None:
    """A finite JSON number, or a number written as a string (the iPhone export writes them so),
    or None. Booleans are not numbers here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) < 40:
        try:
            found = Decimal(value.strip())
        except InvalidOperation:
            return None
        if not found.is_finite():
            return None
        return int(found) if found == found.to_integral_value() else float(found)
    return None


def copy_fields(record: dict[str, Any], names: Collection[str], details: dict[str, Any]) -> None:
    """Copy the fields ``names`` of a record into details as written: numbers and booleans as
    they are, strings bounded, anything else (a list, an object, NaN, which Python's decoder
    reads though JSON has it not) as bounded JSON text."""
    for name in names:
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, (bool, int)) or (isinstance(value, float) and math.isfinite(value)):
            details[name] = value
        else:
            details[name] = detail_value(value if not isinstance(value, float) else str(value),
                                         sort_keys=True)


# -- positions -------------------------------------------------------------------------------------

# "51.5007°, -0.1246°" (Android) or "geo:51.500700,-0.124600" (iPhone, RFC 5870 without
# parameters): the on-device exports write positions as text.
_LAT_LNG = re.compile(r"\s*(?P<geo>geo:)?\s*(?P<lat>[+-]?\d{1,3}(?:\.\d{1,15})?)\s*°?\s*,\s*"
                      r"(?P<lon>[+-]?\d{1,3}(?:\.\d{1,15})?)\s*°?\s*(?P<params>;[^\n]{0,200})?\Z")


def e7_degrees(value: Any, name: str) -> Decimal:
    """An E7 integer (degrees times 10^7) as exact decimal degrees; Unusable when it is not an
    integer."""
    if value is None:
        raise Unusable(f"no {name}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unusable(f"{name} {shown(value)} is not an integer")
    return Decimal(value) / E7


def position(lat: Decimal, lon: Decimal) -> tuple[float, float]:
    """Decimal degrees as the floats of a Location: the float nearest each decimal, so no digit
    of the export's 7 places drifts. Unusable when outside the Earth's ranges."""
    if not -90 <= lat <= 90:
        raise Unusable(f"latitude {lat} is outside -90..90")
    if not -180 <= lon <= 180:
        raise Unusable(f"longitude {lon} is outside -180..180")
    return float(lat), float(lon)


def e7_position(record: dict[str, Any], lat_name: str, lon_name: str) -> tuple[float, float]:
    return position(e7_degrees(record.get(lat_name), lat_name),
                    e7_degrees(record.get(lon_name), lon_name))


def text_position(value: Any, name: str) -> tuple[tuple[float, float], list[str]]:
    """A position written as text (``51.5007°, -0.1246°`` or ``geo:51.5007,-0.1246``) and notes
    on it; Unusable when it is neither."""
    if value is None:
        raise Unusable(f"no {name}")
    if not isinstance(value, str):
        raise Unusable(f"{name} {shown(value)} is not text")
    match = _LAT_LNG.fullmatch(value)
    if match is None:
        raise Unusable(f"{name} {shown(value)} is not a position courseline reads "
                       "('51.5007°, -0.1246°' or 'geo:51.5007,-0.1246')")
    notes = []
    if match["params"]:
        notes.append(f"{name}: the geo: parameters {shown(match['params'])} were not read")
    return position(Decimal(match["lat"]), Decimal(match["lon"])), notes


def accuracy_m(value: Any) -> float | None:
    """An accuracy radius in metres, or None when not written or not a number of metres."""
    found = number(value)
    return found if found is not None and found >= 0 else None


def location_basis(source: Any) -> str | None:
    """The basis of a position from the export's own word for it (``GPS`` → ``gps``)."""
    word = text_value(source)
    return bounded(word.strip().lower(), 40)[0] if word and word.strip() else None


# -- times -----------------------------------------------------------------------------------------

def iso_time(value: Any, name: str) -> RawTime:
    """An ISO 8601 time with ``Z`` (basis ``utc``) or an offset (basis ``offset``), as written;
    precision ``ms`` when a fraction of a second is written. Unusable otherwise: a time without
    a zone is not guessed."""
    if value is None:
        raise Unusable(f"no {name}")
    if not isinstance(value, str) or not value.strip():
        raise Unusable(f"{name} {shown(value)} is not a time")
    written = value.strip()
    try:
        moment = datetime.fromisoformat(written)
    except ValueError:
        raise Unusable(f"{name} {shown(value)} is not an ISO 8601 time") from None
    offset = moment.utcoffset()
    if offset is None:
        raise Unusable(f"{name} {shown(value)} has no zone: the time is not guessed")
    precision = "ms" if "." in written.partition("T")[2] or "," in written else "s"
    if written[-1] in "Zz":
        return RawTime(value, moment.astimezone(UTC), "utc", precision, name)
    return RawTime(value, moment, "offset", precision, name)


def epoch_ms_time(value: Any, name: str) -> RawTime:
    """Unix milliseconds (a string of digits, as Takeout writes them, or a number) in UTC."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Unusable(f"{name} {shown(value)} is not a number of milliseconds")
    written = str(value).strip()
    if not re.fullmatch(r"-?\d{1,16}", written):
        raise Unusable(f"{name} {shown(value)} is not a number of milliseconds")
    try:
        moment = UNIX_EPOCH + timedelta(milliseconds=int(written))
    except OverflowError:
        raise Unusable(f"{name} {shown(value)} is outside the calendar") from None
    return RawTime(str(value), moment, "utc", "ms", name)


def takeout_time(record: dict[str, Any], name: str) -> tuple[RawTime, list[str]]:
    """A Takeout time written as ``<name>`` (ISO 8601) or, in files before 2022, ``<name>Ms``
    (Unix milliseconds); the ISO form is read first and a disagreement is noted."""
    iso, millis = record.get(name), record.get(f"{name}Ms")
    if iso is None and millis is None:
        raise Unusable(f"no {name} (nor {name}Ms)")
    if iso is None:
        return epoch_ms_time(millis, f"{name}Ms"), []
    time = iso_time(iso, name)
    notes = []
    if millis is not None:
        try:
            other = epoch_ms_time(millis, f"{name}Ms")
        except Unusable as error:
            notes.append(f"{name}Ms not read: {error}")
        else:
            if other.value != time.value:
                notes.append(f"{name}Ms {shown(millis)} disagrees with {name} {shown(iso)}: "
                             f"{name} was read")
    return time, notes


def end_time_note(start: RawTime, end: RawTime) -> str | None:
    if start.value is not None and end.value is not None and end.value < start.value:
        return f"it ends ({end.raw}) before it starts ({start.raw}): both kept as written"
    return None


# -- events ----------------------------------------------------------------------------------------

def location_event(locator: str, time: RawTime, where: tuple[float, float],
                   accuracy: float | None, basis: str | None, details: dict[str, Any],
                   notes: list[str]) -> Event:
    return Event(kind=KIND, platform=PLATFORM, time=time, locator=locator,
                 location=Location(lat=where[0], lon=where[1], accuracy_m=accuracy, basis=basis),
                 details=details, notes=notes)


def not_an_object(locator: str, value: Any) -> Reject:
    return Reject(locator, f"not an object but a JSON {json_type(value)}: nothing to read")


def json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            type(None): "null"}.get(type(value), "number")


# -- the device names of Settings.json ------------------------------------------------------------

class Devices:
    """``deviceTag`` → the device's name, from ``Settings.json`` of the same export (found
    through ``source.related``, so it is a hashed exhibit too)."""

    def __init__(self, source: SourceFile, relative: str):
        self.names: dict[int, str] = {}
        self.note: str | None = None
        self.read = False
        self.tags_seen = False
        path = source.related(relative)
        if path is not None:
            self._read(path)

    def _read(self, path: Path) -> None:
        try:
            settings = read_small_json(path, MAX_SETTINGS_BYTES)
        except (OSError, ValueError, RecursionError) as error:
            self.note = (f"Settings.json beside the file could not be read ({type(error).__name__}:"
                         f" {bounded(str(error), 200)[0]}): devices are named by deviceTag only")
            return
        entries = settings.get("deviceSettings") if isinstance(settings, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("deviceTag"), int):
                name = text_value(entry.get("devicePrettyName"))
                if name:
                    self.names[entry["deviceTag"]] = bounded(name, 200)[0]
        self.read = True
        listed = ", ".join(f"{tag} = {name}" for tag, name in sorted(self.names.items())[:MAX_SHOWN])
        self.note = (f"Settings.json names {len(self.names)} device(s) by deviceTag"
                     + (f": {listed}" if listed else ""))

    def describe(self, tag: Any, details: dict[str, Any]) -> None:
        """Put a record's ``deviceTag`` (and the device's name, when known) in details."""
        if tag is None:
            return
        self.tags_seen = True
        details["deviceTag"] = detail_value(tag)
        if isinstance(tag, int) and tag in self.names:
            details["device_name"] = self.names[tag]

    def notes(self) -> Iterator[SourceNote]:
        if self.note:
            yield SourceNote(self.note)
        elif self.tags_seen and not self.read:
            yield SourceNote("deviceTag is Google's number for the device that reported a "
                             "position; Settings.json (which names the devices) is not beside "
                             "the file in the export")


# -- reading a JSON document in chunks -------------------------------------------------------------

# Reads one member of a top-level object (the stream is at its value) and yields its records.
Reader = Callable[[], Iterator[Event | Reject | SourceNote]]


class StreamReading:
    """One pass over one large JSON document with the shared chunked reader and its record walk
    (``_json_stream.RecordWalk``): the arrays of records are read one element at a time, an
    element that is not JSON is stepped over as a reject, and damage to the structure ends the
    read with one reject naming where (the element it is in, else the byte)."""

    def __init__(self, source: SourceFile, handle: Any):
        self.source = source
        # Bytes that are not UTF-8 become U+FFFD, as the decoding note says (byte offsets in a
        # damage reject after such a byte count the U+FFFD's three bytes).
        self.stream = JsonStream(handle, CHUNK_BYTES, errors="replace")
        self.walk = RecordWalk(self.stream, source.name)

    def elements(self, prefix: str) -> Iterator[tuple[str, Any] | Reject]:
        """The elements of the array that starts here, each decoded on its own with its locator
        (``<prefix>[N]``), or the reject of one stepped over."""
        for locator, found in self.walk.records(prefix, MAX_RECORD_CHARS):
            yield found if isinstance(found, Reject) else (locator, found.value)

    def guarded(self, reading: Iterator[Event | Reject | SourceNote]
                ) -> Iterator[Event | Reject | SourceNote]:
        """The records of ``reading``, one reject where the file stops being readable, and the
        note on bytes that are not UTF-8."""
        try:
            yield from reading
        except WALK_ENDS as error:
            yield self.walk.fault(error)
        note = self.walk.decoding_note()
        if note:
            yield note

    def top_object(self, wanted: dict[str, tuple[str, Reader]], what: str
                   ) -> Iterator[Event | Reject | SourceNote]:
        """Walk a top-level object: each member named in ``wanted`` (→ the character its value
        opens with, its reader) is read by its reader, once; the others are stepped over and
        named in a note."""
        stream = self.stream
        if stream.peek() != "{":
            yield Reject("json:file", f"{self.source.name} is not a JSON object: nothing read")
            return
        others: list[str] = []
        found: set[str] = set()
        for key in stream.members():
            opener, reader = wanted.get(key, ("", None))
            if reader is not None and key not in found and stream.peek() == opener:
                found.add(key)
                yield from reader()
            else:
                stream.skip()
                others.append(bounded(clean_text(key), 100)[0])
        if not found:
            yield Reject("json:file", f"the JSON object has no {what} list: nothing read")
        if others:
            yield SourceNote(f"top-level field(s) not read: {', '.join(others[:MAX_SHOWN])}")
        trailing = self.walk.trailing_note()
        if trailing:
            yield trailing


# -- Records.json -----------------------------------------------------------------------------------

RECORD_FIELDS = ("source", "platformType", "formFactor", "deviceDesignation", "altitude",
                 "verticalAccuracy", "velocity", "heading", "placeId", "osLevel",
                 "batteryCharging", "deviceTimestamp", "serverTimestamp")


def records_event(locator: str, record: Any, devices: Devices) -> Event | Reject:
    """One element of ``locations`` as an event, or why it cannot be one."""
    if not isinstance(record, dict):
        return not_an_object(locator, record)
    try:
        time, notes = takeout_time(record, "timestamp")
        where = e7_position(record, "latitudeE7", "longitudeE7")
    except Unusable as error:
        return Reject(locator, f"{error}: a position needs a time and a place")
    details: dict[str, Any] = {}
    copy_fields(record, RECORD_FIELDS, details)
    devices.describe(record.get("deviceTag"), details)
    activities = record_activities(record)
    if activities:
        details["activity"] = activities
    accuracy = accuracy_m(record.get("accuracy"))
    if accuracy is None and record.get("accuracy") is not None:
        notes.append(f"accuracy {shown(record['accuracy'])} is not a number of metres: not read")
    return location_event(locator, time, where, accuracy, location_basis(record.get("source")),
                          details, notes)


def record_activities(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The most likely activity of each detected-activity entry of a record: ``activity[]
    .activity[0]``, or ``activitys[].activities[0]`` in files of about 2015."""
    entries = record.get("activity", record.get("activitys"))
    kept: list[dict[str, Any]] = []
    for entry in entries[:MAX_LIST_ITEMS] if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        candidates = entry.get("activity", entry.get("activities"))
        best = candidates[0] if isinstance(candidates, list) and candidates else None
        if not isinstance(best, dict):
            continue
        item: dict[str, Any] = {}
        copy_fields(best, ("type", "confidence"), item)
        copy_fields(entry, ("timestamp", "timestampMs"), item)
        if item:
            kept.append(item)
    return kept


_RECORDS_HEAD = json_head(rb"\{", rb'"locations"', rb":", rb"\[")
_RECORDS_EMPTY = json_head(rb"\{", rb'"locations"', rb":", rb"\[", rb"\]", rb"\}", rb"\Z")


class GoogleLocationRecordsParser(Parser):
    NAME = "google-location-records-json"
    DATA_FORMAT = "Google Location History Records.json (Google Takeout)"
    VERSION = "1"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        head = sample.text_head
        if _RECORDS_HEAD.match(head) is None:
            return False
        if b'"latitudeE7"' in head or b'"timestampMs"' in head:
            return True
        return sample.name == "Records.json" and _RECORDS_EMPTY.match(head) is not None

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        devices = Devices(source, "Settings.json")
        with source.path.open("rb") as handle:
            reading = StreamReading(source, handle)

            def locations() -> Iterator[Event | Reject]:
                for item in reading.elements("json:locations"):
                    yield item if isinstance(item, Reject) else records_event(*item, devices)

            yield from reading.guarded(reading.top_object({"locations": ("[", locations)},
                                                          '"locations"'))
        yield from devices.notes()


# -- Semantic Location History ---------------------------------------------------------------------

VISIT_FIELDS = ("placeConfidence", "visitConfidence", "editConfirmationStatus",
                "placeVisitImportance", "placeVisitType", "lastEditedTimestamp")
PLACE_FIELDS = ("name", "address", "placeId", "semanticType", "locationConfidence",
                "calibratedProbability")
SEGMENT_FIELDS = ("activityType", "confidence", "distance", "editConfirmationStatus",
                  "lastEditedTimestamp")


class SemanticObjects:
    """The events of one ``timelineObjects`` element (and of the visits, points and parking
    events inside it)."""

    def __init__(self, devices: Devices):
        self.devices = devices

    def of(self, locator: str, element: Any) -> Iterator[Event | Reject]:
        if not isinstance(element, dict):
            yield not_an_object(locator, element)
            return
        kinds = [key for key in ("placeVisit", "activitySegment") if key in element]
        if not kinds:
            keys = ", ".join(bounded(clean_text(k), 60)[0] for k in list(element)[:MAX_SHOWN])
            yield Reject(locator, f"neither a placeVisit nor an activitySegment (keys: "
                                  f"{keys or 'none'}): nothing read")
            return
        for kind in kinds:
            where = f"{locator}.{kind}"
            value = element[kind]
            if not isinstance(value, dict):
                yield not_an_object(where, value)
            elif kind == "placeVisit":
                yield from self.visit(where, value)
            else:
                yield from self.segment(where, value)

    def visit(self, locator: str, visit: dict[str, Any]) -> Iterator[Event | Reject]:
        yield self._visit_event(locator, visit)
        yield from self.path_points(f"{locator}.simplifiedRawPath", visit.get("simplifiedRawPath"))
        children = visit.get("childVisits")
        for index, child in enumerate(children if isinstance(children, list) else []):
            where = f"{locator}.childVisits[{index}]"
            if isinstance(child, dict):
                yield from self.visit(where, child)
            else:
                yield not_an_object(where, child)

    def _visit_event(self, locator: str, visit: dict[str, Any]) -> Event | Reject:
        place = visit.get("location") if isinstance(visit.get("location"), dict) else {}
        notes: list[str] = []
        try:
            start, end, time_notes = self._duration(visit)
            try:
                where = e7_position(place, "latitudeE7", "longitudeE7")
            except Unusable as error:
                if "centerLatE7" not in visit:
                    raise Unusable(f"location: {error}") from None
                where = e7_position(visit, "centerLatE7", "centerLngE7")
                notes.append(f"position: the visit's centre (centerLatE7/centerLngE7), as "
                             f"location gives none ({error})")
        except Unusable as error:
            return Reject(locator, f"{error}: a visit needs a start time and a place")
        notes[:0] = time_notes
        details: dict[str, Any] = {}
        copy_fields(place, PLACE_FIELDS, details)
        copy_fields(visit, VISIT_FIELDS, details)
        self._end(end, details, notes, start)
        source_info = place.get("sourceInfo")
        if isinstance(source_info, dict):
            self.devices.describe(source_info.get("deviceTag"), details)
        others = visit.get("otherCandidateLocations")
        if isinstance(others, list) and others:
            details["otherCandidateLocations"] = [
                {k: detail_value(c[k]) for k in ("placeId", "name", "semanticType") if k in c}
                for c in others[:MAX_LIST_ITEMS] if isinstance(c, dict)]
        return location_event(locator, start, where, accuracy_m(place.get("accuracyMetres")),
                              None, details, notes)

    def segment(self, locator: str, segment: dict[str, Any]) -> Iterator[Event | Reject]:
        yield self._segment_event(locator, segment)
        yield from self.path_points(f"{locator}.simplifiedRawPath",
                                    segment.get("simplifiedRawPath"))
        parking = segment.get("parkingEvent")
        if parking is not None:
            yield self._parking_event(f"{locator}.parkingEvent", parking)

    def _segment_event(self, locator: str, segment: dict[str, Any]) -> Event | Reject:
        start_place = segment.get("startLocation")
        try:
            start, end, notes = self._duration(segment)
            if not isinstance(start_place, dict):
                raise Unusable("no startLocation")
            where = e7_position(start_place, "latitudeE7", "longitudeE7")
        except Unusable as error:
            return Reject(locator, f"{error}: a journey's event needs its start time and place "
                                   "(its path points, if any, are read on their own)")
        details: dict[str, Any] = {}
        copy_fields(segment, SEGMENT_FIELDS, details)
        self._end(end, details, notes, start, what="journey")
        end_place = segment.get("endLocation")
        if isinstance(end_place, dict):
            try:
                details["end_location"] = dict(zip(
                    ("lat", "lon"), e7_position(end_place, "latitudeE7", "longitudeE7")))
            except Unusable as error:
                notes.append(f"endLocation not read: {error}")
        source_info = start_place.get("sourceInfo")
        if isinstance(source_info, dict):
            self.devices.describe(source_info.get("deviceTag"), details)
        waypoints = waypoint_list(segment.get("waypointPath"))
        if waypoints:
            details["waypoints"] = waypoints
        transit = segment.get("transitPath")
        if isinstance(transit, dict):
            details["transitPath"] = {
                "name": detail_value(transit.get("name")),
                "stops": [detail_value(stop.get("name")) for stop in
                          (transit.get("transitStops") or [])[:MAX_LIST_ITEMS]
                          if isinstance(stop, dict)]}
        return location_event(locator, start, where, accuracy_m(start_place.get("accuracyMetres")),
                              None, details, notes)

    def _parking_event(self, locator: str, parking: Any) -> Event | Reject:
        if not isinstance(parking, dict):
            return not_an_object(locator, parking)
        place = parking.get("location") if isinstance(parking.get("location"), dict) else {}
        try:
            time, notes = takeout_time(parking, "timestamp")
            where = e7_position(place, "latitudeE7", "longitudeE7")
        except Unusable as error:
            return Reject(locator, f"{error}: a parking event needs a time and a place")
        details: dict[str, Any] = {"record": "parkingEvent"}
        copy_fields(parking, ("method", "locationSource"), details)
        return location_event(locator, time, where, accuracy_m(place.get("accuracyMetres")),
                              location_basis(parking.get("locationSource")), details, notes)

    @staticmethod
    def path_points(locator: str, path: Any) -> Iterator[Event | Reject]:
        """Each point of a ``simplifiedRawPath``: an event at its own time and place."""
        if not isinstance(path, dict):
            return
        points = path.get("points")
        basis = location_basis(path.get("source"))
        for index, point in enumerate(points if isinstance(points, list) else []):
            where = f"{locator}.points[{index}]"
            if not isinstance(point, dict):
                yield not_an_object(where, point)
                continue
            try:
                time, notes = takeout_time(point, "timestamp")
                place = e7_position(point, "latE7", "lngE7")
            except Unusable as error:
                yield Reject(where, f"{error}: a path point needs a time and a place")
                continue
            yield location_event(where, time, place, accuracy_m(point.get("accuracyMeters")),
                                 basis, {"record": "simplifiedRawPath point"}, notes)

    @staticmethod
    def _duration(record: dict[str, Any]) -> tuple[RawTime, RawTime | str | None, list[str]]:
        """The start of a visit or segment, its end (or why the end is not read), and notes."""
        duration = record.get("duration")
        if not isinstance(duration, dict):
            raise Unusable("no duration")
        start, notes = takeout_time(duration, "startTimestamp")
        if "endTimestamp" not in duration and "endTimestampMs" not in duration:
            return start, None, notes
        try:
            end, end_notes = takeout_time(duration, "endTimestamp")
        except Unusable as error:
            return start, str(error), notes
        return start, end, notes + end_notes

    @staticmethod
    def _end(end: RawTime | str | None, details: dict[str, Any], notes: list[str],
             start: RawTime, what: str = "visit") -> None:
        if isinstance(end, RawTime):
            details[end.source] = detail_value(end.raw)
            notes.append(f"a {what}: the event is its start; it ended at {end.raw} "
                         f"(details.{end.source})")
            odd = end_time_note(start, end)
            if odd:
                notes.append(odd)
        elif end is None:
            notes.append(f"a {what}: the event is its start; its end is not in the export")
        else:
            notes.append(f"a {what}: the event is its start; its end was not read ({end})")


def waypoint_list(path: Any) -> list[dict[str, float]]:
    """The waypoints of a ``waypointPath`` as positions (bounded); those not readable are left
    out (they have no time: they are part of the journey, not records of their own)."""
    if not isinstance(path, dict) or not isinstance(path.get("waypoints"), list):
        return []
    kept = []
    for point in path["waypoints"][:MAX_LIST_ITEMS]:
        if isinstance(point, dict):
            try:
                kept.append(dict(zip(("lat", "lon"), e7_position(point, "latE7", "lngE7"))))
            except Unusable:
                continue
    return kept


_SEMANTIC_HEAD = json_head(rb"\{", rb'"timelineObjects"', rb":", rb"\[",
                           rb'(?:\]|\{\s*"(?:placeVisit|activitySegment)")')


class GoogleSemanticLocationParser(Parser):
    NAME = "google-semantic-location-json"
    DATA_FORMAT = "Google Semantic Location History month file (Google Takeout)"
    VERSION = "1"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        return _SEMANTIC_HEAD.match(sample.text_head) is not None

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        devices = Devices(source, "../../Settings.json")
        objects = SemanticObjects(devices)
        with source.path.open("rb") as handle:
            reading = StreamReading(source, handle)

            def timeline_objects() -> Iterator[Event | Reject]:
                for item in reading.elements("json:timelineObjects"):
                    if isinstance(item, Reject):
                        yield item
                    else:
                        yield from objects.of(*item)

            yield from reading.guarded(reading.top_object(
                {"timelineObjects": ("[", timeline_objects)}, '"timelineObjects"'))
        yield from devices.notes()


__all__ = [
    "GoogleLocationRecordsParser",
    "GoogleSemanticLocationParser",
    "StreamReading",
    "Unusable",
    "accuracy_m",
    "copy_fields",
    "e7_degrees",
    "end_time_note",
    "epoch_ms_time",
    "iso_time",
    "location_basis",
    "location_event",
    "not_an_object",
    "number",
    "position",
    "shown",
    "takeout_time",
    "text_position",
    "text_value",
]
