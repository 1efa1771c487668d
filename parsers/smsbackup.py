"""SMS Backup & Restore (SyncTech, Android app ``com.riteshsahu.SMSBackupRestore``) XML backups:
messages (``sms-<timestamp>.xml``, root ``<smses>``) and call logs (``calls-<timestamp>.xml``, root
``<calls>``). Two parsers in one module because they share most of their code: the streaming
reader, the character-reference repair and the handling of broken files.

Sources: research formats.md §2.3 (calls) and §3.3 (messages), which cite shruggietech/
sms-backup-restore-parser ``docs/xml-reference.md`` (attribute lists, call and message codes) and
the devadvance/sms-backup-reader-2 and shruggietech fixtures; Android's ``Telephony.Sms`` /
``Mms`` / ``CallLog.Calls`` codes as read in ALEAPP (shared in :mod:`._phone`). Surrogate-pair
references as written by real backups: signalapp/Signal-Android#7155 (``body="Yup
&#55357;&#56396;"`` in a file of this format), SilenceIM/Silence#317; references to control
characters (``&#x11;``) that XML 1.0 forbids: matteocontrini/sms-wp-to-android#58.

Format (what is read):

* ``<sms>``: ``address`` (the other party), ``date`` (Unix ms, UTC: the time used), ``type``
  (Android's box code: 1 inbox … 6 queued), ``body``, ``subject``; kept in details: ``date_sent``
  (Unix ms, 0 when not recorded), ``service_center``, ``sub_id``, ``read``, ``status``,
  ``locked``, ``_id`` and the display values ``readable_date`` and ``contact_name``.
* ``<mms>``: ``date`` (Unix ms; a value small enough to be seconds is read as seconds and noted),
  ``msg_box`` (1 inbox, 2 sent, 3 draft, 4 outbox, 5 failed), ``sub`` (subject), ``address`` (kept
  verbatim: it may be ``a~b~c`` for a group or an RCS group id like ``group_8@rcs.google.com``),
  ``date_sent`` (**seconds** in real files, milliseconds per the shruggietech reference: its unit is
  decided by magnitude and recorded in details), ``m_type`` (130 = a notification of an MMS never
  downloaded), ``creator``, ``m_id``. Children ``<parts><part/></parts>``: ``text/plain`` parts
  give the text; ``application/smil`` parts are skipped with no loss (they only lay out the other
  parts on screen); every other part is an attachment hashed from its base64 ``data`` (invalid
  base64 is noted, not fatal; a part without ``data`` is named in details as not in the backup).
  ``<addrs><addr address type/></addrs>``: type 137 is the sender, 151/130/129 (to/cc/bcc) the
  recipients. The owner's own number is among them (the recipient of an incoming MMS, the sender
  of a sent one), which is kept: ``owner_side`` is set only when that side would otherwise be
  empty (an outgoing MMS whose sender is Android's ``insert-address-token`` placeholder). Without
  ``<addrs>`` the ``address`` attribute gives the other party.
* ``<call>``: ``number`` and ``presentation`` (withheld/unknown/payphone), ``date`` (Unix ms),
  ``duration`` (s), ``type`` (1 incoming, 2 outgoing, 3 missed, 4 voicemail, 5 rejected,
  6 blocked, 7 answered elsewhere); details: ``subscription_id``, ``contact_name``,
  ``readable_date``.
* The literal string ``"null"`` (the app's way of writing a missing value) and empty strings are
  read as absent. ``readable_date`` is the phone's local display time in a user-chosen layout: it
  is kept in details and never used as the time. The root's ``count``, ``backup_date``,
  ``backup_set`` and ``type`` are reported once as source notes; a ``count`` that differs from the
  number of records found is reported (a hint of a truncated or edited backup).

Not read: ``toa``, ``sc_toa``, ``protocol``, ``tr_id`` and the other MMS transport attributes
(``rr``, ``d_rpt``, ``exp``, ``pri``, ``ct_cls`` …); ``<part>`` attributes other than ``ct``,
``name``/``fn``/``cl``, ``text``, ``data``; element text content (the format has none). Encrypted
(Pro, AES zip) backups are zip files and not recognised here. A UTF-16 file is parsed but its
character references are not repaired (the repair works on ASCII-compatible bytes; the app writes
UTF-8).

Streaming: the file is read in chunks of :data:`CHUNK_BYTES` and fed to expat directly (the
parser under :mod:`xml.etree.ElementTree`), which gives the byte position of each record so a
repair can be told to the record it was made in. No tree is built: a record is held as its
attributes and those of its descendants until it ends, then converted and dropped, so memory is
bounded by the read size and one record (a multi-gigabyte backup of base64 media is never held
whole; a single huge attachment is held once, as expat delivers a start tag's attributes whole).
A document type declaration is refused (the app never writes one; entity expansion could exhaust
memory). Character references inside comments or CDATA would be rewritten too (the app writes
neither).

Character-reference repair: Java's serializer wrote characters outside the Basic Multilingual
Plane (emoji) as two references to UTF-16 surrogates (``&#55357;&#56832;``), which XML forbids
and expat rejects ("reference to invalid character number"), ending the read of the whole file.
Before expat sees the bytes, a streaming filter (:class:`ReferenceRepairer`) joins a high+low pair
into one reference to the real character (``&#0000000128512;``, zero-padded so that byte offsets,
lines and columns stay those of the evidence file), also when the pair is split between two reads;
a lone surrogate or another reference XML forbids (a control character like ``&#x11;``) becomes a
reference to U+FFFD (a reference shorter than ``&#65533;`` grows; error columns are corrected for
it). Each event says what was repaired in it; the source notes give the totals. Raw bytes XML
forbids (an unescaped control character, invalid UTF-8) are not repaired: they end the read there,
as damage does.

Damage: a file that stops being well-formed part-way (truncated, an unclosed tag) gives the events
of the records that ended before the fault, then one reject naming the record cut off (also a
record whose start tag never completed, found by its ``<name`` in the bytes before the error; or
the position, when the fault is between records), the line and column and expat's reason; the
rest of the file is not read. A record without a usable ``date`` is a reject naming the record
and the value.
Locators: ``xml:sms[N]``, ``xml:mms[N]``, ``xml:call[N]`` with N the 1-based index of that element
among the root's children of its name; ``xml:line=L,column=C`` for a fault between records.

Checked on the 11 real samples in ``realworld/smsbackuprestore`` (devadvance/sms-backup-reader-2
d4744d8, shruggietech/sms-backup-restore-parser 11acd34; tests/parsers/test_smsbackup.py): MMS
``date_sent`` in seconds beside ``date`` in ms, the RCS group address, ``a~b~c`` addresses,
``"null"`` strings, smil parts, an image part, invalid base64, an MMS without ``<parts>`` or
``<addrs>``, a hexadecimal emoji reference (``&#x1F30D;``), a truncated file (``malformed.xml``),
an empty backup, a draft (type 3). ``devadvance_sms_and_mms.xml`` is itself truncated (its root
says ``count="58"``; it breaks off inside its 9th ``<mms>``, the 50th record). Not checked on a
real file: surrogate-pair and control-character references (no real sample holds one; synthetic
tests only, after the issue threads cited above), call types 2-7 and presentations other than 1,
SMS types 4-6, ``<addrs>`` with ``insert-address-token``, MMS ``m_type`` 130.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter, deque
from itertools import chain
from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import BinaryIO, ClassVar
from xml.parsers import expat

from courseline.collectors.identify import Sample
from courseline.parsers import Parser, SourceFile, hashed_attachment
from courseline.parsers._phone import (UNIX_EPOCH, Box, call_type, epoch_time, owner_side_of,
                                       phone_identifier, seconds, sms_box, unix_seconds_or_ms)
from courseline.timeline.timeutil import format_utc
from courseline.timeline.event import (MAX_FIELD_CHARS, MAX_TEXT_CHARS, Event, RawTime, Reject,
                                       SourceNote, bounded)

CHUNK_BYTES = 1024 * 1024        # read size; memory is this plus one record
MAX_CHILD_ELEMENTS = 10_000      # parts/addrs kept per record; more are counted, not kept
MAX_NOTED_REFERENCES = 3         # examples of replaced references quoted in a note
MAX_GROWTH_KEPT = 10_000         # length-changing repairs kept for one line's error columns
NULL_STRINGS = ("", "null")

# -- character-reference repair --------------------------------------------------------------------

# A numeric character reference. Longer digit runs are left to expat to judge.
_REFERENCE = re.compile(rb"&#(?:x([0-9A-Fa-f]{1,16})|([0-9]{1,20}));")
# Bytes at the end of a read that may belong to a reference completed by the next read: from the
# last "&" in this window, and a whole reference just before it (the high half of a split pair).
_CARRY_WINDOW = 64
_REFERENCE_AT_END = re.compile(rb"&#(?:x([0-9A-Fa-f]{1,16})|([0-9]{1,20}));\Z")
_REPLACEMENT = 0xFFFD


def _is_xml_char(code: int) -> bool:
    """XML 1.0 ``Char``: what a character reference may name."""
    return (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF)


def _is_high(code: int) -> bool:
    return 0xD800 <= code <= 0xDBFF


def _is_low(code: int) -> bool:
    return 0xDC00 <= code <= 0xDFFF


def _code_of(match: re.Match[bytes]) -> int:
    hexa, decimal = match.groups()
    return int(hexa, 16) if hexa is not None else int(decimal)


def _reference_to(code: int, width: int) -> bytes:
    """``&#<code>;`` zero-padded to ``width`` bytes when it fits, so offsets do not move."""
    digits = str(code)
    return b"&#" + digits.zfill(max(len(digits), width - 3)).encode("ascii") + b";"


@dataclass(frozen=True)
class Repair:
    """One reference rewritten before parsing, at ``offset`` in the stream expat reads."""

    offset: int
    line: int
    original: str      # the reference(s) as written
    joined: bool       # a surrogate pair made one character (else: replaced by U+FFFD)
    growth: int        # bytes the rewrite added (0 unless the original was shorter than 8 bytes)


class ReferenceRepairer:
    """Streaming filter of the bytes expat reads: rewrites the references XML forbids.

    ``feed`` returns the bytes that are safe to parse so far, holding back a short tail that may
    be the start of a reference (or the high half of a surrogate pair) that the next read
    completes; ``feed(b"", final=True)`` flushes it. ``repairs`` lists what was rewritten, in
    order, and is consumed by the reader.
    """

    def __init__(self) -> None:
        self.repairs: deque[Repair] = deque()
        self._held = b""
        self._offset = 0       # bytes returned so far (the offset of the next returned byte)
        self._line = 1

    def feed(self, data: bytes, final: bool = False) -> bytes:
        buffer = self._held + data
        cut = len(buffer) if final else self._safe_end(buffer)
        self._held = buffer[cut:]
        return self._rewrite(buffer[:cut])

    @staticmethod
    def _safe_end(buffer: bytes) -> int:
        """Where to cut a read: before its last "&" (it may start a reference the next read
        completes), and before a high surrogate's reference just in front of that "&" (its low
        half may follow)."""
        amp = buffer.rfind(b"&", max(0, len(buffer) - _CARRY_WINDOW))
        if amp < 0:
            return len(buffer)
        before = _REFERENCE_AT_END.search(buffer, max(0, amp - _CARRY_WINDOW), amp)
        if before is not None and _is_high(_code_of(before)):
            return before.start()
        return amp

    def _rewrite(self, work: bytes) -> bytes:
        if b"&#" not in work:
            return self._emit(work, work)
        forbidden = [m for m in _REFERENCE.finditer(work) if not _is_xml_char(_code_of(m))]
        if not forbidden:
            return self._emit(work, work)
        pieces: list[bytes] = []
        position = 0
        written = 0            # bytes of output so far
        line = self._line      # the line at ``position``
        index = 0
        while index < len(forbidden):
            match = forbidden[index]
            code, end = _code_of(match), match.end()
            following = forbidden[index + 1] if index + 1 < len(forbidden) else None
            joined = (_is_high(code) and following is not None and following.start() == end
                      and _is_low(_code_of(following)))
            if joined:
                assert following is not None
                code = 0x10000 + ((code - 0xD800) << 10) + (_code_of(following) - 0xDC00)
                end = following.end()
                index += 1
            else:
                code = _REPLACEMENT
            index += 1
            line += work.count(b"\n", position, match.start())
            unchanged = work[position:match.start()]
            pieces.append(unchanged)
            written += len(unchanged)
            original = work[match.start():end]
            replacement = _reference_to(code, len(original))
            self.repairs.append(Repair(self._offset + written, line,
                                       original.decode("ascii"), joined,
                                       len(replacement) - len(original)))
            pieces.append(replacement)
            written += len(replacement)
            position = end
        pieces.append(work[position:])
        return self._emit(work, b"".join(pieces))

    def _emit(self, work: bytes, output: bytes) -> bytes:
        self._offset += len(output)
        self._line += work.count(b"\n")
        return output


# -- streaming the records -------------------------------------------------------------------------

@dataclass
class XmlRecord:
    """A child element of the root, as read: its attributes and its descendants' (in order)."""

    tag: str
    index: int                       # 1-based among the root's children of this tag
    attrs: dict[str, str]
    start: int                       # byte offset of its start tag, in the stream expat read
    children: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    children_dropped: int = 0
    repairs: list[Repair] = field(default_factory=list)

    @property
    def locator(self) -> str:
        return f"xml:{self.tag}[{self.index}]"


@dataclass(frozen=True)
class Fault:
    """Where the XML stopped being readable, and why; the reader stops there."""

    locator: str
    reason: str


class _Forbidden(Exception):
    """Raised from an expat handler to stop at a construct the reader refuses."""


class _Collector:
    """expat handlers that collect the root's children as :class:`XmlRecord` objects."""

    def __init__(self, parser: expat.XMLParserType, repairs: deque[Repair]):
        self.parser = parser
        self.repairs = repairs
        self.depth = 0
        self.root: tuple[str, dict[str, str]] | None = None
        self.current: XmlRecord | None = None
        self.seen: Counter[str] = Counter()
        self.ready: list[XmlRecord] = []
        self.outside: list[Repair] = []   # repairs not inside any record
        self.growth: list[Repair] = []    # length-changing repairs on the last line with any
        self.last_end = 0                 # byte offset where the last record ended
        self.growth_dropped = False
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.StartDoctypeDeclHandler = self.doctype

    def doctype(self, *args: object) -> None:
        raise _Forbidden("the file has a document type declaration, which SMS Backup & Restore "
                         "never writes (its entities could expand without bound): not read")

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth == 1:
            self.root = (name, attrs)
        elif self.depth == 2:
            self.seen[name] += 1
            self.current = XmlRecord(name, self.seen[name], attrs, self.parser.CurrentByteIndex)
        elif self.current is not None:
            if len(self.current.children) < MAX_CHILD_ELEMENTS:
                self.current.children.append((name, attrs))
            else:
                self.current.children_dropped += 1

    def end(self, name: str) -> None:
        if self.depth == 2 and self.current is not None:
            self.current.repairs = self.take_repairs(self.parser.CurrentByteIndex,
                                                     self.current.start)
            self.ready.append(self.current)
            self.current = None
            self.last_end = self.parser.CurrentByteIndex
        self.depth -= 1

    def take_repairs(self, before: int, record_start: int | None = None) -> list[Repair]:
        """The repairs made before byte ``before``, removed from the queue; those before
        ``record_start`` are outside any record."""
        taken = []
        while self.repairs and (before < 0 or self.repairs[0].offset < before):
            repair = self.repairs.popleft()
            if repair.growth:
                self.keep_growth(repair)
            if record_start is not None and repair.offset >= record_start:
                taken.append(repair)
            else:
                self.outside.append(repair)
        return taken

    def keep_growth(self, repair: Repair) -> None:
        """Keep a length-changing repair for error columns. A later error is on this repair's
        line or a later one (it is past every record taken so far), so earlier lines go."""
        if self.growth and self.growth[-1].line != repair.line:
            self.growth.clear()
            self.growth_dropped = False
        if len(self.growth) < MAX_GROWTH_KEPT:
            self.growth.append(repair)
        else:
            self.growth_dropped = True

    def column_in_evidence(self, line: int, column: int, byte_index: int) -> tuple[int, bool]:
        """expat's column of an error, less what repairs earlier on that line added; and
        whether it is exact."""
        added = sum(r.growth for r in chain(self.growth, self.repairs)
                    if r.growth and r.line == line and r.offset < byte_index)
        exact = not (self.growth_dropped and self.growth and self.growth[-1].line == line)
        return column - added, exact


@dataclass
class Reading:
    """What the reader learned about the whole file, filled in as it goes."""

    root_tag: str | None = None
    root_attrs: dict[str, str] = field(default_factory=dict)
    records_found: int = 0
    repairs_outside: list[Repair] = field(default_factory=list)
    repairs_total: Counter[str] = field(default_factory=Counter)


def read_records(handle: BinaryIO, reading: Reading) -> Iterator[XmlRecord | Fault]:
    """The root's children, one at a time, then a :class:`Fault` if the XML breaks."""
    repairer = ReferenceRepairer()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    collector = _Collector(parser, repairer.repairs)
    recent = _RecentBytes()
    fault: Fault | None = None
    try:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            final = not chunk
            parsed = repairer.feed(chunk, final)
            recent.add(parsed)
            parser.Parse(parsed, final)
            yield from _drain(collector, reading)
            if final:
                break
    except expat.ExpatError as error:
        fault = _syntax_fault(parser, collector, error, recent)
    except _Forbidden as error:
        fault = Fault(collector.current.locator if collector.current else "xml:file", str(error))
    except OSError as error:
        where = collector.current.locator if collector.current else "xml:file"
        fault = Fault(where, f"the file could not be read further: {type(error).__name__}: "
                             f"{error}")
    yield from _drain(collector, reading)   # records that ended before the fault
    collector.take_repairs(-1)
    reading.repairs_outside = collector.outside
    if fault is not None:
        yield fault


def _drain(collector: _Collector, reading: Reading) -> Iterator[XmlRecord]:
    if collector.root is not None:
        reading.root_tag, reading.root_attrs = collector.root
    reading.records_found = sum(collector.seen.values())
    ready, collector.ready = collector.ready, []
    for record in ready:
        for repair in record.repairs:
            reading.repairs_total["joined" if repair.joined else "replaced"] += 1
        yield record


class _RecentBytes:
    """The last two pieces fed to expat, to look at the bytes before an error."""

    def __init__(self) -> None:
        self.pieces: deque[bytes] = deque(maxlen=2)
        self.end = 0   # offset just after the last piece

    def add(self, piece: bytes) -> None:
        self.pieces.append(piece)
        self.end += len(piece)

    def between(self, start: int, stop: int) -> tuple[bytes, int]:
        """The bytes from ``start`` (or as far back as kept) to ``stop``, and their offset."""
        held = b"".join(self.pieces)
        base = self.end - len(held)
        begin = max(start, base)
        return held[begin - base:max(begin, stop) - base], begin


_START_TAG = re.compile(rb"<([A-Za-z_][\w.-]*)")


def _broken_start_tag(collector: _Collector, recent: _RecentBytes,
                      error_at: int) -> tuple[str, int] | None:
    """The name and line of a child of the root whose start tag began after the last record
    and before the error but never parsed (expat reports an element only once its start tag
    is complete)."""
    if collector.depth != 1 or error_at < 0:
        return None
    # expat reports an unfinished tag at its "<": look a little past the error for the name.
    data, base = recent.between(collector.last_end, error_at + 256)
    last = None
    for match in _START_TAG.finditer(data):
        if base + match.start() > error_at:
            break
        last = match
    if last is None:
        return None
    return last.group(1).decode("ascii"), data.count(b"\n", last.start(), error_at - base)


def _syntax_fault(parser: expat.XMLParserType, collector: _Collector, error: expat.ExpatError,
                  recent: _RecentBytes) -> Fault:
    line = parser.ErrorLineNumber
    column, exact = collector.column_in_evidence(line, parser.ErrorColumnNumber,
                                                 parser.ErrorByteIndex)
    where = f"line {line}, column {column}" + ("" if exact else " (column approximate)")
    message = expat.errors.messages.get(error.code, str(error))
    if collector.current is not None:
        return Fault(collector.current.locator,
                     f"the XML breaks inside this record at {where} ({message}): the record "
                     f"and anything after it in the file were not read")
    broken = _broken_start_tag(collector, recent, parser.ErrorByteIndex)
    if broken is not None:
        tag, lines_before_error = broken
        collector.seen[tag] += 1
        return Fault(f"xml:{tag}[{collector.seen[tag]}]",
                     f"the start tag of this <{tag}> (line {line - lines_before_error}) is not "
                     f"well-formed: the XML breaks at {where} ({message}); the record and "
                     f"anything after it in the file were not read")
    if collector.root is None:
        return Fault(f"xml:line={line},column={column}",
                     f"the file is not well-formed XML at {where} ({message}): no record read")
    return Fault(f"xml:line={line},column={column}",
                 f"the XML breaks at {where} ({message}): anything after it in the file was "
                 f"not read")


# -- attribute helpers -----------------------------------------------------------------------------

def present(attrs: dict[str, str], name: str) -> str | None:
    """An attribute's value, or None when missing, empty, or the app's literal ``"null"``."""
    value = attrs.get(name)
    return None if value is None or value.strip() in NULL_STRINGS else value


def kept(attrs: dict[str, str], *names: str) -> dict[str, str]:
    """The named attributes that are present, verbatim and bounded (for ``details``)."""
    found = {}
    for name in names:
        value = present(attrs, name)
        if value is not None:
            found[name] = bounded(value)[0]
    return found


def iso_utc(time: RawTime) -> str | None:
    return None if time.value is None else format_utc(time.value, time.precision)


def repair_notes(repairs: list[Repair]) -> list[str]:
    joined = [r for r in repairs if r.joined]
    replaced = [r for r in repairs if not r.joined]
    notes = []
    if joined:
        notes.append(f"{len(joined)} character(s) written as a surrogate-pair character "
                     f"reference (such as {joined[0].original}), which XML forbids, were read "
                     "as the one character the pair encodes")
    if replaced:
        examples = ", ".join(r.original for r in replaced[:MAX_NOTED_REFERENCES])
        notes.append(f"{len(replaced)} character reference(s) XML forbids ({examples}; a lone "
                     "surrogate or a control character) were read as U+FFFD: the character "
                     "they named is lost")
    return notes


def text_with_flag(value: str | None, limit: int, flags: list[str]) -> str | None:
    text, cut = bounded(value, limit)
    if cut and "truncated" not in flags:
        flags.append("truncated")
    return text


def _source_notes(reading: Reading, records_read: int) -> Iterator[SourceNote]:
    attrs = reading.root_attrs
    described = kept(attrs, "backup_set", "type")
    backup_date = present(attrs, "backup_date")
    if backup_date is not None:
        when = iso_utc(epoch_time(backup_date, UNIX_EPOCH, "ms", "backup_date"))
        described["backup_date"] = f"{backup_date} ({when})" if when else backup_date
    if described:
        yield SourceNote("SMS Backup & Restore backup: " + ", ".join(
            f"{name} {value}" for name, value in sorted(described.items())))
    count = attrs.get("count")
    if count is not None:
        try:
            declared: int | None = int(count.strip())
        except ValueError:
            declared = None
        if declared is None:
            yield SourceNote(f"the root element's count={count!r} is not a number")
        elif declared != reading.records_found:
            cut = reading.records_found - records_read
            yield SourceNote(
                f"the root element says count=\"{declared}\" but the file holds "
                f"{reading.records_found} record element(s)"
                + (f" ({cut} cut off by the fault)" if cut else "")
                + ": records may be missing (a truncated or edited backup)")
    total = reading.repairs_total
    outside = len(reading.repairs_outside)
    if total or outside:
        yield SourceNote(
            f"character references XML forbids were rewritten before parsing (offsets kept): "
            f"{total['joined']} surrogate pair(s) joined into one character, {total['replaced']} "
            f"reference(s) replaced by U+FFFD inside records"
            + (f", {outside} outside any record" if outside else ""))


# -- the parsers -----------------------------------------------------------------------------------

_HEAD = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<\?[^>]*\?>|<!--.*?-->)\s*)*"
    rb"<(?P<root>[A-Za-z_][\w.-]*)[\s>/]", re.DOTALL)


def root_of(head: bytes) -> str | None:
    """The name of the root element, when the head starts like an XML document."""
    match = _HEAD.match(head)
    return match.group("root").decode("ascii") if match else None


class _SmsBackupParser(Parser):
    """What the messages and call-log parsers share: recognition by root element, streaming,
    faults and source notes. Subclasses say which root and which record elements they read."""

    ROOT: ClassVar[str] = ""
    RECORDS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        return bool(cls.ROOT) and root_of(sample.head) == cls.ROOT

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        try:
            handle = source.path.open("rb")
        except OSError as error:
            yield Reject("xml:file", f"could not be read: {type(error).__name__}: {error}")
            return
        reading = Reading()
        records_read = 0
        with handle:
            for item in read_records(handle, reading):
                if isinstance(item, Fault):
                    yield Reject(item.locator, item.reason)
                    continue
                records_read += 1
                yield self._record(item)
        if reading.root_tag is not None and reading.root_tag != self.ROOT:
            yield SourceNote(f"the root element is <{reading.root_tag}>, not <{self.ROOT}>")
        yield from _source_notes(reading, records_read)

    def _record(self, record: XmlRecord) -> Event | Reject:
        if record.tag not in self.RECORDS:
            return Reject(record.locator, f"<{record.tag}> is not an element of this backup "
                                          f"format ({', '.join(sorted(self.RECORDS))} are): "
                                          "not read")
        try:
            return self.convert(record)
        except (ValueError, OverflowError) as error:   # a value out of any sane range
            return Reject(record.locator, f"could not be read: {type(error).__name__}: {error}")

    def convert(self, record: XmlRecord) -> Event | Reject:
        raise NotImplementedError


def _time_or_reject(record: XmlRecord, unit: str, source: str) -> RawTime | Reject:
    raw = record.attrs.get("date")
    time = epoch_time(raw, UNIX_EPOCH, unit, source)
    if time.value is None:
        shown = "missing" if raw is None else repr(raw)
        return Reject(record.locator, f"{record.tag}.date is {shown}: not a Unix time in "
                                      f"{'milliseconds' if unit == 'ms' else 'seconds'}, so the "
                                      f"{record.tag} has no time")
    return time


# -- messages --------------------------------------------------------------------------------------

ADDR_ROLES = {"137": "from", "151": "to", "130": "cc", "129": "bcc"}
MMS_TYPES = {"128": "send-req", "130": "notification-ind", "132": "retrieve-conf"}
OWNER_PLACEHOLDER = "insert-address-token"   # Android's "from" of an MMS the owner sent
_RCS_GROUP = re.compile(r"group_\d+@|@rcs\.", re.IGNORECASE)
_SMIL = "application/smil"


def mms_box(code: object) -> Box:
    """``Mms.msg_box``: 1 inbox, 2 sent, 3 drafts, 4 outbox, 5 failed — Android's SMS box codes
    for the same boxes (there is no MMS box 6)."""
    if str(code).strip() in ("1", "2", "3", "4", "5"):
        return sms_box(code)
    return Box("unknown", (), f"msg_box {code}")


def _addresses(value: str | None) -> list[str]:
    """The parties of an ``address`` attribute: ``a~b~c`` lists several."""
    if value is None:
        return []
    return [part.strip() for part in value.split("~") if part.strip() not in NULL_STRINGS]


class SmsBackupMessagesParser(_SmsBackupParser):
    NAME = "smsbackup-messages"
    DATA_FORMAT = "SMS Backup & Restore messages XML (sms/mms)"
    VERSION = "1"
    ROOT = "smses"
    RECORDS = frozenset({"sms", "mms"})

    def convert(self, record: XmlRecord) -> Event | Reject:
        return self._sms(record) if record.tag == "sms" else self._mms(record)

    # SMS ----------------------------------------------------------------------------------------

    def _sms(self, record: XmlRecord) -> Event | Reject:
        attrs = record.attrs
        time = _time_or_reject(record, "ms", "sms.date (Unix ms)")
        if isinstance(time, Reject):
            return time
        box = sms_box(attrs.get("type"))
        flags = list(box.flags)
        notes = repair_notes(record.repairs)
        details: dict[str, object] = {"box": box.name}
        details.update(kept(attrs, "type", "address", "service_center", "sub_id", "read",
                            "status", "locked", "_id", "readable_date", "contact_name"))
        _date_sent(attrs, "ms", details, source="sms.date_sent (Unix ms)")
        event = Event(kind="sms", platform="phone", time=time, locator=record.locator,
                      direction=box.direction, flags=flags, details=details, notes=notes)
        self._sms_party(event, _addresses(present(attrs, "address")))
        body = attrs.get("body")
        if body == "null":
            notes.append('the body is the literal "null" the app writes for a missing value: '
                         "read as no text")
        elif body:
            event.text = text_with_flag(body, MAX_TEXT_CHARS, flags)
        event.subject = text_with_flag(present(attrs, "subject"), MAX_FIELD_CHARS, flags)
        return event

    @staticmethod
    def _sms_party(event: Event, parties: list[str]) -> None:
        owner_side = owner_side_of(event.direction)
        if owner_side is None:
            event.notes.append(f"the message type ({event.details.get('box')}) does not say "
                               "whether it was sent or received: its address is kept in "
                               "details only")
            return
        event.owner_side = owner_side
        identifiers = [phone_identifier(p) for p in parties]
        if event.direction == "outgoing":
            event.recipients = identifiers
        elif len(identifiers) <= 1:
            # No address at all: a sender the phone did not know, counted and not attributed.
            event.sender = identifiers[0] if identifiers else phone_identifier(None)
        else:
            event.notes.append("a received message whose address lists several numbers: which "
                               "one sent it is not recorded; they are kept in details only")

    # MMS ----------------------------------------------------------------------------------------

    def _mms(self, record: XmlRecord) -> Event | Reject:
        attrs = record.attrs
        unit = unix_seconds_or_ms(attrs.get("date"))
        time = _time_or_reject(record, unit, f"mms.date (Unix {unit})")
        if isinstance(time, Reject):
            return time
        box = mms_box(attrs.get("msg_box"))
        flags = list(box.flags)
        notes = repair_notes(record.repairs)
        if unit == "s":
            notes.append("mms.date is small enough to be seconds, not the usual milliseconds: "
                         "read as seconds")
        details: dict[str, object] = {"box": box.name}
        details.update(kept(attrs, "msg_box", "address", "m_type", "creator", "sub_id", "m_id",
                            "read", "locked", "_id", "readable_date", "contact_name"))
        if present(attrs, "m_type") in MMS_TYPES:
            details["m_type_name"] = MMS_TYPES[attrs["m_type"].strip()]
        if present(attrs, "m_type") == "130":
            notes.append("m_type 130 (notification-ind): the phone was told of this MMS but had "
                         "not downloaded it; its content is not in the backup")
        sent = attrs.get("date_sent")
        _date_sent(attrs, unix_seconds_or_ms(sent), details,
                   source=f"mms.date_sent (Unix {unix_seconds_or_ms(sent)}, by magnitude)")
        event = Event(kind="mms", platform="phone", time=time, locator=record.locator,
                      direction=box.direction, flags=flags, details=details, notes=notes)
        event.subject = text_with_flag(present(attrs, "sub"), MAX_FIELD_CHARS, flags)
        self._mms_parts(event, record)
        self._mms_parties(event, record)
        if record.children_dropped:
            notes.append(f"the MMS has more than {MAX_CHILD_ELEMENTS} parts and addresses: "
                         f"{record.children_dropped} were not read")
        return event

    def _mms_parts(self, event: Event, record: XmlRecord) -> None:
        texts: list[str] = []
        missing: list[str] = []
        declared: list[str] = []
        parts = [attrs for tag, attrs in record.children if tag == "part"]
        for number, attrs in enumerate(parts, start=1):
            content_type = (present(attrs, "ct") or "").split(";")[0].strip().lower()
            if content_type == _SMIL:
                continue   # layout of the other parts on screen: no content of its own
            name = present(attrs, "name") or present(attrs, "fn") or present(attrs, "cl")
            label = f"part {number} ({name or 'unnamed'}, {content_type or 'no type'})"
            data = present(attrs, "data")
            text = present(attrs, "text")
            if content_type == "text/plain" and data is None:
                if text is not None:
                    texts.append(text)
                continue
            if data is None:
                if text is not None:
                    event.attachments.append(hashed_attachment(name, text.encode("utf-8")))
                    declared.append(content_type)
                    event.notes.append(f"{label} has no data; its text attribute was hashed as "
                                       "its content")
                else:
                    missing.append(label)
                continue
            content = _base64(data)
            if content is None:
                event.notes.append(f"{label}: its data is not valid base64, so it could not be "
                                   "hashed")
            elif content_type == "text/plain":
                texts.append(content.decode("utf-8", "replace"))
                event.notes.append(f"{label}: its text was read from base64 data as UTF-8")
            else:
                event.attachments.append(hashed_attachment(name, content))
                declared.append(content_type)
        if texts:
            event.text = text_with_flag("\n".join(texts), MAX_TEXT_CHARS, event.flags)
        if declared:
            event.details["attachment_types_declared"] = declared
        if missing:
            event.details["parts_not_in_backup"] = missing

    def _mms_parties(self, event: Event, record: XmlRecord) -> None:
        addrs = [(present(a, "address"), ADDR_ROLES.get((a.get("type") or "").strip()))
                 for tag, a in record.children if tag == "addr"]
        addrs = [(address, role) for address, role in addrs if address is not None]
        if addrs:
            event.details["addrs"] = [f"{role or 'type?'} {address}" for address, role in addrs]
            senders = [a for a, role in addrs if role == "from" and a != OWNER_PLACEHOLDER]
            sender = senders[0] if senders else None
            others: list[str] = []
            for address, role in addrs:
                if role in ("to", "cc", "bcc") and address not in others and address != sender \
                        and address != OWNER_PLACEHOLDER:
                    others.append(address)
            event.sender = phone_identifier(sender) if sender else None
            event.recipients = [phone_identifier(a) for a in others]
            unknown = [a for a, role in addrs if role is None]
            if unknown:
                event.notes.append(f"{len(unknown)} address(es) of an unknown addr type are kept "
                                   "in details only")
        else:
            self._mms_parties_from_address(event, present(record.attrs, "address"))
        side = owner_side_of(event.direction)
        if side == "sender" and event.sender is None:
            event.owner_side = side
        elif side == "recipients" and not event.recipients:
            event.owner_side = side

    @staticmethod
    def _mms_parties_from_address(event: Event, address: str | None) -> None:
        """No ``<addrs>``: the ``address`` attribute names the other party (or parties)."""
        parties = _addresses(address)
        if address is not None and _RCS_GROUP.search(address):
            event.notes.append("the address is an RCS group id, not a party; the MMS lists no "
                               "<addrs>, so its sender and recipients are not known")
            return
        if event.direction == "outgoing":
            event.recipients = [phone_identifier(p) for p in parties]
        elif event.direction == "incoming" and len(parties) == 1:
            event.sender = phone_identifier(parties[0])
        elif parties:
            event.notes.append("the MMS lists no <addrs> and its address does not say who sent "
                               "it: the address is kept in details only")


def _date_sent(attrs: dict[str, str], unit: str, details: dict[str, object], source: str) -> None:
    """``date_sent`` into details, with its reading in UTC; 0 means not recorded."""
    raw = present(attrs, "date_sent")
    if raw is None or raw.strip() == "0":
        return
    details["date_sent"] = raw
    when = iso_utc(epoch_time(raw, UNIX_EPOCH, unit, source))
    if when:
        details["date_sent_unit"] = unit
        details["date_sent_utc"] = when


def _base64(data: str) -> bytes | None:
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


# -- calls -----------------------------------------------------------------------------------------

class SmsBackupCallsParser(_SmsBackupParser):
    NAME = "smsbackup-calls"
    DATA_FORMAT = "SMS Backup & Restore call log XML"
    VERSION = "1"
    ROOT = "calls"
    RECORDS = frozenset({"call"})

    def convert(self, record: XmlRecord) -> Event | Reject:
        attrs = record.attrs
        time = _time_or_reject(record, "ms", "call.date (Unix ms)")
        if isinstance(time, Reject):
            return time
        notes = repair_notes(record.repairs)
        duration = seconds(attrs.get("duration"))
        if duration is None and present(attrs, "duration") is not None:
            notes.append(f"the duration {attrs['duration']!r} is not a number of seconds")
        kind, derived = call_type(attrs.get("type"), duration)
        notes.extend(derived)
        details: dict[str, object] = kept(attrs, "type", "presentation", "subscription_id",
                                          "readable_date", "contact_name", "_id")
        number = attrs.get("number")
        party = phone_identifier(number, attrs.get("presentation"))
        if number is not None and party != f"tel:{number.strip()}":
            details["number"] = number
        event = Event(kind="call", platform="phone", time=time, locator=record.locator,
                      duration_s=duration, details=details, notes=notes)
        if kind is None:
            notes.append(f"the call type {attrs.get('type')!r} is not a known Android call "
                         "type: direction and status unknown; the number is kept in details")
            details["number"] = number or ""
            return event
        details["type_name"] = kind.name
        event.direction, event.call_status = kind.direction, kind.status
        event.owner_side = owner_side_of(kind.direction)
        if kind.direction == "incoming":
            event.sender = party
        else:
            event.recipients = [party]
        return event


__all__ = ["SmsBackupMessagesParser", "SmsBackupCallsParser", "ReferenceRepairer",
           "read_records", "root_of"]
