"""The demo case's device artefacts and Sam's own diary:

* a photo Sam took from her window of Chris's car in the street at ten past midnight, with the
  phone's position (about 50 m from her home, a place in the case file) and its GPS time, two
  seconds behind the camera clock (a measured, not applied, clock offset);
* the list of apps installed on Sam's phone (``packages.xml``), one of them sideloaded a few
  days after Chris had her phone in his hands, and listed in the case's indicator file: an
  invented file in the stalkerware-indicators format, made for the demo (courseline ships no
  indicator list);
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

import struct
from datetime import datetime

from courseline.parsers.diary import NAMES

DIARY = "exports/sam-diary.csv"
PHOTO = "exports/sam-phone-photos/PXL_20240809_231230.jpg"
PACKAGES = "exports/sam-phone-apps/packages.xml"
INDICATORS = "demo-indicators.yaml"

# The case file's lines for these: the place, the indicator file, the sources.
CASE_LINES = '''
[[place]]
name = "Sam Taylor's home"
lat = 51.513
lon = -0.305
radius_m = 150
'''
INDICATOR_LINE = f'stalkerware_indicators = "{INDICATORS}"   # invented for the demo\n'

SOURCES_TOML = f'''
[[source]]
path = "{DIARY}"
owner = "victim"
exhibit = "DEMO/12"

[[source]]
path = "{PHOTO}"
owner = "victim"
timezone = "Europe/London"
exhibit = "DEMO/13"

[[source]]
path = "{PACKAGES}"
owner = "victim"
exhibit = "DEMO/14"
'''

# An 8x8 JPEG (written once by an image library, kept as bytes so the demo never changes with
# a library's version); the photo is this with an EXIF block put in after its first marker.
_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a18161618"
    "3123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763ffdb00"
    "43011112121815182f1a1a2f63423842636363636363636363636363636363636363636363636363636363636363"
    "6363636363636363636363636363636363636363ffc00011080008000803012200021101031101ffc4001f000001"
    "0501010101010100000000000000000102030405060708090a0bffc400b510000201030302040305050404000001"
    "7d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25"
    "262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a8384"
    "85868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5"
    "d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffc4001f0100030101010101010101010000000000"
    "000102030405060708090a0bffc400b5110002010204040304070504040001027700010203110405213106124151"
    "0761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a43"
    "4445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a929394959697"
    "98999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8"
    "e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00e528a28aed333fffd9")


def _ascii(text: str) -> bytes:
    return text.encode("ascii") + b"\0"


def _rationals(*pairs: tuple[int, int]) -> bytes:
    return b"".join(struct.pack("<II", n, d) for n, d in pairs)


def _exif() -> bytes:
    """The photo's EXIF: camera, the time taken with its offset, and a GPS fix (position, UTC
    date and time) as a Pixel phone writes them."""
    # (tag, type, count, value bytes); type 2 ASCII, 4 LONG, 5 RATIONAL.
    ifd0 = [(0x010F, 2, _ascii("Google")), (0x0110, 2, _ascii("Pixel 7")),
            (0x8769, 4, None), (0x8825, 4, None)]
    exif_ifd = [(0x9003, 2, _ascii("2024:08:10 00:12:30")), (0x9011, 2, _ascii("+01:00"))]
    gps = [(0x0001, 2, _ascii("N")), (0x0002, 5, _rationals((51, 1), (30, 1), (48060, 1000))),
           (0x0003, 2, _ascii("W")), (0x0004, 5, _rationals((0, 1), (18, 1), (16380, 1000))),
           (0x0007, 5, _rationals((23, 1), (12, 1), (28, 1))),
           (0x001D, 2, _ascii("2024:08:09"))]
    sizes = [2 + 12 * len(ifd) + 4 + sum(len(v) for _, _, v in ifd if v and len(v) > 4)
             for ifd in (ifd0, exif_ifd, gps)]
    starts = [8, 8 + sizes[0], 8 + sizes[0] + sizes[1]]
    ifd0[2] = (0x8769, 4, struct.pack("<I", starts[1]))
    ifd0[3] = (0x8825, 4, struct.pack("<I", starts[2]))
    out = bytearray(b"II*\0" + struct.pack("<I", 8))
    for ifd, start in zip((ifd0, exif_ifd, gps), starts, strict=True):
        extra_at = start + 2 + 12 * len(ifd) + 4
        body, extra = bytearray(struct.pack("<H", len(ifd))), bytearray()
        for tag, kind, value in ifd:
            count = len(value) if kind == 2 else len(value) // (8 if kind == 5 else 4)
            if len(value) <= 4:
                body += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
            else:
                body += struct.pack("<HHII", tag, kind, count, extra_at + len(extra))
                extra += value
        out += body + struct.pack("<I", 0) + extra
    return b"Exif\0\0" + bytes(out)


def photo() -> bytes:
    block = _exif()
    return _JPEG[:2] + b"\xff\xe1" + struct.pack(">H", len(block) + 2) + block + _JPEG[2:]


def _ms_hex(iso: str) -> str:
    return format(int(datetime.fromisoformat(iso).timestamp() * 1000), "x")


def packages_xml() -> str:
    apps = [("com.whatsapp", "2023-05-01T10:00:00+00:00", "com.android.vending"),
            ("org.telegram.messenger", "2023-06-12T18:30:00+00:00", "com.android.vending"),
            ("com.example.trackmate", "2024-08-22T19:40:00+00:00",
             "com.google.android.packageinstaller"),
            ("com.instagram.android", "2023-01-20T08:15:00+00:00", "com.android.vending")]
    lines = ["<?xml version='1.0' encoding='utf-8' standalone='yes' ?>", "<packages>",
             '    <version sdkVersion="30" databaseVersion="3" fingerprint="demo" />']
    for n, (name, installed, installer) in enumerate(apps):
        stamp = _ms_hex(installed)
        lines.append(f'    <package name="{name}" codePath="/data/app/~~demo{n}==/{name}-1==" '
                     f'nativeLibraryPath="/data/app/{name}/lib" primaryCpuAbi="arm64-v8a" '
                     f'publicFlags="0" privateFlags="0" ft="{stamp}" it="{stamp}" ut="{stamp}" '
                     f'version="{n + 1}" userId="{10100 + n}" installer="{installer}" />')
    lines.append("</packages>")
    return "\n".join(lines) + "\n"


INDICATOR_FILE = """\
# Invented for the courseline demo: the format of the stalkerware-indicators project
# (github.com/AssoEchap/stalkerware-indicators), with made-up apps. Use a real list in a case.
- name: TrackMate (demo)
  type: stalkerware
  packages:
  - com.example.trackmate
  certificates: []
  websites:
  - trackmate.example.org
- name: KidWatch (demo)
  type: watchware
  packages:
  - com.example.kidwatch
"""

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
    for relative, data in ((PHOTO, photo()), (PACKAGES, packages_xml().encode("utf-8")),
                           (INDICATORS, INDICATOR_FILE.encode("utf-8"))):
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=NAMES, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(DIARY_ROWS)
    path = folder / DIARY
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
