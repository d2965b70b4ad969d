"""Shared by the hostile-input tests of side files, terminal output, config, hooks and stores.

A trader's folder (the pointer tests' workspace: real zips from the model zoo) inside an
`inside` folder, and an `outside` folder next to it that hostile links point into, so a
test can prove nothing outside was created or changed. The CLI runs as a real process.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "pointer"))

from pointer_workspace import Workspace, make_workspace  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# Bytes a terminal acts on: C0 controls (ESC, BEL, CR, ...), DEL and C1 controls (CSI).
RAW_CONTROLS = (
    {chr(c) for c in range(32) if chr(c) != "\n"} | {"\x7f"} | {chr(c) for c in range(0x80, 0xA0)}
)


def hostile_workspace(tmp_path: Path, zoo: dict[str, Path]) -> tuple[Workspace, Path]:
    inside = tmp_path / "inside"
    outside = tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    return make_workspace(inside, zoo), outside


def cli(config_file: Path | None, *args: str | bytes, timeout: float = 120, env: dict | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m kalshi_tui ...` in a fresh process; output kept as bytes (it may be hostile)."""
    command = [sys.executable, "-m", "kalshi_tui"]
    if config_file is not None:
        command += ["--config", str(config_file)]
    full_env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([*command, *args], capture_output=True, timeout=timeout, env=full_env,
                          cwd=cwd or REPO, stdin=subprocess.DEVNULL)


def text_of(data: bytes) -> str:
    return data.decode("utf-8")  # must be valid UTF-8: an undecodable byte is a failure


def assert_terminal_safe(data: bytes) -> None:
    """Valid UTF-8 with no control character a terminal would act on (newline aside)."""
    text = text_of(data)
    found = sorted({repr(c) for c in text if c in RAW_CONTROLS})
    assert not found, f"raw control characters reached the terminal: {found}\n{text[:2000]!r}"


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    err = text_of(result.stderr)
    assert result.returncode == code, (
        result.returncode,
        err[-3000:],
        text_of(result.stdout)[-2000:],
    )
    assert err.count("\n") == 1 and err.endswith("\n"), err[-3000:]
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def tree_digest(folder: Path) -> dict[str, str]:
    """Every entry under `folder` (links as links) -> its content hash or link target."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            if path.is_symlink():
                out[str(path)] = "link:" + os.readlink(path)
            elif path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[str(path)] = "dir"
    return out
