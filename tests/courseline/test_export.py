"""courseline export: every format of the demo case read back, tied to the seal, byte-identical
when made again; refusals of an unbuilt or changed timeline and of unsafe places to write.

The seal is recomputed here as courseline/docs/VERIFYING.md does it, with the standard library only, so the
round trip does not lean on the code that wrote the files."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from courseline.export import FORMATS, case_uco
from courseline.export.parquet import timeline_rows as parquet_rows
from courseline.export.timesketch import MANDATORY, timeline_row as timesketch_row
from tests_support import copy_case, read_jsonl, run_cli

NOT_HASHED = ("event_id", "seq", "chain", "provenance", "sender_person", "recipient_persons")


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recomputed_seal(rows: list[dict]) -> tuple[str, int]:
    """courseline/docs/VERIFYING.md: every event_id from the row's fields, and the chain; (seal, rows)."""
    chain = "0" * 64
    for number, row in enumerate(rows, 1):
        row = dict(row)
        stored = row.pop("chain")
        assert sha256(canonical({k: v for k, v in row.items() if k not in NOT_HASHED})) \
            == row["event_id"], f"row {number}: event_id"
        chain = sha256(chain + sha256(canonical(row)))
        assert chain == stored and row["seq"] == number, f"row {number}: chain"
    return chain, len(rows)


def manifest_seal(case: Path) -> tuple[str, int]:
    seal = json.loads((case / "out" / "manifest.json").read_text(encoding="utf-8"))["seal"]
    return seal["value"], seal["events"]


def export(case: Path, fmt: str, *more) -> Path:
    result = run_cli("export", case, "--format", fmt, *more)
    assert result.exit_code == 0, result.output
    written = Path(result.output.rsplit("Written to ", 1)[1].strip())
    assert written.is_file()
    return written


@pytest.fixture(scope="module")
def demo_exports(built_demo, tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """A copy of the demo case (an export enters the audit log) with every format exported."""
    case = copy_case(built_demo, tmp_path_factory.mktemp("exports") / "case")
    return case, {fmt: export(case, fmt) for fmt in FORMATS}


@pytest.fixture(scope="module")
def sealed_rows(demo_exports) -> list[dict]:
    return read_jsonl(demo_exports[0] / "out" / "timeline.jsonl")


def test_exports_go_to_out_export_under_their_names(demo_exports):
    case, paths = demo_exports
    assert {fmt: path.relative_to(case).as_posix() for fmt, path in paths.items()} == {
        "csv": "out/export/schedule.csv", "xlsx": "out/export/schedule.xlsx",
        "timesketch": "out/export/timesketch.jsonl", "timesketch-csv": "out/export/timesketch.csv",
        "parquet": "out/export/timeline.parquet", "jsonl": "out/export/timeline.jsonl",
        "case-uco": "out/export/case-uco.jsonld"}
    assert not list((case / "out" / "export").glob(".*partial"))


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_an_export_made_again_is_byte_identical(demo_exports, fmt, tmp_path):
    case, paths = demo_exports
    again = export(case, fmt, "--out", tmp_path / f"again-{fmt}")
    assert again.read_bytes() == paths[fmt].read_bytes()


def test_the_jsonl_export_is_the_sealed_file(demo_exports):
    case, paths = demo_exports
    assert paths["jsonl"].read_bytes() == (case / "out" / "timeline.jsonl").read_bytes()


def _rows_back(fmt: str, path: Path) -> list[dict]:
    if fmt == "jsonl":
        return read_jsonl(path)
    if fmt == "parquet":
        return list(parquet_rows(path))
    if fmt == "case-uco":
        return [json.loads(line) for line in case_uco.timeline_lines(path)]
    return [timesketch_row(event) for event in read_jsonl(path)]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "timesketch", "case-uco"])
def test_exports_of_every_field_give_back_the_sealed_rows_and_the_seal(demo_exports, sealed_rows,
                                                                       fmt):
    case, paths = demo_exports
    rows = _rows_back(fmt, paths[fmt])
    assert rows == sealed_rows
    assert recomputed_seal(rows) == manifest_seal(case)


def test_the_parquet_columns_are_typed(demo_exports):
    _, paths = demo_exports
    parquet = pq.ParquetFile(paths["parquet"])
    schema = parquet.schema_arrow
    assert schema.field("occurred_utc").type == pa.timestamp("us", tz="UTC")
    assert schema.field("time_readings").type == pa.list_(pa.timestamp("us", tz="UTC"))
    assert schema.field("seq").type == pa.int64() and schema.field("duration_s").type == pa.int64()
    assert schema.field("recipients").type == pa.list_(pa.string())
    assert schema.field("details").type == pa.string()
    about = json.loads(schema.metadata[b"courseline"])
    assert (about["seal"], about["events"]) == manifest_seal(demo_exports[0])
    frame = pq.read_table(paths["parquet"]).to_pandas()
    assert str(frame["occurred_utc"].dt.tz) == "UTC"
    assert frame["occurred_utc"].isna().sum() == 2     # the demo's two undated screenshots


def _schedule_rows(fmt: str, path: Path) -> list[dict]:
    if fmt == "csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    if fmt == "timesketch-csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    sheet = openpyxl.load_workbook(path)["Schedule"]
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row)) for row in values[1:]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "timesketch-csv"])
def test_views_are_tied_to_the_seal_row_by_row(demo_exports, sealed_rows, fmt):
    """A view cannot be hashed back into the seal: each row names its sealed row by seq,
    event_id and chain, and the last chain is the seal."""
    case, paths = demo_exports
    names = ("seq", "event_id", "chain") if fmt == "timesketch-csv" else ("Seq", "Event ID", "Chain")
    rows = _schedule_rows(fmt, paths[fmt])
    assert [tuple(str(row[n]) for n in names) for row in rows] == \
        [(str(r["seq"]), r["event_id"], r["chain"]) for r in sealed_rows]
    assert (rows[-1][names[2]], len(rows)) == manifest_seal(case)


def test_the_schedule_shows_the_sealed_values(demo_exports, sealed_rows):
    case, paths = demo_exports
    rows = _schedule_rows("csv", paths["csv"])
    assert list(rows[0]) == ["Seq", "Exhibit", "UTC", "Civil time (Europe/London)", "Kind",
                             "Platform", "Direction", "From", "To", "Subject", "Text", "Call",
                             "Flags", "Event ID", "Chain"]
    for shown, sealed in zip(rows, sealed_rows, strict=True):
        assert shown["UTC"] == (sealed["occurred_utc"] or "undated")
        assert shown["Exhibit"].split("; ") == sorted({p["exhibit"] for p in sealed["provenance"]},
                                                      key=lambda e: int(e.rpartition("/")[2]))
        assert (shown["Kind"], shown["Platform"], shown["Direction"]) == \
            (sealed["kind"], sealed["platform"], sealed["direction"])
        assert shown["Text"] == (sealed["text"] or "")       # the demo's texts are short
        if sealed["sender"]:
            assert shown["From"].startswith(sealed["sender"])
        assert all(flag in shown["Flags"] for flag in sealed["flags"] + sealed["time_flags"])
    # Civil time with its offset, both sides of the clock change.
    assert {row["Civil time (Europe/London)"][20:] for row in rows if row["UTC"] != "undated"} \
        >= {"BST (UTC+01:00)", "GMT (UTC+00:00)"}
    ambiguous = [row for row in rows if "time ambiguous" in row["Flags"]]
    assert len(ambiguous) == 2


def test_the_workbook_matches_the_csv_and_is_laid_out_for_reading(demo_exports):
    case, paths = demo_exports
    book = openpyxl.load_workbook(paths["xlsx"])
    sheet = book["Schedule"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:O{manifest_seal(case)[1] + 1}"
    assert sheet.column_dimensions["K"].width == 70 and sheet.column_dimensions["A"].width == 7
    assert sheet["A1"].font.bold
    in_csv = _schedule_rows("csv", paths["csv"])
    in_xlsx = _schedule_rows("xlsx", paths["xlsx"])
    assert [{k: "" if v is None else str(v) for k, v in row.items()} for row in in_xlsx] == in_csv
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True)}
    assert about["Seal (SHA-256 chain)"] == manifest_seal(case)[0]


def test_the_workbook_dates_are_when_the_timeline_was_sealed_not_the_clock(demo_exports):
    case, paths = demo_exports
    database = sqlite3.connect(case / "case.sqlite")
    builds = [json.loads(e) for (e,) in database.execute("SELECT entry FROM audit ORDER BY seq")]
    database.close()
    seal = manifest_seal(case)[0]
    sealed_at = next(e["time_utc"] for e in builds
                     if e["action"] == "build" and e["parameters"]["seal"] == seal)
    moment = datetime.fromisoformat(sealed_at.replace("Z", ""))
    props = openpyxl.load_workbook(paths["xlsx"]).properties
    assert props.created == props.modified == moment
    # A zip entry's time is kept to two seconds (MS-DOS time): an odd second is read back one less.
    in_zip = (*moment.timetuple()[:5], moment.second - moment.second % 2)
    with zipfile.ZipFile(paths["xlsx"]) as archive:
        assert {entry.date_time for entry in archive.infolist()} == {in_zip}


def test_timesketch_events_have_the_documented_fields_and_an_offset(demo_exports, sealed_rows):
    _, paths = demo_exports
    events = read_jsonl(paths["timesketch"])
    for event, sealed in zip(events, sealed_rows, strict=True):
        assert all(event[field] for field in MANDATORY)
        moment = datetime.fromisoformat(event["datetime"])
        assert moment.utcoffset() is not None                # never naive
        whole = moment - datetime.fromisoformat("1970-01-01T00:00:00+00:00")
        assert event["timestamp"] == whole // (whole.resolution)
        assert isinstance(event["timestamp"], int)
        if sealed["occurred_utc"] is None:
            assert event["timestamp"] == 0 and "No time recorded" in event["timestamp_desc"]
    descs = {e["kind"]: e["timestamp_desc"] for e in events if e["timestamp"]}
    assert descs["call"] == "Call started" and descs["email"] == "Message sent"
    assert descs["media"] == "Photo or video taken"


def test_the_timesketch_csv_survives_timesketchs_reader(demo_exports, sealed_rows):
    """As the Timesketch server reads a CSV (timesketch/lib/utils.py, read_and_validate_csv):
    pandas, the mandatory headings, then times parsed with to_datetime, unparsed rows dropped."""
    _, paths = demo_exports
    frame = pandas.read_csv(paths["timesketch-csv"])
    assert set(MANDATORY) <= set(frame.columns)
    parsed = pandas.to_datetime(frame["datetime"], errors="coerce")
    assert not parsed.isna().any()
    dated = [r["occurred_utc"] for r in sealed_rows]
    for moment, utc in zip(parsed, dated, strict=True):
        if utc:
            assert moment == pandas.Timestamp(utc)
    rows = _schedule_rows("timesketch-csv", paths["timesketch-csv"])
    for row, sealed in zip(rows, sealed_rows, strict=True):
        for key, value in sealed.items():
            expected = "" if value is None else canonical(value) \
                if isinstance(value, (list, dict)) else str(value)
            assert row[key] == expected, (sealed["seq"], key)


def test_each_export_is_entered_in_the_audit_log(demo_exports):
    case, paths = demo_exports
    database = sqlite3.connect(case / "case.sqlite")
    entries = [json.loads(e) for (e,) in database.execute("SELECT entry FROM audit ORDER BY seq")]
    database.close()
    exports = [e for e in entries if e["action"] == "export"]
    assert {e["parameters"]["format"] for e in exports} == set(FORMATS)
    xlsx = next(e for e in exports if e["outputs"][0]["path"] == "out/export/schedule.xlsx")
    assert xlsx["outputs"][0]["sha256"] == hashlib.sha256(paths["xlsx"].read_bytes()).hexdigest()
    assert xlsx["parameters"] == {"format": "xlsx", "seal": manifest_seal(case)[0],
                                  "events": manifest_seal(case)[1]}
    assert [i["path"] for i in xlsx["inputs"]] == ["out/timeline.jsonl", "out/manifest.json"]


def test_help_lists_the_formats_with_examples():
    text = run_cli("export", "--help").output
    assert "Examples:" in text and "courseline export cases/op-1234 --format xlsx" in text
    assert all(fmt in text for fmt in FORMATS)
    assert "courseline export CASE --format" in run_cli("--help").output


# -- a small case of our own: hostile cells, refusals ----------------------------------------

HOSTILE_SUBJECT = '=HYPERLINK("http://example.com/x","click")'
HOSTILE_TEXT = "+44 7700 900456 ring me\x07 now"


@pytest.fixture
def small_case(tmp_path) -> Path:
    """One e-mail whose subject and text would be formulas in a spreadsheet, built."""
    eml = tmp_path / "in" / "a.eml"
    eml.parent.mkdir()
    eml.write_bytes("\n".join([
        "From: x@example.net", "To: a@example.org", f"Subject: {HOSTILE_SUBJECT}",
        "Date: Mon, 05 Aug 2024 10:00:00 +0100", "Content-Type: text/plain; charset=utf-8", "",
        HOSTILE_TEXT, ""]).encode())
    case = tmp_path / "case"
    assert run_cli("init", case).exit_code == 0
    with (case / "case.toml").open("a") as handle:
        handle.write('\n[[person]]\nkey = "victim"\nrole = "victim"\n'
                     'identifiers = ["email:a@example.org"]\n')
    assert run_cli("add", case, eml, "--owner", "victim").exit_code == 0
    assert run_cli("build", case).exit_code == 0
    return case


def test_cells_that_would_be_formulas_stay_text(small_case):
    row = _schedule_rows("csv", export(small_case, "csv"))[0]
    assert row["Subject"] == "'" + HOSTILE_SUBJECT
    assert row["Text"].startswith("'+44")
    sheet = openpyxl.load_workbook(export(small_case, "xlsx"))["Schedule"]
    subject, text = sheet["J2"], sheet["K2"]
    assert (subject.value, subject.data_type, subject.quotePrefix) == (HOSTILE_SUBJECT, "s", True)
    assert text.data_type == "s" and text.quotePrefix
    assert text.value.startswith("+44 7700 900456 ring me[U+0007] now")   # XML cannot hold \x07
    # Timesketch gets the text as written.
    assert timesketch_row(read_jsonl(export(small_case, "timesketch"))[0])["subject"] == \
        HOSTILE_SUBJECT


def test_an_unbuilt_case_is_refused_with_what_to_run(tmp_path):
    case = tmp_path / "case"
    assert run_cli("init", case).exit_code == 0
    result = run_cli("export", case, "--format", "csv")
    assert result.exit_code == 1
    assert "has not been built" in result.output and f"courseline build {case}" in result.output
    assert not (case / "out" / "export").exists()


@pytest.mark.parametrize("change", ["edit", "cut"])
def test_a_timeline_changed_after_sealing_is_refused_and_nothing_replaced(small_case, change):
    earlier = export(small_case, "parquet")
    before = earlier.read_bytes()
    timeline = small_case / "out" / "timeline.jsonl"
    text = timeline.read_text(encoding="utf-8")
    timeline.write_text(text.replace("ring me", "rang me") if change == "edit" else "",
                        encoding="utf-8")
    result = run_cli("export", small_case, "--format", "parquet")
    assert result.exit_code == 1
    assert f"{timeline} no longer matches the seal" in result.output
    assert "courseline verify" in result.output and "nothing was exported" in result.output
    assert earlier.read_bytes() == before
    assert not list(earlier.parent.glob(".*partial"))


def test_unsafe_places_to_write_are_refused(small_case, tmp_path):
    evidence = next(p for p in (small_case / "evidence").rglob("*") if p.is_file())
    original = tmp_path / "in" / "a.eml"
    kept = small_case / "out" / "timeline.csv"
    for target, says in ((evidence.parent / "new.csv", "inside the evidence store"),
                         (original, "the original export"),
                         (kept, "kept by the case itself"),
                         (small_case / "case.toml", "kept by the case itself")):
        before = target.read_bytes() if target.exists() else None
        result = run_cli("export", small_case, "--format", "csv", "--out", target)
        assert result.exit_code == 1, target
        assert says in result.output, result.output
        assert (target.read_bytes() if target.exists() else None) == before


def _rechained(timeline: Path, rows: list[dict]) -> str:
    """Write ``rows`` as timeline.jsonl with a chain recomputed for them; return the new seal."""
    chain = "0" * 64
    lines = []
    for row in rows:
        row = {k: v for k, v in row.items() if k != "chain"}
        chain = sha256(chain + sha256(canonical(row)))
        lines.append(canonical({**row, "chain": chain}) + "\n")
    timeline.write_text("".join(lines), encoding="utf-8")
    return chain


def test_a_timeline_rewritten_and_sealed_again_by_hand_is_refused(small_case):
    """timeline.jsonl and manifest.json can be rewritten together: the export ties the seal to
    the last build in the hash-chained audit log, and each row's event_id to its fields."""
    timeline, manifest_file = small_case / "out" / "timeline.jsonl", small_case / "out" / "manifest.json"
    rows = read_jsonl(timeline)
    rows[0]["text"] = "nothing threatening was said"
    seal = _rechained(timeline, rows)
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    manifest["seal"]["value"] = seal
    manifest_file.write_text(json.dumps(manifest), encoding="utf-8")
    result = run_cli("export", small_case, "--format", "xlsx")
    assert result.exit_code == 1
    assert "is not the seal the last build entered in the audit log" in result.output
    assert not (small_case / "out" / "export" / "schedule.xlsx").exists()
    # Even with a build of that seal entered in the audit log, the row's id gives it away.
    from courseline.timeline.db import CaseDB
    with CaseDB(small_case / "case.sqlite") as db:
        db.audit("build", "someone", parameters={"seal": seal, "events": 1}, inputs=[], outputs=[])
    result = run_cli("export", small_case, "--format", "xlsx")
    assert result.exit_code == 1
    assert "row 1's event_id is not the hash of its fields" in result.output


def test_workbook_cells_hold_only_what_xml_can_and_stay_text(tmp_path):
    """Characters XML 1.0 cannot hold become their code point (else the workbook does not
    open), "#N/A" stays text (not an error cell), and a cell never passes Excel's limit."""
    from openpyxl import Workbook
    from courseline.export.schedule import XLSX_CELL_CHARS, _xlsx_cell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("S")
    cells = [_xlsx_cell(sheet, value, None) for value in
             ("a\ufffeb\uffffc\ud800d\x07", "#N/A", "x" * (XLSX_CELL_CHARS + 10))]
    sheet.append(cells)
    target = tmp_path / "w.xlsx"
    workbook.save(target)
    row = [c for c in openpyxl.load_workbook(target)["S"][1]]
    assert row[0].value == "a[U+FFFE]b[U+FFFF]c[U+D800]d[U+0007]"
    assert (row[1].value, row[1].data_type) == ("#N/A", "s")
    assert row[2].value.startswith("x" * XLSX_CELL_CHARS + " … [cut here: 16,010 characters")


def test_links_never_lead_an_export_into_evidence_or_onto_an_original(small_case, tmp_path):
    """A case whose evidence folder is a link to where it is kept, and a link planted where the
    export makes its partial file: neither is written through."""
    evidence = small_case / "evidence"
    kept = tmp_path / "evidence-kept"
    evidence.rename(kept)
    evidence.symlink_to(kept)
    result = run_cli("export", small_case, "--format", "csv", "--out", evidence / "x.csv")
    assert result.exit_code == 1 and "inside the evidence store" in result.output
    assert not (kept / "x.csv").exists()
    original = tmp_path / "in" / "a.eml"
    before = original.read_bytes()
    folder = small_case / "out" / "export"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".schedule.csv.partial").symlink_to(original)
    written = export(small_case, "csv")
    assert original.read_bytes() == before
    assert not written.is_symlink() and written.read_bytes().startswith("\ufeffSeq".encode())
