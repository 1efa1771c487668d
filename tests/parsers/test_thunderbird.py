"""ThunderbirdMboxParser and MorkParser: profile folders (Mail/, ImapMail/, .sbd nesting) kept
and mapped to flags, X-Mozilla-Status read (a deleted message marked, not dropped), .msf indexes
listed as not mail, recognition with and without the case path, and a profile in a built case.

Synthetic data only: addresses at example.org / example.net, numbers 07700 900000-900999.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import parser_for
from courseline.parsers.mbox import MboxParser
from courseline.parsers.thunderbird import (
    NOT_IN_PROFILE_NOTE,
    MorkParser,
    ThunderbirdMboxParser,
)
from courseline.timeline.event import Event, SourceNote
from tests_support import files_beside, new_case, parsed, run_cli, sample_at, source_file, write_file

FROM_DASH = b"From - Sat Mar 02 21:14:05 2024"
MORK = b'// <!-- <mdb:mork:z v="1.4"/> -->\n< <(a=c)> // (f=iso-8859-1)\n'



def entry(kit: ModuleType, subject: str = "Hello", status: str | None = "0001",
          status2: str | None = "00000000", from_line: bytes = FROM_DASH,
          **kwargs: object) -> bytes:
    """One message as Thunderbird stores it: From - line, its X-Mozilla headers, the message."""
    extra: dict[str, str] = {}
    if status is not None:
        extra["X-Mozilla-Status"] = status
    if status2 is not None:
        extra["X-Mozilla-Status2"] = status2
    extra["X-Mozilla-Keys"] = " " * 80     # Thunderbird reserves the space for tags
    msg = kit.message(subject=subject, extra=extra, **kwargs)
    return kit.mbox_entry(kit.as_bytes(msg), from_line=from_line)


def events_of(root: Path, relative: str) -> list[Event]:
    path = root / relative
    records = parsed(ThunderbirdMboxParser,
                     source_file(path, f"exports/{relative}", files_beside(path.parent)))
    assert all(isinstance(r, Event) for r in records), records
    return records  # type: ignore[return-value]


# --- folders ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("relative", "folder", "account", "store", "flags", "direction"), [
    ("Mail/Local Folders/Inbox", "Inbox", "Local Folders", "Mail", [], "unknown"),
    ("Mail/Local Folders/Sent", "Sent", "Local Folders", "Mail", ["sent"], "outgoing"),
    ("Mail/Local Folders/Drafts", "Drafts", "Local Folders", "Mail", ["draft"], "unknown"),
    ("Mail/Local Folders/Trash", "Trash", "Local Folders", "Mail", ["trash"], "unknown"),
    ("Mail/Local Folders/Junk", "Junk", "Local Folders", "Mail", ["spam"], "unknown"),
    ("Mail/Local Folders/Archives", "Archives", "Local Folders", "Mail", [], "unknown"),
    ("Mail/Local Folders/Inbox.sbd/Family", "Inbox/Family", "Local Folders", "Mail", [],
     "unknown"),
    ("Mail/pop.example.org/Trash.sbd/Old.sbd/2023", "Trash/Old/2023", "pop.example.org", "Mail",
     ["trash"], "unknown"),
    ("ImapMail/imap.example.org/INBOX", "INBOX", "imap.example.org", "ImapMail", [], "unknown"),
    ("ImapMail/imap.gmail.com/[Gmail].sbd/Sent Mail", "[Gmail]/Sent Mail", "imap.gmail.com",
     "ImapMail", ["sent"], "outgoing"),
    ("ImapMail/imap.gmail.com/[Gmail].sbd/Bin", "[Gmail]/Bin", "imap.gmail.com", "ImapMail",
     ["trash"], "unknown"),
])
def test_the_profile_folder_is_kept_and_named_folders_become_flags(
        kit: ModuleType, tmp_path: Path, relative: str, folder: str, account: str, store: str,
        flags: list[str], direction: str) -> None:
    write_file(tmp_path, f"profile/{relative}", entry(kit))
    [event] = events_of(tmp_path, f"profile/{relative}")
    assert event.details["mail_folder"] == folder
    assert event.details["thunderbird_account"] == account
    assert event.details["thunderbird_store"] == store
    assert event.details["mail_store"] == "thunderbird"
    assert event.flags == flags and event.direction == direction
    assert event.details["mbox_from_line"] == FROM_DASH.decode()


def test_a_folder_with_its_msf_beside_it_is_in_a_profile(kit: ModuleType,
                                                         tmp_path: Path) -> None:
    write_file(tmp_path, "copy/Sent", entry(kit))
    write_file(tmp_path, "copy/Sent.msf", MORK)
    [event] = events_of(tmp_path, "copy/Sent")
    assert event.details["mail_folder"] == "Sent" and event.flags == ["sent"]
    assert "thunderbird_account" not in event.details


def test_a_thunderbird_mbox_outside_a_profile_has_no_folder(kit: ModuleType,
                                                            tmp_path: Path) -> None:
    write_file(tmp_path, "exported/Trash.mbox", entry(kit, status="0009"))
    [event] = events_of(tmp_path, "exported/Trash.mbox")
    assert "mail_folder" not in event.details
    assert NOT_IN_PROFILE_NOTE in event.notes
    assert event.flags == ["deleted"]     # the status is the message's own, read anyway


# --- X-Mozilla-Status ---------------------------------------------------------------------------

def test_a_deleted_message_is_kept_and_marked(kit: ModuleType, tmp_path: Path) -> None:
    data = (entry(kit, "kept", status="0001") + entry(kit, "deleted", status="0009")
            + entry(kit, "deleted on the server", status="0001", status2="00200000")
            + entry(kit, "forwarded and replied", status="1003"))
    write_file(tmp_path, "Mail/Local Folders/Inbox", data)
    events = {e.subject: e for e in events_of(tmp_path, "Mail/Local Folders/Inbox")}
    assert len(events) == 4
    assert events["kept"].flags == [] and events["kept"].details["mozilla_flags"] == ["read"]
    deleted = events["deleted"]
    assert deleted.flags == ["deleted"]
    assert deleted.details["mozilla_status"] == "0009"
    assert deleted.details["mozilla_flags"] == ["read", "expunged"]
    assert any("0x0008 (expunged)" in note for note in deleted.notes)
    server = events["deleted on the server"]
    assert server.flags == ["deleted"] and "imap-deleted" in server.details["mozilla_flags"]
    forwarded = events["forwarded and replied"]
    assert forwarded.details["mozilla_flags"] == ["read", "replied", "forwarded"]
    assert forwarded.flags == []     # forwarded by the owner, not a forwarded copy


def test_status_headers_that_are_not_hexadecimal_are_said(kit: ModuleType,
                                                          tmp_path: Path) -> None:
    write_file(tmp_path, "Mail/Local Folders/Inbox", entry(kit, status="zz!9", status2=None))
    [event] = events_of(tmp_path, "Mail/Local Folders/Inbox")
    assert event.flags == [] and event.details["mozilla_status"] == "zz!9"
    assert any("is not hexadecimal" in note for note in event.notes)


def test_keys_are_kept_when_a_tag_is_set(kit: ModuleType, tmp_path: Path) -> None:
    msg = kit.message(extra={"X-Mozilla-Status": "0001", "X-Mozilla-Keys": "$label1 evidence"})
    write_file(tmp_path, "Mail/Local Folders/Inbox", kit.mbox_entry(kit.as_bytes(msg), FROM_DASH))
    [event] = events_of(tmp_path, "Mail/Local Folders/Inbox")
    assert event.details["mozilla_keys"] == "$label1 evidence"


# --- recognition --------------------------------------------------------------------------------

def test_recognition(kit: ModuleType, tmp_path: Path) -> None:
    plain = kit.mbox_entry(kit.as_bytes(kit.message()))
    assert parser_for(sample_at(tmp_path, "Inbox", entry(kit))) is ThunderbirdMboxParser
    # Status headers with another From_ line (an export), or Thunderbird's From - alone.
    assert parser_for(sample_at(tmp_path, "a.mbox", entry(kit, from_line=plain.split(b"\n")[0]))
                      ) is ThunderbirdMboxParser
    assert parser_for(sample_at(tmp_path, "b", entry(kit, status=None, status2=None))) \
        is ThunderbirdMboxParser
    assert parser_for(sample_at(tmp_path, "mail.mbox", plain)) is MboxParser
    # An offline IMAP copy without the headers: a profile's mbox once the case path is known.
    assert parser_for(sample_at(tmp_path, "INBOX", plain,
                                "exports/profile/ImapMail/imap.example.org/INBOX")) \
        is ThunderbirdMboxParser
    assert parser_for(sample_at(tmp_path, "INBOX", plain, "exports/elsewhere/INBOX")) \
        is MboxParser


# --- .msf indexes -------------------------------------------------------------------------------

def mork_notes(tmp_path: Path, relative: str) -> list[SourceNote]:
    path = tmp_path / relative
    records = parsed(MorkParser, source_file(path, f"exports/{relative}",
                                             files_beside(path.parent)))
    assert len(records) == 1 and isinstance(records[0], SourceNote), records
    return records  # type: ignore[return-value]


def test_an_msf_index_is_listed_as_not_mail_and_names_its_folder(kit: ModuleType,
                                                                 tmp_path: Path) -> None:
    write_file(tmp_path, "Mail/Local Folders/Inbox", entry(kit))
    write_file(tmp_path, "Mail/Local Folders/Inbox.msf", MORK)
    [note] = mork_notes(tmp_path, "Mail/Local Folders/Inbox.msf")
    assert "index (Mork) of the mail folder 'Inbox'" in note.text
    assert "holds no message" in note.text and "read from the folder file 'Inbox'" in note.text


def test_an_msf_without_its_folder_file_says_the_messages_are_not_here(tmp_path: Path) -> None:
    write_file(tmp_path, "ImapMail/imap.example.org/INBOX.msf", MORK)
    [note] = mork_notes(tmp_path, "ImapMail/imap.example.org/INBOX.msf")
    assert "No folder file 'INBOX' is beside it" in note.text


def test_an_empty_msf_and_an_old_address_book_are_claimed(tmp_path: Path) -> None:
    write_file(tmp_path, "Mail/Local Folders/Trash.msf", b"")
    [note] = mork_notes(tmp_path, "Mail/Local Folders/Trash.msf")
    assert "'Trash'" in note.text
    write_file(tmp_path, "abook.mab", MORK)
    [note] = mork_notes(tmp_path, "abook.mab")
    assert "address book" in note.text
    # Another empty file is nobody's.
    assert parser_for(sample_file(write_file(tmp_path, "empty.txt", b""))) is None


# --- a built case -------------------------------------------------------------------------------

def test_a_profile_in_a_case(kit: ModuleType, tmp_path: Path) -> None:
    profile = tmp_path / "exports" / "abcd1234.default-release"
    threat = kit.message(subject="You can't hide", extra={"X-Mozilla-Status": "0001"})
    inbox = (kit.mbox_entry(kit.as_bytes(threat), FROM_DASH)
             + entry(kit, "deleted threat", status="0009"))
    write_file(profile, "Mail/Local Folders/Inbox", inbox)
    write_file(profile, "Mail/Local Folders/Inbox.msf", MORK)
    write_file(profile, "Mail/Local Folders/Sent", entry(kit, "Leave me alone", sender=kit.VICTIM,
                                                    to=kit.SUSPECT))
    write_file(profile, "ImapMail/imap.example.org/INBOX.msf", MORK)
    # The same threat, also delivered to the victim's Maildir on another computer.
    maildir_copy = kit.as_bytes(kit.message(subject="You can't hide"))
    write_file(tmp_path / "exports", "Maildir/cur/1709414045.M1P1.mail.example.org:2,S",
          maildir_copy)

    case = new_case(tmp_path / "case", "email:person.a@example.org", "email:x.suspect@example.net")
    assert run_cli("add", case, tmp_path / "exports", "--owner", "victim").exit_code == 0
    result = run_cli("build", case)
    assert result.exit_code == 0, result.output
    manifest = json.loads((case / "out" / "manifest.json").read_text())
    events = [json.loads(line) for line in
              (case / "out" / "timeline.jsonl").read_text().splitlines()]

    base = "exports/abcd1234.default-release"
    sources = {s["path"]: s for s in manifest["sources"]}
    assert len(sources) == 5
    assert sources[f"{base}/Mail/Local Folders/Inbox"]["parser"] == "thunderbird"
    assert sources[f"{base}/Mail/Local Folders/Inbox"]["events"] == 2
    for index in (f"{base}/Mail/Local Folders/Inbox.msf",
                  f"{base}/ImapMail/imap.example.org/INBOX.msf"):
        assert sources[index]["parser"] == "mork" and sources[index]["rejected"] == 0
        assert "holds no message" in sources[index]["parser_notes"][0]
    assert "its messages are not here" in \
        sources[f"{base}/ImapMail/imap.example.org/INBOX.msf"]["parser_notes"][0]

    by_subject = {e["subject"]: e for e in events}
    assert by_subject["deleted threat"]["flags"] == ["deleted"]
    assert by_subject["deleted threat"]["sender_person"] == "suspect"
    assert by_subject["Leave me alone"]["direction"] == "outgoing"
    assert by_subject["Leave me alone"]["details"]["mail_folder"] == "Sent"
    threat_paths = sorted(p["path"] for p in by_subject["You can't hide"]["provenance"])
    assert threat_paths == ["exports/Maildir/cur/1709414045.M1P1.mail.example.org:2,S",
                            f"{base}/Mail/Local Folders/Inbox"]
