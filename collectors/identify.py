"""Identifying a file by its content, not its name.

libmagic gives the media type; the head of the file is kept so that parsers can apply their own
sniffers where libmagic is vague (it calls an mbox ``text/plain`` and some e-mails
``application/octet-stream``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import magic

HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Sample:
    """What is known about a file before any parser reads it."""

    media_type: str   # from libmagic, e.g. "message/rfc822", "text/plain"
    head: bytes       # the first HEAD_BYTES bytes
    name: str         # the file name in the export (last path component)
    size: int


def media_type_of(head: bytes) -> str:
    if not head:
        return "application/x-empty"
    return magic.from_buffer(head, mime=True) or "application/octet-stream"


def magic_version() -> str:
    """The libmagic release that identified the files, e.g. "5.44"."""
    number = magic.version()
    return f"{number // 100}.{number % 100:02d}"


def sample_file(path: Path, name: str | None = None) -> Sample:
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    return Sample(media_type=media_type_of(head), head=head, name=name or path.name, size=size)
