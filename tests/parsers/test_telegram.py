"""Telegram Desktop JSON exports (parsers/telegram.py): synthetic exports built here after
tdesktop's writer (export_output_json.cpp), and a conformance run over the real samples in
``shared/realworld/telegram`` (skipped when absent).

Synthetic people only: Telegram user ids made up for the tests, phone numbers in the Ofcom drama
range 07700 900000-900999.
"""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile, parser_for, telegram
from courseline.parsers.telegram import TelegramJsonParser
from courseline.timeline.event import Event, Reject, SourceNote
from tests_support import (check_record, events, only_event, parsed, png, rejects,
                           source_notes, source_under)

OWNER_ID = 5550001        # the account that made the export
SUSPECT_ID = 5550002
FRIEND_ID = 5550003
WHEN_UNIX = 1709414045    # 2024-03-02T21:14:05Z
WHEN = datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)
REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld" / "telegram"
PLACEHOLDER = "(File not included. Change data exporting settings to download.)"


# -- builders --------------------------------------------------------------------------------------

def message(number: int, text: Any = "Hello", sender: int | None = SUSPECT_ID,
            name: str | None = "Sam Suspect", **fields: Any) -> dict[str, Any]:
    """A message as tdesktop writes it: id, type, date, date_unixtime, from, from_id, …, text."""
    record: dict[str, Any] = {"id": number, "type": "message",
                              "date": "2024-03-02T21:14:05", "date_unixtime": str(WHEN_UNIX)}
    if sender is not None:
        record["from"] = name
        record["from_id"] = f"user{sender}"
    record.update(fields)
    record["text"] = text
    record["text_entities"] = [{"type": "plain", "text": text}] if isinstance(text, str) else []
    return {k: v for k, v in record.items() if v is not None or k == "forwarded_from"}


def service(number: int, action: str | None, actor: int | None = SUSPECT_ID,
            actor_name: str | None = "Sam Suspect", **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"id": number, "type": "service",
                              "date": "2024-03-02T21:14:05", "date_unixtime": str(WHEN_UNIX)}
    if actor is not None:
        record["actor"] = actor_name
        record["actor_id"] = f"user{actor}"
    if action is not None:
        record["action"] = action
    record.update(fields)
    record["text"] = ""
    record["text_entities"] = []
    return record


def chat(messages: list[dict[str, Any]], name: str | None = "Sam Suspect",
         kind: str = "personal_chat", number: int | None = SUSPECT_ID) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name is not None:
        out["name"] = name
    out["type"] = kind
    if number is not None:
        out["id"] = number
    out["messages"] = messages
    return out


def account(chats: list[dict[str, Any]], left: list[dict[str, Any]] | None = None,
            contacts: int = 2) -> dict[str, Any]:
    """A whole-account export, sections in tdesktop's order."""
    document: dict[str, Any] = {
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": OWNER_ID, "first_name": "Alex", "last_name": "Owner",
                                 "phone_number": "+44 7700 900456", "bio": ""},
        "contacts": {"about": "contacts", "list": [
            {"user_id": 5550100 + n, "first_name": f"Contact {n}", "last_name": "",
             "phone_number": f"+44 7700 900{n % 1000:03d}", "date": "2024-01-01T10:00:00",
             "date_unixtime": "1704103200"} for n in range(contacts)]},
        "frequent_contacts": {"about": "frequent", "list": []},
        "chats": {"about": "chats", "list": chats},
    }
    if left is not None:
        document["left_chats"] = {"about": "left", "list": left}
    return document


def dumps(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def source_for(path: Path) -> SourceFile:
    return source_under(path, path.parent)


def parse_file(path: Path) -> list[Event | Reject | SourceNote]:
    items = parsed(TelegramJsonParser, source_for(path))
    for item in items:
        check(item)
    return items


def parse(tmp_path: Path, data: bytes | Any, name: str = "result.json"
          ) -> list[Event | Reject | SourceNote]:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else dumps(data))
    return parse_file(path)


def check(item: Event | Reject | SourceNote) -> None:
    """What every record must satisfy (``check_record``), and what every record of this parser
    must: Telegram events whose direction is left to the core, rejects located in the JSON."""
    check_record(item)
    if isinstance(item, Event):
        assert item.platform == "telegram" and item.direction == "unknown"
    elif isinstance(item, Reject):
        assert item.locator.startswith("json:")


# -- recognition -----------------------------------------------------------------------------------

def test_recognised_by_content_not_by_name(tmp_path: Path) -> None:
    single = tmp_path / "notes.txt"
    single.write_bytes(dumps(chat([message(1)])))
    whole = tmp_path / "data"
    whole.write_bytes(dumps(account([chat([message(1)])])))
    assert parser_for(sample_file(single)) is TelegramJsonParser
    assert parser_for(sample_file(whole)) is TelegramJsonParser


def test_recognised_when_the_head_ends_before_the_chats(tmp_path: Path) -> None:
    """A whole-account export whose contacts fill the head: its opening sections decide."""
    path = tmp_path / "result.json"
    path.write_bytes(dumps(account([chat([message(1)])], contacts=2000)))
    assert path.stat().st_size > 2 * 64 * 1024
    assert TelegramJsonParser.recognises(sample_file(path))
    assert len(events(parse_file(path))) == 1


def test_recognised_when_the_first_message_runs_past_the_head(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(dumps(chat([message(1, text="x" * 100_000), message(2)])))
    assert TelegramJsonParser.recognises(sample_file(path))
    empty = tmp_path / "empty.json"
    empty.write_bytes(dumps(chat([])))
    assert TelegramJsonParser.recognises(sample_file(empty))


@pytest.mark.parametrize("document", [
    [{"timestamp": "2018-12-05T10:39:10", "author": "Author 1", "message": "Minimal Message"}],
    {"participants": [{"name": "A"}], "messages": [
        {"sender_name": "A", "timestamp_ms": 1709414045000, "content": "hi", "type": "Generic"}],
     "title": "A"},
    {"messages": [{"id": 1, "body": "not telegram"}]},
    {"messages": "none"},
    {"chats": ["a list, not an object"]},
    {"name": "x", "type": "personal_chat", "id": 5},
])
def test_other_json_not_recognised(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(dumps(document))
    assert not TelegramJsonParser.recognises(sample_file(path))


def test_text_and_broken_json_not_recognised(tmp_path: Path) -> None:
    for data in (b'"messages" and "chats" in plain text\n', b'{"messages": [{"type": "mess',
                 b"\x00\x01binary"):
        path = tmp_path / "x.json"
        path.write_bytes(data)
        assert not TelegramJsonParser.recognises(sample_file(path)), data


# -- one chat --------------------------------------------------------------------------------------

def test_personal_chat_parties_and_time(tmp_path: Path) -> None:
    items = parse(tmp_path, chat([
        message(1, "Where are you?"),
        message(2, "Leave me alone", sender=OWNER_ID, name="Alex Owner"),
    ]))
    received, sent = events(items)
    assert received.kind == "message" and received.locator == "json:messages[0]"
    assert received.sender == f"telegram:user{SUSPECT_ID}" and received.recipients == []
    assert received.owner_side == "recipients"
    assert received.text == "Where are you?"
    assert received.time.value == WHEN and received.time.basis == "utc"
    assert received.time.precision == "s" and received.time.source == "date_unixtime"
    assert received.time.raw == str(WHEN_UNIX) and received.time.device_clock is False
    assert received.details["from"] == "Sam Suspect" and received.details["id"] == 1
    assert received.details["chat"] == {"name": "Sam Suspect", "type": "personal_chat",
                                        "id": SUSPECT_ID}
    assert "text_entities" not in received.details and "text" not in received.details
    assert sent.sender == f"telegram:user{OWNER_ID}" and sent.owner_side is None
    assert sent.recipients == [f"telegram:user{SUSPECT_ID}"]
    assert sent.locator == "json:messages[1]"
    assert any("single-chat export" in n and "personal_chat" in n for n in source_notes(items))


def test_without_from_id_the_chat_name_decides(tmp_path: Path) -> None:
    items = parse(tmp_path, chat([message(1, sender=None, **{"from": "Sam Suspect"}),
                                  message(2, sender=None, **{"from": "Alex Owner"})]))
    peer, owner = events(items)
    assert peer.sender == "name:Sam Suspect" and peer.owner_side == "recipients"
    assert owner.sender == "name:Alex Owner" and owner.recipients == [f"telegram:user{SUSPECT_ID}"]
    assert any("other party" in n for n in peer.notes)
    assert any("account's owner" in n for n in owner.notes)


def test_bare_numeric_from_id_of_early_exports(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, chat([message(1, from_id=SUSPECT_ID)])))
    assert event.sender == f"telegram:user{SUSPECT_ID}" and event.owner_side == "recipients"
    assert any("bare number" in n for n in event.notes)


def test_groups_and_channels_are_the_recipient(tmp_path: Path) -> None:
    items = parse(tmp_path, account([
        chat([message(1)], name="Basic group", kind="private_group", number=4001),
        chat([message(1)], name="Supergroup", kind="private_supergroup", number=4002),
        chat([message(1, sender=None, **{"from": "News", "from_id": "channel4003"})],
             name="News", kind="public_channel", number=4003),
        chat([message(1, sender=OWNER_ID, name="Alex Owner")], name=None, kind="saved_messages",
             number=OWNER_ID),
    ]))
    basic, supergroup, channel, saved = events(items)
    assert basic.recipients == ["telegram:chat4001"] and basic.owner_side is None
    assert supergroup.recipients == ["telegram:channel4002"]
    assert channel.sender == "telegram:channel4003" and channel.recipients == []
    assert saved.recipients == [] and saved.owner_side is None
    assert saved.details["chat"] == {"type": "saved_messages", "id": OWNER_ID}


# -- the whole account -----------------------------------------------------------------------------

def test_whole_account_locators_and_notes(tmp_path: Path) -> None:
    items = parse(tmp_path, account(
        [chat([message(1), message(2)]),
         chat([message(7, "in the group")], name="Group", kind="private_group", number=4001)],
        left=[chat([message(3, "left behind")], name="Old", kind="private_supergroup",
                   number=4009)]))
    assert [e.locator for e in events(items)] == [
        "json:chats.list[0].messages[0]", "json:chats.list[0].messages[1]",
        "json:chats.list[1].messages[0]", "json:left_chats.list[0].messages[0]"]
    assert events(items)[3].recipients == ["telegram:channel4009"]
    notes = source_notes(items)
    assert any("whole-account export" in n and "2 in chats.list" in n
               and "1 in left_chats.list" in n for n in notes)
    assert any(f"telegram:user{OWNER_ID}" in n and "Alex Owner" in n for n in notes)
    assert any("not read" in n and "contacts" in n and "frequent_contacts" in n for n in notes)
    assert not rejects(items)


def test_chat_that_is_not_an_object_and_messages_not_a_list(tmp_path: Path) -> None:
    document = account([chat([message(1)]), "not a chat",
                        {"name": "x", "type": "personal_chat", "id": 1, "messages": {"a": 1}}])
    items = parse(tmp_path, document)
    assert len(events(items)) == 1
    found = {r.locator: r.reason for r in rejects(items)}
    assert "not a chat object" in found["json:chats.list[1]"]
    assert "not a list" in found["json:chats.list[2].messages"]


# -- text ------------------------------------------------------------------------------------------

def test_entity_list_text_is_joined_and_links_kept(tmp_path: Path) -> None:
    text = ["I know where ", {"type": "bold", "text": "you live"}, ": ",
            {"type": "text_link", "text": "look", "href": "https://example.org/map"}, " ",
            {"type": "link", "text": "https://example.net/"}, " ",
            {"type": "mention_name", "text": "Friend", "user_id": FRIEND_ID}]
    event = only_event(parse(tmp_path, chat([message(1, text)])))
    assert event.text == "I know where you live: look https://example.net/ Friend"
    assert event.details["links"] == [{"text": "look", "href": "https://example.org/map"},
                                      {"href": "https://example.net/"}]
    assert event.details["mentioned_user_ids"] == [FRIEND_ID]


def test_text_of_an_unexpected_shape_is_kept_in_details(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, chat([message(1, {"odd": True})])))
    assert event.text is None and event.details["text_unread"] == {"odd": True}
    assert any("not a string or list" in n for n in event.notes)


def test_long_text_is_bounded_and_flagged(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(telegram, "MAX_TEXT_CHARS", 10)
    event = only_event(parse(tmp_path, chat([message(1, "x" * 50)])))
    assert event.text == "x" * 10 and "truncated" in event.flags


# -- service messages and calls --------------------------------------------------------------------

@pytest.mark.parametrize("reason, duration, status", [
    ("missed", None, "missed"), ("busy", None, "rejected"), ("hangup", 61, "answered"),
    ("hangup", None, "unanswered"), ("disconnect", 12, "answered"),
    ("disconnect", None, "unanswered"), (None, 30, "answered"), (None, None, None)])
def test_phone_call_status(tmp_path: Path, reason: str | None, duration: int | None,
                           status: str | None) -> None:
    fields = {k: v for k, v in (("duration_seconds", duration), ("discard_reason", reason))
              if v is not None}
    event = only_event(parse(tmp_path, chat([service(5, "phone_call", **fields)])))
    assert event.kind == "call" and event.call_status == status
    assert event.duration_s == duration
    assert event.sender == f"telegram:user{SUSPECT_ID}" and event.owner_side == "recipients"
    assert event.details["action"] == "phone_call" and event.details["actor"] == "Sam Suspect"
    assert event.text is None


def test_outgoing_phone_call_names_the_peer(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, chat([
        service(5, "phone_call", actor=OWNER_ID, actor_name="Alex Owner",
                discard_reason="missed")])))
    assert event.sender == f"telegram:user{OWNER_ID}"
    assert event.recipients == [f"telegram:user{SUSPECT_ID}"] and event.call_status == "missed"


def test_group_call_has_duration_and_no_status(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, chat([service(9, "group_call", duration=300)],
                                            name="Group", kind="private_supergroup", number=4002)))
    assert event.kind == "call" and event.duration_s == 300 and event.call_status is None
    assert event.recipients == ["telegram:channel4002"]


def test_other_service_actions_are_message_events(tmp_path: Path) -> None:
    items = parse(tmp_path, chat([
        service(1, "create_group", title="Watchers", members=["Sam Suspect", "Friend"]),
        service(2, "invite_members", members=["Alex Owner", None]),
        service(3, "pin_message", message_id=1),
        service(4, "clear_history", actor=None),
        service(5, None, information_text="Sam Suspect joined the group"),
        service(6, "something_new", extra="kept"),
    ], name="Watchers", kind="private_group", number=4001))
    created, invited, pinned, cleared, custom, unknown = events(items)
    assert all(e.kind == "message" for e in events(items)) and not rejects(items)
    assert created.text == "Sam Suspect created the group Watchers"
    assert created.details["members"] == ["Sam Suspect", "Friend"]
    assert invited.text == "Sam Suspect added Alex Owner, a deleted account"
    assert pinned.text == "Sam Suspect pinned message 1" and pinned.details["message_id"] == 1
    assert cleared.text == "someone cleared the chat history" and cleared.sender is None
    assert custom.text == "Sam Suspect joined the group"
    assert unknown.text == "Sam Suspect service action 'something_new'"
    assert unknown.details["extra"] == "kept"
    assert any("written by courseline" in n for n in created.notes)
    assert created.recipients == ["telegram:chat4001"]


def test_unsupported_message_is_rejected(tmp_path: Path) -> None:
    items = parse(tmp_path, chat([{"id": 8, "type": "unsupported"}, message(9)]))
    (reject,) = rejects(items)
    assert reject.locator == "json:messages[0]" and "unsupported" in reject.reason
    assert events(items)[0].locator == "json:messages[1]"


# -- media -----------------------------------------------------------------------------------------

def test_attached_photo_is_hashed_through_related(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    picture = png(4, 4)
    (tmp_path / "photos" / "photo_1@02-03-2024_21-14-05.jpg").write_bytes(picture)
    event = only_event(parse(tmp_path, chat([
        message(1, "", photo="photos/photo_1@02-03-2024_21-14-05.jpg", width=4, height=4)])))
    (attachment,) = event.attachments
    assert attachment.name == "photo_1@02-03-2024_21-14-05.jpg"
    assert attachment.sha256 == hashlib.sha256(picture).hexdigest()
    assert attachment.size == len(picture) and attachment.media_type == "image/png"
    assert event.details["photo"] == "photos/photo_1@02-03-2024_21-14-05.jpg"
    assert event.text is None and "attachments_not_in_export" not in event.details


def test_missing_files_are_listed_with_the_reason(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, chat([
        message(1, "see this", file=PLACEHOLDER, media_type="video_file",
                mime_type="video/mp4", thumbnail="video_files/absent.jpg_thumb.jpg",
                photo="../../outside.jpg")])))
    assert event.attachments == []
    missing = {m["field"]: m for m in event.details["attachments_not_in_export"]}
    assert missing["file"]["reason"] == PLACEHOLDER
    assert missing["thumbnail"]["reason"] == "the file is not in the export"
    assert missing["thumbnail"]["path"] == "video_files/absent.jpg_thumb.jpg"
    assert "leaves the export folder" in missing["photo"]["reason"]
    assert event.details["media_type"] == "video_file" and event.text == "see this"


# -- flags and details -----------------------------------------------------------------------------

def test_edited_forwarded_and_reply(tmp_path: Path) -> None:
    items = parse(tmp_path, chat([
        message(1, edited="2024-03-02T21:20:00", edited_unixtime=str(WHEN_UNIX + 355)),
        message(2, forwarded_from="Someone Else"),
        message(3, forwarded_from=None),
        message(4, reply_to_message_id=1),
    ]))
    edited, forwarded, hidden, reply = events(items)
    assert edited.flags == ["edited"] and edited.details["edited_utc"] == "2024-03-02T21:20:00Z"
    assert edited.details["edited_unixtime"] == str(WHEN_UNIX + 355)
    assert forwarded.flags == ["forwarded"]
    assert forwarded.details["forwarded_from"] == "Someone Else"
    assert hidden.flags == ["forwarded"] and any("does not give" in n for n in hidden.notes)
    assert reply.details["reply_to_message_id"] == 1 and reply.flags == []


def test_location_is_read(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, chat([
        message(1, "", location_information={"latitude": 51.5007, "longitude": -0.1246})])))
    assert event.location is not None
    assert (event.location.lat, event.location.lon) == (51.5007, -0.1246)


# -- times -----------------------------------------------------------------------------------------

def test_without_date_unixtime_the_local_date_is_used(tmp_path: Path) -> None:
    items = parse(tmp_path, chat([message(1, date_unixtime=None),
                                  message(2, date_unixtime="soon")]))
    old, bad_unix = events(items)
    assert old.time.basis == "local" and old.time.value == datetime(2024, 3, 2, 21, 14, 5)
    assert old.time.value.tzinfo is None and old.time.raw == "2024-03-02T21:14:05"
    assert old.time.precision == "s" and old.time.source.startswith("date")
    assert any("no date_unixtime" in n for n in old.notes)
    assert bad_unix.time.basis == "local"
    assert any("'soon' is not a Unix time" in n for n in bad_unix.notes)
    assert any("2 message(s) have no date_unixtime" in n for n in source_notes(items))


def test_bad_date_is_a_reject_naming_the_record(tmp_path: Path) -> None:
    items = parse(tmp_path, chat([
        message(1, "first"),
        message(2, date_unixtime="yesterday", date="yesterday"),
        message(3, date_unixtime="0", date=None),
        message(4, date_unixtime=None, date="2024-03-02"),
        message(5, "last")]))
    assert [e.text for e in events(items)] == ["first", "last"]
    found = {r.locator: r.reason for r in rejects(items)}
    assert set(found) == {"json:messages[1]", "json:messages[2]", "json:messages[3]"}
    assert "no usable time" in found["json:messages[1]"] and "'yesterday'" in found[
        "json:messages[1]"]
    assert events(items)[1].locator == "json:messages[4]"


# -- damage ----------------------------------------------------------------------------------------

def test_truncated_file_keeps_what_came_before(tmp_path: Path) -> None:
    data = dumps(chat([message(1, "one"), message(2, "two"), message(3, "three")]))
    cut = data.index(b'"three"')
    items = parse(tmp_path, data[:cut], name="result.json")
    assert [e.text for e in events(items)] == ["one", "two"]
    (reject,) = rejects(items)
    assert reject.locator == "json:messages[2]"
    assert "result.json" in reject.reason and f"byte {cut}" in reject.reason
    assert "cut short" in reject.reason


def test_truncated_between_messages_names_the_byte(tmp_path: Path) -> None:
    data = dumps(chat([message(1, "one")]))
    cut = data.rindex(b"}", 0, data.rindex(b"]")) + 1     # just after the message
    items = parse(tmp_path, data[:cut], name="export.json")
    assert [e.text for e in events(items)] == ["one"]
    (reject,) = rejects(items)
    assert reject.locator == f"json:byte={cut}" and "export.json" in reject.reason


def test_every_cut_point_is_handled(tmp_path: Path) -> None:
    """Cut a small whole-account export at every byte: never an exception, always well-formed
    output, and every message before the cut read."""
    data = dumps(account([chat([message(1, ["a ", {"type": "bold", "text": "b"}]),
                                service(2, "phone_call", discard_reason="missed")])],
                         contacts=1))
    full = parse(tmp_path, data)
    assert len(events(full)) == 2 and not rejects(full)
    path = tmp_path / "cut.json"
    for cut in range(1, len(data)):
        path.write_bytes(data[:cut])
        source = source_for(path)
        items = list(TelegramJsonParser().parse(source))
        for item in items:
            check(item)
        assert len(rejects(items)) == 1, (cut, items)
        assert len(events(items)) <= 2


def test_a_broken_message_is_rejected_and_the_next_read(tmp_path: Path) -> None:
    good = dumps(chat([message(1, "one"), message(2, "two"), message(3, "three"),
                       message(4, "four")]))
    broken = good.replace(b'"text": "two"', b'"text": "tw\\qo"', 1)     # an invalid escape
    broken = broken.replace(b'"three",', b'"three"', 1)                  # a missing comma
    items = parse(tmp_path, broken)
    assert [e.text for e in events(items)] == ["one", "four"]
    found = rejects(items)
    assert [r.locator for r in found] == ["json:messages[1]", "json:messages[2]"]
    assert all("not JSON" in r.reason and "byte" in r.reason for r in found)


def test_control_characters_written_as_x_escapes_are_repaired(tmp_path: Path) -> None:
    data = dumps(chat([message(1, "bell BELL end"), message(2, "back\\slash x41")]))
    data = data.replace(b"BELL", b"\\x07", 1)
    items = parse(tmp_path, data)
    repaired, plain = events(items)
    assert repaired.text == "bell \x07 end"
    assert any("\\xHH" in n for n in repaired.notes)
    assert plain.text == "back\\slash x41" and plain.notes == []
    assert any("1 message(s) were not valid JSON" in n for n in source_notes(items))


def test_structure_fault_between_messages_ends_the_read(tmp_path: Path) -> None:
    data = dumps(chat([message(1, "one"), message(2, "two")]))
    data = data.replace(b"},\n", b"} x\n", 1)
    items = parse(tmp_path, data)
    assert [e.text for e in events(items)] == ["one"]
    (reject,) = rejects(items)
    assert reject.locator.startswith("json:byte=") and "not valid JSON" in reject.reason


# -- streaming -------------------------------------------------------------------------------------

def test_tiny_reads_give_the_same_result(tmp_path: Path, monkeypatch) -> None:
    """Every value split across reads at every place: the same output as one read."""
    document = account([chat([message(1, ["é ", {"type": "text_link", "text": "🌍",
                                                 "href": "https://example.org/"}]),
                              message(2, "Łódź \\ \"quoted\" 12345", reply_to_message_id=1),
                              service(3, "phone_call", duration_seconds=7,
                                      discard_reason="hangup")])],
                       left=[chat([message(4)], kind="private_group", number=4001)])
    whole = parse(tmp_path, document, name="a.json")
    monkeypatch.setattr(telegram, "CHUNK_BYTES", 7)
    pieces = parse(tmp_path, document, name="b.json")
    assert repr(whole) == repr(pieces)
    assert len(events(whole)) == 4


def test_output_is_deterministic(tmp_path: Path) -> None:
    document = chat([message(1), service(2, "invite_members", members=["A"])])
    assert repr(parse(tmp_path, document, "a.json")) == repr(parse(tmp_path, document, "b.json"))


def test_memory_stays_bounded(tmp_path: Path, monkeypatch) -> None:
    """A large export: peak allocation stays far below the file size (it streams)."""
    monkeypatch.setattr(telegram, "CHUNK_BYTES", 64 * 1024)
    path = tmp_path / "result.json"
    count = 12_000
    filler = "words of a long message " * 40
    with path.open("wb") as handle:
        handle.write(b'{"about": "x", "personal_information": {"user_id": 1},\n'
                     b' "chats": {"about": "x", "list": [{"name": "Sam", "type": "personal_chat",'
                     b' "id": 5550002, "messages": [\n')
        for n in range(count):
            separator = b",\n" if n else b""
            handle.write(separator + json.dumps(message(n, f"{n} {filler}")).encode())
        handle.write(b"]}]}}\n")
    size = path.stat().st_size
    assert size > 10 * 1024 * 1024
    source = source_for(path)
    found = 0
    tracemalloc.start()
    try:
        for item in TelegramJsonParser().parse(source):
            found += isinstance(item, Event)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found == count
    assert peak < size / 10, (peak, size)


# -- real samples ----------------------------------------------------------------------------------

needs_realworld = pytest.mark.skipif(not REALWORLD.is_dir(),
                                     reason=f"real samples not present at {REALWORLD}")

# file -> messages read (no rejects in any of them)
EXPECTED = {
    "chatminer_tg_single_export.json": 2,
    "chatminer_tg_batch_export.json": 2,
}


@needs_realworld
def test_realworld_counts() -> None:
    assert sorted(p.name for p in REALWORLD.glob("*.json")) == sorted(
        [*EXPECTED, "chatminer_tg_target.json"])
    for name, count in EXPECTED.items():
        items = parse_file(REALWORLD / name)
        assert len(events(items)) == count and not rejects(items), name


@needs_realworld
def test_realworld_target_is_not_an_export() -> None:
    """chat-miner's expected output (a list of parsed messages) is not claimed."""
    sample = sample_file(REALWORLD / "chatminer_tg_target.json")
    assert not TelegramJsonParser.recognises(sample)
    assert parser_for(sample) is None or parser_for(sample) is not TelegramJsonParser


@needs_realworld
def test_realworld_values() -> None:
    single = events(parse_file(REALWORLD / "chatminer_tg_single_export.json"))
    batch = events(parse_file(REALWORLD / "chatminer_tg_batch_export.json"))
    assert [e.locator for e in single] == ["json:messages[0]", "json:messages[1]"]
    assert [e.locator for e in batch] == ["json:chats.list[0].messages[0]",
                                          "json:chats.list[0].messages[1]"]
    for found in (single, batch):
        first, second = found
        assert first.time.value == datetime(2018, 12, 5, 10, 39, 10, tzinfo=UTC)
        assert first.sender == "name:Author 1" and first.text == "Minimal Message"
        assert second.time.value == datetime(2018, 12, 5, 10, 49, 24, tzinfo=UTC)
        assert second.sender == "name:Author 2"
        assert second.text == "Link:https://telegram.org/"
        assert second.details["links"] == [{"href": "https://telegram.org/"}]
        assert all(e.recipients == [] and e.owner_side is None for e in found)
    assert batch[0].details["chat"] == {"name": "Chatname"}


@needs_realworld
def test_realworld_other_formats_are_not_claimed() -> None:
    """No real export of another app (Facebook, Instagram, Takeout, WhatsApp…) is claimed."""
    others = [p for p in sorted(REALWORLD.parent.rglob("*"))
              if p.is_file() and REALWORLD not in p.parents]
    assert others
    claimed = [p.name for p in others if TelegramJsonParser.recognises(sample_file(p))]
    assert claimed == []
