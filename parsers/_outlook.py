"""Outlook items as events: what the ``.msg`` and PST parsers share (the leading underscore keeps
this module out of parser discovery).

An Outlook item, in a .msg file or in a PST, is a set of MAPI properties ([MS-OXPROPS]) with a
recipient table and attachments. The two containers store them differently ([MS-OXMSG] compound
file streams; [MS-PST] heaps read through libpff), so each parser wraps its container in
:class:`OutlookItem` (properties read on demand, recipients, attachments) and this module turns
the item into an :class:`Event` or a :class:`Reject`, the same way for both.

An e-mail must come out as the same event the mail parser (:mod:`._mail`) makes of the same
message read from an .eml or an mbox, so that the copies merge as one (the merge key holds the
platform, kind, sender, recipients, Message-ID, subject, text and attachment hashes). So:

* When the item keeps the message's Internet headers (PR_TRANSPORT_MESSAGE_HEADERS, 0x007D: a
  received message always has them), the sender, recipients, subject, Message-ID, the ``Date``
  header and the ``Received`` chain are read from those headers by the mail parser's own
  functions, with its notes and details (``from_header``, ``received``, ``date_header``…).
  Exchange prefixes the block with ``Microsoft Mail Internet Headers Version 2.0``: that line is
  not a header and is skipped, with a note.
* Without them (a message composed, or only saved, in Outlook), the same fields come from MAPI:
  the sender from PR_SENT_REPRESENTING_* (the From of the message) then PR_SENDER_*, preferring
  the SMTP address properties (0x5D02, 0x5D01) over PR_*_EMAIL_ADDRESS, which may be an
  Exchange address (``/O=…/CN=…``, kept in ``details.unusable_addresses``, never an
  identifier); recipients from the recipient table (PR_RECIPIENT_TYPE To/Cc/Bcc, PR_SMTP_ADDRESS
  then PR_EMAIL_ADDRESS); PR_SUBJECT; PR_INTERNET_MESSAGE_ID (0x1035).
* Times are FILETIMEs, UTC ([MS-DTYP] 2.3.3). The event's time is the ``Date`` header when
  there is one (as for the .eml copy, with its offset), else PR_CLIENT_SUBMIT_TIME (0x0039, when
  the sender's program sent it), else PR_MESSAGE_DELIVERY_TIME (0x0E06, when the mailbox
  received it), else the date of the top ``Received`` header; ``time_source`` says which.
  PR_CREATION_TIME and PR_LAST_MODIFICATION_TIME are when this copy was made or changed (years
  after the message on real files, formats.md §1.3) and never place a message; all four are in
  ``details.outlook.times``. An item with none of those times is rejected with the reason, as
  the mail parser rejects a message without a date.
* Text: PR_BODY; when it is missing or blank, the text of PR_HTML (tags removed by the mail
  parser's ``html_to_text``), else of the compressed RTF body (PR_RTF_COMPRESSED, 0x1009),
  de-encapsulated here ([MS-OXRTFEX]: HTML or text inside RTF) by a linear scanner rather than
  RTFDE, which took 1.7 s for a 42 KB body on the real PST samples. Each fallback is noted.
* Attachments: every attached file hashed (SHA-256, size, type by content) in pieces of 1 MiB,
  so an attachment's size never decides memory. An attached Outlook item (PR_ATTACH_METHOD 5)
  becomes its own record, opened recursively up to :data:`MAX_EMBED_DEPTH` levels; the parent
  lists it in ``details.attached_items``. It is not hashed as a file: a container holds it as
  properties, not as the bytes of a file, so its hash could match nothing. OLE objects
  (method 6) and links (methods 2-4, 7) are named in the notes, not hashed.
* Flags: MSGFLAG_UNSENT (PR_MESSAGE_FLAGS 0x0E07) is ``draft``; the container adds its own (a
  PST folder's role); ``sent`` makes the direction ``outgoing`` as a Gmail *Sent* label does.
  Otherwise the direction is left to the core (the source owner's identifiers).

Item classes (PR_MESSAGE_CLASS, 0x001A; [MS-OXCMSG] 2.2.1.3): ``IPM.Note`` and its subclasses,
``REPORT.*`` (delivery and read reports), ``IPM.Schedule.Meeting.*`` (meeting requests and
answers, which are sent as e-mail) and recall messages are ``email`` events; ``IPM.Post`` is a
``post`` (to a public or shared folder). Every other class (notes, contacts, distribution lists,
appointments, tasks, journal entries, free/busy and configuration data) is listed as a reject
that names what it is ("an Outlook contact (IPM.Contact) 'Jo', not mail"): never read as mail.
"""

from __future__ import annotations

import codecs
import re
import struct
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import compat32
from typing import Any, Callable, Iterable, Iterator

from courseline.parsers import hashed_pieces
from courseline.parsers._mail import (
    MAX_RECIPIENTS,
    SOURCE_DATE,
    BoundedMessage,
    MailHeaders,
    MailReading,
    decode_bytes,
    decode_header_text,
    gmail_label_flags,
    html_to_text,
    is_address,
    mail_identifiers,
    mail_time,
    read_received,
    simple_details,
)
from courseline.timeline.event import (
    MAX_TEXT_CHARS,
    Attachment,
    Event,
    RawTime,
    Reject,
    clean_text,
)

# --- Bounds --------------------------------------------------------------------------------------
MAX_EMBED_DEPTH = 5                  # attached items inside attached items
MAX_ATTACHMENTS = 2_048              # per item ([MS-OXMSG] 2.2.2 allows 2,048 in a .msg)
MAX_RECIPIENT_ROWS = 50_000          # recipient table rows read
MAX_RECIPIENT_DETAILS = 1_000        # of them kept in details
MAX_ATTACHMENT_BYTES = 1024 ** 3     # hashed; a larger one is named, not hashed
MAX_HEADER_BLOCK_CHARS = 4 * 1024 * 1024
MAX_STRING_BYTES = 4 * MAX_TEXT_CHARS  # of one string property decoded
MAX_RTF_BYTES = 8 * 1024 * 1024      # decompressed RTF scanned for text
MAX_RTF_GROUP_DEPTH = 1_000
PIECE_BYTES = 1024 * 1024

# --- [MS-OXCDATA] 2.11.1 property types ----------------------------------------------------------
PT_SHORT, PT_LONG, PT_FLOAT, PT_DOUBLE, PT_CURRENCY, PT_APPTIME = 0x2, 0x3, 0x4, 0x5, 0x6, 0x7
PT_ERROR, PT_BOOLEAN, PT_OBJECT, PT_I8 = 0xA, 0xB, 0xD, 0x14
PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_CLSID, PT_BINARY = 0x1E, 0x1F, 0x40, 0x48, 0x102
FIXED_TYPES = frozenset({PT_SHORT, PT_LONG, PT_FLOAT, PT_DOUBLE, PT_CURRENCY, PT_APPTIME,
                         PT_ERROR, PT_BOOLEAN, PT_I8, PT_SYSTIME})

# --- [MS-OXPROPS] properties read ----------------------------------------------------------------
PR_MESSAGE_CLASS = 0x001A
PR_SUBJECT = 0x0037
PR_CLIENT_SUBMIT_TIME = 0x0039
PR_SENT_REPRESENTING_NAME = 0x0042
PR_SENT_REPRESENTING_ADDRTYPE = 0x0064
PR_SENT_REPRESENTING_EMAIL_ADDRESS = 0x0065
PR_TRANSPORT_MESSAGE_HEADERS = 0x007D
PR_RECIPIENT_TYPE = 0x0C15
PR_SENDER_NAME = 0x0C1A
PR_SENDER_ADDRTYPE = 0x0C1E
PR_SENDER_EMAIL_ADDRESS = 0x0C1F
PR_MESSAGE_DELIVERY_TIME = 0x0E06
PR_MESSAGE_FLAGS = 0x0E07
PR_ATTACH_SIZE = 0x0E20
PR_BODY = 0x1000
PR_RTF_COMPRESSED = 0x1009
PR_HTML = 0x1013
PR_INTERNET_MESSAGE_ID = 0x1035
PR_INTERNET_REFERENCES = 0x1039
PR_IN_REPLY_TO_ID = 0x1042
PR_DISPLAY_NAME = 0x3001
PR_ADDRTYPE = 0x3002
PR_EMAIL_ADDRESS = 0x3003
PR_CREATION_TIME = 0x3007
PR_LAST_MODIFICATION_TIME = 0x3008
PR_ATTACH_DATA = 0x3701
PR_ATTACH_FILENAME = 0x3704
PR_ATTACH_METHOD = 0x3705
PR_ATTACH_LONG_FILENAME = 0x3707
PR_ATTACH_PATHNAME = 0x3708
PR_ATTACH_LONG_PATHNAME = 0x370D
PR_SMTP_ADDRESS = 0x39FE
PR_INTERNET_CPID = 0x3FDE
PR_MESSAGE_CODEPAGE = 0x3FFD
PR_SENDER_SMTP_ADDRESS = 0x5D01
PR_SENT_REPRESENTING_SMTP_ADDRESS = 0x5D02

ATTACH_BY_VALUE, ATTACH_EMBEDDED_MSG, ATTACH_OLE = 1, 5, 6
ATTACH_LINKS = {2: "a link to a file", 3: "a link to a file", 4: "a link to a file",
                7: "a link to a file on the web"}
MSGFLAG_UNSENT = 0x08
_MESSAGE_FLAG_NAMES = ((0x01, "read"), (0x02, "unmodified"), (0x04, "submitted"),
                       (0x08, "unsent"), (0x10, "has attachments"), (0x20, "from me"),
                       (0x40, "associated"), (0x80, "resend"))
_RECIPIENT_TYPES = {1: "To", 2: "Cc", 3: "Bcc"}

FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
# FILETIMEs from 4500 on are Outlook's "no date" markers ([MS-OXPROPS] PidTagReplyTime etc.).
_LAST_REAL_FILETIME = 915_000_000_000_000_000

SOURCE_SUBMIT = "PR_CLIENT_SUBMIT_TIME (0x0039, sent)"
SOURCE_DELIVERY = "PR_MESSAGE_DELIVERY_TIME (0x0E06, received)"
_TIME_PROPERTIES = (("client_submit_time", PR_CLIENT_SUBMIT_TIME),
                    ("message_delivery_time", PR_MESSAGE_DELIVERY_TIME),
                    ("creation_time", PR_CREATION_TIME),
                    ("last_modification_time", PR_LAST_MODIFICATION_TIME))
_EXCHANGE_PREAMBLE = re.compile(r"\A\s*Microsoft Mail Internet Headers Version [0-9.]+\s*\r?\n")


# --- Item classes --------------------------------------------------------------------------------

_MAIL_CLASSES = ("ipm.note", "report", "ipm.schedule.meeting", "ipm.outlook.recall",
                 "ipm.recall")
_POST_CLASSES = ("ipm.post",)
# Longest prefix first where one class's name starts with another's.
_OTHER_CLASSES = (
    ("ipm.stickynote", "an Outlook note"),
    ("ipm.contact", "an Outlook contact"),
    ("ipm.distlist", "an Outlook distribution list (contact group)"),
    ("ipm.appointment", "an Outlook calendar appointment"),
    ("ipm.taskrequest", "an Outlook task request"),
    ("ipm.task", "an Outlook task"),
    ("ipm.activity", "an Outlook journal entry"),
    ("ipm.ole.class.{00061055-0000-0000-c000-000000000046}",
     "an exception to a recurring Outlook appointment"),
    ("ipm.document", "a document filed in Outlook"),
    ("ipm.microsoft.scheduledata.freebusy", "Outlook free/busy data"),
    ("ipm.configuration", "Outlook configuration data"),
    ("ipm.microsoft", "Outlook's own data"),
    ("ipm.infopathform", "an InfoPath form filed in Outlook"),
)


def _has_prefix(message_class: str, prefix: str) -> bool:
    return message_class == prefix or message_class.startswith(prefix + ".")


def item_kind(message_class: str | None) -> tuple[str | None, str]:
    """(event kind, or None when the item is not read as a message; what the item is, in words)."""
    if not message_class:
        return None, "an Outlook item without a message class (PR_MESSAGE_CLASS)"
    lowered = message_class.strip().lower()
    if any(_has_prefix(lowered, prefix) for prefix in _MAIL_CLASSES):
        return "email", "an e-mail"
    if any(_has_prefix(lowered, prefix) for prefix in _POST_CLASSES):
        return "post", "a post to an Outlook folder"
    for prefix, words in _OTHER_CLASSES:
        if _has_prefix(lowered, prefix):
            return None, words
    return None, "an Outlook item of a class that is not mail"


# --- Code pages ----------------------------------------------------------------------------------

_CODEPAGES = {20127: "ascii", 65001: "utf-8", 65000: "utf-7", 50220: "iso2022_jp",
              50221: "iso2022_jp", 50222: "iso2022_jp", 51932: "euc_jp", 51949: "euc_kr",
              936: "gb18030", 54936: "gb18030", 20866: "koi8_r", 21866: "koi8_u",
              10000: "mac_roman", 20932: "euc_jp"}


def codec_for_codepage(number: int | None) -> str | None:
    """The Python codec of a Windows code page number, or None when there is none."""
    if number is None or number <= 0:
        return None
    name = _CODEPAGES.get(number) or (f"iso8859_{number - 28590}" if 28591 <= number <= 28606
                                      else f"cp{number}")
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def without_prefix_marker(subject: str | None) -> str | None:
    """A subject without the marker a PST writes before it: 0x01 and the length of its prefix
    ("RE: "), which is not part of the subject ([MS-PST] 2.5.3.1.1.1)."""
    return subject[2:] if subject and subject[:1] == "\x01" else subject


# --- Properties ----------------------------------------------------------------------------------

Reader = Callable[[], "bytes | None"]


class Properties:
    """The single-valued properties of one MAPI object (a message, a recipient, an attachment),
    each read only when asked for: a body or an attached file is not read to find a subject.

    ``values`` maps (property id, property type) to a function returning the value's bytes as
    stored (fixed-length values little-endian, strings without their terminator); ``codec`` is
    the code page of its PT_STRING8 values.
    """

    def __init__(self, values: dict[tuple[int, int], Reader], codec: str = "cp1252") -> None:
        self._values = values
        self.codec = codec

    def _find(self, prop_id: int, types: Iterable[int]) -> tuple[int, bytes] | None:
        for prop_type in types:
            read = self._values.get((prop_id, prop_type))
            if read is not None:
                value = read()
                if value is not None:
                    return prop_type, value
        return None

    def has(self, prop_id: int) -> bool:
        return any(key[0] == prop_id for key in self._values)

    def string(self, prop_id: int, limit: int = MAX_STRING_BYTES) -> str | None:
        found = self._find(prop_id, (PT_UNICODE, PT_STRING8))
        if found is None:
            return None
        prop_type, data = found
        if prop_type == PT_UNICODE:
            text = data[:limit - limit % 2].decode("utf-16-le", "replace")
        else:
            text = data[:limit].decode(self.codec, "replace")
        return clean_text(text.rstrip("\0"))

    def subject(self, prop_id: int = 0x0037, limit: int = MAX_STRING_BYTES) -> str | None:
        """A subject-like string: a PST writes PR_SUBJECT after a marker, 0x01 and the length
        of its prefix ("RE: "), which is not part of the subject ([MS-PST] 2.5.3.1.1.1)."""
        return without_prefix_marker(self.string(prop_id, limit))

    def binary(self, prop_id: int) -> bytes | None:
        found = self._find(prop_id, (PT_BINARY,))
        return found[1] if found else None

    def integer(self, prop_id: int) -> int | None:
        found = self._find(prop_id, (PT_LONG, PT_SHORT, PT_I8))
        if found is None:
            return None
        size = {PT_SHORT: 2, PT_LONG: 4, PT_I8: 8}[found[0]]
        data = found[1][:size]
        return int.from_bytes(data, "little", signed=True) if len(data) == size else None

    def boolean(self, prop_id: int) -> bool | None:
        found = self._find(prop_id, (PT_BOOLEAN,))
        return bool(found[1][:1] != b"\0") if found and found[1] else None

    def filetime(self, prop_id: int) -> int | None:
        found = self._find(prop_id, (PT_SYSTIME,))
        if found is None or len(found[1]) < 8:
            return None
        return struct.unpack("<Q", found[1][:8])[0]


def message_codec(props: Properties, fallback: str = "cp1252") -> tuple[str, str | None]:
    """The codec of an item's PT_STRING8 values: PR_MESSAGE_CODEPAGE, then PR_INTERNET_CPID,
    else ``fallback``; and a note when a code page was named but is unknown."""
    for prop_id, name in ((PR_MESSAGE_CODEPAGE, "PR_MESSAGE_CODEPAGE"),
                          (PR_INTERNET_CPID, "PR_INTERNET_CPID")):
        number = props.integer(prop_id)
        if number is None:
            continue
        codec = codec_for_codepage(number)
        if codec is not None and codec not in ("utf_16_le", "utf-16-le", "utf_16"):
            return codec, None
        return fallback, (f"{name} names code page {number}, which is not a usable 8-bit code "
                          f"page; 8-bit strings were read as {fallback}")
    return fallback, None


# --- Items ---------------------------------------------------------------------------------------

@dataclass
class OutlookAttachment:
    """One attachment of an item, as its container gives it."""

    number: int                                     # its number in the item (the locator's)
    props: Properties
    pieces: Callable[[], Iterator[bytes]] | None    # the attached file's bytes, in pieces
    open_item: Callable[[], OutlookItem] | None = None   # an attached Outlook item
    unopenable: str | None = None                   # why an attached item cannot be opened


@dataclass
class OutlookItem:
    """A message (or any Outlook item) as its container gives it."""

    props: Properties
    recipients: Callable[[], Iterator[Properties]] = field(default=lambda: iter(()))
    attachments: Callable[[], Iterator[OutlookAttachment]] = field(default=lambda: iter(()))
    notes: tuple[str, ...] = ()                     # what the container noticed (a code page)


@dataclass(frozen=True)
class Context:
    """What the container says around an item: a PST folder's flags, details and notes."""

    flags: frozenset[str] = frozenset()
    details: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def attached_locator(locator: str, number: int) -> str:
    """The locator of the item attached as attachment ``number`` of the item at ``locator``:
    ``msg`` → ``msg:attachment[2]/msg``;
    ``pst:/Inbox/[3]`` → ``pst:/Inbox/[3]/attachment[2]/msg``."""
    return f"{locator}{'/' if ':' in locator else ':'}attachment[{number}]/msg"


def read_item(open_item: Callable[[], OutlookItem], locator: str, context: Context,
              depth: int = 0, what: str = "the item") -> Iterator[Event | Reject]:
    """The records of one item and of the items attached to it (depth first). Never raises.
    ``what`` names the item in the reason when it cannot be read (the file's name for a .msg)."""
    try:
        item = open_item()
        record, attached = _read_one(item, locator, context)
    except Exception as error:  # evidence rule: a damaged item is a reject, never a crash
        yield Reject(locator, f"{what} could not be read: {type(error).__name__}: "
                              f"{clean_text(str(error))[:500]}")
        return
    yield record
    for number, attachment in attached:
        where = attached_locator(locator, number)
        if attachment.open_item is None:
            yield Reject(where, attachment.unopenable or "an attached Outlook item that could "
                                                         "not be opened")
        elif depth + 1 > MAX_EMBED_DEPTH:
            yield Reject(where, f"an Outlook item attached {depth + 1} levels deep, beyond the "
                                f"limit of {MAX_EMBED_DEPTH}: not read (it remains in the "
                                "evidence copy)")
        else:
            inner = Context(details={"attached_to": locator},
                            notes=(f"attached to the Outlook item at {locator}",))
            yield from read_item(attachment.open_item, where, inner, depth + 1)


def _read_one(item: OutlookItem, locator: str,
              context: Context) -> tuple[Event | Reject, list[tuple[int, OutlookAttachment]]]:
    message_class = item.props.string(PR_MESSAGE_CLASS, 1024)
    kind, words = item_kind(message_class)
    attachments, attachments_problem = _bounded_attachments(item)
    if attachments_problem:
        context = replace(context, notes=(*context.notes, attachments_problem))
    attached = [(a.number, a) for a in attachments if _method(a) == ATTACH_EMBEDDED_MSG]
    if kind is None:
        title = item.props.subject(PR_SUBJECT, 4096)
        named = f" {clean_text(title.strip())[:200]!r}" if title and title.strip() else ""
        shown = f" ({clean_text(message_class)[:200]})" if message_class else ""
        return Reject(locator, f"{words}{shown}{named}, not mail: listed here, not placed on "
                               "the timeline"), attached
    return _message_event(item, kind, message_class or "", attachments, locator,
                          context), attached


def _bounded_attachments(item: OutlookItem) -> tuple[list[OutlookAttachment], str | None]:
    """The item's attachments (at most MAX_ATTACHMENTS), and why the list stops early when
    there are more or the table is damaged: the message is read with those before."""
    found: list[OutlookAttachment] = []
    try:
        for attachment in item.attachments():
            if len(found) >= MAX_ATTACHMENTS:
                return found, (f"the item has more than {MAX_ATTACHMENTS:,} attachments; the "
                               f"first {MAX_ATTACHMENTS:,} were read, the rest remain in the "
                               "evidence copy")
            found.append(attachment)
    except Exception as error:
        return found, (f"the attachment table could not be read past attachment {len(found)}: "
                       f"{type(error).__name__}: {clean_text(str(error))[:200]}")
    return found, None


def _method(attachment: OutlookAttachment) -> int | None:
    if attachment.open_item is not None or attachment.unopenable is not None:
        return ATTACH_EMBEDDED_MSG
    return attachment.props.integer(PR_ATTACH_METHOD)


# --- Times ---------------------------------------------------------------------------------------

def filetime_moment(ticks: int | None) -> datetime | None:
    """A FILETIME as a UTC datetime to the millisecond; None for zero and "no date" markers."""
    if ticks is None or ticks <= 0 or ticks >= _LAST_REAL_FILETIME:
        return None
    moment = FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def filetime_raw_time(ticks: int | None, source: str) -> RawTime | None:
    moment = filetime_moment(ticks)
    if moment is None:
        return None
    return RawTime(raw=str(ticks), value=moment, basis="utc",
                   precision="ms" if moment.microsecond else "s", source=source,
                   device_clock=False)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _mapi_times(props: Properties) -> dict[str, str]:
    times = {}
    for name, prop_id in _TIME_PROPERTIES:
        moment = filetime_moment(props.filetime(prop_id))
        if moment is not None:
            times[name] = _iso(moment)
    return times


def _mapi_fallback(props: Properties, have_headers: bool) -> tuple[RawTime | None, str | None]:
    """The MAPI time used when the headers give no Date, with the note saying so."""
    lead = ("the message has no usable Date header" if have_headers
            else "the item holds no Internet headers")
    submit = filetime_raw_time(props.filetime(PR_CLIENT_SUBMIT_TIME), SOURCE_SUBMIT)
    if submit is not None:
        return submit, (f"{lead}; the time is PR_CLIENT_SUBMIT_TIME (0x0039), when the "
                        "sender's program sent it, in UTC")
    delivery = filetime_raw_time(props.filetime(PR_MESSAGE_DELIVERY_TIME), SOURCE_DELIVERY)
    if delivery is not None:
        return delivery, (f"{lead} and no PR_CLIENT_SUBMIT_TIME; the time is "
                          "PR_MESSAGE_DELIVERY_TIME (0x0E06), when the mailbox received (or, for "
                          "a draft, stored) it, in UTC")
    return None, None


def _no_time_reason(props: Properties, headers: MailHeaders) -> str:
    dates = headers.all("date")
    start = (f"the Date header {clean_text(dates[0].strip())[:200]!r} could not be read as a "
             "date" if dates else "no Date header")
    reason = (f"{start}, no PR_CLIENT_SUBMIT_TIME (0x0039) or PR_MESSAGE_DELIVERY_TIME (0x0E06) "
              "and no Received time: the message cannot be placed in time")
    created = filetime_moment(props.filetime(PR_CREATION_TIME))
    if created is not None:
        reason += (f"; its PR_CREATION_TIME, {_iso(created)}, is when this copy was made, not "
                   "when the message was sent, and is not used")
    return reason


# --- Addresses from MAPI -------------------------------------------------------------------------

_SENDER_PROPERTIES = (
    ("PR_SENT_REPRESENTING_SMTP_ADDRESS", PR_SENT_REPRESENTING_SMTP_ADDRESS, None,
     PR_SENT_REPRESENTING_NAME),
    ("PR_SENT_REPRESENTING_EMAIL_ADDRESS", PR_SENT_REPRESENTING_EMAIL_ADDRESS,
     PR_SENT_REPRESENTING_ADDRTYPE, PR_SENT_REPRESENTING_NAME),
    ("PR_SENDER_SMTP_ADDRESS", PR_SENDER_SMTP_ADDRESS, None, PR_SENDER_NAME),
    ("PR_SENDER_EMAIL_ADDRESS", PR_SENDER_EMAIL_ADDRESS, PR_SENDER_ADDRTYPE, PR_SENDER_NAME),
)


def _mapi_sender(props: Properties, details: dict[str, Any],
                 reading: MailReading) -> str | None:
    unusable: list[dict[str, str]] = details.setdefault("unusable_addresses", [])
    for name, address_id, type_id, display_id in _SENDER_PROPERTIES:
        address = props.string(address_id, 8192)
        if not address or not address.strip():
            continue
        address = address.strip()
        if is_address(address):
            details["mapi_sender"] = {
                "property": name, "address": reading.bound("a sender address", address),
                "name": reading.bound("a sender name", props.string(display_id, 8192))}
            return "email:" + address
        if len(unusable) < 100:
            unusable.append({"property": name,
                             "address_type": reading.bound("an address type",
                                                           props.string(type_id, 1024)
                                                           if type_id else None) or "",
                             "value": reading.bound("an address", address) or ""})
    if unusable:
        reading.note("the sender is named only by an address that is not an e-mail address "
                     "(an Exchange address?); kept in details.unusable_addresses, not used as "
                     "an identifier")
    else:
        reading.note("the item names no sender address")
    return None


def _mapi_recipient_rows(item: OutlookItem, reading: MailReading) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    try:
        for number, props in enumerate(item.recipients()):
            if number >= MAX_RECIPIENT_ROWS:
                reading.note(f"the recipient table has more than {MAX_RECIPIENT_ROWS:,} rows; "
                             f"the first {MAX_RECIPIENT_ROWS:,} were read")
                break
            rows.append(_recipient_row(props, reading))
    except Exception as error:  # a damaged table: the message is read without the rest of it
        reading.note(f"the recipient table could not be read past row {len(rows)}: "
                     f"{type(error).__name__}: {clean_text(str(error))[:200]}")
    return rows


def _recipient_row(props: Properties, reading: MailReading) -> dict[str, Any]:
    kind = props.integer(PR_RECIPIENT_TYPE)
    smtp = (props.string(PR_SMTP_ADDRESS, 8192) or "").strip()
    email = (props.string(PR_EMAIL_ADDRESS, 8192) or "").strip()
    return {"type": _RECIPIENT_TYPES.get((kind or 0) & 0xF, "unknown"),
            "name": reading.bound("a recipient name", props.string(PR_DISPLAY_NAME, 8192)),
            "address_type": reading.bound("an address type", props.string(PR_ADDRTYPE, 1024)),
            "address": reading.bound("a recipient address",
                                     smtp if is_address(smtp) else email or smtp)}


def _mapi_recipients(rows: list[dict[str, Any]], details: dict[str, Any],
                     reading: MailReading) -> list[str]:
    """The identifiers of the recipient table, To then Cc then Bcc, each once."""
    recipients: list[str] = []
    seen: set[str] = set()
    unusable: list[dict[str, str]] = details.setdefault("unusable_addresses", [])
    for wanted in ("To", "Cc", "Bcc", "unknown"):
        for row in rows:
            address = row["address"] or ""
            if row["type"] != wanted:
                continue
            if not is_address(address):
                if address and len(unusable) < 100:
                    unusable.append({"recipient": wanted, "value": address,
                                     "address_type": row["address_type"] or ""})
                continue
            if address.lower() not in seen and len(recipients) < MAX_RECIPIENTS:
                seen.add(address.lower())
                recipients.append("email:" + address)
    if any("recipient" in entry for entry in unusable):
        reading.note("some recipients are named only by an address that is not an e-mail "
                     "address; kept in details.unusable_addresses, not used as identifiers")
    return recipients


# --- Headers -------------------------------------------------------------------------------------

def _transport_headers(props: Properties, reading: MailReading) -> MailHeaders | None:
    """The message's Internet header block, parsed as the mail parser parses a message's
    headers; None when the item has none."""
    text = props.string(PR_TRANSPORT_MESSAGE_HEADERS, 2 * MAX_HEADER_BLOCK_CHARS)
    if text is None or not text.strip():
        return None
    if len(text) >= MAX_HEADER_BLOCK_CHARS:
        reading.truncated = True
        reading.note(f"the transport headers are longer than {MAX_HEADER_BLOCK_CHARS:,} "
                     "characters; only their beginning was read")
        text = text[:MAX_HEADER_BLOCK_CHARS]
    preamble = _EXCHANGE_PREAMBLE.match(text)
    if preamble:
        reading.note("the transport headers start with Exchange's line 'Microsoft Mail "
                     "Internet Headers Version 2.0', which is not a header; it was skipped")
        text = text[preamble.end():]
    text = text.lstrip("\r\n")
    # The block as stored may lack the blank line that ends a header block; an unfinished last
    # header would otherwise be read as the start of a body.
    raw = (text.rstrip("\r\n") + "\r\n\r\n").encode("utf-8")
    message = BytesParser(_class=BoundedMessage, policy=compat32).parsebytes(
        raw, headersonly=True)
    return MailHeaders(message)


# --- Text ----------------------------------------------------------------------------------------

def _body_text(props: Properties, reading: MailReading) -> str | None:
    body = props.string(PR_BODY)
    if body is not None and body.strip():
        return _normalised(body)
    lead = ("the plain-text body (PR_BODY) is blank" if body is not None
            else "the item has no plain-text body (PR_BODY)")
    html = props.binary(PR_HTML)
    html_text = None if html is not None else props.string(PR_HTML)
    if html is not None or html_text is not None:
        reading.note(f"{lead}; the text was extracted from its HTML body (PR_HTML, tags "
                     "removed)")
        if html_text is None:
            charset = codec_for_codepage(props.integer(PR_INTERNET_CPID))
            html_text = decode_bytes(html or b"", charset, "the HTML body", reading,
                                     limit_chars=4 * MAX_TEXT_CHARS)
        return _normalised(html_to_text(html_text[:4 * MAX_TEXT_CHARS]))
    rtf = props.binary(PR_RTF_COMPRESSED)
    if rtf is not None:
        return _rtf_body(rtf, lead, reading)
    reading.note(f"{lead} and no HTML or RTF body: the message has no text")
    return None


def _normalised(text: str) -> str:
    return clean_text(re.sub(r"\r\n|\r", "\n", text))


def _rtf_body(stored: bytes, lead: str, reading: MailReading) -> str | None:
    rtf, problem = decompressed_rtf(stored)
    if rtf is None:
        reading.note(f"{lead}; its RTF body (PR_RTF_COMPRESSED) could not be read: {problem}")
        return None
    if len(rtf) > MAX_RTF_BYTES:
        reading.truncated = True
        reading.note(f"the RTF body is {len(rtf):,} bytes; only the first {MAX_RTF_BYTES:,} "
                     "were read")
        rtf = rtf[:MAX_RTF_BYTES]
    content, encapsulated = rtf_content(rtf)
    if encapsulated == "html":
        reading.note(f"{lead}; the text was extracted from the HTML held in its RTF body "
                     "(PR_RTF_COMPRESSED, [MS-OXRTFEX] de-encapsulated, tags removed)")
        return _normalised(html_to_text(content))
    what = ("the text held in its RTF body (PR_RTF_COMPRESSED, [MS-OXRTFEX] de-encapsulated)"
            if encapsulated == "text" else "its RTF body (PR_RTF_COMPRESSED, formatting removed)")
    reading.note(f"{lead}; the text was extracted from {what}")
    return _normalised(content).strip("\n") or None


def decompressed_rtf(stored: bytes) -> tuple[bytes | None, str | None]:
    """The RTF of a PR_RTF_COMPRESSED value ([MS-OXRTFCP]), or None and why. Decompressing
    stops at the size the header declares (itself bounded), so a hostile value can neither make
    the output large nor keep the reader busy: LZFu can expand its input about eight times."""
    if len(stored) < 16:
        return None, "it is shorter than its 16-byte header"
    raw_size, kind = struct.unpack("<I4s", stored[4:12])
    if kind == b"MELA":             # stored uncompressed
        return stored[16:16 + raw_size], None
    if kind != b"LZFu":
        return None, f"its header names the unknown compression {kind!r}"
    if raw_size > MAX_RTF_BYTES:
        return None, f"it declares {raw_size:,} bytes of RTF, over the {MAX_RTF_BYTES:,} limit"
    return _lzfu(stored, raw_size), None


# [MS-OXRTFCP] 2.1.2.1: the dictionary starts with these 207 bytes; the rest of its 4,096 are
# spaces here, as in the compressed_rtf library (a compressor never refers to them).
_LZFU_START = (b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman "
               b"\\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New "
               b"RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
               b"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx")


def _lzfu(stored: bytes, limit: int) -> bytes:
    """LZFu decompression ([MS-OXRTFCP] 2.2.3), to at most ``limit`` bytes: each control byte's
    bits, lowest first, say whether the next token is a literal byte (0) or a 2-byte reference
    (1) to 12 bits of dictionary offset and 4 bits of length less 2; a reference to the write
    position ends the data."""
    window = bytearray(_LZFU_START.ljust(4096, b" "))
    write = len(_LZFU_START)
    out = bytearray()
    data, at, end = stored, 16, len(stored)
    while at < end and len(out) < limit:
        control = data[at]
        at += 1
        for bit in range(8):
            if at >= end or len(out) >= limit:
                break
            if not control >> bit & 1:
                byte = data[at]
                at += 1
                out.append(byte)
                window[write] = byte
                write = (write + 1) & 0xFFF
                continue
            if at + 1 >= end:
                return bytes(out)
            token = data[at] << 8 | data[at + 1]
            at += 2
            offset, length = token >> 4, (token & 0xF) + 2
            if offset == write:
                return bytes(out[:limit])
            for step in range(length):
                byte = window[(offset + step) & 0xFFF]
                out.append(byte)
                window[write] = byte
                write = (write + 1) & 0xFFF
    return bytes(out[:limit])


_RTF_TOKEN = re.compile(rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}])|"
                        rb"([^\\{}\r\n]+)|[\r\n]+", re.DOTALL)
# Destinations whose text is not the message's: fonts, colours, styles, pictures, metadata.
_SKIPPED_DESTINATIONS = frozenset({
    b"fonttbl", b"colortbl", b"stylesheet", b"info", b"pict", b"object", b"objdata",
    b"themedata", b"colorschememapping", b"datastore", b"latentstyles", b"listtable",
    b"listoverridetable", b"rsidtbl", b"generator", b"xmlnstbl", b"filetbl", b"revtbl",
    b"header", b"headerl", b"headerr", b"headerf", b"footer", b"footerl", b"footerr",
    b"footerf", b"fldinst", b"mhtmltag", b"pgdsctbl", b"listtext", b"pntext", b"bkmkstart",
    b"bkmkend", b"userprops", b"docvar", b"wgrffmtfilter", b"mmathPr", b"protusertbl"})
_RTF_SPECIAL = {b"par": "\n", b"line": "\n", b"tab": "\t", b"emdash": "\u2014",
                b"endash": "\u2013", b"lquote": "\u2018", b"rquote": "\u2019",
                b"ldblquote": "\u201c", b"rdblquote": "\u201d", b"bullet": "\u2022",
                b"sect": "\n", b"page": "\n", b"cell": "\t", b"row": "\n"}
_RTF_SYMBOLS = {b"\\": "\\", b"{": "{", b"}": "}", b"~": "\u00a0", b"_": "\u2011",
                b"-": "", b"\n": "\n", b"\r": "\n"}


@dataclass
class _RtfGroup:
    skip: bool = False          # inside a destination whose text is not kept
    htmlrtf: bool = False       # inside \htmlrtf: RTF-only text an encapsulating reader drops
    unicode_skip: int = 1       # \ucN: fallback characters after each \uN
    new: bool = True            # no token read yet in this group (a destination comes first)


def rtf_content(rtf: bytes) -> tuple[str, str | None]:
    """The text an RTF body holds, and what it encapsulates: ``"html"`` (``\\fromhtml``: the
    original HTML, from ``\\htmltag`` groups and the text outside ``\\htmlrtf``), ``"text"``
    (``\\fromtext``), or None for plain RTF (its text, formatting dropped). One linear pass; the
    group stack is bounded."""
    head = rtf[:1024]
    encapsulated = "html" if b"\\fromhtml" in head else "text" if b"\\fromtext" in head else None
    codepage = re.search(rb"\\ansicpg(\d{1,5})", head)
    codec = codec_for_codepage(int(codepage.group(1))) if codepage else None
    codec = codec or "cp1252"
    out: list[str] = []
    pending = bytearray()           # \'hh bytes, decoded together (double-byte code pages)
    stack = [_RtfGroup()]
    fallback = 0                    # characters still to drop after a \uN

    def flush() -> None:
        if pending:
            out.append(pending.decode(codec, "replace"))
            pending.clear()

    def emit(text: str) -> None:
        group = stack[-1]
        if not group.skip and not (encapsulated and group.htmlrtf):
            flush()
            out.append(text)

    for match in _RTF_TOKEN.finditer(rtf):
        word, number, hexbyte, symbol, brace, text = match.groups()
        group = stack[-1]
        if brace == b"{":
            flush()
            if len(stack) < MAX_RTF_GROUP_DEPTH:
                stack.append(_RtfGroup(group.skip, group.htmlrtf, group.unicode_skip))
            continue
        if brace == b"}":
            flush()
            if len(stack) > 1:
                stack.pop()
            continue
        was_new, group.new = group.new, False
        if fallback and (hexbyte is not None or text is not None):
            if text is not None and len(text) > fallback:
                text, fallback = text[fallback:], 0
            else:
                fallback = max(0, fallback - (1 if hexbyte is not None else len(text or b"")))
                continue
        if hexbyte is not None:
            if not group.skip and not (encapsulated and group.htmlrtf):
                pending.append(int(hexbyte, 16))
            continue
        if text is not None:
            emit(text.replace(b"\0", b"").decode(codec, "replace"))
            continue
        if symbol is not None:
            if symbol == b"*" and was_new:
                group.new = True      # the destination's name follows
                group.skip = True     # an unknown \* destination is ignored (RTF 1.9.1)
            elif symbol in _RTF_SYMBOLS:
                emit(_RTF_SYMBOLS[symbol])
            continue
        if word is None:
            continue                  # a bare line break: not text in RTF
        if word.startswith(b"htmltag") and encapsulated == "html":
            group.skip = False        # {\*\htmltagN …}: the original HTML, kept
            group.htmlrtf = False
        elif word == b"htmlrtf":
            group.htmlrtf = number != b"0"
        elif word in _SKIPPED_DESTINATIONS and was_new:
            group.skip = True
        elif word == b"uc" and number is not None:
            group.unicode_skip = max(0, min(int(number), 10))
        elif word == b"u" and number is not None:
            code = int(number) % 65536
            emit(chr(code) if not 0xD800 <= code < 0xE000 else "\ufffd")
            fallback = group.unicode_skip
        elif word in _RTF_SPECIAL:
            emit(_RTF_SPECIAL[word])
    flush()
    return "".join(out), encapsulated


# --- Attachments ---------------------------------------------------------------------------------

def _attachment_name(props: Properties, reading: MailReading) -> str | None:
    for prop_id in (PR_ATTACH_LONG_FILENAME, PR_ATTACH_FILENAME, PR_DISPLAY_NAME):
        name = props.string(prop_id, 8192)
        if name and name.strip():
            return reading.bound("an attachment name", name.strip())
    return None


def _attachments(attachments: list[OutlookAttachment], locator: str, details: dict[str, Any],
                 reading: MailReading) -> list[Attachment]:
    hashed: list[Attachment] = []
    for attachment in attachments:
        name = _attachment_name(attachment.props, reading)
        label = f"attachment {attachment.number}" + (f" ({name!r})" if name else "")
        method = _method(attachment)
        if method == ATTACH_EMBEDDED_MSG:
            details.setdefault("attached_items", []).append(
                {"attachment": attachment.number, "name": name,
                 "locator": attached_locator(locator, attachment.number)})
            continue
        if method == ATTACH_OLE:
            reading.note(f"{label} is an embedded OLE object (a storage, not a file): it "
                         "remains in the evidence copy, not hashed")
            continue
        if method in ATTACH_LINKS:
            target = (attachment.props.string(PR_ATTACH_LONG_PATHNAME, 8192)
                      or attachment.props.string(PR_ATTACH_PATHNAME, 8192))
            details.setdefault("linked_attachments", []).append(
                {"attachment": attachment.number, "name": name,
                 "target": reading.bound("a linked attachment's target", target)})
            reading.note(f"{label} is {ATTACH_LINKS[method]}, not the file: nothing to hash")
            continue
        if attachment.pieces is None:
            reading.note(f"{label} holds no data")
            continue
        try:
            found = hashed_pieces(name, attachment.pieces(), MAX_ATTACHMENT_BYTES)
        except Exception as error:  # a damaged attachment: the message is still read
            reading.note(f"{label} could not be read: {type(error).__name__}: "
                         f"{clean_text(str(error))[:200]}")
            continue
        if found is None:
            reading.note(f"{label} is larger than {MAX_ATTACHMENT_BYTES:,} bytes: it remains in "
                         "the evidence copy, not hashed")
            continue
        hashed.append(found)
    return hashed


# --- The message ---------------------------------------------------------------------------------

def _flag_names(flags: int) -> list[str]:
    return [name for bit, name in _MESSAGE_FLAG_NAMES if flags & bit]


def _message_event(item: OutlookItem, kind: str, message_class: str,
                   attachments: list[OutlookAttachment], locator: str,
                   context: Context) -> Event | Reject:
    props = item.props
    reading = MailReading()
    for note in (*context.notes, *item.notes):
        reading.note(note)
    details: dict[str, Any] = dict(context.details)
    headers = _transport_headers(props, reading)
    have_headers = headers is not None
    if headers is None:
        headers = MailHeaders(BytesParser(policy=compat32).parsebytes(b"\r\n", headersonly=True))
        reading.note("the item holds no Internet headers (PR_TRANSPORT_MESSAGE_HEADERS): "
                     "the addresses, subject and Message-ID were read from its MAPI properties")

    rows = _mapi_recipient_rows(item, reading)
    if have_headers and headers.all("from"):
        addresses = mail_identifiers(headers, details, reading)
        sender, recipients = addresses.sender, addresses.recipients
    else:
        if have_headers:
            reading.note("the transport headers have no From header; the sender and "
                         "recipients were read from the MAPI properties")
        sender = _mapi_sender(props, details, reading)
        recipients = _mapi_recipients(rows, details, reading)
    if not details.get("unusable_addresses"):
        details.pop("unusable_addresses", None)

    simple_details(headers, details, reading)
    for key, prop_id in (("message_id", PR_INTERNET_MESSAGE_ID),
                         ("in_reply_to", PR_IN_REPLY_TO_ID),
                         ("references", PR_INTERNET_REFERENCES)):
        value = props.string(prop_id, 65536)
        if key not in details and value and value.strip():
            details[key] = reading.bound(f"the {key} kept in details", value.strip())
    received = read_received(headers.all("received"), reading)
    if received:
        details["received"] = received

    fallback, fallback_note = _mapi_fallback(props, have_headers)
    time = mail_time(headers, received, fallback, fallback_note, reading)
    if time is None:
        return Reject(locator, _no_time_reason(props, headers))
    if time.source == SOURCE_DATE and time.value is not None and time.value.tzinfo is None:
        # A Date header without a zone is a guess at the zone; Outlook's own FILETIME is exact.
        if fallback is not None:
            reading.note(f"the Date header {clean_text(time.raw)[:200]!r} names no time zone; "
                         f"the time is {fallback.source} instead, exact in UTC")
            time = fallback
    _compare_times(time, props, reading)

    subject_raw = headers.first("subject")
    if subject_raw is not None:
        subject = reading.bound("the subject", decode_header_text(subject_raw, "Subject",
                                                                  reading))
    else:
        subject = reading.bound("the subject", props.subject(PR_SUBJECT))

    flags = set(context.flags)
    message_flags = props.integer(PR_MESSAGE_FLAGS)
    if message_flags is not None and message_flags & MSGFLAG_UNSENT:
        flags.add("draft")
    flags.update(gmail_label_flags(headers, details, reading))

    text = reading.bound("the text", _body_text(props, reading), MAX_TEXT_CHARS)
    hashed = _attachments(attachments, locator, details, reading)
    outlook: dict[str, Any] = {"message_class": reading.bound("the message class",
                                                              message_class)}
    if message_flags is not None:
        outlook["message_flags"] = _flag_names(message_flags)
    times = _mapi_times(props)
    if times:
        outlook["times"] = times
    if rows:
        outlook["recipient_table"] = rows[:MAX_RECIPIENT_DETAILS]
    details["outlook"] = outlook
    if kind == "email" and not message_class.lower().startswith("ipm.note"):
        reading.note(f"an item of class {message_class[:200]!r}, read as an e-mail")
    if reading.truncated:
        flags.add("truncated")
    event = Event(kind=kind, platform="email", time=time, locator=locator,
                  direction="outgoing" if "sent" in flags else "unknown", sender=sender,
                  recipients=recipients, subject=subject, text=text, attachments=hashed,
                  flags=sorted(flags), details=details, notes=reading.final_notes())
    event.check()
    return event


def _compare_times(time: RawTime, props: Properties, reading: MailReading) -> None:
    """Say so when the Date header and PR_CLIENT_SUBMIT_TIME disagree by more than a minute:
    one of the two clocks, or the header, is not what it seems."""
    if time.source != SOURCE_DATE or time.value is None or time.value.tzinfo is None:
        return
    submitted = filetime_moment(props.filetime(PR_CLIENT_SUBMIT_TIME))
    if submitted is None:
        return
    gap = abs((time.value - submitted).total_seconds())
    if gap > 60:
        reading.note(f"the Date header and PR_CLIENT_SUBMIT_TIME ({_iso(submitted)}) differ by "
                     f"{gap:,.0f} seconds")
