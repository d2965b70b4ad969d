"""Folder names, journal fields and pointer paths with terminal control characters, in a real app.

A models folder whose names carry ESC sequences (clear screen, set the terminal title), BEL,
a newline, a C1 CSI, a right-to-left override, bytes that are not UTF-8 and Textual markup,
and a pointer and journal whose who, host, why and paths hold the same. The app is driven
through every screen that shows them; each time the frame it would send to the terminal
(`App.export_screenshot`, the compositor's full frame) must hold no character a terminal
acts on, while the escaped form (`\\x1b[2J`) is there for the operator to read.
"""

from __future__ import annotations

import html
import json
import os
import re

import pytest
from tui_support import FROZEN_NOW, async_test, build_workspace, settle

from kalshi_tui.core.safe_text import printable
from kalshi_tui.tui.app import KalshiTuiApp
from kalshi_tui.tui.backend import Backend
from kalshi_tui.tui.dialogs.confirm import ReasonDialog, RefusedDialog
from kalshi_tui.tui.screens.compare import CompareScreen
from kalshi_tui.tui.screens.history import HistoryScreen, history_rows
from kalshi_tui.tui.widgets.model_list import ModelList

EVIL = "evil\x1b[2J\x1b]0;pwned\x07"  # clears the screen, then sets the terminal's title
NEWLINE = "nl\nok: the trader will load"  # fakes a line of output
BELL = "bell\x07ring"
C1 = "c1\x9b31mred"  # CSI as one C1 character: red text on 8-bit terminals
RTL = "rtl\u202eexe.zip_"  # shows its tail reversed
NOT_UTF8 = os.fsdecode(b"bad\xff\xfe_ppo")  # how Python names a folder that is not UTF-8
MARKUP = "[@click=app.quit]markup"
LEGACY = "legacy\x1b[31m5act"  # incompatible: the refusal and force dialogs name it
WHO = "op\x1b[2J\x1b]0;pwned\x07er"
WHY = "why\x1b]0;title\x07 fake\u009b31m\u202e [@click=app.quit]x"
HOST = "h\x1b[2Jost\x07"

HOSTILE_DIRS = (EVIL, NEWLINE, BELL, C1, RTL, NOT_UTF8, MARKUP)
# What the operator must see instead of the raw characters.
SHOWN = {
    EVIL: "evil\\x1b[2J\\x1b]0;pwned\\x07",
    NEWLINE: "nl\\nok: the trader",
    BELL: "bell\\x07ring",
    C1: "c1\\x9b31mred",
    RTL: "rtl\\u202eexe.zip_",
    NOT_UTF8: "bad\\udcff\\udcfe_ppo",
    MARKUP: "[@click=app.quit]markup",
    LEGACY: "legacy\\x1b[31m5act",
}
# Characters a terminal acts on or reorders: C0 (newline too: a screen line never holds
# one), DEL, C1, the bidi embeddings, overrides and isolates, and lone surrogates.
ACTED_ON = ({chr(c) for c in range(0x20)} | {"\x7f"} | {chr(c) for c in range(0x80, 0xA0)}
            | set("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def frame_text(app) -> str:
    """The text of every cell the app would paint now, from its own screenshot of the frame."""
    svg = app.export_screenshot()
    cells = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return "\n".join(html.unescape(cell).replace("\xa0", " ") for cell in cells)


def assert_frame_safe(app, *expected: str) -> str:
    text = frame_text(app)
    raw = sorted({repr(c) for c in text if c in ACTED_ON or 0xD800 <= ord(c) <= 0xDFFF} - {"'\\n'"})
    assert not raw, f"{type(app.screen).__name__}: raw characters reach the terminal: {raw}"
    # A newline from a name would start a line of its own: the frame would grow past the screen.
    lines = {
        int(n)
        for n in re.findall(r'clip-path="url\(#[\w-]*?-line-(\d+)\)"', app.export_screenshot())
    }
    assert max(lines) < app.size.height, (
        f"{max(lines) + 1} lines on a {app.size.height}-line screen"
    )
    for needle in expected:
        assert needle in text, f"{type(app.screen).__name__}: {needle!r} not shown\n{text[:3000]}"
    return text


async def painted(app, pilot, needle: str, tries: int = 60) -> None:
    """Wait (up to ~3 s of frames) until `needle` is painted: a toast or the palette's hits
    arrive a few frames after the key."""
    for _ in range(tries):
        if needle in frame_text(app):
            return
        await pilot.pause(0.05)


@pytest.fixture
def hostile(tmp_path, model_zoo, monkeypatch):
    layout = {f"{name}/model.zip": "ppo21" for name in HOSTILE_DIRS}
    layout["good_ppo/model.zip"] = "ppo21"
    layout[f"{LEGACY}/model.zip"] = "ppo5"
    workspace = build_workspace(tmp_path / "ws", model_zoo, layout=layout)
    # Two real promotes by a user whose name holds the sequences, with such a reason.
    monkeypatch.setenv("LOGNAME", WHO)
    backend = Backend(workspace.config())
    records = {r.path: r for r in backend.scan()[0]}
    backend.promote(records[f"{EVIL}/model.zip"], WHY, expect_revision=0)
    backend.promote(records["good_ppo/model.zip"], "again: " + WHY, expect_revision=1)
    # A journal written elsewhere: a host name with the sequences (older records are history only).
    lines = workspace.journal.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["host"] = HOST
    lines[0] = json.dumps(first)
    workspace.journal.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return workspace


def make_app(workspace) -> KalshiTuiApp:
    return KalshiTuiApp(workspace.config(), clock=lambda: FROZEN_NOW, poll=False)


async def select(app, pilot, name: str) -> None:
    assert app.query_one(ModelList).select_path(f"{name}/model.zip"), name
    await settle(app, pilot)


@async_test
async def test_list_panes_and_header_show_hostile_names_escaped(hostile):
    app = make_app(hostile)
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(app, pilot)
        # Every name in the list, and the header's who and why.
        assert_frame_safe(app, *SHOWN.values(), printable(WHO), "why\\x1b]0;title")
        for name in (EVIL, NEWLINE, RTL, NOT_UTF8, LEGACY):
            await select(app, pilot, name)
            for tab in ("1", "2", "3", "4"):
                await pilot.press(tab)
                await settle(app, pilot)
                assert_frame_safe(app, SHOWN[name])
        # The filter matches what is shown: the escape as typed.
        await pilot.press("slash", *"evil\\x1b", "enter")
        await settle(app, pilot)
        models = app.query_one(ModelList)
        # The current model stays pinned first; the filter narrows the rest.
        assert [r.name for r in models.rows if r.path != models.current_path] == [EVIL]
        assert_frame_safe(app, SHOWN[EVIL])
        assert app.is_running  # the [@click=app.quit] name stayed text


@async_test
async def test_history_shows_journal_fields_escaped(hostile):
    app = make_app(hostile)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("H")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen)
        assert_frame_safe(app, printable(WHO)[:20], "why\\x1b]0;title\\x07 fake\\x9b31m\\u202e",
                          f"{SHOWN[EVIL]}/model.zip")
        # The Who column is cut at 24 cells on screen; the host is in the cell, escaped.
        cells = [cell.plain for row in history_rows(app.screen.records, FROZEN_NOW) for cell in row]
        assert f"{printable(WHO)}@{printable(HOST)}" in cells


@async_test
async def test_dialogs_compare_palette_and_toasts_show_hostile_names_escaped(hostile):
    app = make_app(hostile)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        await settle(app, pilot)
        # Promote dialog: title, from/to; then a promote through it, and its toast.
        await select(app, pilot, EVIL)
        await pilot.press("P")
        await settle(app, pilot)
        assert isinstance(app.screen, ReasonDialog)
        assert_frame_safe(app, f"Promote {SHOWN[EVIL]}?", f"{SHOWN[EVIL]}/model.zip")
        await pilot.press(*"third", "enter", "enter")
        await settle(app, pilot)
        assert json.loads(hostile.pointer.read_text())["kalshi_tui"]["revision"] == 3
        # The toast (it may wrap) names the model; the frame holding it is safe.
        toast = assert_frame_safe(app, "Pointer changed", "Promoted")
        assert toast.count(SHOWN[EVIL]) >= 2  # the header's current model and the toast

        # Rollback dialog: from the hostile model, skipping nothing.
        await pilot.press("R")
        await settle(app, pilot)
        assert isinstance(app.screen, ReasonDialog) and app.screen.id == "rollback-dialog"
        assert_frame_safe(app, f"from      {SHOWN[EVIL]}/model.zip")
        await pilot.press("escape")
        await settle(app, pilot)

        # Refusal and force dialogs of the incompatible model.
        await select(app, pilot, LEGACY)
        await pilot.press("P")
        await settle(app, pilot)
        assert isinstance(app.screen, RefusedDialog)
        assert_frame_safe(app, f"Promote of {SHOWN[LEGACY]} refused")
        await pilot.click("#force")
        await settle(app, pilot)
        assert app.screen.id == "force-dialog"
        assert_frame_safe(app, f"FORCE promote {SHOWN[LEGACY]}?")
        await pilot.press("escape")
        await settle(app, pilot)

        # Compare: the not-UTF-8 name beside the right-to-left one.
        await select(app, pilot, NOT_UTF8)
        await pilot.press("m")
        await select(app, pilot, RTL)
        await pilot.press("m", "C")
        await settle(app, pilot)
        assert isinstance(app.screen, CompareScreen)
        assert_frame_safe(app, SHOWN[NOT_UTF8], SHOWN[RTL])
        await pilot.press("escape")
        await settle(app, pilot)

        # The palette names models in its titles and help lines.
        await pilot.press("colon", *"c1")
        await settle(app, pilot)
        await painted(app, pilot, f"Go to model {SHOWN[C1]}")
        assert_frame_safe(app, f"Go to model {SHOWN[C1]}")
        await pilot.press("escape")
        await settle(app, pilot)

        # A toast from a name (smoke test), and one built from a file with markup in its name.
        await select(app, pilot, MARKUP)
        await pilot.press("T")
        await painted(app, pilot, f"Smoke-testing {MARKUP}")
        assert_frame_safe(app, f"Smoke-testing {MARKUP}")
        await settle(app, pilot)
        assert app.is_running


@async_test
async def test_a_hostile_pointer_path_is_escaped_in_the_header_alarm(hostile):
    doc = json.loads(hostile.pointer.read_text())
    doc["current_model"]["full_path"] = f"trained_models/{EVIL}/gone\n.zip"
    hostile.pointer.write_text(json.dumps(doc), encoding="utf-8")
    app = KalshiTuiApp(hostile.config(), clock=lambda: FROZEN_NOW, poll=False, read_only=True)
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(app, pilot)
        text = assert_frame_safe(app, "gone\\n.zip")
        assert "ALARM" in text
