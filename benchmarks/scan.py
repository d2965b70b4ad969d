"""Catalog speed: cold scan, warm scan and the `list` process, side by side with PPO.load.

Run: .venv/bin/python benchmarks/scan.py [--models 10000] [--list-models 1000] [--sample 40]
    [--repeat 3]

Makes N model files from one real SB3 PPO zip the size of the original system's (SB3's
default 64x64 network: ~230 KB, `data` written with indent=4 as SB3 writes it), each with
its own num_timesteps, start_time, _last_obs, 100-episode ep_info_buffer and weights, so
every file differs where real checkpoints differ; laid out as the original system laid
them out: run folders holding model.zip and checkpoints/, plus flat finals. The files are
made in a child process (training the template loads torch, which a listing never has)
and written to disk before any timing (os.sync: the kernel's writeback of 2.5 GB would
otherwise share the CPUs with the first timings).
Then times, in one run:
  - the baseline: `PPO.load(path)` to read the action space, as the seed analysis was
    done by hand. It is run in one process on a sample of files spread over the folder
    and extrapolated per model, counting only the loads after the first (torch's one-off
    set-up excluded); three times (before, between and after the scans), the fastest
    taken: the strictest comparison. And, as an operator checking one file did, in a
    fresh `python -c` process per file (import SB3 + load) on 3 files;
  - cold catalog scans (no cache; the files are in the OS page cache, as they are after
    any first listing: every file is read once just before, see warm_page_cache; the
    median of --repeat, each in new worker processes): the listing
    (every fact and verdict, no sha256: what `list` and the TUI do) and the scan with
    sha256 (what `list --json` does); then a warm scan (cache present, nothing changed),
    and a warm scan after touching 1 % of the files;
  - the `kalshi-tui list --json` process, cold and warm, on a folder of --list-models;
  - two floors, in two worker processes like the scan's, with nothing else done (no
    facts, checks, verdicts or records): `data` read by position and parsed (the least a
    listing does), and every file read whole, hashed and its `data` parsed.
Prints per-model times and the ratios against the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "core"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scan_files import make_files  # noqa: E402


def cpu_seconds() -> float:
    """CPU used by this process and its finished children (the scan's worker processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


_PPO_LOAD_TIMER = """
import json, os, sys, time
from stable_baselines3 import PPO
def cpu():
    t = os.times()
    return t.user + t.system
paths = sys.argv[1:]
PPO.load(paths[0], device="cpu")  # torch's one-off set-up, not counted
start, used = time.perf_counter(), cpu()
for path in paths[1:]:
    assert PPO.load(path, device="cpu").action_space.n
n = len(paths) - 1
print(json.dumps([(time.perf_counter() - start) / n, (cpu() - used) / n]))
"""


def time_ppo_load(paths: list[Path]) -> tuple[float, float]:
    """(mean wall s, mean CPU s) of PPO.load on `paths` after the first, in a fresh process
    (so the scans' workers never fork a process holding torch)."""
    out = subprocess.run(
        [sys.executable, "-c", _PPO_LOAD_TIMER, *map(str, paths)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    wall, cpu = json.loads(out.strip().splitlines()[-1])
    return wall, cpu


def time_fresh_process_load(paths: list[Path]) -> float:
    """Mean wall time of one `python -c "PPO.load(...)"` per file: the check as done by hand."""
    code = ("import sys; from stable_baselines3 import PPO; "
            "print(PPO.load(sys.argv[1], device='cpu').action_space.n)")
    times = []
    for path in paths:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", code, str(path)], check=True, stdout=subprocess.DEVNULL
        )
        times.append(time.perf_counter() - start)
    return sum(times) / len(times)


def time_scan(config, *, use_cache: bool, hashes: bool = True) -> tuple[float, float, object]:
    """(wall s, CPU s including worker processes, catalog)."""
    import multiprocessing

    from kalshi_tui.core.catalog.scan import scan_catalog

    start, cpu = time.perf_counter(), cpu_seconds()
    catalog = scan_catalog(config, use_cache=use_cache, hashes=hashes)
    wall = time.perf_counter() - start
    # The scan waits for its workers to exit; their CPU counts once they are reaped.
    for child in multiprocessing.active_children():
        child.join()
    return wall, cpu_seconds() - cpu, catalog


def time_list_process(
    models_dir: Path, runs: int = 3, flags: tuple[str, ...] = ("--json",)
) -> float:
    """Best wall time of `kalshi-tui list` as a fresh process (what an operator pays)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "kalshi_tui", "list", *flags, "--models-dir", str(models_dir)],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=models_dir,
        )
        best = min(best, time.perf_counter() - start)
    return best


def _floor_batch(batch: list[tuple[str, int]], whole: bool = True) -> int:
    """What any reader of these files must do: find and parse `data`; `whole`: read each file
    whole and hash it, else read the directory and `data` by position (as a listing does)."""
    import hashlib
    import json

    from kalshi_tui.core.sb3.zip_reader import bytes_fetch, file_fetch, read_directory, read_member

    for path, size in batch:
        fd = os.open(path, os.O_RDONLY)
        try:
            if whole:
                blob = os.read(fd, size + 1)
                hashlib.sha256(blob).hexdigest()
                fetch = bytes_fetch(blob)
            else:
                fetch = file_fetch(fd)
            json.loads(
                read_member(
                    fetch, read_directory(fetch, size, 64)["data"], size, 10 * 1024 * 1024, "data"
                )
            )
        finally:
            os.close(fd)
    return len(batch)


def time_floor(paths: list[Path], whole: bool = True) -> tuple[float, float]:
    """(wall s, CPU s) of the floor above over every file, in the scan's two worker processes.

    Not a reader (no facts, no checks, no records): a bound on how far the scan could go.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(str(p), p.stat().st_size) for p in paths]
    batches = [jobs[i : i + 512] for i in range(0, len(jobs), 512)]
    start, cpu = time.perf_counter(), cpu_seconds()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver")) as pool:
        assert sum(pool.map(_floor_batch, batches, [whole] * len(batches))) == len(paths)
    return time.perf_counter() - start, cpu_seconds() - cpu


def warm_page_cache(paths: list[Path]) -> None:
    """Read every file once, so a timed scan finds it in the OS page cache.

    The claim is "cold catalog, warm disk cache" (as after any first listing), but these
    machines reclaim file pages left idle for a while (DAMON): without this, a scan run a
    minute after the files were written reads half of them from disk, and the figures
    measure the disk.
    """
    for path in paths:
        with open(path, "rb", buffering=0) as handle:
            while handle.read(1 << 20):
                pass


def clear_cache(config) -> None:
    from kalshi_tui.core.catalog.cache import cache_locations

    for path in cache_locations(config):
        path.unlink(missing_ok=True)


def main() -> int:
    if sys.argv[1:2] == ["--make-files"]:  # the child process that makes the files
        work, models, list_models, episodes, template = sys.argv[2:7]
        make_files(Path(work), int(models), int(list_models), int(episodes), template)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--list-models", type=int, default=1_000)
    parser.add_argument("--sample", type=int, default=40, help="files PPO.load reads")
    parser.add_argument("--repeat", type=int, default=3, help="cold scans (the median is shown)")
    parser.add_argument(
        "--episodes",
        type=int,
        default=100,
        help="give every file its own ep_info_buffer of this many episodes, as "
        "real checkpoints have (SB3 keeps the last 100); 0: the template's",
    )
    parser.add_argument(
        "--template",
        type=Path,
        default=None,
        help="an SB3 PPO zip to copy (default: a tiny PPO trained here)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated folders")
    args = parser.parse_args()

    from kalshi_tui.core.config import load_config

    work = Path(tempfile.mkdtemp(prefix="kalshi-scan-bench-"))
    try:
        big, small = work / "models", work / "list_models"
        start = time.perf_counter()
        # Made in a child process: training the template imports SB3 and torch, and a
        # listing never has them loaded. Made here, the timed scans forked their workers
        # from a 300 MB process holding torch (a fifth slower than `kalshi-tui list` runs).
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--make-files",
                str(work),
                str(args.models),
                str(args.list_models),
                str(args.episodes),
                str(args.template or ""),
            ],
            check=True,
        )
        paths = sorted(big.rglob("*.zip"))
        assert len(paths) == args.models and "torch" not in sys.modules
        # 2.5 GB just written: the kernel writes it back in the background, on the CPUs the
        # timings below share. Wait for it, so they measure a listing of files at rest.
        os.sync()
        print(
            f"made {len(paths):,} + {args.list_models:,} model files in "
            f"{time.perf_counter() - start:.1f} s under {work}  (cpus: {os.cpu_count()})"
        )
        empty_config = work / "bench.toml"
        empty_config.write_text("")
        config = load_config(empty_config, models_dir=big)

        print(
            f"load average before timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus "
            "(other work on the box slows every row alike; the CPU columns do not depend on it)"
        )
        # PPO.load is timed three times, before, between and after the scans: on this shared
        # box a stretch of a few seconds can run at a third of its usual speed, and the
        # ratios take the FASTEST of the three (the strictest baseline), printing all.
        sample = paths[:: max(1, len(paths) // args.sample)][: args.sample]
        loads = [time_ppo_load(sample)]
        colds: dict[bool, tuple[float, float]] = {}
        for hashes in (False, True):
            if hashes:
                loads.append(time_ppo_load(sample))
            runs = []
            warm_page_cache(paths)
            for _ in range(args.repeat):  # the median of a few: this box is shared, times wander
                clear_cache(config)
                catalog = None  # one listing alive at a time, as in the TUI (its refresh)
                wall, cpu, catalog = time_scan(config, use_cache=True, hashes=hashes)
                runs.append((wall, cpu))
                assert len(catalog.records) == len(paths) and catalog.read == len(paths)
                assert all((r.sha256 is not None) == hashes for r in catalog.records)
            colds[hashes] = (
                statistics.median(r[0] for r in runs),
                statistics.median(r[1] for r in runs),
            )
        verdicts = {r.verdict for r in catalog.records}
        warm, warm_cpu, catalog = time_scan(config, use_cache=True)
        assert catalog.read == 0, "warm scan read files"
        touched = paths[::100]
        for path in touched:
            os.utime(path, ns=(time.time_ns(), time.time_ns()))
        partial, partial_cpu, catalog = time_scan(config, use_cache=True)
        assert catalog.read == len(touched)

        warm_page_cache(paths)
        floor, floor_cpu = time_floor(paths)
        floor_listing, floor_listing_cpu = time_floor(paths, whole=False)
        loads.append(time_ppo_load(sample))
        steady, steady_cpu = min(load[0] for load in loads), min(load[1] for load in loads)
        n = len(paths)
        print(
            "PPO.load per model, three times: "
            + ", ".join(f"{w * 1e3:.1f} ms ({c * 1e3:.1f} ms CPU)" for w, c in loads)
            + "; the ratios use the fastest"
        )
        print(
            f"\n{'':32}{'wall':>9}{'per model':>12}{'ratio':>8}   "
            f"{'CPU':>8}{'per model':>12}{'ratio':>8}"
        )
        print(
            f"{'PPO.load (sample ' + str(len(sample)) + ', fastest)':32}{steady * n:>8.1f}s"
            f"{steady * 1e3:>9.3f} ms{'1x':>8}   {steady_cpu * n:>7.1f}s"
            f"{steady_cpu * 1e3:>9.3f} ms{'1x':>8}"
        )
        fresh = time_fresh_process_load(paths[:3])
        print(
            f"{'PPO.load, fresh process (by hand)':32}{fresh * n:>8.0f}s{fresh * 1e3:>9.0f} ms"
            f"{steady / fresh:>7.2f}x"
        )
        for label, seconds, cpu in (
            ("catalog cold, listing", *colds[False]),
            ("catalog cold, with sha256", *colds[True]),
            ("catalog warm (cache)", warm, warm_cpu),
            ("catalog warm, 1 % touched", partial, partial_cpu),
        ):
            print(
                f"{label:32}{seconds:>8.2f}s{seconds / n * 1e3:>9.3f} ms"
                f"{steady / (seconds / n):>7.0f}x"
                f"   {cpu:>7.2f}s{cpu / n * 1e3:>9.3f} ms{steady_cpu / (cpu / n):>7.0f}x"
                f"   (vs by hand {fresh / (seconds / n):,.0f}x)"
            )
        for label, seconds, cpu, what in (
            (
                "floor: data by position + JSON",
                floor_listing,
                floor_listing_cpu,
                "(the least a listing of these files does)",
            ),
            ("floor: read+sha256+JSON", floor, floor_cpu, "(the least a hashing reader does)"),
        ):
            print(
                f"{label:32}{seconds:>8.2f}s{seconds / n * 1e3:>9.3f} ms"
                f"{steady / (seconds / n):>7.0f}x   {cpu:>7.2f}s{cpu / n * 1e3:>9.3f} ms"
                f"{steady_cpu / (cpu / n):>7.0f}x   {what}"
            )
        print(
            "listing: what `kalshi-tui list` (the table) and the TUI read, every fact and verdict "
            "but no sha256 (hashed later, when used); with sha256: what `list --json` reads"
        )
        print(f"verdicts: {sorted(verdicts)}; load average after: {os.getloadavg()[0]:.1f}")

        small_config = load_config(empty_config, models_dir=small)
        clear_cache(small_config)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "kalshi_tui", "list", "--json", "--models-dir", str(small)],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=work,
        )
        list_cold = time.perf_counter() - start
        list_warm = time_list_process(small)
        table_warm = time_list_process(small, flags=())
        print(
            f"\n`kalshi-tui list --json`, {args.list_models:,} models: cold {list_cold:.2f} s, "
            f"warm {list_warm:.2f} s; plain `list` (table) warm {table_warm:.2f} s "
            "(best of 3, whole process)"
        )
        print(
            "\ntargets: listing >= 30x PPO.load per model; 10,000 cold <= 3 s, warm <= 0.5 s; "
            "list process for 1,000 (warm) <= 1 s"
        )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
