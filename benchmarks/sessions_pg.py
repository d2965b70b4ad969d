"""Replaying sessions from PostgreSQL against the same sessions from SQLite.

Run: .venv/bin/python benchmarks/sessions_pg.py [--sessions 5-10,32] [--repeats 3] [--url URL]

Without --url it starts a throwaway PostgreSQL server (Debian's binaries, as the tests do),
copies the bundled sessions into the original tables and reads them as a read-only role.
Each source is timed over its best of --repeats: opening the store, reading and replaying
every market, building every tape (layout A). Prints both times and the ratio PG/SQLite;
the target is a ratio within 2. Also timed: the replay alone (every book state, no
features), where the store's own cost is not hidden by the feature work.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "env"))

from kalshi_tui.core import bundled_sessions_db  # noqa: E402
from kalshi_tui.env import (  # noqa: E402
    load_tapes,  # noqa: E402
    open_session_store,
    parse_session_list,
)


def replay_seconds(source, session_ids: list[int], repeats: int) -> tuple[float, int]:
    """Best time to open the store, replay every market and build every tape."""
    best, steps = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        with open_session_store(source) as store:
            tapes, _ = load_tapes(store, session_ids)
        best = min(best, time.perf_counter() - started)
        steps = sum(t.length for t in tapes)
    return best, steps


def walk_seconds(source, session_ids: list[int], repeats: int) -> tuple[float, int]:
    """Best time to read and replay every market only (no features): the store's own cost."""
    best, states = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        states = 0
        with open_session_store(source) as store:
            for session_id in session_ids:
                for ticker in store.markets(session_id):
                    states += sum(1 for _ in store.walk(session_id, ticker))
        best = min(best, time.perf_counter() - started)
    return best, states


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="5-10,32")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--url", help="an existing database holding the same sessions")
    args = parser.parse_args()
    sqlite_path = bundled_sessions_db()
    with open_session_store(sqlite_path) as store:
        ids = parse_session_list(args.sessions, store.session_ids())
    server = None
    url = args.url
    if url is None:
        from pg_server import (
            READER,
            READER_PASSWORD,
            find_binaries,
            load_original_ddl,
            start_server,
        )

        from kalshi_tui.cli import main as cli

        bin_dir = find_binaries()
        if bin_dir is None:
            print("no PostgreSQL binaries: install postgresql or pass --url", file=sys.stderr)
            return 1
        server = start_server(bin_dir)
        load_original_ddl(server)
        cli(["sessions", "copy", "--from", str(sqlite_path), "--to", server.url(),
             "--sessions", args.sessions])
        url = server.url(READER, READER_PASSWORD)
    try:
        lite, steps = replay_seconds(sqlite_path, ids, args.repeats)
        pg, pg_steps = replay_seconds(url, ids, args.repeats)
        lite_walk, states = walk_seconds(sqlite_path, ids, args.repeats)
        pg_walk, pg_states = walk_seconds(url, ids, args.repeats)
    finally:
        if server is not None:
            server.stop()
    assert steps == pg_steps and states == pg_states, "the two sources gave different replays"
    print(
        f"sessions {args.sessions}: {len(ids)} sessions, {states:,} book states, {steps:,} tape "
        f"steps"
    )
    print(f"{'':12}{'replay only':>12}{'replay + tapes':>16}")
    print(f"{'SQLite':12}{lite_walk:>10.3f} s{lite:>14.3f} s")
    print(f"{'PostgreSQL':12}{pg_walk:>10.3f} s{pg:>14.3f} s")
    print(
        f"{'ratio':12}{pg_walk / lite_walk:>12.2f}{pg / lite:>16.2f}  (PostgreSQL / SQLite; target "
        f"<= 2)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
