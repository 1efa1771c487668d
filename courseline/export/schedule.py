"""The disclosure schedule: one row per sealed event, as CSV (``--format csv``) or an Excel
workbook (``--format xlsx``), for investigators and disclosure officers.

Columns: seq, exhibit(s), the time in UTC as the source recorded it and in the case's civil time
with the offset written (``2024-10-27 01:30:00 BST (UTC+01:00)``), kind, platform, direction,
from and to (identifier, with the person the case file ties it to), subject, text (cut at
:data:`TEXT_CHARS` characters, and said so in the cell), call status and duration, flags (the
source's and the time's), event_id and chain. The schedule is a view of the timeline, not a copy
of it: ``event_id`` and ``chain`` tie each row to the row of ``timeline.jsonl`` with the same
seq, and the last row's chain is the seal (see :mod:`courseline.export`).

Formulas (CSV injection). Text from the evidence is never run as a formula:

* CSV: a cell starting with ``= + - @``, a tab or a carriage return is written with a leading
  apostrophe (``'=HYPERLINK(…)``), as ``timeline.csv`` does; Excel shows the apostrophe, and
  nothing runs.
* XLSX: every text is written as a text cell (an inline string, never a formula element), and
  one starting with those characters also gets Excel's *quote prefix* style, so Excel shows the
  text exactly as written and keeps it text if the cell is edited. Characters XML cannot hold
  (control characters) are written as their code point, ``[U+0007]``.

Times are text (ISO 8601 UTC sorts in time order as text): an Excel date would drop the zone and
round the milliseconds. The workbook's dates (its properties and every zip entry) are when the
timeline was first sealed, so the same sealed timeline gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from courseline.casefile import Case
from courseline.export import (
    ExportError,
    SealedTimeline,
    call_summary,
    exhibit_labels,
    fixed_zip_entry,
    made_by,
)
from courseline.timeline.seal import FORMULA_STARTS
from courseline.timeline.timeutil import civil_clock

TEXT_CHARS = 2_000         # as the report's excerpts: enough to read, short enough to print
XLSX_MAX_EVENTS = 1_048_575   # Excel's rows, less the heading


@dataclass(frozen=True)
class Column:
    heading: str
    width: int               # in characters, for the workbook
    wrap: bool = False       # long text: wrapped in the workbook, top-aligned


def columns(zone: str) -> tuple[Column, ...]:
    return (
        Column("Seq", 7), Column("Exhibit", 14), Column("UTC", 25),
        Column(f"Civil time ({zone})", 34), Column("Kind", 11), Column("Platform", 12),
        Column("Direction", 10), Column("From", 32, wrap=True), Column("To", 32, wrap=True),
        Column("Subject", 30, wrap=True), Column("Text", 70, wrap=True), Column("Call", 16),
        Column("Flags", 18), Column("Event ID", 20), Column("Chain", 20),
    )


class ScheduleRows:
    """How one case's timeline rows are written as schedule rows."""

    def __init__(self, case: Case):
        self.clock = civil_clock(case.info.timezone)
        self.names = {p.key: p.name or p.key for p in case.persons}

    def cells(self, row: dict[str, Any]) -> list[int | str]:
        utc = row["occurred_utc"]
        return [
            row["seq"], exhibit_labels(row), utc or "undated",
            self.clock.local(utc)[0] if utc else "undated",
            row["kind"], row["platform"], row["direction"],
            self.party(row["sender"], row["sender_person"]),
            "; ".join(self.party(i, p) for i, p in zip(row["recipients"], row["recipient_persons"],
                                                        strict=True)),
            row["subject"] or "", bounded_text(row["text"]), call_summary(row), flags(row),
            row["event_id"], row["chain"],
        ]

    def party(self, identifier: str | None, person: str | None) -> str:
        if identifier is None:
            return ""
        return f"{identifier} ({self.names.get(person, person)})" if person else identifier


# What XML 1.0 cannot hold, so a workbook holding it would not open: C0 controls but tab and
# line ends, the non-characters U+FFFE and U+FFFF, and lone surrogates.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Excel holds 32,767 UTF-16 units in a cell and openpyxl cuts longer ones without a word; a cell
# of this many characters stays under it whatever they are (a long list of recipients).
XLSX_CELL_CHARS = 16_000


def _within_a_cell(text: str) -> str:
    if len(text) <= XLSX_CELL_CHARS:
        return text
    return (f"{text[:XLSX_CELL_CHARS]} … [cut here: {len(text):,} characters in all; the whole "
            f"is in timeline.jsonl]")


def bounded_text(text: str | None) -> str:
    if text is None:
        return ""
    if len(text) <= TEXT_CHARS:
        return text
    return (f"{text[:TEXT_CHARS]} … [cut here: {len(text):,} characters in all; the whole text "
            f"is in timeline.jsonl]")


def flags(row: dict[str, Any]) -> str:
    return "; ".join([*row["flags"], *(f"time {flag}" for flag in row["time_flags"])])


def starts_a_formula(cell: int | str) -> bool:
    return isinstance(cell, str) and cell[:1] in FORMULA_STARTS


# -- CSV -------------------------------------------------------------------------------------

def write_csv(sealed: SealedTimeline, target: Path) -> None:
    """UTF-8 with a byte-order mark: without one Excel reads UTF-8 as Windows-1252 and garbles
    every accent and emoji. CRLF line ends, as the csv module's Excel dialect writes."""
    rows = ScheduleRows(sealed.case)
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.heading for c in columns(sealed.zone)])
        for row in sealed.rows():
            writer.writerow(["'" + cell if starts_a_formula(cell) else cell
                             for cell in rows.cells(row)])


# -- XLSX ------------------------------------------------------------------------------------

def write_xlsx(sealed: SealedTimeline, target: Path) -> None:
    if sealed.events > XLSX_MAX_EVENTS:
        raise ExportError(f"the timeline has {sealed.events:,} events and an Excel sheet holds "
                          f"{XLSX_MAX_EVENTS:,}: export it with --format csv or --format parquet")
    moment = datetime.fromisoformat(sealed.sealed_utc.replace("Z", "+00:00")).replace(tzinfo=None)
    workbook = Workbook(write_only=True)
    _schedule_sheet(workbook, sealed)
    _about_sheet(workbook, sealed)
    props = workbook.properties
    props.creator, props.lastModifiedBy = made_by(), None
    props.title = f"Disclosure schedule {sealed.reference}".strip()
    props.created = props.modified = moment
    buffer = io.BytesIO()
    # ExcelWriter, not Workbook.save: save() sets the modified date to the clock's.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    target.write_bytes(with_fixed_entry_times(buffer.getvalue(), sealed.sealed_utc))


def _schedule_sheet(workbook: Workbook, sealed: SealedTimeline) -> None:
    sheet = workbook.create_sheet("Schedule")
    cols = columns(sealed.zone)
    # Set before the first row: a write-only sheet writes its head as rows begin.
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    for number, column in enumerate(cols, 1):
        sheet.column_dimensions[get_column_letter(number)].width = column.width
    bold, wrapped = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    heading = []
    for column in cols:
        cell = WriteOnlyCell(sheet, value=column.heading)
        cell.font = bold
        heading.append(cell)
    sheet.append(heading)
    rows = ScheduleRows(sealed.case)
    count = 0
    for count, row in enumerate(sealed.rows(), 1):
        sheet.append([_xlsx_cell(sheet, value, wrapped if column.wrap else None)
                      for value, column in zip(rows.cells(row), cols, strict=True)])
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{count + 1}"


def _xlsx_cell(sheet: Any, value: int | str, alignment: Alignment | None) -> Any:
    """A value as a workbook cell: text always as text, never a formula (see the docstring)."""
    if not isinstance(value, str):
        return value
    text = _NOT_IN_XML.sub(lambda m: f"[U+{ord(m.group()):04X}]", _within_a_cell(value))
    formula = starts_a_formula(text)
    cell = WriteOnlyCell(sheet, value=text)
    # Always text: openpyxl makes a value starting with "=" a formula, and "#N/A" an error.
    cell.data_type = "s"
    if formula:
        cell.quotePrefix = True
    if alignment:
        cell.alignment = alignment
    return cell


def _about_sheet(workbook: Workbook, sealed: SealedTimeline) -> None:
    sheet = workbook.create_sheet("About")
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 110
    for label, value in (
        ("Case reference", sealed.reference),
        ("Events", sealed.events),
        ("Seal (SHA-256 chain)", sealed.seal),
        ("Timeline sealed (UTC)", sealed.sealed_utc),
        ("Times", f"UTC as the source recorded it, and civil time in {sealed.zone} with the "
                  f"offset written"),
        ("Text", f"cut at {TEXT_CHARS:,} characters, and said so in the cell; the whole text is "
                 f"in timeline.jsonl"),
        ("Checking a row", "its Event ID and Chain are those of the row of timeline.jsonl with "
                           "the same Seq; the Chain of the last row is the seal"),
        ("Made by", made_by()),
    ):
        sheet.append([label, _xlsx_cell(sheet, value, None)])


def with_fixed_entry_times(data: bytes, sealed_utc: str) -> bytes:
    """The zip again, every entry dated when the timeline was sealed (zip stores the writer's
    local clock time) and marked as made on Unix, in the same order."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in source.infolist():
            archive.writestr(fixed_zip_entry(entry.filename, sealed_utc), source.read(entry))
    return buffer.getvalue()

