"""Speed and memory of courseline on a generated case. Run by hand; never part of the tests.

    python benchmarks/run.py email --messages 20000
    python benchmarks/run.py email --messages 200000 --keep /tmp/bench-case

Prints messages per second end to end (collect → parse → merge → sealed timeline) and the peak
resident memory of the process. The mbox is generated, streamed to disk, before timing starts.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
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


def bench_email(args: argparse.Namespace) -> None:
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="courseline-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    (root / "case.toml").write_text(CASE_TOML, encoding="utf-8")
    size = write_mbox(root / "mail.mbox", args.messages, args.attachment_every)
    print(f"generated {args.messages} messages, {size / 2**20:.1f} MiB, in {root}")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with CasePipeline(load_case(root)) as pipeline:
        result = pipeline.build()
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"events sealed: {result.events}, rejected: {result.rejected}")
    print(f"time: {elapsed:.1f} s; {args.messages / elapsed:.0f} messages per second end to end")
    print(f"peak memory: {peak / 1024:.0f} MiB (before the build: {before / 1024:.0f} MiB)")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    email = sub.add_parser("email", help="an mbox of generated e-mails")
    email.add_argument("--messages", type=int, default=20_000)
    email.add_argument("--attachment-every", type=int, default=10,
                       help="every Nth message carries an attachment (0: none)")
    email.add_argument("--keep", help="build the case in this folder and keep it")
    args = parser.parse_args(argv)
    if args.what == "email":
        bench_email(args)


if __name__ == "__main__":
    sys.exit(main())
