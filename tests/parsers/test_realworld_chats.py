"""Conformance: every file in the chat folders of ../shared/realworld is either read by the
parser meant for it, with its message count and no rejects, or (another project's
expected-output file, a note) read by none. A file added to those folders and not listed here
fails the test, so nothing there goes unchecked."""

from __future__ import annotations

from pathlib import Path

import pytest

from courseline.collectors.identify import sample_file
from courseline.parsers import parser_for
from tests_support import checked, events, rejects, source_file

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
    'google_takeout/chat/wjcarpenter/Google Chat/Groups/DM 1pRI-QAAAAE/group_info.json': (None, 0),
    'google_takeout/chat/wjcarpenter/Google Chat/Groups/DM 1pRI-QAAAAE/messages.json': ('google-chat-json', 51),
    'google_takeout/chat/wjcarpenter/Google Chat/Groups/DM 2k64eoAAAAE/group_info.json': (None, 0),
    'google_takeout/chat/wjcarpenter/Google Chat/Groups/DM 2k64eoAAAAE/messages.json': ('google-chat-json', 2),
    'google_takeout/chat/wjcarpenter/Google Chat/Groups/Space AAAATeQdkhI/group_info.json': (None, 0),
    'google_takeout/chat/wjcarpenter/Google Chat/Groups/Space AAAATeQdkhI/messages.json': ('google-chat-json', 9),
    'google_takeout/chat/wjcarpenter/Google Chat/Groups/Space AAAAdvGdRgs/group_info.json': (None, 0),
    'google_takeout/chat/wjcarpenter/Google Chat/Groups/Space AAAAdvGdRgs/messages.json': ('google-chat-json', 5),
    'google_takeout/voice/psanford_missedcall.html': ('google-voice-html', 1),
    'google_takeout/voice/psanford_mms.html': ('google-voice-html', 6),
    'google_takeout/voice/psanford_sms.html': ('google-voice-html', 5),
    'google_takeout/voice/psanford_sms2.html': ('google-voice-html', 6),
    'google_takeout/voice/psanford_voicemail.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/TEST_DATA.md': (None, 0),
    'google_takeout/voice/wjcarpenter/Voice/Calls/ - Placed - 2013-07-29T20_56_11Z.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/+17323215555 - Missed - 2016-11-22T17_57_49Z.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/+17323215555 - Received - 2016-11-22T22_27_58Z.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/+17323216666 - Placed - 2011-09-03T20_12_00Z.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/+17323217777 - Text - 2021-01-22T01_33_43Z-5-1.vcf': (None, 0),
    'google_takeout/voice/wjcarpenter/Voice/Calls/+17323217777 - Text - 2021-01-22T01_33_43Z.html': ('google-voice-html', 5),
    'google_takeout/voice/wjcarpenter/Voice/Calls/+17323218888 - 2015-03-20T03_59_29Z.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/+17323218888 - 2015-03-23T00_35_56Z.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/17323211010 - Received - 2018-07-30T22_31_33Z.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Agatha M Christie - Text - 2023-10-22T17_28_34Z.html': ('google-voice-html', 4),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Alan A Milne - Text - 2023-09-29T23_40_59Z-1-1.jpg': ('image-exif', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Alan A Milne - Text - 2023-09-29T23_40_59Z.html': ('google-voice-html', 3),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Albert Einstein - Recorded - 2019-05-22T18_18_56Z.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Edson Arantes do Nascimento - Text - 2023-09-20T00_54_54Z.html': ('google-voice-html', 2),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Edson Arantes do Nascimento - Text - 2023-09-20T14_41_11Z.html': ('google-voice-html', 18),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Edson Arantes do Nascimento - Text - 2023-09-21T17_04_39Z.html': ('google-voice-html', 2),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Edson Arantes do Nascimento - Voicemail - 2014-05-17T02_54_27Z.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Edson Arantes do Nascimento - Voicemail - 2016-05-01T00_16_43Z.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Group Conversation - 2021-07-13T21_25_26Z-3-1.vcf': (None, 0),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Group Conversation - 2021-07-13T21_25_26Z.html': ('google-voice-html', 3),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Group Conversation - 2021-12-20T22_35_28Z.html': ('google-voice-html', 1),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Group Conversation - 2023-10-01T15_30_41Z.html': ('google-voice-html', 8),
    'google_takeout/voice/wjcarpenter/Voice/Calls/Group Conversation - 2023-10-01T19_34_50Z.html': ('google-voice-html', 20),
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
    items = checked(parser().parse(source_file(path, relative, siblings)))
    assert rejects(items) == []
    assert len(events(items)) == count
