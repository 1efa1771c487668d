"""Outlook items saved as ``.msg`` files (an e-mail dragged out of Outlook, *File → Save As →
Outlook Message Format*).

Format: [MS-OXMSG] (Outlook Item (.msg) File Format) over [MS-CFB] (Compound File Binary, the
OLE2 container): the item's properties are streams ``__substg1.0_IIIITTTT`` (property id and type
in hexadecimal) and the 16-byte entries of ``__properties_version1.0`` (fixed-length values such
as PR_CLIENT_SUBMIT_TIME, after a 32-byte header; 24 bytes for an attached message, 8 for a
recipient or an attachment); recipients are the storages ``__recip_version1.0_#0000000N``,
attachments ``__attach_version1.0_#0000000N``; an attached Outlook item is the storage
``__substg1.0_3701000D`` inside its attachment's storage. Both Unicode (PT_UNICODE, UTF-16LE)
and older ANSI files (PT_STRING8, in the code page of PR_MESSAGE_CODEPAGE or PR_INTERNET_CPID,
else Windows-1252) are read. formats.md §1.3 has the research notes.

Reading: extract-msg (>= 0.50, checked with 0.57) opens the compound file (through olefile, which
refuses a damaged or truncated file: the file is then rejected with olefile's reason) and reads
its streams; the properties are interpreted here (:mod:`._outlook`, shared with the PST parser),
so that an e-mail gets the same fields, notes and details as the same message read from an .eml
or an mbox and merges with it. What becomes an event, which time is used and how attached items
are opened (up to five levels deep) is described in :mod:`._outlook`.

Recognised by content, not by name: the compound-file signature ``D0 CF 11 E0 A1 B1 1A E1`` and
either libmagic's ``application/vnd.ms-outlook`` (which it gives from the root entry's class id,
{00020D0B-0000-0000-C000-000000000046}) or an MS-OXMSG stream name in the head of the file (the
directory of a small file). A Word or Excel file is a compound file too and is not claimed.

Locators: ``msg`` for the item the file holds; ``msg:attachment[2]/msg`` for the Outlook item
attached as attachment 2 (the number of its ``__attach_version1.0_#00000002`` storage), and so
on down (``msg:attachment[2]/msg/attachment[0]/msg``).

Checked on the real files in ``realworld/email/msg`` (tests/parsers/test_realworld_outlook.py):
``mailparser_mail_outlook_1.msg`` (SpamScope/mail-parser: an IPM.Note received through
Exchange, with its transport headers, a ``Date`` header at +0200 and five inline images: one
e-mail event, the five pictures hashed); ``rubymsg_qwerty_1-orig.msg`` (aquasync/ruby-msg: an
ANSI IPM.Note without headers or PR_CLIENT_SUBMIT_TIME, placed by PR_MESSAGE_DELIVERY_TIME,
with no sender address and one recipient, "asdf", named without an address: no identifiers);
``rubymsg_test_Blammo.msg`` (an IPM.Post: a ``post`` event); ``rubymsg_note.msg`` (an
IPM.StickyNote: listed as a note, not mail). The text file beside them
(``rubymsg_qwerty_1-orig.expected.txt``, ruby-msg's expected output) is not a compound file and
no parser claims it. Checked on synthetic files only (written by :mod:`courseline.demo_msg`):
attached items and the depth limit, contacts and other non-mail classes, truncated files, items
without any time, Exchange's header preamble, PT_STRING8 in another code page, HTML-only and
RTF-only bodies, a .msg and an .eml of one message merging in a case.
Not checked on real data: signed or encrypted items (IPM.Note.SMIME: the signed content is an
attachment, hashed, not opened), meeting requests, OLE-object attachments.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Iterator

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._outlook import (
    ATTACH_EMBEDDED_MSG,
    FIXED_TYPES,
    PR_ATTACH_METHOD,
    PT_OBJECT,
    Context,
    OutlookAttachment,
    OutlookItem,
    Properties,
    message_codec,
    read_item,
)
from courseline.timeline.event import Event, Reject, clean_text

MAX_MSG_BYTES = 256 * 1024 * 1024     # a .msg is one item: larger is not a message a person wrote
LOCATOR = "msg"
CFB_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")
OUTLOOK_MEDIA_TYPE = "application/vnd.ms-outlook"
# Directory entry names are UTF-16LE; any of these in the head marks an Outlook item.
_MSG_NAMES = tuple(name.encode("utf-16-le") for name in (
    "__properties_version1.0", "__substg1.0_", "__recip_version1.0_", "__attach_version1.0_",
    "__nameid_version1.0"))
PROPERTIES = "__properties_version1.0"
EMBEDDED = "__substg1.0_3701000D"          # PR_ATTACH_DATA_OBJ: an attached item's storage
ATTACHED_FILE = "__substg1.0_37010102"     # PR_ATTACH_DATA_BIN: an attached file's bytes
_TOP_HEADER, _EMBEDDED_HEADER, _PART_HEADER = 32, 24, 8

Path = tuple[str, ...]


class _Storages:
    """The compound file's storages and streams, read through extract-msg's MSGFile."""

    def __init__(self, msg: Any) -> None:
        self._msg = msg
        self._children: dict[Path, list[str]] = {}
        for path in msg.listDir(streams=True, storages=True, includePrefix=False):
            self._children.setdefault(tuple(path[:-1]), []).append(path[-1])
        for names in self._children.values():
            names.sort()    # once: a storage's children are asked for again and again

    def children(self, path: Path) -> list[str]:
        return self._children.get(path, [])

    def is_storage(self, path: Path) -> bool:
        return path in self._children

    def read(self, path: Path) -> bytes | None:
        return self._msg.getStream(list(path), prefix=False)


def _numbered(names: list[str], prefix: str) -> list[tuple[int, str]]:
    """``__attach_version1.0_#0000000A`` → (10, name), in number order; odd names skipped."""
    found = []
    for name in names:
        if name.lower().startswith(prefix.lower()):
            try:
                found.append((int(name[len(prefix):], 16), name))
            except ValueError:
                continue
    return sorted(found)


def _properties(storages: _Storages, path: Path, header: int, codec: str) -> Properties:
    """The properties of one storage: fixed values from its property stream, the others read
    from their ``__substg1.0_`` streams when asked for."""
    values: dict[tuple[int, int], Callable[[], bytes | None]] = {}
    stream = storages.read(path + (PROPERTIES,)) or b""
    for offset in range(header, len(stream) - 15, 16):
        prop_type, prop_id = struct.unpack("<HH", stream[offset:offset + 4])
        if prop_type in FIXED_TYPES:
            value = stream[offset + 8:offset + 16]
            values[(prop_id, prop_type)] = lambda value=value: value
    for name in storages.children(path):
        if len(name) != 20 or not name.lower().startswith("__substg1.0_"):
            continue      # multi-valued properties ("…-00000001") are not read
        try:
            prop_id, prop_type = int(name[12:16], 16), int(name[16:20], 16)
        except ValueError:
            continue
        if prop_type != PT_OBJECT and not storages.is_storage(path + (name,)):
            values.setdefault((prop_id, prop_type),
                              lambda name=name: storages.read(path + (name,)))
    return Properties(values, codec)


def _item(storages: _Storages, path: Path, header: int, codec: str) -> OutlookItem:
    """The item stored at ``path`` (the file's root, or an attached item's storage)."""
    props = _properties(storages, path, header, codec)
    codec, codec_note = message_codec(props, codec)
    props.codec = codec
    names = storages.children(path)

    def recipients() -> Iterator[Properties]:
        for _, name in _numbered(names, "__recip_version1.0_#"):
            yield _properties(storages, path + (name,), _PART_HEADER, codec)

    def attachments() -> Iterator[OutlookAttachment]:
        for number, name in _numbered(names, "__attach_version1.0_#"):
            yield _attachment(storages, path + (name,), number, codec)

    return OutlookItem(props, recipients, attachments,
                       notes=(codec_note,) if codec_note else ())


def _attachment(storages: _Storages, path: Path, number: int, codec: str) -> OutlookAttachment:
    props = _properties(storages, path, _PART_HEADER, codec)
    names = {name.upper() for name in storages.children(path)}
    inner = path + (EMBEDDED,)
    method = props.integer(PR_ATTACH_METHOD)
    is_item = storages.is_storage(inner) and (
        method == ATTACH_EMBEDDED_MSG
        or (method is None and PROPERTIES in storages.children(inner)))
    if is_item:
        return OutlookAttachment(number, props, None,
                                 open_item=lambda: _item(storages, inner, _EMBEDDED_HEADER,
                                                         codec))

    def pieces() -> Iterator[bytes]:
        # One piece: the file is at most MAX_MSG_BYTES, and one attachment is held at a time.
        data = storages.read(path + (ATTACHED_FILE,))
        if data:
            yield data

    return OutlookAttachment(number, props, pieces if ATTACHED_FILE.upper() in names else None)


def _directory_in_head(head: bytes) -> bool:
    """Whether the compound file's first directory sector lies within ``head`` ([MS-CFB] 2.2:
    the sector shift at byte 30, the first directory sector at byte 48)."""
    if len(head) < 52:
        return False
    shift, = struct.unpack_from("<H", head, 30)
    first, = struct.unpack_from("<I", head, 48)
    size = 1 << shift if shift in (9, 12) else 512
    return first < 0xFFFFFFFA and (first + 2) * size <= len(head)


class OutlookMsgParser(Parser):
    NAME = "outlook-msg"
    DATA_FORMAT = "Outlook item (.msg, MS-OXMSG)"
    VERSION = "1"
    PRIORITY = 10          # over any parser that would claim a compound file in general
    NEEDS = ("extract_msg",)
    EXTRA = "outlook"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        if not sample.head.startswith(CFB_SIGNATURE):
            return False
        if sample.media_type == OUTLOOK_MEDIA_TYPE or any(name in sample.head
                                                          for name in _MSG_NAMES):
            return True
        # A compound file whose directory lies past the head (a .msg of thousands of
        # recipients) shows no stream names there: its name settles what the content cannot
        # show, and one that is no Outlook item is then rejected with why.
        return sample.name.lower().endswith(".msg") and not _directory_in_head(sample.head)

    def parse(self, source: SourceFile) -> Iterator[Event | Reject]:
        size = source.sample.size
        if size > MAX_MSG_BYTES:
            yield Reject(LOCATOR, f"the file is {size:,} bytes, over the "
                                  f"{MAX_MSG_BYTES // (1024 * 1024)} MiB limit for one Outlook "
                                  "item: not read")
            return
        try:
            msg = _open(source)
        except Exception as error:  # not a compound file, damaged, cut short
            yield Reject(LOCATOR, f"{source.name} could not be opened as an Outlook item: "
                                  f"{type(error).__name__}: {clean_text(str(error))[:500]}")
            return
        try:
            try:
                storages = _Storages(msg)
            except Exception as error:  # a directory olefile cannot walk
                yield Reject(LOCATOR, f"{source.name}: the compound file's directory could not "
                                      f"be read: {type(error).__name__}: "
                                      f"{clean_text(str(error))[:500]}")
                return
            if PROPERTIES not in storages.children(()):
                yield Reject(LOCATOR, f"{source.name} is a compound file without an Outlook "
                                      "property stream (__properties_version1.0): not an "
                                      "Outlook item")
                return
            yield from read_item(lambda: _item(storages, (), _TOP_HEADER, "cp1252"), LOCATOR,
                                 Context(), what=source.name)
        finally:
            try:
                msg.close()
            except Exception:  # closing a damaged file: nothing more to say about it
                pass


def _open(source: SourceFile) -> Any:
    # Imported here: extract-msg is an optional extra ("outlook"); without it this parser is
    # never asked (Parser.missing) and the file is listed with the extra named.
    import extract_msg
    return extract_msg.MSGFile(str(source.path), delayAttachments=True)
