"""The PDF report: the report's HTML rendered by WeasyPrint as PDF/A-3b, with files embedded.

``write_pdf`` renders the same HTML as ``report.html`` with WeasyPrint (``pdf_variant="pdf/a-3b"``):
PDF 1.7, an sRGB output intent, every font embedded (subset), XMP metadata naming the part
(``pdfaid:part=3``, ``conformance=B``), and the given files (``timeline.csv``, ``manifest.json``)
embedded as associated files: a ``/Filespec`` with ``/F``, ``/UF``, ``/Desc`` and
``/AFRelationship /Data``, listed in the catalogue's ``/AF`` and in its ``/EmbeddedFiles``.

Limits. WeasyPrint *writes* PDF/A but does not *validate* it, and neither does courseline: run
veraPDF on a sample before relying on the claim. Known gaps in WeasyPrint 70 that this module
mends in a finisher: the catalogue's ``/AF`` lists every attachment twice; the ``/EmbeddedFiles``
name tree is in attachment order, not sorted as the PDF standard requires; images (the colour
emoji too) carry ``/Interpolate true``, which PDF/A forbids. Not mended: a character no font has
is drawn as the font's .notdef glyph (a box), which PDF/A-2 and -3 forbid too (see
``missing_glyphs`` and ``mark_missing``).
Colour emoji (Noto Color Emoji, bitmap glyphs) are drawn as images over an embedded font whose
glyphs have no outlines; text extraction works, strict validators may object.

Rebuilding from the same input gives the same bytes: the dates (document information, XMP,
each attachment's ``/Params``, and the ``head`` table of fonts that fontTools rewrites, through
``SOURCE_DATE_EPOCH``) all come from ``created_utc``, which the caller takes from the evidence;
the first half of the file identifier is a SHA-256 of the HTML and the attachments
(the second half is WeasyPrint's MD5 of the PDF objects); nothing is fetched: ``OfflineFetcher``
refuses every URL except ``data:`` and records what it refused.

Glyphs. ``missing_glyphs`` names the characters that no installed font can show (they would be
printed as boxes), so the report can say so. Pango, under WeasyPrint, takes each character from
the first font of the CSS ``font-family`` list that has it, then from fontconfig's sorted
fallback list, which spans every installed font; the check asks fontconfig
(``fc-match -s``) for that same list with each font's character set, once per family list.
The report's CSS should list (Debian: fonts-noto-core, fonts-noto-cjk, fonts-noto-color-emoji,
fonts-dejavu-core)::

    font-family: "Noto Sans", "Noto Sans Arabic", "Noto Sans Hebrew", "Noto Sans Devanagari",
                 "Noto Sans Thai", "DejaVu Sans", "Noto Sans CJK SC", sans-serif;

Noto Sans covers Latin, Greek and Cyrillic; the script fonts come before DejaVu Sans (which has
rough Arabic and Hebrew of its own); DejaVu Sans then takes arrows, stars, ticks and box drawing
before the CJK font does. Do *not* list "Noto Color Emoji": named in the list, Pango takes digits,
``#`` and ``©`` from it; left to fontconfig's fallback it still draws every emoji in colour.
"""

from __future__ import annotations

import gc
import hashlib
import os
import shutil
import subprocess
import unicodedata
from bisect import bisect_right
from collections.abc import Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from courseline import __version__

#: The report's font-family list (see the module docstring), as CSS and as names.
REPORT_FONTS: tuple[str, ...] = (
    "Noto Sans", "Noto Sans Arabic", "Noto Sans Hebrew", "Noto Sans Devanagari", "Noto Sans Thai",
    "DejaVu Sans", "Noto Sans CJK SC", "sans-serif")
REPORT_FONT_CSS = "font-family: " + ", ".join(
    name if name == "sans-serif" else f'"{name}"' for name in REPORT_FONTS) + ";"

#: How each attachment is related to the report (ISO 32000-2, 7.11.3): the data it is drawn from.
RELATIONSHIP = "Data"
DESCRIPTIONS = {
    "timeline.csv": "The evidence timeline, one row per event, as sealed",
    "manifest.json": "The manifest: sources, exhibits, hashes and the seal",
}


class NetworkRefused(ValueError):
    """A resource was asked for by URL; the report is made without the network or other files."""


@dataclass(frozen=True)
class PdfResult:
    path: Path
    sha256: str
    pages: int
    #: Characters no installed font can show, with how often each appears; None if not checked.
    missing_glyphs: dict[str, int] | None
    #: URLs the document asked for and was refused (images, style sheets, fonts, links).
    refused_urls: tuple[str, ...] = field(default=())


def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher

    class OfflineFetcher(URLFetcher):
        """Fetches ``data:`` URIs and nothing else; every other URL is recorded and refused."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data",), allow_redirects=False)
            self.asked: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            self.asked.append(url)
            if url[:5].lower() != "data:":
                self.refused.append(url)
                raise NetworkRefused(f"courseline fetches nothing for the PDF; refused {url!r}")
            return super().fetch(url, headers)

    return OfflineFetcher


def offline_fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves ``data:`` URIs only (see ``.asked``, ``.refused``)."""
    return _fetcher_class()()


def utc_timestamp(created_utc: str) -> datetime:
    """``created_utc`` ("2024-10-01T12:00:00Z") as an aware UTC datetime, to the second."""
    moment = datetime.fromisoformat(created_utc)
    if moment.tzinfo is None:
        raise ValueError(f"created_utc needs a UTC offset or Z: {created_utc!r}")
    return moment.astimezone(UTC).replace(microsecond=0)


def document_identifier(html: str, attachments: Sequence[tuple[str, bytes]]) -> bytes:
    """The PDF's permanent identifier: 32 hex digits of a SHA-256 of the HTML and the files."""
    digest = hashlib.sha256()
    for part in (html.encode("utf-8"), *(p for name, data in attachments
                                        for p in (name.encode("utf-8"), data))):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:32].encode("ascii")


def _finish(document: Any, pdf: Any) -> None:
    """Mend WeasyPrint 70's PDF/A-3 output: /AF without repeats, /EmbeddedFiles names sorted,
    and no image asking to be interpolated (PDF/A-2 and -3, 6.2.8: ``/Interpolate`` must be
    false; WeasyPrint sets it true for ``image-rendering: auto``, colour emoji included)."""
    catalog = pdf.catalog
    if "AF" in catalog:
        unique = list(dict.fromkeys(catalog["AF"]))
        catalog["AF"].clear()
        catalog["AF"].extend(unique)
    if "Names" in catalog and "EmbeddedFiles" in catalog["Names"]:
        names = pdf.objects[int(catalog["Names"]["EmbeddedFiles"].split()[0])]["Names"]
        pairs = sorted(zip(names[::2], names[1::2]), key=lambda pair: _name_key(pair[0]))
        names[:] = [item for pair in pairs for item in pair]
    for pdf_object in pdf.objects:
        extra = getattr(pdf_object, "extra", None)
        if isinstance(extra, dict) and extra.get("Subtype") == "/Image" and "Interpolate" in extra:
            extra["Interpolate"] = "false"


def _name_key(name: Any) -> bytes:
    value = name.string
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


@contextmanager
def _source_date_epoch(moment: datetime) -> Iterator[None]:
    """fontTools stamps the fonts it rewrites (colour emoji stripped of their bitmaps, instances
    of variable fonts) with the current time unless ``SOURCE_DATE_EPOCH`` is set: set it, for a
    while, to the report's time. (It is process-wide: do not render PDFs in parallel threads.)"""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(moment.timestamp()))
    try:
        yield
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def _atomic_write(target: Path, data: bytes) -> None:
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, target)


def write_pdf(html: str, target: Path, *, attachments: Sequence[Path], title: str, created_utc: str,
              base_url: Path | None = None) -> PdfResult:
    """Render ``html`` to ``target`` as PDF/A-3b with ``attachments`` embedded, reproducibly.

    ``created_utc`` gives every date in the file. ``base_url`` only resolves relative URLs; they,
    like all URLs but ``data:``, are refused and listed in the result's ``refused_urls``.
    The file is written as ``<target>.partial`` and then renamed.
    """
    from weasyprint import HTML

    moment = utc_timestamp(created_utc)
    files = [(Path(path).name, Path(path).read_bytes()) for path in attachments]
    if len({name for name, _ in files}) != len(files):
        raise ValueError("attachments need distinct file names")
    fetcher = offline_fetcher()
    with _source_date_epoch(moment), _without_cycle_collection():
        document = HTML(string=html, base_url=str(base_url) if base_url else None,
                        url_fetcher=fetcher, media_type="print").render()
        _set_metadata(document.metadata, title, moment)
        pdf = document.write_pdf(None, finisher=_finish, pdf_variant="pdf/a-3b",
                                 attachments=_attachments(files, moment),
                                 pdf_identifier=document_identifier(html, files))
    target = Path(target)
    _atomic_write(target, pdf)
    try:
        missing: dict[str, int] | None = missing_glyphs_in_document(document)
    except (FileNotFoundError, subprocess.CalledProcessError):  # fontconfig's fc-match: none, or failing
        missing = None
    return PdfResult(path=target, sha256=hashlib.sha256(pdf).hexdigest(), pages=len(document.pages),
                     missing_glyphs=missing, refused_urls=tuple(dict.fromkeys(fetcher.refused)))


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while WeasyPrint lays out: it makes millions of boxes that
    live until the document is written, and the collector walks them all again and again (a
    fifth of the time of a 10,000-event appendix), finding nothing to free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _set_metadata(metadata: Any, title: str, moment: datetime) -> None:
    """Title, creator and both dates, for the document information and the XMP alike."""
    metadata.title = title
    metadata.generator = f"courseline {__version__}"
    metadata.created = metadata.modified = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata.attachments = []  # <link rel=attachment> in the HTML: only our files are embedded


def _attachments(files: Sequence[tuple[str, bytes]], moment: datetime) -> list[Any]:
    """WeasyPrint attachments with fixed dates (else: the file's ctime, or now) and a relationship
    (else: /Unspecified); the description names the file's SHA-256."""
    from weasyprint import Attachment

    return [Attachment(string=data, name=name, created=moment, modified=moment,
                       relationship=RELATIONSHIP,
                       description=f"{DESCRIPTIONS.get(name, 'Attached file')}; SHA-256 "
                                   f"{hashlib.sha256(data).hexdigest()}")
            for name, data in files]


# --- Glyphs -------------------------------------------------------------------------------------

#: Characters Pango sets without a glyph of their own, so never shown as a box: HTML's white
#: space, space separators (HarfBuzz makes them from U+0020 when a font lacks them: U+202F is
#: drawn as a narrow space), the paragraph separator, and the default-ignorable format characters
#: and variation selectors (LRM, RLM, ZWJ, soft hyphen, BOM, tags, VS16).
_HTML_SPACE = frozenset("\t\n\f\r")
_IGNORABLE_MARKS = frozenset((0x034F, 0x17B4, 0x17B5, *range(0x180B, 0x1810),
                              *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)))
#: Format characters that are drawn all the same: boxes for the interlinear annotation marks,
#: glyphs for the Arabic number signs and the like.
_DRAWN_FORMAT = frozenset((*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2,
                           0x110BD, 0x110CD, 0xFFF9, 0xFFFA, 0xFFFB))


def is_drawn(char: str) -> bool:
    """Whether ``char`` needs a glyph. Other controls (U+0007, U+0085...) and U+2028 do: Pango
    shows them as boxes."""
    code = ord(char)
    if char in _HTML_SPACE or code in _IGNORABLE_MARKS:
        return False
    category = unicodedata.category(char)
    if category == "Cf":
        return code in _DRAWN_FORMAT
    return category not in ("Zs", "Zp")


def _fontconfig_pattern(families: Iterable[str]) -> str:
    escaped = ("".join("\\" + c if c in "\\-:," else c for c in family) for family in families)
    return ",".join(escaped)


@lru_cache(maxsize=32)
def _coverage(families: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """Merged code-point ranges (starts, ends) of the fonts fontconfig offers for ``families``:
    the listed families first, then its fallbacks, as Pango uses them."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        raise FileNotFoundError("fc-match (fontconfig) is not installed")
    listing = subprocess.run(
        [fc_match, "--sort", "--format", "%{scalable}\t%{charset}\n",
         _fontconfig_pattern(families) or "sans-serif"],
        capture_output=True, text=True, check=True).stdout
    ranges = []
    for line in listing.splitlines():
        scalable, _, charset = line.partition("\t")
        if scalable != "True":
            continue
        for item in charset.split():
            first, _, last = item.partition("-")
            ranges.append((int(first, 16), int(last or first, 16)))
    ranges.sort()
    starts: list[int] = []
    ends: list[int] = []
    for first, last in ranges:
        if ends and first <= ends[-1] + 1:
            ends[-1] = max(ends[-1], last)
        else:
            starts.append(first)
            ends.append(last)
    return starts, ends


def _covered(code: int, coverage: tuple[list[int], list[int]]) -> bool:
    starts, ends = coverage
    index = bisect_right(starts, code) - 1
    return index >= 0 and code <= ends[index]


def missing_glyphs(text: str, families: Sequence[str] = REPORT_FONTS) -> dict[str, int]:
    """The drawn characters of ``text`` that no font for ``families`` (the CSS font-family list)
    nor any of fontconfig's fallbacks has, each with its number of occurrences, in code-point
    order. Works on the distinct characters, so a large text costs little more than ``set(text)``.
    Raises ``FileNotFoundError`` without fontconfig's ``fc-match``.

    To warn inside the PDF itself, check before rendering, on the report's HTML (its tags and CSS
    are ASCII): ``missing_glyphs(html.unescape(page))``, then ``describe_missing`` or
    ``mark_missing``.
    """
    coverage = _coverage(tuple(families))
    missing = sorted(c for c in set(text) if is_drawn(c) and not _covered(ord(c), coverage))
    return {char: text.count(char) for char in missing}


def missing_glyphs_in_document(document: Any) -> dict[str, int]:
    """``missing_glyphs`` over the text a rendered WeasyPrint document draws (page margins too),
    each piece checked against its own font-family list."""
    from weasyprint.formatting_structure.boxes import TextBox

    by_families: dict[tuple[str, ...], list[str]] = {}
    for page in document.pages:
        for box in page._page_box.descendants():
            if isinstance(box, TextBox):
                by_families.setdefault(tuple(box.style["font_family"]), []).append(box.text)
    counts: dict[str, int] = {}
    for families, texts in by_families.items():
        for char, count in missing_glyphs("".join(texts), families).items():
            counts[char] = counts.get(char, 0) + count
    return dict(sorted(counts.items()))


def mark_missing(text: str, missing: Container[str]) -> str:
    """``text`` with each character of ``missing`` spelt out as ``[U+E000]``. Worth doing before
    rendering: a box is the font's .notdef glyph, which PDF/A-2 and -3 forbid in text."""
    return text.translate({ord(c): f"[U+{ord(c):04X}]" for c in missing})


def describe_missing(missing: dict[str, int]) -> list[dict[str, Any]]:
    """For the report's warning: code ("U+E000"), Unicode name (or "<private use>") and count of
    each character shown as a box."""
    return [{"code": f"U+{ord(c):04X}", "name": unicodedata.name(c, f"<{_category_name(c)}>"),
             "count": n} for c, n in missing.items()]


def _category_name(char: str) -> str:
    return {"Co": "private use", "Cn": "unassigned", "Cs": "surrogate", "Cc": "control"}.get(
        unicodedata.category(char), "unnamed")
