"""The report on the demo case: the summary's figures recomputed from timeline.jsonl, the views
(full, SPO summary, redacted), the PDF, and the page's script and data."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import tomllib
from collections import Counter
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests_support import read_jsonl, run_cli

NIGHT = (22, 6)


def _figures(html: str) -> dict[str, str]:
    found = {}
    for key, value in re.findall(r'<span data-figure="([^"]+)">([^<]*)</span>', html):
        key = unescape(key)
        assert found.get(key, value) == value, key    # a figure shown twice shows the same
        found[key] = value
    return found


class Recount:
    """The summary's figures counted again from timeline.jsonl with nothing but the standard
    library, by rules written out here independently of courseline.timeline.analysis."""

    def __init__(self, case: Path):
        self.rows = read_jsonl(case / "out" / "timeline.jsonl")
        self.case = tomllib.loads((case / "case.toml").read_text())
        self.zone = ZoneInfo(self.case["case"].get("timezone", "Europe/London"))
        self.marks = [json.loads(line) for line in (case / "annotations.jsonl").open()] \
            if (case / "annotations.jsonl").exists() else []

    def local(self, utc: str) -> datetime:
        return datetime.fromisoformat(utc.replace("Z", "+00:00")).astimezone(self.zone)

    def counted(self) -> list[dict]:
        return [r for r in self.rows if r["occurred_utc"] and r["kind"] != "diary"
                and not {"draft", "failed"} & set(r["flags"])]

    def between(self, sender: str, receiver: str) -> list[dict]:
        return [r for r in self.counted() if r["sender_person"] == sender
                and receiver in r["recipient_persons"] and receiver != sender]

    def figures(self, suspect: str, victim: str) -> dict[str, str]:
        rows = self.between(suspect, victim)
        key = f"{suspect}>{victim}"
        days = sorted({self.local(r["occurred_utc"]).date() for r in rows})
        platforms = Counter(r["platform"] for r in rows)
        hours = [self.local(r["occurred_utc"]).hour for r in rows]
        moments = sorted(self.local(r["occurred_utc"]) for r in rows)
        most = max(sum(1 for m in moments if start <= m < start + timedelta(hours=1))
                   for start in moments)
        run = longest = 1
        for before, after in zip(days, days[1:]):
            run = run + 1 if after - before == timedelta(days=1) else 1
            longest = max(longest, run)
        figures = {
            f"{key}:events": len(rows), f"{key}:days": len(days),
            f"{key}:span_days": (days[-1] - days[0]).days + 1,
            f"{key}:channels": len(platforms),
            f"{key}:night_events": sum(1 for h in hours if h >= NIGHT[0] or h < NIGHT[1]),
            f"{key}:max_in_window": most, f"{key}:longest_run_days": longest,
            f"{victim}>{suspect}:events": len(self.between(victim, suspect)),
        }
        figures.update({f"{key}:platform:{name}": n for name, n in platforms.items()})
        stops = [r["occurred_utc"] for r in self.rows for m in self.marks
                 if m["event_id"] == r["event_id"]
                 and {"asked-to-stop", "blocked", "changed-number"} & set(m["tags"])]
        if stops:
            first = min(stops)
            figures[f"{key}:after_first_mark"] = sum(1 for r in rows if r["occurred_utc"] > first)
        for order in self.case.get("order", []):
            if order["against"] == suspect and order["protects"] == victim:
                served = datetime.fromisoformat(order["served"])
                expires = datetime.fromisoformat(order["expires"]) if "expires" in order else None
                label = order.get("reference") or order["kind"]
                figures[f"breaches:{label}"] = sum(
                    1 for r in rows if self.local(r["occurred_utc"]) >= served
                    and (expires is None or self.local(r["occurred_utc"]) < expires))
        return {name: str(value) for name, value in figures.items()}


def test_every_summary_figure_is_recomputed_from_the_timeline(built_demo):
    html = (built_demo / "out" / "report.html").read_text()
    shown = _figures(html.split('<section id="pattern">')[0])
    recount = Recount(built_demo)
    expected = recount.figures("suspect", "victim")
    summary_only = {k: v for k, v in shown.items() if not k.startswith("suspect:identifiers")}
    assert summary_only == expected
    # The demo's figures as a reader would check them by eye.
    assert expected["suspect>victim:events"] == str(len(recount.between("suspect", "victim")))
    assert int(expected["breaches:SPO 0001/2024"]) >= 2
    assert int(expected["suspect>victim:after_first_mark"]) > 0


def test_the_summary_comes_first_and_says_what_figures_are(built_demo):
    html = (built_demo / "out" / "report.html").read_text()
    sections = re.findall(r'<section id="([a-z]+)">', html)
    assert sections[:3] == ["summary", "pattern", "orders"]
    assert sections[-3:] == ["exhibits", "continuity", "method"]
    assert "not findings" in html and "FSR Code of Practice declaration" in html
    assert "Continuity statement (draft)" in html and "Signed:" in html


def test_the_pattern_has_its_charts_and_the_four_indicators(built_demo):
    html = (built_demo / "out" / "report.html").read_text()
    pattern = html.split('<section id="pattern">')[1].split("</section>")[0]
    assert pattern.count("<svg") == 3
    for indicator in ("Fixated", "Obsessive", "Unwanted", "Repeated"):
        assert f"<td>{indicator}</td>" in pattern
    assert "Channel hopping" in pattern


def test_the_page_script_is_allowed_by_its_hash_and_the_data_cannot_break_out(built_demo):
    html = (built_demo / "out" / "report.html").read_text()
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in unescape(html)
    data = re.search(r'<script type="application/json" id="chronology-data">(.*?)</script>',
                     html, re.S).group(1)
    assert "<" not in data
    rows = json.loads(data)
    timeline = read_jsonl(built_demo / "out" / "timeline.jsonl")
    assert [r["id"] for r in rows] == [r["event_id"] for r in timeline]
    assert any("<script>alert('x')</script>" in r["text"] for r in rows)


def test_the_report_is_the_same_when_made_again(demo_copy):
    before = (demo_copy / "out" / "report.html").read_bytes()
    pdf = (demo_copy / "out" / "report.pdf").read_bytes()
    assert run_cli("report", demo_copy, "--pdf").exit_code == 0
    assert (demo_copy / "out" / "report.html").read_bytes() == before
    assert (demo_copy / "out" / "report.pdf").read_bytes() == pdf


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils is not installed")
def test_the_demo_pdf_renders_and_carries_the_timeline_and_manifest(built_demo, tmp_path):
    pdf = built_demo / "out" / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "2", pdf, tmp_path / "p"],
                   check=True, timeout=120)
    assert sorted(p.name for p in tmp_path.glob("p-*.png"))[:1] == ["p-01.png"] or \
        sorted(p.name for p in tmp_path.glob("p-*.png"))[:1] == ["p-1.png"]
    listing = subprocess.run(["pdfdetach", "-list", pdf], check=True, capture_output=True,
                             text=True).stdout
    assert "timeline.csv" in listing and "manifest.json" in listing
    info = subprocess.run(["pdfinfo", pdf], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    seal = json.loads((built_demo / "out" / "manifest.json").read_text())["seal"]["value"]
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], check=True, capture_output=True,
                          text=True).stdout
    assert text.count(seal) >= pages   # the seal on every page


def test_the_spo_view_and_the_redacted_copy(demo_copy):
    result = run_cli("report", demo_copy, "--view", "spo", "--redact")
    assert result.exit_code == 0, result.output
    out = demo_copy / "out"
    html = (out / "report-spo-redacted.html").read_text()
    sections = re.findall(r'<section id="([a-z]+)">', html)
    assert "chronology" not in sections and "keyevents" in sections and "redaction" in sections
    for original in ("Jo Taylor", "jo.taylor@example.org", "07700 900321", "+447700900321",
                     "chrisw83"):
        assert original not in html, original
    assert "Sam Taylor" in html and "Chris Walker" in html      # the parties stay
    seal = json.loads((out / "manifest.json").read_text())["seal"]["value"]
    assert seal in html
    key = json.loads((out / "report-spo-redacted.redaction-log.json").read_text())
    assert "jo.taylor@example.org" in json.dumps(key)              # the key is kept apart
    assert not (out / "report-spo-redacted.pdf").exists()


def test_a_redacted_copy_masks_a_witness_named_in_an_order_and_in_parser_notes(demo_copy):
    toml = demo_copy / "case.toml"
    toml.write_text(toml.read_text().replace(
        '"Not to attend Sam Taylor\'s home or workplace"',
        '"Not to attend Sam Taylor\'s home or workplace",\n'
        '         "Not to contact her sister Jo Taylor (07700 900321, jo.taylor@example.org)"'))
    result = run_cli("report", demo_copy, "--redact")
    assert result.exit_code == 0, result.output
    html = (demo_copy / "out" / "report-redacted.html").read_text()
    for original in ("Jo Taylor", "jo.taylor@example.org", "07700 900321", "chrisw83", "5550001"):
        assert original not in html, original
    assert "Not to contact her sister" in html
