"""Writing small Outlook .msg files, for the tests and the demo case.

Nothing in courseline's dependencies writes .msg files (extract-msg, the optional library that
reads them, is not installed everywhere the demo runs), so this module writes them itself: a
Compound File Binary file ([MS-CFB] version 3, 512-byte sectors) holding an Outlook item's
property streams as [MS-OXMSG] lays them out. It writes what courseline reads and no more:

* ``__properties_version1.0``: the fixed-length properties (PR_MESSAGE_CLASS's size entry,
  PR_CLIENT_SUBMIT_TIME, PR_MESSAGE_DELIVERY_TIME, PR_MESSAGE_FLAGS…), 16 bytes each, after a
  32-byte header (24 for an attached message, 8 for a recipient or an attachment);
  [MS-OXMSG] 2.4.1, 2.4.2.
* ``__substg1.0_IIIITTTT``: one stream per variable-length property (UTF-16LE strings without a
  terminator, whose size entry says two bytes more; binary values as they are); 2.1.3.
* ``__recip_version1.0_#0000000N`` and ``__attach_version1.0_#0000000N``: one storage per
  recipient and attachment (hexadecimal numbers); an attached message is the storage
  ``__substg1.0_3701000D`` inside its attachment's storage, with PR_ATTACH_METHOD 5; 2.2.1-2.2.3.
* ``__nameid_version1.0``: the named-property mapping storage, present and empty (no named
  properties are written); 2.2.3.
* The root entry carries the CLSID of an Outlook message, {00020D0B-0000-0000-C000-000000000046},
  which is how libmagic names the file ``application/vnd.ms-outlook``.

The compound file: streams under 4,096 bytes live in the mini stream (64-byte mini sectors,
chained in the mini FAT), larger ones in 512-byte sectors chained in the FAT; the FAT sectors are
listed in the header's DIFAT (up to 109 of them: files up to about 7 MB, plenty here). The
siblings of each storage form a binary search tree in the order [MS-CFB] 2.6.4 defines (shorter
names first, then by upper-cased name), every node black, which 2.6.4 allows. All times in
directory entries are zero, so the same item always gives the same bytes.

Everything here is synthetic test data: addresses at example.org / example.net, numbers in the
Ofcom drama range.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Iterable, Sequence

from courseline.parsers._outlook import (
    ATTACH_BY_VALUE, ATTACH_EMBEDDED_MSG, FILETIME_EPOCH, MSGFLAG_UNSENT, PR_ATTACH_DATA,
    PR_ADDRTYPE, PR_ATTACH_FILENAME, PR_ATTACH_LONG_FILENAME, PR_ATTACH_METHOD, PR_ATTACH_SIZE,
    PR_BODY, PR_CLIENT_SUBMIT_TIME, PR_CREATION_TIME, PR_DISPLAY_NAME, PR_EMAIL_ADDRESS, PR_HTML,
    PR_INTERNET_MESSAGE_ID, PR_LAST_MODIFICATION_TIME, PR_MESSAGE_CLASS,
    PR_MESSAGE_CODEPAGE, PR_MESSAGE_DELIVERY_TIME, PR_MESSAGE_FLAGS, PR_RECIPIENT_TYPE,
    PR_SENDER_ADDRTYPE, PR_SENDER_EMAIL_ADDRESS, PR_SENDER_NAME, PR_SENDER_SMTP_ADDRESS,
    PR_SENT_REPRESENTING_ADDRTYPE, PR_SENT_REPRESENTING_EMAIL_ADDRESS, PR_SENT_REPRESENTING_NAME,
    PR_SENT_REPRESENTING_SMTP_ADDRESS, PR_SMTP_ADDRESS, PR_SUBJECT, PR_TRANSPORT_MESSAGE_HEADERS,
    PT_BINARY, PT_BOOLEAN, PT_LONG, PT_OBJECT, PT_STRING8, PT_SYSTIME, PT_UNICODE,
)
from courseline.parsers.outlook_msg import CFB_SIGNATURE

# --- [MS-OXCDATA] 2.11.1 property types, and the properties written ------------------------------

PR_DISPLAY_CC = 0x0E03
PR_DISPLAY_TO = 0x0E04
PR_HASATTACH = 0x0E1B
PR_NORMALIZED_SUBJECT = 0x0E1D
PR_ATTACH_NUM = 0x0E21
PR_ROWID = 0x3000
PR_STORE_SUPPORT_MASK = 0x340D
PR_ATTACH_EXTENSION = 0x3703
PR_ATTACH_MIME_TAG = 0x370E

MSGFLAG_READ = 0x01
MSGFLAG_HASATTACH = 0x10
STORE_UNICODE_OK = 0x00040000     # PR_STORE_SUPPORT_MASK: string properties are UTF-16
RECIPIENT_TO, RECIPIENT_CC, RECIPIENT_BCC = 1, 2, 3

OUTLOOK_MESSAGE_CLSID = bytes.fromhex("0b0d020000000000c000000000000046")  # {00020D0B-…-46}

_READABLE_WRITABLE = 0x2 | 0x4     # PROPATTR_READABLE | PROPATTR_WRITABLE


def filetime(moment: datetime) -> int:
    """100-nanosecond ticks since 1601-01-01 UTC (a FILETIME) for an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("a FILETIME is UTC: give an aware datetime")
    delta = moment - FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


# --- The item to write ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MsgRecipient:
    address: str
    name: str | None = None
    kind: int = RECIPIENT_TO          # RECIPIENT_TO, RECIPIENT_CC or RECIPIENT_BCC


@dataclass(frozen=True)
class MsgAttachment:
    """A file (``data``) or an attached Outlook item (``message``), never both."""

    name: str
    data: bytes | None = None
    mime_type: str | None = None
    message: MsgItem | None = None


@dataclass(frozen=True)
class MsgItem:
    """An Outlook item as it is written. ``None`` leaves a property out of the file."""

    message_class: str = "IPM.Note"
    subject: str | None = None
    sender: str | None = None             # an SMTP address
    sender_name: str | None = None
    recipients: Sequence[MsgRecipient] = ()
    sent_utc: datetime | None = None      # PR_CLIENT_SUBMIT_TIME
    delivered_utc: datetime | None = None  # PR_MESSAGE_DELIVERY_TIME
    created_utc: datetime | None = None   # PR_CREATION_TIME and PR_LAST_MODIFICATION_TIME
    body: str | None = None
    html: bytes | None = None
    message_id: str | None = None
    headers: str | None = None            # PR_TRANSPORT_MESSAGE_HEADERS, the RFC 5322 header block
    attachments: Sequence[MsgAttachment] = ()
    unsent: bool = False                  # MSGFLAG_UNSENT: a draft
    # Written as PT_STRING8 in this code page instead of UTF-16 (older Outlook files), e.g. 1252.
    string8_codepage: int | None = None
    extra: Sequence[tuple[int, int, bytes]] = ()   # (id, type, value) written as they are


# --- Properties → streams ------------------------------------------------------------------------

@dataclass
class _PropertyStream:
    """The entries of one ``__properties_version1.0`` stream and the streams beside it."""

    header: bytes
    entries: list[tuple[int, int, bytes]] = field(default_factory=list)  # (tag, flags, 8 bytes)
    streams: dict[str, bytes | dict] = field(default_factory=dict)

    def fixed(self, prop_id: int, prop_type: int, value: bytes) -> None:
        self.entries.append(((prop_id << 16) | prop_type, _READABLE_WRITABLE,
                             value.ljust(8, b"\0")))

    def long(self, prop_id: int, value: int) -> None:
        self.fixed(prop_id, PT_LONG, struct.pack("<i", value))

    def boolean(self, prop_id: int, value: bool) -> None:
        self.fixed(prop_id, PT_BOOLEAN, struct.pack("<H", 1 if value else 0))

    def time(self, prop_id: int, value: datetime | None) -> None:
        if value is not None:
            self.fixed(prop_id, PT_SYSTIME, struct.pack("<Q", filetime(value)))

    def variable(self, prop_id: int, prop_type: int, data: bytes) -> None:
        # A string's size entry counts the terminator the stream leaves out ([MS-OXMSG] 2.4.2.2).
        size = len(data) + (2 if prop_type == PT_UNICODE else 1 if prop_type == PT_STRING8 else 0)
        self.entries.append(((prop_id << 16) | prop_type, _READABLE_WRITABLE,
                             struct.pack("<II", size, 0)))
        self.streams[f"__substg1.0_{prop_id:04X}{prop_type:04X}"] = data

    def text(self, prop_id: int, value: str | None, codepage: int | None = None) -> None:
        if value is None:
            return
        if codepage is None:
            self.variable(prop_id, PT_UNICODE, value.encode("utf-16-le"))
        else:
            self.variable(prop_id, PT_STRING8, value.encode(f"cp{codepage}"))

    def binary(self, prop_id: int, value: bytes | None) -> None:
        if value is not None:
            self.variable(prop_id, PT_BINARY, value)

    def storage(self, prop_id: int, children: dict[str, bytes | dict]) -> None:
        """An object property (an attached message): its size entry is 0xFFFFFFFF."""
        self.entries.append(((prop_id << 16) | PT_OBJECT, _READABLE_WRITABLE,
                             struct.pack("<II", 0xFFFFFFFF, 0)))
        self.streams[f"__substg1.0_{prop_id:04X}{PT_OBJECT:04X}"] = children

    def tree(self) -> dict[str, bytes | dict]:
        body = b"".join(struct.pack("<II", tag, flags) + value
                        for tag, flags, value in sorted(self.entries))
        return {"__properties_version1.0": self.header + body, **self.streams}


def _message_header(item: MsgItem, embedded: bool) -> bytes:
    counts = struct.pack("<IIII", len(item.recipients), len(item.attachments),
                         len(item.recipients), len(item.attachments))
    return b"\0" * 8 + counts + (b"" if embedded else b"\0" * 8)


def _recipient_tree(number: int, recipient: MsgRecipient,
                    codepage: int | None) -> dict[str, bytes | dict]:
    props = _PropertyStream(header=b"\0" * 8)
    props.long(PR_ROWID, number)
    props.long(PR_RECIPIENT_TYPE, recipient.kind)
    props.text(PR_DISPLAY_NAME, recipient.name or recipient.address, codepage)
    props.text(PR_ADDRTYPE, "SMTP", codepage)
    props.text(PR_EMAIL_ADDRESS, recipient.address, codepage)
    props.text(PR_SMTP_ADDRESS, recipient.address, codepage)
    return props.tree()


def _attachment_tree(number: int, attachment: MsgAttachment,
                     codepage: int | None) -> dict[str, bytes | dict]:
    props = _PropertyStream(header=b"\0" * 8)
    props.long(PR_ATTACH_NUM, number)
    props.text(PR_DISPLAY_NAME, attachment.name, codepage)
    if attachment.message is not None:
        props.long(PR_ATTACH_METHOD, ATTACH_EMBEDDED_MSG)
        props.storage(PR_ATTACH_DATA, _item_tree(attachment.message, embedded=True))
        return props.tree()
    data = attachment.data or b""
    props.long(PR_ATTACH_METHOD, ATTACH_BY_VALUE)
    props.long(PR_ATTACH_SIZE, len(data))
    props.text(PR_ATTACH_LONG_FILENAME, attachment.name, codepage)
    props.text(PR_ATTACH_FILENAME, attachment.name, codepage)
    if "." in attachment.name:
        props.text(PR_ATTACH_EXTENSION, "." + attachment.name.rsplit(".", 1)[1], codepage)
    props.text(PR_ATTACH_MIME_TAG, attachment.mime_type, codepage)
    props.binary(PR_ATTACH_DATA, data)
    return props.tree()


def _item_tree(item: MsgItem, embedded: bool) -> dict[str, bytes | dict]:
    """The storages and streams of one item (the whole file's root, or an attached message)."""
    cp = item.string8_codepage
    props = _PropertyStream(header=_message_header(item, embedded))
    props.text(PR_MESSAGE_CLASS, item.message_class, cp)
    props.text(PR_SUBJECT, item.subject, cp)
    props.text(PR_NORMALIZED_SUBJECT, item.subject, cp)
    props.time(PR_CLIENT_SUBMIT_TIME, item.sent_utc)
    props.time(PR_MESSAGE_DELIVERY_TIME, item.delivered_utc)
    props.time(PR_CREATION_TIME, item.created_utc)
    props.time(PR_LAST_MODIFICATION_TIME, item.created_utc)
    if item.sender is not None:
        name = item.sender_name or item.sender
        for name_id, type_id, address_id, smtp_id in (
                (PR_SENDER_NAME, PR_SENDER_ADDRTYPE, PR_SENDER_EMAIL_ADDRESS,
                 PR_SENDER_SMTP_ADDRESS),
                (PR_SENT_REPRESENTING_NAME, PR_SENT_REPRESENTING_ADDRTYPE,
                 PR_SENT_REPRESENTING_EMAIL_ADDRESS, PR_SENT_REPRESENTING_SMTP_ADDRESS)):
            props.text(name_id, name, cp)
            props.text(type_id, "SMTP", cp)
            props.text(address_id, item.sender, cp)
            props.text(smtp_id, item.sender, cp)
    for display_id, kind in ((PR_DISPLAY_TO, RECIPIENT_TO), (PR_DISPLAY_CC, RECIPIENT_CC)):
        shown = [r.name or r.address for r in item.recipients if r.kind == kind]
        props.text(display_id, "; ".join(shown), cp)
    props.text(PR_BODY, item.body, cp)
    props.binary(PR_HTML, item.html)
    props.text(PR_TRANSPORT_MESSAGE_HEADERS, item.headers, cp)
    props.text(PR_INTERNET_MESSAGE_ID, item.message_id, cp)
    flags = MSGFLAG_READ | (MSGFLAG_HASATTACH if item.attachments else 0) | (
        MSGFLAG_UNSENT if item.unsent else 0)
    props.long(PR_MESSAGE_FLAGS, flags)
    props.boolean(PR_HASATTACH, bool(item.attachments))
    if cp is None:
        props.long(PR_STORE_SUPPORT_MASK, STORE_UNICODE_OK)
    else:
        props.long(PR_MESSAGE_CODEPAGE, cp)
    for prop_id, prop_type, value in item.extra:
        if prop_type in (PT_UNICODE, PT_STRING8, PT_BINARY):
            props.variable(prop_id, prop_type, value)
        else:
            props.fixed(prop_id, prop_type, value)
    tree = props.tree()
    for number, recipient in enumerate(item.recipients):
        tree[f"__recip_version1.0_#{number:08X}"] = _recipient_tree(number, recipient, cp)
    for number, attachment in enumerate(item.attachments):
        tree[f"__attach_version1.0_#{number:08X}"] = _attachment_tree(number, attachment, cp)
    if not embedded:
        tree["__nameid_version1.0"] = {"__substg1.0_00020102": b"", "__substg1.0_00030102": b"",
                                       "__substg1.0_00040102": b""}
    return tree


def msg_bytes(item: MsgItem) -> bytes:
    """The bytes of a .msg file holding ``item``."""
    return compound_file(_item_tree(item, embedded=False), OUTLOOK_MESSAGE_CLSID)


def write_msg(path: Path, *, subject: str | None, sender: str | None,
              to: Iterable[str] = (), sent_utc: datetime | None, body: str | None,
              message_id: str | None = None, headers: str | None = None,
              attachments: Sequence[MsgAttachment | tuple[str, bytes]] = (),
              cc: Iterable[str] = (), **more: object) -> Path:
    """Write an Outlook e-mail (IPM.Note) as a .msg file; ``more`` sets other :class:`MsgItem`
    fields (``delivered_utc``, ``message_class``…). Attachments are (name, bytes) or
    :class:`MsgAttachment`."""
    recipients = [MsgRecipient(a) for a in to] + [MsgRecipient(a, kind=RECIPIENT_CC) for a in cc]
    parts = [a if isinstance(a, MsgAttachment) else MsgAttachment(a[0], a[1])
             for a in attachments]
    item = MsgItem(subject=subject, sender=sender, recipients=recipients, sent_utc=sent_utc,
                   body=body, message_id=message_id, headers=headers, attachments=parts,
                   **more)  # type: ignore[arg-type]
    path.write_bytes(msg_bytes(item))
    return path


def item_from_email(message: EmailMessage, *, delivered_utc: datetime | None = None) -> MsgItem:
    """The Outlook item that saving ``message`` from Outlook gives (File → Save As → .msg): its
    header block as the transport headers, its plain text as the body, its attachments as files,
    and the Date header as PR_CLIENT_SUBMIT_TIME. For the demo, whose .msg copy of an e-mail
    must be read as the same message as the mbox copy."""
    from email.utils import getaddresses, parsedate_to_datetime

    head = message.as_bytes(policy=default_policy.clone(linesep="\r\n")).split(b"\r\n\r\n", 1)[0]
    headers = head.decode("utf-8", "surrogateescape") + "\r\n\r\n"
    date = message["Date"]
    sent = parsedate_to_datetime(str(date)).astimezone(UTC) if date else None
    recipients = [MsgRecipient(address, name or None, kind)
                  for header, kind in (("To", RECIPIENT_TO), ("Cc", RECIPIENT_CC))
                  for name, address in getaddresses(message.get_all(header, []))]
    sender_name, sender = (getaddresses([str(message["From"])]) or [("", "")])[0]
    body_part = message.get_body(("plain",))
    body = body_part.get_content() if body_part is not None else None
    attachments = [MsgAttachment(part.get_filename() or "attachment",
                                 part.get_payload(decode=True), part.get_content_type())
                   for part in message.iter_attachments()]
    return MsgItem(subject=str(message["Subject"]) if message["Subject"] else None,
                   sender=sender or None, sender_name=sender_name or None,
                   recipients=recipients, sent_utc=sent, delivered_utc=delivered_utc or sent,
                   body=body, message_id=str(message["Message-ID"]) if message["Message-ID"]
                   else None, headers=headers, attachments=attachments)


# --- [MS-CFB] version 3 --------------------------------------------------------------------------

SECTOR = 512
MINI_SECTOR = 64
MINI_STREAM_CUTOFF = 4096
FREESECT, ENDOFCHAIN, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
_ENTRY_SIZE = 128
_HEADER_DIFAT = 109
_ROOT, _STORAGE, _STREAM = 5, 1, 2
_BLACK = 1


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: list[_Entry] = field(default_factory=list)
    clsid: bytes = b"\0" * 16
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    start: int = ENDOFCHAIN
    size: int = 0


def _order(entry: _Entry) -> tuple[int, str]:
    # [MS-CFB] 2.6.4: shorter names sort first; names of one length by their upper-case form.
    return len(entry.name), entry.name.upper()


def _entries(tree: dict[str, bytes | dict], clsid: bytes) -> list[_Entry]:
    """The directory in the order of its ids (the root is 0), with the sibling trees linked."""
    root = _Entry("Root Entry", _ROOT, clsid=clsid)
    ordered = [root]

    def add(parent: _Entry, children: dict[str, bytes | dict]) -> None:
        for name, value in children.items():
            if len(name) > 31:
                raise ValueError(f"a compound-file name has at most 31 characters: {name!r}")
            entry = (_Entry(name, _STORAGE) if isinstance(value, dict)
                     else _Entry(name, _STREAM, data=value))
            parent.children.append(entry)
            if isinstance(value, dict):
                add(entry, value)

    add(root, tree)
    queue = [root]
    while queue:
        parent = queue.pop(0)
        siblings = sorted(parent.children, key=_order)
        first_id = len(ordered)
        ordered.extend(siblings)
        queue.extend(siblings)
        parent.child = _balanced(siblings, first_id, 0, len(siblings))
    return ordered


def _balanced(siblings: list[_Entry], first_id: int, low: int, high: int) -> int:
    """Link siblings[low:high] as a balanced binary search tree; the id of its root."""
    if low >= high:
        return NOSTREAM
    middle = (low + high) // 2
    node = siblings[middle]
    node.left = _balanced(siblings, first_id, low, middle)
    node.right = _balanced(siblings, first_id, middle + 1, high)
    return first_id + middle


def _padded(data: bytes, unit: int) -> bytes:
    return data + b"\0" * (-len(data) % unit)


def _chain(first: int, count: int) -> list[int]:
    return [first + i + 1 for i in range(count - 1)] + [ENDOFCHAIN] if count else []


def _directory_entry(entry: _Entry) -> bytes:
    name = entry.name.encode("utf-16-le") + b"\0\0"
    return (name.ljust(64, b"\0") + struct.pack("<HBB", len(name), entry.kind, _BLACK)
            + struct.pack("<III", entry.left, entry.right, entry.child) + entry.clsid
            + struct.pack("<I", 0) + b"\0" * 16
            + struct.pack("<IQ", entry.start, entry.size))


def _unused_entry() -> bytes:
    entry = (b"\0" * 64 + struct.pack("<HBB", 0, 0, 0)
             + struct.pack("<III", NOSTREAM, NOSTREAM, NOSTREAM) + b"\0" * 48)
    assert len(entry) == _ENTRY_SIZE
    return entry


def compound_file(tree: dict[str, bytes | dict], clsid: bytes = b"\0" * 16) -> bytes:
    """A version 3 compound file holding ``tree`` (name → bytes for a stream, or a dict for a
    storage) under a root entry with ``clsid``."""
    entries = _entries(tree, clsid)
    streams = [e for e in entries if e.kind == _STREAM]

    # Small streams go into the mini stream, in 64-byte mini sectors.
    mini = bytearray()
    mini_fat: list[int] = []
    for entry in streams:
        entry.size = len(entry.data)
        if 0 < entry.size < MINI_STREAM_CUTOFF:
            entry.start = len(mini) // MINI_SECTOR
            count = -(-entry.size // MINI_SECTOR)
            mini_fat += _chain(entry.start, count)
            mini += _padded(entry.data, MINI_SECTOR)

    # Everything else is laid out in sectors after the FAT: the mini FAT, the directory, the
    # mini stream, then the large streams, each a run of consecutive sectors.
    mini_fat += [FREESECT] * (-len(mini_fat) % (SECTOR // 4))
    large = [e for e in streams if e.size >= MINI_STREAM_CUTOFF]
    directory_sectors = -(-len(entries) // (SECTOR // _ENTRY_SIZE))
    run_sectors = [len(mini_fat) * 4 // SECTOR, directory_sectors, -(-len(mini) // SECTOR)] + [
        -(-e.size // SECTOR) for e in large]
    fat_sectors = 1
    while fat_sectors * (SECTOR // 4) < fat_sectors + sum(run_sectors):
        fat_sectors += 1
    if fat_sectors > _HEADER_DIFAT:
        raise ValueError("too large for this writer (more than 109 FAT sectors)")
    fat = [FATSECT] * fat_sectors
    starts = []
    for count in run_sectors:
        starts.append(len(fat) if count else ENDOFCHAIN)
        fat += _chain(len(fat), count)
    fat += [FREESECT] * (fat_sectors * (SECTOR // 4) - len(fat))
    mini_fat_start, directory_start, mini_start = starts[:3]
    for entry, start in zip(large, starts[3:]):
        entry.start = start
    root = entries[0]
    root.start, root.size = (mini_start, len(mini)) if mini else (ENDOFCHAIN, 0)

    directory = b"".join(_directory_entry(e) for e in entries)
    directory += _unused_entry() * (directory_sectors * (SECTOR // _ENTRY_SIZE) - len(entries))
    runs = [b"".join(struct.pack("<I", n) for n in mini_fat), directory,
            _padded(bytes(mini), SECTOR)] + [_padded(e.data, SECTOR) for e in large]
    difat = list(range(fat_sectors)) + [FREESECT] * (_HEADER_DIFAT - fat_sectors)
    header = (CFB_SIGNATURE + b"\0" * 16
              + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, fat_sectors, directory_start, 0,
                            MINI_STREAM_CUTOFF, mini_fat_start, run_sectors[0], ENDOFCHAIN, 0)
              + b"".join(struct.pack("<I", n) for n in difat))
    assert len(header) == SECTOR
    return header + b"".join(struct.pack("<I", n) for n in fat) + b"".join(runs)
