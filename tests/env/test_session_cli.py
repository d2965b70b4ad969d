"""`kalshi-tui sessions list / generate`, run in-process through the real CLI entry point."""

from __future__ import annotations

import json
import sqlite3

from kalshi_tui.cli import main


def test_generate_then_list_json(tmp_path, capsys):
    out = tmp_path / "store.db"
    assert main(["sessions", "generate", "--out", str(out), "--sessions", "3-4,9",
                 "--seed", "2", "--markets", "2"]) == 0
    assert "wrote 3 session(s)" in capsys.readouterr().out
    assert main(["sessions", "list", "--db", str(out), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in listed["sessions"]] == [3, 4, 9]
    db = sqlite3.connect(out)
    for session in listed["sessions"]:
        assert session["markets"] == 2
        assert session["deltas"] == db.execute("SELECT COUNT(*) FROM rl_orderbook_deltas WHERE "
                                               "session_id=?", (session["id"],)).fetchone()[0]
        assert session["start"] < session["end"]


def test_list_defaults_to_the_configured_store(tmp_path, capsys, monkeypatch):
    store = tmp_path / "mine.db"
    main(["sessions", "generate", "--out", str(store), "--sessions", "12", "--markets", "1"])
    config = tmp_path / "kalshi_tui.toml"
    config.write_text(f'[paths]\nsessions_db = "{store.name}"\n')
    capsys.readouterr()
    assert main(["sessions", "list", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert str(store) in text and "\n     12        1" in text


def test_list_bundled_store_table(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no kalshi_tui.toml here: defaults, the bundled store
    monkeypatch.delenv("KALSHI_TUI_CONFIG", raising=False)
    assert main(["sessions", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:4] == ["session", "markets", "snapshots", "deltas"]
    assert {line.split()[0] for line in lines[2:]} >= {"5", "6", "7", "8", "9", "10", "32"}


def test_bad_store_is_one_line_and_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.db"
    sqlite3.connect(bad).execute("CREATE TABLE unrelated (x)").connection.close()
    assert main(["sessions", "list", "--db", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(bad) in err and "missing table" in err
    assert main(["sessions", "list", "--db", str(tmp_path / "absent.db")]) == 1
    assert "not found" in capsys.readouterr().err


def test_generate_refuses_a_bad_session_list(tmp_path, capsys):
    assert main(["sessions", "generate", "--out", str(tmp_path / "x.db"), "--sessions", "7-x"]) == 2
    assert "--sessions" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


def test_generate_into_a_file_that_is_not_a_store_is_one_line(tmp_path, capsys):
    target = tmp_path / "notes.db"
    target.write_text("meeting notes, not a database " * 50)
    assert main(["sessions", "generate", "--out", str(target), "--sessions", "5"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(target) in err and "cannot write a session store" in err
    assert target.read_text().startswith("meeting notes")  # nothing lost


def test_generate_refuses_to_overwrite_sessions_without_replace(tmp_path, capsys):
    out = tmp_path / "store.db"
    assert (
        main(["sessions", "generate", "--out", str(out), "--sessions", "5-6", "--markets", "1"])
        == 0
    )
    before = sqlite3.connect(out).execute("SELECT COUNT(*) FROM rl_orderbook_deltas").fetchone()[0]
    capsys.readouterr()
    assert main(["sessions", "generate", "--out", str(out), "--sessions", "6-7", "--markets", "2",
                 "--seed", "9"]) == 3
    assert "already holds session 6" in capsys.readouterr().err
    db = sqlite3.connect(out)
    assert db.execute("SELECT COUNT(*) FROM rl_orderbook_deltas").fetchone()[0] == before
    assert main(["sessions", "generate", "--out", str(out), "--sessions", "7"]) == 0  # new id: fine
    assert main(["sessions", "generate", "--out", str(out), "--sessions", "6", "--markets", "2",
                 "--replace"]) == 0
    markets = json.loads(db.execute("SELECT market_tickers FROM rl_orderbook_sessions "
                                    "WHERE session_id=6").fetchone()[0])
    assert len(markets) == 2
