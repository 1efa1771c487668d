"""The demo case's chat and social-media exports, each written as the app writes it:

* Sam's WhatsApp chat with Chris, exported from her Android phone with its media: blocked on his
  number, Chris moves to WhatsApp after the order is served (a photo of Sam's front door at
  night, missed calls, a message he deleted and one he edited, a message in the hour the clocks
  go back, which happened twice);
* Sam's Instagram download: a follow request and messages from a new account, "chris.w.83",
  that nothing yet ties to Chris (it shows up among the unknown identifiers), with Meta's
  garbled accents (mojibake) to repair;
* Sam's Telegram Desktop export: Chris, under his Telegram id, writing and calling;
* Jo's Signal chat with Chris, exported from her computer, and her Facebook Messenger thread
  with him: indirect contact (stalking by proxy).

Everything is synthetic.
"""

from __future__ import annotations

import json
import struct
import zlib
from datetime import datetime
from pathlib import Path

WHATSAPP = "exports/sam-whatsapp"
CHAT_FILE = "WhatsApp Chat with Chris Walker.txt"
PHOTO_FILE = "IMG-20240920-WA0003.jpg"

INSTAGRAM = "exports/sam-instagram"
TELEGRAM = "exports/sam-telegram"
SIGNAL = "exports/jo-signal"
FACEBOOK = "exports/jo-facebook"

SOURCES_TOML = f'''
[[source]]
path = "{WHATSAPP}"
owner = "victim"
exhibit = "DEMO/7"

[[source]]
path = "{INSTAGRAM}"
owner = "victim"
exhibit = "DEMO/8"

[[source]]
path = "{TELEGRAM}"
owner = "victim"
exhibit = "DEMO/9"

[[source]]
path = "{SIGNAL}"
owner = "sister"
exhibit = "DEMO/10"

[[source]]
path = "{FACEBOOK}"
owner = "sister"
exhibit = "DEMO/11"
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
    # The night the clocks go back: 01:30 happens twice (BST, then GMT), and is flagged.
    "27/10/2024, 01:30 - Chris Walker: Clocks go back tonight. An extra hour outside yours.\n"
    "27/10/2024, 02:10 - Chris Walker: Missed voice call\n"
)


def _unix_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _mojibake(text: str) -> str:
    """How Meta writes non-ASCII text: each UTF-8 byte as a character of its own."""
    return text.encode("utf-8").decode("latin-1")


def _instagram_messages() -> dict:
    chris, sam = "chris.w.83", "Sam Taylor"
    said = [("2024-10-03T21:40:00+01:00", chris, "Found you here too ❤️"),
            ("2024-10-03T21:41:30+01:00", chris, "Don't block this one, café girl."),
            ("2024-10-04T08:15:00+01:00", sam, "Leave me alone. I'm reporting this account.")]
    return {
        "participants": [{"name": chris}, {"name": sam}],
        "messages": [{"sender_name": _mojibake(who), "timestamp_ms": _unix_ms(when),
                      "content": _mojibake(text), "is_geoblocked_for_viewer": False}
                     for when, who, text in reversed(said)],   # Meta writes newest first
        "title": chris, "is_still_participant": True,
        "thread_path": "inbox/chrisw83_1234567890",
    }


def _instagram_requests() -> dict:
    return {"relationships_follow_requests_received": [{
        "title": "", "media_list_data": [],
        "string_list_data": [{"href": "https://www.instagram.com/chris.w.83",
                              "value": "chris.w.83",
                              "timestamp": _unix_ms("2024-10-03T21:35:00+01:00") // 1000}]}]}


def _telegram_chat() -> dict:
    chris_id = 5550001

    def message(number: int, when: str, sender: tuple[str, int], text: str) -> dict:
        moment = datetime.fromisoformat(when)
        return {"id": number, "type": "message",
                "date": moment.replace(tzinfo=None).isoformat(),
                "date_unixtime": str(int(moment.timestamp())),
                "from": sender[0], "from_id": f"user{sender[1]}", "text": text,
                "text_entities": [{"type": "plain", "text": text}]}

    chris = ("Chris", chris_id)
    call_time = datetime.fromisoformat("2024-10-12T01:12:00+01:00")
    return {
        "name": "Chris", "type": "personal_chat", "id": chris_id,
        "messages": [
            message(101, "2024-10-12T01:05:00+01:00", chris, "Telegram then. You can't hide."),
            {"id": 102, "type": "service", "date": call_time.replace(tzinfo=None).isoformat(),
             "date_unixtime": str(int(call_time.timestamp())), "actor": "Chris",
             "actor_id": f"user{chris_id}", "action": "phone_call",
             "discard_reason": "missed", "text": "", "text_entities": []},
            message(103, "2024-10-12T01:14:00+01:00", chris, "Pick up."),
        ],
    }


def _messenger_thread() -> dict:
    chris, jo = "Chris Walker", "Jo Taylor"
    said = [("2024-10-05T18:20:00+01:00", chris, "Jo, you know Sam better than anyone. Tell her "
                                                 "I'm not giving up."),
            ("2024-10-05T18:21:10+01:00", chris, "I'll wait outside your work if I have to."),
            ("2024-10-05T19:02:00+01:00", jo, "Do not contact me or my sister again.")]
    return {
        "participants": [{"name": chris}, {"name": jo}],
        "messages": [{"sender_name": who, "timestamp_ms": _unix_ms(when), "content": text,
                      "is_geoblocked_for_viewer": False} for when, who, text in reversed(said)],
        "title": chris, "is_still_participant": True, "thread_path": "inbox/chriswalker_987654321",
    }


SIGNAL_CHAT = ("[2024-10-20, 19:02] Chris Walker: Jo, tell Sam I just want to talk.\n"
               "[2024-10-20, 19:30] Jo Taylor: No. Stop contacting our family.\n")


def write_chat_exports(folder: Path) -> None:
    target = folder / WHATSAPP
    target.mkdir(parents=True, exist_ok=True)
    (target / CHAT_FILE).write_text(CHAT, encoding="utf-8", newline="\n")
    (target / PHOTO_FILE).write_bytes(DOOR_PHOTO)
    instagram = folder / INSTAGRAM / "your_instagram_activity"
    thread = instagram / "messages" / "inbox" / "chrisw83_1234567890"
    requests = instagram / "connections" / "followers_and_following"
    for path in (thread, requests):
        path.mkdir(parents=True, exist_ok=True)
    # Meta escapes every non-ASCII character (ensure_ascii), which is what makes its mojibake.
    (thread / "message_1.json").write_text(json.dumps(_instagram_messages(), indent=2),
                                           encoding="ascii")
    (requests / "follow_requests_you've_received.json").write_text(
        json.dumps(_instagram_requests(), indent=2), encoding="ascii")
    telegram = folder / TELEGRAM / "ChatExport_2024-11-20"
    telegram.mkdir(parents=True, exist_ok=True)
    (telegram / "result.json").write_text(json.dumps(_telegram_chat(), indent=1,
                                                     ensure_ascii=False), encoding="utf-8")
    thread = folder / FACEBOOK / "your_facebook_activity" / "messages" / "inbox" / \
        "chriswalker_987654321"
    thread.mkdir(parents=True, exist_ok=True)
    (thread / "message_1.json").write_text(json.dumps(_messenger_thread(), indent=2),
                                           encoding="ascii")
    signal = folder / SIGNAL
    signal.mkdir(parents=True, exist_ok=True)
    (signal / "Chris Walker.txt").write_text(SIGNAL_CHAT, encoding="utf-8", newline="\n")
