"""A real PostgreSQL server for tests and benchmarks: Debian's binaries, an unprivileged user.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as an
unprivileged system user (`nobody`) through `runuser`. It listens on a Unix socket in a
private temporary folder and on a free loopback port (password logins are checked over
TCP), and is stopped and removed after.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "nobody"
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "super-secret-pw"
OWNER, OWNER_PASSWORD = "kalshi", "owner-pw-9f3"
READER, READER_PASSWORD = "reader", "reader-pw-7c1"
DATABASE = "sessions"


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: Debian's versioned one first, then PATH."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(Path(folder) / "initdb", os.X_OK) and os.access(
            Path(folder) / "pg_ctl", os.X_OK
        ):
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int

    def url(self, user: str = OWNER, password: str | None = OWNER_PASSWORD,
            database: str = DATABASE) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)

    def psql(self, sql: str, database: str = DATABASE, user: str = SUPERUSER) -> str:
        """Run SQL as the superuser over the private socket."""
        return self._run(self.bin_dir / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                         "-h", self.root / "socket", "-p", str(self.port), "-U", user,
                         "-d", database, "-c", sql).stdout

    def stop(self) -> None:
        try:
            self._run(
                self.bin_dir / "pg_ctl", "-D", self.root / "data", "-m", "immediate", "-w", "stop"
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server(bin_dir: Path) -> PostgresServer:
    # Not under pytest's tmp folder: its parents are private to root, the server user
    # could not reach a socket or data folder inside.
    root = Path(tempfile.mkdtemp(prefix="kalshi-tui-pg-"))
    (root / "data").mkdir()
    (root / "socket").mkdir()
    (root / "pwfile").write_text(SUPERUSER_PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, SERVER_USER)
        for child in root.iterdir():
            shutil.chown(child, SERVER_USER)
    server = PostgresServer(bin_dir, root, _free_port())
    try:
        server._run(
            bin_dir / "initdb",
            "-D",
            root / "data",
            "-U",
            SUPERUSER,
            "--pwfile",
            root / "pwfile",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = (f"-k {root / 'socket'} -p {server.port} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        server._run(bin_dir / "pg_ctl", "-D", root / "data", "-o", options, "-l", root / "log",
                    "-w", "-t", "60", "start")
        server.psql(f"CREATE ROLE {OWNER} LOGIN PASSWORD '{OWNER_PASSWORD}'", database="postgres")
        server.psql(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'", database="postgres")
        server.psql(f"CREATE DATABASE {DATABASE} OWNER {OWNER}", database="postgres")
        server.psql(f"CREATE DATABASE empty OWNER {OWNER}", database="postgres")
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        server.stop()
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr or exc}\n{log}") from None
    return server


def load_original_ddl(server: PostgresServer) -> None:
    """The original tables, created by their owner; the reader may only SELECT."""
    import psycopg

    from kalshi_tui.env.pg_store import ORIGINAL_DDL

    with psycopg.connect(server.url(), autocommit=True) as db:
        db.execute(ORIGINAL_DDL)
        db.execute(f"GRANT USAGE ON SCHEMA public TO {READER}")
        db.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}")
