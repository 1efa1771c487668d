"""Google Chat messages.json from Google Takeout (parsers/google_chat.py): synthetic conversations
built here, and a conformance run over the real samples in
``shared/realworld/google_takeout/chat`` (skipped when absent).

Synthetic people only: addresses at example.org / example.net.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile, google_chat, parser_for
from courseline.parsers.google_chat import GoogleChatParser, read_created_date
from courseline.timeline.event import MAX_TEXT_CHARS, Event, Reject, SourceNote
from tests_support import (events, only_event, parsed, png, rejects, source_notes,
                           source_under, stored_zip_sample)

REALWORLD = (Path(__file__).resolve().parents[3] / "shared" / "realworld" / "google_takeout"
             / "chat")
VICTIM = {"name": "Person A", "email": "person.a@example.org", "user_type": "Human"}
SUSPECT = {"name": "Chris Walker", "email": "x.suspect@example.net", "user_type": "Human"}
FRIEND = {"name": "Friend B", "email": "friend.b@example.org", "user_type": "Human"}
NNBSP = "\u202f"
WHEN = f"Saturday, March 2, 2024 at 9:14:05{NNBSP}PM UTC"
WHEN_UTC = datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)


# -- builders --------------------------------------------------------------------------------------

def message(text: str | None = "Hello", creator: dict | None = None, created: str = WHEN,
            **fields: object) -> dict:
    record: dict = {"creator": SUSPECT if creator is None else creator, "created_date": created}
    if text is not None:
        record["text"] = text
    record.update({"topic_id": "tOpIc1", "message_id": "AbCdEfG/tOpIc1/tOpIc1"})
    record.update(fields)
    return record


def conversation(tmp_path: Path, messages: list, members: list[dict] | None = None,
                 folder: str = "DM AbCdEfG", group_name: str | None = None,
                 files: dict[str, bytes] | None = None, raw: str | None = None) -> SourceFile:
    """A conversation folder as Takeout writes it; ``raw`` replaces messages.json's text."""
    where = tmp_path / "Takeout" / "Google Chat" / "Groups" / folder
    where.mkdir(parents=True, exist_ok=True)
    path = where / "messages.json"
    text = raw if raw is not None else json.dumps({"messages": messages}, indent=2,
                                                  ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    if members is not None:
        info: dict = {"members": members}
        if group_name:
            info = {"name": group_name, **info}
        (where / "group_info.json").write_text(json.dumps(info), encoding="utf-8")
    for name, data in (files or {}).items():
        (where / name).write_bytes(data)
    return source_under(path, tmp_path)


def parse(source: SourceFile) -> list[Event | Reject | SourceNote]:
    return parsed(GoogleChatParser, source)


# -- recognition -----------------------------------------------------------------------------------

def test_recognised_by_content_not_name(tmp_path: Path) -> None:
    source = conversation(tmp_path, [message()], members=[VICTIM, SUSPECT])
    assert parser_for(source.sample) is GoogleChatParser
    renamed = tmp_path / "exported.txt"
    renamed.write_bytes(source.path.read_bytes())
    assert parser_for(sample_file(renamed)) is GoogleChatParser


def test_group_info_and_user_info_are_not_claimed(tmp_path: Path) -> None:
    conversation(tmp_path, [message()], members=[VICTIM, SUSPECT])
    info = tmp_path / "Takeout" / "Google Chat" / "Groups" / "DM AbCdEfG" / "group_info.json"
    assert not GoogleChatParser.recognises(sample_file(info))
    user = tmp_path / "user_info.json"
    user.write_text(json.dumps({"user": VICTIM, "membership_info": [
        {"group_id": "DM AbCdEfG", "membership_state": "MEMBER_JOINED"}]}))
    assert not GoogleChatParser.recognises(sample_file(user))


def test_other_json_with_messages_is_not_claimed(tmp_path: Path) -> None:
    other = tmp_path / "result.json"
    other.write_text(json.dumps({"messages": [{"from": "A", "date": "2024-03-02T21:14:05",
                                               "text": "hi"}]}))
    assert not GoogleChatParser.recognises(sample_file(other))
    empty_elsewhere = tmp_path / "data.json"
    empty_elsewhere.write_text('{"messages": []}')
    assert not GoogleChatParser.recognises(sample_file(empty_elsewhere))


def test_an_uncompressed_archive_holding_messages_is_not_claimed(tmp_path: Path) -> None:
    source = conversation(tmp_path, [message()], members=[VICTIM, SUSPECT])
    sample = stored_zip_sample(tmp_path / "takeout.zip", source.path,
                               "Takeout/Google Chat/Groups/DM AbCdEfG/messages.json")
    assert b'"created_date"' in sample.head
    assert not GoogleChatParser.recognises(sample)


def test_an_empty_conversation_is_claimed_and_gives_nothing(tmp_path: Path) -> None:
    source = conversation(tmp_path, [], members=[VICTIM, SUSPECT])
    items = parse(source)
    assert not events(items) and not rejects(items)


# -- one message -----------------------------------------------------------------------------------

def test_message_fields(tmp_path: Path) -> None:
    source = conversation(tmp_path, [message("I know where you live")],
                          members=[SUSPECT, VICTIM])
    items = parse(source)
    event = only_event(items)
    assert event.kind == "message" and event.platform == "google-chat"
    assert event.time.value == WHEN_UTC and event.time.basis == "utc"
    assert event.time.precision == "s" and event.time.raw == WHEN
    assert event.time.source == "created_date" and event.time.device_clock is False
    assert event.sender == "email:x.suspect@example.net"
    assert event.recipients == ["email:person.a@example.org"]
    assert event.direction == "unknown" and event.owner_side is None
    assert event.text == "I know where you live"
    assert event.locator == "json:messages[0]"
    assert event.details["message_id"] == "AbCdEfG/tOpIc1/tOpIc1"
    assert event.details["topic_id"] == "tOpIc1"
    assert event.details["creator_name"] == "Chris Walker"
    assert event.details["conversation"] == {"folder": "DM AbCdEfG"}
    assert any("2 member(s)" in note for note in source_notes(items))


def test_space_recipients_are_the_other_members(tmp_path: Path) -> None:
    source = conversation(tmp_path, [message(), message(creator=VICTIM)],
                          members=[SUSPECT, VICTIM, FRIEND], folder="Space AAAAxyz",
                          group_name="Neighbours")
    first, second = events(parse(source))
    assert first.recipients == ["email:person.a@example.org", "email:friend.b@example.org"]
    assert second.recipients == ["email:x.suspect@example.net", "email:friend.b@example.org"]
    assert first.details["conversation"] == {"folder": "Space AAAAxyz", "name": "Neighbours"}
    assert first.locator == "json:messages[0]" and second.locator == "json:messages[1]"


def test_creator_matched_by_email_case_insensitively(tmp_path: Path) -> None:
    shouting = {**SUSPECT, "email": "X.Suspect@Example.NET"}
    event = only_event(parse(conversation(tmp_path, [message(creator=shouting)],
                                          members=[SUSPECT, VICTIM])))
    assert event.recipients == ["email:person.a@example.org"]


def test_creator_without_email_is_their_name(tmp_path: Path) -> None:
    no_email = {"name": "Chris Walker", "user_type": "Human"}
    event = only_event(parse(conversation(tmp_path, [message(creator=no_email)],
                                          members=[no_email, VICTIM])))
    assert event.sender == "name:Chris Walker"
    assert event.recipients == ["email:person.a@example.org"]
    assert any("display name" in note for note in event.notes)


def test_no_creator_is_an_event_without_sender(tmp_path: Path) -> None:
    record = message("second")
    del record["creator"]
    items = parse(conversation(tmp_path, [message(), record], members=[SUSPECT, VICTIM]))
    event = events(items)[1]
    assert event.sender is None and any("no creator" in note for note in event.notes)
    assert event.recipients == []


def test_without_group_info_recipients_are_unknown_and_said(tmp_path: Path) -> None:
    items = parse(conversation(tmp_path, [message()], members=None))
    assert only_event(items).recipients == []
    assert any("group_info.json is not beside" in note for note in source_notes(items))


def test_broken_group_info_is_said_not_fatal(tmp_path: Path) -> None:
    source = conversation(tmp_path, [message()], members=None)
    (source.path.parent / "group_info.json").write_text("{not json")
    items = parse(source)
    assert only_event(items).recipients == []
    assert any("could not be read" in note for note in source_notes(items))


def test_long_text_is_bounded(tmp_path: Path) -> None:
    event = only_event(parse(conversation(tmp_path, [message("x" * (MAX_TEXT_CHARS + 5))],
                                          members=[SUSPECT, VICTIM])))
    assert len(event.text) == MAX_TEXT_CHARS and "truncated" in event.flags


def test_deleted_message_is_flagged(tmp_path: Path) -> None:
    record = message(None, message_state="DELETED",
                     deletion_metadata={"deletion_type": "CREATOR"})
    event = only_event(parse(conversation(tmp_path, [record], members=[SUSPECT, VICTIM])))
    assert event.flags == ["deleted"]
    assert event.details["deletion_metadata"] == {"deletion_type": "CREATOR"}
    assert event.details["message_state"] == "DELETED"


def test_annotations_links_reactions_and_unknown_fields(tmp_path: Path) -> None:
    record = message(
        "see https://example.org/x",
        annotations=[
            {"start_index": 4, "length": 21, "url_metadata": {
                "title": "Example", "snippet": "", "image_url": "",
                "url": {"private_do_not_access_or_else_safe_url_wrapped_value":
                        "https://example.org/x"}}},
            {"start_index": 0, "length": 3, "format_metadata": {"format_type": "BOLD"}}],
        reactions=[{"emoji": {"unicode": "👍"}, "reactor_emails": ["person.a@example.org"]}],
        quoted_message_metadata={"message_id": "AbCdEfG/x/y"})
    event = only_event(parse(conversation(tmp_path, [record], members=[SUSPECT, VICTIM])))
    assert event.details["links"] == [{"url": "https://example.org/x", "title": "Example"}]
    assert event.details["annotations"] == [
        {"start_index": 0, "length": 3, "format_metadata": {"format_type": "BOLD"}}]
    assert event.details["reactions"][0]["emoji"] == {"unicode": "👍"}
    assert event.details["other_fields"] == {"quoted_message_metadata":
                                             {"message_id": "AbCdEfG/x/y"}}


# -- created_date ------------------------------------------------------------------------------

@pytest.mark.parametrize("written, expected", [
    (f"Monday, January 7, 2019 at 7:25:08{NNBSP}PM UTC", datetime(2019, 1, 7, 19, 25, 8)),
    ("Monday, January 7, 2019 at 7:25:08\u00a0PM UTC", datetime(2019, 1, 7, 19, 25, 8)),
    ("Monday, January 7, 2019 at 7:25:08 PM UTC", datetime(2019, 1, 7, 19, 25, 8)),
    (f"Wednesday, April 15, 2015 at 12:51:08{NNBSP}AM UTC", datetime(2015, 4, 15, 0, 51, 8)),
    (f"Wednesday, April 15, 2015 at 12:51:08{NNBSP}PM UTC", datetime(2015, 4, 15, 12, 51, 8)),
    ("Thursday, 8 August 2024 at 12:04:08 UTC", datetime(2024, 8, 8, 12, 4, 8)),
    ("Thursday, 8 August 2024 at 23:04:08 GMT", datetime(2024, 8, 8, 23, 4, 8)),
])
def test_created_date_layouts(written: str, expected: datetime) -> None:
    time, notes = read_created_date(written)
    assert time.value == expected.replace(tzinfo=UTC) and time.basis == "utc"
    assert time.raw == written and not notes


def test_created_date_with_an_offset() -> None:
    time, _ = read_created_date("Monday, January 7, 2019 at 7:25:08 PM UTC+05:30")
    assert time.basis == "offset"
    assert time.value.utcoffset() == timedelta(hours=5, minutes=30)
    assert time.value == datetime(2019, 1, 7, 19, 25, 8,
                                  tzinfo=timezone(timedelta(hours=5, minutes=30)))


def test_weekday_that_does_not_match_is_noted(tmp_path: Path) -> None:
    record = message(created=f"Friday, March 2, 2024 at 9:14:05{NNBSP}PM UTC")
    event = only_event(parse(conversation(tmp_path, [record], members=[SUSPECT, VICTIM])))
    assert event.time.value == WHEN_UTC
    assert any("Saturday" in note for note in event.notes)


@pytest.mark.parametrize("written, said", [
    (f"Saturday, March 2, 2024 at 9:14:05{NNBSP}PM PST", "'PST'"),
    ("Samstag, 2. März 2024 um 21:14:05 UTC", "layout"),
    ("Saturday, Mars 2, 2024 at 9:14:05 PM UTC", "'mars'"),
    ("Saturday, February 30, 2024 at 9:14:05 PM UTC", "not a real time"),
    ("Saturday, March 2, 2024 at 13:14:05 PM UTC", "hour 13"),
    ("", "no created_date"),
])
def test_unreadable_dates_are_rejects_naming_the_record(tmp_path: Path, written: str,
                                                         said: str) -> None:
    items = parse(conversation(tmp_path, [message(), message(created=written)],
                               members=[SUSPECT, VICTIM]))
    assert len(events(items)) == 1
    [reject] = rejects(items)
    assert reject.locator == "json:messages[1]" and said in reject.reason


# -- attachments ------------------------------------------------------------------------------------

def test_attachment_in_the_export_is_hashed(tmp_path: Path) -> None:
    picture = png()
    record = message(None, attached_files=[{"original_name": "photo.png",
                                            "export_name": "File-photo.png"}])
    event = only_event(parse(conversation(tmp_path, [record], members=[SUSPECT, VICTIM],
                                          files={"File-photo.png": picture})))
    [attachment] = event.attachments
    assert attachment.name == "photo.png" and attachment.size == len(picture)
    assert attachment.sha256 == hashlib.sha256(picture).hexdigest()
    assert attachment.media_type == "image/png"
    assert "attachments_not_in_export" not in event.details


def test_attachment_not_in_the_export_is_listed(tmp_path: Path) -> None:
    record = message(None, attached_files=[{"original_name": "photo.jpg",
                                            "export_name": "File-photo.jpg"}])
    event = only_event(parse(conversation(tmp_path, [record], members=[SUSPECT, VICTIM])))
    assert event.attachments == []
    assert event.details["attachments_not_in_export"] == [
        {"original_name": "photo.jpg", "export_name": "File-photo.jpg",
         "reason": "not in the export"}]


def test_on_disk_spellings_and_numbering_are_derived_and_noted(tmp_path: Path) -> None:
    first, second, third = png(1, 1), png(2, 2), png(3, 3)
    records = [
        message(None, attached_files=[{"original_name": "9?account_id=0.jpg",
                                       "export_name": "File-9?account_id=0.jpg"}]),
        message(None, attached_files=[{"original_name": "a.png", "export_name": "File-a.png"}]),
        message(None, attached_files=[{"original_name": "a.png", "export_name": "File-a.png"}]),
    ]
    items = parse(conversation(tmp_path, records, members=[SUSPECT, VICTIM], files={
        "File-9_account_id=0.jpg": first, "File-a.png": second, "File-a(1).png": third}))
    one, two, three = events(items)
    assert one.attachments[0].sha256 == hashlib.sha256(first).hexdigest()
    assert any("'_'" in note for note in one.notes)
    assert two.attachments[0].sha256 == hashlib.sha256(second).hexdigest() and not two.notes
    assert three.attachments[0].sha256 == hashlib.sha256(third).hexdigest()
    assert any("File-a(1).png" in note for note in three.notes)


def test_attachment_names_that_are_paths_are_not_followed(tmp_path: Path) -> None:
    (tmp_path / "Takeout" / "secret.png").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "Takeout" / "secret.png").write_bytes(png())
    record = message(None, attached_files=[{"original_name": "x",
                                            "export_name": "../../../secret.png"}])
    event = only_event(parse(conversation(tmp_path, [record], members=[SUSPECT, VICTIM])))
    assert event.attachments == []
    assert "not followed" in event.details["attachments_not_in_export"][0]["reason"]


# -- damage and streaming --------------------------------------------------------------------------

def test_a_message_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    items = parse(conversation(tmp_path, [message(), "oops", message()],
                               members=[SUSPECT, VICTIM]))
    assert len(events(items)) == 2
    [reject] = rejects(items)
    assert reject.locator == "json:messages[1]" and "not a message object" in reject.reason


def test_a_file_cut_short_keeps_what_came_before(tmp_path: Path) -> None:
    whole = json.dumps({"messages": [message("one"), message("two"), message("three")]},
                       indent=2)
    cut = whole[: whole.index('"three"') + 3]
    items = parse(conversation(tmp_path, [], members=[SUSPECT, VICTIM], raw=cut))
    assert [e.text for e in events(items)] == ["one", "two"]
    [reject] = rejects(items)
    assert reject.locator == "json:messages[2]" and "cut short" in reject.reason


def test_a_broken_message_is_stepped_over_and_the_next_read(tmp_path: Path) -> None:
    """A message that is not JSON (an invalid escape), or is nested too deeply to read, is a
    reject naming it; the messages after it are read."""
    whole = json.dumps({"messages": [message("one"), message("two"), message("three"),
                                     message("four")]}, indent=2)
    deep = "[" * 100_000 + "]" * 100_000
    broken = whole.replace('"two"', '"tw\\qo"', 1).replace('"three"', deep)
    items = parse(conversation(tmp_path, [], members=[SUSPECT, VICTIM], raw=broken))
    assert [e.text for e in events(items)] == ["one", "four"]
    assert [(r.locator, "could not be read" in r.reason) for r in rejects(items)] == [
        ("json:messages[1]", True), ("json:messages[2]", True)]


def test_a_file_that_is_not_json_is_one_reject(tmp_path: Path) -> None:
    source = conversation(tmp_path, [], members=None, raw='{"messages": [')
    source.path.write_text('{"messages": [ {"creator": {}, "created_date": "x"')
    items = list(GoogleChatParser().parse(source))
    assert not events(items) and len(rejects(items)) == 1


def test_other_top_level_fields_are_said(tmp_path: Path) -> None:
    raw = json.dumps({"messages": [message()], "extra": {"a": 1}})
    items = parse(conversation(tmp_path, [], members=[SUSPECT, VICTIM], raw=raw))
    assert len(events(items)) == 1
    assert any("extra" in note for note in source_notes(items))


def test_small_chunks_give_the_same_events(tmp_path: Path, monkeypatch) -> None:
    records = [message(f"message {i} ünïcödé 👀 " * (i % 7), creator=[SUSPECT, VICTIM][i % 2],
                       created=f"Saturday, March 2, 2024 at 9:{i % 60:02d}:05{NNBSP}PM UTC")
               for i in range(40)]
    source = conversation(tmp_path, records, members=[SUSPECT, VICTIM])
    whole = parse(source)
    monkeypatch.setattr(google_chat, "CHUNK_BYTES", 7)
    chunked = parse(source)
    assert [(e.text, e.time.value, e.sender) for e in events(whole)] == \
        [(e.text, e.time.value, e.sender) for e in events(chunked)]
    assert len(events(chunked)) == 40 and not rejects(chunked)


def test_bytes_that_are_not_utf8_are_replaced_and_said(tmp_path: Path) -> None:
    source = conversation(tmp_path, [message("caf\u00e9")], members=[SUSPECT, VICTIM])
    data = source.path.read_bytes().replace("caf\u00e9".encode(), b"caf\xe9")
    source.path.write_bytes(data)
    items = parse(source)
    assert only_event(items).text == "caf\ufffd"
    assert any("not valid UTF-8" in note for note in source_notes(items))


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    source = conversation(tmp_path, [message()], members=[SUSPECT, VICTIM])
    source.path.write_bytes(b"\xef\xbb\xbf" + source.path.read_bytes())
    source = source_under(source.path, tmp_path)
    assert only_event(parse(source)).text == "Hello"


# -- the real samples ------------------------------------------------------------------------------

REAL_COUNTS = {"DM 1pRI-QAAAAE": 51, "DM 2k64eoAAAAE": 2, "Space AAAATeQdkhI": 9,
               "Space AAAAdvGdRgs": 5}


def real_files() -> list[Path]:
    if not REALWORLD.is_dir():
        pytest.skip(f"real Google Chat samples not present at {REALWORLD}")
    return sorted(REALWORLD.rglob("messages.json"))


def test_realworld_messages_parse_without_rejects() -> None:
    files = real_files()
    assert {path.parent.name for path in files} == set(REAL_COUNTS)
    for path in files:
        source = source_under(path, REALWORLD)
        items = parse(source)
        assert not rejects(items), (path, rejects(items))
        found = events(items)
        assert len(found) == REAL_COUNTS[path.parent.name], path
        expected = len(json.loads(path.read_text(encoding="utf-8"))["messages"])
        assert len(found) == expected
        for event in found:
            assert event.time.basis == "utc" and "\u202f" in event.time.raw
            assert event.sender.startswith("email:") and event.recipients
            assert event.details["message_id"]


def test_realworld_group_info_is_not_claimed_and_details_are_read() -> None:
    files = real_files()
    for path in files:
        assert parser_for(sample_file(path.parent / "group_info.json")) is None
    dm = next(p for p in files if p.parent.name == "DM 1pRI-QAAAAE")
    found = events(parse(source_under(dm, REALWORLD)))
    first = found[0]
    assert first.time.value == datetime(2015, 4, 15, 0, 51, 8, tzinfo=UTC)
    assert first.sender == "email:aamilne@authors.example.com"
    assert first.recipients == ["email:mssc@science.example.org"]
    assert sum(1 for e in found if e.details.get("links")) == 6
    missing = [e for e in found if e.details.get("attachments_not_in_export")]
    assert len(missing) == 9 and not any(e.attachments for e in found)
    space = next(p for p in files if p.parent.name == "Space AAAAdvGdRgs")
    opening = events(parse(source_under(space, REALWORLD)))[0]
    assert opening.recipients == ["email:fskf@authors.example.com",
                                  "email:pele@athletes.example.org"]
    assert opening.details["conversation"]["name"] == "Group Chat"
