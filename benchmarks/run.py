"""Speed and memory of courseline on a generated case. Run by hand; never part of the tests.

    python benchmarks/run.py email --messages 20000
    python benchmarks/run.py email --messages 200000 --keep /tmp/bench-case
    python benchmarks/run.py android --rows 1000000
    python benchmarks/run.py whatsapp --messages 1000000
    python benchmarks/run.py photos --files 5000
    python benchmarks/run.py report --events 100000 --pdf-events 10000

Prints records per second end to end (collect → parse → merge → sealed timeline) and the peak
resident memory of the process. The input (an mbox; an Android ``mmssms.db`` and ``calllog.db``;
a WhatsApp chat; a camera roll of JPEGs) is generated before timing starts. For WhatsApp it first
prints the parser's own rate, lines read per second, with the memory it took, then builds the case
(``--parse-only`` skips the build). For photos it also prints the time of each stage of the build
(collect, re-hash, parse, seal) and their share. For the report it builds a case of generated
phone records first (not timed), then times the HTML report of that case and the PDF of a second,
smaller one, with the peak memory of each.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from courseline.casefile import load_case
from courseline.pipeline import CasePipeline

PEOPLE = ["sam.taylor@example.org", "chris.walker@example.net", "jo.taylor@example.org",
          "cw.1983@example.net", "friend.one@example.org", "colleague@example.org"]
CASE_TOML = """\
[case]
reference = "BENCH"
[[person]]
key = "victim"
role = "victim"
identifiers = ["email:sam.taylor@example.org"]
[[person]]
key = "suspect"
role = "suspect"
identifiers = ["email:chris.walker@example.net", "email:cw.1983@example.net"]
[[source]]
path = "mail.mbox"
owner = "victim"
"""


def write_mbox(path: Path, messages: int, attachment_every: int) -> int:
    """Write a synthetic mbox of plain and multipart messages; return its size in bytes."""
    blob = ("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n" * 40)
    with path.open("w", encoding="ascii", newline="\n") as handle:
        for n in range(messages):
            sender = PEOPLE[n % len(PEOPLE)]
            recipient = PEOPLE[(n * 7 + 1) % len(PEOPLE)]
            second = 1_700_000_000 + n * 97
            stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(second))
            envelope = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(second))
            handle.write(f"From bench@example.org {envelope}\n")
            handle.write(f"From: <{sender}>\nTo: <{recipient}>\nSubject: message {n}\n"
                         f"Date: {stamp}\nMessage-ID: <bench-{n}@example.org>\n"
                         f"Received: from relay.example.net by mx.example.org; {stamp}\n"
                         f"MIME-Version: 1.0\n")
            body = f"Message number {n}.\nWhere are you tonight? I will find out.\n" * 3
            if attachment_every and n % attachment_every == 0:
                handle.write('Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n'
                             'Content-Type: text/plain; charset=utf-8\n\n' + body +
                             '--b1\nContent-Type: application/octet-stream\n'
                             'Content-Disposition: attachment; filename="a.bin"\n'
                             'Content-Transfer-Encoding: base64\n\n' + blob + '--b1--\n\n')
            else:
                handle.write("Content-Type: text/plain; charset=utf-8\n\n" + body + "\n")
    return path.stat().st_size


ANDROID_CASE_TOML = """\
[case]
reference = "BENCH"
[[person]]
key = "victim"
role = "victim"
identifiers = ["tel:07700 900001"]
[[person]]
key = "suspect"
role = "suspect"
identifiers = ["tel:07700 900002", "tel:07700 900003"]
[[order]]
kind = "spo"
protects = "victim"
against = "suspect"
served = "2023-06-01T00:00:00+00:00"
no_contact = true
[[source]]
path = "phone"
owner = "victim"
"""
SMS_WORDS = ("where are you", "I saw you tonight", "answer your phone", "I know where you live",
             "why are you ignoring me", "ok", "see you at work", "call me back")


def write_android(folder: Path, rows: int) -> None:
    """An mmssms.db with 60% of the rows as texts and a calllog.db with the rest as calls."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    numbers = [f"07700 9{n:05d}" for n in range(2, 400)]
    texts, calls = rows * 6 // 10, rows - rows * 6 // 10
    sms = sqlite3.connect(folder / "mmssms.db")
    sms.execute("CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, "
                "person INTEGER, date INTEGER, date_sent INTEGER DEFAULT 0, protocol INTEGER, "
                "read INTEGER, status INTEGER DEFAULT -1, type INTEGER, subject TEXT, body TEXT, "
                "service_center TEXT, locked INTEGER DEFAULT 0, error_code INTEGER DEFAULT 0, "
                "seen INTEGER, sub_id INTEGER DEFAULT 1)")
    sms.executemany(
        "INSERT INTO sms (thread_id, address, date, date_sent, read, type, body) "
        "VALUES (?, ?, ?, ?, 1, ?, ?)",
        ((n % 400, rng.choice(numbers), 1_690_000_000_000 + n * 3_001,
          1_690_000_000_000 + n * 3_001 - 1_000, rng.choice((1, 1, 2)),
          f"{rng.choice(SMS_WORDS)} ({n})") for n in range(texts)))
    sms.commit()
    sms.close()
    log = sqlite3.connect(folder / "calllog.db")
    log.execute("CREATE TABLE calls (_id INTEGER PRIMARY KEY, number TEXT, presentation INTEGER "
                "DEFAULT 1, date INTEGER, duration INTEGER, subscription_id TEXT, type INTEGER, "
                "features INTEGER DEFAULT 0, name TEXT, geocoded_location TEXT, countryiso TEXT)")
    log.executemany(
        "INSERT INTO calls (number, presentation, date, duration, type, subscription_id, "
        "countryiso) VALUES (?, ?, ?, ?, ?, '1', 'GB')",
        ((rng.choice(numbers), 2 if n % 50 == 0 else 1, 1_690_000_000_500 + n * 4_999,
          rng.choice((0, 0, 12, 240)), rng.choice((1, 2, 3, 3, 5)))
         for n in range(calls)))
    log.commit()
    log.close()


def _timed_build(root: Path, records: int, unit: str) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    before = usage.ru_maxrss
    start = time.perf_counter()
    with CasePipeline(load_case(root)) as pipeline:
        result = pipeline.build()
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    peak = after.ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"events sealed: {result.events}, rejected: {result.rejected}, merged: {result.merged}")
    print(f"time: {elapsed:.1f} s; {records / elapsed:,.0f} {unit} per second end to end")
    user, system = after.ru_utime - usage.ru_utime, after.ru_stime - usage.ru_stime
    print(f"processor time of this process: {user:.1f} s in courseline and its libraries, "
          f"{system:.1f} s in the system (reading and making files)")
    if system > user / 2:
        print("  (the system's share is high: the disk was slow to make files. On ext4 this "
              "lasts about five minutes after many files are deleted, as by a previous "
              "benchmark's clean-up; run it again later for a quiet disk's figure)")
    print(f"peak memory: {peak / 1024:.0f} MiB (before the build: {before / 1024:.0f} MiB); "
          f"largest worker process: {workers / 1024:.0f} MiB")


def bench_email(args: argparse.Namespace) -> None:
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="courseline-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    (root / "case.toml").write_text(CASE_TOML, encoding="utf-8")
    size = write_mbox(root / "mail.mbox", args.messages, args.attachment_every)
    print(f"generated {args.messages} messages, {size / 2**20:.1f} MiB, in {root}")
    _timed_build(root, args.messages, "messages")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


def bench_android(args: argparse.Namespace) -> None:
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="courseline-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    (root / "case.toml").write_text(ANDROID_CASE_TOML, encoding="utf-8")
    write_android(root / "phone", args.rows)
    size = sum(p.stat().st_size for p in (root / "phone").iterdir())
    print(f"generated {args.rows:,} rows (mmssms.db + calllog.db, {size / 2**20:.1f} MiB) in {root}")
    _timed_build(root, args.rows, "rows")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


WHATSAPP_CASE_TOML = """\
[case]
reference = "BENCH"
[[person]]
key = "victim"
role = "victim"
identifiers = ["name:Sam Taylor"]
[[person]]
key = "suspect"
role = "suspect"
identifiers = ["name:Chris Walker"]
[[source]]
path = "WhatsApp Chat with Chris Walker.txt"
owner = "victim"
"""


def write_whatsapp(path: Path, messages: int) -> int:
    """An Android-layout chat of two people over many days, with multi-line messages, media left
    out, deletions and missed calls; return the number of lines written."""
    rng = random.Random(3)
    lines = 0
    start = 1_690_000_000
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for n in range(messages):
            moment = time.gmtime(start + n * 37)
            stamp = time.strftime("%d/%m/%Y, %H:%M", moment)
            author = "Chris Walker" if rng.random() < 0.7 else "Sam Taylor"
            roll = rng.random()
            if roll < 0.05:
                text = "<Media omitted>"
            elif roll < 0.07:
                text = "This message was deleted"
            elif roll < 0.09:
                text = "Missed voice call"
            elif roll < 0.25:
                text = f"{rng.choice(SMS_WORDS)} ({n})\nand another line\nand a third"
            else:
                text = f"{rng.choice(SMS_WORDS)} ({n})"
            handle.write(f"{stamp} - {author}: {text}\n")
            lines += text.count("\n") + 1
    return lines


def bench_whatsapp(args: argparse.Namespace) -> None:
    from courseline.collectors.identify import sample_file
    from courseline.parsers import SourceFile
    from courseline.parsers.whatsapp import WhatsAppChatParser

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="courseline-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    (root / "case.toml").write_text(WHATSAPP_CASE_TOML, encoding="utf-8")
    chat = root / "WhatsApp Chat with Chris Walker.txt"
    lines = write_whatsapp(chat, args.messages)
    print(f"generated {args.messages:,} messages, {lines:,} lines, "
          f"{chat.stat().st_size / 2**20:.1f} MiB, in {root}")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    count = sum(1 for _ in WhatsAppChatParser().parse(
        SourceFile(chat, chat.name, chat.name, sample_file(chat, chat.name))))
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"parser alone: {count:,} records in {elapsed:.1f} s; {lines / elapsed:,.0f} lines per "
          f"second; peak memory {peak / 1024:.0f} MiB (before: {before / 1024:.0f} MiB)")
    if not args.parse_only:
        _timed_build(root, lines, "lines")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


PHOTOS_CASE_TOML = """\
[case]
reference = "BENCH"
[[person]]
key = "victim"
role = "victim"
identifiers = ["tel:07700 900001"]
[[place]]
name = "Home"
lat = 51.5007
lon = -0.1246
radius_m = 200
[[source]]
path = "DCIM"
owner = "victim"
"""


def write_photos(folder: Path, files: int, pixels: int) -> int:
    """A camera roll of JPEGs with EXIF: every photo has DateTimeOriginal; half have sub-seconds,
    a third an offset, a quarter a GPS position and time; every twentieth has no EXIF at all (a
    saved or sent picture), which the parser only notes (no time). Returns the bytes written."""
    from PIL import Image
    from PIL.ExifTags import GPS, IFD, Base

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    width = max(8, int((pixels * 4 / 3) ** 0.5))
    height = max(8, pixels // width)
    noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    total = 0
    for n in range(files):
        moment = time.gmtime(1_700_000_000 + n * 613)
        block = Image.Exif()
        block[Base.Make], block[Base.Model] = "ExampleCam", f"X{n % 3}"
        sub = block.get_ifd(IFD.Exif)
        sub[Base.DateTimeOriginal] = time.strftime("%Y:%m:%d %H:%M:%S", moment)
        if n % 2:
            sub[Base.SubsecTimeOriginal] = f"{n % 1000:03d}"
        if n % 3 == 0:
            sub[Base.OffsetTimeOriginal] = "+00:00"
        if n % 4 == 0:
            gps = block.get_ifd(IFD.GPSInfo)
            gps.update({GPS.GPSLatitudeRef: "N", GPS.GPSLatitude: (51.0, 30.0, 2.52 + n % 7),
                        GPS.GPSLongitudeRef: "W", GPS.GPSLongitude: (0.0, 7.0, 28.56),
                        GPS.GPSDateStamp: time.strftime("%Y:%m:%d", moment),
                        GPS.GPSTimeStamp: (float(moment.tm_hour), float(moment.tm_min),
                                           float(moment.tm_sec))})
        out = folder / f"IMG_{n:05d}.jpg"
        if n % 20 == 19:
            noise.save(out, "JPEG", quality=85)
        else:
            noise.save(out, "JPEG", quality=85, exif=block.tobytes())
        total += out.stat().st_size
    return total


def _stage_timer(pipeline_module) -> dict[str, float]:
    """Wrap the build's stages (collect, re-hash, parse, seal) to time each; returns the totals,
    filled as the build runs. The seal stage is ``write_timeline`` (ordering, attribution,
    course of conduct, the hash chain and the output files)."""
    spent: dict[str, float] = {}

    def timed(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
        setattr(owner, name, wrapper)

    timed(pipeline_module.CasePipeline, "collect_all",
          "collect (hash, store, identify; a worker reads the photos meanwhile)")
    timed(pipeline_module.CasePipeline, "check_evidence", "re-hash evidence")
    timed(pipeline_module.CasePipeline, "parse_all",
          "parse (read what was not read ahead, store rows)")
    timed(pipeline_module, "write_timeline", "seal and write the timeline")
    return spent


def _photo_parser_rate(folder: Path) -> None:
    """The image parser alone (identify, read, hash, EXIF), before the build."""
    from courseline.collectors.identify import sample_file
    from courseline.parsers import SourceFile
    from courseline.parsers.media import ImageParser

    files = sorted(folder.iterdir())
    start = time.perf_counter()
    records = 0
    for path in files:
        source = SourceFile(path, path.name, path.name, sample_file(path, path.name))
        records += sum(1 for _ in ImageParser().parse(source))
    elapsed = time.perf_counter() - start
    print(f"parser alone (identify, read, hash, EXIF): {len(files) / elapsed:,.0f} images per "
          f"second ({records:,} records)")


def bench_photos(args: argparse.Namespace) -> None:
    from courseline import pipeline as pipeline_module

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="courseline-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    (root / "case.toml").write_text(PHOTOS_CASE_TOML, encoding="utf-8")
    size = write_photos(root / "DCIM", args.files, args.pixels)
    print(f"generated {args.files:,} JPEGs with EXIF ({size / 2**20:.1f} MiB, "
          f"{size / args.files / 1024:.1f} KiB each) in {root}")
    _photo_parser_rate(root / "DCIM")
    spent = _stage_timer(pipeline_module)
    start = time.perf_counter()
    _timed_build(root, args.files, "images")
    elapsed = time.perf_counter() - start
    for label, seconds in spent.items():
        print(f"  {label}: {seconds:.2f} s ({seconds / elapsed:.0%})")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


def _built_phone_case(events: int) -> Path:
    root = Path(tempfile.mkdtemp(prefix="courseline-bench-report-"))
    (root / "case.toml").write_text(ANDROID_CASE_TOML, encoding="utf-8")
    write_android(root / "phone", events)
    with CasePipeline(load_case(root)) as pipeline:
        result = pipeline.build()
    print(f"built a case of {result.events:,} events in {root} (not timed)")
    return root


def _timed_report(root: Path, pdf: bool) -> None:
    from courseline.report import render_report

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    paths = render_report(load_case(root), root / "out", pdf=pdf)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    target = next(p for p in paths if p.suffix == (".pdf" if pdf else ".html"))
    print(f"{target.name}: {elapsed:.1f} s (HTML{' and PDF' if pdf else ''}), "
          f"{target.stat().st_size / 2**20:.1f} MiB; peak memory {peak / 1024:.0f} MiB "
          f"(before: {before / 1024:.0f} MiB)")


def bench_report(args: argparse.Namespace) -> None:
    for events, pdf in ((args.events, False), (args.pdf_events, True)):
        if not events:
            continue
        root = _built_phone_case(events)
        _timed_report(root, pdf)
        shutil.rmtree(root, ignore_errors=True)


def _machine_speed() -> None:
    """A fixed piece of Python work, timed on each processor at once right after the benchmark:
    shared machines slow down for minutes at a time, and figures are comparable only between
    runs where this is too."""
    with ProcessPoolExecutor(2) as pool:
        seconds = list(pool.map(_additions, [10_000_000] * 2))
    print(f"machine: 10 million additions took {' and '.join(f'{s:.2f}' for s in seconds)} s "
          f"on two processors at once (about 0.35 s on this project's 2-core machine when quiet)")


def _additions(count: int) -> float:
    start, total = time.perf_counter(), 0
    for number in range(count):
        total += number
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    email = sub.add_parser("email", help="an mbox of generated e-mails")
    email.add_argument("--messages", type=int, default=20_000)
    email.add_argument("--attachment-every", type=int, default=10,
                       help="every Nth message carries an attachment (0: none)")
    email.add_argument("--keep", help="build the case in this folder and keep it")
    android = sub.add_parser("android", help="a generated Android mmssms.db and calllog.db")
    android.add_argument("--rows", type=int, default=100_000)
    android.add_argument("--keep", help="build the case in this folder and keep it")
    whatsapp = sub.add_parser("whatsapp", help="a generated WhatsApp chat export")
    whatsapp.add_argument("--messages", type=int, default=100_000)
    whatsapp.add_argument("--parse-only", action="store_true",
                          help="measure the parser alone, without building the case")
    whatsapp.add_argument("--keep", help="build the case in this folder and keep it")
    photos = sub.add_parser("photos", help="a generated camera roll of JPEGs with EXIF")
    photos.add_argument("--files", type=int, default=5_000)
    photos.add_argument("--pixels", type=int, default=48 * 36,
                        help="pixels per picture (the default makes files of a few KiB; a "
                             "phone's are 12 million)")
    photos.add_argument("--keep", help="build the case in this folder and keep it")
    report = sub.add_parser("report", help="the report of a generated case of phone records")
    report.add_argument("--events", type=int, default=100_000,
                        help="events of the case whose HTML report is timed (0: skip)")
    report.add_argument("--pdf-events", type=int, default=10_000,
                        help="events of the case whose PDF is timed (0: skip)")
    args = parser.parse_args(argv)
    {"email": bench_email, "android": bench_android, "whatsapp": bench_whatsapp,
     "photos": bench_photos, "report": bench_report}[args.what](args)
    _machine_speed()   # after: its processes must not count as the build's workers


if __name__ == "__main__":
    sys.exit(main())
