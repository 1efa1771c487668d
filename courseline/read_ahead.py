"""Reading small files while the export they belong to is still being collected.

A camera roll is thousands of small files, and collecting one (hashing it, copying it into the
evidence store, identifying it) costs about as much as reading it. So, once an export has shown
that it holds many small files, a worker process reads each one soon after it is collected, on
another processor, while this process collects the next. What the worker read is held here until
the parse stage, which stores it in the order of the case, in the same transaction and with the
same audit entry as a file it reads itself: the case database cannot tell the difference.

What is read ahead is only ever a head start, never a different reading:

* a parser that asks for another file of the export (a database's write-ahead log, a chat's
  media) is not taken from here: the export was not complete when it was read, so the parse
  stage reads it again;
* a reading is taken only under the parse key it was read with (parser, version, settings);
* SQLite files and files of 1 MiB or more are not read ahead, nor is anything once what is held
  reaches ``MAX_HELD_BYTES``, or after a worker failed (killed, or a parser's error: the parse
  stage meets that error where a build in one process would). The parse stage reads them.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from courseline.reading import ReadJob, ReadOutcome, read_rows, worker_pool
from courseline.timeline.records import SourceSettings

MIN_FILES = 400
"""A worker is started once an export has offered this many small files: it takes a fraction of
a second to start, which fewer files would not repay."""

BATCH_FILES = 50
"""Files sent to the worker at a time: enough to make sending them cheap, few enough that it
never waits long for the next."""

MAX_HELD_BYTES = 64 * 1024 * 1024
"""Rows held until the parse stage stops here (about 40,000 photos); the rest is read then."""


@dataclass
class Held:
    """One source read ahead: its outcome and rows, read under ``key``."""

    key: str
    settings: SourceSettings
    outcome: ReadOutcome
    events: list[tuple]
    rejects: list[tuple]


class ReadAhead:
    """Small files offered as they are collected, read by ``workers`` processes (none: off)."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._offered = 0
        self._waiting: list[tuple[int, str, ReadJob]] = []
        self._sent: deque[tuple[list[tuple[int, str, SourceSettings]], Future]] = deque()
        self._held: dict[int, Held] = {}
        self._held_bytes = 0
        self._stopped = workers < 1
        self._stack = ExitStack()
        self._pool: Any = None

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def offer(self, source_id: int, key: str, job: ReadJob) -> None:
        """A small file just collected (its row in the case database is ``source_id``)."""
        if self._stopped:
            return
        self._offered += 1
        self._waiting.append((source_id, key, job))
        if self._pool is None and self._offered >= MIN_FILES:
            self._pool = self._stack.enter_context(worker_pool(self._workers))
        if self._pool is not None and len(self._waiting) >= BATCH_FILES:
            self._send()
        self._gather(wait=False)

    def finish(self) -> None:
        """Collection is over: wait for what the workers are reading, then let them go. Files
        offered before any worker started are left for the parse stage."""
        if self._pool is not None and not self._stopped:
            self._send()
            self._gather(wait=True)
        self._waiting = []
        self._stack.close()
        self._pool = None

    def take(self, source_id: int, key: str) -> Held | None:
        """What was read ahead of this source under this parse key, or None: read it now."""
        held = self._held.pop(source_id, None)
        return held if held is not None and held.key == key else None

    def _send(self) -> None:
        if not self._waiting:
            return
        try:
            future = self._pool.submit(read_rows, [job for _, _, job in self._waiting])
        except BrokenProcessPool:
            self._stop()
            return
        self._sent.append(([(source_id, key, job.settings) for source_id, key, job in self._waiting],
                           future))
        self._waiting = []

    def _gather(self, wait: bool) -> None:
        """Hold what the workers have read, in the order it was sent."""
        while self._sent and (wait or self._sent[0][1].done()):
            sources, future = self._sent.popleft()
            try:
                read = future.result()
            except Exception:   # noqa: BLE001 - a worker killed (out of memory, a signal), or a
                # parser's error: never the collection's. The parse stage reads these files and
                # meets the error where a build with one process would.
                self._stop()
                return
            for (source_id, key, settings), (outcome, events, rejects) in zip(sources, read,
                                                                               strict=True):
                if outcome.looked_beside:
                    continue
                self._held[source_id] = Held(key, settings, outcome, events, rejects)
                self._held_bytes += (sum(len(row[5]) + len(row[6]) for row in events)
                                     + sum(len(row[1]) + len(row[2]) for row in rejects))
            if self._held_bytes >= MAX_HELD_BYTES:
                self._stop()
                return

    def _stop(self) -> None:
        """Read no more ahead; what is held stays held."""
        self._stopped = True
        self._waiting = []
        self._sent.clear()
