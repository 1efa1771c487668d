"""Maildir mail stores: one RFC 5322 message per file under ``cur/``, ``new/`` or ``tmp/``.

Format: D. J. Bernstein's Maildir (https://cr.yp.to/proto/maildir.html) and Courier's Maildir++
folders (Courier's maildir(5) manual page, e.g. https://man.freebsd.org/cgi/man.cgi?query=maildir
&sektion=5); flag meanings also as the Python ``mailbox`` documentation (``MaildirMessage``) and
mblaze's mflag(1) give them. Written by Dovecot, Courier, Postfix ``local``, procmail,
mbsync/isync, OfflineIMAP, getmail, mutt/neomutt, KMail and Evolution; so a seized Linux or
macOS computer (``~/Maildir``, ``~/.local/share/mail``, ``~/mail``) or a mail server's disk
(``/var/vmail/<domain>/<user>/Maildir``, ``/home/<user>/Maildir``) holds them. The spec has no
versions; the info part is version ``2,`` (``1,`` is "experimental" and is only kept verbatim).

What a Maildir says beyond the message itself, and how it is kept:

* The sub-folder: ``new/`` holds messages delivered but not yet seen by any mail client (a
  client moves them to ``cur/`` when it first lists the folder); ``cur/`` the others; ``tmp/``
  files that were being written when the copy was made (a delivery in progress, or left behind
  by one that failed): such a message may be incomplete, and says so
  (``details.maildir_subfolder``).
* The info part of the file name, after ``:`` (``:2,RS``): flag letters in ASCII order,
  P passed (resent, forwarded or bounced by the owner), R replied, S seen, T trashed (marked
  for deletion, removed when the client expunges), D draft, F flagged; lower-case letters are
  Dovecot keywords, whose names are in the folder's ``dovecot-keywords`` file (not resolved).
  Where ``:`` cannot be in a file name the separator is ``!`` (the Python ``mailbox`` module's
  documented choice for such systems), ``;`` (Apache James on Windows) or U+F03A (Cygwin's and
  WSL's mapping of ``:`` on NTFS); all four are read. Kept verbatim (``details.maildir_info``)
  and in words (``details.maildir_flags``). T becomes the event flag ``deleted`` and D
  ``draft``: T is "marked for subsequent deletion" (Python's documentation; cr.yp.to: moved to
  the trash, "emptied by a later user action"), and IMAP bridges map it to ``\\Deleted``
  (imap-sync's FlagIMAPConversionTable): a message deleted in the client and still on disk,
  as with Thunderbird's expunged bit, so the same flag. P is not the event flag
  ``forwarded``, which elsewhere means "this message is a forwarded copy" (Telegram); P means
  the owner passed this message on, and stays in details.
* The folder: the directory holding ``cur/new/tmp``. A Maildir++ sub-folder is a directory
  named ``.Name`` (``.Sent``, ``.Archive.2023`` for Archive/2023) beside the root's own
  ``cur/new/tmp``; other layouts (Dovecot ``LAYOUT=fs``, mbsync ``SubFolders Verbatim``,
  Thunderbird's maildir store, ``Parent.sbd/Child``) name the directory as the folder; a root
  named ``Maildir`` (``~/Maildir``, Dovecot's and Courier's default) is INBOX.
  ``details.mail_folder`` (hierarchy joined with ``/``) and ``details.maildir_directory``
  (verbatim). Folder names become flags as Gmail labels do: Sent (also "Sent Items", "Sent
  Mail", "Sent Messages") → ``sent`` and outgoing; Drafts → ``draft``; Trash, Bin, "Deleted
  Items/Messages" → ``trash``; Junk, Spam, "Junk E-mail", "Bulk Mail" → ``spam``; a folder
  inside one of these counts too (Thunderbird moves a deleted folder into Trash). Other names,
  and names in other languages, are kept but change nothing.
* The unique name's leading number is, by the spec's convention, the time (Unix seconds) the
  file was stored in this mailbox (delivery, copy or sync) by the clock of the machine that
  wrote it. It is used only for a message without a usable Date header, and then before any
  Received date, as the mbox parser uses the From_ line (the shared reader's order), and said
  so; ``details.maildir_name_time_utc`` keeps it either way.
* Thunderbird's ``X-Mozilla-Status``/``X-Mozilla-Status2`` headers, when present (its own
  maildir store writes them), are read as in :mod:`.thunderbird`.

Recognition. A message is claimed when its head is an RFC 5322 header block (the eml sniff)
and its name is a Maildir name: an info part (``…:2,S``), or a unique name
``<seconds>.<unique>.<host>`` (also OfflineIMAP's ``<seconds>_<n>.<pid>.<host>``) that does not
end in ``.eml``; and, by its place in the case (``Sample.case_path``), a file opening with a
header line (or an empty one) in a ``cur/``, ``new/`` or ``tmp/`` folder whatever its name
(Mailpile's ``cur/no-subject-1400067892.mbx``); never another export that sits in a folder of
that name (a chat in ``Phone/new/``). The reading of the message itself is
:func:`._mail.read_message`, so the event has the fields an ``.eml`` gives (addresses,
Message-ID, headers for attribution, every attachment hashed) and the same message found in
an mbox merges with it.

The files a Maildir keeps beside its messages (``maildirfolder``, ``maildirsize``,
``subscriptions``, Dovecot's ``dovecot-uidlist``, ``dovecot-keywords``, ``dovecot.index*``,
``dovecot.list.index*``, ``dovecot-uidvalidity*``, ``dovecot.mailbox.log``, Courier's
``courier*``, mbsync's ``.uidvalidity`` and ``.mbsyncstate*``) hold no mail: they are claimed by
:class:`MaildirControlParser`, which reads nothing and leaves one note in the manifest saying
what the file is, so they are listed as known rather than "no parser recognises this file".

Checked on synthetic Maildirs only (tests/parsers/test_maildir.py): no real Maildir is in
``realworld/``. formats.md §1.1 names two real files from Mailpile's test Maildir
(``cur/broken_email_1396694612``, ``cur/no-subject-1400067892.mbx``, reference corpus only,
not copied): their names carry no info part, which is why the case path matters. Not checked:
real Dovecot or Courier file names with ``,S=``/``,W=`` size fields (read as part of the unique
name), Dovecot keyword letters against a real ``dovecot-keywords``, Maildirs copied to Windows
by forensic tools (the separators above come from documentation, not from seized data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._mail import MAILBOX_FLAGS, read_message
from courseline.parsers.eml import EmlParser, message_bytes
from courseline.parsers.eml import starts_with_header, strip_leading
from courseline.timeline.event import Event, RawTime, Reject, SourceNote, clean_text

LOCATOR = "file"
SUBFOLDERS = ("cur", "new", "tmp")
ROOT_NAMES = {"maildir", ".maildir"}     # the usual names of a Maildir++ root (~/Maildir)
SOURCE_NAME_TIME = "Maildir file name (no usable Date header)"
NAME_TIME_NOTE = ("the message has no usable Date header; the time is the number its Maildir "
                  "file name starts with, by convention when the file was stored in this "
                  "mailbox, by that machine's clock")
SUBFOLDER_NOTES = {
    "new": "in the Maildir's new/ folder: delivered, not yet seen by any mail client",
    "tmp": ("in the Maildir's tmp/ folder: the file was being written when the copy was made "
            "(a delivery in progress, or left behind by one that failed); the message may be "
            "incomplete"),
}

# The info part: a separator (":" by the spec; "!", ";" or U+F03A where ":" cannot be in a file
# name), the info version, a comma, and for version 2 the flag letters.
INFO = re.compile(r"[:!;\uf03a](?P<version>[12]),(?P<flags>[^/:!;\uf03a]*)\Z")
# <seconds>.<unique>.<host> (OfflineIMAP: <seconds>_<n>.<pid>.<host>); the host may hold dots
# and Dovecot's ",S=<size>,W=<size>" fields.
UNIQUE_NAME = re.compile(r"\A(?P<seconds>\d{9,10})(?:_\d+)?\.[^.\s]+\..+\Z")
FLAG_WORDS = {"P": "passed", "R": "replied", "S": "seen", "T": "trashed", "D": "draft",
              "F": "flagged"}
FLAG_EVENT_FLAGS = {"T": "deleted", "D": "draft"}

# Thunderbird's message flags as written in X-Mozilla-Status (low 16 bits, 4 hex digits) and
# X-Mozilla-Status2 (high 16 bits, 8 hex digits): mailnews/base/public/nsMsgMessageFlags.idl
# (mozilla/releases-comm-central), and X_MOZILLA_STATUS_FORMAT "%04.4x" / STATUS2 "%08.8x" with
# flags & 0xFFFF and flags & 0xFFFF0000 where Thunderbird writes them (nsMsgFolderCompactor.cpp).
MOZILLA_FLAG_WORDS = (
    (0x00000001, "read"), (0x00000002, "replied"), (0x00000004, "marked"),
    (0x00000008, "expunged"), (0x00000010, "has-re"), (0x00000040, "feed"),
    (0x00000080, "offline"), (0x00000100, "watched"), (0x00000200, "sender-authenticated"),
    (0x00000400, "partial"), (0x00000800, "queued"), (0x00001000, "forwarded"),
    (0x00002000, "redirected"), (0x00010000, "new"), (0x00040000, "ignored"),
    (0x00200000, "imap-deleted"), (0x00400000, "mdn-report-needed"),
    (0x00800000, "mdn-report-sent"), (0x01000000, "template"), (0x10000000, "attachment"),
)
MOZILLA_EXPUNGED = 0x00000008
MOZILLA_IMAP_DELETED = 0x00200000
MOZILLA_HEADER = re.compile(rb"(?i)X-Mozilla-(Status2?|Keys)[ \t]*:[ \t]*(.*?)[ \t]*\r?\n?\Z")
MAX_HEADER_LINES = 10_000     # looked through for the X-Mozilla headers of one message
MAX_KEYS_CHARS = 1_000


# --- Shared with thunderbird.py: folder names and Thunderbird's status headers ------------------

@dataclass
class StoreFacts:
    """What a mail store says about one message beyond its bytes: kept in details, turned into
    event flags, explained in notes."""

    details: dict[str, Any] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def apply_to(self, event: Event) -> Event:
        """Add these facts to an event read from the message. A Sent folder says the owner
        sent it, as Gmail's Sent label does."""
        for key, value in self.details.items():
            event.details.setdefault(key, value)
        event.notes.extend(note for note in self.notes if note not in event.notes)
        event.flags = sorted(set(event.flags) | self.flags)
        if "sent" in event.flags and event.direction == "unknown":
            event.direction = "outgoing"
        event.check()
        return event


def path_parts(case_path: str, name: str) -> list[str]:
    """The components of a case path, through archives too (``a.zip!Maildir/cur/1.x``), ending
    with the file's ``name``: a name may hold ``!`` itself (``…!2,S``), so it is not split."""
    if not case_path:
        return []
    folder = case_path.removesuffix(name) if case_path.endswith(name) else case_path
    return [*(part for part in re.split(r"[/!]", folder) if part), name]


def folder_flags(components: Iterable[str]) -> set[str]:
    """The flags a folder's name gives, from any level of its hierarchy (``Trash/old``)."""
    return {MAILBOX_FLAGS[key] for key in (c.strip().lower() for c in components)
            if key in MAILBOX_FLAGS}


def sbd_parents(parts: list[str]) -> list[str]:
    """The folder names of Thunderbird's ``Parent.sbd/`` directories right above the last part,
    outermost first."""
    names: list[str] = []
    for part in reversed(parts[:-1]):
        if not (part.endswith(".sbd") and len(part) > 4):
            break
        names.insert(0, part[:-4])
    return names


def mozilla_facts(header_lines: Iterable[bytes]) -> StoreFacts:
    """Read X-Mozilla-Status, X-Mozilla-Status2 and X-Mozilla-Keys from a message's header
    lines (the first of each). The expunged bit (0x0008) and the IMAP-deleted bit (0x00200000)
    make the message ``deleted``: Thunderbird keeps a deleted message in the file until the
    folder is compacted, and that copy is evidence, so it is marked, not dropped."""
    found: dict[str, str] = {}
    for count, line in enumerate(header_lines):
        if count >= MAX_HEADER_LINES or not line.strip():
            break
        match = MOZILLA_HEADER.match(line)
        if match:
            key = match.group(1).decode("ascii").lower()
            found.setdefault(key, clean_text(match.group(2).decode("utf-8", "replace")))
    facts = StoreFacts()
    if found.get("keys"):
        facts.details["mozilla_keys"] = found["keys"][:MAX_KEYS_CHARS]
    bits = 0
    for key, header in (("status", "X-Mozilla-Status"), ("status2", "X-Mozilla-Status2")):
        if key not in found:
            continue
        value = found[key]
        facts.details[f"mozilla_{key}"] = value[:64]
        if not re.fullmatch(r"[0-9A-Fa-f]{1,8}", value):
            facts.notes.append(f"the {header} header {value[:64]!r} is not hexadecimal; "
                               "it was not read")
            continue
        bits |= int(value, 16)
    if not ("status" in found or "status2" in found):
        return facts
    facts.details["mozilla_flags"] = [word for bit, word in MOZILLA_FLAG_WORDS if bits & bit]
    if bits & MOZILLA_EXPUNGED:
        facts.flags.add("deleted")
        facts.notes.append("flag 'deleted' from X-Mozilla-Status bit 0x0008 (expunged): the "
                           "message was deleted in Thunderbird and stays in the file until the "
                           "folder is compacted")
    if bits & MOZILLA_IMAP_DELETED:
        facts.flags.add("deleted")
        facts.notes.append("flag 'deleted' from X-Mozilla-Status2 bit 0x00200000 (IMAP "
                           "deleted): the message was marked deleted on the mail server")
    return facts


def merge_facts(*parts: StoreFacts) -> StoreFacts:
    whole = StoreFacts()
    for part in parts:
        whole.details.update(part.details)
        whole.flags |= part.flags
        whole.notes.extend(part.notes)
    return whole


# --- Maildir names and folders -------------------------------------------------------------------

@dataclass(frozen=True)
class MaildirName:
    """A message file's name split as the spec writes it."""

    unique: str                 # the name before the info part
    info: str | None            # the info part verbatim, separator included (":2,RS")
    version: str | None         # "2" or "1"
    letters: str                # the flag letters of a version 2 info part
    seconds: int | None         # the leading number of a unique name

    @property
    def is_maildir_like(self) -> bool:
        return self.info is not None or (self.seconds is not None
                                         and not self.unique.lower().endswith(".eml"))


def split_name(name: str) -> MaildirName:
    # Some tools copy a Maildir's files out with ".eml" added: the flags end before it.
    if name.lower().endswith(".eml") and INFO.search(name[:-4]):
        name = name[:-4]
    info_match = INFO.search(name)
    unique = name[:info_match.start()] if info_match else name
    unique_match = UNIQUE_NAME.match(unique)
    return MaildirName(
        unique=unique,
        info=info_match.group(0) if info_match else None,
        version=info_match.group("version") if info_match else None,
        letters=info_match.group("flags") if info_match and info_match.group("version") == "2"
        else "",
        seconds=int(unique_match.group("seconds")) if unique_match else None)


def maildir_subfolder(parts: list[str]) -> str | None:
    """``cur``, ``new`` or ``tmp`` when the file sits directly in one, else None."""
    return parts[-2] if len(parts) >= 3 and parts[-2] in SUBFOLDERS else None


def folder_components(parts: list[str]) -> list[str]:
    """The mail folder of a file in ``…/<folder>/cur/<file>``, as a hierarchy: Maildir++
    ``.Archive.2023`` → Archive, 2023; ``Inbox.sbd/Old`` → Inbox, Old; otherwise the
    directory's name (``Maildir`` itself, the root, is INBOX)."""
    directory = parts[-3]
    if directory.lower() in ROOT_NAMES:
        return ["INBOX"]    # the Maildir++ root is the account's INBOX
    if directory.startswith(".") and directory.strip("."):
        return [piece for piece in directory[1:].split(".") if piece]
    return [*sbd_parents(parts[:-2]), directory]


def info_facts(name: MaildirName) -> StoreFacts:
    facts = StoreFacts()
    if name.info is None:
        return facts
    facts.details["maildir_info"] = clean_text(name.info)
    if name.version != "2":
        facts.notes.append(f"the Maildir info part {clean_text(name.info)!r} is version 1 "
                           "(experimental): kept verbatim, not read")
        return facts
    words = [FLAG_WORDS[letter] for letter in name.letters if letter in FLAG_WORDS]
    keywords = [letter for letter in name.letters if letter.islower()]
    unknown = [letter for letter in name.letters
               if letter not in FLAG_WORDS and not letter.islower()]
    facts.details["maildir_flags"] = words
    if keywords:
        facts.details["maildir_keyword_letters"] = "".join(keywords)
        facts.notes.append("the Maildir info has keyword letters "
                           f"{''.join(keywords)!r} (Dovecot keywords, named in the folder's "
                           "dovecot-keywords file, which is not read)")
    if unknown:
        facts.notes.append(f"the Maildir info has flag letters {clean_text(''.join(unknown))!r} "
                           "that the spec does not define: kept in maildir_info, not read")
    for letter, flag in FLAG_EVENT_FLAGS.items():
        if letter in name.letters:
            facts.flags.add(flag)
    if "T" in name.letters:
        facts.notes.append("flag 'deleted' from the Maildir info letter T (trashed): the mail "
                           "client marked the message for deletion; the file stays until the "
                           "folder is expunged")
    return facts


def place_facts(parts: list[str], name: MaildirName) -> StoreFacts:
    """Where in a Maildir the file is: its sub-folder and mail folder, and the flags the
    folder's name gives."""
    facts = StoreFacts()
    subfolder = maildir_subfolder(parts)
    if subfolder is None:
        facts.notes.append("the file is not in a Maildir cur/, new/ or tmp/ folder (it was "
                           "copied out of one, or its name only looks like a Maildir name): "
                           "its mail folder is not known")
        return facts
    facts.details["maildir_subfolder"] = subfolder
    if subfolder in SUBFOLDER_NOTES:
        facts.notes.append(SUBFOLDER_NOTES[subfolder])
    components = folder_components(parts)
    facts.details["maildir_directory"] = clean_text(parts[-3])
    facts.details["mail_folder"] = clean_text("/".join(components))
    facts.details["mail_store"] = "maildir"
    facts.flags |= folder_flags(components)
    return facts


def name_time(name: MaildirName) -> RawTime | None:
    if name.seconds is None:
        return None
    try:
        value = datetime.fromtimestamp(name.seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return RawTime(raw=str(name.seconds), value=value, basis="utc", precision="s",
                   source=SOURCE_NAME_TIME, device_clock=True)


def _utc_text(seconds: int | None) -> str:
    return datetime.fromtimestamp(seconds or 0, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def header_lines(raw: bytes) -> Iterator[bytes]:
    """The lines of a message's header block, without reading past it."""
    start = 0
    while start < len(raw):
        end = raw.find(b"\n", start)
        end = len(raw) if end < 0 else end + 1
        line = raw[start:end]
        if not line.strip():
            return
        yield line
        start = end


def _is_message(sample: Sample) -> bool:
    """The eml parser's own test: a header block (not an mbox, whose first line is From_)."""
    return EmlParser.recognises(sample)


# --- The parsers ---------------------------------------------------------------------------------

class MaildirParser(Parser):
    NAME = "maildir"
    DATA_FORMAT = "Maildir message (cur/new/tmp; Maildir++, Dovecot, Courier, mbsync)"
    VERSION = "1"
    PRIORITY = 5    # over the eml parser, which reads the same bytes without the Maildir facts

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        if split_name(sample.name).is_maildir_like and _is_message(sample):
            return True
        parts = path_parts(sample.case_path, sample.name)
        if maildir_subfolder(parts) is None:
            return False
        # A folder named cur, new or tmp holds other exports too (a chat in Phone/new/): only a
        # file with an e-mail's header block is claimed, and an empty one (a delivery that never
        # wrote), to be listed with that reason.
        return _is_message(sample) or sample.size == 0 or (
            not sample.head.startswith(b"From ") and starts_with_header(sample.head))

    def parse(self, source: SourceFile) -> Iterator[Event | Reject]:
        yield self._read(source)

    def _read(self, source: SourceFile) -> Event | Reject:
        name = split_name(source.name)
        parts = path_parts(source.case_path, source.name)
        raw = message_bytes(source)
        if isinstance(raw, Reject):
            return raw
        subfolder = maildir_subfolder(parts)
        if not raw.strip():
            where = f" ({SUBFOLDER_NOTES[subfolder]})" if subfolder in SUBFOLDER_NOTES else ""
            return Reject(LOCATOR, f"the message file is empty{where}: there is no message to "
                                   "read")
        raw, leading_notes = strip_leading(raw)
        facts = merge_facts(place_facts(parts, name), info_facts(name),
                            mozilla_facts(header_lines(raw)))
        fallback = name_time(name)
        if fallback is not None:
            facts.details["maildir_name_time_utc"] = _utc_text(name.seconds)
        result = read_message(raw, LOCATOR, fallback_time=fallback, fallback_note=NAME_TIME_NOTE,
                              notes=[*leading_notes, *facts.notes],
                              extra_details=facts.details)
        return facts.apply_to(result) if isinstance(result, Event) else result


# The files a Maildir keeps beside its messages: exact names, then name prefixes.
CONTROL_NAMES = {
    "maildirfolder": "The Maildir++ marker that this folder is a sub-folder (normally empty)",
    "maildirsize": "The Maildir++ quota file (sizes and message counts)",
    "subscriptions": "Dovecot's list of the folders the mail client subscribes to",
    ".uidvalidity": "The record mbsync keeps of the folder's IMAP UID validity",
}
CONTROL_PREFIXES = (
    ("dovecot-uidlist", ("Dovecot's list of the IMAP UIDs of this folder's messages, by file "
                         "name (a message listed here and missing from cur/new may have been "
                         "deleted)")),
    ("dovecot-keywords", "Dovecot's names of the keyword letters used in the file names"),
    ("dovecot-uidvalidity", "Dovecot's record of the IMAP UID validity"),
    ("dovecot.list.index", "Dovecot's index of the mailbox list"),
    ("dovecot.index", "Dovecot's index and cache of this folder's messages (binary)"),
    ("dovecot.mailbox.log", "Dovecot's log of renamed and deleted folders"),
    ("courier", ("A Courier IMAP/POP3 server's bookkeeping file (UIDs, keywords, access lists, "
                 "subscriptions)")),
    (".mbsyncstate", "The synchronisation state mbsync keeps (which IMAP message is which file)"),
)
CONTROL_NOTE = ("{what}. It holds no message: courseline does not read it; it is kept and "
                "hashed as an exhibit")


def control_file_kind(name: str) -> str | None:
    """What a Maildir control file is, by its name; None for any other file."""
    if name in CONTROL_NAMES:
        return CONTROL_NAMES[name]
    if name.endswith((".sieve", ".svbin")):
        return None    # a filter script (it may forward mail elsewhere): not a control file
    return next((what for prefix, what in CONTROL_PREFIXES if name.startswith(prefix)), None)


class MaildirControlParser(Parser):
    NAME = "maildir-control"
    DATA_FORMAT = "Maildir control file (marker, quota, Dovecot/Courier/mbsync index): not mail"
    VERSION = "1"
    PRIORITY = 5

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        kind = control_file_kind(sample.name)
        if kind is None:
            return False
        # A file of another format that happens to bear such a name is left to its parser.
        return not _is_message(sample) and not sample.head.startswith(b"From ")

    def parse(self, source: SourceFile) -> Iterator[SourceNote]:
        kind = control_file_kind(source.name) or "A Maildir control file"
        yield SourceNote(CONTROL_NOTE.format(what=kind))

