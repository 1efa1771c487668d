"""The demo case's mail stores: Sam's laptop Thunderbird profile and one e-mail Sam saved from
Outlook at work. Both hold copies of e-mails already in the Gmail export, so each message merges
with its copy there (one event, every exhibit); the Thunderbird trash holds a message Sam deleted,
kept and marked so. Everyone in them is invented (example.org/example.net addresses)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timezone
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from courseline.demo_msg import item_from_email, msg_bytes

THUNDERBIRD = "exports/sam-laptop-thunderbird"
OUTLOOK_MSG = "exports/sam-work-outlook/Your car.msg"

MAILSTORE_SOURCES = f'''
[[source]]
path = "{THUNDERBIRD}"
owner = "victim"
exhibit = "DEMO/15"

[[source]]
path = "{OUTLOOK_MSG}"
owner = "victim"
exhibit = "DEMO/16"
'''

# Thunderbird's X-Mozilla-Status bits (nsMsgMessageFlags): 0x0001 read, 0x0008 expunged.
READ, READ_AND_EXPUNGED = "0001", "0009"
# Subjects of the Gmail export's e-mails that the laptop's folders hold, with their status.
INBOX = (("Saw you today", READ), ("Why are you ignoring me", READ), ("Still waiting", READ))
TRASH = (("Piece of paper", READ_AND_EXPUNGED),)   # Sam deleted it; not yet compacted away
SAVED_FROM_OUTLOOK = "Your car"

# An .msf index starts with Mork's magic line; the demo's holds nothing more.
MORK_HEAD = b'// <!-- <mdb:mork:z v="1.4"/> -->\n< <(a=c)> // (f=iso-8859-1)\n>\n'


def write_mailstore_exports(folder: Path, mails: list[Any],
                            message: Callable[[Any, int], EmailMessage]) -> None:
    """Write the laptop profile and the saved .msg from the demo's e-mails; ``message`` makes
    e-mail number N of ``mails`` as the Gmail export has it (without Gmail's labels)."""
    numbered = {mail.subject: (number, mail) for number, mail in enumerate(mails, 1)}
    local = folder / THUNDERBIRD / "Mail" / "Local Folders"
    local.mkdir(parents=True, exist_ok=True)
    for name, wanted in (("Inbox", INBOX), ("Trash", TRASH)):
        entries = []
        for subject, status in wanted:
            number, mail = numbered[subject]
            entries.append(_thunderbird_entry(message(mail, number), status))
        (local / name).write_bytes(b"".join(entries))
        (local / f"{name}.msf").write_bytes(MORK_HEAD)
    number, mail = numbered[SAVED_FROM_OUTLOOK]
    saved = folder / OUTLOOK_MSG
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_bytes(msg_bytes(item_from_email(message(mail, number))))


def _thunderbird_entry(email: EmailMessage, status: str) -> bytes:
    """One message as Thunderbird keeps it in a folder file: a ``From - `` line, its status
    headers first, then the message; body lines that would read as a separator quoted."""
    email["X-Mozilla-Status"] = status
    email["X-Mozilla-Status2"] = "00000000"
    body = email.as_bytes(policy=default_policy.clone(linesep="\n"))
    lines = [b">" + line if line.startswith(b"From ") else line for line in body.split(b"\n")]
    # Thunderbird writes the local time; the demo writes UTC, so it is the same everywhere.
    stamp = email["Date"].datetime.astimezone(timezone.utc) if email["Date"] else None
    when = stamp.strftime("%a %b %d %H:%M:%S %Y") if stamp else "Sat Jan 01 00:00:00 2000"
    return b"From - " + when.encode() + b"\n" + b"\n".join(lines).rstrip(b"\n") + b"\n\n"
