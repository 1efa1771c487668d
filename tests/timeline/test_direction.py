"""Which way an event went: the source's own word, unless the owner's addresses contradict it
(a stalker's message filed in a Sent folder stays incoming, and says why)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from courseline.timeline.event import Event, RawTime
from courseline.timeline.records import _direction

OWNER = frozenset({"email:sam.taylor@example.org"})
SAM, CHRIS = "email:sam.taylor@example.org", "email:chris.walker@example.net"


def mail(direction: str) -> Event:
    when = RawTime("x", datetime(2024, 8, 3, 18, 2, tzinfo=timezone.utc), "utc", "s", "Date")
    return Event(kind="email", platform="email", time=when, locator="file", direction=direction)


@pytest.mark.parametrize("said, sender, recipients, found", [
    ("outgoing", SAM, [CHRIS], ("outgoing", "source")),
    ("outgoing", CHRIS, [SAM], ("incoming", "owner (the source's folder or label said outgoing)")),
    ("incoming", SAM, [CHRIS], ("outgoing", "owner (the source's folder or label said incoming)")),
    ("incoming", SAM, [SAM], ("incoming", "source")),        # a note to self: as the source says
    ("outgoing", None, [], ("outgoing", "source")),          # a phone names only the other side
    ("unknown", CHRIS, [SAM], ("incoming", "owner")),
])
def test_the_owners_addresses_overrule_a_folder_that_contradicts_them(said, sender, recipients,
                                                                       found):
    assert _direction(mail(said), sender, recipients, OWNER) == found
