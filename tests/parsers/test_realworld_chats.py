"""Conformance: every file in the chat folders of ../shared/realworld is either read by the
parser meant for it, with its message count and no rejects, or (another project's
expected-output file, a note) read by none. A file added to those folders and not listed here
fails the test, so nothing there goes unchecked."""

from __future__ import annotations

from pathlib import Path

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile, parser_for
from tests_support import events, rejects

REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"
CHAT_FOLDERS = ("whatsapp", "telegram", "facebook", "instagram", "signal", "google_takeout")

# path below realworld → (parser NAME or None when the file is not an export, events)
EXPECTED: dict[str, tuple[str | None, int]] = {
    "whatsapp/chatminer_test_[mmddyy]_24hrs.txt": ("whatsapp-txt", 9),
    "whatsapp/chatminer_test_ddmmyy_24hrs.txt": ("whatsapp-txt", 9),
    "whatsapp/chatminer_test_mmddyy_24hrs.txt": ("whatsapp-txt", 9),
    "whatsapp/chatminer_test_mmddyyyy_12hrs.txt": ("whatsapp-txt", 9),
    "whatsapp/chatminer_test_yyyymmdd_24hrs.txt": ("whatsapp-txt", 9),
    "whatsapp/chatminer_target.json": (None, 0),
    "telegram/chatminer_tg_single_export.json": ("telegram-json", 2),
    "telegram/chatminer_tg_batch_export.json": ("telegram-json", 2),
    "telegram/chatminer_tg_target.json": (None, 0),
    "facebook/chatminer_fb_testlog.json": ("meta-messages-json", 2),
    "facebook/chatminer_fb_target.json": (None, 0),
    "instagram/chatminer_ig_test_export.json": ("meta-messages-json", 2),
    "instagram/chatminer_ig_testlog_mojibake.json": ("meta-messages-json", 13),
    "instagram/chatminer_ig_testlog_target.csv": (None, 0),
    "signal/chatminer_signal_export.txt": ("signal-export-txt", 2),
}


def _files() -> list[str]:
    if not REALWORLD.is_dir():
        return []
    return sorted(str(p.relative_to(REALWORLD)) for folder in CHAT_FOLDERS
                  for p in (REALWORLD / folder).rglob("*") if p.is_file())


def test_every_chat_file_is_listed_here():
    if not REALWORLD.is_dir():
        pytest.skip("../shared/realworld is not beside the project")
    assert sorted(set(_files()) - set(EXPECTED)) == []
    assert sorted(set(EXPECTED) - set(_files())) == []


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_real_chat_file(relative):
    path = REALWORLD / relative
    if not path.exists():
        pytest.skip("../shared/realworld is not beside the project")
    parser_name, count = EXPECTED[relative]
    sample = sample_file(path, path.name)
    parser = parser_for(sample)
    assert (parser.NAME if parser else None) == parser_name
    if parser is None:
        return
    siblings = {p.name: p for p in path.parent.iterdir()}
    items = list(parser().parse(SourceFile(path, relative, path.name, sample,
                                           related=lambda rel: siblings.get(rel))))
    for item in events(items):
        item.check()
    assert rejects(items) == []
    assert len(events(items)) == count
