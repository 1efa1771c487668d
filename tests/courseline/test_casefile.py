from pathlib import Path

import pytest

from courseline.casefile import CaseFileError, case_template, load_case, person_block, source_block

GOOD = """\
[case]
reference = "OP-1/24"
exhibit_prefix = "AO"

[[person]]
key = "victim"
role = "victim"
identifiers = ["tel:07700 900001", "email:a@example.org"]

[[person]]
key = "suspect"
role = "suspect"
identifiers = [
  "tel:+44 7700 900002",
  "email:x@example.net",
]

[[order]]
kind = "spo"
protects = "victim"
against = "suspect"
served = "2024-03-01T10:00:00+00:00"
no_contact = true

[[source]]
path = "exports/a.mbox"
owner = "victim"
clock_offset_seconds = -12.5
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "case.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_good_case_loads(tmp_path):
    case = load_case(write(tmp_path, GOOD))
    assert case.info.reference == "OP-1/24" and case.info.timezone == "Europe/London"
    assert [str(i) for i in case.person("suspect").normalised] == [
        "tel:+447700900002", "email:x@example.net"]
    assert case.orders[0].no_contact and case.orders[0].expires is None
    assert case.sources[0].clock_offset_seconds == -12.5


@pytest.mark.parametrize("change, line, fragment", [
    (('exhibit_prefix = "AO"', 'exhibit_prefx = "AO"'), 3, "unknown key 'exhibit_prefx'"),
    (('"email:x@example.net"', '"mail:x@example.net"'), 15, "unknown scheme 'mail'"),
    (('"tel:+44 7700 900002"', '"tel:12"'), 14, "not a possible phone number"),
    (('served = "2024-03-01T10:00:00+00:00"', 'served = "2024-03-01 10:00"'), 22, "has no offset"),
    (('served = "2024-03-01T10:00:00+00:00"', 'served = "yesterday"'), 22, "is not a time"),
    (('against = "suspect"', 'against = "suspct"'), 21, "'suspct' is not a person key"),
    (('owner = "victim"', 'owner = "nobody"'), 27, "'nobody' is not a person key"),
    (('role = "suspect"', 'role = "villain"'), 12, "role 'villain' is unknown"),
    (('clock_offset_seconds = -12.5', 'clock_offset_seconds = "fast"'), 28, "must be a number"),
])
def test_errors_name_the_line_and_what_is_expected(tmp_path, change, line, fragment):
    write(tmp_path, GOOD.replace(*change))
    with pytest.raises(CaseFileError) as caught:
        load_case(tmp_path)
    assert caught.value.line == line, str(caught.value)
    assert fragment in str(caught.value)
    assert f"line {line}" in str(caught.value)


def test_invalid_toml_names_the_line(tmp_path):
    write(tmp_path, GOOD.replace('reference = "OP-1/24"', 'reference = OP-1/24'))
    with pytest.raises(CaseFileError) as caught:
        load_case(tmp_path)
    assert caught.value.line == 2


def test_unknown_table_is_an_error(tmp_path):
    write(tmp_path, GOOD + "\n[[persons]]\nkey = 'x'\n")
    with pytest.raises(CaseFileError, match="unknown table 'persons'"):
        load_case(tmp_path)


def test_an_identifier_given_to_two_people_is_an_error(tmp_path):
    write(tmp_path, GOOD.replace('"email:x@example.net"', '"email:A@example.org"'))
    with pytest.raises(CaseFileError, match="also belongs to person 'victim'"):
        load_case(tmp_path)


def test_the_template_and_appended_blocks_load(tmp_path):
    text = case_template(reference='OP "7" \\ x', examiner="DC 1 A. Officer", prefix="AO")
    text += person_block("victim", "victim", ["email:a@example.org"], 'Sam "S" Taylor')
    text += source_block("exports/it's \"here\".mbox", "victim")
    case = load_case(write(tmp_path, text))
    assert case.info.reference == 'OP "7" \\ x'
    assert case.person("victim").name == 'Sam "S" Taylor'
    assert case.sources[0].path == "exports/it's \"here\".mbox"
