"""Facebook Messenger / Instagram DYI JSON (parsers/meta_messages.py): synthetic threads and
request lists built here, and a conformance run over the real samples in
``shared/realworld/facebook`` and ``shared/realworld/instagram`` (skipped when absent).

Synthetic people only; Meta's files write every non-ASCII character as its UTF-8 bytes, one
``\\u00XX`` escape each, which :func:`mojibake` reproduces.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import Parser, SourceFile, parser_for
from courseline.parsers import meta_messages
from courseline.parsers.meta_messages import (MetaFriendRequestsParser, MetaMessagesParser,
                                              export_relative_paths, repair_mojibake)
from courseline.timeline.event import Event, Reject, SourceNote
from tests_support import (check_record, events, export_source, only_event, parsed, png,
                           rejects, source_file, source_notes)

WHEN_MS = 1709414045123          # 2024-03-02T21:14:05.123Z
WHEN = datetime(2024, 3, 2, 21, 14, 5, 123000, tzinfo=UTC)
REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"
FB_THREAD = "exports/facebook-sam-2024.zip!your_facebook_activity/messages/inbox/alexsuspect_123"
IG_THREAD = "exports/ig/your_instagram_activity/messages/inbox/alex.s_456"


# -- builders --------------------------------------------------------------------------------------

def mojibake(text: str) -> str:
    """What Meta writes for ``text``: its UTF-8 bytes as code points U+0000-U+00FF."""
    return text.encode("utf-8").decode("latin-1")


def message(sender: str = "Alex Suspect", ms: object = WHEN_MS, **fields: object) -> dict:
    found: dict = {"sender_name": mojibake(sender), "timestamp_ms": ms}
    if "content" not in fields:
        found["content"] = "Where are you?"
    found.update(fields)
    if isinstance(found.get("content"), str):
        found["content"] = mojibake(found["content"])
    if found["timestamp_ms"] is None:
        del found["timestamp_ms"]
    return found


def thread(*messages: dict, participants: list[str] | None = None, **fields: object) -> bytes:
    data: dict = {}
    if participants is not None:
        data["participants"] = [{"name": mojibake(name)} for name in participants]
    data["messages"] = list(messages)
    data.update({"title": "Alex Suspect", "is_still_participant": True,
                 "thread_type": "Regular", "thread_path": "inbox/alexsuspect_123",
                 "magic_words": []})
    data.update(fields)
    return json.dumps(data, indent=2).encode("ascii")   # ensure_ascii: Meta's escapes


PAIR = ["Alex Suspect", "Sam Owner"]


def write(tmp_path: Path, case_path: str, data: bytes) -> Path:
    path = tmp_path / case_path.replace("!", "/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def source_for(path: Path, case_path: str, copies: dict[str, Path] | None = None) -> SourceFile:
    return export_source(path, case_path, copies or {})


def check(item: Event | Reject | SourceNote) -> None:
    """What every record must satisfy (``check_record``), and Meta's times: all UTC."""
    check_record(item)
    if isinstance(item, Event):
        assert item.time.basis == "utc" and item.time.value.tzinfo is UTC


def parse_source(parser: type[Parser], source: SourceFile) -> list:
    items = parsed(parser, source)
    for item in items:
        check(item)
    return items


def parse(tmp_path: Path, data: bytes, case_path: str = f"{FB_THREAD}/message_1.json",
          copies: dict[str, Path] | None = None) -> list:
    source = source_for(write(tmp_path, case_path, data), case_path, copies)
    parser = parser_for(source.sample)
    assert parser is not None, "not recognised"
    return parse_source(parser, source)


# -- recognition -----------------------------------------------------------------------------------

def test_thread_recognised_by_content_not_by_name(tmp_path: Path) -> None:
    for name in ("message_1.json", "chat.txt", "export"):
        path = tmp_path / name
        path.write_bytes(thread(message(), participants=PAIR))
        assert parser_for(sample_file(path)) is MetaMessagesParser, name


def test_participants_after_messages_and_bom_are_fine(tmp_path: Path) -> None:
    data = json.dumps({"messages": [message()], "participants": [{"name": "Alex Suspect"},
                                                                 {"name": "Sam Owner"}]})
    event = only_event(parse(tmp_path, b"\xef\xbb\xbf" + data.encode()))
    assert event.recipients == ["name:Sam Owner"]


@pytest.mark.parametrize("data", [
    # chat-miner's expected output: an array of parsed rows, not an export
    b'[{"datetime":1668628203612,"author":"John Doe","message":"Hello"}]',
    b"datetime,author,message\n2019-12-24 12:23:00.000,John Doe,Hi\n",
    # Telegram Desktop's result.json has messages too, with other fields
    (b'{"name": "Alex", "type": "personal_chat", "messages": [{"id": 1, "type": "message", '
     b'"date": "2024-03-02T21:14:05", "from": "Alex", "text": "hi"}]}'),
    # Instagram's reported conversations nest messages one level down
    (b'{"ig_reported_conversations": [{"timestamp": 1, "messages": [{"sender_name": "A", '
     b'"timestamp_ms": 1709414045123, "content": "x"}]}]}'),
    b'{"received_requests_v2": [{"name": "Alex Suspect", "timestamp": 1709414045}]}',
])
def test_other_json_not_recognised_as_a_thread(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "message_1.json"
    path.write_bytes(data)
    assert not MetaMessagesParser.recognises(sample_file(path))


# -- mojibake --------------------------------------------------------------------------------------

def test_repair_mojibake_per_string() -> None:
    assert repair_mojibake(mojibake("Café 😀 ❤️")) == "Café 😀 ❤️"
    assert repair_mojibake("plain ascii") == "plain ascii"
    assert repair_mojibake("Zoë") == "Zoë"            # already right: é alone is not UTF-8
    assert repair_mojibake("日本 Ã©") == "日本 Ã©"       # above U+00FF: written right, kept


def test_mojibake_text_and_names_repaired_and_noted_once(tmp_path: Path) -> None:
    items = parse(tmp_path, thread(
        message(sender="Zoë Suspect", content="Je suis là 😀"),
        participants=["Zoë Suspect", "Sam Ówner"]))
    event = only_event(items)
    assert event.text == "Je suis là 😀"
    assert event.sender == "name:Zoë Suspect"
    assert event.recipients == ["name:Sam Ówner"]
    repaired = [n for n in event.notes if "mojibake" in n]
    assert repaired == [repaired[0]] and repaired[0].startswith("text repaired from Meta's "
                                                                "Latin-1 mojibake")
    assert "sender_name" in repaired[0] and "content" in repaired[0] \
        and "participants" in repaired[0]


def test_text_written_correctly_is_kept_and_not_noted(tmp_path: Path) -> None:
    data = json.dumps({"participants": [{"name": "Alex"}, {"name": "Sam"}],
                       "messages": [{"sender_name": "Alex", "timestamp_ms": WHEN_MS,
                                     "content": "日本 Zoë"}]}, ensure_ascii=False)
    event = only_event(parse(tmp_path, data.encode("utf-8")))
    assert event.text == "日本 Zoë"
    assert not any("mojibake" in n for n in event.notes)


# -- one message -----------------------------------------------------------------------------------

def test_message_fields(tmp_path: Path) -> None:
    items = parse(tmp_path, thread(
        message(content="Answer me", type="Generic", is_geoblocked_for_viewer=False),
        participants=PAIR))
    event = only_event(items)
    assert (event.kind, event.platform, event.direction) == ("message", "facebook", "unknown")
    assert event.time.value == WHEN and event.time.precision == "ms"
    assert event.time.raw == str(WHEN_MS) and event.time.source == "timestamp_ms"
    assert event.locator == "json:messages[0]"
    assert event.sender == "name:Alex Suspect" and event.recipients == ["name:Sam Owner"]
    assert event.owner_side is None
    assert event.details["type"] == "Generic"
    assert event.details["thread"] == "Alex Suspect"
    assert event.details["thread_path"] == "inbox/alexsuspect_123"
    assert event.details["other_fields"] == {"is_geoblocked_for_viewer": False}
    assert any("Facebook Messenger thread" in n and "2 participant(s)" in n
               for n in source_notes(items))


def test_locators_follow_the_array_newest_first(tmp_path: Path) -> None:
    items = parse(tmp_path, thread(message(ms=WHEN_MS + 2000, content="third"),
                                   message(ms=WHEN_MS + 1000, content="second"),
                                   message(content="first"), participants=PAIR))
    assert [(e.locator, e.text) for e in events(items)] == [
        ("json:messages[0]", "third"), ("json:messages[1]", "second"),
        ("json:messages[2]", "first")]


def test_unsent_is_flagged(tmp_path: Path) -> None:
    items = parse(tmp_path, thread(message(content=None, is_unsent=True),
                                   message(content="kept", is_unsent=False),
                                   participants=PAIR))
    unsent, kept = events(items)
    assert unsent.flags == ["unsent"] and unsent.text is None
    assert kept.flags == []


@pytest.mark.parametrize("duration, status", [(0, "missed"), (125, "answered")])
def test_call_with_duration_and_derived_status(tmp_path: Path, duration: int,
                                               status: str) -> None:
    event = only_event(parse(tmp_path, thread(
        message(content="Alex called you.", type="Call", call_duration=duration),
        participants=PAIR)))
    assert event.kind == "call" and event.call_status == status
    assert event.duration_s == duration
    assert any(f"'{status}' is derived" in n for n in event.notes)
    assert event.text == "Alex called you."


def test_call_without_duration_has_no_status(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, thread(message(type="Call"), participants=PAIR)))
    assert event.kind == "call" and event.call_status is None and event.duration_s is None
    assert any("without call_duration" in n for n in event.notes)


def test_group_thread_recipients_and_membership_notice(tmp_path: Path) -> None:
    group = ["Alex Suspect", "Sam Owner", "Kim Friend"]
    items = parse(tmp_path, thread(
        message(content="hello all"),
        message(sender="Kim Friend", content="Kim Friend added Alex Suspect to the group.",
                type="Subscribe", users=[{"name": "Alex Suspect"}]),
        message(sender="Alex Suspect", content="Alex Suspect left the group.",
                type="Unsubscribe", users=[{"name": "Alex Suspect"}]),
        participants=group, thread_type="RegularGroup"))
    said, added, left = events(items)
    assert said.recipients == ["name:Sam Owner", "name:Kim Friend"]
    assert added.sender == "name:Kim Friend"
    assert added.recipients == ["name:Alex Suspect", "name:Sam Owner"]
    assert added.details["users"] == [{"name": "Alex Suspect"}]
    assert any("Subscribe" in n and "added" in n for n in added.notes)
    assert any("Unsubscribe" in n and "left" in n for n in left.notes)


def test_sender_not_a_participant_and_no_participants(tmp_path: Path) -> None:
    stranger = only_event(parse(tmp_path, thread(message(sender="Old Name"), participants=PAIR)))
    assert stranger.recipients == ["name:Alex Suspect", "name:Sam Owner"]
    assert any("not among the thread's participants" in n for n in stranger.notes)
    bare = only_event(parse(tmp_path / "b", thread(message())))
    assert bare.recipients == [] and any("no participants" in n for n in bare.notes)


def test_missing_sender_is_kept_with_a_note(tmp_path: Path) -> None:
    data = thread({"timestamp_ms": WHEN_MS, "content": "who?"}, message(), participants=PAIR)
    event = events(parse(tmp_path, data))[0]
    assert event.sender is None and any("no sender_name" in n for n in event.notes)
    assert event.recipients == ["name:Alex Suspect", "name:Sam Owner"]


def test_share_and_reactions_kept_in_details(tmp_path: Path) -> None:
    event = only_event(parse(tmp_path, thread(
        message(content="look", type="Share",
                share={"link": "https://example.org/p/1", "share_text": mojibake("à voir")},
                reactions=[{"reaction": mojibake("😡"), "actor": "Sam Owner"}]),
        participants=PAIR)))
    assert event.details["share"] == {"link": "https://example.org/p/1", "share_text": "à voir"}
    assert event.details["reactions"] == [{"reaction": "😡", "actor": "Sam Owner"}]
    assert event.kind == "message"


def test_long_text_is_bounded_and_flagged(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(meta_messages, "MAX_TEXT_CHARS", 10)
    event = only_event(parse(tmp_path, thread(message(content="x" * 50), participants=PAIR)))
    assert event.text == "x" * 10 and event.flags == ["truncated"]


@pytest.mark.parametrize("value, words", [
    (None, "missing"), ("1709414045123", "not a whole number"), (1709414045123.5, "not a whole"),
    (0, "0 or before 1970"), (-5, "0 or before 1970"), (10 ** 20, "beyond any calendar"),
    (True, "not a whole number"),
])
def test_bad_timestamp_is_a_reject_naming_the_message(tmp_path: Path, value: object,
                                                      words: str) -> None:
    items = parse(tmp_path, thread(message(content="ok"), message(ms=value),
                                   participants=PAIR))
    assert [e.locator for e in events(items)] == ["json:messages[0]"]
    (reject,) = rejects(items)
    assert reject.locator == "json:messages[1]" and words in reject.reason


def test_message_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    items = parse(tmp_path, thread(message(), "just text", participants=PAIR))
    assert len(events(items)) == 1
    assert rejects(items)[0].locator == "json:messages[1]"


def test_output_is_deterministic(tmp_path: Path) -> None:
    data = thread(message(), message(type="Call", call_duration=0), participants=PAIR)
    first = parse(tmp_path / "a", data)
    second = parse(tmp_path / "b", data)
    assert first == second


# -- damage ----------------------------------------------------------------------------------------

def test_truncated_file_keeps_the_messages_before_the_cut(tmp_path: Path) -> None:
    data = thread(message(content="one"), message(content="two"), message(content="three"),
                  participants=PAIR)
    cut = data[:data.index(b'"two"') + 3]
    items = parse(tmp_path, cut)
    assert [e.text for e in events(items)] == ["one"]
    (reject,) = rejects(items)
    assert reject.locator == "json:messages[1]"
    assert f"ends at byte {len(cut)}" in reject.reason and "cut short" in reject.reason


def test_every_truncation_keeps_whole_messages(tmp_path: Path) -> None:
    data = thread(*(message(content=f"m{i}") for i in range(4)), participants=PAIR)
    for size in range(len(data) - 1, 0, -7):
        path = tmp_path / "message_1.json"
        path.write_bytes(data[:size])
        source = source_for(path, f"{FB_THREAD}/message_1.json")
        items = list(MetaMessagesParser().parse(source))
        for item in items:
            check(item)
        made = [e.text for e in events(items)]
        assert made == [f"m{i}" for i in range(len(made))], size
        assert rejects(items), size       # something is always said to be missing


def test_break_after_the_messages_is_located(tmp_path: Path) -> None:
    data = thread(message(), participants=PAIR).rstrip()[:-1] + b', "title": oops}'
    items = parse(tmp_path, data)
    assert len(events(items)) == 1
    (reject,) = rejects(items)
    assert reject.locator == f"json:byte={data.index(b'oops')}"
    assert "not valid JSON" in reject.reason


def test_object_without_messages_list_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "m/message_1.json", b'{"participants": [], "messages": {}}')
    items = list(MetaMessagesParser().parse(source_for(path, "m/message_1.json")))
    assert events(items) == [] and len(rejects(items)) == 2


# -- media -----------------------------------------------------------------------------------------

def test_export_relative_paths() -> None:
    file = f"{FB_THREAD}/message_1.json"
    assert export_relative_paths(
        "your_facebook_activity/messages/inbox/alexsuspect_123/photos/1.png", file) == [
        "photos/1.png"]
    assert export_relative_paths("your_facebook_activity/messages/inbox/other_9/audio/a.mp4",
                                 file) == ["../other_9/audio/a.mp4"]
    assert export_relative_paths("messages/inbox/alexsuspect_123/photos/1.png",
                                 "exports/fb/messages/inbox/alexsuspect_123/message_1.json") == [
        "photos/1.png"]
    # only the thread folder was added: found by its name inside the uri
    assert export_relative_paths("messages/inbox/alexsuspect_123/photos/1.png",
                                 "alexsuspect_123/message_1.json") == ["photos/1.png"]
    for unsafe in ("../../secret", "/etc/passwd", "https://example.org/x.png", "C:/x.png",
                   "a//b.png", ""):
        assert export_relative_paths(unsafe, file) == [], unsafe


def test_photo_in_the_export_is_hashed_and_a_missing_one_listed(tmp_path: Path) -> None:
    picture = png()
    photo_case = f"{FB_THREAD}/photos/1.png"
    photo = write(tmp_path / "store", photo_case, picture)
    items = parse(tmp_path, thread(message(
        content=None,
        photos=[{"uri": "your_facebook_activity/messages/inbox/alexsuspect_123/photos/1.png",
                 "creation_timestamp": 1709414040},
                {"uri": "your_facebook_activity/messages/inbox/alexsuspect_123/photos/2.png",
                 "creation_timestamp": 1709414041}]), participants=PAIR),
        copies={photo_case: photo})
    event = only_event(items)
    (attachment,) = event.attachments
    assert attachment.name == "1.png" and attachment.media_type == "image/png"
    assert attachment.sha256 == hashlib.sha256(picture).hexdigest()
    assert attachment.size == len(picture)
    found, missing = event.details["media"]
    assert found["status"] == "hashed" and found["sha256"] == attachment.sha256
    assert found["creation_timestamp"] == 1709414040
    assert missing["status"] == "not in the export" and missing["field"] == "photos"
    assert any("1 of 2 media item(s) could not be hashed" in n for n in event.notes)


def test_sticker_gif_and_unsafe_uris(tmp_path: Path) -> None:
    sticker_case = "exports/fb/messages/stickers_used/s.png"
    sticker = write(tmp_path / "store", sticker_case, png(3, 3))
    event = only_event(parse(
        tmp_path,
        thread(message(content=None, sticker={"uri": "messages/stickers_used/s.png"},
                       gifs=[{"uri": "https://example.org/g.gif"}],
                       files=[{"uri": "../../outside.txt"}]), participants=PAIR),
        case_path="exports/fb/messages/inbox/alexsuspect_123/message_1.json",
        copies={sticker_case: sticker}))
    assert [a.name for a in event.attachments] == ["s.png"]
    statuses = {e["field"]: e["status"] for e in event.details["media"]}
    assert statuses["sticker"] == "hashed"
    assert statuses["gifs"].startswith("a web address")
    assert statuses["files"].startswith("not a plain relative path")


# -- platform --------------------------------------------------------------------------------------

def test_instagram_by_its_folder(tmp_path: Path) -> None:
    items = parse(tmp_path, thread(message(), participants=PAIR),
                  case_path=f"{IG_THREAD}/message_1.json")
    assert only_event(items).platform == "instagram"
    assert any("platform instagram" in n and "your_instagram_activity" in n
               for n in source_notes(items))


def test_content_decides_over_the_path(tmp_path: Path) -> None:
    items = parse(tmp_path, thread(message(
        photos=[{"uri": "your_instagram_activity/messages/inbox/alex.s_456/photos/1.jpg"}]),
        participants=PAIR), case_path="exports/facebook/message_1.json")
    assert only_event(items).platform == "instagram"
    notes = source_notes(items)
    assert any("by content" in n for n in notes) and any("path suggests facebook" in n
                                                         for n in notes)
    joined = parse(tmp_path / "j", thread(message(), participants=PAIR,
                                          joinable_mode={"mode": 1, "link": "https://ig.me/j/x"}),
                   case_path="exports/x/message_1.json")
    assert only_event(joined).platform == "instagram"


def test_platform_unknown_is_facebook_and_said(tmp_path: Path) -> None:
    items = parse(tmp_path, thread(message(), participants=PAIR),
                  case_path="exports/x/message_1.json")
    assert only_event(items).platform == "facebook"
    assert any("neither the content nor the file's path" in n for n in source_notes(items))


# -- friend and follow requests --------------------------------------------------------------------

def parse_requests(tmp_path: Path, document: dict, name: str) -> list:
    path = tmp_path / name
    path.write_bytes(json.dumps(document).encode("ascii"))
    source = source_for(path, f"exports/meta/{name}")
    assert not MetaMessagesParser.recognises(source.sample)
    return parse_source(MetaFriendRequestsParser, source)


def test_facebook_friend_requests(tmp_path: Path) -> None:
    received = parse_requests(tmp_path, {"received_requests_v2": [
        {"name": mojibake("Alèx Suspect"), "timestamp": 1709414045},
        {"name": "Alex Suspect 2", "timestamp": "soon"}]}, "received_friend_requests.json")
    event = events(received)[0]
    assert (event.kind, event.platform, event.direction) == ("friend-request", "facebook",
                                                             "incoming")
    assert event.sender == "name:Alèx Suspect" and event.owner_side == "recipients"
    assert event.time.value == datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)
    assert event.time.precision == "s" and event.locator == "json:received_requests_v2[0]"
    assert any("mojibake" in n for n in event.notes)
    (reject,) = rejects(received)
    assert reject.locator == "json:received_requests_v2[1]" and "not a whole number" in \
        reject.reason
    assert any("Meta does not document what each timestamp marks" in n
               for n in source_notes(received))
    sent = only_event(parse_requests(tmp_path, {"sent_requests_v2": [
        {"name": "Kim Friend", "timestamp": 1709414045}]}, "sent_friend_requests.json"))
    assert sent.direction == "outgoing" and sent.recipients == ["name:Kim Friend"]
    assert sent.owner_side == "sender"
    declined = only_event(parse_requests(tmp_path, {"rejected_requests_v2": [
        {"name": "Alex New Account", "timestamp": 1709414045}]}, "rejected_friend_requests.json"))
    assert declined.details["request"] == "rejected" and declined.direction == "incoming"


def test_instagram_follow_requests(tmp_path: Path) -> None:
    items = parse_requests(tmp_path, {"relationships_follow_requests_received": [
        {"title": "", "media_list_data": [], "string_list_data": [
            {"href": "https://www.instagram.com/alex.s2", "value": "alex.s2",
             "timestamp": 1709414045}]},
        {"title": "alex.s3", "string_list_data": [
            {"href": "https://www.instagram.com/_u/alex.s3", "timestamp": 1709414046}]},
        {"title": "", "string_list_data": [
            {"href": "https://www.instagram.com/_u/alex.s4", "timestamp": 1709414047}]},
        {"title": "nobody", "string_list_data": []},
    ]}, "follow_requests_you've_received.json")
    made = events(items)
    assert [e.sender for e in made] == ["instagram:alex.s2", "instagram:alex.s3",
                                        "instagram:alex.s4"]
    assert all(e.platform == "instagram" and e.direction == "incoming" for e in made)
    assert made[0].details["href"] == "https://www.instagram.com/alex.s2"
    assert any("profile address" in n for n in made[2].notes)
    assert [r.locator for r in rejects(items)] == ["json:relationships_follow_requests_received[3]"]
    sent = only_event(parse_requests(tmp_path, {"relationships_follow_requests_sent": [
        {"title": "", "string_list_data": [{"href": "https://www.instagram.com/kim",
                                            "value": "kim", "timestamp": 1709414045}]}]},
        "pending_follow_requests.json"))
    assert sent.recipients == ["instagram:kim"] and sent.direction == "outgoing"


def test_requests_unknown_list_and_broken_json(tmp_path: Path) -> None:
    items = parse_requests(tmp_path, {"received_requests_v2": [], "friends_v2": [
        {"name": "x", "timestamp": 1}]}, "mixed.json")
    assert [r.locator for r in rejects(items)] == ["json:friends_v2"]
    path = tmp_path / "cut.json"
    path.write_bytes(b'{"received_requests_v2": [{"name": "Sam", "timestamp": 1709414045}, '
                     b'{"name": "Alex", "timest')
    source = source_for(path, "exports/cut.json")
    assert MetaFriendRequestsParser.recognises(source.sample)
    items = list(MetaFriendRequestsParser().parse(source))
    assert [e.sender for e in events(items)] == ["name:Sam"]     # the entry before the cut kept
    (reject,) = rejects(items)
    assert reject.locator == "json:received_requests_v2[1]" and "cut short" in reject.reason


# -- real samples ----------------------------------------------------------------------------------

needs_realworld = pytest.mark.skipif(
    not (REALWORLD / "facebook").is_dir() or not (REALWORLD / "instagram").is_dir(),
    reason=f"real samples not present under {REALWORLD}")

# (folder, file) -> (events, platform); every message of each file is an event, no rejects.
EXPECTED = {
    ("facebook", "chatminer_fb_testlog.json"): (2, "facebook"),
    ("instagram", "chatminer_ig_test_export.json"): (2, "instagram"),
    ("instagram", "chatminer_ig_testlog_mojibake.json"): (13, "instagram"),
}
NOT_EXPORTS = [("facebook", "chatminer_fb_target.json"),
               ("instagram", "chatminer_ig_testlog_target.csv")]


def real(folder: str, name: str) -> list:
    return parse_source(MetaMessagesParser,
                        source_file(REALWORLD / folder / name, f"realworld/{folder}/{name}"))


@needs_realworld
def test_realworld_counts() -> None:
    present = {(folder, p.name) for folder in ("facebook", "instagram")
               for p in (REALWORLD / folder).iterdir()}
    assert present == set(EXPECTED) | set(NOT_EXPORTS)
    for (folder, name), (count, platform) in EXPECTED.items():
        items = real(folder, name)
        assert len(events(items)) == count, name
        assert rejects(items) == [], name
        assert {e.platform for e in events(items)} == {platform}, name


@needs_realworld
def test_realworld_expected_output_files_are_not_claimed() -> None:
    for folder, name in NOT_EXPORTS:
        sample = sample_file(REALWORLD / folder / name)
        assert not MetaMessagesParser.recognises(sample), name
        assert not MetaFriendRequestsParser.recognises(sample), name


@needs_realworld
def test_realworld_instagram_mojibake_values() -> None:
    items = real("instagram", "chatminer_ig_testlog_mojibake.json")
    found = {e.locator: e for e in events(items)}
    assert any("by content: the group's join link is on ig.me" in n
               for n in source_notes(items))
    named = found["json:messages[10]"]
    assert named.sender == "name:J\u2764\ufe0fhn Doe"
    assert named.text == "Testing username with emoji: J\u2764\ufe0fhn Doe"
    assert named.recipients == ["name:John Doe", "name:Jane Doe", "name:Lionel Messi"]
    emoji_only = found["json:messages[9]"]
    assert emoji_only.sender == "name:\u2764\ufe0f"
    assert any("not among the thread's participants" in n for n in emoji_only.notes)
    reacted = found["json:messages[8]"]
    assert reacted.details["reactions"] == [
        {"reaction": "\u2764\ufe0f", "actor": "J\u2764\ufe0fhn Doe"},
        {"reaction": "\U0001F496", "actor": "Jane Doe"}]
    shared = found["json:messages[5]"]
    assert shared.details["share"]["link"].startswith("https://www.instagram.com/p/CmUv48DLvxd")
    audio = found["json:messages[3]"]
    assert audio.attachments == [] and audio.details["media"][0]["field"] == "audio_files"
    assert audio.details["media"][0]["status"].startswith("not in the export")
    assert found["json:messages[7]"].details["users"] == [{"name": "Jane Doe"}]
    # 2019-12-24 12:23 in chat-miner's expected CSV is Central European time
    assert found["json:messages[12]"].time.value == datetime(2019, 12, 24, 11, 23, tzinfo=UTC)
    assert found["json:messages[0]"].time.value == datetime(2022, 2, 28, 5, 25, 43, 621000,
                                                            tzinfo=UTC)


@needs_realworld
def test_realworld_facebook_minimal() -> None:
    first, second = events(real("facebook", "chatminer_fb_testlog.json"))
    assert (first.sender, first.text) == ("name:Allan Smith", "Hello John")
    assert (second.sender, second.text) == ("name:John Doe", "Hello Allan")
    assert first.details["type"] == "Generic"
    assert first.time.value == datetime(2022, 11, 16, 19, 50, 3, 612000, tzinfo=UTC)
