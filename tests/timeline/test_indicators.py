"""Stalkerware indicator files (courseline/indicators.py): a small list in the Echap
stalkerware-indicators ``ioc.yaml`` format, written here (the project ships none), matched
against package names, certificate digests and the app events of the package parsers.

The apps, package names and certificates are made up.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from courseline.timeline.indicators import IndicatorFileError, load_indicators
from courseline.parsers.android_packages import PackagesXmlParser, PmListPackagesParser
from tests_support import events, parsed, source_file

TRACKER_CERT = "31A6ECECD97CF39BC4126B8745CD94A7C30BF81C"     # as the project writes them
OTHER_CERT = "B374A75F87F992A6F57CF99A24197ABCEB17A1E7"

IOC = f"""\
- name: ExampleSpy
  names:
  - ExampleSpy
  - SpyExample
  type: stalkerware
  packages:
  - org.example.tracker
  - com.Example.Hidden
  certificates:
  - {TRACKER_CERT}
  websites:
  - examplespy.example.org
  c2:
    ips:
    - 192.0.2.10
    domains:
    - c2.examplespy.example.net

- name: KidWatch
  type: watchware
  packages:
  - org.example.kidwatch
  - org.example.tracker
  certificates:
  - {OTHER_CERT}
  distribution:
  - get.kidwatch.example.org

- name: NoPackages
  websites:
  - nothing.example.org
"""


def write(tmp_path: Path, text: str, name: str = "ioc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def indicators(tmp_path: Path):
    return load_indicators(write(tmp_path, IOC))


def test_loads_entries_and_names_the_file(tmp_path: Path, indicators) -> None:
    data = (tmp_path / "ioc.yaml").read_bytes()
    assert indicators.source.name == "ioc.yaml"
    assert indicators.source.sha256 == hashlib.sha256(data).hexdigest()
    assert indicators.source.entries == 3
    spy = indicators.entries[0]
    assert (spy.name, spy.type, spy.position) == ("ExampleSpy", "stalkerware", 1)
    assert spy.aliases == ("ExampleSpy", "SpyExample")
    assert spy.packages == ("org.example.tracker", "com.Example.Hidden")
    assert indicators.entries[2].type is None and indicators.entries[2].packages == ()


def test_package_hit_names_every_entry_listing_it(indicators) -> None:
    matches = indicators.match("org.example.tracker")
    assert [(m.indicator, m.indicator_type, m.position, m.matched, m.value) for m in matches] == [
        ("ExampleSpy", "stalkerware", 1, "package", "org.example.tracker"),
        ("KidWatch", "watchware", 2, "package", "org.example.tracker")]
    assert matches[0].source is indicators.source
    assert matches[0].as_dict() == {
        "indicator": "ExampleSpy", "type": "stalkerware", "entry": 1, "matched": "package",
        "value": "org.example.tracker", "file": "ioc.yaml",
        "file_sha256": indicators.source.sha256}


def test_package_names_compare_case_insensitively(indicators) -> None:
    [match] = indicators.match("com.example.hidden")
    assert match.value == "com.Example.Hidden"


@pytest.mark.parametrize("written", [
    TRACKER_CERT.lower(),
    TRACKER_CERT,
    ":".join(TRACKER_CERT[i:i + 2] for i in range(0, 40, 2)),      # keytool's form
    f"  {TRACKER_CERT.lower()} ",
])
def test_certificate_hit_case_insensitively(indicators, written: str) -> None:
    [match] = indicators.match("org.example.innocent", [written])
    assert (match.indicator, match.matched, match.value) == ("ExampleSpy", "certificate",
                                                              TRACKER_CERT)


def test_package_and_certificate_of_one_entry_are_two_matches(indicators) -> None:
    matches = indicators.match("org.example.kidwatch", [OTHER_CERT.lower(), OTHER_CERT])
    assert [(m.indicator, m.matched) for m in matches] == [("KidWatch", "package"),
                                                           ("KidWatch", "certificate")]


@pytest.mark.parametrize("package, certificates", [
    ("org.example.notes", []),
    ("org.example.trackerx", ["00" * 20]),          # no prefix or near match counts
    ("org.example", []),
    ("examplespy.example.org", []),                  # a website is not a package
])
def test_no_hit(indicators, package: str, certificates: list[str]) -> None:
    assert indicators.match(package, certificates) == []


@pytest.mark.parametrize("text, words", [
    ("name: x\npackages: [a]\n", "a YAML list of apps, this one holds a mapping"),
    ("", "holds empty"),
    ("- name: A\n  packages: [a.b]\n- just text\n", "entry 2 is text"),
    ("- packages: [a.b]\n", "entry 1 has no name"),
    ("- name: A\n  packages: a.b\n", "entry 1 ('A'): 'packages' is text, not a list"),
    ("- name: A\n  packages:\n  - 12\n", "item 1 of 'packages' is a number"),
    ("- name: A\n  certificates:\n  - not-a-digest\n", "is not a SHA-1"),
    ("- name: A\n  certificates:\n  - ABCD\n", "is not a SHA-1"),
    ("- name: A\n  type: [x]\n", "'type' is a list"),
    ("- name: A\n  packages: [a.b\n", "not YAML"),
    ("- name: A\n  packages: !!python/object/apply:os.system ['true']\n", "not YAML"),
])
def test_malformed_file_names_the_file_and_entry(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, text, "bad-ioc.yaml")
    with pytest.raises(IndicatorFileError) as caught:
        load_indicators(path)
    message = str(caught.value)
    assert message.startswith("bad-ioc.yaml") and words in message, message


def test_yaml_error_gives_the_line(tmp_path: Path) -> None:
    with pytest.raises(IndicatorFileError, match=r"line \d+, column \d+"):
        load_indicators(write(tmp_path, "- name: A\n  packages: [a.b\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IndicatorFileError, match="absent.yaml: could not be read"):
        load_indicators(tmp_path / "absent.yaml")


def test_aliases_cannot_make_a_small_file_list_too_much(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("courseline.timeline.indicators.MAX_VALUES", 10)
    text = "- name: A\n  packages: &p [a.a, a.b, a.c, a.d]\n" + "".join(
        f"- name: B{n}\n  packages: *p\n" for n in range(5))
    with pytest.raises(IndicatorFileError, match="more than 10"):
        load_indicators(write(tmp_path, text))


def test_app_events_of_the_parsers_match(tmp_path: Path, indicators) -> None:
    """The details the package parsers write are what the matcher reads."""
    cert = b"\x30\x82\x01\x0a" + b"made-up certificate bytes" * 4
    digest = hashlib.sha1(cert).hexdigest()
    ioc = write(tmp_path, f"- name: CertOnly\n  type: stalkerware\n  certificates:\n"
                          f"  - {digest.upper()}\n", "certs.yaml")
    xml = (f"<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<packages>\n"
           f"<version sdkVersion=\"30\" databaseVersion=\"3\" fingerprint=\"x\" />\n"
           f"<package name=\"org.example.renamed\" codePath=\"/data/app/x\" it=\"18e0a8c1d43\">\n"
           f"<sigs count=\"1\" schemeVersion=\"2\"><cert index=\"0\" key=\"{cert.hex()}\" />"
           f"</sigs>\n</package>\n</packages>\n")
    path = tmp_path / "packages.xml"
    path.write_text(xml, encoding="utf-8")
    [event] = events(parsed(PackagesXmlParser, source_file(path)))
    [match] = load_indicators(ioc).match_details(event.details)
    assert (match.indicator, match.matched, match.source.name) == ("CertOnly", "certificate",
                                                                   "certs.yaml")
    listing = tmp_path / "pm.txt"
    listing.write_text("package:org.example.notes\npackage:org.example.tracker\n")
    found = {e.details["package"]: indicators.match_details(e.details)
             for e in events(parsed(PmListPackagesParser, source_file(listing)))}
    assert found["org.example.notes"] == []
    assert [m.indicator for m in found["org.example.tracker"]] == ["ExampleSpy", "KidWatch"]
    assert indicators.match_details({"no": "package"}) == []


def test_loading_is_deterministic(tmp_path: Path) -> None:
    path = write(tmp_path, IOC)
    first, second = load_indicators(path), load_indicators(path)
    assert first.entries == second.entries and first.source == second.source
