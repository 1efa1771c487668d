"""X (Twitter) account archive: direct messages and the account's own tweets.

How it is made: on x.com, *More* → *Settings and privacy* → *Your account* → *Download an archive
of your data* (password, then a code); a day or more later X offers ``twitter-<date>-<id>.zip``.
Add the zip as it is, or its ``data/`` folder with the media folders beside the ``.js`` files.

Sources: research formats.md §4.5 (file names and the ``window.YTD.<name>.part<N> = [ … ]``
assignment; DMs ``dmConversation{conversationId, messages[{messageCreate{id, senderId,
recipientId, text, createdAt, urls, mediaUrls, reactions, editHistory}} | joinConversation |
participantsJoin | participantsLeave | conversationNameUpdate]}``, newest first, ``text``
HTML-escaped; tweets ``created_at`` ``"Wed Oct 10 20:19:24 +0000 2018"``; ``deleted-tweets.js``;
pitfalls 19 and 20 of §6), which cites timhutton/twitter-archive-parser ``parser.py`` (the
``tweet.js``/``tweets.js``/``tweets-part*.js`` names, the ``%a %b %d %X %z %Y`` layout and the
media file names ``<tweet or message id>-<last part of the media URL>`` in ``tweets_media/`` and
``direct_messages_media/``) and rust-utilities/twitter-archive ``src/structs/direct_message.rs``
and ``direct_messages_group.rs`` (the notice entries and their fields: ``initiatingUserId``,
``participantsSnapshot``, ``userIds``, ``name``; a group message has no ``recipientId``).
Archives from 2019 to 2024 (the ``tweet``/``direct_message`` names of the early ones and the
``tweets``/``direct_messages`` names of the later ones are both read).

Recognised by content: the text, after a byte order mark and white space, starts with
``window.YTD.<name>.part<N> =`` and an array, for a name read here: ``direct_messages``,
``direct_messages_group`` (and the singular ``direct_message``, ``direct_message_group``),
``tweets``, ``tweet``, ``deleted_tweets``. The assignment is stripped and the rest read as JSON.

Direct messages (what is read), one event per entry of a conversation's ``messages``:

* ``messageCreate``: a ``message`` (platform ``x``). Time ``createdAt`` (ISO 8601 with ``Z``) →
  basis ``utc``, precision ``ms`` (``s`` when written without a fraction); X's server wrote it, so
  a source's clock offset does not apply. Sender ``x:<senderId>``; recipients ``x:<recipientId>``
  in a one-to-one conversation (the other id of the ``<low>-<high>`` conversation id when
  ``recipientId`` is missing), and in a group every participant the file shows other than the
  sender: senders, ``initiatingUserId``, ``participantsSnapshot`` and the ``userIds`` of joins and
  leaves, plus the account itself when ``account.js`` is found (the group's membership at that
  moment is not recorded; the event says so). Text HTML-unescaped (X writes ``&amp;``, ``&lt;``,
  ``&gt;``) and bounded (flag ``truncated``); ``urls`` (the ``t.co`` link and what it expands to)
  and ``reactions`` (``senderId``, ``reactionKey``, ``eventId``, ``createdAt``) are kept in
  details; ``editHistory`` (present and not empty) → flag ``edited``, kept in details.
  ``mediaUrls``: the file ``<message id>-<last part of the URL's path>`` is looked for in
  ``direct_messages_media/`` (``direct_messages_group_media/`` first for a group) through
  ``source.related``, hashed when present, and every URL is listed in ``details.media`` with
  ``hashed`` or ``not in the export``.
* ``joinConversation``, ``participantsJoin``, ``participantsLeave``, ``conversationNameUpdate``
  (and any other entry with a ``createdAt``): a ``message`` event without text whose
  ``details.notice`` names the entry, its fields kept verbatim; sender ``x:<initiatingUserId>``
  where there is one, recipients the ``userIds`` or ``participantsSnapshot`` named.
* Direction: when ``account.js`` is found beside the file (``source.related("account.js")``),
  its ``accountId`` decides it (the account sent it: outgoing; else incoming) and its
  ``username`` and ``accountDisplayName`` are in details; otherwise it is left to the core.
  No other id is resolved to a name (``follower.js``, ``following.js`` and the headers files are
  not read); screen names are in details where the record gives them.

Tweets (``tweets.js``, ``tweet.js``, ``tweets-part<N>.js``, ``deleted-tweets.js``), one ``post``
event per element (``{"tweet": {…}}``, or the bare tweet object of early archives):

* Time ``created_at`` read with ``%a %b %d %H:%M:%S %z %Y`` → basis ``offset``, precision ``s``.
* Sender: the account, ``x:<accountId>`` when ``account.js`` is found; else none, with
  ``owner_side = "sender"`` (the core names the owner from the case file). Direction outgoing:
  the archive holds only the account's own tweets.
* Text ``full_text`` (``text`` in early archives), HTML-unescaped and bounded.
* Recipients: ``entities.user_mentions[].id_str`` → ``x:<id>`` (a tweet that mentions someone is
  contact with them), and ``in_reply_to_user_id_str`` (a reply is addressed to that account),
  the account itself left out; mentions with their ``screen_name``, ``in_reply_to_*``,
  ``entities.urls`` (expanded), ``source`` (the client), ``edit_info``, ``deleted_at`` and
  ``id_str`` are in details. A retweet (``RT @…``) is marked ``details.retweet``.
* ``deleted-tweets.js`` → flag ``deleted``; ``edit_info.edit`` (a later version of a tweet) or an
  ``edit_info.initial`` naming more than one version → flag ``edited``.
* Media (``extended_entities.media``, else ``entities.media``): ``<tweet id>-<last part of the
  media or video variant URL>`` is looked for in ``tweets_media/`` (``tweet_media/`` in early
  archives; ``deleted_tweets_media/`` for deleted tweets) and hashed when present.

Locators: ``json:[I].dmConversation.messages[J]`` and ``json:[I]`` (tweets), indexes from 0.
A record without a usable time is a reject naming it; an element that is not a conversation or a
tweet is a reject; a message or tweet that is not JSON (or is nested too deeply to read) is a
reject naming it, and the next is read; a file cut short gives every record before the cut (the
messages of the conversation it ends in among them) and one reject naming the record it ends in
and the byte (``json:byte=N`` between records). Bytes that are not UTF-8 are read as U+FFFD and
said once in a source note.

Memory: the file is read in chunks (``_json_stream.RecordWalk``) and each message or tweet is
decoded on its own, so a conversation of any length costs a chunk and one message (a 500 MB
``direct-messages.js`` of one conversation: about 15 MB; read whole it took four times the
file's size). Direct messages are read twice: a group message's recipients are every participant
the conversation shows, wherever in it they appear. X splits large sets into ``part0…partN``
files, but names no size. ``account.js`` is read whole, up to :data:`MAX_ACCOUNT_BYTES`.

Not read: ``account.js`` beyond the owner's id and names; ``direct-message-headers.js`` and the
other headers files (ids and times only, repeating the full files); likes, follows, blocks, mutes
and lists; ``note-tweet.js`` (long-form text of tweets whose ``full_text`` is cut); reactions as
events of their own (kept in details of the message they react to). X's ``window.YTD`` files
of other names are not recognised.

Checked on synthetic files only (tests/parsers/test_x_archive.py), built in the shapes
formats.md §4.5 and the cited projects describe: every public ``direct-messages.js`` is a real
person's private messages, so none was used.
"""

from __future__ import annotations

import html
import json
import math
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import (
    HASHED,
    NOT_IN_EXPORT,
    flagged_text,
    platform_id,
    related_attachment,
)
from courseline.parsers._json_stream import WALK_ENDS, JsonStream, RecordWalk, read_whole
from courseline.timeline.event import (MAX_TEXT_CHARS, Attachment, Event, RawTime, Reject,
                                       SourceNote, bounded, clean_text)

PLATFORM = "x"
# window.YTD.<name>.part<N> = ; after an optional byte order mark and white space.
ASSIGNMENT = re.compile(r"\A\ufeff?\s*window\.YTD\.([A-Za-z0-9_]+)\.part(\d+)\s*=\s*")
ONE_TO_ONE = frozenset({"direct_messages", "direct_message"})
GROUP = frozenset({"direct_messages_group", "direct_message_group"})
TWEETS = frozenset({"tweets", "tweet"})
DELETED_TWEETS = frozenset({"deleted_tweets"})
READ_NAMES = ONE_TO_ONE | GROUP | TWEETS | DELETED_TWEETS
TWEET_LAYOUT = "%a %b %d %H:%M:%S %z %Y"
CHUNK_BYTES = 1024 * 1024       # read size; memory is about this plus one record
MAX_ASSIGNMENT_CHARS = 200      # window.YTD.<name>.part<N> = is looked for in the first characters
MAX_ACCOUNT_BYTES = 16 * 1024 * 1024   # an account.js larger than this is not read
MAX_LIST_ITEMS = 1_000          # urls, reactions, mentions, media kept per record
MAX_DEPTH_KEPT = 6              # nesting kept in details; deeper values are written as JSON text
NOTICE_FIELDS_NOT_KEPT = frozenset({"createdAt"})
TWEET_DETAIL_FIELDS = ("id_str", "in_reply_to_status_id_str", "in_reply_to_user_id_str",
                       "in_reply_to_screen_name", "source", "edit_info", "deleted_at", "lang")
GROUP_NOTE = ("group recipients: every participant the file shows for this conversation (senders, "
              "joins, leaves, snapshots) other than the sender; who was a member at this moment "
              "is not recorded")


# -- the account -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    """The archive's own account, from ``account.js``."""

    account_id: str | None
    username: str | None
    display_name: str | None


def read_account(source: SourceFile) -> tuple[Account | None, str]:
    """The account from ``account.js`` beside the file, and a note saying what was found."""
    path = source.related("account.js")
    if path is None:
        return None, ("account.js is not beside this file: the account's own id is not known, "
                      "so direction is left to the case file's identifiers")
    try:
        if path.stat().st_size > MAX_ACCOUNT_BYTES:
            return None, (f"account.js is larger than {MAX_ACCOUNT_BYTES} bytes and was not read: "
                          "owner not known")
        text, _ = read_whole(path, "account.js")
        found = ASSIGNMENT.match(text)
        data = json.loads(text[found.end():].rstrip().rstrip(";")) if found else None
        entry = data[0]["account"] if isinstance(data, list) and data else None
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as error:
        return None, f"account.js could not be read ({type(error).__name__}): owner not known"
    if not isinstance(entry, dict):
        return None, "account.js holds no account entry: owner not known"
    account = Account(platform_id(entry.get("accountId")), _short(entry.get("username")),
                      _short(entry.get("accountDisplayName")))
    return account, (f"the account (account.js): id {account.account_id}, username "
                     f"@{account.username}")


# -- small values ----------------------------------------------------------------------------------

def _short(value: Any) -> str | None:
    return bounded(clean_text(value))[0] if isinstance(value, str) else None


def plain(value: Any, depth: int = 0) -> Any:
    """A JSON value fit for details: strings bounded, lists cut, deep nesting written as text."""
    if isinstance(value, str):
        return bounded(clean_text(value))[0]
    if isinstance(value, (bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH_KEPT:
        return bounded(json.dumps(value, ensure_ascii=False, default=str))[0]
    if isinstance(value, dict):
        return {bounded(str(k), 200)[0]: plain(v, depth + 1)
                for k, v in list(value.items())[:MAX_LIST_ITEMS]}
    if isinstance(value, list):
        return [plain(v, depth + 1) for v in value[:MAX_LIST_ITEMS]]
    return bounded(str(value))[0]


def message_text(value: Any, flags: list[str], notes: list[str]) -> str | None:
    """X's HTML-escaped text, unescaped and bounded."""
    if not isinstance(value, str) or value == "":
        return None
    text = html.unescape(value)
    if text != value:
        notes.append("text HTML-unescaped (X writes &amp;, &lt;, &gt; in its archive)")
    return flagged_text(text, MAX_TEXT_CHARS, flags)


def iso_time(value: Any, field_name: str) -> RawTime | str:
    """A ``createdAt`` (``2020-11-30T08:15:28.282Z``) as a UTC time, or why it is not one."""
    if not isinstance(value, str) or not value.strip():
        return f"no {field_name}"
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return f"{field_name} {bounded(value, 100)[0]!r} is not an ISO 8601 time"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return f"{field_name} {bounded(value, 100)[0]!r} has no zone"
    precision = "ms" if "." in value else "s"
    basis = "utc" if moment.utcoffset().total_seconds() == 0 else "offset"
    if basis == "utc":
        moment = moment.astimezone(UTC)
    return RawTime(raw=value, value=moment, basis=basis, precision=precision, source=field_name,
                   device_clock=False)


def tweet_time(value: Any) -> RawTime | str:
    if not isinstance(value, str) or not value.strip():
        return "no created_at"
    try:
        moment = datetime.strptime(value.strip(), TWEET_LAYOUT)
    except ValueError:
        return f"created_at {bounded(value, 100)[0]!r} is not in X's layout ({TWEET_LAYOUT})"
    return RawTime(raw=value, value=moment, basis="offset", precision="s", source="created_at",
                   device_clock=False)


def url_file_name(url: str) -> str | None:
    """The last part of a URL's path (``abc.jpg`` of ``https://…/abc.jpg?tag=1``)."""
    try:
        last = posixpath.basename(urlsplit(url).path)
    except ValueError:
        return None
    return last if last not in ("", ".", "..") else None


def find_media(source: SourceFile, record_id: str | None, urls: list[str], folders: tuple[str, ...],
               details: dict[str, Any], notes: list[str]) -> list[Attachment]:
    """Attachments for the media URLs of a record, looked for as ``<record id>-<file>`` in each
    folder; every URL listed in ``details.media`` with what was found."""
    attachments: list[Attachment] = []
    listed: list[dict[str, Any]] = []
    for url in urls[:MAX_LIST_ITEMS]:
        entry: dict[str, Any] = {"url": plain(url)}
        last = url_file_name(url)
        if record_id is None or last is None:
            entry["status"] = "no file name can be made from it"
            listed.append(entry)
            continue
        name = f"{record_id}-{last}"
        entry["file"] = name
        entry["status"] = NOT_IN_EXPORT
        for folder in folders:
            found, status = related_attachment(source, f"{folder}/{name}", name)
            if found is not None:
                if all(a.sha256 != found.sha256 for a in attachments):
                    attachments.append(found)
                entry.update(status=HASHED, path=f"{folder}/{name}", sha256=found.sha256)
                break
            if status != NOT_IN_EXPORT:
                entry["status"] = status
        listed.append(entry)
    if listed:
        details["media"] = listed
        missing = sum(1 for e in listed if e["status"] != HASHED)
        if missing:
            notes.append(f"{missing} of {len(listed)} media item(s) not hashed: see media in "
                         "details")
    if len(urls) > MAX_LIST_ITEMS:
        notes.append(f"{len(urls) - MAX_LIST_ITEMS} further media URL(s) not read")
    return attachments


def _ids(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [i for i in (platform_id(v) for v in values[:MAX_LIST_ITEMS]) if i is not None]


def _sorted_ids(ids: set[str]) -> list[str]:
    """Ids in a fixed order: by number, then as text (the output must not depend on set order)."""
    return sorted(ids, key=lambda i: (len(i), i))


# -- direct messages -------------------------------------------------------------------------------

@dataclass
class Conversation:
    conversation_id: str | None
    group: bool
    participants: set[str] = field(default_factory=set)


def add_participants(conversation: Conversation, entry: Any) -> None:
    """Every participant one entry of a conversation shows: its sender, recipient, initiator,
    snapshot and the users it names."""
    if not isinstance(entry, dict):
        return
    for body in entry.values():
        if not isinstance(body, dict):
            continue
        for key in ("senderId", "recipientId", "initiatingUserId"):
            if (value := platform_id(body.get(key))) is not None:
                conversation.participants.add(value)
        for key in ("participantsSnapshot", "userIds"):
            conversation.participants.update(_ids(body.get(key)))


@dataclass(frozen=True)
class _Found:
    """One thing met in a walk through a direct-messages file."""

    conversation: int       # the conversation's index in the file
    what: str               # "id" (its conversationId), "entry" (one of its messages), "reject"
    locator: str
    value: Any              # the id or the entry as decoded, or the Reject


def walk_conversations(walk: RecordWalk) -> Iterator[_Found]:
    """The conversations of the array that starts here, entry by entry (each decoded on its own,
    so a conversation of any length costs one entry's memory). Raises ``WALK_ENDS``."""
    stream = walk.stream
    for index in stream.items():
        locator = f"json:[{index}]"
        listed = False
        is_object = stream.peek() == "{"
        if not is_object:
            stream.skip()          # an element that is not an object: rejected below
        for key in stream.members() if is_object else ():
            if key != "dmConversation" or stream.peek() != "{":
                stream.skip()
                continue
            for inner in stream.members():
                if inner == "messages" and stream.peek() == "[" and not listed:
                    listed = True
                    for place, found in walk.records(f"{locator}.dmConversation.messages"):
                        yield (_Found(index, "reject", place, found) if isinstance(found, Reject)
                               else _Found(index, "entry", place, found.value))
                elif inner == "conversationId":
                    found = walk.value(f"{locator}.dmConversation.conversationId")
                    yield (_Found(index, "reject", locator, found) if isinstance(found, Reject)
                           else _Found(index, "id", locator, found.value))
                else:
                    stream.skip()
        if not listed:
            yield _Found(index, "reject", locator,
                         Reject(locator, "not a dmConversation with a messages list"))


def conversations_of(source: SourceFile, group: bool, account: Account | None
                     ) -> dict[int, Conversation]:
    """First pass: each conversation's id and every participant the file shows for it (a group
    message's recipients are all of them, wherever in the conversation they appear)."""
    found: dict[int, Conversation] = {}
    with _opened(source) as (walk, assignment):
        if assignment is None:
            return found
        try:
            for item in walk_conversations(walk):
                conversation = found.setdefault(item.conversation, Conversation(None, group))
                if item.what == "id":
                    conversation.conversation_id = platform_id(item.value)
                    if not group and conversation.conversation_id \
                            and "-" in conversation.conversation_id:
                        conversation.participants.update(
                            p for p in conversation.conversation_id.split("-") if p)
                elif item.what == "entry":
                    add_participants(conversation, item.value)
        except WALK_ENDS:
            pass                   # said by the second pass, which meets the same fault
    if group and account is not None and account.account_id:
        for conversation in found.values():
            conversation.participants.add(account.account_id)
    return found


def dm_events(source: SourceFile, walk: RecordWalk, group: bool,
              account: Account | None) -> Iterator[Event | Reject]:
    """Second pass: one event per entry. Raises ``WALK_ENDS``."""
    conversations = conversations_of(source, group, account)
    for item in walk_conversations(walk):
        if item.what == "reject":
            yield item.value
        elif item.what == "entry":
            conversation = conversations.get(item.conversation) or Conversation(None, group)
            yield dm_entry(source, item.value, item.locator, conversation, account)


def dm_entry(source: SourceFile, entry: Any, locator: str, conversation: Conversation,
             account: Account | None) -> Event | Reject:
    if not isinstance(entry, dict) or not entry:
        return Reject(locator, "not an object naming an entry (messageCreate, …)")
    kind_name, body = next(iter(entry.items()))
    if not isinstance(body, dict):
        return Reject(locator, f"{bounded(str(kind_name), 100)[0]!r} holds no object")
    when = iso_time(body.get("createdAt"), "createdAt")
    if isinstance(when, str):
        return Reject(locator, f"{kind_name}: {when}")
    details: dict[str, Any] = {"conversation_id": conversation.conversation_id,
                               "conversation": "group" if conversation.group else "one-to-one"}
    if account is not None:
        details["account"] = {"id": account.account_id, "username": account.username,
                              "display_name": account.display_name}
    if len(entry) > 1:
        details["other_entries"] = plain({k: v for k, v in list(entry.items())[1:]})
    if kind_name == "messageCreate":
        return message_create(source, body, locator, when, conversation, account, details)
    return notice(body, str(kind_name), locator, when, conversation, account, details)


def message_create(source: SourceFile, body: dict[str, Any], locator: str, when: RawTime,
                   conversation: Conversation, account: Account | None,
                   details: dict[str, Any]) -> Event:
    flags: list[str] = []
    notes: list[str] = []
    sender = platform_id(body.get("senderId"))
    message_id = platform_id(body.get("id"))
    details["message_id"] = message_id
    recipient = platform_id(body.get("recipientId"))
    if recipient is not None:
        recipients = [recipient]
    else:
        recipients = _sorted_ids(conversation.participants - {sender} if sender
                                 else conversation.participants)
        if conversation.group:
            notes.append(GROUP_NOTE)
        elif recipients:
            notes.append("no recipientId: the recipient is the conversation id's other party")
    if sender is None:
        notes.append("no senderId: the sender is not known")
    text = message_text(body.get("text"), flags, notes)
    for name in ("urls", "reactions"):
        if isinstance(body.get(name), list) and body[name]:
            details[name] = plain(body[name])
    if body.get("editHistory"):
        flags.append("edited")
        details["editHistory"] = plain(body["editHistory"])
    known = {"id", "senderId", "recipientId", "text", "createdAt", "urls", "reactions",
             "mediaUrls", "editHistory"}
    other = {k: v for k, v in body.items() if k not in known}
    if other:
        details["other_fields"] = plain(other)
    media_urls = [u for u in body.get("mediaUrls") or [] if isinstance(u, str)] \
        if isinstance(body.get("mediaUrls"), list) else []
    folders = (("direct_messages_group_media", "direct_messages_media") if conversation.group
               else ("direct_messages_media", "direct_messages_group_media"))
    attachments = find_media(source, message_id, media_urls, folders, details, notes)
    return Event(kind="message", platform=PLATFORM, time=when, locator=locator,
                 direction=_direction(sender, account), sender=_x(sender),
                 recipients=[f"x:{r}" for r in recipients], text=text, attachments=attachments,
                 flags=flags, details=details, notes=notes)


def notice(body: dict[str, Any], kind_name: str, locator: str, when: RawTime,
           conversation: Conversation, account: Account | None, details: dict[str, Any]) -> Event:
    """A conversation notice (someone joined, left, renamed it): an event without text."""
    notes = [f"a conversation notice ({bounded(kind_name, 100)[0]}), not a typed message"]
    details["notice"] = bounded(kind_name, 100)[0]
    details["fields"] = plain({k: v for k, v in body.items() if k not in NOTICE_FIELDS_NOT_KEPT})
    sender = platform_id(body.get("initiatingUserId")) or platform_id(body.get("senderId"))
    named = _ids(body.get("userIds")) or _ids(body.get("participantsSnapshot"))
    recipients = [r for r in dict.fromkeys(named) if r != sender]
    return Event(kind="message", platform=PLATFORM, time=when, locator=locator,
                 direction=_direction(sender, account) if sender else "unknown",
                 sender=_x(sender), recipients=[f"x:{r}" for r in recipients],
                 details=details, notes=notes)


def _x(identifier: str | None) -> str | None:
    return f"x:{identifier}" if identifier else None


def _direction(sender: str | None, account: Account | None) -> str:
    if account is None or not account.account_id or sender is None:
        return "unknown"
    return "outgoing" if sender == account.account_id else "incoming"


# -- tweets ----------------------------------------------------------------------------------------

def tweet_events(source: SourceFile, walk: RecordWalk, deleted: bool,
                 account: Account | None) -> Iterator[Event | Reject]:
    """One event per tweet of the array that starts here. Raises ``WALK_ENDS``."""
    for locator, found in walk.records("json:"):
        if isinstance(found, Reject):
            yield found
            continue
        element = found.value
        tweet = element.get("tweet", element) if isinstance(element, dict) else None
        if not isinstance(tweet, dict):
            yield Reject(locator, "not a tweet object")
            continue
        yield tweet_event(source, tweet, locator, deleted, account)


def tweet_event(source: SourceFile, tweet: dict[str, Any], locator: str, deleted: bool,
                account: Account | None) -> Event | Reject:
    when = tweet_time(tweet.get("created_at"))
    if isinstance(when, str):
        return Reject(locator, when)
    flags: list[str] = ["deleted"] if deleted else []
    notes: list[str] = []
    details: dict[str, Any] = {k: plain(tweet[k]) for k in TWEET_DETAIL_FIELDS if k in tweet}
    body = tweet.get("full_text", tweet.get("text"))
    text = message_text(body, flags, notes)
    if isinstance(body, str) and body.startswith("RT @"):
        details["retweet"] = True
    own_id = account.account_id if account is not None else None
    entities = tweet.get("entities") if isinstance(tweet.get("entities"), dict) else {}
    mentions = [m for m in entities.get("user_mentions") or [] if isinstance(m, dict)] \
        if isinstance(entities.get("user_mentions"), list) else []
    if mentions:
        details["mentions"] = [{"id": platform_id(m.get("id_str", m.get("id"))),
                                "screen_name": _short(m.get("screen_name"))}
                               for m in mentions[:MAX_LIST_ITEMS]]
    addressed = [platform_id(m.get("id_str", m.get("id"))) for m in mentions[:MAX_LIST_ITEMS]]
    addressed.append(platform_id(tweet.get("in_reply_to_user_id_str",
                                           tweet.get("in_reply_to_user_id"))))
    recipients = [f"x:{r}" for r in dict.fromkeys(a for a in addressed if a) if r != own_id]
    if isinstance(entities.get("urls"), list) and entities["urls"]:
        details["urls"] = [plain({k: u.get(k) for k in ("url", "expanded_url", "display_url")})
                           for u in entities["urls"][:MAX_LIST_ITEMS] if isinstance(u, dict)]
    edit = tweet.get("edit_info") if isinstance(tweet.get("edit_info"), dict) else {}
    initial = edit.get("initial") if isinstance(edit.get("initial"), dict) else {}
    if "edit" in edit or len(initial.get("editTweetIds") or []) > 1:
        flags.append("edited")
    if account is not None:
        details["account"] = {"id": account.account_id, "username": account.username,
                              "display_name": account.display_name}
    folders = ("deleted_tweets_media",) if deleted else ("tweets_media", "tweet_media")
    attachments = find_media(source, platform_id(tweet.get("id_str", tweet.get("id"))),
                             tweet_media_urls(tweet), folders, details, notes)
    return Event(kind="post", platform=PLATFORM, time=when, locator=locator,
                 direction="outgoing", sender=_x(own_id), recipients=recipients, text=text,
                 attachments=attachments, flags=flags, details=details, notes=notes,
                 owner_side=None if own_id else "sender")


def tweet_media_urls(tweet: dict[str, Any]) -> list[str]:
    """The URLs whose last part names a media file of the tweet: each photo's ``media_url``,
    and for a video or GIF each variant's URL (the archive keeps one of them)."""
    holder = tweet.get("extended_entities")
    if not isinstance(holder, dict) or not isinstance(holder.get("media"), list):
        holder = tweet.get("entities")
    media = holder.get("media") if isinstance(holder, dict) else None
    urls: list[str] = []
    for item in media if isinstance(media, list) else []:
        if not isinstance(item, dict):
            continue
        info = item.get("video_info")
        variants = info.get("variants") if isinstance(info, dict) else None
        if isinstance(variants, list) and variants:
            urls.extend(v["url"] for v in variants
                        if isinstance(v, dict) and isinstance(v.get("url"), str))
        else:
            url = item.get("media_url_https") or item.get("media_url")
            if isinstance(url, str):
                urls.append(url)
    return list(dict.fromkeys(urls))


# -- the parser ------------------------------------------------------------------------------------

class XArchiveParser(Parser):
    NAME = "x-archive-js"
    DATA_FORMAT = "X (Twitter) archive: direct messages and tweets (data/*.js)"
    VERSION = "2"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        if b"window.YTD." not in sample.text_head[:1024]:   # asked of every file: kept cheap
            return False
        text = sample.text_head.decode("utf-8", "replace")
        found = ASSIGNMENT.match(text)
        return (found is not None and found.group(1) in READ_NAMES
                and text[found.end():].lstrip().startswith("["))

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        with _opened(source) as (walk, found):
            if found is None or found.group(1) not in READ_NAMES:
                yield Reject("source", "does not start with window.YTD.<name>.part<N> = for a "
                                       "name this parser reads")
                return
            name, part = found.group(1), found.group(2)
            account, account_note = read_account(source)
            yield SourceNote(f"window.YTD.{name}.part{part}; {account_note}")
            if name in GROUP and account is None:
                yield SourceNote("group conversations: without account.js the account is among "
                                 "a message's recipients only where the file shows it "
                                 "(a sender, a join, a snapshot)")

            def statement() -> Iterator[Event | Reject | SourceNote]:
                """The array assigned, up to the end of the JavaScript statement."""
                if walk.stream.peek() != "[":
                    yield Reject("json:byte=0", "the assignment is not followed by an array: "
                                                "nothing read")
                elif name in ONE_TO_ONE or name in GROUP:
                    yield from dm_events(source, walk, name in GROUP, account)
                else:
                    yield from tweet_events(source, walk, name in DELETED_TWEETS, account)
                if walk.stream.peek() == ";":     # the end of the JavaScript statement
                    walk.stream.pos += 1

            yield from walk.guarded(statement())


@contextmanager
def _opened(source: SourceFile) -> Iterator[tuple[RecordWalk, re.Match[str] | None]]:
    """The file read in chunks, positioned after its ``window.YTD.<name>.part<N> =``, and that
    assignment (None when the file does not start with one)."""
    with source.path.open("rb") as handle:
        walk = RecordWalk(JsonStream(handle, CHUNK_BYTES, errors="replace"), source.name,
                          "record")
        found = ASSIGNMENT.match(walk.stream.head(MAX_ASSIGNMENT_CHARS))
        if found is not None:
            walk.stream.pos += found.end()
        yield walk, found
