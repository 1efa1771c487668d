"""Android installed-package lists (parsers/android_packages.py): ``pm list packages`` output,
``packages.xml`` as text XML and as binary ABX, and ``dumpsys package`` text, all synthetic.

The ABX files are written by a small encoder here that follows AOSP's ``BinaryXmlSerializer``
and ``FastDataOutput`` as the module docstring describes them; the same document is also written
as text XML, and both must give the same events. Package names are made up
(``org.example.*``); certificates are made-up bytes, hashed here.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar
from xml.sax.saxutils import quoteattr

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import parser_for
from courseline.parsers.android_packages import (DumpsysPackageParser, PackagesXmlParser,
                                                 PmListPackagesParser, abx_root,
                                                 java_modified_utf8)
from courseline.parsers.smsbackup import SmsBackupMessagesParser
from courseline.timeline.event import Event, SourceNote
from tests_support import (by_locator, checked, events, only_event, parsed, rejects, source_file,
                           source_notes)

INSTALLED_MS = 1709414045123            # 2024-03-02T21:14:05.123Z
INSTALLED = datetime(2024, 3, 2, 21, 14, 5, 123000, tzinfo=UTC)
UPDATED_MS = 1710000000000              # 2024-03-09T16:00:00.000Z
MODIFIED_MS = 1709999999000
CERT_A = b"\x30\x82\x01\x0a" + bytes(range(200))          # stand-ins for DER certificates
CERT_B = b"\x30\x82\x02\x0b" + bytes(range(255, 55, -1))
CERT_OLD = b"\x30\x82\x03\x0c" + b"old signing key" * 8


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def parse_file(parser: type, path: Path) -> list:
    return parsed(parser, source_file(path))


# -- pm list packages ------------------------------------------------------------------------------

PM_FULL = (
    "package:/data/app/~~Qk9CMTIz==/org.example.notes-c3R1ZmY==/base.apk=org.example.notes"
    "  installer=com.android.vending uid:10123\n"
    "package:/system/priv-app/Phone/Phone.apk=com.android.phone  installer=null uid:1001\n"
    "package:/data/app/org.example.tracker-1/base.apk=org.example.tracker"
    "  installer=org.example.store uid:10200\n")


def test_pm_list_with_paths_installers_and_uids(tmp_path: Path) -> None:
    records = parse_file(PmListPackagesParser, write(tmp_path, "packages.txt", PM_FULL))
    found = by_locator(records)
    assert set(found) == {"line:1", "line:2", "line:3"} and not rejects(records)
    notes = found["line:1"]
    assert notes.kind == "app" and notes.platform == "device"
    assert notes.subject == "org.example.notes"
    assert notes.details == {
        "package": "org.example.notes", "installer": "com.android.vending", "uid": "10123",
        "code_path": "/data/app/~~Qk9CMTIz==/org.example.notes-c3R1ZmY==/base.apk"}
    assert notes.time.value is None and "no time" in notes.time.source
    assert any("records no time" in note for note in notes.notes)
    phone = found["line:2"]
    assert "installer" not in phone.details
    assert any("installer=null" in note for note in phone.notes)
    [summary] = source_notes(records)
    assert "3 package line(s)" in summary and "-f, -i, -U" in summary and "-u" in summary


@pytest.mark.parametrize("line, details", [
    ("package:org.example.notes", {"package": "org.example.notes"}),
    ("package:org.example.notes versionCode:42", {"package": "org.example.notes",
                                                   "version_code": "42"}),
    ("package:/data/app/x/base.apk=org.example.notes versionCode:7  installer=org.example.store",
     {"package": "org.example.notes", "code_path": "/data/app/x/base.apk", "version_code": "7",
      "installer": "org.example.store"}),
    ("package:org.example.notes uid:10123,1010123", {"package": "org.example.notes",
                                                     "uid": "10123,1010123"}),
])
def test_pm_list_variants(tmp_path: Path, line: str, details: dict) -> None:
    event = only_event(parse_file(PmListPackagesParser, write(tmp_path, "p.txt", line + "\n")))
    assert event.details == details


@pytest.mark.parametrize("encoding, newline", [("utf-8", "\r\n"), ("utf-8", "\r\r\n"),
                                               ("utf-16", "\r\n"), ("utf-8-sig", "\n")])
def test_pm_list_line_ends_and_encodings(tmp_path: Path, encoding: str, newline: str) -> None:
    text = "package:org.example.notes\npackage:org.example.tracker\n".replace("\n", newline)
    records = parse_file(PmListPackagesParser, write(tmp_path, "p.txt", text.encode(encoding)))
    assert [(e.locator, e.details["package"]) for e in events(records)] == [
        ("line:1", "org.example.notes"), ("line:2", "org.example.tracker")]
    assert not rejects(records)


def test_pm_list_garbage_lines_are_rejects_with_their_line(tmp_path: Path) -> None:
    text = ("package:org.example.notes\n"
            "WARNING: linker: something odd\n"
            "\n"
            "package:/data/app/base.apk=\n"
            "package:org.example.bad name\n"
            "package:org.example.tracker\n")
    records = parse_file(PmListPackagesParser, write(tmp_path, "p.txt", text))
    assert [e.locator for e in events(records)] == ["line:1", "line:6"]
    assert {r.locator: r.reason for r in rejects(records)}.keys() == {"line:2", "line:4", "line:5"}
    assert "not a 'package:' line" in rejects(records)[0].reason


def test_pm_list_overlong_line_is_a_reject_and_the_next_line_is_read(tmp_path: Path) -> None:
    text = "package:org.example.notes\npackage:" + "a" * 70_000 + "\npackage:org.example.x\n"
    records = parse_file(PmListPackagesParser, write(tmp_path, "p.txt", text))
    assert [e.locator for e in events(records)] == ["line:1", "line:3"]
    assert [r.locator for r in rejects(records)] == ["line:2"]


@pytest.mark.parametrize("data", [
    b"packages:\n  org.example\n", b"hello\npackage:org.example.notes\n",
    b"package:a\nx\ny\nz\nw\n",                       # most lines are not package lines
    b"<?xml version='1.0'?><packages/>",
])
def test_pm_list_not_claimed(tmp_path: Path, data: bytes) -> None:
    assert not PmListPackagesParser.recognises(sample_file(write(tmp_path, "x.txt", data)))


# -- packages.xml: one document, written as text XML and as ABX ------------------------------------

@dataclass(frozen=True)
class Typed:
    """An attribute value with the type AOSP's TypedXmlSerializer writes it with."""

    kind: str      # "s" string, "i" int, "l" long, "lh" long hex, "bh" bytes hex, "b" boolean
    value: object

    def text(self) -> str:
        if self.kind == "lh":
            return format(self.value, "x")            # Long.toHexString of a positive value
        if self.kind == "bh":
            return self.value.hex()                   # Signature.toCharsString: lower case
        if self.kind == "b":
            return "true" if self.value else "false"
        return str(self.value)


Element = tuple[str, dict[str, Typed], list]


def S(value: str) -> Typed:
    return Typed("s", value)


def I(value: int) -> Typed:
    return Typed("i", value)


def L(value: int) -> Typed:
    return Typed("l", value)


def LH(value: int) -> Typed:
    return Typed("lh", value)


def BH(value: bytes) -> Typed:
    return Typed("bh", value)


def package(name: str, children: list | None = None, with_it: bool = True,
            **extra: Typed) -> Element:
    attrs = {"name": S(name), "codePath": S(f"/data/app/{name}-1"),
             "publicFlags": I(940097348), "privateFlags": I(0),
             "ft": LH(MODIFIED_MS), "it": LH(INSTALLED_MS), "ut": LH(UPDATED_MS),
             "version": L(42), "userId": I(10123), "installer": S("com.android.vending")}
    if not with_it:
        del attrs["it"]
    if "sharedUserId" in extra:
        del attrs["userId"]     # Android writes one or the other
    attrs.update(extra)
    return ("package", attrs, children or [])


def sigs(*certs: Element, scheme: int = 2, past: list[Element] | None = None) -> Element:
    children = list(certs)
    if past:
        children.append(("pastSigs", {"count": I(len(past))}, past))
    return ("sigs", {"count": I(len(certs)), "schemeVersion": I(scheme)}, children)


def cert(index: int, key: bytes | None = None, flags: int | None = None) -> Element:
    attrs = {"index": I(index)}
    if key is not None:
        attrs["key"] = BH(key)
    if flags is not None:
        attrs["flags"] = I(flags)
    return ("cert", attrs, [])


def packages_document(with_it: bool = True) -> Element:
    """A packages.xml as Android writes it: version, permissions, packages (the second reusing
    the first's certificate by index), a shared user, an updated system package."""
    return ("packages", {}, [
        ("version", {"sdkVersion": I(30), "databaseVersion": I(3),
                     "fingerprint": S("example/device/device:11/RQ1A/1:user/release-keys")}, []),
        ("version", {"volumeUuid": S("primary_physical"), "sdkVersion": I(30),
                     "databaseVersion": I(3), "fingerprint": S("x")}, []),
        ("permission-trees", {}, []),
        ("permissions", {}, [("item", {"name": S("android.permission.INTERNET"),
                                       "package": S("android"), "protection": I(0)}, [])]),
        package("org.example.notes", [sigs(cert(0, CERT_A)),
                                      ("perms", {}, [("item", {"name": S("android.permission.X"),
                                                               "granted": Typed("b", True),
                                                               "flags": I(0)}, [])]),
                                      ("proper-signing-keyset", {"identifier": L(1)}, [])],
                with_it=with_it),
        package("org.example.tracker", [sigs(cert(1, CERT_B), past=[cert(2, CERT_OLD, 3)])],
                with_it=with_it, installer=S("org.example.store")),
        ("shared-user", {"name": S("android.uid.system"), "userId": I(1000)},
         [sigs(cert(3, b"\x30\x82platform"))]),
        package("org.example.sibling", [sigs(cert(0))], with_it=with_it,
                sharedUserId=I(10150)),
        ("updated-package", {"name": S("com.android.phone"), "codePath": S("/system/app/Phone"),
                             "ft": LH(1), "ut": LH(1), "version": L(1)}, []),
        ("keyset-settings", {"version": I(1)}, []),
    ])


def xml_text(element: Element, depth: int = 0) -> str:
    tag, attrs, children = element
    pad = "    " * depth
    written = "".join(f" {name}={quoteattr(value.text())}" for name, value in attrs.items())
    if not children:
        return f"{pad}<{tag}{written} />\n"
    inner = "".join(xml_text(child, depth + 1) for child in children)
    return f"{pad}<{tag}{written}>\n{inner}{pad}</{tag}>\n"


def packages_xml(document: Element) -> bytes:
    return ("<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n"
            + xml_text(document)).encode("utf-8")


class AbxWriter:
    """Android binary XML as AOSP's BinaryXmlSerializer writes it: magic, then one token byte
    (event in the low 4 bits, type in the high 4) and its data; names interned."""

    TYPES: ClassVar[dict[str, int]] = {"s": 2, "i": 6, "l": 8, "lh": 9, "bh": 4}

    def __init__(self) -> None:
        self.out = bytearray(b"ABX\x00")
        self.refs: dict[str, int] = {}

    def byte(self, token: int, kind: int) -> None:
        self.out.append(kind << 4 | token)

    def utf(self, text: str) -> None:
        data = text.encode("utf-8")
        self.out += struct.pack(">H", len(data)) + data

    def interned(self, text: str) -> None:
        if text in self.refs:
            self.out += struct.pack(">H", self.refs[text])
        else:
            self.out += struct.pack(">H", 0xFFFF)
            self.utf(text)
            self.refs[text] = len(self.refs)

    def attribute(self, name: str, value: Typed) -> None:
        if value.kind == "b":
            self.byte(15, 12 if value.value else 13)
            self.interned(name)
            return
        self.byte(15, self.TYPES[value.kind])
        self.interned(name)
        if value.kind == "s":
            self.utf(value.value)
        elif value.kind == "i":
            self.out += struct.pack(">i", value.value)
        elif value.kind in ("l", "lh"):
            self.out += struct.pack(">q", value.value)
        else:
            self.out += struct.pack(">H", len(value.value)) + value.value

    def element(self, element: Element) -> None:
        tag, attrs, children = element
        self.byte(2, 3)
        self.interned(tag)
        for name, value in attrs.items():
            self.attribute(name, value)
        for child in children:
            self.element(child)
        self.byte(3, 3)
        self.interned(tag)

    def document(self, root: Element) -> bytes:
        self.byte(0, 1)     # START_DOCUMENT, null
        self.element(root)
        self.byte(1, 1)     # END_DOCUMENT, null
        return bytes(self.out)


def abx(document: Element) -> bytes:
    return AbxWriter().document(document)


def xml_events(records: list) -> dict[str, Event]:
    return by_locator(records)


@pytest.fixture(params=["text", "abx"])
def form(request) -> str:
    return request.param


def write_packages(tmp_path: Path, document: Element, form: str) -> Path:
    data = packages_xml(document) if form == "text" else abx(document)
    return write(tmp_path, "packages.xml", data)


def test_packages_xml_events(tmp_path: Path, form: str) -> None:
    records = parse_file(PackagesXmlParser, write_packages(tmp_path, packages_document(), form))
    found = xml_events(records)
    assert set(found) == {"xml:/packages/package[1]", "xml:/packages/package[2]",
                          "xml:/packages/package[3]"}
    assert not rejects(records)
    notes = found["xml:/packages/package[1]"]
    assert notes.kind == "app" and notes.platform == "device"
    assert notes.subject == "org.example.notes"
    assert notes.time.value == INSTALLED and notes.time.basis == "utc"
    assert notes.time.precision == "ms" and notes.time.raw == format(INSTALLED_MS, "x")
    assert notes.details == {
        "package": "org.example.notes", "code_path": "/data/app/org.example.notes-1",
        "version_code": "42", "installer": "com.android.vending", "uid": "10123",
        "public_flags": "940097348", "private_flags": "0",
        "first_install_time": "2024-03-02T21:14:05.123Z",
        "last_update_time": "2024-03-09T16:00:00.000Z",
        "code_modified_time": "2024-03-09T15:59:59.000Z",
        "signature_scheme_version": "2",
        "signing_certificates_sha1": [sha1(CERT_A)],
        "signing_certificates_sha256": [sha256(CERT_A)]}
    tracker = found["xml:/packages/package[2]"]
    assert tracker.details["installer"] == "org.example.store"
    assert tracker.details["signing_certificates_sha1"] == [sha1(CERT_B)]
    assert tracker.details["past_signing_certificates_sha1"] == [sha1(CERT_OLD)]
    sibling = found["xml:/packages/package[3]"]    # its <cert> names index 0 only
    assert sibling.details["signing_certificates_sha1"] == [sha1(CERT_A)]
    assert sibling.details["uid"] == "10150" and sibling.details["shared_uid"] is True
    said = " ".join(source_notes(records))
    assert "sdkVersion 30" in said and "example/device/device:11" in said
    assert "1 <updated-package>" in said and "1 <shared-user>" in said


def test_text_and_abx_give_the_same_events(tmp_path: Path) -> None:
    document = packages_document()
    text = parse_file(PackagesXmlParser, write(tmp_path, "packages.xml", packages_xml(document)))
    binary = parse_file(PackagesXmlParser, write(tmp_path, "packages.abx", abx(document)))
    assert events(text) == events(binary)
    assert any("ABX" in note for note in source_notes(binary))


def test_android_13_packages_xml_has_no_first_install_time(tmp_path: Path, form: str) -> None:
    path = write_packages(tmp_path, packages_document(with_it=False), form)
    records = parse_file(PackagesXmlParser, path)
    event = xml_events(records)["xml:/packages/package[1]"]
    assert event.time.value is None
    assert event.details["last_update_time"] == "2024-03-09T16:00:00.000Z"
    assert "first_install_time" not in event.details
    assert any("package-restrictions.xml" in note for note in event.notes)


@pytest.mark.parametrize("it, why", [("0", "not recorded"), ("zz", "not hexadecimal"),
                                     ("ffffffffffffffff", "not recorded"),
                                     ("7fffffffffffffff", "beyond the calendar")])
def test_unusable_first_install_time_is_noted(tmp_path: Path, it: str, why: str) -> None:
    data = packages_xml(("packages", {}, [package("org.example.notes", it=S(it))]))
    event = only_event(parse_file(PackagesXmlParser, write(tmp_path, "packages.xml", data)))
    assert event.time.value is None and event.time.raw == it
    assert any(why in note for note in event.notes)


def test_package_without_a_name_is_a_reject(tmp_path: Path, form: str) -> None:
    nameless = package("org.example.x")
    del nameless[1]["name"]
    document = ("packages", {}, [package("org.example.notes"), nameless,
                                 package("org.example.bad name!")])
    records = parse_file(PackagesXmlParser, write_packages(tmp_path, document, form))
    assert [e.locator for e in events(records)] == ["xml:/packages/package[1]"]
    assert [r.locator for r in rejects(records)] == ["xml:/packages/package[2]",
                                                     "xml:/packages/package[3]"]


def test_certificate_problems_are_noted_not_fatal(tmp_path: Path) -> None:
    document = ("packages", {}, [
        package("org.example.notes", [sigs(cert(5))]),                 # never defined
        package("org.example.tracker", [("sigs", {"count": I(1)},
                                         [("cert", {"index": I(0), "key": S("xyz")}, [])])]),
    ])
    records = parse_file(PackagesXmlParser, write(tmp_path, "packages.xml",
                                                  packages_xml(document)))
    found = xml_events(records)
    first, second = found["xml:/packages/package[1]"], found["xml:/packages/package[2]"]
    assert "signing_certificates_sha1" not in first.details
    assert any("not defined earlier" in note for note in first.notes)
    assert any("not hexadecimal" in note for note in second.notes)


def test_truncated_text_xml_keeps_what_came_before(tmp_path: Path, hang_guard) -> None:
    data = packages_xml(packages_document())
    cut = data.index(b"org.example.tracker") + 10
    with hang_guard():
        records = parse_file(PackagesXmlParser, write(tmp_path, "packages.xml", data[:cut]))
    assert [e.locator for e in events(records)] == ["xml:/packages/package[1]"]
    [reject] = rejects(records)
    assert reject.locator == "xml:/packages/package[2]" and "line" in reject.reason


def test_every_abx_truncation_keeps_whole_elements_and_never_raises(tmp_path: Path,
                                                                     hang_guard) -> None:
    data = abx(packages_document())
    complete = {e.locator: e for e in events(parse_file(
        PackagesXmlParser, write(tmp_path, "full.abx", data)))}
    with hang_guard():
        for cut in range(len(b"ABX\x00") + 1, len(data) - 1, 7):
            path = write(tmp_path, "cut.abx", data[:cut])
            if not PackagesXmlParser.recognises(sample_file(path)):
                assert cut < 20    # too short to hold the root's name
                continue
            records = checked(PackagesXmlParser().parse(source_file(path)))
            for event in events(records):
                assert event == complete[event.locator]
            [reject] = rejects(records)
            assert "abx2xml" in reject.reason and "cut short" in reject.reason


def test_abx_damage_is_a_reject_naming_the_element(tmp_path: Path) -> None:
    data = bytearray(abx(packages_document()))
    second = data.index(b"org.example.tracker")
    # Make the token just before the second package's name an unknown one.
    token_at = data.rindex(b"\x2f", 0, second)
    data[token_at] = 0x2B      # token 11, type string: no such XmlPullParser event
    records = parse_file(PackagesXmlParser, write(tmp_path, "packages.xml", bytes(data)))
    assert [e.locator for e in events(records)] == ["xml:/packages/package[1]"]
    [reject] = rejects(records)
    assert reject.locator == "xml:/packages/package[2]"
    assert "damaged" in reject.reason and "unknown token 11" in reject.reason
    assert "abx2xml" in reject.reason


def test_abx_bad_string_reference_and_mismatched_end_tag(tmp_path: Path) -> None:
    writer = AbxWriter()
    writer.byte(0, 1)
    writer.byte(2, 3)
    writer.interned("packages")
    writer.byte(2, 3)
    writer.out += struct.pack(">H", 40)     # refers to a string never defined
    records = parse_file(PackagesXmlParser, write(tmp_path, "a.xml", bytes(writer.out)))
    assert not events(records) and "interned string #40" in rejects(records)[0].reason
    broken = AbxWriter()
    broken.byte(0, 1)
    broken.byte(2, 3)
    broken.interned("packages")
    broken.byte(3, 3)
    broken.interned("package")             # closes what was never opened
    records = parse_file(PackagesXmlParser, write(tmp_path, "b.xml", bytes(broken.out)))
    assert "while <packages> is open" in rejects(records)[0].reason


def test_abx_of_another_settings_file_is_not_claimed(tmp_path: Path) -> None:
    data = abx(("package-restrictions", {}, [("pkg", {"name": S("org.example.notes")}, [])]))
    path = write(tmp_path, "package-restrictions.xml", data)
    assert abx_root(data) == "package-restrictions"
    assert parser_for(sample_file(path)) is None


@pytest.mark.parametrize("data", [
    b"<?xml version='1.0'?><packages><package id='Newtonsoft.Json' version='13.0.1' /></packages>",
    b"<smses count='0'></smses>",
    b"ABX\x00garbage",
])
def test_other_xml_is_not_claimed(tmp_path: Path, data: bytes) -> None:
    assert not PackagesXmlParser.recognises(sample_file(write(tmp_path, "x.xml", data)))


def test_doctype_is_refused(tmp_path: Path, hang_guard) -> None:
    data = (b"<?xml version='1.0'?>\n<!DOCTYPE packages [<!ENTITY a 'aaaaaaaaaa'>"
            b"<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>\n<packages>\n"
            b"<version sdkVersion='30' />\n<package name='org.example.x' it='1' />\n</packages>")
    with hang_guard():
        records = parse_file(PackagesXmlParser, write(tmp_path, "packages.xml", data))
    assert not events(records)
    [reject] = rejects(records)
    assert "document type declaration" in reject.reason and "packages.xml" in reject.reason
    assert "SMS Backup" not in reject.reason
    assert parser_for(sample_file(tmp_path / "packages.xml")) is not SmsBackupMessagesParser


def test_modified_utf8_strings() -> None:
    # NUL as C0 80, and a character beyond the BMP written as two 3-byte surrogates.
    assert java_modified_utf8(b"a\xc0\x80b") == "a\x00b"
    assert java_modified_utf8("😀".encode()) == "😀"      # FastDataOutput's 4-byte form
    assert java_modified_utf8(b"\xed\xa0\xbd\xed\xb8\x80") == "😀"
    assert java_modified_utf8(b"\xed\xa0\xbd") == "\ufffd"


def test_abx_typed_values_render_as_android_does(tmp_path: Path) -> None:
    writer = AbxWriter()
    writer.byte(0, 1)
    writer.byte(2, 3)
    writer.interned("packages")
    writer.byte(2, 3)
    writer.interned("package")
    writer.attribute("name", S("org.example.notes"))
    writer.attribute("it", LH(INSTALLED_MS))
    writer.attribute("isOrphaned", Typed("b", True))
    writer.byte(15, 10)                          # a float: loadingProgress
    writer.interned("loadingProgress")
    writer.out += struct.pack(">f", 1.0)
    writer.byte(15, 1)                           # a null value: absent
    writer.interned("installer")
    writer.byte(3, 3)
    writer.interned("package")
    writer.byte(3, 3)
    writer.interned("packages")
    writer.byte(1, 1)
    event = only_event(parse_file(PackagesXmlParser, write(tmp_path, "p.xml", bytes(writer.out))))
    assert event.time.value == INSTALLED
    assert event.details["installer_orphaned"] == "true"
    assert "installer" not in event.details


def test_output_is_deterministic(tmp_path: Path) -> None:
    for name, data, parser in (("a.xml", packages_xml(packages_document()), PackagesXmlParser),
                               ("b.xml", abx(packages_document()), PackagesXmlParser),
                               ("c.txt", PM_FULL, PmListPackagesParser),
                               ("d.txt", DUMPSYS_12, DumpsysPackageParser)):
        path = write(tmp_path, name, data)
        assert parse_file(parser, path) == parse_file(parser, path)


# -- dumpsys package -------------------------------------------------------------------------------

# The shape of a real Android 12 block (fields as AOSP Settings.dumpPackageLPr prints them).
DUMPSYS_12 = """\
Database versions:
  Internal:
    sdkVersion=31 databaseVersion=3
    fingerprint=example/device/device:12/SP1A/1:user/release-keys

Packages:
  Package [org.example.notes] (b179259):
    userId=10154
    pkg=Package{1769e1e org.example.notes}
    codePath=/data/app/~~abc==/org.example.notes-def==
    resourcePath=/data/app/~~abc==/org.example.notes-def==
    versionCode=52 minSdk=14 targetSdk=30
    versionName=5.2.0
    flags=[ HAS_CODE ALLOW_CLEAR_USER_DATA ]
    dataDir=/data/user/0/org.example.notes
    usesLibraries:
      org.example.library
    timeStamp=2024-03-02 21:10:00
    firstInstallTime=2024-03-02 21:14:05
    lastUpdateTime=2024-03-09 16:00:00
    installerPackageName=com.android.vending
    signatures=PackageSignatures{ce2a6ff version:2, signatures:[2505c087], past signatures:[]}
    installPermissionsFixed=true
    pkgFlags=[ HAS_CODE ALLOW_CLEAR_USER_DATA ]
    install permissions:
      android.permission.INTERNET: granted=true
    User 0: ceDataInode=6185 installed=true hidden=false suspended=false stopped=false enabled=0
      gids=[3003]
      runtime permissions:
        android.permission.ACCESS_FINE_LOCATION: granted=true, flags=[ USER_SET ]
  Package [org.example.tracker] (a1b2c3):
    userId=10200
    codePath=/data/app/org.example.tracker-1
    versionCode=3 minSdk=21 targetSdk=29
    versionName=1.0
    timeStamp=2024-03-04 02:10:00
    firstInstallTime=2024-03-04 02:10:33
    lastUpdateTime=2024-03-04 02:10:33
    installerPackageName=null
    User 0: ceDataInode=7001 installed=true hidden=false suspended=false stopped=false enabled=0

Hidden system packages:
  Package [com.android.phone] (fff):
    userId=1001
    codePath=/system/priv-app/Phone

Shared users:
  SharedUser [android.uid.system] (e1):
    userId=1000
"""

# Android 13 and later: appId=, and the first install time printed per user.
DUMPSYS_14 = """\
Packages:
  Package [org.example.notes] (4d2):
    appId=10154
    codePath=/data/app/~~abc==/org.example.notes-def==
    versionCode=60 minSdk=24 targetSdk=34
    versionName=6.0
    timeStamp=2024-03-02 21:10:00
    lastUpdateTime=2024-03-09 16:00:00
    installerPackageName=com.android.vending
    User 0: ceDataInode=6185 deDataInode=0 installed=true hidden=false suspended=false \
distractionFlags=0 stopped=false notLaunched=false enabled=0 instant=false virtual=false \
quarantined=false
      installReason=4
      dataDir=/data/user/0/org.example.notes
      firstInstallTime=2024-03-02 21:14:05
      uninstallReason=0
    User 10: ceDataInode=0 deDataInode=0 installed=false hidden=false suspended=false
      firstInstallTime=1970-01-01 01:00:00
  Package [org.example.second] (4d3):
    appId=10155
    User 10: ceDataInode=1 installed=true hidden=false
      firstInstallTime=2024-03-05 08:00:00
    User 11: ceDataInode=0 installed=false hidden=false
      firstInstallTime=2024-03-01 08:00:00
  Package [org.example.never] (4d4):
    appId=10156
    User 0: ceDataInode=0 installed=true hidden=false
      firstInstallTime=1970-01-01 00:00:00
"""


def test_dumpsys_android_12_blocks(tmp_path: Path) -> None:
    records = parse_file(DumpsysPackageParser, write(tmp_path, "dumpsys.txt", DUMPSYS_12))
    found = by_locator(records)
    assert set(found) == {"line:7", "line:31"} and not rejects(records)
    notes = found["line:7"]
    assert notes.subject == "org.example.notes" and notes.kind == "app"
    assert notes.time.raw == "2024-03-02 21:14:05" and notes.time.basis == "local"
    assert notes.time.value == datetime(2024, 3, 2, 21, 14, 5) and notes.time.precision == "s"
    details = notes.details
    assert details["uid"] == "10154" and details["version_code"] == "52"
    assert details["version_name"] == "5.2.0" and details["installer"] == "com.android.vending"
    assert details["code_path"] == "/data/app/~~abc==/org.example.notes-def=="
    assert details["last_update_time"] == "2024-03-09 16:00:00"
    assert details["code_modified_time"] == "2024-03-02 21:10:00"
    assert details["signatures"].startswith("PackageSignatures{")
    assert details["users"] == {"0": {"installed": "true", "hidden": "false",
                                      "suspended": "false", "stopped": "false", "enabled": "0"}}
    assert not any(key.startswith("signing_certificates") for key in details)
    assert any("hash codes" in note for note in notes.notes)
    tracker = found["line:31"]
    assert "installer" not in tracker.details
    assert any("installerPackageName=null" in note for note in tracker.notes)
    assert any("Hidden system packages" in note for note in source_notes(records))


def test_dumpsys_android_13_per_user_first_install(tmp_path: Path) -> None:
    records = parse_file(DumpsysPackageParser, write(tmp_path, "dumpsys.txt", DUMPSYS_14))
    found = by_locator(records)
    notes = found["line:2"]
    assert notes.time.value == datetime(2024, 3, 2, 21, 14, 5)
    assert "User 0" in notes.time.source and notes.details["uid"] == "10154"
    assert notes.details["users"]["10"]["installed"] == "false"
    second = found["line:17"]     # no user 0: the lowest user it is installed for
    assert second.time.value == datetime(2024, 3, 5, 8, 0, 0)
    assert any("user 10's" in note for note in second.notes)
    never = found["line:23"]
    assert never.time.value is None and any("1970" in note for note in never.notes)


def test_dumpsys_damaged_lines_are_rejects(tmp_path: Path) -> None:
    text = ("Packages:\n"
            "  Package [org.example.notes] (1):\n"
            "    userId=10154\n"
            "    firstInstallTime=2024-03-02 21:14:05\n"
            "  Package [org.example.bad name] (2):\n"
            "    userId=1\n"
            "  Package [org.example.cut\n"
            "    userId=2\n"
            "  something that is no field\n"
            "  Package [org.example.empty] (3):\n"
            "  Package [org.example.last] (4):\n"
            "    firstInstallTime=yesterday\n")
    records = parse_file(DumpsysPackageParser, write(tmp_path, "dumpsys.txt", text))
    assert [e.locator for e in events(records)] == ["line:2", "line:11"]
    assert [r.locator for r in rejects(records)] == ["line:5", "line:7", "line:9", "line:10"]
    last = by_locator(records)["line:11"]
    assert last.time.value is None and any("yyyy-MM-dd" in note for note in last.notes)


def test_dumpsys_stray_line_inside_a_block_is_rejected_alone(tmp_path: Path) -> None:
    text = ("Packages:\n"
            "  Package [org.example.notes] (1):\n"
            "    userId=10154\n"
            "  -- a line pasted in --\n"
            "    firstInstallTime=2024-03-02 21:14:05\n")
    records = parse_file(DumpsysPackageParser, write(tmp_path, "dumpsys.txt", text))
    event = only_event([r for r in records if not hasattr(r, "reason")])
    assert event.time.value == datetime(2024, 3, 2, 21, 14, 5) and event.details["uid"] == "10154"
    assert [r.locator for r in rejects(records)] == ["line:4"]


def test_dumpsys_of_one_package_and_recognition(tmp_path: Path) -> None:
    single = ("Activity Resolver Table:\n  Non-Data Actions:\n      android.intent.action.MAIN:\n"
              "        1a2b org.example.notes/.Main filter 3c4d\n\n" + DUMPSYS_14)
    path = write(tmp_path, "dumpsys_notes.txt", single)
    assert parser_for(sample_file(path)) is DumpsysPackageParser
    assert len(events(parse_file(DumpsysPackageParser, path))) == 3
    assert not DumpsysPackageParser.recognises(sample_file(write(
        tmp_path, "other.txt", "Features:\n  android.hardware.camera\n")))
    assert not DumpsysPackageParser.recognises(sample_file(write(tmp_path, "pm.txt", PM_FULL)))


def test_unreadable_file_is_a_reject(tmp_path: Path) -> None:
    path = write(tmp_path, "p.txt", PM_FULL)
    source = source_file(path)
    path.unlink()
    for parser in (PmListPackagesParser, DumpsysPackageParser, PackagesXmlParser):
        records = checked(parser().parse(source))
        assert rejects(records) and not events(records)


def test_each_form_is_claimed_by_its_parser(tmp_path: Path) -> None:
    claims: dict[str, Callable] = {
        "pm.txt": PmListPackagesParser, "dumpsys.txt": DumpsysPackageParser,
        "packages.xml": PackagesXmlParser, "packages.abx": PackagesXmlParser}
    data = {"pm.txt": PM_FULL, "dumpsys.txt": DUMPSYS_12,
            "packages.xml": packages_xml(packages_document()),
            "packages.abx": abx(packages_document())}
    for name, parser in claims.items():
        assert parser_for(sample_file(write(tmp_path, name, data[name]))) is parser, name
    assert all(isinstance(r, (Event, SourceNote)) for r in parse_file(
        PackagesXmlParser, tmp_path / "packages.abx"))
