"""MaildirParser and MaildirControlParser: the info part of file names, cur/new/tmp, Maildir++
folders and their flags, the fields an .eml gives, the file-name time, recognition with and
without the case path, control files listed as not mail, and a Maildir in a built case.

Synthetic data only: addresses at example.org / example.net, numbers 07700 900000-900999.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import parser_for
from courseline.parsers.eml import EmlParser
from courseline.parsers.maildir import (
    NAME_TIME_NOTE,
    SOURCE_NAME_TIME,
    MaildirControlParser,
    MaildirParser,
    split_name,
)
from courseline.parsers.mbox import MboxParser
from courseline.timeline.event import Event, Reject, SourceNote
from tests_support import checked, new_case, parsed, run_cli, sample_at, source_file, write_file

NAME = "1709414045.M512P4242.mail.example.org"



def maildir_event(kit: ModuleType, tmp_path: Path, relative: str,
                  data: bytes | None = None) -> Event:
    path = write_file(tmp_path, relative, data if data is not None else kit.as_bytes(kit.message()))
    records = parsed(MaildirParser, source_file(path, f"exports/{relative}"))
    assert len(records) == 1 and isinstance(records[0], Event), records
    return records[0]


# --- the info part ------------------------------------------------------------------------------

def test_flag_letters_are_kept_in_words_and_trashed_and_draft_become_flags(
        kit: ModuleType, tmp_path: Path) -> None:
    event = maildir_event(kit, tmp_path, f"Maildir/cur/{NAME}:2,DFPRST")
    assert event.details["maildir_info"] == ":2,DFPRST"
    assert event.details["maildir_flags"] == ["draft", "flagged", "passed", "replied", "seen",
                                              "trashed"]
    assert event.flags == ["deleted", "draft"]
    # P is the owner passing the message on, not a forwarded copy: details only.
    assert "forwarded" not in event.flags
    assert any("letter T (trashed)" in note for note in event.notes)


# U+F03A is how Cygwin and WSL write ":" on NTFS.
@pytest.mark.parametrize("separator", [":", "!", ";", "\uf03a"])
def test_every_info_separator_is_read(kit: ModuleType, tmp_path: Path, separator: str) -> None:
    event = maildir_event(kit, tmp_path, f"Maildir/.Sent/cur/{NAME}{separator}2,RS")
    assert event.details["maildir_info"] == f"{separator}2,RS"
    assert event.details["maildir_flags"] == ["replied", "seen"]
    assert event.details["maildir_subfolder"] == "cur"
    assert event.details["mail_folder"] == "Sent" and event.flags == ["sent"]


def test_a_maildir_inside_an_archive_is_placed(kit: ModuleType, tmp_path: Path) -> None:
    path = write_file(tmp_path, f"{NAME}!2,S", kit.as_bytes(kit.message()))
    source = source_file(path, f"exports/mail.zip!home/Maildir/.Junk/cur/{NAME}!2,S")
    [event] = parsed(MaildirParser, source)
    assert isinstance(event, Event)
    assert (event.details["mail_folder"], event.flags) == ("Junk", ["spam"])


def test_keyword_letters_and_undefined_letters_are_kept_and_said(kit: ModuleType,
                                                                 tmp_path: Path) -> None:
    event = maildir_event(kit, tmp_path, f"Maildir/cur/{NAME}:2,Sab")
    assert event.details["maildir_keyword_letters"] == "ab"
    assert any("dovecot-keywords" in note for note in event.notes)
    version1 = maildir_event(kit, tmp_path, f"Maildir/cur/{NAME}:1,experimental")
    assert version1.details["maildir_info"] == ":1,experimental"
    assert "maildir_flags" not in version1.details
    assert any("version 1" in note for note in version1.notes)


# --- where in the Maildir -----------------------------------------------------------------------

def test_new_and_tmp_are_said(kit: ModuleType, tmp_path: Path) -> None:
    new = maildir_event(kit, tmp_path, f"Maildir/new/{NAME}")
    assert new.details["maildir_subfolder"] == "new"
    assert any("not yet seen by any mail client" in note for note in new.notes)
    tmp = maildir_event(kit, tmp_path, f"Maildir/tmp/{NAME}")
    assert tmp.details["maildir_subfolder"] == "tmp"
    assert any("may be incomplete" in note for note in tmp.notes)
    cur = maildir_event(kit, tmp_path, f"Maildir/cur/{NAME}:2,S")
    assert cur.details["maildir_subfolder"] == "cur"
    assert not any("Maildir" in note for note in cur.notes)


@pytest.mark.parametrize(("directory", "folder", "flags", "direction"), [
    ("Maildir", "INBOX", [], "unknown"),
    ("Maildir/.Sent", "Sent", ["sent"], "outgoing"),
    ("Maildir/.Drafts", "Drafts", ["draft"], "unknown"),
    ("Maildir/.Trash", "Trash", ["trash"], "unknown"),
    ("Maildir/.Junk", "Junk", ["spam"], "unknown"),
    ("Maildir/.INBOX.sub", "INBOX/sub", [], "unknown"),
    ("Maildir/.Trash.old stuff", "Trash/old stuff", ["trash"], "unknown"),
    ("mail/example/Sent Items", "Sent Items", ["sent"], "outgoing"),     # mbsync, verbatim
    ("Mail/Local Folders/Trash.sbd/Old", "Trash/Old", ["trash"], "unknown"),  # Thunderbird
])
def test_the_folder_is_kept_and_named_folders_become_flags(
        kit: ModuleType, tmp_path: Path, directory: str, folder: str, flags: list[str],
        direction: str) -> None:
    event = maildir_event(kit, tmp_path, f"{directory}/cur/{NAME}:2,S")
    assert event.details["mail_folder"] == folder
    assert event.details["maildir_directory"] == directory.rsplit("/", 1)[-1]
    assert event.details["mail_store"] == "maildir"
    assert event.flags == flags
    assert event.direction == direction


def test_a_maildir_name_outside_cur_new_tmp_is_read_and_its_folder_said_unknown(
        kit: ModuleType, tmp_path: Path) -> None:
    event = maildir_event(kit, tmp_path, f"copied/{NAME}:2,T")
    assert event.flags == ["deleted"]
    assert "mail_folder" not in event.details
    assert any("mail folder is not known" in note for note in event.notes)


# --- the message is read as an .eml is ---------------------------------------------------------

def test_the_message_has_the_fields_an_eml_gives(kit: ModuleType, tmp_path: Path) -> None:
    msg = kit.message(subject="Outside your work", text="I saw you at 8. 07700 900321\n",
                      extra={"Received": "from mx.example.net by mx.example.org; "
                                         "Sat, 02 Mar 2024 21:14:06 +0000",
                             "X-Originating-IP": "[192.0.2.7]"})
    msg.add_attachment(kit.png(), maintype="image", subtype="png", filename="car.png")
    data = kit.as_bytes(msg)
    from_maildir = maildir_event(kit, tmp_path, f"Maildir/cur/{NAME}:2,S", data)
    from_eml = kit.one_event(kit.parse_eml(tmp_path, data))
    for name in ("sender", "recipients", "subject", "text", "attachments", "direction"):
        assert getattr(from_maildir, name) == getattr(from_eml, name), name
    assert from_maildir.time == from_eml.time
    assert from_maildir.locator == "file"
    for key, value in from_eml.details.items():
        assert from_maildir.details[key] == value, key
    assert from_maildir.details["message_id"] == "<m1@example.net>"
    assert from_maildir.details["x_originating_ip"] == "[192.0.2.7]"
    assert [a.name for a in from_maildir.attachments] == ["car.png"]
    assert from_maildir.attachments[0].media_type == "image/png"


def test_a_message_without_a_date_is_placed_by_its_file_name_and_says_so(
        kit: ModuleType, tmp_path: Path) -> None:
    data = kit.as_bytes(kit.message(date=None))
    event = maildir_event(kit, tmp_path, f"Maildir/cur/{NAME}:2,S", data)
    assert event.time.source == SOURCE_NAME_TIME
    assert event.time.basis == "utc" and event.time.raw == "1709414045"
    assert event.time.value is not None and event.time.value.isoformat() == \
        "2024-03-02T21:14:05+00:00"
    assert NAME_TIME_NOTE in event.notes
    assert event.details["maildir_name_time_utc"] == "2024-03-02T21:14:05Z"


def test_nothing_is_dropped_a_message_that_cannot_be_placed_or_is_empty_is_a_reject(
        kit: ModuleType, tmp_path: Path) -> None:
    undated = write_file(tmp_path, "Maildir/cur/no-date:2,S", kit.as_bytes(kit.message(date=None)))
    records = parsed(MaildirParser, source_file(undated, "exports/Maildir/cur/no-date:2,S"))
    assert len(records) == 1 and isinstance(records[0], Reject)
    assert "cannot be placed in time" in records[0].reason
    empty = write_file(tmp_path, f"Maildir/tmp/{NAME}", b"")
    records = checked(MaildirParser().parse(source_file(empty, f"exports/Maildir/tmp/{NAME}")))
    assert len(records) == 1 and isinstance(records[0], Reject)
    assert "empty" in records[0].reason and "tmp/" in records[0].reason


def test_thunderbird_status_in_a_maildir_message_is_read(kit: ModuleType,
                                                         tmp_path: Path) -> None:
    data = kit.as_bytes(kit.message(extra={"X-Mozilla-Status": "0009",
                                           "X-Mozilla-Status2": "00000000"}))
    event = maildir_event(kit, tmp_path, f"Mail/Local Folders/Inbox/cur/{NAME}", data)
    assert event.flags == ["deleted"]
    assert event.details["mozilla_flags"] == ["read", "expunged"]


# --- recognition --------------------------------------------------------------------------------

def test_recognition_by_name_leaves_other_messages_to_their_parsers(
        kit: ModuleType, tmp_path: Path) -> None:
    data = kit.as_bytes(kit.message())
    assert parser_for(sample_at(tmp_path, f"{NAME}:2,S", data)) is MaildirParser
    assert parser_for(sample_at(tmp_path, NAME, data)) is MaildirParser
    assert parser_for(sample_at(tmp_path, "1709414045_0.4242.host,U=1,FMD5=ab:2,S", data)) \
        is MaildirParser    # OfflineIMAP
    assert parser_for(sample_at(tmp_path, "note:2,S", data)) is MaildirParser
    assert parser_for(sample_at(tmp_path, "message.eml", data)) is EmlParser
    assert parser_for(sample_at(tmp_path, "1709414045.M1.host.eml", data)) is EmlParser
    # A photo named by its time is not a message.
    assert parser_for(sample_at(tmp_path, "1709414045.M1.host", kit.png())) is not MaildirParser
    # A message file starting with a From_ line is an mbox.
    assert parser_for(sample_at(tmp_path, f"{NAME}:2,S", kit.mbox_entry(data))) is MboxParser


def test_with_the_case_path_any_message_in_cur_new_tmp_is_claimed(
        kit: ModuleType, tmp_path: Path) -> None:
    data = kit.as_bytes(kit.message())
    name = "no-subject-1400067892.mbx"     # Mailpile's test Maildir names its files so
    assert parser_for(sample_at(tmp_path, name, data)) is EmlParser
    in_cur = sample_at(tmp_path, name, data, f"exports/Maildir/cur/{name}")
    assert parser_for(in_cur) is MaildirParser
    # A message of one header the eml sniff does not take, in cur/: still a Maildir message.
    sparse = b"Subject: hi\n\nbody\n"
    assert parser_for(sample_at(tmp_path, "x", sparse, "exports/Maildir/cur/x")) \
        is MaildirParser
    assert parser_for(sample_at(tmp_path, "x", sparse, "exports/other/x")) is None
    assert parser_for(sample_at(tmp_path, "p", kit.png(), "exports/Maildir/cur/p")) \
        is not MaildirParser
    # Other exports in a folder that happens to be named new/, cur/ or tmp/ are not mail.
    chat = b"12/03/2024, 10:15 - Chris Walker: you up?\n12/03/2024, 10:16 - Sam: no\n"
    for case_path, data in (("exports/Phone/new/WhatsApp Chat.txt", chat),
                            ("exports/export/tmp/result.json",
                             b'{"name": "Chris", "messages": []}'),
                            ("exports/x/cur/sms.xml", b"<?xml version='1.0'?><smses count=\"0\"/>"),
                            ("exports/Documents/cur/notes.txt", b"remember to call 101\n")):
        name = case_path.rsplit("/", 1)[1]
        assert parser_for(sample_at(tmp_path, name, data, case_path)) is not MaildirParser
    # An empty file in tmp/ (a delivery that never wrote) is claimed, to be rejected with why.
    assert parser_for(sample_at(tmp_path, NAME, b"", f"exports/Maildir/tmp/{NAME}")) \
        is MaildirParser
    assert parser_for(sample_at(tmp_path, NAME, b"")) is None


# --- control files ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "data", "says"), [
    ("maildirfolder", b"", "Maildir++ marker"),
    ("maildirsize", b"10000S\n1234 1\n", "quota"),
    ("subscriptions", b"V\t2\n\nSent\nTrash\n", "subscribes"),
    ("dovecot-uidlist", b"3 V1709414045 N2 G0\n1 :1709414045.M512P4242.host\n", "UIDs"),
    ("dovecot-keywords", b"0 $Forwarded\n", "keyword"),
    ("dovecot-uidvalidity", b"65e3a71d\n", "UID validity"),
    ("dovecot-uidvalidity.65e3a71d", b"", "UID validity"),
    ("dovecot.index", b"\x07\x02\x00\x00binary", "index"),
    ("dovecot.index.log", b"\x01\x00\x00\x00binary", "index"),
    ("dovecot.index.cache", b"\x01\x00\x00\x00binary", "index"),
    ("dovecot.list.index.log", b"\x01\x00binary", "mailbox list"),
    ("dovecot.mailbox.log", b"\x01\x00binary", "renamed"),
    ("courierimapuiddb", b"1 1709414045 2\n", "Courier"),
    ("courierpop3dsizelist", b"/1\n", "Courier"),
    (".uidvalidity", b"1709414045\n", "mbsync"),
    (".mbsyncstate", b"FarUidValidity 1\n", "mbsync"),
])
def test_control_files_are_listed_as_not_mail(tmp_path: Path, name: str, data: bytes,
                                              says: str) -> None:
    path = write_file(tmp_path, f"Maildir/{name}", data)
    records = parsed(MaildirControlParser, source_file(path, f"exports/Maildir/{name}"))
    assert len(records) == 1 and isinstance(records[0], SourceNote)
    assert says in records[0].text and "holds no message" in records[0].text


def test_a_sieve_script_is_not_taken_for_a_control_file(tmp_path: Path) -> None:
    for name in ("dovecot.sieve", "dovecot.svbin"):
        path = write_file(tmp_path, name, b'redirect "x.suspect@example.net";\n')
        assert parser_for(sample_file(path)) is not MaildirControlParser


# --- a built case -------------------------------------------------------------------------------

def build_case(tmp_path: Path, exports: Path) -> dict:
    case = new_case(tmp_path / "case", "email:person.a@example.org", "email:x.suspect@example.net")
    result = run_cli("add", case, exports, "--owner", "victim")
    assert result.exit_code == 0, result.output
    result = run_cli("build", case)
    assert result.exit_code in (0, 3), result.output    # 3: built, with something to look at
    return {"manifest": json.loads((case / "out" / "manifest.json").read_text()),
            "events": [json.loads(line) for line in
                       (case / "out" / "timeline.jsonl").read_text().splitlines()]}


def test_a_maildir_in_a_case_merges_with_the_same_message_in_an_mbox(
        kit: ModuleType, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    threat = kit.as_bytes(kit.message(subject="I know where you are",
                                      extra={"Message-ID": "<threat@example.net>"}))
    reply = kit.as_bytes(kit.message(subject="Stop contacting me", sender=kit.VICTIM,
                                     to=kit.SUSPECT, date="Sat, 02 Mar 2024 22:00:00 +0000"))
    write_file(exports, f"Maildir/cur/{NAME}:2,RS", threat)
    write_file(exports, "Maildir/.Sent/cur/1709416800.M1P1.mail.example.org:2,S", reply)
    write_file(exports, "Maildir/.Sent/maildirfolder", b"")
    write_file(exports, "Maildir/dovecot-uidlist", b"3 V1709414045 N3\n")
    write_file(exports, "Maildir/cur/no-date:2,S", kit.as_bytes(kit.message(date=None)))
    write_file(exports, "takeout/All mail.mbox", kit.mbox_entry(threat))
    built = build_case(tmp_path, exports)

    sources = {s["path"]: s for s in built["manifest"]["sources"]}
    assert len(sources) == 6     # every file is listed
    maildir = sources[f"exports/Maildir/cur/{NAME}:2,RS"]
    assert (maildir["parser"], maildir["events"], maildir["rejected"]) == ("maildir", 1, 0)
    for control in ("exports/Maildir/.Sent/maildirfolder", "exports/Maildir/dovecot-uidlist"):
        assert sources[control]["parser"] == "maildir-control"
        assert sources[control]["records"] == 0 and sources[control]["rejected"] == 0
        assert "holds no message" in sources[control]["parser_notes"][0]
    undated = sources["exports/Maildir/cur/no-date:2,S"]
    assert undated["rejected"] == 1
    assert "cannot be placed in time" in undated["rejects"][0]["reason"]

    threats = [e for e in built["events"] if e["subject"] == "I know where you are"]
    assert len(threats) == 1
    paths = sorted(p["path"] for p in threats[0]["provenance"])
    assert paths == ["exports/Maildir/cur/" + NAME + ":2,RS", "exports/takeout/All mail.mbox"]
    assert threats[0]["sender_person"] == "suspect" and threats[0]["direction"] == "incoming"
    sent = next(e for e in built["events"] if e["subject"] == "Stop contacting me")
    assert sent["flags"] == ["sent"] and sent["direction"] == "outgoing"
    assert sent["details"]["mail_folder"] == "Sent"


def test_a_maildir_name_copied_out_with_eml_added_keeps_its_flags() -> None:
    name = split_name("1709649017.M1P1.host:2,RS.eml")
    assert (name.info, name.letters, name.seconds) == (":2,RS", "RS", 1709649017)
