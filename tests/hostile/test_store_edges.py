"""Session stores with infinities, out-of-range numbers and over-deep JSON: bad rows, skipped and
reported."""

from __future__ import annotations

import json
import sqlite3

import pytest

from hostile.hostile_cli import assert_terminal_safe, cli, text_of
from kalshi_tui.env import (
    GeneratorSettings,
    SessionStore,
    StoreError,
    generate_sessions,
    load_tapes,
)


@pytest.fixture(scope="module")
def master_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile_store") / "sessions.db"
    generate_sessions(path, [4, 5], seed=3, markets=2, settings=GeneratorSettings(steps=(60, 90)))
    return path


@pytest.fixture
def store(master_store, tmp_path):
    path = tmp_path / "sessions.db"
    path.write_bytes(master_store.read_bytes())
    return path


def _first_market(path):
    with SessionStore(path) as s:
        return s.markets(4)[0]


def _execute(path, sql, params=()):
    db = sqlite3.connect(path)
    with db:
        db.execute(sql, params)
    db.close()


def _later_delta_id(path, ticker):
    db = sqlite3.connect(path)
    first_seq = db.execute(
        "SELECT MIN(sequence_number) FROM rl_orderbook_snapshots WHERE session_id=4 "
        "AND market_ticker=?",
        (ticker,),
    ).fetchone()[0]
    row = db.execute("SELECT id FROM rl_orderbook_deltas WHERE session_id=4 AND market_ticker=? "
                     "AND sequence_number>? ORDER BY id LIMIT 1", (ticker, first_seq)).fetchone()
    db.close()
    return row[0]


HOSTILE_DELTAS = [
    ("price", 1e999, "price inf is not a finite whole number"),
    ("new_size", 1e999, "new_size inf is not a finite whole number"),
    ("price", "forty", "price 'forty' is not a number"),
    ("old_size", -1e999, "old_size -inf is not a finite whole number"),
    ("new_size", 10 ** 15, "is outside"),
    ("price", 2 ** 62, "is outside"),
    ("timestamp_ms", 1e999, "timestamp_ms inf"),
    ("new_size", 12.5, "not a finite whole number"),
]


def _assert_skipped(path, ticker, words):
    with SessionStore(path) as s:
        with pytest.raises(StoreError) as err:
            s.replay(4, ticker)
        message = str(err.value)
        assert (
            str(path) in message and ticker in message and words in message and "\n" not in message
        )
        tapes, skips = load_tapes(s, [4, 5])
    assert len(tapes) == 3 and len(skips) == 1 and words in skips[0]


@pytest.mark.parametrize(
    "column,value,words", HOSTILE_DELTAS, ids=[f"{c}={v}" for c, v, _ in HOSTILE_DELTAS]
)
def test_a_delta_with_a_hostile_number_is_a_skipped_bad_row(store, column, value, words):
    ticker = _first_market(store)
    _execute(store, f"UPDATE rl_orderbook_deltas SET {column}=? WHERE id=?",
             (value, _later_delta_id(store, ticker)))
    _assert_skipped(store, ticker, words)


@pytest.mark.parametrize("payload,words", [
    ("[" * 100_000 + "]" * 100_000, "at most 65,536 characters"),
    ("[" * 30_000 + "]" * 30_000, "nested too deeply"),
    ('{"40": 1e999}', "size inf"),
    ('{"40": 5e20}', "is outside"),
    ('{"1e999": 5}', "price"),
    ('[1, 2]', "not a JSON {price_cents: size} map"),
], ids=["100k-deep", "30k-deep", "inf-size", "huge-size", "inf-price", "list"])
def test_a_snapshot_with_a_hostile_price_map_is_a_skipped_bad_row(store, payload, words):
    ticker = _first_market(store)
    _execute(
        store,
        "UPDATE rl_orderbook_snapshots SET yes_bids=? WHERE session_id=4 AND market_ticker=?",
        (payload, ticker),
    )
    _assert_skipped(store, ticker, words)


def test_validate_reports_the_bad_rows_and_runs_on_the_rest(store, tmp_path, model_zoo):
    ticker = _first_market(store)
    _execute(store, "UPDATE rl_orderbook_deltas SET price=? WHERE id=?",
             (1e999, _later_delta_id(store, ticker)))
    second = SessionStore(store).markets(5)[0]
    _execute(
        store,
        "UPDATE rl_orderbook_snapshots SET no_bids=? WHERE session_id=5 AND market_ticker=?",
        ("[" * 100_000 + "]" * 100_000, second),
    )
    site = tmp_path / "site"
    (site / "models").mkdir(parents=True)
    config = site / "kalshi_tui.toml"
    config.write_text(
        f'[paths]\nmodels_dir = "models"\nsessions_db = "{store}"\ncache_dir = "cache"\n'
        '[validation]\nsessions = "4-5"\n'
    )
    result = cli(
        config,
        "validate",
        str(model_zoo["ppo21"]),
        "--json",
        "--no-progress",
        timeout=300,
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, text_of(result.stderr)[-2000:]
    assert "Traceback" not in text_of(result.stderr)
    assert_terminal_safe(result.stdout)
    figures = json.loads(result.stdout)
    skipped = " ".join(str(s) for s in figures.get("skipped", figures.get("skips", [])))
    assert ticker in skipped and second in skipped, figures.keys()
