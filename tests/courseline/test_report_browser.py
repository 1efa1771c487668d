"""The HTML report in a real browser: Debian's Chromium, headless, driven by Playwright.

The page must open from the file with no console error, no request for anything but itself, and
a chronology whose pager, filter and links work. ``.ci/run`` installs Chromium; elsewhere the
tests are skipped with the reason.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is a test extra")
expect = playwright.expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed (.ci/run installs it)")
# Playwright's checks run in their own world: the page's policy, which forbids eval, stays on.
# The flags keep Chromium from reaching for Google's services at start-up: this machine has no
# network, and the test must see only the report's own requests.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


class Watched:
    """A page with its console messages, page errors and requests recorded."""

    def __init__(self, browser, path: Path):
        self.page = browser.new_page()
        self.console: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)

    def rows(self) -> list[str]:
        return self.page.locator("#chronology-body tr").evaluate_all("rs => rs.map(r => r.id)")


def test_the_report_opens_with_no_error_and_no_request(browser, built_demo):
    watched = Watched(browser, built_demo / "out" / "report.html")
    assert watched.errors == []
    assert [m for m in watched.console if m.startswith(("error", "warning"))] == []
    assert watched.requests == [watched.url]
    assert len(watched.rows()) > 0
    watched.page.close()


def test_the_chronology_pages_and_filters(browser, built_demo):
    rows = [json.loads(line) for line in (built_demo / "out" / "timeline.jsonl").open()]
    watched = Watched(browser, built_demo / "out" / "report.html")
    page = watched.page
    first = watched.rows()
    assert first[0] == f"e-{rows[0]['event_id']}" and len(first) == min(100, len(rows))
    assert f"of {len(rows)} matching" in page.locator("#f-count").inner_text()

    page.fill("#f-text", "piece of paper")
    expect(page.locator("#f-count")).to_contain_text(" of 1 matching")
    wanted = next(r for r in rows if "piece of paper" in (r["text"] or ""))
    assert watched.rows() == [f"e-{wanted['event_id']}"]

    page.fill("#f-text", "")
    page.select_option("#f-platform", "whatsapp")
    expect(page.locator("#f-count")).not_to_contain_text(" of 1 matching")
    whatsapp = [f"e-{r['event_id']}" for r in rows if r["platform"] == "whatsapp"]
    assert watched.rows() == whatsapp

    page.select_option("#f-platform", "")
    page.check("#f-marked")
    annotated = {json.loads(line)["event_id"] for line in (built_demo / "annotations.jsonl").open()}
    assert set(watched.rows()) == {f"e-{event_id}" for event_id in annotated}
    assert watched.errors == [] and watched.requests == [watched.url]
    page.close()


def test_a_link_to_an_event_opens_its_page_even_when_filtered_out(browser, built_demo):
    watched = Watched(browser, built_demo / "out" / "report.html")
    page = watched.page
    page.fill("#f-text", "no such words anywhere")
    expect(page.locator("#f-count")).to_contain_text(" of 0 matching")
    breach = json.loads((built_demo / "out" / "conduct.json").read_text())["breaches"][0]
    page.locator(f"#orders a[href='#e-{breach['event_id']}']").first.click()
    page.wait_for_selector(f"#e-{breach['event_id']}")
    assert f"e-{breach['event_id']}" in watched.rows()
    assert page.input_value("#f-text") == ""      # the filter that hid it was cleared
    assert watched.errors == [] and watched.requests == [watched.url]
    page.close()


def test_message_text_cannot_run_script_in_the_page(browser, built_demo):
    watched = Watched(browser, built_demo / "out" / "report.html")
    page = watched.page
    page.fill("#f-text", "alert(")
    expect(page.locator("#f-count")).to_contain_text(" of 1 matching")
    cell = page.locator("#chronology-body .text").first.inner_text()
    assert "<script>alert('x')</script>" in cell      # shown as text
    assert page.locator("#chronology-body script").count() == 0
    assert watched.errors == []
    page.close()


def _write_mbox(path: Path, messages: int) -> None:
    lines = []
    for n in range(messages):
        lines += [f"From x@example.net Mon Sep 02 10:{n // 60:02d}:{n % 60:02d} 2024",
                  "From: x@example.net", "To: a@example.org", f"Subject: message {n}",
                  f"Date: Mon, 02 Sep 2024 10:{n // 60:02d}:{n % 60:02d} +0000",
                  f"Message-ID: <m{n}@example.net>", "", f"Where are you? ({n})", ""]
    path.write_text("\n".join(lines) + "\n")


def test_a_long_chronology_is_paged(browser, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    _write_mbox(exports / "mail.mbox", 250)
    case = tmp_path / "case"
    from tests_support import run_cli

    result = run_cli("run", exports, "--case", case, "--victim", "email:a@example.org",
                     "--suspect", "email:x@example.net")
    assert result.exit_code == 0, result.output
    watched = Watched(browser, case / "out" / "report.html")
    page = watched.page
    ids = [f"e-{json.loads(line)['event_id']}" for line in (case / "out" / "timeline.jsonl").open()]
    assert len(ids) == 250
    assert watched.rows() == ids[:100]
    expect(page.locator("#f-count")).to_contain_text("showing 1–100 of 250 matching")
    page.locator("#pager-top button", has_text="next").click()
    assert watched.rows() == ids[100:200]
    page.locator("#pager-bottom button", has_text="last").click()
    assert watched.rows() == ids[200:]
    expect(page.locator("#pager-top")).to_contain_text("page 3 of 3")
    page.fill("#f-text", "(7)")
    expect(page.locator("#f-count")).to_contain_text(" of 1 matching")
    assert watched.errors == [] and watched.requests == [watched.url]
    page.close()
