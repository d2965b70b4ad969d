"""The session store: replay, the generator, session lists, and every kind of bad store."""

from __future__ import annotations

import json
import sqlite3
from itertools import pairwise

import numpy as np
import pytest

from kalshi_tui.env import (
    SessionStore,
    StoreError,
    generate_sessions,
    load_tapes,
    parse_session_list,
)
from kalshi_tui.env.orderbook import book_from_maps
from kalshi_tui.env.store_schema import TABLES


def _dump(path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def test_replay_of_deltas_equals_the_next_snapshot(small_store):
    """Applying a market's deltas to one snapshot rebuilds the recorder's next snapshot exactly."""
    checked = 0
    with SessionStore(small_store) as store:
        for session_id in store.session_ids():
            for ticker in store.markets(session_id):
                snapshots = store.snapshots(session_id, ticker)
                deltas = store.deltas(session_id, ticker)
                assert len(snapshots) >= 2, "the generator writes resync snapshots"
                for first, second in pairwise(snapshots):
                    book = first.copy()
                    for ts, seq, side, action, price, old, new in deltas:
                        if first.sequence_number < seq < second.sequence_number:
                            assert book.apply_delta(side, action, price, old, new, ts, seq)
                    assert book.same_book(second), f"{ticker} at seq {second.sequence_number}"
                    checked += 1
    assert checked >= 6


def test_replay_starts_at_the_snapshot_and_applies_every_later_delta(small_store):
    with SessionStore(small_store) as store:
        ticker = store.markets(5)[0]
        states = store.replay(5, ticker)
        snapshots = store.snapshots(5, ticker)
        first = snapshots[0]
        later = [d for d in store.deltas(5, ticker) if d[1] > first.sequence_number]
    assert states[0].same_book(first)
    # every later delta and every later snapshot is a state, as the original stored them
    assert len(states) == 1 + len(later) + len(snapshots) - 1
    expected = sorted([d[1] for d in later] + [s.sequence_number for s in snapshots[1:]])
    assert [s.sequence_number for s in states[1:]] == expected


def test_generator_is_deterministic_by_seed(tmp_path, small_settings):
    a, b, c = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    generate_sessions(a, [7], seed=3, settings=small_settings)
    generate_sessions(b, [7], seed=3, settings=small_settings)
    generate_sessions(c, [7], seed=4, settings=small_settings)
    assert _dump(a) == _dump(b)
    assert _dump(a) != _dump(c)


def test_generated_markets_move_settle_and_vary_their_spread(tmp_path):
    """Not a flat line: prices travel, some markets run to an edge, spreads change regime."""
    path = tmp_path / "s.db"
    generate_sessions(path, [9], seed=0, markets=6)
    tapes, skips = load_tapes(SessionStore(path), [9])
    assert skips == [] and len(tapes) == 6
    ranges = [float(t.mark.max() - t.mark.min()) for t in tapes]
    assert max(ranges) > 20
    assert any(t.mark[-1] <= 10 or t.mark[-1] >= 89 for t in tapes)
    for tape in tapes:
        spreads = (tape.ask_px[:, 0] - tape.bid_px[:, 0])[
            (tape.bid_sz[:, 0] > 0) & (tape.ask_sz[:, 0] > 0)
        ]
        assert spreads.min() >= 1 and spreads.max() - spreads.min() >= 3
        gaps = tape.timestamps_ms[1:] - tape.timestamps_ms[:-1]
        # bursts: gaps vary far more than a steady (exponential) stream's would
        assert gaps.min() >= 0 and gaps.std() / gaps.mean() > 1.1


def test_list_sessions_counts_rows(small_store):
    with SessionStore(small_store) as store:
        infos = store.list_sessions()
        db = sqlite3.connect(small_store)
        for info in infos:
            assert info.markets == 3
            assert info.deltas == db.execute("SELECT COUNT(*) FROM rl_orderbook_deltas "
                                              "WHERE session_id=?", (info.id,)).fetchone()[0]
            assert info.snapshots >= 6 and info.start < info.end
    assert [i.id for i in infos] == [5, 6]


def test_bundled_store_has_the_validation_sessions():
    from kalshi_tui.core.config import bundled_sessions_db

    path = bundled_sessions_db()
    assert path.stat().st_size < 5_000_000
    with SessionStore(path) as store:
        infos = {i.id: i for i in store.list_sessions()}
    assert {5, 6, 7, 8, 9, 10, 32} <= set(infos)
    assert sum(i.markets for i in infos.values()) >= 24


def test_bundled_store_is_what_the_generator_makes(tmp_path):
    """`kalshi-tui sessions generate --out X --seed 0` rebuilds the bundled store row for row."""
    from kalshi_tui.core.config import bundled_sessions_db

    rebuilt = tmp_path / "sessions.db"
    generate_sessions(rebuilt, [5, 6, 7, 8, 9, 10, 32], seed=0)
    assert _dump(rebuilt) == _dump(bundled_sessions_db())


@pytest.mark.parametrize("spec, expected", [
    ("5-10", [5, 6, 7, 8, 9, 10]), ("5,7,32", [5, 7, 32]), ("5-6, 32", [5, 6, 32]),
    ("all", [5, 6, 7, 8, 9, 10, 32]), ("7,7", [7]),
])
def test_parse_session_list(spec, expected):
    assert parse_session_list(spec, [5, 6, 7, 8, 9, 10, 32]) == expected


@pytest.mark.parametrize("spec, words", [("5-11", "session 11 is not in the store"),
                                         ("x", "'x' is not a number"), ("9-5", "'9-5'"),
                                         ("", "names no session")])
def test_parse_session_list_names_what_is_wrong(spec, words):
    with pytest.raises(ValueError, match=words):
        parse_session_list(spec, [5, 6, 7, 8, 9, 10, 32])


# --- bad stores: each defect is a one-line StoreError naming the place, or a counted skip ---

def _first_market(path) -> str:
    db = sqlite3.connect(path)
    tickers = json.loads(db.execute("SELECT market_tickers FROM rl_orderbook_sessions "
                                    "WHERE session_id=5").fetchone()[0])
    db.close()
    return tickers[0]


def _execute(path, sql, params=()) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute(sql, params)
    db.close()


@pytest.mark.parametrize("table", TABLES)
def test_missing_table_is_refused_naming_it(small_store, table):
    _execute(small_store, f"DROP TABLE {table}")
    with pytest.raises(StoreError) as err:
        SessionStore(small_store)
    message = str(err.value)
    assert str(small_store) in message and f"missing table {table}" in message
    assert "\n" not in message


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "sessions.db"
    path.write_text("not a database at all " * 100)
    with pytest.raises(StoreError, match="not a SQLite session store"):
        SessionStore(path)


def _assert_market_skipped(path, ticker, words):
    """The bad market raises a named error on replay and is a counted skip for load_tapes."""
    store = SessionStore(path)
    with pytest.raises(StoreError) as err:
        store.replay(5, ticker)
    message = str(err.value)
    assert str(path) in message and "session 5" in message and ticker in message
    assert words in message and "\n" not in message
    tapes, skips = load_tapes(store, [5, 6])
    assert len(tapes) == 5 and len(skips) == 1
    assert ticker in skips[0] and words in skips[0]
    assert ticker not in {t.ticker for t in tapes}


def test_market_without_snapshot_is_skipped(small_store):
    ticker = _first_market(small_store)
    _execute(
        small_store,
        "DELETE FROM rl_orderbook_snapshots WHERE session_id=5 AND market_ticker=?",
        (ticker,),
    )
    _assert_market_skipped(small_store, ticker, "no snapshot")


def test_out_of_order_sequence_numbers_are_skipped(small_store):
    ticker = _first_market(small_store)
    db = sqlite3.connect(small_store)
    (id_a, seq_a), (id_b, seq_b) = db.execute(
        "SELECT id, sequence_number FROM rl_orderbook_deltas WHERE session_id=5 AND "
        "market_ticker=? "
        "ORDER BY id LIMIT 2 OFFSET 40",
        (ticker,),
    ).fetchall()
    with db:  # the recorder stored the later change first
        db.execute("UPDATE rl_orderbook_deltas SET sequence_number=? WHERE id=?", (seq_b, id_a))
        db.execute("UPDATE rl_orderbook_deltas SET sequence_number=? WHERE id=?", (seq_a, id_b))
    db.close()
    _assert_market_skipped(small_store, ticker, "out-of-order sequence numbers")


def test_crossed_book_is_skipped(small_store):
    ticker = _first_market(small_store)
    # YES bid 60 against NO bid 45 (a YES ask of 99 - 45 = 54): bid above ask.
    _execute(small_store, "UPDATE rl_orderbook_snapshots SET yes_bids=?, no_bids=? WHERE "
             "session_id=5 AND market_ticker=? AND id=(SELECT MIN(id) FROM rl_orderbook_snapshots "
             "WHERE session_id=5 AND market_ticker=?)",
             (json.dumps({"60": 5}), json.dumps({"45": 5}), ticker, ticker))
    _assert_market_skipped(small_store, ticker, "crossed book")


@pytest.mark.parametrize("price", [0, 120, -3])
def test_price_outside_range_is_skipped(small_store, price):
    ticker = _first_market(small_store)
    _execute(
        small_store,
        "UPDATE rl_orderbook_deltas SET price=?, action='add', new_size=7 WHERE id="
        "(SELECT id FROM rl_orderbook_deltas WHERE session_id=5 AND market_ticker=? "
        "ORDER BY id LIMIT 1 OFFSET 25)",
        (price, ticker),
    )
    _assert_market_skipped(small_store, ticker, "outside 1-98")


def test_snapshot_with_unreadable_price_map_is_skipped(small_store):
    ticker = _first_market(small_store)
    _execute(small_store, "UPDATE rl_orderbook_snapshots SET yes_bids='{oops' WHERE session_id=5 "
             "AND market_ticker=?", (ticker,))
    _assert_market_skipped(small_store, ticker, "not JSON")


def test_stale_old_size_is_counted_not_fatal(small_store):
    from kalshi_tui.env import ReplayStats

    ticker = _first_market(small_store)
    _execute(small_store, "UPDATE rl_orderbook_deltas SET old_size=old_size+3 WHERE id="
             "(SELECT id FROM rl_orderbook_deltas WHERE session_id=5 AND market_ticker=? "
             "ORDER BY id LIMIT 1 OFFSET 10)", (ticker,))
    stats = ReplayStats()
    states = SessionStore(small_store).replay(5, ticker, stats)
    assert stats.stale_old_sizes == 1 and len(states) > 300


def test_unknown_session_is_an_error(small_store):
    with pytest.raises(StoreError, match="no session 99"):
        SessionStore(small_store).markets(99)


def test_book_from_maps_reads_json_string_keys():
    book = book_from_maps(1, 2, {"40": 10, "39": 0}, {"57": 5})
    assert book.yes_bids == {40: 10} and book.yes_asks == {42: 5} and book.no_asks == {59: 10}


def test_tape_from_the_live_walk_equals_the_tape_from_copied_states(small_store):
    from kalshi_tui.env import build_tape

    store = SessionStore(small_store)
    ticker = store.markets(6)[1]
    walked = build_tape(6, ticker, store.walk(6, ticker))
    copied = build_tape(6, ticker, store.replay(6, ticker))
    for name in ("timestamps_ms", "bid_px", "bid_sz", "ask_px", "ask_sz", "mark", "features"):
        assert np.array_equal(getattr(walked, name), getattr(copied, name)), name
    # and the ladder really is the replayed book: best first, asks by the 99 rule
    last = store.replay(6, ticker)[-1]
    assert walked.bid_px[-1, 0] == last.best_yes_bid and walked.ask_px[-1, 0] == last.best_yes_ask
    assert walked.bid_sz[-1].sum() == sum(sorted(last.yes_bids.items(), reverse=True)[:10][i][1]
                                          for i in range(min(10, len(last.yes_bids))))


def test_session_with_unreadable_market_list_is_an_error(small_store):
    _execute(
        small_store, "UPDATE rl_orderbook_sessions SET market_tickers='[oops' WHERE session_id=6"
    )
    store = SessionStore(small_store)
    with pytest.raises(StoreError, match="session 6: market_tickers is not a JSON list"):
        load_tapes(store, [5, 6])
    with pytest.raises(StoreError, match="session 6: market_tickers"):
        store.list_sessions()  # listing names the bad row too, in one line
    assert len(load_tapes(store, [5])[0]) == 3  # the other session still loads
