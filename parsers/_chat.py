"""What the parsers of chat and social-media exports share: the files of an export hashed as
attachments, the typographic characters exports scatter through their text, and the small
values they keep in details.

* :func:`related_attachment`: a file of the same export, found through ``source.related`` and
  hashed as it is read (:func:`hashed_file`: one pass, memory bounded whatever its size, typed by
  its first bytes), with the words every parser uses when it is not there or cannot be read.
  Where a name written in an export may lead (no ``..``, no absolute path, no URL) is each
  format's own rule and stays in its parser (:func:`followable` is the rule of formats that name
  a plain file beside the record); the core's ``related`` never leaves the export either.
* :data:`SPACES` and :data:`INVISIBLE`: translation tables for the spaces (U+202F before AM/PM,
  no-break and thin spaces) and the direction marks, isolates and zero-width characters that
  exports write around dates and names. They are the parsers' own: the identity normaliser
  (``timeline/identity.py``) has a wider table for matching identifiers, which must not decide
  what a parser reads.
* :func:`flagged_text`, :func:`platform_id` and :func:`detail_value`: untrusted text bounded
  (the event flagged ``truncated`` when it was cut), a platform's account id as text, and a JSON
  value fit for an event's details.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from courseline.parsers import SourceFile, hashed_pieces
from courseline.timeline.event import Attachment, bounded, clean_text

HASH_CHUNK_BYTES = 1024 * 1024
HASHED = "hashed"
NOT_IN_EXPORT = "not in the export"

# Spaces exports write inside dates and names (U+202F before AM/PM since 2023, NBSP, figure and
# thin spaces), read as a plain space.
SPACES = dict.fromkeys(map(ord, "\u202f\u00a0\u2007\u2009"), " ")
# Marks exports scatter through lines (byte order mark, direction marks, zero-width space,
# embeddings, overrides and isolates), removed where a header or a name is read.
INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200e\u200f\u200b\u202a\u202b\u202c\u202d\u202e"
                               "\u2066\u2067\u2068\u2069"), None)


# -- files of the export ---------------------------------------------------------------------------

def hashed_file(path: Path, name: str | None) -> Attachment:
    """An attachment that is a file of the export: hashed as it is read (one pass, memory bounded
    whatever its size) and typed by its first bytes. Raises OSError when it cannot be read."""
    with Path(path).open("rb") as handle:
        return hashed_pieces(name, iter(lambda: handle.read(HASH_CHUNK_BYTES), b""))


def followable(name: str) -> bool:
    """Whether a file name written in an export may be looked up beside it: a plain name, not a
    path (absolute, climbing out with ``..``, or into another folder) nor a URL. For formats that
    name their files beside the record (Google Takeout's Chat and Voice)."""
    return (bool(name) and name not in (".", "..")
            and not any(mark in name for mark in ("/", "\\", "\x00"))
            and re.match(r"[A-Za-z]:", name) is None)


def related_attachment(source: SourceFile, relative: str, name: str | None
                       ) -> tuple[Attachment | None, str]:
    """The file at ``relative`` (to the source's folder) in the same export, hashed, and
    :data:`HASHED`; or None and why not: :data:`NOT_IN_EXPORT`, or that it is in the export but
    could not be read. The caller has checked that ``relative`` is a path its format allows."""
    path = source.related(relative)
    if path is None:
        return None, NOT_IN_EXPORT
    try:
        return hashed_file(path, name), HASHED
    except OSError as error:
        return None, f"in the export but could not be read ({type(error).__name__})"


# -- small values ----------------------------------------------------------------------------------

def flagged_text(text: str, limit: int, flags: list[str]) -> str:
    """Untrusted text for an event: lone surrogates replaced, cut to ``limit`` characters, and
    the event flagged ``truncated`` (once) when it was cut. Callers pass their module's limit
    (``MAX_TEXT_CHARS`` for a message's text), read when called."""
    kept, cut = bounded(clean_text(text), limit)
    if cut and "truncated" not in flags:
        flags.append("truncated")
    return kept or ""


def platform_id(value: Any) -> str | None:
    """A platform's numeric account or message id as text: ids are strings in most exports, a
    bare number is accepted; anything else (a boolean, an object, blank) is no id."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return bounded(value.strip(), 100)[0]
    return None


def detail_value(value: Any, sort_keys: bool = False) -> Any:
    """A value of the export fit for details: strings bounded, plain scalars as they are, and
    anything else (a list, an object, a float) as bounded JSON text."""
    if isinstance(value, str):
        return bounded(clean_text(value))[0]
    if isinstance(value, (bool, int)) or value is None:
        return value
    return bounded(clean_text(json.dumps(value, ensure_ascii=False, sort_keys=sort_keys,
                                         default=str)))[0]


__all__ = [
    "HASHED",
    "INVISIBLE",
    "NOT_IN_EXPORT",
    "SPACES",
    "detail_value",
    "flagged_text",
    "followable",
    "hashed_file",
    "platform_id",
    "related_attachment",
]
