import pytest

from courseline.timeline.identity import Directory, IdentifierError, normalise, parse_written


@pytest.mark.parametrize("written, expected", [
    ("tel:07700 900001", "tel:+447700900001"),
    ("tel:+44 (0)7700 900002", "tel:+447700900002"),
    ("tel:\u200e07700-900-003", "tel:+447700900003"),
    ("email:Sam.Taylor@Example.ORG", "email:sam.taylor@example.org"),
    ("name:\u200eDave\u00a0Smith ", "name:dave smith"),
])
def test_normalise(written, expected):
    assert str(normalise(written, "GB")) == expected


@pytest.mark.parametrize("written", ["tel:Withheld", "tel:HSBC", "tel:88020", "tel:"])
def test_non_numbers_are_kept_as_written_and_never_a_person(written):
    ident = normalise(written, "GB")
    assert not ident.is_person_id
    assert ident.value == written.partition(":")[2]


def test_same_number_written_two_ways_is_one_identifier():
    assert normalise("tel:07700 900001", "GB") == normalise("tel:+447700900001", "GB")


@pytest.mark.parametrize("written, fragment", [
    ("07700 900001", "no scheme"),
    ("fax:123", "unknown scheme"),
    ("tel:12", "not a possible phone number"),
    ("email:nobody", "not an e-mail address"),
    ("email:", "empty value"),
])
def test_malformed_identifiers_say_what_is_expected(written, fragment):
    with pytest.raises(IdentifierError, match=fragment):
        parse_written(written, "GB")


def test_directory_matches_identifiers_and_display_names():
    directory = Directory({
        "victim": [parse_written("email:a@example.org", "GB")],
        "suspect": [parse_written("tel:07700 900002", "GB"), parse_written("name:Dave", "GB")],
    })
    assert directory.person_of("email:a@example.org") == "victim"
    assert directory.person_of("tel:+447700900002") == "suspect"
    assert directory.person_of("whatsapp:dave") == "suspect"
    assert directory.person_of("tel:Withheld") is None
    assert directory.person_of(None) is None
