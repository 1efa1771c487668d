"""Lists of the apps installed on an Android phone, for spotting stalkerware: the output of
``adb shell pm list packages``, the package manager's own ``/data/system/packages.xml`` (text
XML, or the binary "ABX" form Android 12 and later write), and the text of ``adb shell dumpsys
package``. Each installed package becomes one ``app`` event (platform ``device``) whose details
carry what the indicator matcher (:mod:`courseline.timeline.indicators`) compares: the package name and,
where the format holds them, the digests of its signing certificates.

How a person obtains them: with USB debugging on, ``adb shell pm list packages -f -i -U``
(``-u`` adds packages uninstalled with their data kept) or ``adb shell dumpsys package >
dumpsys_package.txt``, no root needed; ``packages.xml`` only from a rooted phone or a
full-file-system extraction (``/data/system/packages.xml``).

Three parsers, one module, because they make the same events:

* ``pm list packages`` (:class:`PmListPackagesParser`): one line per package,
  ``package:[<sourceDir>=]<name>[ versionCode:<n>][  installer=<name>][ uid:<uid>]`` (options
  ``-f``, ``--show-versioncode``, ``-i``, ``-U``, printed in that order by AOSP
  ``PackageManagerShellCommand.runListPackages``). The source dir may itself hold ``=`` (Android
  11+ writes ``/data/app/~~<base64>==/<name>-<base64>==/base.apk``): the name is what follows
  the last ``=``. The output holds no time at all: each event's time has no value and says so,
  and the core keeps or rejects it by its rule for untimed records. Whether ``-u`` was given
  (so that uninstalled packages are listed too) cannot be told from the output. A line that is
  not of this form is a reject ``line:N``.
* ``packages.xml`` (:class:`PackagesXmlParser`): root ``<packages>``; each ``<package name
  codePath ft it ut version userId|sharedUserId installer installInitiator installOriginator
  updateOwner …>`` becomes an event located ``xml:/packages/package[N]`` (N 1-based among the
  root's ``<package>`` children). Times (AOSP ``Settings.writePackageLPr``): ``it`` the first
  install time, ``ut`` the last update time, ``ft`` the last-modified time of the package's
  code on disk, each milliseconds since 1970 UTC in hexadecimal, written by the phone's clock
  (basis ``utc``, precision ``ms``). Android 13 and later no longer write ``it`` here (the first
  install time moved to each user's ``package-restrictions.xml``, attribute
  ``first-install-time``, which is not read here): such a package's event has no time, the
  last update time stays in details. Signing certificates: ``<sigs count schemeVersion><cert
  index key/>…<pastSigs><cert index key flags/></pastSigs></sigs>`` where ``key`` is the
  certificate's DER bytes in hexadecimal, written once per file the first time a certificate
  appears (in ``<package>``, ``<shared-user>`` or ``<install-initiator-sigs>``) and referred to
  later by ``index`` alone (AOSP ``PackageSignatures.writeXml``); the SHA-1 and SHA-256 of each
  signing (and past signing) certificate are in details, the digests stalkerware indicator lists
  name. ``<shared-user>``, ``<updated-package>`` (the factory copy of an updated system app),
  ``<version>`` (the Android SDK and build fingerprint, said once as a source note) and the
  permission tables are not events.
  Text XML is streamed with the hardened expat reader of :mod:`.smsbackup` (no document type
  declaration is accepted, so no entity can expand; a file cut short gives what ended before the
  cut and a reject naming where). ABX (first bytes ``ABX\\0``), AOSP ``BinaryXmlSerializer``:
  after the 4-byte magic, a stream of tokens, each one byte whose low 4 bits are an XmlPullParser
  event (0 START_DOCUMENT, 1 END_DOCUMENT, 2 START_TAG, 3 END_TAG, 4 TEXT, 5 CDSECT, 6 ENTITY_REF,
  7 IGNORABLE_WHITESPACE, 8 PROCESSING_INSTRUCTION, 9 COMMENT, 10 DOCDECL, 15 ATTRIBUTE of the
  last start tag) and whose high 4 bits a type (1 null, 2 string, 3 interned string, 4 bytes
  shown as hex, 5 bytes shown as base64, 6 int, 7 int shown as hex, 8 long, 9 long as hex,
  10 float, 11 double, 12 true, 13 false); numbers big-endian; a string is an unsigned 16-bit
  length and that many bytes of Java's modified UTF-8; an interned string is a 16-bit reference
  into the strings read so far, 0xFFFF meaning a new string follows (``FastDataOutput``
  ``writeInternedUTF``); tag names and attribute names are interned, an end tag repeats its name.
  Values are rendered as ``BinaryXmlPullParser.getAttributeValue`` renders them, so the same
  code reads both forms. An ABX file is read whole (packages.xml is a few megabytes; larger than
  :data:`MAX_ABX_BYTES` is refused with a reject). Damage gives the elements read before it and a
  reject that says how to convert the file on the phone instead (``abx2xml
  /data/system/packages.xml /sdcard/packages.xml``, Android 12+).
* ``dumpsys package`` (:class:`DumpsysPackageParser`): the ``Packages:`` section's blocks
  ``  Package [<name>] (<hash>):`` followed by ``    key=value`` lines (AOSP
  ``Settings.dumpPackageLPr``): ``userId=`` (``appId=`` from Android 13), ``codePath=``,
  ``versionCode=<n> minSdk=… targetSdk=…``, ``versionName=``, ``timeStamp=``,
  ``firstInstallTime=`` (until Android 12; from Android 13 it is printed per user, under
  ``    User <n>: … installed=true …``), ``lastUpdateTime=``, ``installerPackageName=``,
  ``initiatingPackageName=``, ``originatingPackageName=``, ``signatures=``, ``flags=``. Times are
  written ``yyyy-MM-dd HH:mm:ss`` in the phone's own time zone (``SimpleDateFormat`` with the
  default zone): basis ``local``, precision ``s``; the core reads them in the source's zone.
  The event's time is the package's first install time; with only per-user times, user 0's
  (else the lowest user the app is installed for), and the event says whose. A time of 1970
  (the zero of the clock) is "not recorded". ``signatures=PackageSignatures{… signatures:[…]}``
  lists Java hash codes of the certificates, not digests: it is kept verbatim and cannot be
  matched to certificate indicators (the event says so). Blocks under ``Hidden system
  packages:`` (factory copies of updated system apps) are counted in a source note, not made
  events. A block header that cannot be read, or a stray line in the ``Packages:`` section, is a
  reject ``line:N``; events are located at their header's line.

Text outputs are read as UTF-8, or by their byte-order mark (Windows PowerShell redirection
writes UTF-16); ``\\r\\n`` and the ``\\r\\r\\n`` of old ``adb shell`` are line ends.

Sources: AOSP frameworks/base (aosp-mirror/platform_frameworks_base, read with the code search
tool): ``core/java/com/android/internal/util/BinaryXmlSerializer.java``,
``BinaryXmlPullParser.java``, ``FastDataOutput.java`` / ``FastDataInput.java`` (the ABX format);
``services/core/java/com/android/server/pm/Settings.java`` (``writePackageLPr``: ``ft``/``ut``
as LongHex and no ``it`` in current releases, the comment "we migrated from per package
firstInstallTime to per user-state"; ``dumpPackageLPr``; older releases' ``writePackageLPr``
with ``it`` as ``Long.toHexString(firstInstallTime)``), ``PackageSignatures.java``
(``<sigs>``/``<cert index key>``) and ``PackageManagerShellCommand.java``
(``runListPackages``). A real ``dumpsys package`` block of an Android 12 phone was seen in a
public post (it matches the fields above); the ``User 0:`` parsing follows mvt-style parsers
seen in public code.

Checked on synthetic files only (tests/parsers/test_android_packages.py): no real packages.xml,
ABX file or pm list output was available. The ABX reader was checked against files written by
the test's own encoder of the format as the AOSP sources above describe it, not against a file a
phone wrote.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from courseline.collectors.identify import Sample, bom_codec
from courseline.parsers import Parser, SourceFile
from courseline.parsers._phone import UNIX_EPOCH, epoch_time
from courseline.parsers._text import head_text
from courseline.parsers.smsbackup import (
    Fault,
    Reading,
    XmlRecord,
    read_records,
    repair_notes,
    root_of,
)
from courseline.timeline.event import (
    Event,
    RawTime,
    Reject,
    SourceNote,
    bounded,
    clean_text,
)
from courseline.timeline.indicators import CERTIFICATE_DETAILS, PACKAGE_DETAIL
from courseline.timeline.timeutil import format_utc

PLATFORM = "device"
KIND = "app"


# A Java package name as Android accepts it: dot-separated runs of letters, digits, underscores.
_PACKAGE_NAME = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*\Z")
MAX_NAME_CHARS = 255
MAX_LINE_CHARS = 64 * 1024          # a longer line is no line of these outputs: a reject
MAX_ABX_BYTES = 256 * 1024 * 1024   # an ABX file is read whole; packages.xml is megabytes
MAX_CHILD_ELEMENTS = 10_000         # descendants kept per root child (as smsbackup's reader)
LATEST_MS = 253_402_300_799_999     # 9999-12-31T23:59:59.999Z
NULL_TEXT = "null"                  # how Java prints an absent value

ABX_ADVICE = ("convert it on the phone with abx2xml (Android 12+: abx2xml "
              "/data/system/packages.xml /sdcard/packages.xml) and add the text XML")


# -- what all three forms share --------------------------------------------------------------------

def package_name(value: str | None) -> str | None:
    """The package name, or None when the value is not one."""
    if value is None:
        return None
    name = value.strip()
    if not name or len(name) > MAX_NAME_CHARS or not _PACKAGE_NAME.match(name):
        return None
    return name


def shown(value: str | None, limit: int = 200) -> str:
    """A value of the source quoted in a reason or note: bounded, printable."""
    return repr(bounded(clean_text(value or ""), limit)[0])


def present(value: str | None) -> str | None:
    """A value as the source wrote it, or None when empty or Java's ``null``."""
    if value is None:
        return None
    text = value.strip()
    return None if text in ("", NULL_TEXT) else bounded(clean_text(text))[0]


def app_event(locator: str, package: str, time: RawTime, details: dict[str, Any],
              notes: list[str]) -> Event:
    """One installed package. The package name is the subject (what the report shows)."""
    return Event(kind=KIND, platform=PLATFORM, time=time, locator=locator, subject=package,
                 details={PACKAGE_DETAIL: package, **details}, notes=notes)


def untimed(source: str, raw: str = "") -> RawTime:
    """A time the format does not give: no value (the event's notes say why)."""
    return RawTime(raw, None, "utc", "s", source)


# -- text outputs (pm list packages, dumpsys package) ----------------------------------------------

@dataclass(frozen=True)
class Line:
    number: int        # 1-based, counting "\n" line ends as the evidence file has them
    text: str          # without its line end (and without the "\r"s before it)
    too_long: bool = False


def numbered_lines(handle: BinaryIO) -> Iterator[Line]:
    """The lines of a text output, decoded by its byte-order mark (else UTF-8, bad bytes
    replaced), split at "\\n" only so that line numbers are the evidence file's. A line longer
    than :data:`MAX_LINE_CHARS` is given cut, marked ``too_long``, and its rest skipped."""
    codec = bom_codec(handle.read(4)) or "utf-8"
    handle.seek(0)
    text = io.TextIOWrapper(handle, encoding=codec, errors="replace", newline="\n")
    number = 0
    while True:
        piece = text.readline(MAX_LINE_CHARS)
        if not piece:
            return
        number += 1
        too_long = len(piece) >= MAX_LINE_CHARS and not piece.endswith("\n")
        if too_long:
            while (rest := text.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
                pass
        yield Line(number, piece.rstrip("\n").rstrip("\r"), too_long)


def text_head_lines(sample: Sample, count: int) -> list[str]:
    """The first ``count`` non-blank lines of a sample's head, stripped of line ends."""
    text = head_text(sample.head)
    if text is None:
        return []
    lines = [line.strip("\r") for line in text.split("\n")]
    if not text.endswith("\n") and len(sample.head) < sample.size:
        lines = lines[:-1]   # the head cut a line short
    return [line for line in lines if line.strip()][:count]


# -- pm list packages ------------------------------------------------------------------------------

_PM_LINE = re.compile(
    r"package:(?P<body>.*?)"
    r"(?: versionCode:(?P<version>-?\d+))?"
    r"(?:\s+installer=(?P<installer>\S*))?"
    r"(?: uid:(?P<uid>\d+(?:,\d+)*))?\s*\Z")
PM_PREFIX = "package:"
PM_HEAD_LINES = 20
PM_HEAD_SHARE = 0.8   # of the first lines that must be "package:" lines to claim a file
PM_NO_TIME = ("pm list packages records no time: this event has none (dumpsys package or "
              "packages.xml give install times)")


class PmListPackagesParser(Parser):
    NAME = "android-pm-list-packages"
    DATA_FORMAT = "Android installed packages (adb shell pm list packages)"
    VERSION = "1"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        lines = text_head_lines(sample, PM_HEAD_LINES)
        if not lines or not lines[0].lstrip("\ufeff").startswith(PM_PREFIX):
            return False
        listed = sum(1 for line in lines if line.lstrip("\ufeff").startswith(PM_PREFIX))
        return listed >= PM_HEAD_SHARE * len(lines)

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        seen: Counter[str] = Counter()
        try:
            with source.path.open("rb") as handle:
                for line in numbered_lines(handle):
                    if not line.text.strip():
                        continue
                    record = _pm_line(line, seen)
                    if record is not None:
                        yield record
        except OSError as error:
            yield Reject("file", f"could not be read: {type(error).__name__}: {error}")
        yield from _pm_notes(seen)


def _pm_line(line: Line, seen: Counter[str]) -> Event | Reject | None:
    locator = f"line:{line.number}"
    if line.too_long:
        return Reject(locator, f"a line of more than {MAX_LINE_CHARS} characters: not a line "
                               "of pm list packages")
    text = line.text.strip().lstrip("\ufeff")
    match = _PM_LINE.match(text)
    if match is None:
        return Reject(locator, f"not a 'package:' line of pm list packages: {shown(text)}")
    path, has_path, written_name = match["body"].rpartition("=")
    name = package_name(written_name)
    if name is None:
        return Reject(locator, f"{shown(written_name)} is not an Android package name")
    details: dict[str, Any] = {}
    notes = [PM_NO_TIME]
    if has_path:
        seen["-f"] += 1
        details["code_path"] = bounded(clean_text(path.strip()))[0]
    if match["version"] is not None:
        seen["--show-versioncode"] += 1
        details["version_code"] = match["version"]
    if match["installer"] is not None:
        seen["-i"] += 1
        _installer(match["installer"], details, notes)
    if match["uid"] is not None:
        seen["-U"] += 1
        details["uid"] = match["uid"]
    seen["packages"] += 1
    return app_event(locator, name, untimed("pm list packages (no time)"), details, notes)


def _installer(written: str, details: dict[str, Any], notes: list[str]) -> None:
    installer = present(written)
    if installer is None:
        notes.append("installer=null: Android recorded no installing package for it")
    else:
        details["installer"] = installer


def _pm_notes(seen: Counter[str]) -> Iterator[SourceNote]:
    options = [flag for flag in ("-f", "--show-versioncode", "-i", "-U") if seen[flag]]
    yield SourceNote(
        f"pm list packages output: {seen['packages']} package line(s)"
        + (f", with what options {', '.join(options)} print" if options else "")
        + "; whether -u was given (listing uninstalled packages whose data was kept) cannot be "
          "told from the output")


# -- packages.xml: values and times ----------------------------------------------------------------

def hex_ms_time(value: str | None, source: str) -> tuple[RawTime | None, str | None]:
    """A ``packages.xml`` time (hexadecimal milliseconds since 1970 UTC) as a UTC time, or why
    it is not one. Java's ``Long.toHexString`` writes a negative value as 16 hex digits."""
    if value is None:
        return None, f"{source} is absent"
    text = value.strip()
    try:
        number = int(text, 16)
    except ValueError:
        return None, f"{source}={shown(text)} is not hexadecimal"
    if len(text.lstrip("-")) == 16 and number >= 1 << 63:
        number -= 1 << 64   # two's complement, as Long.toHexString writes a negative value
    if number <= 0:
        return None, f"{source}={shown(text)} is not recorded (zero or negative)"
    if number > LATEST_MS:
        return None, f"{source}={shown(text)} is beyond the calendar"
    time = epoch_time(number, UNIX_EPOCH, "ms", f"packages.xml {source} (hex ms since 1970 UTC)")
    if time.value is None:
        return None, f"{source}={shown(text)} is not a usable time"
    return RawTime(text, time.value, "utc", "ms", time.source), None


def iso_of(time: RawTime) -> str:
    assert time.value is not None
    return format_utc(time.value, time.precision)


@dataclass
class Certificates:
    """The certificates a packages.xml defines, by index, in the order the file defines them
    (a ``<cert>`` with a ``key`` defines its index; later ones refer to it by index alone)."""

    by_index: dict[int, bytes | None] = field(default_factory=dict)

    def define(self, attrs: dict[str, str]) -> tuple[bytes | None, str | None]:
        """Read one ``<cert>``: the certificate's bytes, or None and why not."""
        index_text = attrs.get("index")
        try:
            index = int(index_text) if index_text is not None else None
        except ValueError:
            index = None
        key = attrs.get("key")
        if key is not None:
            try:
                der = bytes.fromhex(key.strip())
            except ValueError:
                if index is not None:
                    self.by_index.setdefault(index, None)
                return None, f"a <cert> key is not hexadecimal ({shown(key, 40)})"
            if index is not None:
                self.by_index.setdefault(index, der)
            return der, None
        if index is None:
            return None, f"a <cert> has neither a usable index ({shown(index_text)}) nor a key"
        if index not in self.by_index:
            return None, (f"<cert index={index}> refers to a certificate not defined earlier in "
                          "the file")
        der = self.by_index[index]
        return der, None if der is not None else f"<cert index={index}> is unreadable"


@dataclass
class Signing:
    """A package's signing certificates, as read from its ``<sigs>``."""

    current: list[bytes] = field(default_factory=list)
    past: list[bytes] = field(default_factory=list)
    scheme_version: str | None = None
    notes: list[str] = field(default_factory=list)


# Where a <cert> sits, told from the element before it in the flat list of descendants.
_CERT_ROLES = {"sigs": "current", "pastSigs": "past", "install-initiator-sigs": "initiator"}


def read_signing(record: XmlRecord, certificates: Certificates) -> Signing:
    """The certificates of one root child, registering every ``<cert>`` it defines (in any
    role: the file's index counts them all) and keeping the package's own."""
    signing = Signing()
    role: str | None = None
    for tag, attrs in record.children:
        if tag != "cert":
            role = _CERT_ROLES.get(tag)
            if tag == "sigs" and signing.scheme_version is None:
                signing.scheme_version = present(attrs.get("schemeVersion"))
            continue
        der, problem = certificates.define(attrs)
        if problem is not None and role in ("current", "past"):
            signing.notes.append(problem)
        if der is not None and role == "current":
            signing.current.append(der)
        elif der is not None and role == "past":
            signing.past.append(der)
    if record.children_dropped:
        signing.notes.append(f"{record.children_dropped} descendant element(s) beyond "
                             f"{MAX_CHILD_ELEMENTS} were not read")
    return signing


def digests(certificates: list[bytes], algorithm: str) -> list[str]:
    return [hashlib.new(algorithm, der).hexdigest() for der in certificates]


# -- packages.xml: the elements --------------------------------------------------------------------

# Attributes of <package> kept in details: attribute -> detail name.
PACKAGE_ATTRIBUTES = {
    "codePath": "code_path", "version": "version_code", "installer": "installer",
    "installerUid": "installer_uid", "installInitiator": "install_initiator",
    "installOriginator": "install_originator", "updateOwner": "update_owner",
    "installerAttributionTag": "installer_attribution_tag", "packageSource": "package_source",
    "realName": "real_name", "volumeUuid": "volume_uuid", "publicFlags": "public_flags",
    "privateFlags": "private_flags", "targetSdkVersion": "target_sdk",
    "isOrphaned": "installer_orphaned",
}
NO_FIRST_INSTALL = ("this packages.xml has no first install time for the package (no 'it' "
                    "attribute: Android 13 and later keep it per user in "
                    "package-restrictions.xml, which is not read here): the event has no time")


def package_element(record: XmlRecord, signing: Signing, root: str) -> Event | Reject:
    """One ``<package>``: its event, or a reject when it names no package."""
    locator = element_locator(root, record.tag, record.index)
    attrs = record.attrs
    name = package_name(attrs.get("name"))
    if name is None:
        written = attrs.get("name")
        return Reject(locator, "the <package> has no name attribute" if written is None else
                      f"the <package> name {shown(written)} is not an Android package name")
    notes = repair_notes(record.repairs) + signing.notes
    details: dict[str, Any] = {}
    for attribute, detail in PACKAGE_ATTRIBUTES.items():
        value = present(attrs.get(attribute))
        if value is not None:
            details[detail] = value
    _uid(attrs, details)
    time = _package_times(attrs, details, notes)
    _signing_details(signing, details)
    return app_event(locator, name, time, details, notes)


def _uid(attrs: dict[str, str], details: dict[str, Any]) -> None:
    own, shared = present(attrs.get("userId")), present(attrs.get("sharedUserId"))
    if own is not None:
        details["uid"] = own
    elif shared is not None:
        details["uid"] = shared
        details["shared_uid"] = True


def _package_times(attrs: dict[str, str], details: dict[str, Any], notes: list[str]) -> RawTime:
    """The first install time (``it``) as the event's time; ``ut`` and ``ft`` into details."""
    for attribute, detail in (("ut", "last_update_time"), ("ft", "code_modified_time")):
        if attribute in attrs:
            moment, problem = hex_ms_time(attrs[attribute], attribute)
            if moment is not None:
                details[detail] = iso_of(moment)
            else:
                notes.append(f"{problem}: {detail} not given")
    if "it" not in attrs:
        notes.append(NO_FIRST_INSTALL)
        return untimed("packages.xml it (absent)")
    moment, problem = hex_ms_time(attrs["it"], "it")
    if moment is None:
        notes.append(f"{problem}: the first install time is not known, the event has no time")
        return untimed("packages.xml it (first install time)", attrs["it"])
    details["first_install_time"] = iso_of(moment)
    return moment


def _signing_details(signing: Signing, details: dict[str, Any]) -> None:
    if signing.scheme_version is not None:
        details["signature_scheme_version"] = signing.scheme_version
    for certificates, prefix in ((signing.current, ""), (signing.past, "past_")):
        if certificates:
            details[f"{prefix}signing_certificates_sha1"] = digests(certificates, "sha1")
            details[f"{prefix}signing_certificates_sha256"] = digests(certificates, "sha256")


def element_locator(root: str, tag: str, index: int) -> str:
    return f"xml:/{root}/{tag}[{index}]"


_RECORD_LOCATOR = re.compile(r"xml:(?P<tag>[^/\[=]+)\[(?P<index>\d+)\]\Z")
_DOCTYPE_FAULT = "the file has a document type declaration"


def fault_reject(fault: Fault, root: str) -> Reject:
    """A fault of the XML reader as a reject, located the way this parser locates elements."""
    located = _RECORD_LOCATOR.match(fault.locator)
    locator = (element_locator(root, located["tag"], int(located["index"])) if located
               else fault.locator)
    reason = fault.reason
    if reason.startswith(_DOCTYPE_FAULT):
        # The shared reader's words name its own format; say it for this one.
        reason = ("the file has a document type declaration, which Android never writes in "
                  "packages.xml (its entities could expand without bound): not read")
    return Reject(locator, reason)


# -- ABX (Android binary XML) ----------------------------------------------------------------------

ABX_MAGIC = b"ABX\x00"
# XmlPullParser event numbers, and the ABX internal attribute token.
START_DOCUMENT, END_DOCUMENT, START_TAG, END_TAG = 0, 1, 2, 3
TEXT_TOKENS = frozenset({4, 5, 6, 7, 8, 9, 10})   # text, cdsect, entity ref, whitespace, pi,
ATTRIBUTE = 15                                     # comment, docdecl: skipped
TYPE_NULL, TYPE_STRING, TYPE_STRING_INTERNED = 0x10, 0x20, 0x30
TYPE_BYTES_HEX, TYPE_BYTES_BASE64 = 0x40, 0x50
TYPE_INT, TYPE_INT_HEX, TYPE_LONG, TYPE_LONG_HEX = 0x60, 0x70, 0x80, 0x90
TYPE_FLOAT, TYPE_DOUBLE, TYPE_TRUE, TYPE_FALSE = 0xA0, 0xB0, 0xC0, 0xD0
NEW_STRING = 0xFFFF          # an interned-string reference meaning "a new string follows"


class AbxError(Exception):
    """The bytes are not ABX as AOSP writes it (the reason says where and why)."""


class AbxTruncated(AbxError):
    """The bytes end before the token being read does."""


def java_modified_utf8(data: bytes) -> str:
    """Java's modified UTF-8 as text: NUL written as C0 80, characters beyond the BMP as two
    3-byte surrogates (or, as Android's ``FastDataOutput`` writes by default, 4 bytes)."""
    text = data.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        # Join surrogate pairs into the character they encode; a lone one becomes U+FFFD.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def java_float(value: float) -> str:
    """A float32 as its shortest decimal that reads back to the same float32 (Java's
    ``Float.toString`` differs only in writing large and small values with ``E``)."""
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if struct.unpack(">f", struct.pack(">f", float(text)))[0] == value:
            return text if any(c in text for c in ".en") else text + ".0"
    return repr(value)


class AbxReader:
    """Reads ABX tokens from bytes held whole (see the module docstring for the format)."""

    def __init__(self, data: bytes, start: int = len(ABX_MAGIC)):
        self.data = data
        self.pos = start
        self.strings: list[str] = []

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def take(self, count: int) -> bytes:
        end = self.pos + count
        if end > len(self.data):
            raise AbxTruncated(f"the file ends inside a token (byte {len(self.data)}, "
                               f"{end - len(self.data)} more byte(s) needed)")
        piece = self.data[self.pos:end]
        self.pos = end
        return piece

    def unsigned_short(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def utf(self) -> str:
        length = self.unsigned_short()
        raw = self.take(length)
        try:
            return java_modified_utf8(raw)
        except UnicodeDecodeError:
            return raw.decode("utf-8", "replace")

    def interned(self) -> str:
        reference = self.unsigned_short()
        if reference == NEW_STRING:
            text = self.utf()
            if len(self.strings) < NEW_STRING:
                self.strings.append(text)
            return text
        if reference >= len(self.strings):
            raise AbxError(f"interned string #{reference} referred to at byte {self.pos - 2}, "
                           f"but only {len(self.strings)} were defined before it")
        return self.strings[reference]

    def value(self, kind: int) -> str | None:
        """An attribute value of type ``kind``, as ``BinaryXmlPullParser`` renders it."""
        if kind == TYPE_NULL:
            return None
        if kind == TYPE_STRING:
            return self.utf()
        if kind == TYPE_STRING_INTERNED:
            return self.interned()
        if kind in (TYPE_BYTES_HEX, TYPE_BYTES_BASE64):
            data = self.take(self.unsigned_short())
            return data.hex() if kind == TYPE_BYTES_HEX else base64.b64encode(data).decode()
        if kind in (TYPE_INT, TYPE_INT_HEX):
            number = struct.unpack(">i", self.take(4))[0]
            return format(number, "x") if kind == TYPE_INT_HEX else str(number)
        if kind in (TYPE_LONG, TYPE_LONG_HEX):
            number = struct.unpack(">q", self.take(8))[0]
            return format(number, "x") if kind == TYPE_LONG_HEX else str(number)
        if kind == TYPE_FLOAT:
            return java_float(struct.unpack(">f", self.take(4))[0])
        if kind == TYPE_DOUBLE:
            return repr(struct.unpack(">d", self.take(8))[0])
        if kind in (TYPE_TRUE, TYPE_FALSE):
            return "true" if kind == TYPE_TRUE else "false"
        raise AbxError(f"unknown attribute type {kind >> 4} at byte {self.pos - 1}")

    def skip_text(self, kind: int) -> None:
        if kind == TYPE_STRING:
            self.utf()
        elif kind != TYPE_NULL:
            raise AbxError(f"a text token of type {kind >> 4} at byte {self.pos - 1}")


@dataclass
class _AbxState:
    """Where the ABX reader is in the document."""

    stack: list[str] = field(default_factory=list)
    attrs: dict[str, str] | None = None      # the attributes of the last start tag, while open
    current: XmlRecord | None = None         # the root child being read
    seen: Counter[str] = field(default_factory=Counter)
    ended: bool = False


def read_abx_records(data: bytes, reading: Reading) -> Iterator[XmlRecord | Fault]:
    """The root's children of an ABX document, one at a time, then a :class:`Fault` if the
    bytes break (the same shapes as :func:`courseline.parsers.smsbackup.read_records`)."""
    if not data.startswith(ABX_MAGIC):
        yield Fault("abx:file", "the file does not start with the ABX magic bytes 'ABX\\0'")
        return
    reader, state = AbxReader(data), _AbxState()
    try:
        while not state.ended and not reader.at_end():
            finished = _abx_token(reader, state, reading)
            if finished is not None:
                yield finished
    except AbxError as error:
        yield _abx_fault(state, error, reader)
        return
    finally:
        reading.records_found = sum(state.seen.values())
    if state.stack:
        yield _abx_fault(state, AbxTruncated(f"the document ends at byte {reader.pos} of "
                                             f"{len(data)} with <{state.stack[-1]}> still open"),
                         reader)


def _abx_token(reader: AbxReader, state: _AbxState, reading: Reading) -> XmlRecord | None:
    """Read one token; return the root child it completes, if any."""
    start = reader.pos
    event = reader.take(1)[0]
    token, kind = event & 0x0F, event & 0xF0
    if token == ATTRIBUTE:
        name = reader.interned()
        value = reader.value(kind)
        if state.attrs is None:
            raise AbxError(f"an attribute ({shown(name, 60)}) outside a start tag at byte {start}")
        if value is not None:
            state.attrs[name] = value
        return None
    state.attrs = None
    if token == START_TAG:
        _abx_start(reader.interned(), start, state, reading)
    elif token == END_TAG:
        return _abx_end(reader.interned(), start, state)
    elif token in TEXT_TOKENS:
        reader.skip_text(kind)
    elif token == END_DOCUMENT:
        state.ended = True
    elif token != START_DOCUMENT:
        raise AbxError(f"unknown token {token} (type {kind >> 4}) at byte {start}")
    return None


def _abx_start(name: str, start: int, state: _AbxState, reading: Reading) -> None:
    state.stack.append(name)
    state.attrs = {}
    depth = len(state.stack)
    if depth == 1:
        reading.root_tag, reading.root_attrs = name, state.attrs
    elif depth == 2:
        state.seen[name] += 1
        state.current = XmlRecord(name, state.seen[name], state.attrs, start)
    elif state.current is not None:
        if len(state.current.children) < MAX_CHILD_ELEMENTS:
            state.current.children.append((name, state.attrs))
        else:
            state.current.children_dropped += 1


def _abx_end(name: str, start: int, state: _AbxState) -> XmlRecord | None:
    if not state.stack or state.stack[-1] != name:
        open_tag = f"<{state.stack[-1]}>" if state.stack else "no element"
        raise AbxError(f"an end tag </{shown(name, 60)[1:-1]}> at byte {start} while "
                       f"{open_tag} is open")
    state.stack.pop()
    if len(state.stack) == 1 and state.current is not None:
        finished, state.current = state.current, None
        return finished
    return None


def _abx_fault(state: _AbxState, error: AbxError, reader: AbxReader) -> Fault:
    what = "cut short" if isinstance(error, AbxTruncated) else "damaged"
    if state.current is not None:
        return Fault(f"xml:{state.current.tag}[{state.current.index}]",
                     f"the binary XML (ABX) file is {what} inside this element ({error}): the "
                     f"element and anything after it were not read; {ABX_ADVICE}")
    return Fault(f"abx:byte={reader.pos}",
                 f"the binary XML (ABX) file is {what} ({error}): anything after it was not "
                 f"read; {ABX_ADVICE}")


def abx_root(head: bytes) -> str | None:
    """The root element's name of an ABX document, read from its first bytes."""
    if not head.startswith(ABX_MAGIC):
        return None
    reader = AbxReader(head)
    try:
        while not reader.at_end():
            event = reader.take(1)[0]
            token, kind = event & 0x0F, event & 0xF0
            if token == START_TAG:
                return reader.interned()
            if token in TEXT_TOKENS:
                reader.skip_text(kind)
            elif token != START_DOCUMENT:
                return None
    except AbxError:
        return None
    return None


# -- the packages.xml parser -----------------------------------------------------------------------

ROOT = "packages"
# What only Android's packages.xml holds near its start, to tell it from other <packages> roots
# (a NuGet packages.config has <package id= version=>).
_PACKAGES_XML_MARKS = (b"<version sdkVersion=", b"<permission-trees", b"<permissions",
                       b"codePath=", b"<last-platform-version")
_DOCTYPE_ROOT = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?<!DOCTYPE\s+packages[\s\[>]")


class PackagesXmlParser(Parser):
    NAME = "android-packages-xml"
    DATA_FORMAT = "Android package manager settings (/data/system/packages.xml, XML or ABX)"
    VERSION = "1"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        if sample.head.startswith(ABX_MAGIC):
            return abx_root(sample.head) == ROOT
        # A document type declaration (which Android never writes) hides the root from
        # root_of: such a file is claimed too, for the reader to refuse it with its reason.
        rooted = root_of(sample.head) == ROOT or _DOCTYPE_ROOT.match(sample.head) is not None
        return rooted and any(mark in sample.head for mark in _PACKAGES_XML_MARKS)

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        binary = source.sample.head.startswith(ABX_MAGIC)
        reading = Reading()
        try:
            records = (self._abx(source, reading) if binary else self._text(source, reading))
            yield from self._elements(records, reading)
        except OSError as error:
            yield Reject("xml:file", f"could not be read: {type(error).__name__}: {error}")
        if binary:
            yield SourceNote("packages.xml in Android's binary XML (ABX) form, decoded here "
                             "(values rendered as Android's BinaryXmlPullParser renders them)")

    @staticmethod
    def _text(source: SourceFile, reading: Reading) -> Iterator[XmlRecord | Fault]:
        with source.path.open("rb") as handle:
            yield from read_records(handle, reading)

    @staticmethod
    def _abx(source: SourceFile, reading: Reading) -> Iterator[XmlRecord | Fault]:
        size = source.path.stat().st_size
        if size > MAX_ABX_BYTES:
            yield Fault("abx:file", f"the ABX file is {size} bytes, more than the "
                                    f"{MAX_ABX_BYTES} read here; {ABX_ADVICE}")
            return
        yield from read_abx_records(source.path.read_bytes(), reading)

    def _elements(self, records: Iterator[XmlRecord | Fault],
                  reading: Reading) -> Iterator[Event | Reject | SourceNote]:
        certificates = Certificates()
        counts: Counter[str] = Counter()
        notes: list[SourceNote] = []
        for item in records:
            if isinstance(item, Fault):
                yield fault_reject(item, reading.root_tag or ROOT)
                continue
            counts[item.tag] += 1
            signing = read_signing(item, certificates)   # every <cert> counts for the index
            if item.tag == "package":
                yield package_element(item, signing, reading.root_tag or ROOT)
            elif item.tag == "version":
                notes.extend(_version_note(item))
        if reading.root_tag is not None and reading.root_tag != ROOT:
            yield SourceNote(f"the root element is <{reading.root_tag}>, not <{ROOT}>")
        yield from notes
        yield from _element_notes(counts)


def _version_note(record: XmlRecord) -> Iterator[SourceNote]:
    """``<version sdkVersion databaseVersion fingerprint [volumeUuid]>``: what wrote the file."""
    attrs = record.attrs
    if present(attrs.get("volumeUuid")) is not None:
        return   # the same for an adopted storage volume: the internal one is said
    said = [f"{name} {present(attrs.get(name))}" for name in
            ("sdkVersion", "databaseVersion", "fingerprint") if present(attrs.get(name))]
    if said:
        yield SourceNote("packages.xml <version>: " + ", ".join(said)
                         + " (the Android SDK level and build that last wrote the file)")


def _element_notes(counts: Counter[str]) -> Iterator[SourceNote]:
    if counts["updated-package"]:
        yield SourceNote(f"{counts['updated-package']} <updated-package> element(s) (the "
                         "factory copies of system apps updated since) are not events: each app "
                         "is a <package> too")
    if counts["shared-user"]:
        yield SourceNote(f"{counts['shared-user']} <shared-user> element(s) read for their "
                         "certificates only")


# -- dumpsys package -------------------------------------------------------------------------------

_BLOCK_START = re.compile(r"  Package \[(?P<name>[^\]]*)\] \((?P<hash>[0-9A-Fa-f]+)\):\s*\Z")
_LOOKS_LIKE_BLOCK = re.compile(r"\s*Package \[")
_FIELD = re.compile(r"    (?P<key>[A-Za-z][A-Za-z0-9_]*)=(?P<value>.*)\Z")
_USER = re.compile(r"    User (?P<user>\d+): ?(?P<rest>.*)\Z")
_USER_FIELD = re.compile(r"      (?P<key>[A-Za-z][A-Za-z0-9_]*)=(?P<value>.*)\Z")
_PAIRS = re.compile(r"(?P<key>[A-Za-z][A-Za-z0-9_]*)=(?P<value>\S*)")
_FIRST_INSTALL = re.compile(r"firstInstallTime=(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
DUMPSYS_TIME = "%Y-%m-%d %H:%M:%S"
PACKAGES_SECTION, HIDDEN_SECTION = "Packages", "Hidden system packages"
# How a dumpsys package output starts (the first non-blank line), full or for one package.
_DUMPSYS_HEADERS = frozenset({
    "Activity Resolver Table:", "Receiver Resolver Table:", "Service Resolver Table:",
    "Provider Resolver Table:", "Database versions:", "Verifiers:", "Domain Verifier:",
    "Key Set Manager:", "Packages:", "Service host process PID:", "DUMP OF SERVICE package:",
    "Known Packages:", "Dexopt state:",
})
# Fields of a block kept in details: dumpsys key -> detail name.
DUMPSYS_FIELDS = {
    "codePath": "code_path", "versionName": "version_name",
    "installerPackageName": "installer", "installerPackageUid": "installer_uid",
    "initiatingPackageName": "install_initiator",
    "originatingPackageName": "install_originator", "updateOwnerPackageName": "update_owner",
    "installerAttributionTag": "installer_attribution_tag", "packageSource": "package_source",
    "timeStamp": "code_modified_time", "lastUpdateTime": "last_update_time",
    "apkSigningVersion": "signature_scheme_version", "signatures": "signatures",
    "flags": "flags", "pkgFlags": "package_flags", "dataDir": "data_dir",
}
SIGNATURES_NOTE = ("signatures= lists Java hash codes of the signing certificates, not their "
                   "digests: it cannot be matched to certificate indicators")


@dataclass
class Block:
    """One ``Package [name] (hash):`` block of dumpsys package, as read so far."""

    name: str
    line: int
    hidden: bool
    fields: dict[str, str] = field(default_factory=dict)
    users: dict[int, dict[str, str]] = field(default_factory=dict)
    user: int | None = None     # the user whose indented lines follow
    lines: int = 0              # field lines read


class DumpsysPackageParser(Parser):
    NAME = "android-dumpsys-package"
    DATA_FORMAT = "Android package manager dump (adb shell dumpsys package)"
    VERSION = "1"

    @classmethod
    def recognises(cls, sample: Sample) -> bool:
        lines = text_head_lines(sample, 1)
        if not lines:
            return False
        if lines[0].strip() in _DUMPSYS_HEADERS:
            return True
        text = head_text(sample.head) or ""
        return any(_BLOCK_START.match(line.rstrip("\r")) for line in text.split("\n")[:200])

    def parse(self, source: SourceFile) -> Iterator[Event | Reject | SourceNote]:
        reading = _DumpsysReading()
        try:
            with source.path.open("rb") as handle:
                for line in numbered_lines(handle):
                    yield from reading.line(line)
        except OSError as error:
            yield Reject("file", f"could not be read: {type(error).__name__}: {error}")
        yield from reading.finish()


@dataclass
class _DumpsysReading:
    """The state of one pass over a dumpsys package output."""

    section: str | None = None
    block: Block | None = None
    hidden_blocks: int = 0
    blocks: int = 0
    skipping: bool = False      # inside a block whose header was rejected

    def line(self, line: Line) -> Iterator[Event | Reject]:
        text = line.text
        in_packages = self.section in (PACKAGES_SECTION, HIDDEN_SECTION, None)
        if line.too_long:
            if in_packages and self.blocks:
                yield Reject(f"line:{line.number}", f"a line of more than {MAX_LINE_CHARS} "
                                                    "characters: not read")
            return
        if not text.strip():
            return
        start = _BLOCK_START.match(text)
        if start is not None or _LOOKS_LIKE_BLOCK.match(text):
            yield from self.close()
            yield from self.open(start, line)
        elif not text[0].isspace() and text.rstrip().endswith(":"):
            yield from self.close()
            self.skipping = False
            self.section = text.strip()[:-1]
        elif self.block is not None and text.startswith("    "):
            self.field(text)
        elif self.skipping and text.startswith("    "):
            pass   # a line of a block whose header was rejected: part of that reject
        elif in_packages and self.blocks:
            # Not a line dumpsys writes there (a block's lines are indented by four): rejected
            # alone, the block it interrupts goes on.
            yield Reject(f"line:{line.number}", "a line in the Packages section that is not "
                                                f"part of a package block: {shown(text)}")

    def open(self, start: re.Match[str] | None, line: Line) -> Iterator[Reject]:
        self.skipping = False
        if self.section not in (PACKAGES_SECTION, HIDDEN_SECTION, None):
            return   # "Package [" in another section (none is known to print one): not ours
        self.blocks += 1
        locator = f"line:{line.number}"
        name = package_name(start["name"]) if start is not None else None
        if name is None:
            self.skipping = True
            yield Reject(locator, "a package block header that cannot be read: "
                                  f"{shown(line.text)}" if start is None else
                                  f"{shown(start['name'])} is not an Android package name: "
                                  "the block was not read")
            return
        self.block = Block(name, line.number, self.section == HIDDEN_SECTION)

    def field(self, text: str) -> None:
        block = self.block
        assert block is not None
        user = _USER.match(text)
        if user is not None:
            block.user = int(user["user"])
            pairs = {m["key"]: m["value"] for m in _PAIRS.finditer(user["rest"])}
            found = _FIRST_INSTALL.search(user["rest"])   # some releases print it on this line
            if found:
                pairs["firstInstallTime"] = found.group(1)
            block.users[block.user] = pairs
            block.lines += 1
            return
        own = _FIELD.match(text)
        if own is not None:
            block.user = None
            block.fields.setdefault(own["key"], own["value"].strip())
            block.lines += 1
            return
        under_user = _USER_FIELD.match(text)
        if under_user is not None and block.user is not None:
            block.users[block.user].setdefault(under_user["key"], under_user["value"].strip())
        elif not text.startswith("      "):
            block.user = None   # a sub-list at the block's own level ends the user's lines

    def close(self) -> Iterator[Event | Reject]:
        block, self.block = self.block, None
        if block is None:
            return
        if block.hidden:
            self.hidden_blocks += 1
            return
        locator = f"line:{block.line}"
        if not block.lines:
            yield Reject(locator, f"the block of {block.name} holds no field (the output is cut "
                                  "off here?)")
            return
        yield dumpsys_event(block, locator)

    def finish(self) -> Iterator[Event | Reject | SourceNote]:
        yield from self.close()
        if self.hidden_blocks:
            yield SourceNote(f"{self.hidden_blocks} block(s) under 'Hidden system packages:' "
                             "(the factory copies of system apps updated since) are not events: "
                             "each app is under 'Packages:' too")
        if not self.blocks:
            yield SourceNote("no 'Package [...]' block was found: the output holds no Packages "
                             "section (dumpsys package cut short, or run for another part)")


def dumpsys_event(block: Block, locator: str) -> Event:
    notes: list[str] = []
    details: dict[str, Any] = {}
    fields = block.fields
    for key, detail in DUMPSYS_FIELDS.items():
        value = present(fields.get(key))
        if value is not None:
            details[detail] = value
    uid = present(fields.get("appId")) or present(fields.get("userId"))
    if uid is not None:
        details["uid"] = uid
    version = present(fields.get("versionCode"))
    if version is not None:
        details["version_code"] = version.split()[0]
    if "signatures" in details:
        notes.append(SIGNATURES_NOTE)
    if "installer" not in details and "installerPackageName" in fields:
        notes.append("installerPackageName=null: Android recorded no installing package for it")
    if block.users:
        details["users"] = {str(user): {key: bounded(clean_text(value), 200)[0]
                                        for key, value in sorted(values.items())
                                        if key in ("installed", "firstInstallTime", "hidden",
                                                   "suspended", "stopped", "enabled")}
                            for user, values in sorted(block.users.items())}
    time = _dumpsys_time(block, details, notes)
    return app_event(locator, block.name, time, details, notes)


def _dumpsys_time(block: Block, details: dict[str, Any], notes: list[str]) -> RawTime:
    """The first install time: the block's own (up to Android 12), else a user's."""
    written = present(block.fields.get("firstInstallTime"))
    source = "dumpsys package firstInstallTime (the phone's local time)"
    if written is None:
        user = _install_user(block)
        if user is not None:
            written = present(block.users[user].get("firstInstallTime"))
            source = f"dumpsys package User {user} firstInstallTime (the phone's local time)"
            if written is not None:
                notes.append(f"the first install time is user {user}'s (Android 13 and later "
                             "keep one per user)")
    if written is None:
        notes.append("dumpsys package gives no first install time for this package: the event "
                     "has no time")
        return untimed("dumpsys package firstInstallTime (absent)")
    try:
        wall = datetime.strptime(written, DUMPSYS_TIME)
    except ValueError:
        notes.append(f"firstInstallTime={shown(written)} is not 'yyyy-MM-dd HH:mm:ss': the "
                     "event has no time")
        return untimed(source, written)
    if wall.year <= 1970:
        notes.append(f"firstInstallTime={shown(written)} is the zero of the clock (1970): "
                     "not recorded, the event has no time")
        return untimed(source, written)
    details["first_install_time"] = written
    return RawTime(written, wall, "local", "s", source)


def _install_user(block: Block) -> int | None:
    """Whose per-user first install time to use: user 0's, else the lowest user the app is
    installed for, else the lowest user listed."""
    users = sorted(block.users)
    if not users:
        return None
    if 0 in block.users:
        return 0
    installed = [u for u in users if block.users[u].get("installed") == "true"]
    return (installed or users)[0]


__all__ = [
    "CERTIFICATE_DETAILS",
    "PACKAGE_DETAIL",
    "DumpsysPackageParser",
    "PackagesXmlParser",
    "PmListPackagesParser",
    "abx_root",
    "read_abx_records",
]
