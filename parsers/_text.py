"""Decoding the text files of exports (call-log CSVs, WhatsApp chats): one way to tell their
encoding from their first bytes.

Exports are UTF-8, except where a tool on the way re-saved them: Excel writes UTF-16 with a
byte-order mark ("Unicode text"), and Windows editors offer it too. A file is never taken for
UTF-16 without its byte-order mark (nothing in an export says so otherwise).
"""

from __future__ import annotations

import codecs

UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def bom_codec(first: bytes) -> str | None:
    """The codec a file's byte-order mark names (UTF-32, UTF-16 or UTF-8, each skipping the mark),
    or None when it has none. UTF-32's little-endian mark starts with UTF-16's, so it is
    looked for first."""
    if first.startswith(UTF32_BOMS):
        return "utf-32"
    if first.startswith(UTF16_BOMS):
        return "utf-16"
    if first.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    return None


def head_text(head: bytes) -> str | None:
    """The head of a file as text: by its byte-order mark when it has one, else UTF-8, else
    cp1252. None when it is not text (NUL bytes in an 8-bit head)."""
    codec = bom_codec(head)
    if codec in ("utf-16", "utf-32"):
        return codecs.getincrementaldecoder(codec)(errors="replace").decode(head)
    if b"\x00" in head:
        return None
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        return head.decode("cp1252", errors="replace")
