"""The case file, ``case.toml``: what the user says about the case.

Read with ``tomllib`` and validated strictly: an unknown key, a bad time, an unknown person key or a
malformed identifier is a :class:`CaseFileError` naming the line and what is expected. TOML
parsers do not report where a value came from, so the line is found again in the text.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from courseline.parsers.call_csv import FIELDS as CSV_FIELDS
from courseline.timeline.identity import Identifier, IdentifierError, parse_written

CASE_FILE = "case.toml"
ROLES = ("victim", "suspect", "witness", "third-party")
ORDER_KINDS = ("spo", "interim-spo", "restraining-order", "non-molestation-order", "bail")
DEFAULT_PREFIX = "EXH"
MAX_CLOCK_OFFSET = 10 * 366 * 86_400  # ten years: anything more is a typing error

_ALLOWED = {
    "case": {"reference", "timezone", "region", "examiner", "exhibit_prefix",
             "stalkerware_indicators"},
    "person": {"key", "role", "name", "identifiers"},
    "order": {"kind", "reference", "protects", "against", "served", "expires", "no_contact",
              "terms"},
    "place": {"name", "lat", "lon", "radius_m"},
    "source": {"path", "owner", "timezone", "clock_offset_seconds", "exhibit", "region",
               "columns", "time_format", "date_order"},
}


class CaseFileError(ValueError):
    def __init__(self, path: Path, line: int | None, message: str):
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass(frozen=True)
class CaseInfo:
    reference: str = ""
    timezone: str = "Europe/London"
    region: str = "GB"
    examiner: str = ""
    exhibit_prefix: str = DEFAULT_PREFIX
    # An indicator file (Echap stalkerware-indicators format) the installed apps are checked
    # against: relative to the case folder, or absolute. courseline ships none.
    stalkerware_indicators: str | None = None


@dataclass(frozen=True)
class Person:
    key: str
    role: str
    name: str
    identifiers: tuple[str, ...]          # as written
    normalised: tuple[Identifier, ...]


@dataclass(frozen=True)
class Order:
    kind: str
    reference: str
    protects: str
    against: str
    served: datetime
    expires: datetime | None
    no_contact: bool
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True)
class SourceEntry:
    path: str                 # as written, relative to the case folder or absolute
    owner: str | None
    timezone: str | None
    clock_offset_seconds: float
    exhibit: str | None
    region: str | None = None   # the phone's home region, for numbers it wrote without a +
    # Parser options: a CSV call log's column mapping and time layout.
    options: dict[str, Any] = field(default_factory=dict, compare=False)

    def resolve(self, folder: Path) -> Path:
        written = Path(self.path).expanduser()
        return written if written.is_absolute() else folder / written


@dataclass(frozen=True)
class Case:
    folder: Path
    info: CaseInfo = field(default_factory=CaseInfo)
    persons: tuple[Person, ...] = ()
    orders: tuple[Order, ...] = ()
    places: tuple[Place, ...] = ()
    sources: tuple[SourceEntry, ...] = ()

    @property
    def file(self) -> Path:
        return self.folder / CASE_FILE

    def person(self, key: str) -> Person | None:
        return next((p for p in self.persons if p.key == key), None)

    def source_zone(self, entry: SourceEntry) -> str:
        return entry.timezone or self.info.timezone

    def source_region(self, entry: SourceEntry) -> str:
        return entry.region or self.info.region


class _Locator:
    """Finds the line of a table, key or value in the TOML text, for error messages."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def table(self, name: str, index: int | None) -> int | None:
        pattern = re.compile(rf"^\s*\[\[\s*{name}\s*\]\]" if index is not None
                             else rf"^\s*\[\s*{name}\s*\]")
        seen = -1
        for number, line in enumerate(self.lines, 1):
            if pattern.match(line):
                seen += 1
                if index is None or seen == index:
                    return number
        return None

    def key(self, name: str, index: int | None, key: str, value: Any = None) -> int | None:
        start = self.table(name, index) or 1
        key_line = None
        for number in range(start, len(self.lines) + 1):
            line = self.lines[number - 1]
            if number > start and re.match(r"^\s*\[", line):
                break
            if key_line is None and re.match(rf"^\s*{re.escape(key)}\s*=", line):
                key_line = number
                if value is None:
                    return number
            if key_line is not None and isinstance(value, str) and value in line:
                return number
        return key_line or start


@dataclass(frozen=True)
class _Where:
    """One table of the case file, to raise errors that name the line."""

    path: Path
    loc: _Locator
    name: str
    index: int | None

    def error(self, message: str, key: str | None = None, value: Any = None) -> CaseFileError:
        line = (self.loc.key(self.name, self.index, key, value) if key
                else self.loc.table(self.name, self.index))
        return CaseFileError(self.path, line, message)

    def at(self, key: str):
        """A function raising errors at ``key``, for helpers that check one value."""
        return lambda message: self.error(message, key)

    def check_keys(self, table: dict[str, Any]) -> None:
        for key in table:
            if key not in _ALLOWED[self.name]:
                allowed = ", ".join(sorted(_ALLOWED[self.name]))
                raise self.error(f"unknown key {key!r} in [{self.name}]; expected one of {allowed}", key)


def _time(value: Any, what: str, err) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise err(f"{what} {value!r} is not a time; expected ISO 8601 with an offset, "
                      f"e.g. 2024-03-01T10:00:00+00:00") from None
    else:
        raise err(f"{what} must be a time such as 2024-03-01T10:00:00+00:00")
    if moment.tzinfo is None:
        raise err(f"{what} {value!s} has no offset; write it with one, e.g. "
                  f"2024-03-01T10:00:00+00:00, so that it means one instant")
    return moment


def _zone(value: Any, err) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise err(f"time zone {value!r} is unknown; expected an IANA name such as Europe/London") from None
    return str(value)


def _region(value: Any, err) -> str:
    region = str(value).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise err(f"region {value!r} is not a known region code; expected e.g. GB or US")
    return region


def load_case(folder: Path) -> Case:
    path = folder / CASE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseFileError(path, None, "no case file; create one with `courseline init`") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise CaseFileError(path, int(match.group(1)) if match else None,
                            f"not valid TOML: {exc}") from None
    return parse_case(folder, data, text)


def parse_case(folder: Path, data: dict[str, Any], text: str) -> Case:
    path = folder / CASE_FILE
    loc = _Locator(text)
    for key in data:
        if key not in _ALLOWED:
            raise CaseFileError(path, loc.table(key, None) or loc.table(key, 0) or loc.key("", None, key),
                                f"unknown table {key!r}; expected [case], [[person]], [[order]], "
                                f"[[place]] or [[source]]")
    info = _parse_info(data.get("case", {}), loc, path)
    persons = _parse_persons(data.get("person", []), info.region, loc, path)
    keys = {p.key for p in persons}
    orders = _parse_orders(data.get("order", []), keys, loc, path)
    places = _parse_places(data.get("place", []), loc, path)
    sources = _parse_sources(data.get("source", []), keys, loc, path)
    return Case(folder=folder, info=info, persons=persons, orders=orders, places=places,
                sources=sources)


def _parse_info(table: dict[str, Any], loc: _Locator, path: Path) -> CaseInfo:
    where = _Where(path, loc, "case", None)
    where.check_keys(table)
    timezone = _zone(table.get("timezone", "Europe/London"), where.at("timezone"))
    region = _region(table.get("region", "GB"), where.at("region"))
    prefix = table.get("exhibit_prefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str) or not prefix.strip() or "/" in prefix:
        raise where.error(f"exhibit_prefix must be letters such as \"AO\" (exhibits AO/1, AO/2 …), "
                          f"not {prefix!r}", "exhibit_prefix")
    indicators = table.get("stalkerware_indicators")
    if indicators is not None and (not isinstance(indicators, str) or not indicators.strip()):
        raise where.error("stalkerware_indicators must be the path of an indicator file, such as "
                          "\"ioc.yaml\"", "stalkerware_indicators")
    return CaseInfo(reference=str(table.get("reference", "")), timezone=timezone, region=region,
                    examiner=str(table.get("examiner", "")), exhibit_prefix=prefix,
                    stalkerware_indicators=indicators)


def _parse_persons(tables: list[dict[str, Any]], region: str, loc: _Locator,
                   path: Path) -> tuple[Person, ...]:
    persons: list[Person] = []
    owners: dict[str, str] = {}
    for index, table in enumerate(tables):
        where = _Where(path, loc, "person", index)
        where.check_keys(table)
        err = where.error
        key = table.get("key")
        if not isinstance(key, str) or not key.strip():
            raise err("a [[person]] needs key = \"…\" (e.g. \"victim\"), used to refer to them")
        if any(p.key == key for p in persons):
            raise err(f"person key {key!r} is used twice", "key")
        role = table.get("role", "third-party")
        if role not in ROLES:
            raise err(f"role {role!r} is unknown; expected one of {', '.join(ROLES)}", "role")
        written = table.get("identifiers", [])
        if not isinstance(written, list) or not all(isinstance(w, str) for w in written):
            raise err("identifiers must be a list of strings such as [\"email:a@example.org\"]",
                      "identifiers")
        normalised = []
        for text in written:
            try:
                ident = parse_written(text, region)
            except IdentifierError as exc:
                raise err(str(exc), "identifiers", text) from None
            other = owners.get(str(ident))
            if other and other != key:
                raise err(f"identifier {text!r} also belongs to person {other!r}", "identifiers", text)
            owners[str(ident)] = key
            normalised.append(ident)
        persons.append(Person(key=key, role=role, name=str(table.get("name", key)),
                              identifiers=tuple(written), normalised=tuple(normalised)))
    return tuple(persons)


def _person_ref(value: Any, keys: set[str], what: str, err) -> str:
    if value is None:
        raise err(f"{what} is required: one person key such as \"victim\"")
    if not isinstance(value, str):
        raise err(f"{what} must be one person key such as \"victim\", not {value!r}")
    if value not in keys:
        known = ", ".join(sorted(keys)) or "none defined yet"
        raise err(f"{what} {value!r} is not a person key; known keys: {known}")
    return value


def _parse_orders(tables: list[dict[str, Any]], keys: set[str], loc: _Locator,
                  path: Path) -> tuple[Order, ...]:
    orders = []
    for index, table in enumerate(tables):
        where = _Where(path, loc, "order", index)
        where.check_keys(table)
        err_at = where.at
        kind = table.get("kind")
        if kind not in ORDER_KINDS:
            raise err_at("kind")(f"order kind {kind!r} is unknown; expected one of {', '.join(ORDER_KINDS)}")
        if "served" not in table:
            raise where.error("an [[order]] needs served = the time it was served, with an offset")
        served = _time(table["served"], "served", err_at("served"))
        expires = _time(table["expires"], "expires", err_at("expires")) if "expires" in table else None
        if expires is not None and expires <= served:
            raise err_at("expires")("expires must be after served")
        terms = table.get("terms", [])
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise err_at("terms")("terms must be a list of strings")
        no_contact = table.get("no_contact", False)
        if not isinstance(no_contact, bool):
            raise err_at("no_contact")("no_contact must be true or false")
        orders.append(Order(
            kind=kind, reference=str(table.get("reference", "")),
            protects=_person_ref(table.get("protects"), keys, "protects", err_at("protects")),
            against=_person_ref(table.get("against"), keys, "against", err_at("against")),
            served=served, expires=expires, no_contact=no_contact, terms=tuple(terms)))
    return tuple(orders)


def _parse_places(tables: list[dict[str, Any]], loc: _Locator, path: Path) -> tuple[Place, ...]:
    places = []
    for index, table in enumerate(tables):
        where = _Where(path, loc, "place", index)
        where.check_keys(table)
        values = {}
        for key, low, high in (("lat", -90, 90), ("lon", -180, 180), ("radius_m", 0, 1e6)):
            value = table.get(key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
                raise where.error(f"{key} must be a number from {low} to {high:g}", key)
            values[key] = float(value)
        places.append(Place(name=str(table.get("name", f"place {index + 1}")), **values))
    return tuple(places)


def _parse_sources(tables: list[dict[str, Any]], keys: set[str], loc: _Locator,
                   path: Path) -> tuple[SourceEntry, ...]:
    sources = []
    for index, table in enumerate(tables):
        where = _Where(path, loc, "source", index)
        where.check_keys(table)
        err_at = where.at
        written = table.get("path")
        if not isinstance(written, str) or not written.strip():
            raise where.error("a [[source]] needs path = the export's file, folder or archive")
        owner = table.get("owner")
        if owner is not None:
            _person_ref(owner, keys, "owner", err_at("owner"))
        zone = _zone(table["timezone"], err_at("timezone")) if "timezone" in table else None
        offset = table.get("clock_offset_seconds", 0)
        if (not isinstance(offset, (int, float)) or isinstance(offset, bool)
                or not math.isfinite(offset) or abs(offset) > MAX_CLOCK_OFFSET):
            raise err_at("clock_offset_seconds")(
                "clock_offset_seconds must be a number of seconds (device clock minus true time), "
                f"at most {MAX_CLOCK_OFFSET:,} either way")
        exhibit = table.get("exhibit")
        if exhibit is not None and (not isinstance(exhibit, str) or not exhibit.strip()):
            raise err_at("exhibit")("exhibit must be a reference such as \"AO/1\"")
        if any(os.path.normpath(s.path) == os.path.normpath(written) for s in sources):
            raise err_at("path")(f"source {written!r} is listed twice")
        if exhibit and any(s.exhibit == exhibit for s in sources):
            raise err_at("exhibit")(f"exhibit {exhibit!r} is given to two sources")
        region = _region(table["region"], err_at("region")) if "region" in table else None
        sources.append(SourceEntry(path=written, owner=owner, timezone=zone,
                                   clock_offset_seconds=float(offset), exhibit=exhibit,
                                   region=region, options=_source_options(table, err_at)))
    return tuple(sources)


def _source_options(table: dict[str, Any], err_at) -> dict[str, Any]:
    """A CSV call log's column mapping: ``columns = {time = "Date", number = "Number", …}`` and
    ``time_format`` (strptime codes); ``date_order`` for a chat whose numeric dates never show
    whether the day or the month comes first. Which keys a mapping may use is the CSV parser's business;
    here they are only checked to be names mapped to column headings."""
    options: dict[str, Any] = {}
    if "columns" in table:
        columns = table["columns"]
        if (not isinstance(columns, dict) or not columns
                or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                           for k, v in columns.items())):
            raise err_at("columns")(
                'columns must map fields to column headings, e.g. columns = {time = "Date", '
                'number = "Other party", duration = "Duration (s)", direction = "Type"}')
        unknown = sorted(set(columns) - set(CSV_FIELDS))
        if unknown:
            raise err_at("columns")(
                f"columns has unknown key(s) {', '.join(map(repr, unknown))}; expected some of "
                f"{', '.join(CSV_FIELDS)}")
        options["columns"] = dict(columns)
    if "time_format" in table:
        layout = table["time_format"]
        if not isinstance(layout, str) or "%" not in layout:
            raise err_at("time_format")(
                'time_format must be a strptime layout, e.g. "%d/%m/%Y %H:%M:%S"')
        options["time_format"] = layout
    if "date_order" in table:
        order = table["date_order"]
        if order not in ("day-first", "month-first"):
            raise err_at("date_order")(
                'date_order must be "day-first" or "month-first": the order the phone wrote '
                'numeric dates in (a WhatsApp chat whose dates never show it)')
        options["date_order"] = order
    return options


TEMPLATE = '''\
# courseline case file. Lines starting with # are comments; remove the # to use a setting.
# Every time needs an offset (e.g. 2024-03-01T10:00:00+00:00). Identifiers are scheme:value with
# scheme one of tel, email, name, whatsapp, facebook, instagram, x, telegram, snapchat, discord,
# google, signal. See the README for every key.

[case]
reference = {reference}          # crime or case reference
timezone = "Europe/London"        # how times are shown
region = "GB"                     # for phone numbers written without +
examiner = {examiner}           # who processes this case
exhibit_prefix = {prefix}       # exhibits PREFIX/1, PREFIX/2 ... in order of collection
# stalkerware_indicators = "ioc.yaml"   # installed apps are checked against this file (the
#                                 # stalkerware-indicators project's format; none is shipped)

# [[person]]
# key = "victim"                  # required; used to refer to this person below
# role = "victim"                 # victim | suspect | witness | third-party
# name = "Person A"
# identifiers = ["tel:07700 900001", "email:a@example.org"]

# [[person]]
# key = "suspect"
# role = "suspect"
# identifiers = ["email:x@example.net"]

# [[order]]
# kind = "spo"                    # spo | interim-spo | restraining-order | non-molestation-order | bail
# reference = "SPO 12/2024"
# protects = "victim"
# against = "suspect"
# served = "2024-03-01T10:00:00+00:00"
# expires = "2026-03-01T10:00:00+00:00"
# no_contact = true               # any contact after `served` is a possible breach
# terms = ["Not to contact Person A directly or indirectly"]

# [[place]]
# name = "Person A's home"
# lat = 51.5007
# lon = -0.1246
# radius_m = 200

# Sources are added by `courseline add CASE PATH --owner KEY`, or written here:
# [[source]]
# path = "exports/mail.mbox"      # relative to this file; a file, folder or archive
# owner = "victim"                # whose account or device it came from
# timezone = "Europe/London"      # the device's zone, for times written without an offset
# clock_offset_seconds = 0        # measured device clock minus true time
# exhibit = "AO/1"                # optional; otherwise assigned in order of collection
# region = "GB"                   # the phone's home region, if not the case's
# columns = {{time = "Date", number = "Number", duration = "Duration", direction = "Type"}}
#                                 # a CSV call log whose headings courseline does not know
# time_format = "%d/%m/%Y %H:%M"  # how that CSV writes its times
# date_order = "day-first"        # a WhatsApp chat whose dates never show day/month order
'''


def toml_string(value: str) -> str:
    """A TOML basic string holding ``value`` exactly (JSON's escapes are valid TOML)."""
    return json.dumps(value, ensure_ascii=False)


def case_template(reference: str = "", examiner: str = "", prefix: str = DEFAULT_PREFIX) -> str:
    return TEMPLATE.format(reference=toml_string(reference), examiner=toml_string(examiner),
                           prefix=toml_string(prefix))


def source_block(entry_path: str, owner: str | None, exhibit: str | None = None) -> str:
    lines = ["", "[[source]]", f"path = {toml_string(entry_path)}"]
    if owner:
        lines.append(f"owner = {toml_string(owner)}")
    if exhibit:
        lines.append(f"exhibit = {toml_string(exhibit)}")
    return "\n".join(lines) + "\n"


def person_block(key: str, role: str, identifiers: list[str], name: str | None = None) -> str:
    idents = ", ".join(toml_string(i) for i in identifiers)
    lines = ["", "[[person]]", f"key = {toml_string(key)}", f"role = {toml_string(role)}"]
    if name:
        lines.append(f"name = {toml_string(name)}")
    lines.append(f"identifiers = [{idents}]")
    return "\n".join(lines) + "\n"
