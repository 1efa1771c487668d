"""The victim's incident diary: the CSV (or Excel workbook) that ``courseline diary-template``
writes, filled in by the victim or their advocate.

What it is for: stalking is often in person (following, loitering, turning up at work), and the
only record of that is the victim's own account. Advice to victims (Suzy Lamplugh Trust, the
National Stalking Helpline, Paladin; research standards.md §3.1 and checklist items 32–33) is to
keep a diary with the time, place, what happened, witnesses, threats word for word and the effect
on them, written at the time. The columns are :data:`COLUMNS`, one row per incident.

What is read: each row with an incident date becomes a ``diary`` event (platform ``diary``):

* the time is the incident date and time *as recalled* (basis ``recalled``, read in the source's
  zone), precise to the minute when a time is written, else to the day; how sure the writer is of
  it (``how_sure``) is kept verbatim, and a time that is not "exact" says so in a note;
* the text is what happened, in the writer's words; the other columns are kept verbatim in
  details;
* who it was: the account or number they used (``account_used``: a phone number, an e-mail
  address, or ``scheme:value`` such as ``instagram:chris.w.83``), else their name (``who``), as
  the event's sender, so that the person is matched like any other identifier; the event says it
  is the writer's account of who it was;
* when the entry was written (``written_at``): an entry written more than a day after the
  incident is marked in details (``written_days_after``) and a note, so that a reader can tell a
  contemporaneous note from a later recollection.

A row that has words but no readable incident date is a reject naming the row and the column; an
empty row is no record. Lines starting with ``#`` before the header are the template's guidance.

Not read: spreadsheets other than the template's layout (the header must hold ``incident_date``
and ``what_happened``); formulas (a workbook is read for its stored values only). An ``.xlsx`` is
read with openpyxl.

Checked on: files written by ``courseline diary-template`` and filled in by hand (synthetic).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._text import head_text
from courseline.timeline.event import (
    MAX_FIELD_CHARS,
    MAX_TEXT_CHARS,
    Event,
    RawTime,
    Reject,
    SourceNote,
    bounded,
)


@dataclass(frozen=True)
class Column:
    name: str
    guide: str


COLUMNS: tuple[Column, ...] = (
    Column("incident_date", "the date it happened: 2024-10-27 (or 27/10/2024, day first)"),
    Column("incident_time", "the time it happened, 24-hour: 21:40; leave empty if you do not know"),
    Column("how_sure", "how sure you are of that time: exact, about, day only, or in your words"),
    Column("written_at", "when you wrote this entry: 2024-10-27 22:15"),
    Column("written_by", "who wrote this entry"),
    Column("place", "where: a place named in the case (e.g. Sam Taylor's home) or an address"),
    Column("channel", "how: in person, phone call, text, WhatsApp, Instagram, Facebook, e-mail, "
                      "letter, other"),
    Column("who", "who it was"),
    Column("account_used", "the number, address or account they used: 07700 900123"),
    Column("what_happened", "what happened, in your own words"),
    Column("threats", "any threats, word for word"),
    Column("witnesses", "anyone who saw or heard it, and how to reach them"),
    Column("effect", "how it affected you"),
    Column("police_contact", "who at the police you told, and when"),
    Column("crime_reference", "the crime reference number, if any"),
    Column("linked_exhibits", "photos, screenshots or files that go with it"),
)
NAMES = tuple(column.name for column in COLUMNS)
REQUIRED = ("incident_date", "what_happened")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 100_000
LATE_AFTER_DAYS = 1    # written the same day or the next: contemporaneous
EXACT_WORDS = frozenset({"exact", "exactly", "sure", "certain", "yes"})

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_NUMBER = re.compile(r"^\+?[\d ()\-]{7,}$")


def write_template(folder: Path) -> list[Path]:
    """Write the diary template into ``folder``: a CSV and an Excel workbook. Returns the files
    written; an existing file is never replaced."""
    written = []
    target = folder / "diary-template.csv"
    if target.exists():
        raise FileExistsError(target)
    lines = ["# Incident diary for courseline. One row per incident, under the heading row.",
             "# Write what happened in your own words, and write it as soon as you can.",
             "# Do not put anything here you would not want the other person to read one day.",
             *(f"# {column.name}: {column.guide}" for column in COLUMNS)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(NAMES)
    target.write_text("\r\n".join(lines) + "\r\n" + buffer.getvalue(), encoding="utf-8")
    written.append(target)
    import openpyxl   # here, not at the top: every command imports every parser

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Diary"
    sheet.append(list(NAMES))
    sheet.freeze_panes = "A2"
    guide = workbook.create_sheet("How to fill it in")
    for column in COLUMNS:
        guide.append([column.name, column.guide])
    book = folder / "diary-template.xlsx"
    if not book.exists():
        workbook.save(book)
        written.append(book)
    return written


class VictimDiaryParser(Parser):
    NAME = "victim-diary"
    DATA_FORMAT = "Incident diary (courseline template, CSV or Excel)"
    VERSION = "1"
    PRIORITY = 60   # its header is unmistakable; a call-log CSV parser must not take it

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        if sample.media_type == XLSX_TYPE:
            return "diary" in sample.name.casefold()
        text = head_text(sample.head)
        if text is None:
            return False
        for line in text.splitlines()[:60]:
            if line.startswith("#") or not line.strip():
                continue
            header = {cell.strip().casefold() for cell in next(csv.reader([line]), [])}
            return all(name in header for name in REQUIRED)
        return False

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        if source.sample.media_type == XLSX_TYPE:
            rows = _workbook_rows(source.path)
        else:
            rows = _csv_rows(source.path)
        header: list[str] | None = None
        for number, cells in rows:
            if isinstance(cells, Reject):
                yield cells
                return
            if header is None:
                if cells and str(cells[0]).startswith("#"):
                    continue
                header = [str(cell or "").strip().casefold() for cell in cells]
                missing = [name for name in REQUIRED if name not in header]
                if missing:
                    yield Reject("source", f"the heading row (row {number}) has no column "
                                           f"{', '.join(missing)}: not the diary template")
                    return
                continue
            if number > MAX_ROWS:
                yield Reject(f"row:{number}", f"the diary has more than {MAX_ROWS:,} rows: "
                                              f"the rest is not read")
                return
            values = {name: _cell(cells[i]) for i, name in enumerate(header)
                      if i < len(cells) and name}
            if not any(values.values()):
                continue
            yield _entry(number, values)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if value.time() != datetime.min.time() \
            else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(path: Path) -> Iterator[tuple[int, list]]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        try:
            for number, cells in enumerate(csv.reader(handle), 1):
                yield number, cells
        except csv.Error as error:
            yield 0, Reject("source", f"the CSV could not be read past this point: {error}")


def _workbook_rows(path: Path) -> Iterator[tuple[int, list]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:   # openpyxl raises many kinds on a damaged workbook
        yield 0, Reject("source", f"the workbook could not be opened: {error}")
        return
    try:
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            yield number, list(cells)
    finally:
        workbook.close()


def _entry(number: int, values: dict[str, str]) -> Event | Reject:
    locator = f"row:{number}"
    try:
        day = _date(values.get("incident_date", ""))
    except ValueError as error:
        return Reject(locator, f"incident_date: {error}")
    clock_text = values.get("incident_time", "")
    try:
        clock = _clock(clock_text) if clock_text else None
    except ValueError as error:
        return Reject(locator, f"incident_time: {error}")
    notes: list[str] = []
    moment = datetime.combine(day, clock or datetime.min.time())
    how_sure = values.get("how_sure", "")
    precision = "min" if clock else "day"
    raw = " ".join(filter(None, (values.get("incident_date"), clock_text)))
    if clock and how_sure.casefold() not in EXACT_WORDS:
        notes.append(f"the time is as recalled and not stated as exact (how sure: "
                     f"{how_sure or 'not said'})")
    details: dict = {}
    for name in NAMES:
        if name in ("incident_date", "incident_time", "what_happened"):
            continue
        if values.get(name):
            details[name] = bounded(values[name], MAX_FIELD_CHARS)[0]
    written = values.get("written_at", "")
    if written:
        try:
            later = (_date(written.split()[0]) - day).days
        except ValueError:
            notes.append(f"written_at {written[:40]!r} is not a date: when the entry was "
                         f"written is not known")
        else:
            details["written_days_after"] = later
            if later > LATE_AFTER_DAYS:
                notes.append(f"written {later} days after the incident: a later recollection, "
                             f"not a note made at the time")
            elif later < 0:
                notes.append("written_at is before the incident date")
    else:
        notes.append("when the entry was written is not given")
    sender = _who(values)
    if sender:
        notes.append("who it was is the writer's account (the 'who' or 'account_used' column)")
    text, cut = bounded(values.get("what_happened", ""), MAX_TEXT_CHARS)
    return Event(kind="diary", platform="diary",
                 time=RawTime(raw, moment, "recalled", precision, "diary: incident date and time "
                              "as recalled", device_clock=False),
                 locator=locator, sender=sender, text=text or None,
                 flags=["truncated"] if cut else [], details=details, notes=notes)


def _date(text: str) -> date:
    text = text.strip()
    found = _ISO_DATE.match(text)
    if found:
        year, month, day = map(int, found.groups())
    else:
        found = _UK_DATE.match(text)
        if not found:
            raise ValueError(f"{text[:40]!r} is not a date (write 2024-10-27 or 27/10/2024)")
        day, month, year = map(int, found.groups())
    try:
        return date(year, month, day)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a date ({error})") from None


def _clock(text: str):
    found = _CLOCK.match(text.strip())
    if not found:
        raise ValueError(f"{text[:40]!r} is not a time (write 21:40)")
    hour, minute = map(int, found.groups())
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return datetime.min.time().replace(hour=hour, minute=minute)


def _who(values: dict[str, str]) -> str | None:
    """The identifier of who it was: the account they used, else their name."""
    account = values.get("account_used", "")
    if account:
        if ":" in account and not account.startswith("+"):
            return account
        if "@" in account:
            return f"email:{account}"
        if _NUMBER.match(account):
            return f"tel:{account}"
        return f"name:{account}"
    who = values.get("who", "")
    return f"name:{who}" if who else None
