"""Fixtures for the parser tests: builders for synthetic e-mail data (the ``kit`` fixture) and a
hang guard.

Synthetic people only: addresses at example.org / example.net, phone numbers in the Ofcom drama
range 07700 900000-900999. The builders live here because the suite runs with
``--import-mode=importlib``, where a test module cannot import a sibling helper module.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from types import ModuleType
from typing import Callable, ContextManager, Iterator

import pytest

from courseline.parsers import SourceFile
from courseline.parsers.eml import EmlParser
from courseline.parsers.mbox import MboxParser
from courseline.timeline.event import Event, Reject
# Offered to tests as kit.png and kit.assert_well_formed (what every record must satisfy).
from tests_support import check_record as assert_well_formed  # noqa: F401
from tests_support import png  # noqa: F401
from tests_support import source_file

VICTIM = "person.a@example.org"
SUSPECT = "x.suspect@example.net"
DATE = "Sat, 02 Mar 2024 21:14:05 +0000"


def message(subject: str = "Hello", text: str = "Call me on 07700 900123.\n",
            sender: str = SUSPECT, to: str = VICTIM, date: str | None = DATE,
            extra: dict[str, str] | None = None) -> EmailMessage:
    """A message built with the stdlib. ``date`` and ``extra`` headers are written verbatim by
    :func:`as_bytes` (the default policy would rewrite a Date header)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = "<m1@example.net>"
    msg.set_content(text)
    verbatim = dict(extra or {})
    if date is not None:
        verbatim = {"Date": date, **verbatim}
    msg.verbatim_headers = verbatim  # type: ignore[attr-defined]
    return msg


def as_bytes(msg: EmailMessage) -> bytes:
    """The message as CRLF bytes, with its verbatim headers first."""
    verbatim = getattr(msg, "verbatim_headers", {})
    head = b"".join(f"{name}: {value}\r\n".encode("utf-8") for name, value in verbatim.items())
    return head + msg.as_bytes(policy=SMTP)


def source_for(tmp_path: Path, name: str, data: bytes) -> SourceFile:
    path = tmp_path / name
    path.write_bytes(data)
    return source_file(path)


def parse_eml(tmp_path: Path, data: bytes, name: str = "message.eml") -> list[Event | Reject]:
    return list(EmlParser().parse(source_for(tmp_path, name, data)))


def parse_mbox(tmp_path: Path, data: bytes, name: str = "mail.mbox") -> list[Event | Reject]:
    return list(MboxParser().parse(source_for(tmp_path, name, data)))


def one_event(records: list[Event | Reject]) -> Event:
    assert len(records) == 1, records
    record = records[0]
    assert isinstance(record, Event), record
    return record


def mbox_entry(raw: bytes, from_line: bytes = b"From x.suspect@example.net Sat Mar  2 21:14:05 2024"
               ) -> bytes:
    """One mboxrd entry: From_ line, the message with '>From ' quoting, a blank line."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    quoted = [b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in lines]
    body = b"\n".join(quoted)
    if not body.endswith(b"\n"):
        body += b"\n"
    return from_line + b"\n" + body + b"\n"


HANG_SECONDS = 30


class Hang(BaseException):
    """Not an Exception: the parsers turn every Exception into a reject, a hang must not be."""


@contextmanager
def _guard(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Fail when the block takes more than ``seconds``: a hang guard, not a timing assertion."""

    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds} s: the parser hangs or blows up")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def hang_guard() -> Callable[..., ContextManager[None]]:
    return _guard


@pytest.fixture
def kit() -> ModuleType:
    """The builders above (``kit.message(...)``, ``kit.parse_eml(...)``…)."""
    return sys.modules[__name__]
