"""The PST/OST parser: recognition, files libpff cannot open, and the walk (folders, roles and
flags, search folders, orphan items, damaged items, attachments) on a synthetic mailbox given
to the walk through objects shaped as pypff's (nothing in our stack writes PST files; the real
files are read in test_realworld_outlook.py).

Synthetic people only: addresses at example.org / example.net.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

import courseline.parsers.pst as pst_module
from courseline.collectors.identify import sample_file
from courseline.demo_msg import filetime
from courseline.parsers import extra_needed_for, parser_for
from courseline.parsers.outlook_msg import OutlookMsgParser
from courseline.parsers.pst import (
    PR_ADDITIONAL_REN_ENTRYIDS,
    PR_IPM_SENTMAIL_ENTRYID,
    PR_IPM_SUBTREE_ENTRYID,
    PR_IPM_WASTEBASKET_ENTRYID,
    PstParser,
    _folder_locator,
    _multi_binary,
    _peek_heap,
    _Walk,
)
from courseline.timeline.event import Event, Reject, SourceNote
from tests_support import check_record, parsed, source_file

VICTIM = "person.a@example.org"
SUSPECT = "x.suspect@example.net"
SENT = datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)
PROVIDER = bytes(range(16))


def pst_header(client: bytes = b"SM", version: int = 23) -> bytes:
    return b"!BDN" + b"\0" * 4 + client + struct.pack("<H", version) + b"\0" * 500


# --- pypff-shaped objects ------------------------------------------------------------------------

@dataclass
class Entry:
    entry_type: int
    value_type: int
    raw: bytes | None

    @property
    def data(self) -> bytes | None:
        if self.raw is None:
            raise OSError("libpff_record_entry_get_data: unable to read the value")
        return self.raw


@dataclass
class RecordSet:
    entries: list[Entry]

    @property
    def number_of_entries(self) -> int:
        return len(self.entries)

    def get_entry(self, index: int) -> Entry:
        return self.entries[index]


def text(prop_id: int, value: str) -> Entry:
    return Entry(prop_id, 0x1F, value.encode("utf-16-le"))


def long(prop_id: int, value: int) -> Entry:
    return Entry(prop_id, 0x03, struct.pack("<i", value))


def time(prop_id: int, value: datetime) -> Entry:
    return Entry(prop_id, 0x40, struct.pack("<Q", filetime(value)))


def entry_id(nid: int) -> bytes:
    return b"\0" * 4 + PROVIDER + struct.pack("<I", nid)


class Item:
    """A pypff.message (or folder, or store): record sets, identifier."""

    def __init__(self, identifier: int, entries: list[Entry], **more: Any) -> None:
        self.identifier = identifier
        self._sets = [RecordSet(entries)]
        for name, value in more.items():
            setattr(self, name, value)

    @property
    def number_of_record_sets(self) -> int:
        return len(self._sets)

    def get_record_set(self, index: int) -> RecordSet:
        return self._sets[index]


class Recipients:
    def __init__(self, rows: list[list[Entry]]) -> None:
        self._sets = [RecordSet(row) for row in rows]

    @property
    def number_of_record_sets(self) -> int:
        return len(self._sets)

    def get_record_set(self, index: int) -> RecordSet:
        return self._sets[index]


class AttachmentItem(Item):
    def __init__(self, entries: list[Entry], data: bytes) -> None:
        super().__init__(0, entries)
        self._data, self._at = data, 0
        self.size = len(data)

    def seek_offset(self, offset: int, whence: int) -> None:
        self._at = offset

    def read_buffer(self, size: int) -> bytes:
        piece = self._data[self._at:self._at + size]
        self._at += len(piece)
        return piece


def message(identifier: int, subject: str, *, message_class: str = "IPM.Note",
            sender: str = SUSPECT, to: str = VICTIM, flags: int = 1,
            attachments: list[AttachmentItem] = ()) -> Item:
    entries = [text(0x001A, message_class), text(0x0037, "\x01\x01" + subject),
               time(0x0039, SENT), text(0x5D02, sender), text(0x1000, f"{subject}.\r\n"),
               text(0x1035, f"<{identifier}@example.net>"), long(0x0E07, flags)]
    item = Item(identifier, entries,
                recipients=Recipients([[long(0x0C15, 1), text(0x39FE, to)]]))
    item.number_of_attachments = len(attachments)
    item.get_attachment = lambda index: attachments[index]
    return item


@dataclass
class Folder:
    name: str | None
    identifier: int
    messages: list[Any] = field(default_factory=list)
    folders: list[Folder] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    broken_at: int | None = None          # get_sub_message raises from this index on

    @property
    def number_of_sub_folders(self) -> int:
        return len(self.folders)

    def get_sub_folder(self, index: int) -> Folder:
        return self.folders[index]

    @property
    def number_of_sub_messages(self) -> int:
        return len(self.messages)

    def get_sub_message(self, index: int) -> Any:
        if self.broken_at is not None and index >= self.broken_at:
            raise OSError("libpff_folder_get_sub_message: unable to retrieve sub message")
        return self.messages[index]

    @property
    def number_of_record_sets(self) -> int:
        return 1

    def get_record_set(self, index: int) -> RecordSet:
        return RecordSet(self.entries)


class Pst:
    ascii_codepage = b"cp1252"

    def __init__(self, root: Folder, store: list[Entry], orphans: list[Any] = ()) -> None:
        self.root, self.store, self.orphans = root, Item(0x21, store), list(orphans)

    def get_root_folder(self) -> Folder:
        return self.root

    def get_message_store(self) -> Item:
        return self.store

    @property
    def number_of_orphan_items(self) -> int:
        return len(self.orphans)

    def get_orphan_item(self, index: int) -> Any:
        return self.orphans[index]


def mailbox(**broken: int) -> Pst:
    """A mailbox: Inbox (two messages), Sent Items, Deleted Items with a sub-folder, Junk E-mail
    named only by its English name, Contacts, a search folder, and an orphan item."""
    top = 0x8022
    inbox = Folder("Inbox", 0x8082, [message(0x200004, "one"), message(0x200024, "two")],
                   broken_at=broken.get("inbox"))
    sent = Folder("Sent Items", 0x80C2, [message(0x200044, "reply", sender=VICTIM,
                                                  to=SUSPECT)])
    old = Folder("Old", 0x8102, [message(0x200064, "old")])
    deleted = Folder("Deleted Items", 0x8062, [], [old])
    junk = Folder("Junk E-mail", 0x8182, [message(0x200084, "junk")])
    contacts = Folder("Contacts", 0x81A2, [message(0x2000A4, "Jo Witness",
                                                   message_class="IPM.Contact")])
    search = Folder("Everything", 0x1223, [message(0x200004, "one")])   # node type 3
    root_of_mailbox = Folder("Top of Personal Folders", top,
                             folders=[deleted, inbox, sent, junk, contacts])
    root = Folder(None, 0x122, folders=[root_of_mailbox, search])
    store = [Entry(PR_IPM_SUBTREE_ENTRYID, 0x102, entry_id(top)),
             Entry(PR_IPM_WASTEBASKET_ENTRYID, 0x102, entry_id(0x8062)),
             Entry(PR_IPM_SENTMAIL_ENTRYID, 0x102, entry_id(0x80C2))]
    return Pst(root, store, orphans=[message(0x2000C4, "recovered"),
                                     message(0x200004, "one")])


def walk(pst: Pst) -> list:
    records = list(_Walk(pst).records())
    for record in records:
        check_record(record)
    return records


def by_subject(records: list) -> dict[str, Event]:
    return {r.subject: r for r in records if isinstance(r, Event)}


# --- Recognition and files libpff refuses --------------------------------------------------------

@pytest.mark.parametrize("client", [b"SM", b"AB"])
def test_recognised_by_its_header(tmp_path, client):
    path = tmp_path / "mailbox.bin"
    path.write_bytes(pst_header(client))
    assert PstParser.recognises(sample_file(path))
    assert not OutlookMsgParser.recognises(sample_file(path))


def test_other_files_are_not_claimed(tmp_path):
    for data in (b"!BDN" + b"\0" * 4 + b"XX" + b"\0" * 100, b"From x@example.net\n",
                 bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600):
        path = tmp_path / "mail.pst"
        path.write_bytes(data)
        assert not PstParser.recognises(sample_file(path))


def test_a_file_libpff_cannot_open_is_one_reject(tmp_path, hang_guard):
    path = tmp_path / "damaged.pst"
    path.write_bytes(pst_header() + b"\xff" * 4096)
    with hang_guard():
        records = parsed(PstParser, source_file(path))
    [reject] = records
    assert isinstance(reject, Reject) and reject.locator == "pst"
    assert reject.reason.startswith("damaged.pst could not be opened by libpff")


def test_without_the_outlook_extra_the_file_is_explained(monkeypatch, tmp_path):
    monkeypatch.setattr(PstParser, "NEEDS", ("courseline_no_such_module",))
    path = tmp_path / "mailbox.pst"
    path.write_bytes(pst_header())
    assert parser_for(sample_file(path)) is None
    assert extra_needed_for(sample_file(path)) == "outlook"


# --- The walk ------------------------------------------------------------------------------------

def test_every_folder_is_walked_with_its_path_and_role():
    records = walk(mailbox())
    found = by_subject(records)
    assert set(found) == {"one", "two", "reply", "old", "junk", "recovered"}
    assert found["one"].locator == "pst:/Top of Personal Folders/Inbox/[0]"
    assert found["two"].locator == "pst:/Top of Personal Folders/Inbox/[1]"
    assert found["one"].details["pst"] == {"folder": "Top of Personal Folders/Inbox",
                                           "identifier": 0x200004,
                                           "folder_role": "inbox (by its name)"}
    assert found["one"].subject == "one"          # the PST's subject-prefix marker is gone
    assert found["one"].time.value == SENT
    assert found["one"].details["message_id"] == "<2097156@example.net>"


def test_folder_roles_become_the_mail_parsers_flags():
    found = by_subject(walk(mailbox()))
    assert found["one"].flags == [] and found["one"].direction == "unknown"
    assert found["reply"].flags == ["sent"] and found["reply"].direction == "outgoing"
    assert found["reply"].details["pst"]["folder_role"] == "sent"
    assert found["old"].flags == ["trash"]        # a folder inside Deleted Items
    assert found["old"].details["pst"]["folder"] == "Top of Personal Folders/Deleted Items/Old"
    assert found["junk"].flags == ["spam"]
    assert found["junk"].details["pst"]["folder_role"] == "junk (by its name)"


def test_contacts_are_listed_not_mail_and_search_folders_are_skipped():
    records = walk(mailbox())
    reasons = {r.locator: r.reason for r in records if isinstance(r, Reject)}
    assert reasons == {"pst:/Top of Personal Folders/Contacts/[0]":
                       "an Outlook contact (IPM.Contact) 'Jo Witness', not mail: listed here, "
                       "not placed on the timeline"}
    notes = [r.text for r in records if isinstance(r, SourceNote)]
    assert any("1 search folder(s) ('Everything')" in note for note in notes)


def test_orphan_items_are_read_as_recovered_and_never_twice():
    records = walk(mailbox())
    recovered = by_subject(records)["recovered"]
    assert recovered.locator == "pst:orphan[0]"
    assert "orphan" in recovered.details["pst"]["recovered"]
    assert any("recovered" in note for note in recovered.notes)
    assert [r.subject for r in records if isinstance(r, Event)].count("one") == 1
    notes = [r.text for r in records if isinstance(r, SourceNote)]
    assert any(note.startswith("libpff found 2 orphan item(s)") for note in notes)
    assert "1 orphan item(s) are also in a folder: each was read once, there" in notes


def test_a_damaged_item_keeps_what_came_before_and_says_where():
    records = walk(mailbox(inbox=1))
    found = by_subject(records)
    assert "one" in found and "two" not in found and "reply" in found
    [reject] = [r for r in records if isinstance(r, Reject) and "Inbox" in r.locator]
    assert reject.locator == "pst:/Top of Personal Folders/Inbox/[1]"
    assert "unable to retrieve sub message" in reject.reason


def test_the_store_roles_win_over_names_and_junk_comes_from_its_entry_id():
    pst = mailbox()
    top = pst.root.folders[0]
    # Junk named by PR_ADDITIONAL_REN_ENTRYIDS on the top of the mailbox, under another name.
    junk_ids = [entry_id(n) for n in (1, 2, 3, 4, 0x81C2)]
    offsets, data = [], b""
    for value in junk_ids:
        offsets.append(4 + 4 * len(junk_ids) + len(data))
        data += value
    top.entries = [Entry(PR_ADDITIONAL_REN_ENTRYIDS, 0x1102,
                         struct.pack(f"<I{len(junk_ids)}I", len(junk_ids), *offsets) + data)]
    top.folders.append(Folder("Courrier indésirable", 0x81C2, [message(0x2000E4, "indésirable")]))
    found = by_subject(walk(pst))
    assert found["indésirable"].flags == ["spam"]
    assert found["indésirable"].details["pst"]["folder_role"] == "junk"


def test_attachments_are_hashed_in_pieces_and_attached_items_named(kit, monkeypatch):
    monkeypatch.setattr(pst_module, "PIECE_BYTES", 7)   # the picture is read in many pieces
    picture = AttachmentItem([long(0x3705, 1), text(0x3707, "car.png"),
                              Entry(0x3701, 0x102, b"")], kit.png() * 1)
    embedded = AttachmentItem([long(0x3705, 5), text(0x3001, "original")], b"\0" * 40)
    pst = mailbox()
    pst.root.folders[0].folders[1].messages = [message(0x200004, "with files",
                                                       attachments=[picture, embedded])]
    records = walk(pst)
    event = by_subject(records)["with files"]
    [attachment] = event.attachments
    assert (attachment.name, attachment.size, attachment.media_type) == (
        "car.png", len(kit.png()), "image/png")
    assert event.details["attached_items"][0]["locator"] == \
        "pst:/Top of Personal Folders/Inbox/[0]/attachment[1]/msg"
    [reject] = [r for r in records if isinstance(r, Reject) and "attachment[1]" in r.locator]
    assert "does not open items attached inside a PST" in reject.reason


def test_folder_names_are_escaped_in_locators():
    assert _folder_locator(("Top", "a/b", "100%")) == "pst:/Top/a%2Fb/100%25"


def test_multi_valued_binary_values_are_bounded():
    assert _multi_binary(b"", 0) is None
    assert _multi_binary(struct.pack("<I", 1000), 4) is None
    assert _multi_binary(struct.pack("<II", 1, 8) + b"abc", 0) == b"abc"
    assert _multi_binary(struct.pack("<II", 1, 99) + b"abc", 0) is None


def test_the_class_and_subject_of_an_attached_item_are_read_from_its_heap():
    # [MS-PST] 2.3.1 heap on node: header, allocations, page map; 2.3.2 BTH; 2.3.3 PC.
    cls, subject = "IPM.Note".encode("utf-16-le"), "\x01\x01Hi".encode("utf-16-le")
    bth = bytes([0xB5, 2, 6, 0]) + struct.pack("<I", 2 << 5)        # records at HID index 2
    records = (struct.pack("<HHI", 0x001A, 0x1F, 3 << 5)
               + struct.pack("<HHI", 0x0037, 0x1F, 4 << 5))
    allocations = [bth, records, cls, subject]
    body, offsets = b"", [12]
    for allocation in allocations:
        body += allocation
        offsets.append(12 + len(body))
    page_map = 12 + len(body)
    raw = (struct.pack("<HBBI", page_map, 0xEC, 0xBC, 1 << 5) + b"\0" * 4 + body
           + struct.pack("<HH", len(allocations), 0)
           + struct.pack(f"<{len(offsets)}H", *offsets))
    assert _peek_heap(raw) == ("IPM.Note", "Hi")
    assert _peek_heap(b"\0" * 40) == (None, None)
    assert _peek_heap(raw[:20]) == (None, None)


def test_a_real_looking_path_reads_through_the_parser(tmp_path):
    """The parser's entry point on a file libpff refuses part-way: never a crash."""
    path = tmp_path / "cut.pst"
    path.write_bytes(pst_header() + bytes(range(256)) * 64)
    [reject] = PstParser().parse(source_file(path))
    assert reject.reason.startswith("cut.pst could not be opened by libpff")



class BrokenTable:
    """A recipient table libpff fails to read (a damaged PST): it raises as pypff does."""

    @property
    def number_of_record_sets(self) -> int:
        raise OSError("pypff_message_get_recipients: unable to retrieve recipients")


def test_a_damaged_recipient_or_attachment_table_keeps_the_message_and_says_why():
    broken_recipients = message(0x200004, "no table")
    broken_recipients.recipients = BrokenTable()
    broken_attachments = message(0x200024, "no attachments")

    def damaged(index: int) -> AttachmentItem:
        raise OSError("pypff_message_get_attachment_by_index: unable to retrieve")
    broken_attachments.number_of_attachments, broken_attachments.get_attachment = 2, damaged
    pst = Pst(Folder(None, 0x122, folders=[Folder("Inbox", 0x8082,
                                                  [broken_recipients, broken_attachments])]),
              [], orphans=[])
    events = by_subject(walk(pst))
    assert set(events) == {"no table", "no attachments"}
    assert any("the recipient table could not be read" in n for n in events["no table"].notes)
    assert any("the attachment table could not be read" in n
               for n in events["no attachments"].notes)
