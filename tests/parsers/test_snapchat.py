"""Snapchat "My Data" chat history (parsers/snapchat.py): synthetic ``chat_history.json`` files in
both layouts formats.md §4.6 describes (no public sample of a real download was found).

Synthetic people only: usernames made up for the tests.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from courseline.parsers import SourceFile
from courseline.parsers.snapchat import SnapchatChatParser
from tests_support import (events, parsed, read_jsonl, rejects, run_cli, source_file,
                           source_notes)

OWNER = "sam.owner"
SUSPECT = "alex.s"
FRIEND = "jo.friend"
CREATED = "2024-03-02 21:14:05 UTC"
EPOCH_MS = 1709414045123           # 2024-03-02T21:14:05.123Z
WHEN = datetime(2024, 3, 2, 21, 14, 5, 123000, tzinfo=UTC)


# -- builders --------------------------------------------------------------------------------------

def chat(sender: str = SUSPECT, is_sender: bool = False, content: str | None = "Where are you?",
         created: str | None = CREATED, epoch: object = EPOCH_MS, title: str | None = None,
         **fields: object) -> dict:
    record: dict = {"From": sender, "Media Type": "TEXT", "Created": created, "Content": content,
                    "Conversation Title": title, "IsSender": is_sender,
                    "Created(microseconds)": epoch, "IsSaved": content is not None,
                    "Media IDs": ""}
    for name, value in (("Created", created), ("Created(microseconds)", epoch)):
        if value is None:
            del record[name]
    record.update(fields)
    return record


def write(tmp_path: Path, data: object, name: str = "chat_history.json") -> SourceFile:
    path = tmp_path / "mydata" / "json" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes)
                     else json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))
    return source_file(path, f"exports/mydata.zip!json/{name}")


def parse(source: SourceFile) -> list:
    return parsed(SnapchatChatParser, source)


# -- recognising -----------------------------------------------------------------------------------

def test_recognises_both_layouts(tmp_path: Path) -> None:
    newer = write(tmp_path, {SUSPECT: [chat()]})
    older = write(tmp_path, {"Received Saved Chat History": [
        {"From": SUSPECT, "Media Type": "TEXT", "Created": CREATED, "Text": "hi"}]}, "old.json")
    assert SnapchatChatParser.recognises(newer.sample)
    assert SnapchatChatParser.recognises(older.sample)


@pytest.mark.parametrize("data", [
    {"messages": [{"sender_name": "A", "timestamp_ms": 1}]},     # Meta's layout
    [{"From": SUSPECT, "Media Type": "TEXT", "Created": CREATED}],  # not an object
    {},
    {"Login History": [{"IP": "192.0.2.1", "Created": CREATED}]},
])
def test_does_not_claim_other_json(tmp_path: Path, data: object) -> None:
    assert not SnapchatChatParser.recognises(write(tmp_path, data).sample)


# -- the newer layout ------------------------------------------------------------------------------

def test_one_to_one_received_and_sent(tmp_path: Path) -> None:
    source = write(tmp_path, {SUSPECT: [
        chat(),
        chat(sender=OWNER, is_sender=True, content="Stop messaging me", epoch=EPOCH_MS + 60_000,
             created="2024-03-02 21:15:05 UTC"),
    ]})
    items = parse(source)
    received, sent = events(items)
    assert received.locator == 'json:["alex.s"][0]' and sent.locator == 'json:["alex.s"][1]'
    assert received.kind == "message" and received.platform == "snapchat"
    assert received.time.value == WHEN and received.time.basis == "utc"
    assert received.time.precision == "ms" and received.time.source == "Created(microseconds)"
    assert received.time.raw == str(EPOCH_MS) and received.time.device_clock is False
    assert received.sender == "snapchat:alex.s" and received.recipients == []
    assert received.owner_side == "recipients" and received.direction == "incoming"
    assert received.text == "Where are you?" and received.notes == []
    assert received.details["Media Type"] == "TEXT" and received.details["IsSaved"] is True
    assert received.details["conversation"] == SUSPECT
    assert sent.sender == "snapchat:sam.owner" and sent.recipients == ["snapchat:alex.s"]
    assert sent.direction == "outgoing" and sent.owner_side is None
    assert any("read as Unix milliseconds" in n for n in source_notes(items))
    assert any("newer (keyed by conversation)" in n for n in source_notes(items))


def test_content_not_saved_and_media(tmp_path: Path) -> None:
    source = write(tmp_path, {SUSPECT: [chat(content=None, **{"Media Type": "MEDIA",
                                                              "Media IDs": "b~abc | b~def"})]})
    (event,) = events(parse(source))
    assert event.text is None
    assert event.notes == ["not saved: Snapchat keeps no content"]
    assert event.details["Media Type"] == "MEDIA"
    assert event.details["Media IDs"] == ["b~abc", "b~def"]


def test_the_two_times_are_checked_against_each_other(tmp_path: Path) -> None:
    source = write(tmp_path, {SUSPECT: [
        chat(created="2024-03-02 21:14:09 UTC"),                     # 4 s apart
        chat(epoch=None),                                            # only Created
        chat(epoch="not a number"),                                  # a bad epoch, Created used
        chat(epoch=EPOCH_MS * 1000),                                 # microseconds after all
        chat(epoch=EPOCH_MS // 1000, created=None),                  # seconds
    ]})
    apart, created_only, bad_epoch, micro, secs = events(parse(source))
    assert apart.time.value == WHEN
    assert any("disagree by -3.877 s" in n for n in apart.notes)
    assert created_only.time.source == "Created" and created_only.time.precision == "s"
    assert created_only.time.value == datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)
    assert created_only.notes == []
    assert bad_epoch.time.source == "Created"
    assert any("is not a positive whole number: Created used" in n for n in bad_epoch.notes)
    assert micro.time.value == WHEN and any("microseconds" in n for n in micro.notes)
    assert secs.time.precision == "s" and any("Unix seconds" in n for n in secs.notes)


def test_a_group_conversation(tmp_path: Path) -> None:
    key = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    source = write(tmp_path, {key: [
        chat(title="The group"),
        chat(sender=FRIEND, title="The group"),
        chat(sender=OWNER, is_sender=True, title="The group"),
    ]})
    suspect, friend, own = events(parse(source))
    assert suspect.recipients == ["snapchat:jo.friend", "snapchat:sam.owner"]
    assert suspect.owner_side is None          # the account's username is known here
    assert friend.recipients == ["snapchat:alex.s", "snapchat:sam.owner"]
    assert own.sender == "snapchat:sam.owner"
    assert own.recipients == ["snapchat:alex.s", "snapchat:jo.friend"]
    assert suspect.details["conversation_title"] == "The group"
    assert any("group recipients" in n for n in suspect.notes)


def test_a_group_where_the_account_never_wrote(tmp_path: Path) -> None:
    source = write(tmp_path, {"group-id": [chat(title="G"), chat(sender=FRIEND, title="G")]})
    first, _ = events(parse(source))
    assert first.recipients == ["snapchat:jo.friend"] and first.owner_side == "recipients"


def test_records_without_from_or_is_sender(tmp_path: Path) -> None:
    no_from_sent = chat(is_sender=True)
    del no_from_sent["From"]
    no_from_received = chat()
    del no_from_received["From"]
    unknown_side = chat()
    del unknown_side["IsSender"]
    source = write(tmp_path, {SUSPECT: [no_from_sent, no_from_received, unknown_side]})
    sent, received, unknown = events(parse(source))
    assert sent.sender is None and sent.owner_side == "sender"
    assert sent.recipients == ["snapchat:alex.s"]
    assert received.sender == "snapchat:alex.s"
    assert any("the sender is the conversation's key" in n for n in received.notes)
    assert unknown.direction == "unknown" and unknown.owner_side is None
    assert any("IsSender missing" in n for n in unknown.notes)


def test_rejects_name_the_record(tmp_path: Path) -> None:
    source = write(tmp_path, {SUSPECT: [chat(epoch=None, created="02/03/2024"), "text",
                                        chat(epoch=0, created=None)],
                              "odd": {"not": "a list"}})
    items = parse(source)
    assert events(items) == []
    assert [(r.locator, r.reason) for r in rejects(items)] == [
        ('json:["alex.s"][0]', "Created '02/03/2024' is not 'YYYY-MM-DD HH:MM:SS UTC'"),
        ('json:["alex.s"][1]', "not an object"),
        ('json:["alex.s"][2]', "Created(microseconds) '0' is not a positive whole number"),
        ('json:["odd"]', "not a list of records"),
    ]


def test_a_file_cut_short(tmp_path: Path) -> None:
    """Cut inside a conversation: its records before the cut are kept, and the reject names the
    record the file ends in."""
    whole = json.dumps({SUSPECT: [chat()], FRIEND: [chat(sender=FRIEND), chat(sender=FRIEND)]},
                       indent=2).encode()
    items = parse(write(tmp_path, whole[:-40]))
    assert [e.locator for e in events(items)] == ['json:["alex.s"][0]', 'json:["jo.friend"][0]']
    (reject,) = rejects(items)
    assert reject.locator == 'json:["jo.friend"][1]'
    assert f"ends at byte {len(whole) - 40}" in reject.reason and "cut short" in reject.reason


def test_a_long_text_is_cut(tmp_path: Path, monkeypatch) -> None:
    from courseline.parsers import snapchat
    monkeypatch.setattr(snapchat, "MAX_TEXT_CHARS", 5)
    (event,) = events(parse(write(tmp_path, {SUSPECT: [chat(content="abcdefgh")]})))
    assert event.text == "abcde" and event.flags == ["truncated"]


# -- the older layout ------------------------------------------------------------------------------

def test_the_older_layout(tmp_path: Path) -> None:
    source = write(tmp_path, {
        "Received Saved Chat History": [
            {"From": SUSPECT, "Media Type": "TEXT", "Created": CREATED,
             "Text": "I&#39;m outside &amp; waiting"},
            {"From": SUSPECT, "Media Type": "MEDIA", "Created": CREATED, "Text": None}],
        "Sent Chat History": [
            {"To": SUSPECT, "Media Type": "TEXT", "Created": "2024-03-02 21:20:00 UTC",
             "Text": "Go away"}],
    })
    items = parse(source)
    received, media, sent = events(items)
    assert received.locator == 'json:["Received Saved Chat History"][0]'
    assert received.text == "I'm outside & waiting"
    assert any("HTML-unescaped" in n for n in received.notes)
    assert received.sender == "snapchat:alex.s" and received.owner_side == "recipients"
    assert received.direction == "incoming" and received.time.source == "Created"
    assert received.time.value == datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)
    assert media.text is None and "not saved: Snapchat keeps no content" in media.notes
    assert sent.sender is None and sent.owner_side == "sender"
    assert sent.recipients == ["snapchat:alex.s"] and sent.direction == "outgoing"
    assert sent.details["section"] == "Sent Chat History"
    assert any("older (sent and received sections)" in n for n in source_notes(items))


# -- the whole pipeline ----------------------------------------------------------------------------

def test_a_download_through_the_pipeline(tmp_path: Path) -> None:
    case = tmp_path / "case"
    (case / "exports" / "json").mkdir(parents=True)
    (case / "case.toml").write_text(
        '[case]\nreference = "SNAP-1"\n'
        '[[person]]\nkey = "victim"\nrole = "victim"\nidentifiers = ["snapchat:sam.owner"]\n'
        '[[person]]\nkey = "suspect"\nrole = "suspect"\nidentifiers = ["snapchat:Alex.S"]\n'
        '[[source]]\npath = "exports"\nowner = "victim"\n', encoding="utf-8")
    (case / "exports" / "json" / "chat_history.json").write_text(
        json.dumps({SUSPECT: [chat()]}), encoding="utf-8")
    result = run_cli("build", case)
    assert result.exit_code == 0, result.output
    (row,) = read_jsonl(case / "out" / "timeline.jsonl")
    assert row["sender_person"] == "suspect" and row["recipient_persons"] == ["victim"]
    assert row["occurred_utc"] == "2024-03-02T21:14:05.123Z"
