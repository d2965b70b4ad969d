"""Records, validations and health results with the seed analysis's figures, for the ranking
tests: real `ModelRecord`, `ValidationResult` and `HealthResult` values, as the catalog and
the stores hand them to the ranking."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from kalshi_tui.core.model_record import (
    COMPATIBLE,
    INCOMPATIBLE,
    UNREADABLE,
    ModelRecord,
    TrainingMetrics,
)
from kalshi_tui.eval.health_result import HealthResult
from kalshi_tui.eval.results import ValidationResult

NOW = datetime(2025, 12, 16, 12, 0, tzinfo=UTC)
LABELS21 = ["HOLD"] + [
    f"{side} x{size}"
    for side in ("BUY_YES", "SELL_YES", "BUY_NO", "SELL_NO")
    for size in (5, 10, 20, 50, 100)
]


def spread_histogram(hold: int, each: int, n: int = 21) -> dict[str, int]:
    return {"0": hold, **{str(a): each for a in range(1, n)}}


def record(
    path: str,
    *,
    verdict: str = COMPATIBLE,
    trained_at: str = "2025-12-15T07:13:01Z",
    markets: int | None = None,
    episodes: int | None = None,
    win_rate: float | None = None,
    trading_pct: float | None = None,
    histogram: dict[str, int] | None = None,
    kind: str = "run",
    n_actions: int = 21,
    metrics: bool = True,
) -> ModelRecord:
    m = None
    if metrics:
        m = TrainingMetrics(
            episodes=episodes,
            unique_markets=markets,
            win_rate=win_rate,
            trading_pct=trading_pct,
            hold_pct=None if trading_pct is None else 100 - trading_pct,
            action_histogram=histogram,
            sources={
                "episodes": "training_results.json",
                "unique_markets": "training_results.json",
                "win_rate": "training_results.json",
                "trading_pct": "training_summary.json",
                "action_histogram": "diagnostics.jsonl (recounted)",
            },
        )
    name = path.split("/")[0] if "/" in path else path.rsplit(".", 1)[0]
    return ModelRecord(
        path=path,
        abs_path=f"/models/{path}",
        name=name,
        verdict=verdict,
        reasons=[] if verdict == COMPATIBLE else ["action space Discrete(5), environment has 21"],
        algorithm="PPO",
        action_space_type="Discrete",
        n_actions=n_actions,
        trained_at=trained_at,
        kind=kind,
        metrics=m,
        size_bytes=230_860,
    )


def seed_records() -> list[ModelRecord]:
    """The seed's candidates with the figures it quotes (and where FORMATS.md says they were)."""
    return [
        record(
            "session32_final.zip",
            kind="final",
            trained_at="2025-12-15T05:15:49Z",
            markets=120,
            win_rate=0.359,
            trading_pct=95.5,
            histogram=spread_histogram(450, 480),
        ),
        record(
            "session15_ppo_20251215_065053/model.zip",
            trained_at="2025-12-15T11:50:53Z",
            markets=26,
            episodes=73_015,
            trading_pct=95.8,
            histogram=spread_histogram(420, 480),
        ),
        record(
            "session10_ppo_20251215_071301/model.zip",
            trained_at="2025-12-15T12:13:01Z",
            markets=558,
            episodes=20_886,
            histogram=spread_histogram(500, 470),
        ),
        record(
            "session9_ppo_20251211_221054/trained_model.zip",
            verdict=INCOMPATIBLE,
            trained_at="2025-12-12T03:10:54Z",
            n_actions=5,
            markets=300,
            win_rate=0.9,
        ),
        record("broken.zip", verdict=UNREADABLE, metrics=False),
    ]


def validation(
    path: str,
    *,
    win_rate: float,
    mean_pnl: float,
    drawdown: float,
    histogram: list[int] | None = None,
) -> ValidationResult:
    histogram = histogram or [300] + [35] * 20
    steps = sum(histogram)
    episodes = 120
    counts = [c for c in histogram if c]
    entropy = -sum(c / steps * math.log(c / steps) for c in counts) / math.log(21)
    return ValidationResult(
        model_path=path,
        sha256="ab" * 32,
        algorithm="PPO",
        n_actions=21,
        session_ids=[5, 6, 7, 8, 9, 10],
        deterministic=True,
        environment_fingerprint="fp",
        sessions_fingerprint="store",
        action_labels=LABELS21,
        histogram=histogram,
        steps=steps,
        hold_pct=100 * histogram[0] / steps,
        trading_pct=100 * (1 - histogram[0] / steps),
        histogram_entropy=entropy,
        mean_policy_entropy=1.0,
        mean_policy_entropy_normalised=0.3,
        episodes=episodes,
        markets=60,
        win_rate=win_rate,
        total_pnl_cents=mean_pnl * episodes,
        mean_pnl_cents=mean_pnl,
        max_drawdown_cents=drawdown,
        fills=900,
        fees_cents=1234.0,
        seconds=3.0,
        steps_per_second=1000.0,
        created_at="2025-12-16T10:00:00Z",
    )


def health(path: str, top_share: float) -> HealthResult:
    from kalshi_tui.eval.health_result import RECORDED, HealthResult, SourceHealth

    top = round(1000 * top_share)
    hist = [0] * 21
    hist[10], hist[3], hist[14], hist[20] = top, *(3 * [(1000 - top) // 3])
    source = SourceHealth(RECORDED, sum(hist), hist, hist, 0.5, 0.5, 0.0)
    return HealthResult(
        path,
        "cd" * 32,
        "PPO",
        21,
        [5, 6, 7, 8, 9, 10],
        True,
        "fp",
        "store",
        "kalshiflow-2025-12-15",
        "A",
        "realistic",
        "db",
        LABELS21,
        0.95,
        [source],
        0,
        1.0,
        "2025-12-16T10:00:00Z",
    )
