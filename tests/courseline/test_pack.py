"""courseline pack and verify --pack: the demo's evidence pack holds what the issue lists, checks
with `sha256sum -c` and with the script in VERIFYING.md, packs again to the same bytes, and a
pack changed after it was made is refused by name, even with its SHA256SUMS made again."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from courseline.pack import verifying_document
from tests_support import copy_case, new_case, read_jsonl, run_cli

TOP = "DEMO-0001-24"
MEMBERS = ["manifest.json", "timeline/timeline.jsonl", "timeline/timeline.csv",
           "report/report.html", "report/report.pdf", "audit-log.jsonl", "annotations.jsonl",
           "docs/VERIFYING.md", "SHA256SUMS"]


@pytest.fixture(scope="module")
def packed(built_demo, tmp_path_factory) -> tuple[Path, Path]:
    case = copy_case(built_demo, tmp_path_factory.mktemp("pack") / "case")
    result = run_cli("pack", case)
    assert result.exit_code == 0, result.output
    return case, case / "out" / "export" / "evidence-pack.zip"


def test_the_pack_holds_the_listed_files_in_one_folder_in_a_fixed_order(packed):
    with zipfile.ZipFile(packed[1]) as pack:
        names = pack.namelist()
        assert names == [f"{TOP}/{name}" for name in MEMBERS]
        sealed = next(e for e in (json.loads(r["entry"]) for r in
                                  map(json.loads, pack.read(f"{TOP}/audit-log.jsonl").splitlines()))
                      if e["action"] == "build")["time_utc"]
        *day, second = (int(part) for part in re.findall(r"\d+", sealed)[:6])
        # A zip keeps times in steps of two seconds.
        assert {info.date_time for info in pack.infolist()} == {(*day, second // 2 * 2)}
        assert pack.read(f"{TOP}/docs/VERIFYING.md") == verifying_document()
        case = packed[0]
        for name, in_case in (("timeline/timeline.jsonl", "out/timeline.jsonl"),
                              ("report/report.pdf", "out/report.pdf"),
                              ("manifest.json", "out/manifest.json")):
            assert pack.read(f"{TOP}/{name}") == (case / in_case).read_bytes()


def test_sha256sum_checks_the_unzipped_pack(packed, tmp_path):
    with zipfile.ZipFile(packed[1]) as pack:
        pack.extractall(tmp_path)
    folder = tmp_path / TOP
    sums = (folder / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == len(MEMBERS) - 1
    if shutil.which("sha256sum"):
        done = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    for line in sums:
        value, name = line.split("  ", 1)
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == value


def test_verify_pack_passes_and_names_the_seal_and_the_audit_head(packed):
    result = run_cli("verify", "--pack", packed[1])
    assert result.exit_code == 0, result.output
    seal = json.loads((packed[0] / "out" / "manifest.json").read_text())["seal"]["value"]
    assert f"Verified: seal {seal}" in result.output
    assert "audit-log.jsonl:" in result.output and "chain intact" in result.output


def test_packing_again_gives_the_same_bytes_and_each_pack_is_audited(packed, tmp_path):
    again = tmp_path / "again.zip"
    assert run_cli("pack", packed[0], "--out", again).exit_code == 0
    assert again.read_bytes() == packed[1].read_bytes()
    with __import__("sqlite3").connect(packed[0] / "case.sqlite") as db:
        entries = [json.loads(e) for (e,) in db.execute("SELECT entry FROM audit")]
    packs = [e for e in entries if e["action"] == "pack"]
    assert len(packs) >= 2
    assert packs[-1]["outputs"][0]["sha256"] == hashlib.sha256(again.read_bytes()).hexdigest()


def _script(tmp_path: Path) -> Path:
    document = verifying_document().decode("utf-8")
    script = re.search(r"<!-- pack-script-start -->\n```python\n(.*?)```", document, re.S).group(1)
    path = tmp_path / "check_pack.py"
    path.write_text(script)
    return path


def _script_on(pack_file: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """VERIFYING.md's pack script run on the pack, unzipped, as a recipient would."""
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(pack_file) as pack:
        pack.extractall(folder)
    return subprocess.run([sys.executable, "-I", str(_script(tmp_path)), str(folder / TOP)],
                          capture_output=True, text=True)


def _rezip(source: Path, target: Path, change, fix_sums: bool = True) -> Path:
    """A copy of the pack with one member changed (and, as a forger would, SHA256SUMS made
    again so that `sha256sum -c` still passes)."""
    with zipfile.ZipFile(source) as pack:
        members = {info.filename: pack.read(info) for info in pack.infolist()}
    change(members)
    if fix_sums:
        members[f"{TOP}/SHA256SUMS"] = "".join(
            f"{hashlib.sha256(data).hexdigest()}  {name.removeprefix(TOP + '/')}\n"
            for name, data in members.items() if name != f"{TOP}/SHA256SUMS").encode()
    with zipfile.ZipFile(target, "w") as pack:
        for name, data in members.items():
            pack.writestr(name, data)
    return target


def _timeline_text(members):
    name = f"{TOP}/timeline/timeline.jsonl"
    members[name] = members[name].replace(b"Piece of paper", b"Piece of cake")


def _timeline_resealed(members):
    """The timeline edited and its ids, chain and the manifest's seal made again: only the
    audit log's hashes still say what the build wrote."""
    name = f"{TOP}/timeline/timeline.jsonl"
    rows = [json.loads(line) for line in members[name].splitlines()]
    rows.pop()
    chain = "0" * 64
    lines = []
    for row in rows:
        row.pop("chain")
        chain = hashlib.sha256((chain + hashlib.sha256(json.dumps(
            row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest())
            .encode()).hexdigest()
        row["chain"] = chain
        lines.append(json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    members[name] = ("\n".join(lines) + "\n").encode()
    manifest = json.loads(members[f"{TOP}/manifest.json"])
    manifest["seal"].update(value=chain, events=len(rows))
    members[f"{TOP}/manifest.json"] = json.dumps(manifest).encode()


def _report_replaced(members):
    members[f"{TOP}/report/report.html"] += b"<!-- edited -->"


def _audit_entry_removed(members):
    name = f"{TOP}/audit-log.jsonl"
    lines = members[name].splitlines(keepends=True)
    members[name] = b"".join(lines[:3] + lines[4:])


@pytest.mark.parametrize("change, named", [
    (_timeline_text, "timeline/timeline.jsonl"),
    (_timeline_resealed, "the last build in the audit log was for the seal"),
    (_report_replaced, "report/report.html is not the file the report"),
    (_audit_entry_removed, "audit-log.jsonl"),
])
def test_a_changed_pack_is_refused_even_with_new_sums(packed, tmp_path, change, named):
    forged = _rezip(packed[1], tmp_path / "forged.zip", change)
    result = run_cli("verify", "--pack", forged)
    assert result.exit_code == 1
    assert f"FAIL  {named}" in result.output, result.output   # the check that failed, named
    done = _script_on(forged, tmp_path)
    assert done.returncode == 1 and "PROBLEM" in done.stdout, done.stdout + done.stderr


def test_a_member_changed_without_new_sums_is_named(packed, tmp_path):
    forged = _rezip(packed[1], tmp_path / "forged.zip", _report_replaced, fix_sums=False)
    result = run_cli("verify", "--pack", forged)
    assert result.exit_code == 1
    assert "report/report.html no longer match(es) the SHA-256 in SHA256SUMS" in result.output


def test_the_verifying_script_passes_a_good_pack(packed, tmp_path):
    done = _script_on(packed[1], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ALL CHECKS PASSED" in done.stdout


def test_something_that_is_not_a_pack_is_refused_plainly(tmp_path):
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("hello")
    result = run_cli("verify", "--pack", not_zip)
    assert result.exit_code == 1 and "cannot be read as a zip file" in result.output
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as pack:
        pack.writestr("a/b.txt", "x")
    result = run_cli("verify", "--pack", other)
    assert result.exit_code == 1 and "not a courseline evidence pack" in result.output


def test_a_report_older_than_the_annotations_is_made_again_before_packing(demo_copy):
    event = read_jsonl(demo_copy / "out" / "timeline.jsonl")[0]["event_id"]
    assert run_cli("annotate", demo_copy, event, "--tag", "threat", "--by", "DC 1").exit_code == 0
    result = run_cli("pack", demo_copy)
    assert result.exit_code == 0, result.output
    assert "making it first" in result.output
    assert run_cli("verify", "--pack", demo_copy / "out/export/evidence-pack.zip").exit_code == 0


def test_a_pack_is_never_written_into_the_evidence_store(demo_copy):
    target = demo_copy / "evidence" / "pack.zip"
    result = run_cli("pack", demo_copy, "--out", target)
    assert result.exit_code == 1 and "evidence store" in result.output
    assert not target.exists()


def test_verify_wants_a_case_or_a_pack_not_both(packed):
    assert run_cli("verify").exit_code == 1
    assert run_cli("verify", packed[0], "--pack", packed[1]).exit_code == 1


# -- what a review found: damaged packs, stale reports, missing annotations ---------------------

def _annotations_dropped(members):
    del members[f"{TOP}/annotations.jsonl"]


def _annotation_after_the_report(members):
    """The audit log given, as a forger could, a later annotation, chained properly."""
    name = f"{TOP}/audit-log.jsonl"
    lines = members[name].splitlines()
    last = json.loads(lines[-1])
    notes = [json.loads(line) for line in members[f"{TOP}/annotations.jsonl"].splitlines()]
    entry = json.dumps({"action": "annotate", "parameters": {}, "inputs": [],
                        "seq": last["seq"] + 1,
                        "outputs": [{"chain": notes[-1]["chain"], "path": "annotations.jsonl"}]},
                       sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256((last["hash"] + entry).encode()).hexdigest()
    lines.append(json.dumps({"seq": last["seq"] + 1, "entry": entry, "prev": last["hash"],
                             "hash": digest}).encode())
    members[name] = b"\n".join(lines) + b"\n"


def _timeline_dropped(members):
    del members[f"{TOP}/timeline/timeline.jsonl"]


def _manifest_emptied(members):
    members[f"{TOP}/manifest.json"] = b"{}"


def _audit_line_not_an_entry(members):
    name = f"{TOP}/audit-log.jsonl"
    members[name] = b"[]\n" + members[name]


@pytest.mark.parametrize("change, named", [
    (_annotations_dropped, "lacks annotations.jsonl"),
    (_annotation_after_the_report, "before the last build or annotation"),
    (_timeline_dropped, "lacks timeline/timeline.jsonl"),
    (_manifest_emptied, "manifest.json has no seal"),
    (_audit_line_not_an_entry, "audit-log.jsonl line 1 is not an audit entry"),
])
def test_a_damaged_or_stale_pack_fails_plainly(packed, tmp_path, change, named):
    forged = _rezip(packed[1], tmp_path / "forged.zip", change)
    result = run_cli("verify", "--pack", forged)
    assert result.exit_code == 1
    assert named in result.output and "unexpectedly" not in result.output, result.output
    done = _script_on(forged, tmp_path)
    assert done.returncode == 1 and "PROBLEM" in done.stdout and "Traceback" not in done.stderr


def test_zip_damage_and_doubled_names_are_refused(packed, tmp_path):
    data = bytearray(packed[1].read_bytes())
    with zipfile.ZipFile(packed[1]) as pack:
        info = pack.getinfo(f"{TOP}/timeline/timeline.jsonl")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 40
    data[start:start + 64] = bytes(64)   # the deflated bytes of the timeline overwritten
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(data))
    result = run_cli("verify", "--pack", damaged)
    assert result.exit_code == 1 and "unexpectedly" not in result.output, result.output
    doubled = tmp_path / "doubled.zip"
    with zipfile.ZipFile(packed[1]) as pack, zipfile.ZipFile(doubled, "w") as out, \
            pytest.warns(UserWarning, match="Duplicate name"):
        out.writestr(f"{TOP}/report/report.pdf", b"%PDF-1.4 another")
        for item in pack.infolist():
            out.writestr(item.filename, pack.read(item))
    result = run_cli("verify", "--pack", doubled)
    assert result.exit_code == 1 and "more than once" in result.output


def test_sums_written_with_crlf_or_binary_marks_are_read(packed, tmp_path):
    def rewrite(members):
        sums = members[f"{TOP}/SHA256SUMS"].decode().splitlines()
        members[f"{TOP}/SHA256SUMS"] = "".join(
            line.replace("  ", " *", 1) + "\r\n" for line in sums).encode()
    result = run_cli("verify", "--pack",
                     _rezip(packed[1], tmp_path / "crlf.zip", rewrite, fix_sums=False))
    assert result.exit_code == 0, result.output


def test_a_case_whose_annotations_were_changed_is_not_packed(demo_copy):
    notes = demo_copy / "annotations.jsonl"
    notes.write_text("".join(notes.read_text().splitlines(keepends=True)[:-1]))
    result = run_cli("pack", demo_copy)
    assert result.exit_code == 1
    assert "annotations were removed or the file replaced" in result.output
    assert "nothing was packed" in result.output


def test_files_the_case_holds_are_never_overwritten_by_out(demo_copy):
    indicators = demo_copy / "demo-indicators.yaml"   # named in case.toml
    before = indicators.read_bytes()
    for command in (("pack", demo_copy), ("export", demo_copy, "--format", "csv")):
        result = run_cli(*command, "--out", indicators)
        assert result.exit_code == 1 and "a file the case holds" in result.output
    assert indicators.read_bytes() == before


def test_a_case_that_needs_a_look_is_still_packed_and_says_so(tmp_path):
    mails = tmp_path / "in"
    mails.mkdir()
    (mails / "dated.eml").write_text("From: x@example.net\nTo: a@example.org\nSubject: one\n"
                                     "Date: Mon, 05 Aug 2024 10:00:00 +0100\n\nhello\n")
    (mails / "undated.eml").write_text("From: x@example.net\nTo: a@example.org\nSubject: two\n\n"
                                       "no date\n")
    case = new_case(tmp_path / "case", "email:a@example.org", None, "--reference", "OP 7")
    assert run_cli("add", case, mails, "--owner", "victim").exit_code == 0
    result = run_cli("pack", case)
    assert result.exit_code == 3, result.output                 # needs a look, but packed
    assert "making it first" in result.output and "Needs a look" in result.output
    pack = case / "out" / "export" / "evidence-pack.zip"
    assert run_cli("verify", "--pack", pack).exit_code == 0
    with zipfile.ZipFile(pack) as archive:
        assert archive.namelist()[0] == "OP-7/manifest.json"
