"""Decoding the head of a text export (call-log CSVs, WhatsApp chats) to recognise it; the
byte-order marks themselves are told apart in :mod:`courseline.collectors.identify`.

Exports are UTF-8, except where a tool on the way re-saved them: Excel writes UTF-16 with a
byte-order mark ("Unicode text"), and Windows editors offer it too. A file is never taken for
UTF-16 without its byte-order mark (nothing in an export says so otherwise).
"""

from __future__ import annotations

import codecs

from courseline.collectors.identify import bom_codec


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
