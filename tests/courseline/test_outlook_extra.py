"""Without the `outlook` extra, an Outlook .msg or PST in a case is collected, hashed and listed
with parser null and a note naming the extra, and `build` says what to install; with the extra,
the next build reads it. (The extra is installed where the tests run: its absence is made by
naming a module that does not exist as the parsers' need.)"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from courseline.demo_msg import write_msg
from courseline.parsers.outlook_msg import OutlookMsgParser
from courseline.parsers.pst import PstParser
from tests_support import new_case, run_cli


def _case_with_a_msg(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "in"
    folder.mkdir()
    write_msg(folder / "saved.msg", subject="Your car", sender="cw.1983@example.net",
              to=["sam.taylor@example.org"], sent_utc=datetime(2024, 8, 12, 20, 14, 5,
                                                              tzinfo=timezone.utc),
              body="Nice new car.", message_id="<demo-005@mail.example.net>")
    case = new_case(tmp_path / "case", "email:sam.taylor@example.org")
    added = run_cli("add", case, folder, "--owner", "victim")
    assert added.exit_code in (0, 3), added.output    # 3: something needs a look
    return case, added.output


def test_a_msg_without_the_extra_is_listed_with_what_to_install_then_read(tmp_path, monkeypatch):
    for parser in (OutlookMsgParser, PstParser):
        monkeypatch.setattr(parser, "NEEDS", ("courseline_no_such_module",))
    case, added = _case_with_a_msg(tmp_path)
    assert "needs the optional 'outlook' libraries" in added
    result = run_cli("build", case)
    assert result.exit_code == 3, result.output
    assert "needs the optional 'outlook' libraries" in result.output
    assert "pip install 'courseline[outlook]'" in result.output
    source = json.loads((case / "out" / "manifest.json").read_text())["sources"][0]
    assert source["parser"] is None and source["events"] == 0
    assert "courseline[outlook]" in source["note"]

    monkeypatch.undo()   # the extra "installed": the next build reads the file
    result = run_cli("build", case)
    assert result.exit_code == 0, result.output
    source = json.loads((case / "out" / "manifest.json").read_text())["sources"][0]
    assert (source["parser"], source["events"], source["note"]) == ("outlook-msg", 1, None)
