"""The CASE/UCO export of the demo case: valid for `case_validate` (case-utils, CASE 1.5.0) with no
warning, read as RDF with the nodes the case has, and held to the checks `case_validate` does not
make (times with offsets, hashes of the files, references present). The round trip to the sealed
rows and the byte-identical re-run are in test_export.py with the other formats."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import rdflib

from courseline.export.case_uco import CASE_VERSION, _decimal, check_graph
from tests_support import copy_case, new_case, read_jsonl, run_cli

OBSERVABLE = rdflib.Namespace("https://ontology.unifiedcyberontology.org/uco/observable/")
CORE = rdflib.Namespace("https://ontology.unifiedcyberontology.org/uco/core/")
TYPES = rdflib.Namespace("https://ontology.unifiedcyberontology.org/uco/types/")
INVESTIGATION = rdflib.Namespace("https://ontology.caseontology.org/case/investigation/")


@pytest.fixture(scope="module")
def exported(built_demo, tmp_path_factory) -> tuple[Path, Path]:
    case = copy_case(built_demo, tmp_path_factory.mktemp("case-uco") / "case")
    result = run_cli("export", case, "--format", "case-uco")
    assert result.exit_code == 0, result.output
    return case, case / "out" / "export" / "case-uco.jsonld"


@pytest.fixture(scope="module")
def graph(exported) -> rdflib.Graph:
    return rdflib.Graph().parse(exported[1], format="json-ld")


def case_validate() -> str:
    beside_python = Path(sys.executable).with_name("case_validate")
    found = str(beside_python) if beside_python.exists() else shutil.which("case_validate")
    assert found, "case_validate is not installed: pip install -e '.[test]' brings case-utils"
    return found


def test_case_validate_passes_with_no_warning(exported):
    done = subprocess.run([case_validate(), "--built-version", CASE_VERSION, str(exported[1])],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Conforms: True" in done.stdout
    assert "Warning" not in done.stderr, done.stderr


def test_each_event_is_a_node_of_its_kind(exported, graph):
    rows = read_jsonl(exported[0] / "out" / "timeline.jsonl")
    kinds = Counter(row["kind"] for row in rows)
    typed = Counter(str(t).rsplit("/", 1)[1] for t in graph.objects(None, rdflib.RDF.type)
                    if str(t).startswith(str(OBSERVABLE)))
    assert typed["EmailMessage"] == kinds["email"] and typed["Call"] == kinds["call"]
    assert typed["SMSMessage"] == kinds["sms"] + kinds["mms"]
    assert typed["Message"] == kinds["message"]
    others = sum(n for kind, n in kinds.items() if kind not in ("email", "call", "sms", "mms",
                                                                  "message"))
    assert typed["EventRecord"] == others > 0
    ids = {str(v) for v in graph.objects(None, OBSERVABLE.eventRecordID)}
    assert ids == {row["event_id"] for row in rows}


def test_every_source_file_is_there_with_its_hash_and_exhibit(exported, graph):
    manifest = json.loads((exported[0] / "out" / "manifest.json").read_text(encoding="utf-8"))
    paths = {str(p) for p in graph.objects(None, OBSERVABLE.filePath)}
    assert {s["path"] for s in manifest["sources"]} <= paths
    values = {str(v) for v in graph.objects(None, TYPES.hashValue)}
    assert {s["sha256"] for s in manifest["sources"]} <= values
    exhibits = {str(v) for v in graph.objects(None, INVESTIGATION.exhibitNumber)}
    assert exhibits == {s["exhibit"] for s in manifest["sources"]}


def test_the_actions_that_made_the_timeline_are_there(exported, graph):
    actions = Counter(str(graph.value(node, CORE.name)) for node in
                      graph.subjects(rdflib.RDF.type, INVESTIGATION.InvestigativeAction))
    manifest = json.loads((exported[0] / "out" / "manifest.json").read_text(encoding="utf-8"))
    parsed = [s for s in manifest["sources"] if s["parser"]]
    assert actions["build"] == 1 and actions["parse"] == len(parsed) and actions["collect"] >= 1
    seal = manifest["seal"]["value"]
    assert any(seal in str(d) for d in graph.objects(None, CORE.description))


def seal_of(case: Path) -> tuple[str, int]:
    seal = json.loads((case / "out" / "manifest.json").read_text(encoding="utf-8"))["seal"]
    return seal["value"], seal["events"]


def test_the_demo_graph_keeps_the_rules_case_validate_does_not_check(exported):
    checked = check_graph(exported[1], exported[0], *seal_of(exported[0]))
    assert checked.problems == []
    assert checked.times > 80 and checked.hashes_checked > 40 and checked.references > 500
    assert checked.rows == json.loads((exported[0] / "out" / "manifest.json").read_text(
        encoding="utf-8"))["seal"]["events"]


def _changed(path: Path, target: Path, change) -> Path:
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document["@graph"])
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


def _first(nodes, wanted):
    return next(node for node in nodes if wanted(node))


def _naive_time(nodes):
    action = _first(nodes, lambda n: "uco-action:endTime" in n)
    action["uco-action:endTime"]["@value"] = action["uco-action:endTime"]["@value"].rstrip("Z")


def _wrong_hash(nodes):
    file = _first(nodes, lambda n: n.get("@type") == "uco-observable:File")
    digest = file["uco-core:hasFacet"][1]["uco-observable:hash"][0]["uco-types:hashValue"]
    digest["@value"] = "0" * 64 if digest["@value"] != "0" * 64 else "1" * 64


def _dangling(nodes):
    nodes.remove(_first(nodes, lambda n: n.get("@type") == "uco-tool:AnalyticTool"))


def _twice(nodes):
    nodes.append(dict(nodes[1]))


def _row_edited(nodes):
    record = _first(nodes, lambda n: n.get("@type") == "uco-observable:EmailMessage")
    facet = next(f for f in record["uco-core:hasFacet"]
                 if f["@type"] == "uco-observable:EventRecordFacet")
    raw = json.loads(facet["uco-observable:eventRecordRaw"])
    raw["text"] = "edited"
    facet["uco-observable:eventRecordRaw"] = json.dumps(raw, sort_keys=True,
                                                        separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("change, said", [(_naive_time, "has no offset"),
                                          (_wrong_hash, "no file in the case holds"),
                                          (_dangling, "not in the graph"),
                                          (_twice, "written twice"),
                                          (_row_edited, "the events' sealed rows")])
def test_the_own_checks_catch_what_case_validate_lets_through(exported, tmp_path, change, said):
    broken = _changed(exported[1], tmp_path / "broken.jsonld", change)
    problems = check_graph(broken, exported[0], *seal_of(exported[0])).problems
    assert problems and all(said in problem for problem in problems), problems


def test_a_stored_copy_changed_after_the_build_is_refused(demo_copy):
    manifest = json.loads((demo_copy / "out" / "manifest.json").read_text(encoding="utf-8"))
    stored = demo_copy / "evidence" / manifest["sources"][0]["sha256"][:2] / \
        manifest["sources"][0]["sha256"]
    earlier = demo_copy / "out" / "export" / "case-uco.jsonld"   # the demo exports it
    before = earlier.read_bytes()
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes() + b"\nchanged")
    result = run_cli("export", demo_copy, "--format", "case-uco")
    assert result.exit_code != 0
    assert "own checks" in result.output and "is not the hash of" in result.output
    assert earlier.read_bytes() == before
    assert not list(earlier.parent.glob(".*partial"))


def test_coordinates_are_written_as_decimals_without_an_exponent():
    assert _decimal(-5e-05) == "-0.00005" and _decimal(51.513) == "51.513"
    assert _decimal(0.0) == "0.0" and _decimal(-0.30455) == "-0.30455"


def test_the_same_file_attached_twice_to_a_mail_without_a_sender(tmp_path):
    attachment = base64.b64encode(b"same bytes").decode()
    parts = "".join(f'--b\nContent-Type: application/octet-stream\nContent-Disposition: '
                    f'attachment; filename="dup.bin"\nContent-Transfer-Encoding: base64\n\n'
                    f'{attachment}\n' for _ in range(2))
    mail = tmp_path / "in" / "twice.eml"
    mail.parent.mkdir()
    mail.write_text("To: a@example.org\nSubject: twice\nMIME-Version: 1.0\n"
                    "Date: Mon, 05 Aug 2024 10:00:00 +0100\n"
                    'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain'
                    f"\n\nsee attached\n{parts}--b--\n")
    case = new_case(tmp_path / "case", "email:a@example.org", None, "--reference", "OP/ü 12")
    assert run_cli("add", case, mail.parent, "--owner", "victim").exit_code == 0
    assert run_cli("build", case).exit_code in (0, 3)
    result = run_cli("export", case, "--format", "case-uco")
    assert result.exit_code == 0, result.output
    graph_file = case / "out" / "export" / "case-uco.jsonld"
    links = [n for n in json.loads(graph_file.read_text())["@graph"]
             if n.get("uco-core:kindOfRelationship") == "Attachment_Of"]
    assert len(links) == 2 and len({n["@id"] for n in links}) == 2
    assert check_graph(graph_file, case, *seal_of(case)).problems == []
