"""One CLI command in a fresh process, timed, with its peak memory: shared by the bomb tests
and benchmarks/hostile.py, so the benchmark measures exactly what the tests bound."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def measured(models: Path, *args: str, timeout: float = 300
             ) -> tuple[int, str, str, float, float]:
    """(exit code, stdout, stderr, seconds, peak RSS in MB) of one command in a fresh process."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the forking parent
    # (pytest, holding torch), where VmHWM belongs to the new process's memory alone.
    code = ("import re, sys\nfrom kalshi_tui.cli import main\n"
            f"rc = main(['--models-dir', {str(models)!r}, *{list(args)!r}])\n"
            "status = open('/proc/self/status').read()\n"
            "print('PEAK', re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr)\n"
            "sys.exit(rc)")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
                          cwd=models.parent)
    seconds = time.perf_counter() - started
    peak_kb = int(done.stderr.rsplit("PEAK ", 1)[1].split()[0])
    stderr = done.stderr.rsplit("PEAK ", 1)[0]
    return done.returncode, done.stdout, stderr, seconds, peak_kb / 1024
