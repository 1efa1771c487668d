"""The demo case's device artefacts and Sam's own diary:

* Sam's incident diary, written in the courseline template: the night Chris stood outside her
  flat, the night of the calls (both written at the time, and corroborated by the calls and
  e-mails of those days), and the morning he waited at the station, written weeks later from
  memory, tied only by the new number he texted from.

Everything is synthetic.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from courseline.parsers.diary import NAMES

DIARY = "exports/sam-diary.csv"

SOURCES_TOML = f'''
[[source]]
path = "{DIARY}"
owner = "victim"
exhibit = "DEMO/12"
'''

DIARY_ROWS = (
    {"incident_date": "2024-08-10", "incident_time": "00:10", "how_sure": "exact",
     "written_at": "2024-08-10 08:05", "written_by": "Sam Taylor",
     "place": "Sam Taylor's home", "channel": "in person, then e-mail and a call",
     "who": "Chris Walker",
     "what_happened": "Chris was standing across the road from my flat, by his car, looking up "
                      "at my window. Then an e-mail came saying he was outside, and he rang.",
     "witnesses": "none", "effect": "I could not sleep and kept the lights off.",
     "linked_exhibits": "the e-mail in my inbox"},
    {"incident_date": "2024-08-27", "incident_time": "02:00", "how_sure": "about",
     "written_at": "2024-08-27 07:30", "written_by": "Sam Taylor",
     "place": "Sam Taylor's home", "channel": "phone calls", "who": "Chris Walker",
     "account_used": "07700 900456",
     "what_happened": "He rang all night, some calls from his number and some withheld. I "
                      "think I saw his car go past at about 2.",
     "threats": "none said", "effect": "Took the day off work.",
     "police_contact": "Called 101 at 09:00", "crime_reference": "DEMO/CR/0827"},
    {"incident_date": "21/09/2024", "incident_time": "08:00", "how_sure": "within half an hour",
     "written_at": "2024-10-15 19:00", "written_by": "Sam Taylor",
     "place": "Ealing Broadway station", "channel": "in person",
     "account_used": "07700 900789",
     "what_happened": "He was waiting by the ticket barriers when I got to the station, as "
                      "the text from the new number said he would be. I went back home.",
     "witnesses": "a station attendant", "effect": "I now take the bus.",
     "police_contact": "told PC Demo on 15 October"},
)


def write_device_exports(folder: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=NAMES, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(DIARY_ROWS)
    path = folder / DIARY
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
