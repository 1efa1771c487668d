"""The demo case's chat exports: Sam's WhatsApp chat with Chris, exported from her Android phone
with its media (*Export chat* → *Attach media*), written as WhatsApp writes it.

What it shows: blocked on his number, Chris moves to WhatsApp after the order is served: a photo
of Sam's front door at night, missed calls, a message he deleted and one he edited, the
encryption notice WhatsApp puts at the top of every chat. Everything is synthetic.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

WHATSAPP = "exports/sam-whatsapp"
CHAT_FILE = "WhatsApp Chat with Chris Walker.txt"
PHOTO_FILE = "IMG-20240920-WA0003.jpg"

SOURCES_TOML = f'''
[[source]]
path = "{WHATSAPP}"
owner = "victim"
exhibit = "DEMO/7"
'''

def _png(width: int, height: int) -> bytes:
    """A small grey PNG (deterministic), standing in for the photo."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


# Saved as .jpg, as WhatsApp names pictures whatever they hold: the attachment's type is read
# from its content, not its name.
DOOR_PHOTO = _png(3, 2)

CHAT = (
    "20/09/2024, 23:10 - Messages and calls are end-to-end encrypted. No one outside of this "
    "chat, not even WhatsApp, can read or listen to them. Tap to learn more.\n"
    "20/09/2024, 23:11 - Chris Walker: You blocked my number. Did you think that would stop me?\n"
    f"20/09/2024, 23:12 - Chris Walker: \u200e{PHOTO_FILE} (file attached)\n"
    "Your front door tonight.\n"
    "20/09/2024, 23:14 - Chris Walker: Missed voice call\n"
    "20/09/2024, 23:15 - Chris Walker: Missed voice call\n"
    "21/09/2024, 07:02 - Sam Taylor: Stop. There is an order against you and I am reporting "
    "this to the police.\n"
    "21/09/2024, 07:05 - Chris Walker: This message was deleted\n"
    "21/09/2024, 07:06 - Chris Walker: You'll be sorry you did that <This message was edited>\n"
)


def write_chat_exports(folder: Path) -> None:
    target = folder / WHATSAPP
    target.mkdir(parents=True, exist_ok=True)
    (target / CHAT_FILE).write_text(CHAT, encoding="utf-8", newline="\n")
    (target / PHOTO_FILE).write_bytes(DOOR_PHOTO)
