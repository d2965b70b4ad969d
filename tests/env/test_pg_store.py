"""Sessions from a real PostgreSQL server with the original DDL: same tapes as SQLite, and
every error a database can give said in one line that names it without its password."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from pg_server import OWNER_PASSWORD, READER, READER_PASSWORD, SUPERUSER_PASSWORD

from kalshi_tui.cli import main
from kalshi_tui.env import SessionStore, StoreError, load_tapes, open_session_store

TAPE_FIELDS = ("timestamps_ms", "bid_px", "bid_sz", "ask_px", "ask_sz", "mark", "features")


@pytest.fixture(scope="module")
def loaded(pg_server, _small_store_master, tmp_path_factory):
    """Sessions 5 and 6 copied from SQLite into PostgreSQL by the CLI, as a user would."""
    assert main(["sessions", "copy", "--from", str(_small_store_master), "--to", pg_server.url(),
                 "--replace"]) == 0
    return pg_server, _small_store_master


def _reader(server) -> str:
    return server.url(READER, READER_PASSWORD)


def _tapes(source, **options):
    with open_session_store(source) as store:
        return load_tapes(store, store.session_ids(), **options)


@pytest.mark.parametrize("options", [{}, {"obs_layout": "B", "complement": 100},
                                     {"obs_layout": "kalshi-tui-demo"}])
def test_same_session_gives_identical_tapes_from_sqlite_and_postgresql(loaded, options):
    server, sqlite_path = loaded
    pg_tapes, pg_skips = _tapes(_reader(server), **options)  # a read-only role is enough
    lite_tapes, lite_skips = _tapes(sqlite_path, **options)
    assert len(pg_tapes) == len(lite_tapes) == 6 and pg_skips == lite_skips == []
    for a, b in zip(pg_tapes, lite_tapes, strict=True):
        assert (a.session_id, a.ticker) == (b.session_id, b.ticker)
        for name in TAPE_FIELDS:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_listing_and_raw_rows_agree(loaded):
    server, sqlite_path = loaded
    with open_session_store(_reader(server)) as pg, SessionStore(sqlite_path) as lite:
        assert [i.to_dict() for i in pg.list_sessions()] == [
            i.to_dict() for i in lite.list_sessions()
        ]
        pg_session, pg_snaps, pg_deltas = pg.read_raw_session(5)
        lite_session, lite_snaps, lite_deltas = lite.read_raw_session(5)
    assert pg_snaps == lite_snaps and pg_deltas == lite_deltas
    assert pg_session["market_tickers"] == lite_session["market_tickers"]
    assert pg_session["started_at"] == lite_session["started_at"]


def test_copy_back_to_sqlite_round_trips(loaded, tmp_path):
    server, sqlite_path = loaded
    back = tmp_path / "back.db"
    assert main(["sessions", "copy", "--from", _reader(server), "--to", str(back)]) == 0
    with SessionStore(back) as a, SessionStore(sqlite_path) as b:
        for session_id in (5, 6):
            assert a.read_raw_session(session_id)[1:] == b.read_raw_session(session_id)[1:]


def test_original_ddl_types_hold_the_rows(loaded):
    server, _ = loaded
    with psycopg.connect(server.url()) as db:
        tickers, started = db.execute(
            "SELECT market_tickers, started_at FROM rl_orderbook_sessions WHERE session_id = 5"
        ).fetchone()
        books = db.execute("SELECT yes_bids FROM rl_orderbook_snapshots LIMIT 1").fetchone()[0]
        kinds = dict(db.execute("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_name = 'rl_orderbook_snapshots'").fetchall())
    assert isinstance(tickers, list) and started.tzinfo is not None
    assert all(isinstance(k, str) for k in books)  # JSONB keys are strings
    assert kinds["yes_bids"] == "jsonb" and kinds["timestamp_ms"] == "bigint"


def _one_line_error(capsys, *argv) -> str:
    assert main(list(argv)) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_unreachable_server_is_one_line(pg_server, capsys):
    url = f"postgresql://reader:{READER_PASSWORD}@127.0.0.1:1/sessions"
    err = _one_line_error(capsys, "sessions", "list", "--db", url)
    assert "postgresql://reader@127.0.0.1:1/sessions" in err and "cannot connect" in err
    assert READER_PASSWORD not in err


def test_bad_credentials_are_one_line_without_the_password(pg_server, capsys):
    url = pg_server.url(READER, "wrong-password-123")
    err = _one_line_error(capsys, "sessions", "list", "--db", url)
    assert pg_server.url(READER, None) in err and "password authentication failed" in err
    assert "wrong-password-123" not in err and SUPERUSER_PASSWORD not in err


def test_missing_tables_are_named(pg_server, capsys):
    err = _one_line_error(capsys, "sessions", "list", "--db", pg_server.url(database="empty"))
    assert "missing table rl_orderbook_sessions" in err and OWNER_PASSWORD not in err


def test_read_only_role_cannot_write_and_says_so(loaded, capsys, tmp_path):
    server, sqlite_path = loaded
    err = _one_line_error(capsys, "sessions", "copy", "--from", str(sqlite_path), "--to",
                          _reader(server), "--sessions", "5", "--replace")
    assert "permission denied" in err and READER_PASSWORD not in err


def test_session_not_closed_and_bad_rows(loaded):
    server, _ = loaded
    with psycopg.connect(server.url(), autocommit=True) as db:
        db.execute("INSERT INTO rl_orderbook_sessions (session_id, market_tickers, status) "
                   "VALUES (77, ARRAY['LIVE-1'], 'active') ON CONFLICT DO NOTHING")
        db.execute(
            "INSERT INTO rl_orderbook_sessions (session_id, market_tickers, status, ended_at) "
            "VALUES (78, ARRAY['BAD-1', 'GOOD-1'], 'closed', now()) ON CONFLICT DO NOTHING"
        )
        for ticker, yes_bids in (("BAD-1", "[40, 10]"), ("GOOD-1", '{"40": 10}')):
            db.execute(
                "INSERT INTO rl_orderbook_snapshots (session_id, market_ticker, timestamp_ms, "
                "sequence_number, yes_bids, yes_asks, no_bids, no_asks) VALUES "
                "(78, %s, 1765900000000, 1, %s, '{}', '{\"55\": 5}', '{}')",
                (ticker, yes_bids),
            )
            db.execute("INSERT INTO rl_orderbook_deltas (session_id, market_ticker, timestamp_ms, "
                       "sequence_number, side, action, price, old_size, new_size) VALUES "
                       "(78, %s, 1765900001000, 2, 'yes', 'update', 40, 10, 12)", (ticker,))
    with open_session_store(_reader(server)) as store:
        with pytest.raises(StoreError, match="session 77 is not closed") as caught:
            store.markets(77)
        assert str(caught.value).startswith(server.url(READER, None))
        tapes, skips = load_tapes(store, [78])
    assert [t.ticker for t in tapes] == ["GOOD-1"]
    assert len(skips) == 1 and "BAD-1" in skips[0] and "price map" in skips[0]
    assert READER_PASSWORD not in skips[0]


def _config(folder, sessions_db, profile):
    from kalshi_tui.core.config import load_config

    folder.mkdir(parents=True)
    (folder / "models").mkdir()
    (folder / "kalshi_tui.toml").write_text(
        f'[paths]\nmodels_dir = "models"\nsessions_db = "{sessions_db}"\ncache_dir = "cache"\n'
        f'[environment]\nprofile = "{profile}"\nposition_sizes = [5, 10, 20, 50, 100]\n'
        '[validation]\nsessions = "5-6"\n')
    return load_config(folder / "kalshi_tui.toml")


@pytest.mark.parametrize("profile", ["kalshiflow-2025-12-15", "kalshiflow-2025-12-17"])
def test_validation_from_postgresql_equals_validation_from_sqlite(loaded, model_zoo, tmp_path,
                                                                  monkeypatch, profile):
    from kalshi_tui.eval.batched import validate_model

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    server, sqlite_path = loaded
    pg = validate_model(
        model_zoo["ppo21"], _config(tmp_path / "pg", _reader(server), profile), [5, 6]
    )
    lite = validate_model(
        model_zoo["ppo21"], _config(tmp_path / "lite", sqlite_path, profile), [5, 6]
    )
    same = ("histogram", "steps", "episodes", "markets", "win_rate", "total_pnl_cents",
            "max_drawdown_cents", "fills", "fees_cents", "unheld_sells", "mean_policy_entropy")
    assert {k: getattr(pg, k) for k in same} == {k: getattr(lite, k) for k in same}
    assert (
        pg.session_source == server.url(READER, None) and READER_PASSWORD not in pg.session_source
    )
    assert pg.session_source != lite.session_source  # each figure names where it came from
    # Keyed by the rows, not the source: the same rows read from either store are one result.
    assert pg.sessions_fingerprint == lite.sessions_fingerprint != "unreadable"


def test_validating_a_session_that_is_not_closed_is_one_line_exit_1(loaded, model_zoo, tmp_path,
                                                                  capsys, monkeypatch):
    server, _ = loaded
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    with psycopg.connect(server.url(), autocommit=True) as db:
        db.execute("INSERT INTO rl_orderbook_sessions (session_id, market_tickers, status) "
                   "VALUES (79, ARRAY['LIVE-2'], 'active') ON CONFLICT DO NOTHING")
    config = _config(tmp_path / "site", _reader(server), "kalshiflow-2025-12-15")
    err = _one_line_error(capsys, "validate", str(model_zoo["ppo21"]), "--config",
                          str(config.file), "--sessions", "79")
    assert "session 79 is not closed" in err and server.url(READER, None) in err
    assert READER_PASSWORD not in err
