"""Replaying sessions from PostgreSQL against the same sessions from SQLite.

Run: .venv/bin/python benchmarks/sessions_pg.py [--sessions 5-10,32] [--repeats 3] [--url URL]

Without --url it starts a throwaway PostgreSQL server (Debian's binaries, as the tests do),
copies the bundled sessions into the original tables and reads them as a read-only role.
Each source is timed over its best of --repeats: opening the store, reading and replaying
every market, building every tape (layout A). Prints both times and the ratio PG/SQLite;
the target is a ratio within 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "env"))

from kalshi_tui.core.config import bundled_sessions_db  # noqa: E402
from kalshi_tui.env import load_tapes  # noqa: E402
from kalshi_tui.env.store import open_session_store, parse_session_list  # noqa: E402


def replay_seconds(source, session_ids: list[int], repeats: int) -> tuple[float, int]:
    best, steps = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        with open_session_store(source) as store:
            tapes, _ = load_tapes(store, session_ids)
        best = min(best, time.perf_counter() - started)
        steps = sum(t.length for t in tapes)
    return best, steps


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
        from pg_server import READER, READER_PASSWORD, find_binaries, load_original_ddl, start_server

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
    finally:
        if server is not None:
            server.stop()
    assert steps == pg_steps, "the two sources gave different tapes"
    print(f"sessions {args.sessions}: {len(ids)} sessions, {steps:,} tape steps")
    print(f"SQLite      {lite:8.3f} s")
    print(f"PostgreSQL  {pg:8.3f} s")
    print(f"ratio       {pg / lite:8.2f}  (PostgreSQL / SQLite; target <= 2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
