"""Facebook Messenger and Instagram direct messages from Meta's *Download Your Information*
(DYI) JSON export (``message_1.json``, ``message_2.json`` … of one thread), and the friend and
follow requests of the same exports.

One message parser serves both platforms (``meta-messages-json``): the two exports write the
same structure, and ``recognises`` sees only a file's head and name, not the folder that would
tell them apart. ``parse`` decides the platform per file, by content where the file says it
(the root folder of a media ``uri`` or of the thread ``image``: ``your_instagram_activity/`` or
``your_facebook_activity/``; the group's ``joinable_mode`` link on ``ig.me`` or ``m.me``), else by
the file's path in the case (a folder ``your_instagram_activity`` / ``your_facebook_activity``, or
one whose name contains ``instagram`` / ``facebook`` / ``messenger``, such as Meta's own zip name
``instagram-<user>-<date>.zip``), else it reads the file as Facebook Messenger and says so in a
source note. How it was decided is a source note of every file.

Sources: research formats.md §4.3 (Messenger thread JSON: ``participants``, ``messages`` newest
first, ``sender_name``, ``timestamp_ms`` Unix ms UTC, ``content``, ``type``, media lists with
``uri``, ``share``, ``reactions``, ``users``, ``call_duration``, ``is_unsent``; the Latin-1
mojibake, citing MasterScrat/Chatistics#43, joweich/chat-miner#73/PR#78,
kylemcdonald/sakoku-explorer#6, uvacw/osd2f#43) and §4.4 (Instagram: same schema and mojibake,
``your_instagram_activity/messages/inbox/<thread>/``). Telling the platforms apart by the
``your_facebook_activity`` folder is also what a LEAPP-family "Facebook Archive" module does (found
by code search; it notes the two trees "have the same layout"). Friend and follow requests:
formats.md has no field names for them; they were taken from public parsers of these exports:
Facebook ``friends_and_followers/friend_requests_received.json`` → ``received_requests_v2``
``[{name, timestamp}]`` (polypoly-eu/polyPod
``features/facebookImport/src/importer/data-importers/friend-requests-received-importer.js``, and
several other public parsers), ``sent_requests_v2`` and ``rejected_requests_v2`` (same shape, seen
in public parsers found by code search); Instagram ``connections/followers_and_following/
follow_requests_you've_received.json`` → ``relationships_follow_requests_received``
``[{title, string_list_data: [{href, value, timestamp}]}]`` (what-if-horizon/what-if-data-donation
``packages/python/port/helpers/entries_data.py``, a structure list merged from donated real
exports) and ``pending_follow_requests.json`` → ``relationships_follow_requests_sent`` (same
shape, several public parsers). Timestamps there are Unix seconds.

Recognised: a JSON object with a top-level ``messages`` list, whose head shows the fields
``sender_name`` and ``timestamp_ms``; ``participants`` is read when present (Meta always writes it;
the chat-miner samples leave it out). Not claimed: chat-miner's expected-output files (a JSON array,
a CSV), Telegram's ``result.json`` (no ``sender_name``), files nesting messages deeper (Instagram's
``reported_conversations.json``), a thread with no messages at all.

Messages (what is read), one event per element of ``messages``:

* ``timestamp_ms`` (Unix ms, UTC; basis ``utc``, precision ``ms``). A missing, non-integer, zero
  or negative value, or one outside the calendar, is a reject naming the message.
* ``sender_name``: the sender as ``name:<display name>``; Meta writes display names only, never
  an account id or username (in Instagram files too), so identities are matched by name.
  Recipients are the thread's other ``participants`` (``name:`` each; one occurrence of the sender's
  name is left out). A thread without ``participants`` gives no recipients and says so.
* ``content`` → the text (bounded); ``type`` kept (``Generic``, ``Share``, ``Call``,
  ``Subscribe``/``Unsubscribe``: people added to or leaving a group, listed in ``users``, noted as
  Meta's notice rather than typed text). ``Call`` (or any message with ``call_duration``) is kind
  ``call``: ``duration_s`` from ``call_duration``; the status is *derived*, and each event says so:
  0 s is ``missed``, more is ``answered`` (Meta does not record missed, declined or cancelled).
* ``is_unsent`` / ``unsent`` true → flag ``unsent``.
* Media: ``photos``, ``videos``, ``audio_files``, ``files``, ``gifs`` (lists) and ``sticker``
  (one): each ``uri`` is relative to the export's root; the path relative to the message file's
  folder is worked out from where the uri's first folder sits in the file's own path (or from the
  thread folder's name inside the uri), and the file is opened through ``source.related``, so it
  is a hashed exhibit too. A file found is hashed (streamed, so a long video is never held whole)
  into ``attachments``; every item is listed in ``details["media"]`` with its uri,
  ``creation_timestamp`` as written, and ``hashed`` / ``not in the export`` / why it could not be
  looked for (a web address, a path that would leave the export).
* ``share`` (``link``, ``share_text`` …), ``reactions`` (``reaction``, ``actor`` and anything else
  written) and ``users`` are kept in details. Reactions are not events of their own: most files
  give them no time, and a reaction placed at its message's time would be a derived instant.
* Any other field of a message is kept verbatim in ``details["other_fields"]`` (as JSON text when
  not a plain value), e.g. ``is_geoblocked_for_viewer``.
* Mojibake: Meta writes every non-ASCII string as its UTF-8 bytes, each as a ``\\u00XX`` code
  point. Each string is repaired on its own with ``s.encode("latin-1").decode("utf-8")`` when that
  round-trips (text that is already right, or holds a character above U+00FF, is kept as
  written); an event whose values were repaired says which fields, once. The file as written is
  the hashed exhibit, so the original bytes stay available.
* Thread: ``title``, ``thread_path``, ``thread_type``, ``is_still_participant`` and the
  participant count are a source note, and title and path are in each event's details.

Friend and follow requests (``meta-friend-requests-json``): one ``friend-request`` event per
entry. Facebook: ``name`` (display name → ``name:``), ``timestamp`` (Unix s). Instagram: the
username from ``string_list_data[].value`` (or ``title``, or the ``href`` profile address) →
``instagram:<username>``, ``timestamp`` (Unix s). Received (and Facebook's rejected, which are
received requests the owner declined) are ``incoming`` with the owner as recipient
(``owner_side="recipients"``: the record leaves the owner out); sent ones ``outgoing`` with the
owner as sender. Meta does not document what each timestamp marks (when a request was made, or,
for a rejected one, perhaps when it was declined); a source note says so.

Not read: ``magic_words``, the thread ``image`` (used only as a hint of the platform),
``joinable_mode`` (the same); Instagram's very old single ``messages.json`` (``conversation``
arrays) and the HTML variant of either export; the end-to-end encrypted Messenger export
(camelCase ``senderName``/``timestamp`` fields, a different format); Facebook's
``friends_v2``/``deleted_friends_v2``, Instagram's followers/following lists and
``recent_follow_requests`` (not requests with a known direction); reactions as separate events.

Memory: a message file is read in chunks (``_json_stream.RecordWalk``), twice: a first pass reads
the thread's fields (wherever they are: Meta writes ``title`` after the messages), counts the
messages and looks at the first few for the platform's hints, stepping over the rest; the second
decodes one message at a time. Memory is a chunk and one message whatever the file's size (it
was read whole: twice its size at the peak). Meta splits a long thread into several
``message_N.json`` files, each a few megabytes. Request lists are read the same way, entry by
entry.

Damage: a message that is not JSON (or is nested too deeply to read) is a reject naming it, and
the next is read; control characters written raw inside strings are accepted (and the event
says so). A file cut short gives the messages before the cut, then one reject naming the message
it ends in (``json:messages[N]``) and the byte; a break outside the messages list is a reject
``json:byte=N``. Bytes that are not UTF-8 are read as U+FFFD and said once in a source note.

Locators: ``json:messages[N]`` with N the 0-based index in the file's ``messages`` array (as jq's
``.messages[N]``); requests ``json:<list key>[N]`` (``…[N].string_list_data[M]`` when an Instagram
entry holds more than one).

Checked on the real samples in ``realworld/facebook`` and ``realworld/instagram`` (chat-miner
test files; tests/parsers/test_meta_messages.py): ``chatminer_fb_testlog.json`` (2 messages,
``type`` Generic, no participants: by path, Facebook), ``chatminer_ig_test_export.json``
(2 messages, no participants: by path, Instagram), ``chatminer_ig_testlog_mojibake.json``
(13 messages, 4 participants, mojibake in names, content and reactions, audio/video/photo uris of
files not in the sample, a share, a ``users`` list, Instagram by its ``ig.me`` join link); the
chat-miner expected-output files beside them (``*_target.json``, ``*_target.csv``) are not
claimed. Not checked on a real file (no licensed sample; synthetic tests only): ``call_duration``,
``is_unsent``, ``Subscribe``/``Unsubscribe``, stickers, gifs, ``your_*_activity`` uris, and both
request formats.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile
from courseline.parsers._chat import (
    HASHED,
    NOT_IN_EXPORT,
    detail_value,
    flagged_text,
    related_attachment,
)
from courseline.parsers._json_stream import (JSON_SPACE, WALK_ENDS, Decoded, JsonStream, NotJson,
                                             RecordWalk, Unreadable, json_head)
from courseline.timeline.event import (MAX_FIELD_CHARS, MAX_TEXT_CHARS, Attachment, Event,
                                       RawTime, Reject, SourceNote, bounded, clean_text)

UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MEDIA_LISTS = ("photos", "videos", "audio_files", "files", "gifs")
MEDIA_SINGLE = ("sticker",)
MAX_LIST_ITEMS = 1000        # media items, reactions, users kept per message; more are counted
MOJIBAKE_NOTE = ("{what} repaired from Meta's Latin-1 mojibake (UTF-8 bytes written as \\u00XX "
                 "code points, read back as UTF-8): {fields}; the file as written is the "
                 "exhibit")
KNOWN_MESSAGE_FIELDS = frozenset({
    "sender_name", "timestamp_ms", "content", "type", "share", "reactions", "users",
    "call_duration", "is_unsent", "unsent", *MEDIA_LISTS, *MEDIA_SINGLE,
})

# -- mojibake --------------------------------------------------------------------------------------


def repair_mojibake(text: str) -> str:
    """The text Meta meant: its code points read as bytes and decoded as UTF-8, when they are
    bytes (all below U+0100) and decode; otherwise the text as written."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


@dataclass
class Repairs:
    """Which fields of one record were repaired, for the record's one note."""

    fields: list[str] = field(default_factory=list)

    def text(self, value: str, name: str) -> str:
        fixed = repair_mojibake(value)
        if fixed != value and name not in self.fields:
            self.fields.append(name)
        return clean_text(fixed)

    def note(self, what: str = "text") -> str | None:
        if not self.fields:
            return None
        return MOJIBAKE_NOTE.format(what=what, fields=", ".join(self.fields))


# -- reading the thread file -----------------------------------------------------------------------

_DECODER = json.JSONDecoder(strict=False)   # Meta's strings are escaped; be lenient all the same
CHUNK_BYTES = 1024 * 1024        # read size; memory is about this plus one message
MAX_ROOTS = 8                    # media uris looked at for the platform


def _skip(text: str, pos: int) -> int:
    return JSON_SPACE.match(text, pos).end()  # type: ignore[union-attr]  # always matches


def lenient(text: str) -> Decoded | None:
    """The repair tried on a record that is not JSON as written: control characters written raw
    inside its strings accepted (the reader is strict; Meta escapes them, but be lenient)."""
    try:
        return Decoded(json.loads(text, strict=False), lenient=True)
    except (json.JSONDecodeError, RecursionError):
        return None


@contextmanager
def _walk(source: SourceFile) -> Iterator[RecordWalk]:
    """The file read in chunks (memory: a chunk and one message), walked record by record."""
    with source.path.open("rb") as handle:
        yield RecordWalk(JsonStream(handle, CHUNK_BYTES, errors="replace", repair=lenient),
                         source.name, "message")


@dataclass
class Thread:
    """What the first pass learned: the thread's fields (all but ``messages``), how many
    messages there are, hints of the platform, and what was found wrong outside the messages."""

    fields: dict[str, Any] = field(default_factory=dict)
    count: int = 0
    has_messages: bool = False
    media_roots: list[str] = field(default_factory=list)   # first folders of media uris seen
    rejects: list[Reject] = field(default_factory=list)
    complete: bool = True        # False when the file ends or breaks before its end


def walk_thread(walk: RecordWalk, thread: Thread, first: bool
                ) -> Iterator[tuple[str, Decoded | Reject]]:
    """Walk the thread object. The first pass (``first``) fills ``thread`` and steps over the
    messages after the first few; the second yields each message of the first ``messages``
    list, decoded or rejected. Both read every other field, so they end at the same fault.
    Raises ``WALK_ENDS``."""
    stream = walk.stream
    if stream.peek() != "{":
        raise NotJson("'{' (a thread is a JSON object)", stream.peek() or "the end of the file",
                      stream.byte_offset())
    for key in stream.members():
        if key == "messages" and stream.peek() == "[" and not thread.has_messages:
            thread.has_messages = True
            if first:
                _count_messages(walk, thread)
            else:
                yield from walk.records("json:messages")
            continue
        offset = stream.byte_offset()
        found = walk.value(f"json:{bounded(clean_text(key), 200)[0]}")
        if first and isinstance(found, Reject):
            thread.rejects.append(found)
        elif first:
            _keep_field(key, found.value, offset, thread)


def _count_messages(walk: RecordWalk, thread: Thread) -> None:
    """First pass over the messages: counted, the first few read for the platform's hints."""
    stream = walk.stream
    for _ in stream.items():
        thread.count += 1
        if len(thread.media_roots) >= MAX_ROOTS:
            stream.skip()
            continue
        try:
            message = stream.record().value
        except Unreadable:
            continue
        if isinstance(message, dict):
            thread.media_roots.extend(_uri_roots(message))


def scan_thread(source: SourceFile) -> Thread:
    """First pass over a thread file: its top-level fields and what the messages hint at."""
    thread = Thread()
    with _walk(source) as walk:
        try:
            for _ in walk_thread(walk, thread, first=True):
                pass
        except WALK_ENDS:
            thread.complete = False   # said by the second pass, which meets the same fault
    return thread


def _keep_field(key: str, value: Any, offset: int, thread: Thread) -> None:
    if key == "messages":
        # A second list, or a "messages" that is no list: a JSON reader keeps only one of two
        # same-named fields, so say what this one held rather than let it vanish.
        size = f"a list of {len(value)} entries" if isinstance(value, list) else \
            f"a {type(value).__name__}"
        thread.rejects.append(Reject(
            f"json:byte={offset}",
            f"a further top-level \"messages\" field ({size}) after the first messages list, or "
            "one that is not a list: not read as messages"))
        return
    thread.fields.setdefault(key, value)


def _uri_roots(message: dict[str, Any]) -> list[str]:
    roots = []
    for name in MEDIA_LISTS:
        items = message.get(name)
        if isinstance(items, list):
            roots += [_root(item.get("uri")) for item in items[:4] if isinstance(item, dict)]
    sticker = message.get("sticker")
    if isinstance(sticker, dict):
        roots.append(_root(sticker.get("uri")))
    return [root for root in roots if root]


def _root(uri: Any) -> str | None:
    if not isinstance(uri, str) or "/" not in uri:
        return None
    return uri.split("/", 1)[0]


# -- deciding the platform -------------------------------------------------------------------------

INSTAGRAM_ROOTS = frozenset({"your_instagram_activity"})
FACEBOOK_ROOTS = frozenset({"your_facebook_activity", "your_activity_across_facebook"})


@dataclass(frozen=True)
class Platform:
    name: str      # "facebook" or "instagram"
    how: str       # how it was decided, for the source note


def _by_content(thread: Thread) -> Platform | None:
    image = thread.fields.get("image")
    roots = list(thread.media_roots)
    if isinstance(image, dict) and _root(image.get("uri")):
        roots.append(_root(image.get("uri")))  # type: ignore[arg-type]
    for root in roots:
        if root in INSTAGRAM_ROOTS:
            return Platform("instagram", f"by content: a media uri starts with {root}/")
        if root in FACEBOOK_ROOTS:
            return Platform("facebook", f"by content: a media uri starts with {root}/")
    joinable = thread.fields.get("joinable_mode")
    link = joinable.get("link") if isinstance(joinable, dict) else None
    if isinstance(link, str):
        host = re.sub(r"^[a-z]+://", "", link.strip().lower()).split("/", 1)[0]
        if host in ("ig.me", "www.ig.me", "instagram.com", "www.instagram.com"):
            return Platform("instagram", f"by content: the group's join link is on {host}")
        if host in ("m.me", "www.m.me", "messenger.com", "www.messenger.com"):
            return Platform("facebook", f"by content: the group's join link is on {host}")
    return None


def _by_path(case_path: str) -> Platform | None:
    parts = [p.lower() for p in re.split(r"[/!\\]", case_path)[:-1]]
    for part in reversed(parts):
        if part in INSTAGRAM_ROOTS:
            return Platform("instagram", f"by the file's path: it is under {part}/")
        if part in FACEBOOK_ROOTS:
            return Platform("facebook", f"by the file's path: it is under {part}/")
    for part in reversed(parts):
        insta = "instagram" in part
        face = "facebook" in part or "messenger" in part
        if insta != face:
            return Platform("instagram" if insta else "facebook",
                            f"by the file's path: it is under {part!r}")
    return None


def decide_platform(thread: Thread, case_path: str) -> tuple[Platform, list[str]]:
    """The platform and the source notes that say how it was decided."""
    content, path = _by_content(thread), _by_path(case_path)
    if content is not None:
        notes = [f"platform {content.name}, decided {content.how}"]
        if path is not None and path.name != content.name:
            notes.append(f"the file's path suggests {path.name} ({path.how}); the content "
                         "decides")
        return content, notes
    if path is not None:
        return path, [(f"platform {path.name}, decided {path.how} (the content does not say: "
                       "Facebook and Instagram write the same structure)")]
    return Platform("facebook", "assumed"), [(
        "platform: neither the content nor the file's path says whether this thread is from "
        "Facebook Messenger or Instagram (they write the same structure); read as Facebook "
        "Messenger. If it came from an Instagram download, add it under a folder named "
        "instagram (or keep Meta's your_instagram_activity folder) and build again")]


# -- one message -----------------------------------------------------------------------------------


@dataclass
class ThreadContext:
    platform: str
    participants: list[str]           # repaired display names, in file order
    repaired_names: frozenset[str]    # those that were repaired
    has_participants: bool
    title: str | None
    thread_path: str | None


def _text_or_none(value: Any, repairs: Repairs, name: str,
                  limit: int = MAX_FIELD_CHARS) -> str | None:
    if not isinstance(value, str):
        return None
    return bounded(repairs.text(value, name), limit)[0]


def _verbatim(value: Any) -> Any:
    """A value for details: plain values as written (strings bounded), others as JSON text with
    its keys sorted."""
    return detail_value(value, sort_keys=True)


def unix_time(value: Any, field_name: str, precision: str, what: str) -> RawTime | str:
    """A Unix time Meta writes (``timestamp_ms`` in milliseconds, ``timestamp`` in seconds) as a
    UTC instant, or why it cannot be one; ``what`` names the record that has no time."""
    if type(value) is not int:
        shown = "missing" if value is None else f"{_verbatim(value)!r} (not a whole number)"
        return f"{field_name} is {shown}: the {what} has no time"
    if value <= 0:
        return f"{field_name} is {value}: not a time Meta writes (0 or before 1970)"
    try:
        moment = UNIX_EPOCH + (timedelta(milliseconds=value) if precision == "ms"
                               else timedelta(seconds=value))
    except OverflowError:
        return f"{field_name} {value} is beyond any calendar date"
    return RawTime(str(value), moment, "utc", precision, field_name)


def convert_message(index: int, message: Any, context: ThreadContext,
                    source: SourceFile) -> Event | Reject:
    locator = f"json:messages[{index}]"
    if not isinstance(message, dict):
        return Reject(locator, f"the message is a JSON {type(message).__name__}, not an object: "
                               "not read")
    time = unix_time(message.get("timestamp_ms"), "timestamp_ms", "ms", "message")
    if isinstance(time, str):
        return Reject(locator, time)
    repairs = Repairs()
    notes: list[str] = []
    flags: list[str] = []
    details: dict[str, Any] = {}
    if context.title is not None:
        details["thread"] = context.title
    if context.thread_path is not None:
        details["thread_path"] = context.thread_path
    event = Event(kind="message", platform=context.platform, time=time, locator=locator,
                  flags=flags, details=details, notes=notes)
    _parties(event, message.get("sender_name"), context, repairs)
    _content(event, message, repairs)
    _kind_and_call(event, message)
    if message.get("is_unsent") is True or message.get("unsent") is True:
        flags.append("unsent")
    event.attachments = _media(message, source, details, notes, repairs)
    _kept_lists(message, details, notes, repairs)
    other = {key: _verbatim(value) for key, value in message.items()
             if key not in KNOWN_MESSAGE_FIELDS}
    if other:
        details["other_fields"] = other
    repaired = repairs.note()
    if repaired:
        notes.insert(0, repaired)
    return event


def _parties(event: Event, sender_name: Any, context: ThreadContext, repairs: Repairs) -> None:
    sender = _text_or_none(sender_name, repairs, "sender_name")
    if sender is None or not sender.strip():
        event.notes.append("the message has no sender_name: its sender is not known"
                           if sender_name is None else
                           f"sender_name {_verbatim(sender_name)!r} is not a name: its sender is "
                           "not known")
    else:
        event.sender = f"name:{sender}"
    others = list(context.participants)
    if sender in others:
        others.remove(sender)
    elif sender and context.has_participants:
        event.notes.append("the sender is not among the thread's participants (they may have "
                           "left the thread or changed their name): every participant is "
                           "listed as a recipient")
    event.recipients = [f"name:{name}" for name in dict.fromkeys(others)]
    if not context.has_participants:
        event.notes.append("the file lists no participants: the recipients are not known")
    if any(name in context.repaired_names for name in others) \
            and "participants" not in repairs.fields:
        repairs.fields.append("participants")


def _content(event: Event, message: dict[str, Any], repairs: Repairs) -> None:
    content = message.get("content")
    if content is None:
        return
    if not isinstance(content, str):
        event.details["content"] = _verbatim(content)
        event.notes.append("content is not text: kept in details as written")
        return
    event.text = flagged_text(repairs.text(content, "content"), MAX_TEXT_CHARS, event.flags)


MEMBERSHIP_NOTES = {
    "Subscribe": "type Subscribe: Meta's notice that people were added to the group or joined "
                 "it (listed in users), not text the sender typed",
    "Unsubscribe": "type Unsubscribe: Meta's notice that people left or were removed from the "
                   "group (listed in users), not text the sender typed",
}


def _kind_and_call(event: Event, message: dict[str, Any]) -> None:
    kind = message.get("type")
    if kind is not None:
        event.details["type"] = _verbatim(kind)
    if isinstance(kind, str) and kind in MEMBERSHIP_NOTES:
        event.notes.append(MEMBERSHIP_NOTES[kind])
    if kind != "Call" and "call_duration" not in message:
        return
    event.kind = "call"
    duration = message.get("call_duration")
    if type(duration) is int and duration >= 0:
        event.duration_s = duration
        if duration == 0:
            event.call_status = "missed"
            event.notes.append("call status 'missed' is derived from call_duration 0: Meta does "
                               "not record whether the call was missed, declined or cancelled")
        else:
            event.call_status = "answered"
            event.notes.append("call status 'answered' is derived from a call_duration above "
                               "0 seconds")
    elif duration is None:
        event.notes.append("a call without call_duration: its duration and status are not known")
    else:
        event.details["call_duration"] = _verbatim(duration)
        event.notes.append("call_duration is not a whole number of seconds: kept in details; "
                           "the status is not known")


# -- media -----------------------------------------------------------------------------------------


def export_relative_paths(uri: str, case_path: str) -> list[str]:
    """Where a uri (relative to the export's root) is, relative to the folder of the message
    file at ``case_path``: found by where the uri's first folder sits in the file's own path, or
    by the thread folder's name inside the uri. Empty for a uri that is not a plain relative path.
    """
    if not is_plain_relative(uri):
        return []
    parts = uri.replace("\\", "/").split("/")
    # A member of an archive is written "case/export.zip!inside/path": compare the inside names.
    folder = [p.rsplit("!", 1)[-1] for p in posixpath.dirname(case_path).split("/") if p]
    found: list[str] = []
    for i in range(len(folder) - 1, -1, -1):
        if folder[i] != parts[0]:
            continue
        tail = folder[i:]
        common = 0
        while common < min(len(tail), len(parts) - 1) and tail[common] == parts[common]:
            common += 1
        found.append("/".join([".."] * (len(tail) - common) + parts[common:]))
    if folder and folder[-1] in parts[:-1]:
        # The thread's own folder named inside the uri: the rest is below the file's folder.
        at = len(parts) - 2 - parts[:-1][::-1].index(folder[-1])
        found.append("/".join(parts[at + 1:]))
    if len(parts) == 1:
        found.append(parts[0])   # a bare file name: beside the message file
    return list(dict.fromkeys(found))


def is_plain_relative(uri: str) -> bool:
    """A relative path that stays inside the export (no root, no "..", no web address)."""
    parts = uri.replace("\\", "/").split("/")
    return bool(uri) and not uri.startswith(("/", "\\")) and "://" not in uri \
        and ":" not in parts[0] and not any(p in ("", ".", "..") for p in parts)


def _media_items(message: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for name in MEDIA_LISTS:
        items = message.get(name)
        if isinstance(items, list):
            for item in items:
                yield name, item
        elif items is not None:
            yield name, items
    for name in MEDIA_SINGLE:
        if message.get(name) is not None:
            yield name, message[name]


def _media(message: dict[str, Any], source: SourceFile, details: dict[str, Any],
           notes: list[str], repairs: Repairs) -> list[Attachment]:
    attachments: list[Attachment] = []
    listed: list[dict[str, Any]] = []
    dropped = 0
    for name, item in _media_items(message):
        if len(listed) >= MAX_LIST_ITEMS:
            dropped += 1
            continue
        if not isinstance(item, dict) or not isinstance(item.get("uri"), str):
            listed.append({"field": name, "item": _verbatim(item),
                           "status": "no uri: nothing to look for"})
            continue
        uri = item["uri"]
        entry: dict[str, Any] = {"field": name, "uri": _verbatim(uri)}
        if "creation_timestamp" in item:
            entry["creation_timestamp"] = _verbatim(item["creation_timestamp"])
        attachment, status = _find_media(uri, source, repairs)
        entry["status"] = status
        if attachment is not None:
            attachments.append(attachment)
            entry["sha256"] = attachment.sha256
        listed.append(entry)
    if listed:
        details["media"] = listed
        missing = sum(1 for e in listed if e["status"] != HASHED)
        if missing:
            notes.append(f"{missing} of {len(listed)} media item(s) could not be hashed: "
                         "see media in details")
    if dropped:
        notes.append(f"{dropped} further media item(s) beyond {MAX_LIST_ITEMS} were not read")
    return attachments


def _find_media(uri: str, source: SourceFile, repairs: Repairs) -> tuple[Attachment | None, str]:
    if "://" in uri:
        return None, "a web address, not a file of the export"
    if not is_plain_relative(uri):
        return None, "not a plain relative path inside the export: not looked for"
    spellings = list(dict.fromkeys([repairs.text(uri, "media uri"), uri]))
    candidates = [rel for spelling in spellings
                  for rel in export_relative_paths(spelling, source.case_path)]
    if not candidates:
        return None, ("not in the export: the message file is not inside the folders the uri "
                      "names, so where the export's root is cannot be told")
    name = posixpath.basename(spellings[0])
    for relative in candidates:
        attachment, status = related_attachment(source, relative, name)
        if status != NOT_IN_EXPORT:
            return attachment, status
    return None, NOT_IN_EXPORT


# -- share, reactions, users -----------------------------------------------------------------------


def _repaired_value(value: Any, repairs: Repairs, name: str) -> Any:
    """A small JSON value for details with every string repaired (and bounded)."""
    if isinstance(value, str):
        return bounded(repairs.text(value, name))[0]
    if isinstance(value, dict):
        return {str(k): _repaired_value(v, repairs, name) for k, v in list(value.items())[:100]}
    if isinstance(value, list):
        return [_repaired_value(v, repairs, name) for v in value[:100]]
    return _verbatim(value)


def _kept_lists(message: dict[str, Any], details: dict[str, Any], notes: list[str],
                repairs: Repairs) -> None:
    share = message.get("share")
    if share is not None:
        details["share"] = _repaired_value(share, repairs, "share")
    for name in ("reactions", "users"):
        value = message.get(name)
        if value is None:
            continue
        if not isinstance(value, list):
            details[name] = _verbatim(value)
            continue
        details[name] = [_repaired_value(v, repairs, name) for v in value[:MAX_LIST_ITEMS]]
        if len(value) > MAX_LIST_ITEMS:
            notes.append(f"{len(value) - MAX_LIST_ITEMS} further {name} beyond "
                         f"{MAX_LIST_ITEMS} were not kept")


# -- the message parser ----------------------------------------------------------------------------

_OBJECT_START = json_head(rb"\{")
_MESSAGES_LIST = re.compile(rb'"messages"[ \t\r\n]*:[ \t\r\n]*\[')
_SENDER = re.compile(rb'"sender_name"[ \t\r\n]*:')
_TIMESTAMP = re.compile(rb'"timestamp_ms"[ \t\r\n]*:')


def _top_level_messages(head: str) -> bool:
    """Whether the (possibly cut) head of a JSON object has ``messages`` as a top-level field:
    other Meta files nest messages deeper (Instagram's reported conversations)."""
    pos = _skip(head, 0)
    if not head.startswith("{", pos):
        return False
    pos = _skip(head, pos + 1)
    try:
        while head.startswith('"', pos):
            key, pos = _DECODER.raw_decode(head, pos)
            pos = _skip(head, pos)
            if not head.startswith(":", pos):
                return False
            pos = _skip(head, pos + 1)
            if key == "messages":
                return head.startswith("[", pos)
            _, pos = _DECODER.raw_decode(head, pos)
            pos = _skip(head, pos)
            if not head.startswith(",", pos):
                return False
            pos = _skip(head, pos + 1)
    except (json.JSONDecodeError, RecursionError):
        return False   # the head ends inside an earlier field: too large to be a thread's
    return False


class MetaMessagesParser(Parser):
    NAME = "meta-messages-json"
    DATA_FORMAT = "Facebook Messenger / Instagram messages JSON (Meta Download Your Information)"
    VERSION = "2"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        head = sample.text_head
        if not (_OBJECT_START.match(head) and _MESSAGES_LIST.search(head)
                and _SENDER.search(head) and _TIMESTAMP.search(head)):
            return False
        return _top_level_messages(head.decode("utf-8", "replace").lstrip("\ufeff"))

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        thread = scan_thread(source)
        if not thread.has_messages and thread.complete:
            yield Reject("json:file", "the JSON object has no top-level \"messages\" list: not a "
                                      "Meta message thread, nothing read")
        platform, platform_notes = decide_platform(thread, source.case_path)
        context, thread_notes = _thread_context(thread, platform.name)
        for note in platform_notes + thread_notes:
            yield SourceNote(note)
        yield from thread.rejects
        with _walk(source) as walk:
            yield from walk.guarded(
                found if isinstance(found, Reject) else _converted(locator, found, context, source)
                for locator, found in walk_thread(walk, Thread(), first=False))


def _converted(locator: str, found: Decoded, context: ThreadContext,
               source: SourceFile) -> Event | Reject:
    index = int(locator[len("json:messages["):-1])
    try:
        made = convert_message(index, found.value, context, source)
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        return Reject(locator, f"could not be read: {type(error).__name__}: {error}")
    if found.lenient and isinstance(made, Event):
        made.notes.append("not valid JSON as written: control characters inside its strings "
                          "were accepted as written")
    return made


def _thread_context(thread: Thread, platform: str) -> tuple[ThreadContext, list[str]]:
    repairs = Repairs()
    notes: list[str] = []
    raw = thread.fields.get("participants")
    names: list[str] = []
    repaired: set[str] = set()
    unreadable = 0
    if isinstance(raw, list):
        for item in raw:
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name.strip():
                fixed = bounded(repairs.text(name, "participants"))[0] or ""
                names.append(fixed)
                if fixed != name:
                    repaired.add(fixed)
            else:
                unreadable += 1
    elif raw is not None:
        notes.append("participants is not a list: the recipients are not known")
    if unreadable:
        notes.append(f"{unreadable} participant(s) without a name were left out of the "
                     "recipients")
    title = _text_or_none(thread.fields.get("title"), repairs, "title")
    path = _text_or_none(thread.fields.get("thread_path"), repairs, "thread_path")
    context = ThreadContext(platform=platform, participants=names,
                            repaired_names=frozenset(repaired),
                            has_participants=isinstance(raw, list), title=title, thread_path=path)
    described = [f"{'Instagram' if platform == 'instagram' else 'Facebook Messenger'} thread"]
    if title is not None:
        described.append(f"title {title!r}")
    if path is not None:
        described.append(f"thread_path {path}")
    if isinstance(thread.fields.get("thread_type"), str):
        described.append(f"thread_type {_verbatim(thread.fields['thread_type'])}")
    described.append(f"{len(names)} participant(s)" if isinstance(raw, list)
                     else "no participants listed")
    described.append(f"{thread.count} message(s)")
    if thread.fields.get("is_still_participant") is False:
        described.append("is_still_participant false (the account had left the thread)")
    notes.insert(0, ": ".join([described[0], ", ".join(described[1:])]))
    repaired_note = repairs.note("thread fields")
    if repaired_note:
        notes.append(repaired_note)
    return context, notes


# -- friend and follow requests --------------------------------------------------------------------


@dataclass(frozen=True)
class RequestList:
    platform: str
    direction: str        # relative to the export's owner
    status: str           # received, sent, rejected


REQUEST_LISTS: dict[str, RequestList] = {
    "received_requests_v2": RequestList("facebook", "incoming", "received"),
    "sent_requests_v2": RequestList("facebook", "outgoing", "sent"),
    "rejected_requests_v2": RequestList("facebook", "incoming", "rejected"),
    "relationships_follow_requests_received": RequestList("instagram", "incoming", "received"),
    "relationships_follow_requests_sent": RequestList("instagram", "outgoing", "sent"),
}
_REQUESTS_HEAD = json_head(
    rb"\{", rb'"(' + b"|".join(re.escape(k.encode()) for k in REQUEST_LISTS) + rb')"', rb":",
    rb"\[")
_PROFILE = re.compile(r"instagram\.com/(?:_u/)?([A-Za-z0-9._]+)/?(?:[?#].*)?$")


def _list_note(key: str, kind: RequestList, count: int) -> str:
    what = "Facebook friend" if kind.platform == "facebook" else "Instagram follow"
    when = " (for a rejected one it may be when it was declined)" if kind.status == "rejected" \
        else ""
    return (f"{what} requests {kind.status} ({key}): {count} entr{'y' if count == 1 else 'ies'}; "
            f"Meta does not document what each timestamp marks: read as the time of the "
            f"request{when}")


class MetaFriendRequestsParser(Parser):
    NAME = "meta-friend-requests-json"
    DATA_FORMAT = ("Facebook friend requests / Instagram follow requests JSON "
                   "(Meta Download Your Information)")
    VERSION = "2"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        return _REQUESTS_HEAD.match(sample.text_head) is not None

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        with _walk(source) as walk:
            walk.noun = "request"
            yield from walk.guarded(self._lists(walk))

    def _lists(self, walk: RecordWalk) -> Iterator[Event | Reject | SourceNote]:
        """Each request list, entry by entry (so a file cut short keeps the entries before the
        cut). Raises ``WALK_ENDS``."""
        stream = walk.stream
        if stream.peek() != "{":
            raise NotJson("'{' (a request file is a JSON object)",
                          stream.peek() or "the end of the file", stream.byte_offset())
        for key in stream.members():
            kind = REQUEST_LISTS.get(key)
            shown = bounded(clean_text(key), 200)[0]
            if kind is None or stream.peek() != "[":
                stream.skip()
                yield Reject(f"json:{shown}", f"{shown!r} is not a request list courseline "
                                              "knows: not read" if kind is None
                             else f"{shown} is not a list: not read")
                continue
            count = 0
            for locator, found in walk.records(f"json:{shown}"):
                count += 1
                if isinstance(found, Reject):
                    yield found
                else:
                    yield from self._entry(locator, found.value, kind)
            yield SourceNote(_list_note(key, kind, count))

    def _entry(self, locator: str, entry: Any, kind: RequestList) -> Iterator[Event | Reject]:
        if not isinstance(entry, dict):
            yield Reject(locator, f"the entry is a JSON {type(entry).__name__}, not an object")
            return
        if kind.platform == "facebook":
            yield self._event(locator, entry, entry.get("timestamp"), kind, entry)
            return
        found = entry.get("string_list_data")
        if not isinstance(found, list) or not found:
            yield Reject(locator, "the entry has no string_list_data: no person and no time")
            return
        for number, item in enumerate(found):
            where = locator if len(found) == 1 else f"{locator}.string_list_data[{number}]"
            if not isinstance(item, dict):
                yield Reject(where, "the string_list_data item is not an object")
                continue
            yield self._event(where, item, item.get("timestamp"), kind, entry)

    @staticmethod
    def _event(locator: str, item: dict[str, Any], stamp: Any, kind: RequestList,
               entry: dict[str, Any]) -> Event | Reject:
        time = unix_time(stamp, "timestamp", "s", "request")
        if isinstance(time, str):
            return Reject(locator, time)
        repairs = Repairs()
        details: dict[str, Any] = {"request": kind.status}
        notes: list[str] = []
        person = _requester(item, entry, kind, repairs, details, notes)
        event = Event(kind="friend-request", platform=kind.platform, time=time, locator=locator,
                      direction=kind.direction, details=details, notes=notes)
        if kind.direction == "incoming":
            event.sender, event.owner_side = person, "recipients"
        else:
            event.recipients, event.owner_side = ([person] if person else []), "sender"
        if kind.status == "rejected":
            notes.append("a request the owner declined")
        repaired = repairs.note()
        if repaired:
            notes.insert(0, repaired)
        return event


def _requester(item: dict[str, Any], entry: dict[str, Any], kind: RequestList, repairs: Repairs,
               details: dict[str, Any], notes: list[str]) -> str | None:
    """The other person's identifier: a Facebook display name, an Instagram username."""
    if kind.platform == "facebook":
        name = _text_or_none(item.get("name"), repairs, "name")
        if name and name.strip():
            details["name"] = name
            return f"name:{name}"
        notes.append("the entry has no name: the other person is not known")
        return None
    for key in ("value", "href"):
        if isinstance(item.get(key), str):
            details[key] = bounded(repairs.text(item[key], key))[0]
    title = _text_or_none(entry.get("title"), repairs, "title")
    if title:
        details["title"] = title
    username = details.get("value") or title
    if not username and isinstance(details.get("href"), str):
        match = _PROFILE.search(details["href"])
        if match:
            username = match.group(1)
            notes.append("the username is read from the profile address (href)")
    if username and str(username).strip():
        return f"instagram:{str(username).strip()}"
    notes.append("the entry names no account: the other person is not known")
    return None


__all__ = ["MetaFriendRequestsParser", "MetaMessagesParser", "export_relative_paths",
           "repair_mojibake", "scan_thread"]
