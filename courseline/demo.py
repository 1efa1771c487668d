"""The built-in demo case: an invented stalking campaign, written deterministically.

Sam Taylor (victim) is contacted by Chris Walker (suspect) from two known addresses and, after
being blocked, from a new one nobody has tied to him yet. Sam asks him to stop; a Stalking
Protection Order is served part-way; he goes on writing to Sam and to Sam's sister (indirect
contact). The messages reach the case twice: in Sam's Google Takeout mbox and as .eml files
Sam saved from her mail client (zipped), so duplicates are merged across sources. The phones
(Sam's Android phone and its backup, her sister's iPhone) are in :mod:`courseline.demo_phone`,
her WhatsApp chat with Chris in :mod:`courseline.demo_chats`, her diary in
:mod:`courseline.demo_device`. Two messages
fall on the night the clocks go back, one with no Date header at all. Everything here is
synthetic: example.org/example.net addresses and Ofcom drama numbers.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from courseline.demo_chats import SOURCES_TOML as CHAT_SOURCES
from courseline.demo_chats import write_chat_exports
from courseline.demo_device import CASE_LINES as DEVICE_CASE_LINES
from courseline.demo_device import INDICATOR_LINE
from courseline.demo_device import SOURCES_TOML as DEVICE_SOURCES
from courseline.demo_device import write_device_exports
from courseline.demo_mailstores import MAILSTORE_SOURCES, write_mailstore_exports
from courseline.demo_phone import SOURCES_TOML as PHONE_SOURCES
from courseline.demo_phone import write_phone_exports

if TYPE_CHECKING:
    from courseline.annotations import Request

VICTIM = "sam.taylor@example.org"
SISTER = "jo.taylor@example.org"
SUSPECT = "chris.walker@example.net"
SUSPECT_2 = "cw.1983@example.net"
NEW_ADDRESS = "just.talk.to.me@example.net"
BST = timezone(timedelta(hours=1))
GMT = timezone.utc

CASE_TOML = '''\
# The courseline demo case. Everyone and everything in it is invented.
[case]
reference = "DEMO-0001/24"
timezone = "Europe/London"
region = "GB"
examiner = "DC 0000 Demo Examiner"
exhibit_prefix = "DEMO"
''' + INDICATOR_LINE + '''
[[person]]
key = "victim"
role = "victim"
name = "Sam Taylor"
identifiers = ["email:sam.taylor@example.org", "tel:07700 900123", "name:Sam Taylor"]

[[person]]
key = "suspect"
role = "suspect"
name = "Chris Walker"
identifiers = ["email:chris.walker@example.net", "email:cw.1983@example.net", "tel:07700 900456",
               "name:Chris Walker"]

[[person]]
key = "sister"
role = "witness"
name = "Jo Taylor"
identifiers = ["email:jo.taylor@example.org", "tel:07700 900321", "name:Jo Taylor"]

[[order]]
kind = "spo"
reference = "SPO 0001/2024"
protects = "victim"
against = "suspect"
served = "2024-09-02T10:00:00+01:00"
expires = "2026-09-02T10:00:00+01:00"
no_contact = true
terms = ["Not to contact Sam Taylor directly or indirectly by any means",
         "Not to attend Sam Taylor's home or workplace"]

''' + DEVICE_CASE_LINES + '''
[[source]]
path = "exports/takeout/Mail/All mail Including Spam and Trash.mbox"
owner = "victim"
exhibit = "DEMO/1"

[[source]]
path = "exports/saved-emails.zip"
owner = "victim"
exhibit = "DEMO/2"

[[source]]
path = "exports/takeout/archive_browser.html"
owner = "victim"
exhibit = "DEMO/3"
''' + PHONE_SOURCES + CHAT_SOURCES + DEVICE_SOURCES + MAILSTORE_SOURCES

# A 1x1 PNG, so one message carries a real attachment to hash.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d2cd"
    "3a0000000049454e44ae426082")


@dataclass
class DemoMail:
    when: datetime | None          # None: the message has no Date header
    sender: str
    to: list[str]
    subject: str
    body: str
    labels: list[str] = field(default_factory=lambda: ["Inbox"])
    envelope: str = ""             # the mbox From_ line date when there is no Date header
    saved_as_eml: bool = False
    attachment: bytes | None = None


def _mails() -> list[DemoMail]:
    s, v = SUSPECT, VICTIM
    return [
        DemoMail(datetime(2024, 8, 3, 19, 2, 11, tzinfo=BST), s, [v], "Saw you today",
                 "Hi Sam,\nSaw you at the station today. You looked well. Fancy a drink?\nChris"),
        DemoMail(datetime(2024, 8, 4, 8, 40, 0, tzinfo=BST), v, [s], "Re: Saw you today",
                 "Hi Chris, thanks but I'm busy. Take care.\nSam", labels=["Sent"]),
        DemoMail(datetime(2024, 8, 9, 23, 47, 30, tzinfo=BST), s, [v], "Why are you ignoring me",
                 "I know you got my message. I watched you read it on the train.\n"
                 "From now on I'll make sure you answer.", saved_as_eml=True),
        DemoMail(datetime(2024, 8, 10, 0, 15, 2, tzinfo=BST), SUSPECT_2, [v], "Still waiting",
                 "Answer me Sam. I'm outside."),
        DemoMail(datetime(2024, 8, 12, 21, 14, 5, tzinfo=BST), SUSPECT_2, [v], "Your car",
                 "Nice new car. Blue suits you. Parked outside number 14 again?",
                 saved_as_eml=True, attachment=TINY_PNG),
        DemoMail(datetime(2024, 8, 20, 7, 30, 0, tzinfo=BST), v, [s, SUSPECT_2],
                 "Please stop contacting me",
                 "Chris, I am asking you clearly to stop contacting me, by any means. "
                 "If you contact me again I will go to the police.\nSam", labels=["Sent"],
                 saved_as_eml=True),
        DemoMail(datetime(2024, 8, 20, 7, 41, 12, tzinfo=BST), s, [v], "Re: Please stop contacting me",
                 "You don't get to decide that. <script>alert('x')</script>"),
        DemoMail(datetime(2024, 8, 27, 2, 3, 44, tzinfo=BST), s, [v], "(no subject)",
                 "I drove past at 2. Your light was on."),
        DemoMail(datetime(2024, 9, 5, 18, 22, 0, tzinfo=BST), s, [v], "Piece of paper",
                 "A piece of paper won't keep me away from you."),
        DemoMail(datetime(2024, 9, 6, 9, 5, 31, tzinfo=BST), s, [SISTER], "Tell your sister",
                 "Jo, tell Sam she's making a mistake. She'll listen to you.",
                 labels=["Inbox"]),
        DemoMail(datetime(2024, 9, 14, 22, 58, 9, tzinfo=BST), NEW_ADDRESS, [v], "new address",
                 "You blocked the others. You can't block everything."),
        DemoMail(datetime(2024, 10, 27, 1, 30, 0, tzinfo=BST), NEW_ADDRESS, [v], "Clocks go back tonight",
                 "An extra hour to think about you."),
        DemoMail(None, NEW_ADDRESS, [v], "(sent without a date)",
                 "Still here.", envelope="Sun Oct 27 01:45:00 2024"),
        DemoMail(datetime(2024, 10, 27, 1, 20, 0, tzinfo=GMT), NEW_ADDRESS, [v], "Same hour twice",
                 "It's 1:20 again. Twice tonight I've been outside.", saved_as_eml=True),
        DemoMail(datetime(2024, 11, 2, 16, 0, 0, tzinfo=GMT), s, [v], "Sorry",
                 "From the bottom of my heart, I'm sorry.\nFrom now on I'll leave you alone. Maybe.",
                 labels=["Inbox", "Important"]),
    ]


def _message(mail: DemoMail, number: int, with_labels: bool) -> EmailMessage:
    message = EmailMessage()
    if with_labels:
        message["X-GM-THRID"] = str(1800000000000000000 + number)
        message["X-Gmail-Labels"] = ",".join(mail.labels)
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject
    if mail.when is not None:
        message["Date"] = format_datetime(mail.when)
    message["Message-ID"] = f"<demo-{number:03d}@mail.example.net>"
    message["Received"] = (f"from mail.example.net (mail.example.net [192.0.2.{10 + number}]) by "
                           f"mx.example.org with ESMTPS id demo{number:03d}; "
                           f"{format_datetime(mail.when) if mail.when else 'Sun, 27 Oct 2024 01:45:03 +0000'}")
    message.set_content(mail.body)
    if mail.attachment:
        message.add_attachment(mail.attachment, maintype="image", subtype="png", filename="car.png")
        message.set_boundary(f"demo-boundary-{number:03d}")  # not random: the demo is reproducible
    return message


def _from_line(mail: DemoMail, number: int) -> str:
    if mail.when is None:
        return f"From {1800000000000000000 + number}@xxx {mail.envelope}"
    stamp = mail.when.astimezone(GMT)
    return f"From {1800000000000000000 + number}@xxx {stamp:%a %b %d %H:%M:%S} +0000 {stamp:%Y}"


def _mbox(mails: list[DemoMail]) -> bytes:
    chunks = []
    for number, mail in enumerate(mails, 1):
        body = _message(mail, number, with_labels=True).as_bytes(
            policy=default_policy.clone(linesep="\n"))
        # mboxrd: quote body lines that would read as a message separator.
        lines = [b">" + line if line.lstrip(b">").startswith(b"From ") else line
                 for line in body.split(b"\n")]
        chunks.append(_from_line(mail, number).encode() + b"\n" + b"\n".join(lines).rstrip(b"\n")
                      + b"\n\n")
    return b"".join(chunks)


def _saved_zip(mails: list[DemoMail]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, mail in enumerate(mails, 1):
            if not mail.saved_as_eml:
                continue
            data = _message(mail, number, with_labels=False).as_bytes(
                policy=default_policy.clone(linesep="\r\n"))
            info = zipfile.ZipInfo(f"Saved emails/{number:02d} {mail.subject}.eml",
                                   date_time=(2024, 11, 20, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


BROWSER_PAGE = """<!DOCTYPE html><html><head><title>Google Takeout archive</title></head>
<body><h1>Archive overview</h1><p>Mail: 1 file</p></body></html>
"""


def write_demo_case(folder: Path) -> Path:
    """Write the demo case folder (case.toml and its exports) and return it."""
    mails = _mails()
    takeout = folder / "exports" / "takeout"
    (takeout / "Mail").mkdir(parents=True, exist_ok=True)
    (takeout / "Mail" / "All mail Including Spam and Trash.mbox").write_bytes(_mbox(mails))
    (takeout / "archive_browser.html").write_text(BROWSER_PAGE, encoding="utf-8")
    (folder / "exports" / "saved-emails.zip").write_bytes(_saved_zip(mails))
    write_phone_exports(folder)
    write_chat_exports(folder)
    write_device_exports(folder)
    write_mailstore_exports(folder, mails,
                            lambda mail, number: _message(mail, number, with_labels=False))
    (folder / "case.toml").write_text(CASE_TOML, encoding="utf-8")
    return folder


# The reviewer's marks on the demo timeline: (words the event's text holds, tags, note). Events
# are found by their words, not by id, so the marks follow the events if a parser changes.
DEMO_REVIEWER = "DS 0000 Demo Reviewer"
DEMO_MARKS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Please don't text me", ("asked-to-stop",), "Sam asks Chris to stop texting."),
    ("I am asking you clearly to stop", ("asked-to-stop",),
     "Sam's clearest request to stop, by e-mail, before the order."),
    ("I can see your window", ("watching",), "Says he can see her window at midnight."),
    ("You blocked the others", ("blocked", "contacting"),
     "Sam's statement: she blocked Chris's number and addresses on 10 September; this new "
     "address writes four days later."),
    ("You'll be sorry you did that", ("threat",), "Sent minutes after Sam says she is reporting him."),
    ("He was waiting by the ticket barriers", ("following", "loitering"),
     "Sam's diary: he was at the station at the time his text said."),
)


def demo_annotation_requests(rows) -> list[Request]:
    """The reviewer's marks for the demo case, as requests for ``AnnotationLog.add``."""
    from courseline.annotations import Request

    wanted = {words: (tags, note) for words, tags, note in DEMO_MARKS}
    found = []
    for row in rows:
        text = row.get("text") or ""
        for words in list(wanted):
            if words in text:
                tags, note = wanted.pop(words)
                found.append(Request(row["event_id"], tags, note, DEMO_REVIEWER,
                                     where=f"demo mark {words!r}"))
    if wanted:
        raise ValueError(f"the demo timeline lacks the events of marks {sorted(wanted)}")
    return found
