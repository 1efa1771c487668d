"""Thunderbird profile folders: each mail folder is an mbox file with no extension, beside a
``.msf`` index (Mork).

Format: a profile (Linux ``~/.thunderbird/<profile>/``, snap ``~/snap/thunderbird/common/
.thunderbird/``, flatpak ``~/.var/app/org.mozilla.Thunderbird/.thunderbird/``; macOS
``~/Library/Thunderbird/Profiles/<profile>/``; Windows ``%APPDATA%\\Thunderbird\\Profiles\\
<profile>\\``) keeps POP and local mail in ``Mail/<account>/`` (``Mail/Local Folders/Inbox``),
and the offline copies of IMAP folders in ``ImapMail/<server>/`` (``ImapMail/imap.example.org/
INBOX``; with "keep messages on this computer" off, only the ``.msf`` is there). A sub-folder
of ``Inbox`` is the file ``Inbox.sbd/<name>``. Each folder file is an mbox (read by
:class:`.mbox.MboxParser`: Thunderbird writes ``From - <asctime>`` separator lines) and each
message carries Thunderbird's ``X-Mozilla-Status`` (4 hex digits, the low 16 bits of its
message flags) and ``X-Mozilla-Status2`` (8 hex digits, the high 16 bits); the flag values are
those of ``mailnews/base/public/nsMsgMessageFlags.idl`` and the header formats
``X_MOZILLA_STATUS_FORMAT``/``X_MOZILLA_STATUS2_FORMAT`` with ``flags & 0xFFFF`` and
``flags & 0xFFFF0000`` where Thunderbird writes the headers (``mailnews/base/src/
nsMsgFolderCompactor.cpp``; mozilla/releases-comm-central, read in the code search corpus). The
same table is in V. Bernat, "Thunderbird's X-Mozilla-Status and X-Mozilla-Status2 flags"
(https://vincent.bernat.ch/en/x-mozilla-status, from Thunderbird 102's source).

What is kept beyond what the mbox parser gives (:mod:`.maildir` holds the shared helpers):

* The folder: ``details.mail_folder`` (``Inbox/Sub`` for ``Inbox.sbd/Sub``),
  ``details.thunderbird_account`` (``Local Folders``, ``imap.example.org``) and
  ``details.thunderbird_store`` (``Mail`` or ``ImapMail``). Folder names become flags as Gmail
  labels do (Sent → ``sent`` and outgoing, Drafts → ``draft``, Trash → ``trash``, Junk →
  ``spam``; also the names IMAP servers give them, e.g. Gmail's ``[Gmail].sbd/Sent Mail`` and
  ``Bin``); Inbox, Archives, Templates, "Unsent Messages" and other names are kept only.
  An IMAP folder's file has the server's name for it, so names in other languages change
  nothing (they are kept).
* ``X-Mozilla-Status``/``Status2`` verbatim and in words (``details.mozilla_flags``), and
  ``X-Mozilla-Keys`` (tags) verbatim. Bit 0x0008 (Expunged: "this message has already gone, but
  the folder hasn't been compacted yet") and bit 0x00200000 (IMAPDeleted) make the event
  ``deleted``: the message was deleted in Thunderbird and is still in the file until the folder
  is compacted; it is kept and marked, never dropped. Forwarded (0x1000) stays in details: the
  event flag ``forwarded`` means "a forwarded copy", not "the owner forwarded it".

A file is taken to be in a profile when it has a ``Mail/<account>/`` or ``ImapMail/<server>/``
folder above it, a ``.sbd`` folder above it, or its ``<name>.msf`` beside it in the export.
A Thunderbird mbox elsewhere (an ImportExportTools NG export) still gets the status headers
read, but no folder: its name was chosen by whoever exported it.

Recognition: an mbox (the mbox parser's test) whose first message has an ``X-Mozilla-Status``
header, or whose first separator is Thunderbird's ``From - ``; where the sample carries the
case path (``Sample.case_path``), an mbox in a profile's layout too. Other mboxes
are the mbox parser's, with the same events, so nothing changes for them.

``.msf`` files (and the ``.mab`` address books of Thunderbird before 78) are Mork databases:
:class:`MorkParser` claims them and leaves a note in the manifest naming the folder the index
belongs to, and saying when that folder's file is not in the export (an IMAP folder kept
online only: its messages are on the server, and the index may still list their senders,
subjects and dates). Mork is not read.

Checked on synthetic profiles only (tests/parsers/test_thunderbird.py): no real Thunderbird
profile is in ``realworld/``. Not checked on real data: whether Thunderbird's offline IMAP
copies always carry X-Mozilla-Status (the profile layout is recognised without it when the case
path is known), Thunderbird's maildir store (read by :class:`.maildir.MaildirParser`), that
Thunderbird names the files of its special folders in English whatever the interface language,
and the Mork header of ``.msf`` files written by current Thunderbird versions (``// <!--
<mdb:mork:z v="1.4"/> -->`` is the line Mork readers and Thunderbird add-ons test for, seen in
the code search corpus, not in a seized profile).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers.maildir import (
    StoreFacts,
    folder_flags,
    merge_facts,
    mozilla_facts,
    path_parts,
    sbd_parents,
)
from courseline.parsers.mbox import MboxParser, _Pending
from courseline.timeline.event import Event, Reject, SourceNote, clean_text

PROFILE_STORES = ("Mail", "ImapMail")
MOZILLA_STATUS_LINE = re.compile(rb"(?im)^X-Mozilla-Status2?[ \t]*:")
NOT_IN_PROFILE_NOTE = ("the file is not in a Thunderbird profile's folder layout (no Mail/ or "
                       "ImapMail/ folder above it, no .sbd folder, no .msf index beside it): "
                       "its mail folder is not known")
MORK_MAGIC = b"// <!-- <mdb:mork"


def first_header_block(head: bytes) -> bytes:
    """The head of an mbox up to the end of its first message's headers."""
    for separator in (b"\n\n", b"\r\n\r\n"):
        end = head.find(separator)
        if end >= 0:
            head = head[:end]
    return head


def profile_layout(parts: list[str]) -> tuple[str, str, list[str]] | None:
    """(store, account, folder hierarchy) for a file at ``…/Mail|ImapMail/<account>/…``, the
    ``.sbd`` suffixes of the folders above it removed; None elsewhere."""
    for index in range(len(parts) - 3, -1, -1):
        if parts[index] in PROFILE_STORES:
            folders = [part.removesuffix(".sbd") for part in parts[index + 2:-1]]
            return parts[index], parts[index + 1], [*folders, parts[-1]]
    return None


def folder_facts(source: SourceFile) -> StoreFacts:
    """Where in a profile the folder file is, and the flags its name gives."""
    facts = StoreFacts()
    parts = path_parts(source.case_path, source.name) or [source.name]
    layout = profile_layout(parts)
    if layout is not None:
        store, account, components = layout
        facts.details["thunderbird_store"] = clean_text(store)
        facts.details["thunderbird_account"] = clean_text(account)
    elif sbd_parents(parts) or source.related(f"{source.name}.msf") is not None:
        components = [*sbd_parents(parts), parts[-1]]
    else:
        facts.notes.append(NOT_IN_PROFILE_NOTE)
        return facts
    facts.details["mail_folder"] = clean_text("/".join(components))
    facts.details["mail_store"] = "thunderbird"
    facts.flags |= folder_flags(components)
    return facts


class ThunderbirdMboxParser(MboxParser):
    NAME = "thunderbird"
    DATA_FORMAT = "Thunderbird mail folder (mbox in a profile's Mail/ or ImapMail/)"
    VERSION = "1"
    PRIORITY = 5    # over the mbox parser, which reads the same messages without these facts

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        if not MboxParser.recognises(sample):
            return False
        if sample.head.startswith(b"From - ") or MOZILLA_STATUS_LINE.search(
                first_header_block(sample.head)):
            return True
        parts = path_parts(sample.case_path, sample.name)
        return bool(parts) and (profile_layout(parts) is not None or bool(sbd_parents(parts)))

    def parse(self, source: SourceFile) -> Iterator[Event | Reject]:
        # One folder per file: its facts are worked out once and added to every message.
        self._folder = folder_facts(source)
        yield from super().parse(source)

    def finish_message(self, pending: _Pending) -> Event | Reject:
        """The mbox parser's reading of one message, with the folder and the message's
        X-Mozilla headers (read from the message's own lines, before they are joined)."""
        status = mozilla_facts(pending.chunks)
        result = super().finish_message(pending)
        if not isinstance(result, Event):
            return result
        return merge_facts(self._folder, status).apply_to(result)


def mork_note(source: SourceFile) -> str:
    """What a Mork file is, and for a folder index whether the folder's messages are here."""
    name = source.name
    if name.lower().endswith(".mab"):
        return ("A Mork address book of Thunderbird before version 78 (contacts): courseline "
                "does not read it; it is kept and hashed as an exhibit")
    if not name.lower().endswith(".msf"):
        return ("A Mork database (Mozilla's old database format): courseline does not read "
                "it; it is kept and hashed as an exhibit")
    folder = name[:-4]
    text = (f"Thunderbird's index (Mork) of the mail folder {folder!r}: it caches the "
            "folder's list of messages and their flags and holds no message. courseline does "
            "not read it; it is kept and hashed as an exhibit.")
    if source.related(folder) is None:
        text += (f" No folder file {folder!r} is beside it in this export: unless the folder "
                 "is kept as a maildir directory of that name, its messages are not here (an "
                 "IMAP folder kept on the server only, or a file left out of the copy); the "
                 "index may still list their senders, subjects and dates, which a Mork reader "
                 "can show")
    else:
        text += f" The messages are read from the folder file {folder!r} beside it"
    return text


class MorkParser(Parser):
    NAME = "mork"
    DATA_FORMAT = "Mork database (Thunderbird .msf folder index, old .mab address book): not mail"
    VERSION = "1"
    PRIORITY = 5

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        if sample.head.startswith(MORK_MAGIC):
            return True
        # Thunderbird creates an index empty before it writes it.
        return sample.size == 0 and sample.name.lower().endswith(".msf")

    def parse(self, source: SourceFile) -> Iterator[SourceNote]:
        yield SourceNote(mork_note(source))
