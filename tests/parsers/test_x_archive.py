"""X (Twitter) archive (parsers/x_archive.py): synthetic ``data/*.js`` files built here in the
shapes formats.md §4.5 describes (no public archive of direct messages may be used: every one is a
real person's private messages).

Synthetic people only: numeric X ids made up for the tests, addresses at example.org/.net.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile
from courseline.parsers.x_archive import XArchiveParser, url_file_name
from tests_support import (by_locator, events, export_source, parsed, png, read_jsonl, rejects,
                           run_cli, source_notes)

OWNER_ID = "1000000001"         # the archive's account
SUSPECT_ID = "2000000002"
FRIEND_ID = "3000000003"
WHEN = "2024-03-02T21:14:05.123Z"
WHEN_UTC = datetime(2024, 3, 2, 21, 14, 5, 123000, tzinfo=UTC)
DATA = "exports/twitter-2024-03-10-1000000001.zip!data"


# -- builders --------------------------------------------------------------------------------------

def ytd(name: str, items: list, part: int = 0, bom: bool = False) -> bytes:
    """A ``data/*.js`` file as X writes it: a JavaScript assignment of a JSON array."""
    text = f"window.YTD.{name}.part{part} = " + json.dumps(items, indent=2)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def account_js() -> bytes:
    return ytd("account", [{"account": {
        "email": "sam.owner@example.org", "createdVia": "web", "username": "sam_owner",
        "accountId": OWNER_ID, "createdAt": "2015-01-01T10:00:00.000Z",
        "accountDisplayName": "Sam Owner"}}])


def dm(sender: str = SUSPECT_ID, recipient: str | None = OWNER_ID, text: str = "Where are you?",
       when: str | None = WHEN, message_id: str = "1500000000000000001", **fields: object) -> dict:
    body: dict = {"recipientId": recipient, "reactions": [], "urls": [], "text": text,
                  "mediaUrls": [], "senderId": sender, "id": message_id, "createdAt": when}
    if recipient is None:
        del body["recipientId"]
    if when is None:
        del body["createdAt"]
    body.update(fields)
    return {"messageCreate": body}


def conversation(*messages: dict, conversation_id: str = f"{OWNER_ID}-{SUSPECT_ID}") -> dict:
    return {"dmConversation": {"conversationId": conversation_id, "messages": list(messages)}}


def tweet(tweet_id: str = "1600000000000000001", text: str = "A public post",
          created_at: str = "Sat Mar 02 21:14:05 +0000 2024", wrapped: bool = True,
          **fields: object) -> dict:
    body: dict = {"edit_info": {"initial": {"editTweetIds": [tweet_id], "editsRemaining": "5",
                                            "isEditEligible": True}},
                  "retweeted": False, "source": "<a href=\"https://mobile.x.com\">X Web App</a>",
                  "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
                  "favorite_count": "0", "id_str": tweet_id, "id": tweet_id,
                  "created_at": created_at, "full_text": text, "lang": "en"}
    body.update(fields)
    return {"tweet": body} if wrapped else body


def mention(user_id: str, screen_name: str) -> dict:
    return {"name": screen_name.title(), "screen_name": screen_name, "indices": ["0", "9"],
            "id_str": user_id, "id": user_id}


class Export:
    """Files of one archive written under tmp_path, each known by its case path."""

    def __init__(self, tmp_path: Path, folder: str = DATA):
        self.root = tmp_path
        self.folder = folder
        self.copies: dict[str, Path] = {}

    def add(self, relative: str, data: bytes) -> Path:
        case_path = f"{self.folder}/{relative}"
        path = self.root / case_path.replace("!", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.copies[case_path] = path
        return path

    def source(self, relative: str) -> SourceFile:
        case_path = f"{self.folder}/{relative}"
        return export_source(self.copies[case_path], case_path, self.copies)

    def parse(self, relative: str) -> list:
        return parsed(XArchiveParser, self.source(relative))


@pytest.fixture
def export(tmp_path: Path) -> Export:
    return Export(tmp_path)


# -- recognising -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["direct_messages", "direct_messages_group", "direct_message",
                                  "direct_message_group", "tweets", "tweet", "deleted_tweets"])
def test_recognises_the_files_it_reads(export: Export, name: str) -> None:
    path = export.add("file.js", ytd(name, [], part=1, bom=True))
    assert XArchiveParser.recognises(sample_file(path))


@pytest.mark.parametrize("data", [
    account_js(),                                           # read only as the owner's id
    b"window.YTD.like.part0 = [{\"like\": {}}]",            # not read
    b"var x = [1, 2, 3];",
    b"[{\"dmConversation\": {}}]",                          # JSON without the assignment
    b"window.YTD.tweets.part0 = {\"not\": \"an array\"}",
])
def test_does_not_claim_other_files(export: Export, data: bytes) -> None:
    path = export.add("other.js", data)
    assert not XArchiveParser.recognises(sample_file(path))


# -- direct messages -------------------------------------------------------------------------------

def test_a_direct_message_with_the_account_known(export: Export) -> None:
    export.add("account.js", account_js())
    export.add("direct-messages.js", ytd("direct_messages", [conversation(
        dm(text="Tom &amp; Jerry &lt;3 &gt; you", message_id="1500000000000000002",
           urls=[{"url": "https://t.co/abc", "expanded": "https://example.net/page",
                  "display": "example.net/page"}],
           reactions=[{"senderId": OWNER_ID, "reactionKey": "like",
                       "eventId": "1500000000000000009", "createdAt": WHEN}]),
        dm(sender=OWNER_ID, recipient=SUSPECT_ID, text="Leave me alone",
           when="2024-03-02T21:10:00.000Z"),
    )]))
    items = export.parse("direct-messages.js")
    found = by_locator(items)
    assert list(found) == ["json:[0].dmConversation.messages[0]",
                           "json:[0].dmConversation.messages[1]"]
    incoming, outgoing = found.values()
    assert incoming.kind == "message" and incoming.platform == "x"
    assert incoming.time.value == WHEN_UTC and incoming.time.basis == "utc"
    assert incoming.time.precision == "ms" and incoming.time.raw == WHEN
    assert incoming.time.source == "createdAt" and incoming.time.device_clock is False
    assert incoming.sender == f"x:{SUSPECT_ID}" and incoming.recipients == [f"x:{OWNER_ID}"]
    assert incoming.text == "Tom & Jerry <3 > you"
    assert any("HTML-unescaped" in n for n in incoming.notes)
    assert incoming.direction == "incoming" and outgoing.direction == "outgoing"
    assert incoming.details["urls"][0]["expanded"] == "https://example.net/page"
    assert incoming.details["reactions"][0]["reactionKey"] == "like"
    assert incoming.details["message_id"] == "1500000000000000002"
    assert incoming.details["account"]["username"] == "sam_owner"
    assert incoming.details["conversation_id"] == f"{OWNER_ID}-{SUSPECT_ID}"
    assert outgoing.text == "Leave me alone" and not outgoing.notes
    assert outgoing.sender == f"x:{OWNER_ID}" and outgoing.recipients == [f"x:{SUSPECT_ID}"]
    assert incoming.owner_side is None and outgoing.owner_side is None
    assert any("id 1000000001, username @sam_owner" in n for n in source_notes(items))


def test_without_account_js_direction_is_left_to_the_core(export: Export) -> None:
    export.add("direct-messages.js", ytd("direct_messages", [conversation(dm())]))
    items = export.parse("direct-messages.js")
    (event,) = events(items)
    assert event.direction == "unknown" and "account" not in event.details
    assert any("account.js is not beside this file" in n for n in source_notes(items))


def test_a_missing_recipient_id_is_the_conversations_other_party(export: Export) -> None:
    export.add("direct-messages.js", ytd("direct_messages", [conversation(dm(recipient=None))]))
    (event,) = events(export.parse("direct-messages.js"))
    assert event.recipients == [f"x:{OWNER_ID}"]
    assert any("no recipientId" in n for n in event.notes)


def test_an_edited_message_and_a_long_text(export: Export, monkeypatch) -> None:
    from courseline.parsers import x_archive
    monkeypatch.setattr(x_archive, "MAX_TEXT_CHARS", 10)
    export.add("direct-messages.js", ytd("direct_messages", [conversation(
        dm(text="a message longer than ten", editHistory=[{"text": "first", "editedAt": WHEN}]))]))
    (event,) = events(export.parse("direct-messages.js"))
    assert event.text == "a message "
    assert sorted(event.flags) == ["edited", "truncated"]
    assert event.details["editHistory"] == [{"text": "first", "editedAt": WHEN}]


def test_media_in_the_export_is_hashed_and_the_rest_listed(export: Export) -> None:
    picture = png()
    export.add("direct_messages_media/1500000000000000001-AbCdEf12.png", picture)
    export.add("direct-messages.js", ytd("direct_messages", [conversation(dm(mediaUrls=[
        "https://ton.twitter.com/dm/1500000000000000001/1500000000000000003/AbCdEf12.png",
        "https://video.twimg.com/dm_video/1500000000000000004/vid/avc1/640x360/Zz9.mp4?tag=1",
    ]))]))
    (event,) = events(export.parse("direct-messages.js"))
    (attachment,) = event.attachments
    assert attachment.name == "1500000000000000001-AbCdEf12.png"
    assert attachment.sha256 == hashlib.sha256(picture).hexdigest()
    assert attachment.media_type == "image/png" and attachment.size == len(picture)
    first, second = event.details["media"]
    assert first["status"] == "hashed" and first["sha256"] == attachment.sha256
    assert second == {"url": "https://video.twimg.com/dm_video/1500000000000000004/vid/avc1/"
                             "640x360/Zz9.mp4?tag=1",
                      "file": "1500000000000000001-Zz9.mp4", "status": "not in the export"}
    assert any("1 of 2 media item(s) not hashed" in n for n in event.notes)


def test_url_file_name() -> None:
    assert url_file_name("https://example.net/a/b/c.jpg?x=1#f") == "c.jpg"
    assert url_file_name("https://example.net/") is None
    assert url_file_name("https://example.net/a/..") is None


def test_a_group_conversation_and_its_notices(export: Export) -> None:
    export.add("account.js", account_js())
    group = conversation(
        dm(sender=FRIEND_ID, recipient=None, text="Hi all", message_id="1500000000000000010"),
        dm(sender=SUSPECT_ID, recipient=None, text="I see you",
           message_id="1500000000000000011"),
        {"conversationNameUpdate": {"initiatingUserId": SUSPECT_ID, "name": "Watchers",
                                    "createdAt": "2024-03-02T21:00:03.000Z"}},
        {"participantsLeave": {"userIds": ["4000000004"], "createdAt": "2024-03-02T21:00:02.000Z"}},
        {"participantsJoin": {"initiatingUserId": SUSPECT_ID, "userIds": [FRIEND_ID],
                              "createdAt": "2024-03-02T21:00:01.000Z"}},
        {"joinConversation": {"initiatingUserId": SUSPECT_ID,
                              "participantsSnapshot": [SUSPECT_ID, OWNER_ID],
                              "createdAt": "2024-03-02T21:00:00.000Z"}},
        conversation_id="1700000000000000001")
    export.add("direct-messages-group.js", ytd("direct_messages_group", [group]))
    items = export.parse("direct-messages-group.js")
    found = list(by_locator(items).values())
    assert len(found) == 6 and not rejects(items)
    friend, suspect, rename, leave, join, joined = found
    assert friend.sender == f"x:{FRIEND_ID}"
    assert friend.recipients == [f"x:{OWNER_ID}", f"x:{SUSPECT_ID}", "x:4000000004"]
    assert suspect.recipients == [f"x:{OWNER_ID}", f"x:{FRIEND_ID}", "x:4000000004"]
    assert suspect.direction == "incoming"
    assert any("group recipients" in n for n in suspect.notes)
    assert suspect.details["conversation"] == "group"
    assert rename.text is None and rename.details["notice"] == "conversationNameUpdate"
    assert rename.details["fields"] == {"initiatingUserId": SUSPECT_ID, "name": "Watchers"}
    assert rename.sender == f"x:{SUSPECT_ID}" and rename.recipients == []
    assert leave.sender is None and leave.recipients == ["x:4000000004"]
    assert leave.direction == "unknown"
    assert join.sender == f"x:{SUSPECT_ID}" and join.recipients == [f"x:{FRIEND_ID}"]
    assert joined.recipients == [f"x:{OWNER_ID}"]
    assert all(e.kind == "message" for e in found)
    assert any("conversation notice" in n for n in joined.notes)


def test_a_group_without_account_js_says_the_owner_may_be_missing(export: Export) -> None:
    export.add("direct-messages-group.js", ytd("direct_messages_group", [conversation(
        dm(sender=SUSPECT_ID, recipient=None), conversation_id="1700000000000000001")]))
    items = export.parse("direct-messages-group.js")
    (event,) = events(items)
    assert event.recipients == [] and event.owner_side is None
    assert any("without account.js" in n for n in source_notes(items))


def test_records_without_a_usable_time_and_odd_elements_are_rejected(export: Export) -> None:
    export.add("direct-messages.js", ytd("direct_messages", [
        conversation(dm(when=None), dm(when="yesterday"), dm(when="2024-03-02T21:14:05"),
                     "not an entry", {"messageCreate": "no object"}, dm()),
        {"somethingElse": {}},
    ]))
    items = export.parse("direct-messages.js")
    assert [e.locator for e in events(items)] == ["json:[0].dmConversation.messages[5]"]
    reasons = {r.locator: r.reason for r in rejects(items)}
    assert reasons == {
        "json:[0].dmConversation.messages[0]": "messageCreate: no createdAt",
        "json:[0].dmConversation.messages[1]":
            "messageCreate: createdAt 'yesterday' is not an ISO 8601 time",
        "json:[0].dmConversation.messages[2]":
            "messageCreate: createdAt '2024-03-02T21:14:05' has no zone",
        "json:[0].dmConversation.messages[3]":
            "not an object naming an entry (messageCreate, …)",
        "json:[0].dmConversation.messages[4]": "'messageCreate' holds no object",
        "json:[1]": "not a dmConversation with a messages list",
    }


def test_a_file_cut_short_gives_what_came_before(export: Export) -> None:
    """Cut inside a conversation: its messages before the cut are kept, and the reject names the
    message the file ends in."""
    whole = ytd("direct_messages", [conversation(dm()), conversation(dm(), dm())])
    cut = whole.rindex(b"senderId")
    export.add("direct-messages.js", whole[:cut])
    items = export.parse("direct-messages.js")
    assert [e.locator for e in events(items)] == ["json:[0].dmConversation.messages[0]",
                                                  "json:[1].dmConversation.messages[0]"]
    (reject,) = rejects(items)
    assert reject.locator == "json:[1].dmConversation.messages[1]"
    assert "cut short" in reject.reason and f"byte {cut}" in reject.reason


def test_bytes_that_are_not_utf8_are_replaced_and_said(export: Export) -> None:
    data = ytd("direct_messages", [conversation(dm(text="cafX"))])
    export.add("direct-messages.js", data.replace(b"cafX", b"caf\xe9"))   # Latin-1, not UTF-8
    items = export.parse("direct-messages.js")
    assert events(items)[0].text == "caf\ufffd"
    assert any("not UTF-8" in n for n in source_notes(items))


# -- tweets ----------------------------------------------------------------------------------------

def test_tweets_with_the_account_known(export: Export) -> None:
    export.add("account.js", account_js())
    picture = png()
    export.add("tweets_media/1600000000000000002-Pic01.jpg", picture)
    reply = tweet("1600000000000000002", text="@alex_s I know where you are &amp; who with",
                  created_at="Sat Mar 02 22:14:05 +0100 2024",
                  in_reply_to_status_id_str="1600000000000000099",
                  in_reply_to_user_id_str=SUSPECT_ID, in_reply_to_screen_name="alex_s",
                  entities={"user_mentions": [mention(SUSPECT_ID, "alex_s"),
                                              mention(OWNER_ID, "sam_owner")],
                            "urls": [{"url": "https://t.co/x", "expanded_url":
                                      "https://example.org/x", "display_url": "example.org/x",
                                      "indices": ["0", "1"]}],
                            "media": [{"media_url_https":
                                       "https://pbs.twimg.com/media/Pic01.jpg"}]})
    export.add("tweets.js", ytd("tweets", [tweet(), reply]))
    items = export.parse("tweets.js")
    plain, replied = events(items)
    assert plain.kind == "post" and plain.platform == "x" and plain.locator == "json:[0]"
    assert plain.sender == f"x:{OWNER_ID}" and plain.owner_side is None
    assert plain.direction == "outgoing" and plain.recipients == []
    assert plain.time.basis == "offset" and plain.time.precision == "s"
    assert plain.time.value == datetime(2024, 3, 2, 21, 14, 5, tzinfo=UTC)
    assert plain.time.raw == "Sat Mar 02 21:14:05 +0000 2024"
    assert plain.time.source == "created_at" and plain.flags == []
    assert replied.time.value == datetime(2024, 3, 2, 22, 14, 5,
                                          tzinfo=timezone(timedelta(hours=1)))
    assert replied.text == "@alex_s I know where you are & who with"
    assert replied.recipients == [f"x:{SUSPECT_ID}"]          # the account itself left out
    assert replied.details["in_reply_to_screen_name"] == "alex_s"
    assert replied.details["mentions"][0] == {"id": SUSPECT_ID, "screen_name": "alex_s"}
    assert replied.details["urls"][0]["expanded_url"] == "https://example.org/x"
    assert replied.details["source"].startswith("<a href=")
    (attachment,) = replied.attachments
    assert attachment.sha256 == hashlib.sha256(picture).hexdigest()
    assert replied.details["media"][0]["path"] == "tweets_media/1600000000000000002-Pic01.jpg"


def test_tweets_without_the_account_leave_the_sender_to_the_core(export: Export) -> None:
    old = tweet(wrapped=False, text="RT @alex_s: hello", full_text=None)
    del old["full_text"]
    old["text"] = "RT @alex_s: hello"
    old["entities"]["user_mentions"] = [mention(SUSPECT_ID, "alex_s")]
    export.add("tweet.js", ytd("tweet", [old]))
    (event,) = events(export.parse("tweet.js"))
    assert event.sender is None and event.owner_side == "sender"
    assert event.text == "RT @alex_s: hello" and event.details["retweet"] is True
    assert event.recipients == [f"x:{SUSPECT_ID}"]


def test_deleted_and_edited_tweets_and_parts(export: Export) -> None:
    edited = tweet("1600000000000000005", edit_info={"edit": {
        "initialTweetId": "1600000000000000004", "editControlInitial": {}}})
    original = tweet("1600000000000000004", edit_info={"initial": {
        "editTweetIds": ["1600000000000000004", "1600000000000000005"]}})
    export.add("tweets-part1.js", ytd("tweets", [edited, original], part=1))
    assert [e.flags for e in events(export.parse("tweets-part1.js"))] == [["edited"], ["edited"]]
    gone = tweet("1600000000000000006", deleted_at="Sun Mar 03 08:00:00 +0000 2024")
    export.add("deleted-tweets.js", ytd("deleted_tweets", [gone]))
    items = export.parse("deleted-tweets.js")
    (event,) = events(items)
    assert event.flags == ["deleted"]
    assert event.details["deleted_at"] == "Sun Mar 03 08:00:00 +0000 2024"
    assert any("window.YTD.deleted_tweets.part0" in n for n in source_notes(items))


def test_a_tweet_with_a_bad_time_is_rejected(export: Export) -> None:
    export.add("tweets.js", ytd("tweets", [tweet(created_at="2024-03-02 21:14"), "text", tweet()]))
    items = export.parse("tweets.js")
    assert [e.locator for e in events(items)] == ["json:[2]"]
    assert [(r.locator, r.reason.split(" (")[0]) for r in rejects(items)] == [
        ("json:[0]", "created_at '2024-03-02 21:14' is not in X's layout"),
        ("json:[1]", "not a tweet object")]


# -- the whole pipeline ----------------------------------------------------------------------------

def test_an_archive_zip_through_the_pipeline(tmp_path: Path) -> None:
    """Through ``courseline build``: account.js and a media file found inside the zip."""
    case = tmp_path / "case"
    (case / "exports").mkdir(parents=True)
    (case / "case.toml").write_text(
        '[case]\nreference = "X-1"\n'
        '[[person]]\nkey = "victim"\nrole = "victim"\nidentifiers = ["x:1000000001"]\n'
        '[[person]]\nkey = "suspect"\nrole = "suspect"\nidentifiers = ["x:2000000002"]\n'
        '[[source]]\npath = "exports/twitter.zip"\nowner = "victim"\n', encoding="utf-8")
    with zipfile.ZipFile(case / "exports" / "twitter.zip", "w") as archive:
        archive.writestr("data/account.js", account_js())
        archive.writestr("data/direct-messages.js", ytd("direct_messages", [conversation(
            dm(mediaUrls=["https://ton.twitter.com/dm/1/2/Pic.png"]))]))
        archive.writestr("data/direct_messages_media/1500000000000000001-Pic.png", png())
    result = run_cli("build", case)
    assert result.exit_code == 0, result.output
    # The picture's own file is an undated media event too (it holds no time of its own).
    row, picture = read_jsonl(case / "out" / "timeline.jsonl")
    assert picture["kind"] == "media" and picture["occurred_utc"] is None
    assert row["sender_person"] == "suspect" and row["recipient_persons"] == ["victim"]
    assert row["direction"] == "incoming" and row["attachments"][0]["media_type"] == "image/png"
    assert row["details"]["account"]["username"] == "sam_owner"
