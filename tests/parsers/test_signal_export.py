"""Signal chats written as text by signal-export: synthetic files and chat-miner's real one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import SourceFile, parser_for
from courseline.parsers.signal_export import SignalExportParser
from tests_support import events, rejects

REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"


def parse(path: Path) -> list:
    sample = sample_file(path, path.name)
    assert parser_for(sample) is SignalExportParser
    items = list(SignalExportParser().parse(SourceFile(path, path.name, path.name, sample)))
    for item in events(items):
        item.check()
    return items


def test_messages_authors_and_continuation_lines(tmp_path):
    path = tmp_path / "chat.txt"
    path.write_text("[2024-09-20, 23:11] Chris Walker: You blocked me\nagain\n\n"
                    "[2024-09-21, 07:02] Sam Taylor: Stop.\n", encoding="utf-8")
    first, second = events(parse(path))
    assert (first.platform, first.sender, first.recipients) == (
        "signal", "name:Chris Walker", ["name:Sam Taylor"])
    assert first.text == "You blocked me\nagain"
    assert first.time.value == datetime(2024, 9, 20, 23, 11)
    assert (first.time.basis, first.time.precision) == ("local", "min")
    assert second.recipients == ["name:Chris Walker"] and second.locator == "line:4"


def test_stray_text_and_impossible_dates_are_rejects(tmp_path):
    path = tmp_path / "chat.txt"
    path.write_text("[2024-09-20, 23:11] Chris: a\n[2024-02-30, 10:00] Chris: b\n", encoding="utf-8")
    (reject,) = rejects(parse(path))
    assert reject.locator == "line:2" and "not a date and time" in reject.reason


def test_whatsapp_lines_with_seconds_are_left_to_whatsapp(tmp_path):
    path = tmp_path / "_chat.txt"
    path.write_text("[2024-09-20, 23:11:05] Chris: a\n", encoding="utf-8")
    assert parser_for(sample_file(path, path.name)).NAME == "whatsapp-txt"


def test_real_signal_export():
    path = REALWORLD / "signal" / "chatminer_signal_export.txt"
    if not path.exists():
        pytest.skip("../shared/realworld is not beside the project")
    items = parse(path)
    found = events(items)
    assert not rejects(items) and len(found) == 2
    assert found[1].text == "Hello\nJane!"
    assert found[0].sender == "name:Jane Doe" and found[0].recipients == ["name:John Doe"]


def test_a_message_longer_than_the_bound_is_cut_and_flagged(tmp_path, monkeypatch):
    import courseline.parsers.signal_export as module

    monkeypatch.setattr(module, "MAX_TEXT_CHARS", 40)
    path = tmp_path / "chat.txt"
    path.write_text("[2024-09-20, 23:11] Chris: start\n" + "more words here\n" * 10 +
                    "[2024-09-20, 23:12] Chris: next\n", encoding="utf-8")
    first, second = events(parse(path))
    assert first.flags == ["truncated"] and len(first.text) <= 40
    assert second.text == "next" and second.flags == []
