"""Outlook data files: PST (Personal Folders, *File → Open & Export → Import/Export → Export to a
file → Outlook Data File (.pst)*) and OST (the offline copy of an Exchange or Outlook.com
mailbox).

Format: [MS-PST] (Outlook Personal Folders File Format): a node database of B-trees, heaps and
property contexts, in the ANSI (32-bit, ``wVer`` 14-15) or Unicode (64-bit, ``wVer`` 23; 36 for
4 KiB-page OSTs) layout, unencrypted or with the "compressible" byte permutation; each message is
a property context with a recipient table and attachment sub-nodes holding the same MAPI
properties as a .msg (formats.md §1.4). Read with libpff's Python binding, pypff
(``libpff-python`` >= 20231205), which opens the file read-only and reads one item at a time: a
2 GB file is never loaded whole. Attached files are hashed in 1 MiB pieces.

Recognised by content: the header's ``!BDN`` signature and its client magic, ``SM`` (PST, OST)
or ``AB`` (PAB); libmagic calls these ``application/vnd.ms-outlook``, as it calls a .msg.

What is read, in the order libpff lists it:

* Every folder, depth first, its path kept (``details.pst.folder``:
  ``Top of Personal Folders/Inbox``). Search folders (node type 3) are skipped: their contents
  are the messages of other folders, read there; a message met twice (by its node id) is read
  once.
* Each item of a folder, through :mod:`._outlook` (shared with the .msg parser, so a message
  from a PST and the same message from an mbox or .eml merge): e-mails and posts become events;
  contacts, distribution lists, appointments, tasks, notes and Outlook's own data are listed as
  rejects naming what they are. Locator: ``pst:/<folder path>/[<index in the folder>]``, the
  node id in ``details.pst.identifier``.
* Folder roles, as the mail parser reads Gmail labels: the store's Deleted Items
  (PR_IPM_WASTEBASKET_ENTRYID, 0x35E3) gives ``trash``, Sent Items (PR_IPM_SENTMAIL_ENTRYID,
  0x35E4) ``sent`` (direction outgoing), Drafts (PR_IPM_DRAFTS_ENTRYID, 0x36D7) ``draft``, Junk
  E-mail (the fifth PR_ADDITIONAL_REN_ENTRYIDS, 0x36D8) ``spam``; each folder inside one of them
  inherits the flag. Where the store does not say, the English names of those folders directly
  under the top of the mailbox are used, and the role says it was found by name. The Inbox and
  Outbox give no flag (an unsent message has MSGFLAG_UNSENT: ``draft``).
* Orphan items (``file.number_of_orphan_items``): items in the node index that no folder lists,
  often deleted ones. Each is read like a folder's item, with locator ``pst:orphan[<n>]`` and
  ``details.pst.recovered``; a note on the source says how many there were. libpff can also
  scan unallocated space for deleted items ("recovered items"), but pypff does not offer it:
  those are not read.

Not read: an Outlook item attached to a message (attachment method 5): pypff gives its raw
property heap, not an item, so it is listed as a reject with its class and subject (read from
that heap when it fits in one heap page); export the message as .msg to read it. Password
protection is not a cipher (the password is a CRC in the file): libpff reads such files anyway.

A damaged file: what libpff can reach is read; a folder or item it cannot read is a reject with
its locator and libpff's reason, and the walk goes on; a file libpff cannot open at all is one
reject naming the reason. A file shorter than the size its header records (ibFileEof) was cut
short: a reject (``pst:byte=<its size>``) says so, beside whatever could still be read.

Checked on the real files in ``realworld/email/pst`` (tests/parsers/test_realworld_outlook.py):
``rubymsg_attachAndInline.pst`` and ``rubymsg_msgInMsg.pst`` (aquasync/ruby-msg, Japanese folder
names; an unsent e-mail whose PR_BODY is blank and whose RTF body encapsulates HTML holding only
an inline picture, with that picture and a file hashed; an e-mail with an attached Outlook item,
named in a reject, and a picture);
``javalibpst_dist-list.pst`` (rjohnsondev/java-libpst: a contact, a distribution list, an
appointment and free/busy data, no mail). A truncated copy of a real file is rejected with
libpff's reason. Not checked on real data: OST files, ANSI PSTs, orphan items, folder roles
from PR_IPM_DRAFTS_ENTRYID and PR_ADDITIONAL_REN_ENTRYIDS (none of the samples has them), files
over a few hundred kilobytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._outlook import (
    ATTACH_EMBEDDED_MSG,
    PIECE_BYTES,
    PR_ATTACH_DATA,
    PR_ATTACH_METHOD,
    PR_MESSAGE_CLASS,
    PR_SUBJECT,
    PT_STRING8,
    PT_UNICODE,
    Context,
    OutlookAttachment,
    OutlookItem,
    Properties,
    codec_for_codepage,
    item_kind,
    message_codec,
    read_item,
    without_prefix_marker,
)
from courseline.timeline.event import Event, Reject, SourceNote, clean_text

LOCATOR = "pst"
MAX_FOLDER_DEPTH = 64
MAX_FOLDERS = 100_000
PST_MAGIC = b"!BDN"
CLIENT_MAGICS = {b"SM": "PST or OST", b"AB": "PAB (personal address book)"}
NID_TYPE_SEARCH_FOLDER = 0x03

# Message-store and folder properties naming the special folders ([MS-OXOSFLD] 2.2).
PR_IPM_SUBTREE_ENTRYID = 0x35E0
PR_IPM_OUTBOX_ENTRYID = 0x35E2
PR_IPM_WASTEBASKET_ENTRYID = 0x35E3
PR_IPM_SENTMAIL_ENTRYID = 0x35E4
PR_IPM_DRAFTS_ENTRYID = 0x36D7
PR_ADDITIONAL_REN_ENTRYIDS = 0x36D8     # multi-valued; the fifth is Junk E-mail
JUNK_INDEX = 4

ROLE_FLAGS = {"trash": "trash", "sent": "sent", "drafts": "draft", "junk": "spam"}
# English names Outlook gives these folders; used only where the store does not name them.
ROLE_NAMES = {"deleted items": "trash", "trash": "trash", "sent items": "sent",
              "sent": "sent", "sent mail": "sent", "drafts": "drafts", "junk e-mail": "junk",
              "junk email": "junk", "junk": "junk", "spam": "junk", "outbox": "outbox",
              "inbox": "inbox"}


@dataclass
class _Folder:
    folder: Any                      # pypff.folder
    path: tuple[str, ...]
    flags: frozenset[str]
    role: str | None
    depth: int


def _entry_nid(entry_id: bytes | None) -> int | None:
    """The node id an entry id names: its last four bytes ([MS-PST] 2.4.3.2, 24-byte ENTRYID)."""
    if not entry_id or len(entry_id) < 24:
        return None
    return struct.unpack("<I", entry_id[20:24])[0]


def _record_values(item: Any) -> dict[tuple[int, int], Any]:
    """(property id, type) → the record entry, for an item's first record set."""
    try:
        return _set_values(item.get_record_set(0)) if item.number_of_record_sets else {}
    except OSError:
        return {}


def _set_values(record_set: Any) -> dict[tuple[int, int], Any]:
    """(property id, type) → the record entry, for one record set (an item's, or a row of its
    recipient table)."""
    entries: dict[tuple[int, int], Any] = {}
    try:
        for index in range(record_set.number_of_entries):
            entry = record_set.get_entry(index)
            entries.setdefault((entry.entry_type, entry.value_type), entry)
    except OSError:
        pass            # a damaged record set: the properties that were read are kept
    return entries


def _lazy(entries: dict[tuple[int, int], Any], codec: str) -> Properties:
    """Properties whose values are read from their entries only when asked for."""
    return Properties({key: (lambda entry=entry: _entry_data(entry))
                       for key, entry in entries.items()}, codec)


def _entry_data(entry: Any) -> bytes | None:
    try:
        return entry.data
    except OSError:
        return None


def _properties(item: Any, codec: str) -> Properties:
    return _lazy(_record_values(item), codec)


def _multi_binary(data: bytes | None, index: int) -> bytes | None:
    """Value ``index`` of a multi-valued binary property as [MS-PST] 2.3.3.4.2 stores it: a
    count, that many offsets, then the values."""
    if not data or len(data) < 4:
        return None
    count = struct.unpack("<I", data[:4])[0]
    if index >= count or len(data) < 4 + 4 * count:
        return None
    offsets = struct.unpack(f"<{count}I", data[4:4 + 4 * count]) + (len(data),)
    start, end = offsets[index], offsets[index + 1]
    return data[start:end] if 0 <= start <= end <= len(data) else None


def _special_folders(file: Any, root: Any) -> tuple[dict[int, str], int | None]:
    """Node id → role of the folders the store names; and the top of the mailbox's node id."""
    roles: dict[int, str] = {}
    store_values: dict[tuple[int, int], Any] = {}
    try:
        store = file.get_message_store()
        if store is not None:
            store_values = _record_values(store)
    except OSError:
        pass
    for prop_id, role in ((PR_IPM_WASTEBASKET_ENTRYID, "trash"),
                          (PR_IPM_SENTMAIL_ENTRYID, "sent"),
                          (PR_IPM_OUTBOX_ENTRYID, "outbox")):
        nid = _nid_of(store_values, prop_id)
        if nid is not None:
            roles[nid] = role
    subtree = _nid_of(store_values, PR_IPM_SUBTREE_ENTRYID)
    # Drafts and Junk E-mail are named on the root folder and the top of the mailbox.
    holders = [root] + ([_child_with_nid(root, subtree)] if subtree is not None else [])
    for holder in holders:
        if holder is None:
            continue
        values = _record_values(holder)
        nid = _nid_of(values, PR_IPM_DRAFTS_ENTRYID)
        if nid is not None:
            roles.setdefault(nid, "drafts")
        junk = _nid_of(values, PR_ADDITIONAL_REN_ENTRYIDS, JUNK_INDEX)
        if junk is not None:
            roles.setdefault(junk, "junk")
    return roles, subtree


def _nid_of(values: dict[tuple[int, int], Any], prop_id: int,
            index: int | None = None) -> int | None:
    """The folder an entry-ID property names (value ``index`` of a multi-valued one), or None."""
    entry = values.get((prop_id, 0x0102 if index is None else 0x1102))
    if entry is None:
        return None
    data = _entry_data(entry)
    return _entry_nid(data if index is None else _multi_binary(data, index))


def _child_with_nid(folder: Any, nid: int) -> Any:
    try:
        for index in range(folder.number_of_sub_folders):
            child = folder.get_sub_folder(index)
            if child.identifier == nid:
                return child
    except OSError:
        return None
    return None


def _quoted(name: str) -> str:
    """A folder name as a locator segment: '/' and '%' escaped, so the path splits again."""
    return name.replace("%", "%25").replace("/", "%2F")


def _folder_locator(path: tuple[str, ...]) -> str:
    return f"{LOCATOR}:/" + "/".join(_quoted(part) for part in path)


def _peek_heap(raw: bytes) -> tuple[str | None, str | None]:
    """(message class, subject) of an attached item's raw property context, when it fits in one
    heap page ([MS-PST] 2.3.1 heap-on-node, 2.3.2 BTH, 2.3.3 property context); else Nones.
    Only used to say what an item pypff cannot open is."""
    try:
        page_map, signature, client, user_root = struct.unpack("<HBBI", raw[:8])
        if signature != 0xEC or client != 0xBC:
            return None, None
        count = struct.unpack("<H", raw[page_map:page_map + 2])[0]
        offsets = struct.unpack(f"<{count + 1}H", raw[page_map + 4:page_map + 6 + 2 * count])

        def allocation(hid: int) -> bytes | None:
            index, block = (hid >> 5) & 0x7FF, hid >> 16
            if hid & 0x1F or block or not 1 <= index <= count:
                return None
            return raw[offsets[index - 1]:offsets[index]]

        header = allocation(user_root) or b""
        if len(header) < 8 or header[0] != 0xB5 or header[3] != 0:
            return None, None
        records = allocation(struct.unpack("<I", header[4:8])[0]) or b""
        found: dict[int, str] = {}
        for offset in range(0, len(records) - 7, 8):
            prop_id, prop_type, hnid = struct.unpack("<HHI", records[offset:offset + 8])
            if prop_id in (PR_MESSAGE_CLASS, PR_SUBJECT) and prop_type in (PT_UNICODE,
                                                                          PT_STRING8):
                value = allocation(hnid)
                if value is not None:
                    found[prop_id] = (value.decode("utf-16-le", "replace")
                                      if prop_type == PT_UNICODE
                                      else value.decode("cp1252", "replace"))
        return found.get(PR_MESSAGE_CLASS), without_prefix_marker(found.get(PR_SUBJECT))
    except (struct.error, IndexError, ValueError):
        return None, None


def _unopenable(attachment: Any) -> str:
    described = "an Outlook item"
    try:
        head = attachment.read_buffer(min(attachment.size, 64 * 1024)) if attachment.size else b""
        message_class, subject = _peek_heap(head)
    except OSError:
        message_class, subject = None, None
    if message_class:
        _, words = item_kind(message_class)
        described = f"{words} ({clean_text(message_class)[:200]})"
    if subject:
        described += f" {clean_text(subject)[:200]!r}"
    return (f"{described} attached to this item: libpff's Python binding (pypff) does not "
            "open items attached inside a PST, so it is not read; it remains in the evidence "
            "copy (export the message from Outlook as .msg to read it)")


def _item(pypff_item: Any, codec: str) -> OutlookItem:
    props = _properties(pypff_item, codec)
    codec, codec_note = message_codec(props, codec)
    props.codec = codec

    def recipients() -> Iterator[Properties]:
        table = getattr(pypff_item, "recipients", None)
        if table is None:
            return
        for index in range(table.number_of_record_sets):
            yield _lazy(_set_values(table.get_record_set(index)), codec)

    def attachments() -> Iterator[OutlookAttachment]:
        count = getattr(pypff_item, "number_of_attachments", 0) or 0
        for index in range(count):   # _bounded_attachments stops, and says so, at the limit
            yield _attachment(pypff_item.get_attachment(index), index, codec)

    return OutlookItem(props, recipients, attachments,
                       notes=(codec_note,) if codec_note else ())


def _attachment(attachment: Any, number: int, codec: str) -> OutlookAttachment:
    props = _properties(attachment, codec)
    if props.integer(PR_ATTACH_METHOD) == ATTACH_EMBEDDED_MSG:
        return OutlookAttachment(number, props, None, unopenable=_unopenable(attachment))

    def pieces() -> Iterator[bytes]:
        attachment.seek_offset(0, 0)
        remaining = attachment.size or 0
        while remaining > 0:
            piece = attachment.read_buffer(min(PIECE_BYTES, remaining))
            if not piece:
                raise OSError(f"the attachment ends {remaining:,} bytes before its stated size")
            remaining -= len(piece)
            yield piece

    return OutlookAttachment(number, props, pieces if props.has(PR_ATTACH_DATA) else None)


class PstParser(Parser):
    NAME = "pst"
    DATA_FORMAT = "Outlook data file (PST/OST, MS-PST)"
    VERSION = "1"
    PRIORITY = 10
    NEEDS = ("pypff",)
    EXTRA = "outlook"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        return sample.head[:4] == PST_MAGIC and sample.head[8:10] in CLIENT_MAGICS

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        # Imported here: pypff is an optional extra ("outlook").
        import pypff

        pst = pypff.file()
        try:
            pst.open(str(source.path), "r")
        except Exception as error:  # not a PST, damaged header, cut short
            yield Reject(LOCATOR, f"{source.name} could not be opened by libpff: "
                                  f"{clean_text(str(error))[:500]}")
            return
        try:
            shortfall = _cut_short(source.sample)
            if shortfall is not None:
                yield shortfall
            yield from _Walk(pst).records()
        finally:
            pst.close()


def _declared_size(head: bytes) -> int | None:
    """The file size the header's ROOT structure records (ibFileEof, [MS-PST] 2.2.2.5): at
    byte 184 (8 bytes) of a Unicode file, 168 (4 bytes) of an ANSI one."""
    version = struct.unpack("<H", head[10:12])[0] if len(head) >= 12 else 0
    if version >= 23 and len(head) >= 192:
        return struct.unpack("<Q", head[184:192])[0]
    if version in (14, 15) and len(head) >= 172:
        return struct.unpack("<I", head[168:172])[0]
    return None


def _cut_short(sample: Sample) -> Reject | None:
    declared = _declared_size(sample.head)
    if declared is None or sample.size >= declared:
        return None
    return Reject(f"{LOCATOR}:byte={sample.size}",
                  f"the file ends at byte {sample.size:,} but its header says it is "
                  f"{declared:,} bytes long: it was cut short, and items stored after the cut "
                  "are missing; what libpff could read is listed")


class _Walk:
    """One pass over a PST: folders depth first, then orphan items."""

    def __init__(self, pst: Any) -> None:
        self.pst = pst
        self.codec = "cp1252"
        self.seen: set[int] = set()
        self.skipped_search: list[str] = []
        self.read_twice = 0     # items listed a second time (an orphan a folder also holds)
        self.folders = 0

    def records(self) -> Iterator[Event | Reject | SourceNote]:
        try:
            codepage = self.pst.ascii_codepage
            if isinstance(codepage, bytes):
                codepage = codepage.decode("ascii", "replace")
            self.codec = codec_for_codepage(int(str(codepage).lower().removeprefix("cp"))) \
                or "cp1252"
        except (ValueError, OSError):
            pass
        try:
            root = self.pst.get_root_folder()
        except Exception as error:
            yield Reject(LOCATOR, f"the folder tree could not be read: "
                                  f"{clean_text(str(error))[:500]}")
            root = None
        if root is not None:
            roles, subtree = _special_folders(self.pst, root)
            yield from self._folders(root, roles, subtree)
        yield from self._orphans()
        if self.skipped_search:
            shown = ", ".join(repr(name) for name in self.skipped_search[:10])
            yield SourceNote(f"{len(self.skipped_search)} search folder(s) ({shown}) were not "
                             "read as folders: they list messages kept in other folders, which "
                             "are read there")

    def _folders(self, root: Any, roles: dict[int, str],
                 subtree: int | None) -> Iterator[Event | Reject]:
        stack = [_Folder(root, (), frozenset(), None, 0)]
        while stack:
            here = stack.pop()
            self.folders += 1
            if self.folders > MAX_FOLDERS:
                yield Reject(_folder_locator(here.path), f"the file has more than "
                                                         f"{MAX_FOLDERS:,} folders; the rest "
                                                         "were not read")
                return
            yield from self._messages(here)
            children = list(self._children(here, roles, subtree))
            for child in reversed(children):
                if isinstance(child, Reject):
                    yield child
                else:
                    stack.append(child)

    def _children(self, here: _Folder, roles: dict[int, str],
                  subtree: int | None) -> Iterator[_Folder | Reject]:
        try:
            count = here.folder.number_of_sub_folders
        except Exception as error:
            yield Reject(_folder_locator(here.path), "its sub-folders could not be listed: "
                                                     f"{clean_text(str(error))[:500]}")
            return
        top_of_mailbox = here.folder.identifier == subtree if subtree is not None \
            else here.depth == 1
        for index in range(count):
            try:
                folder = here.folder.get_sub_folder(index)
                name = clean_text(folder.name or f"[{index}]")
                nid = folder.identifier
            except Exception as error:
                yield Reject(f"{_folder_locator(here.path)}/folder[{index}]",
                             f"the folder could not be read: {clean_text(str(error))[:500]}")
                continue
            path = here.path + (name,)
            if nid is not None and nid & 0x1F == NID_TYPE_SEARCH_FOLDER:
                self.skipped_search.append("/".join(path))
                continue
            if here.depth + 1 > MAX_FOLDER_DEPTH:
                yield Reject(_folder_locator(path), f"folders nested deeper than "
                                                    f"{MAX_FOLDER_DEPTH} levels were not read")
                continue
            role = roles.get(nid) if nid is not None else None
            found_by = "store"
            if role is None and top_of_mailbox:
                role, found_by = ROLE_NAMES.get(name.strip().lower()), "name"
            flags = here.flags | ({ROLE_FLAGS[role]} if role in ROLE_FLAGS else set())
            shown_role = f"{role} (by its name)" if role and found_by == "name" else role
            yield _Folder(folder, path, frozenset(flags), shown_role or here.role,
                          here.depth + 1)

    def _messages(self, here: _Folder) -> Iterator[Event | Reject]:
        where = _folder_locator(here.path)
        try:
            count = here.folder.number_of_sub_messages
        except Exception as error:
            yield Reject(where, f"the folder's messages could not be listed: "
                                f"{clean_text(str(error))[:500]}")
            return
        folder_name = "/".join(here.path)

        def context(nid: int) -> Context:
            pst_details: dict[str, Any] = {"folder": folder_name, "identifier": nid}
            if here.role:
                pst_details["folder_role"] = here.role
            return Context(flags=here.flags, details={"pst": pst_details})

        yield from self._items(count, here.folder.get_sub_message,
                               lambda index: f"{where}/[{index}]", context)

    def _items(self, count: int, get: Callable[[int], Any], locator_of: Callable[[int], str],
               context_of: Callable[[int], Context]) -> Iterator[Event | Reject]:
        """Each of ``count`` items, read once in the whole file (a message some folder and the
        orphan list both hold is one message); an item that cannot be opened is a Reject."""
        for index in range(count):
            locator = locator_of(index)
            try:
                item = get(index)
                nid = item.identifier
            except Exception as error:
                yield Reject(locator, f"could not be read: {clean_text(str(error))[:500]}")
                continue
            if nid in self.seen:
                self.read_twice += 1
                continue
            self.seen.add(nid)
            yield from read_item(lambda item=item: _item(item, self.codec), locator,
                                 context_of(nid))

    def _orphans(self) -> Iterator[Event | Reject | SourceNote]:
        try:
            count = self.pst.number_of_orphan_items
        except Exception as error:
            yield SourceNote(f"libpff could not count the file's orphan items (often deleted "
                             f"ones), so none were read: {clean_text(str(error))[:300]}")
            return
        if not count:
            return
        yield SourceNote(f"libpff found {count:,} orphan item(s): items in the file's index "
                         "that no folder lists (often deleted ones); each is read with "
                         "locator pst:orphan[n], unless a folder holds it too")

        def context(nid: int) -> Context:
            return Context(details={"pst": {
                "identifier": nid,
                "recovered": "an orphan item: in the file's index, in no folder"}},
                notes=("recovered: an orphan item of the PST, listed by no folder (often a "
                       "deleted item)",))

        already = self.read_twice
        yield from self._items(count, self.pst.get_orphan_item,
                               lambda index: f"{LOCATOR}:orphan[{index}]", context)
        if self.read_twice > already:
            yield SourceNote(f"{self.read_twice - already:,} orphan item(s) are also in a "
                             "folder: each was read once, there")
