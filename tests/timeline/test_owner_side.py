"""The device owner filled into phone records, and what counts as contact."""

from __future__ import annotations

from datetime import UTC, datetime

from courseline.timeline.conduct import ConductAccumulator
from courseline.timeline.event import Event, RawTime
from courseline.timeline.identity import could_be_a_person
from courseline.timeline.records import SourceSettings, normalise_event

WHEN = RawTime("1725000000000", datetime(2024, 8, 30, 6, 40, tzinfo=UTC), "utc", "ms", "date")
VICTIM = "tel:+447700900123"
SUSPECT = "tel:+447700900456"
SISTER = "tel:+447700900321"


def make_record(event: Event, settings: SourceSettings) -> dict:
    return normalise_event(event, settings).record


def settings(*identifiers: str) -> SourceSettings:
    return SourceSettings("Europe/London", "Europe/London", 0, "GB", frozenset(identifiers),
                          "victim")


def incoming(recipients: list[str]) -> Event:
    return Event(kind="message", platform="phone", time=WHEN, locator="x", direction="incoming",
                 sender=SUSPECT, recipients=recipients, owner_side="recipients")


def test_the_owner_receives_a_one_to_one_message():
    record = make_record(incoming([]), settings(VICTIM))
    assert record["recipients"] == [VICTIM] and record["owner_side"] == "recipients"


def test_the_owner_is_added_beside_the_other_members_of_a_group_chat():
    record = make_record(incoming([SISTER]), settings(VICTIM))
    assert record["recipients"] == [SISTER, VICTIM]
    named = make_record(incoming([SISTER, VICTIM]), settings(VICTIM))
    assert named["recipients"] == [SISTER, VICTIM]


def test_an_owner_with_two_numbers_is_written_by_person_key():
    record = make_record(incoming([]), settings(VICTIM, "tel:+447700900999"))
    assert record["recipients"] == ["owner:victim"]


def test_an_outgoing_record_gets_the_owner_as_sender():
    event = Event(kind="sms", platform="phone", time=WHEN, locator="x", direction="outgoing",
                  recipients=[SUSPECT], owner_side="sender")
    record = make_record(event, settings(VICTIM))
    assert record["sender"] == VICTIM and record["owner_side"] == "sender"


def row(flags: list[str]) -> dict:
    return {"occurred_utc": "2024-09-10T10:00:00Z", "event_id": "e", "platform": "phone",
            "kind": "sms", "sender": SUSPECT, "sender_person": "suspect",
            "recipients": [VICTIM], "recipient_persons": ["victim"], "flags": flags}


def test_drafts_and_failed_messages_are_not_contact_or_breaches():
    class Order:
        kind, reference, protects, against = "spo", "SPO 1", "victim", "suspect"
        served, expires, no_contact = datetime(2024, 9, 1, tzinfo=UTC), None, True

    conduct = ConductAccumulator("Europe/London", ["victim"], [Order()])
    for flags in (["draft"], ["failed"], []):
        conduct.add(row(flags))
    figures = conduct.conduct()
    assert figures["breach_counts"] == {"SPO 1": 1}
    assert figures["pairs"][0]["events"] == 1


def test_withheld_callers_and_sender_names_cannot_be_tied_to_a_person():
    assert could_be_a_person("tel:+447700900789")
    assert not could_be_a_person("tel:Withheld")
    assert not could_be_a_person("tel:HSBC")
    assert not could_be_a_person("tel:88020")
    assert could_be_a_person("email:x@example.net")


def test_numbers_no_network_issues_are_doubted_but_drama_numbers_are_not():
    from courseline.timeline.identity import doubtful_number, normalise

    assert not doubtful_number(normalise("tel:07700 900123", "GB"))
    assert not doubtful_number(normalise("tel:01632 960123", "GB"))
    assert doubtful_number(normalise("tel:07700 9004", "GB"))     # a drama number, cut short
    assert doubtful_number(normalise("tel:07911 12345", "GB"))
    assert not doubtful_number(normalise("tel:Withheld", "GB"))
