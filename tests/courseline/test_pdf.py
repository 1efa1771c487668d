"""The PDF report: PDF/A-3b with embedded files, the same bytes on a rebuild, no network, and a
report of the characters no font can show."""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from courseline.pdf import (
    REPORT_FONT_CSS,
    REPORT_FONTS,
    NetworkRefused,
    _fontconfig_pattern,
    describe_missing,
    document_identifier,
    is_drawn,
    mark_missing,
    missing_glyphs,
    offline_fetcher,
    utc_timestamp,
    write_pdf,
)

CREATED = "2024-10-01T12:00:00Z"
REMOTE = "http://example.org/x.png"
PUA = "\ue000"
ARABIC, DEVANAGARI, CJK, GREEK, EMOJI = "مرحبا بالعالم", "नमस्ते", "你好世界", "Καλημέρα", "😀"
TEXT = f"Latin café {GREEK} {ARABIC} {DEVANAGARI} {CJK} {EMOJI} private{PUA}use"
HTML = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>from the HTML</title>
<meta name="dcterms.created" content="1999-01-01T00:00:00Z">
<style>@page {{ size: A4 landscape; margin: 12mm; @bottom-center {{ content: "page " counter(page) }} }}
html {{ {REPORT_FONT_CSS} font-size: 12pt; }}</style></head>
<body><h1>Chronology</h1><p>{TEXT}</p><p>Emoji sequence: 👍🏽 ❤️ 🇬🇧, marks: \u200e\u200f\u202f\u200d</p>
<img src="{REMOTE}" alt=""></body></html>"""

needs_poppler = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pdfinfo", "pdftoppm", "pdfdetach", "pdffonts")),
    reason="poppler-utils (pdfinfo, pdftoppm, pdfdetach, pdffonts) is not installed")
needs_fontconfig = pytest.mark.skipif(shutil.which("fc-match") is None,
                                      reason="fontconfig's fc-match is not installed")


def _run(*command: object) -> str:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          check=True).stdout


def _write_case(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    timeline = folder / "timeline.csv"
    timeline.write_bytes("occurred_utc,kind,text\n2024-09-30T08:00:00Z,sms,مرحبا\n".encode())
    manifest = folder / "manifest.json"
    manifest.write_bytes(b'{"seal": {"value": "ab12"}}\n')
    return [timeline, manifest]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> SimpleNamespace:
    """The document written twice: the second time with the clock a year on and the network
    forbidden at the socket, to show that neither the time nor a fetch gets into the file."""
    folder = tmp_path_factory.mktemp("pdf")
    attachments = _write_case(folder / "out")
    first = write_pdf(HTML, folder / "one.pdf", attachments=attachments, title="Case X report",
                      created_utc=CREATED)
    connections: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        connections.append(args)
        raise OSError("network forbidden in this test")

    real_time = time.time
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        patch.setattr(time, "time", lambda: real_time() + 366 * 86400)
        second = write_pdf(HTML, folder / "two.pdf", attachments=attachments, title="Case X report",
                           created_utc=CREATED)
    return SimpleNamespace(folder=folder, attachments=attachments, first=first, second=second,
                           connections=connections, data=first.path.read_bytes())


def _pdf_text(data: bytes) -> bytes:
    """The PDF with its compressed streams (object streams included) inflated, for searching."""
    parts = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            pass
    return b"\n".join(parts)


def test_the_pdf_is_written_atomically_and_the_same_bytes_again(built):
    assert built.first.path.exists() and not list(built.folder.glob("*.partial"))
    assert built.data[:8] == b"%PDF-1.7"
    assert built.second.path.read_bytes() == built.data
    assert built.first.sha256 == built.second.sha256
    assert built.first.pages == 1


def test_a_rebuild_in_another_process_with_another_hash_seed_gives_the_same_bytes(built, tmp_path):
    script = ("import sys; from pathlib import Path; from courseline.pdf import write_pdf; "
              "sys.stdout.write(write_pdf(sys.stdin.read(), Path(sys.argv[1]), "
              "attachments=[Path(a) for a in sys.argv[2:]], title='Case X report', "
              f"created_utc={CREATED!r}).sha256)")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    env.pop("SOURCE_DATE_EPOCH", None)
    command = [sys.executable, "-c", script, tmp_path / "other.pdf", *built.attachments]
    result = subprocess.run(command, input=HTML, capture_output=True, text=True, env=env, check=True)
    assert result.stdout == built.first.sha256


def test_the_dates_title_and_identifier_come_from_the_caller(built):
    text = _pdf_text(built.data)
    assert text.count(b"(D:20241001120000Z)") >= 4  # info: 2; each attachment's /Params: 2
    assert b"<xmp:CreateDate>2024-10-01T12:00:00Z</xmp:CreateDate>" in text
    assert b"<xmp:ModifyDate>2024-10-01T12:00:00Z</xmp:ModifyDate>" in text
    assert b"1999-01-01" not in text and b"D:1999" not in text and b"from the HTML" not in text
    assert b"Case X report" in text
    files = [(path.name, path.read_bytes()) for path in built.attachments]
    assert b"/ID [(" + document_identifier(HTML, files) + b") (" in text
    assert "SOURCE_DATE_EPOCH" not in os.environ


@needs_poppler
def test_pdfinfo_sees_a_pdf_a_3b_document(built):
    info = _run("pdfinfo", built.first.path)
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE)
    assert re.search(r"^Title:\s+Case X report$", info, re.MULTILINE)
    assert re.search(r"^CreationDate:\s+Tue Oct  1 12:00:00 2024 UTC$", info, re.MULTILINE)
    assert re.search(r"^PDF version:\s+1.7$", info, re.MULTILINE)
    xmp = _run("pdfinfo", "-meta", built.first.path)
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert "GTS_PDFA1" in _pdf_text(built.data).decode("latin-1")


@needs_poppler
def test_every_script_is_drawn_from_an_embedded_font_and_page_one_renders(built, tmp_path):
    fonts = _run("pdffonts", built.first.path)
    rows = fonts.splitlines()[2:]
    assert rows and all(" yes yes yes " in row for row in rows), fonts  # embedded, subset, unicode
    for family in ("Noto-Sans-Arabic", "Noto-Sans-Devanagari", "Noto-Sans-CJK-SC",
                   "Noto-Color-Emoji"):
        if _run("fc-list", family.replace("-", " ")).strip():
            assert family in fonts
    _run("pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", built.first.path, tmp_path / "page")
    png = next(tmp_path.glob("page*.png"))
    assert png.stat().st_size > 1000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    with Image.open(png) as image:  # the emoji is drawn in colour: some pixels are not grey
        assert image.convert("RGB").convert("HSV").getchannel("S").getextrema()[1] > 150


@needs_poppler
def test_the_timeline_and_manifest_are_embedded_as_associated_data(built, tmp_path):
    listing = _run("pdfdetach", "-list", built.first.path)
    assert "2 embedded files" in listing
    assert "timeline.csv" in listing and "manifest.json" in listing
    saved = tmp_path / "detached"
    saved.mkdir()
    subprocess.run(["pdfdetach", "-saveall", str(built.first.path)], cwd=saved, check=True)
    for original in built.attachments:
        assert (saved / original.name).read_bytes() == original.read_bytes()
    text = _pdf_text(built.data)
    assert text.count(b"/AFRelationship /Data") == 2
    assert b"/Subtype /text#2fcsv" in text and b"/Subtype /application#2fjson" in text
    catalog = re.search(rb"/Type /Catalog.*?/AF \[([^\]]*)\]", text, re.DOTALL)
    references = [ref.strip() for ref in catalog.group(1).split(b" R") if ref.strip()]
    assert len(references) == len(set(references)) == 2  # WeasyPrint 70 lists each twice
    names = re.search(rb"<</Names \[\((.*?)\) \d+ 0 R \((.*?)\) \d+ 0 R\]>>", text).groups()
    assert names == (b"manifest.json", b"timeline.csv")  # a name tree is sorted
    assert b"SHA-256 " in text  # in each attachment's /Desc


def test_no_image_asks_to_be_interpolated(built):
    text = _pdf_text(built.data)
    assert b"/Subtype /Image" in text  # the colour emoji are drawn as images
    assert b"/Interpolate true" not in text  # PDF/A forbids it; WeasyPrint 70 writes it


def test_a_remote_image_is_refused_not_fetched(built):
    assert built.first.refused_urls == built.second.refused_urls == (REMOTE,)
    assert built.connections == []
    assert built.first.pages == 1


def test_the_fetcher_serves_data_uris_only():
    fetcher = offline_fetcher()
    with pytest.raises(NetworkRefused):
        fetcher.fetch("https://example.org/font.woff2")
    with pytest.raises(NetworkRefused):
        fetcher.fetch("file:///etc/passwd")
    response = fetcher.fetch("data:text/plain;base64,aGk=")
    assert response.read() == b"hi"
    assert fetcher.refused == ["https://example.org/font.woff2", "file:///etc/passwd"]
    assert len(fetcher.asked) == 3


@needs_fontconfig
def test_the_glyph_report_names_the_private_use_character_only(built):
    assert built.first.missing_glyphs == {PUA: 1}
    assert describe_missing(built.first.missing_glyphs) == [
        {"code": "U+E000", "name": "<private use>", "count": 1}]
    assert missing_glyphs(html.unescape(HTML)) == {PUA: 1}  # before rendering, from the HTML


@needs_fontconfig
def test_missing_glyphs_counts_characters_no_font_has():
    text = TEXT * 3 + "\u0378\x07 \u200e\u200f\u200d\u202f\ufe0f\t\n"
    missing = missing_glyphs(text, REPORT_FONTS)
    assert missing == {"\x07": 1, "\u0378": 1, PUA: 3}  # a BEL is drawn as a box; U+0378 unassigned
    assert missing_glyphs(ARABIC + CJK + EMOJI + GREEK + DEVANAGARI, ("DejaVu Sans",)) == {}


def test_which_characters_are_drawn():
    assert not any(map(is_drawn, "\u200e\u200f\u200d\u00ad\ufeff\ufe0f\u202f \t\n\U000e0041"))
    assert all(map(is_drawn, "a\x07\u2028\u0600\ufff9" + PUA))
    assert mark_missing("a\ue000b", {PUA}) == "a[U+E000]b"


def test_small_helpers():
    assert _fontconfig_pattern(["Noto Sans", "sans-serif"]) == "Noto Sans,sans\\-serif"
    assert utc_timestamp("2024-10-01T13:00:00.5+01:00").isoformat() == "2024-10-01T12:00:00+00:00"
    with pytest.raises(ValueError):
        utc_timestamp("2024-10-01T12:00:00")
    assert REPORT_FONT_CSS.startswith('font-family: "Noto Sans", ')
    assert "Emoji" not in REPORT_FONT_CSS
