"""What an A/B test found, where it is stored, and the one line `promote` and the report show.

Plain data read without torch or numpy, so `promote`'s plan, the report and the TUI can ask
for the stored A/B of a candidate against the current model at listing time. Stored like
validations: `<cache_dir>/abtest/<candidate sha256>.json`, one entry per key (the other
model's sha256, the environment fingerprint with its world and fill model, the sessions and
the fingerprint of their rows, the trader's mode).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from kalshi_tui.core.world.session_ids import session_ranges
from kalshi_tui.eval.current import CurrentModel, current_model
from kalshi_tui.eval.paired import PairedDifference
from kalshi_tui.eval.results_cache import (
    default_session_ids,
    has_stored,
    save_entry,
    sessions_fingerprint,
    stored_entries,
    stored_names,
)

ABTEST = "abtest"  # the kind of stored result: its own folder beside validation and health
ABTEST_FORMAT = 1
NO_AB = "no A/B against the current model"


@dataclass
class ABResult:
    """Candidate and the other model, run in the trader's mode on the same markets."""

    candidate_path: str
    candidate_sha256: str
    against_path: str
    against_sha256: str
    against_is_current: bool  # the pointer's model when the test ran
    session_ids: list[int]
    sessions_fingerprint: str
    session_source: str
    environment_fingerprint: str
    profile: str
    observation_layout: str
    fill_model: str
    deterministic: bool  # the trader's mode (trader.deterministic)
    seed: int | None  # the sampling seed of a stochastic run
    paired: PairedDifference  # candidate minus the other, per market
    candidate_headline: str  # each side's validation headline on these markets
    against_headline: str
    candidate_fills: int
    against_fills: int
    agreement_steps: int  # steps where the other model chose the candidate's action
    compared_steps: int  # the candidate's steps, each shown to both models
    seconds: float
    created_at: str
    format: int = ABTEST_FORMAT
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.paired, dict):
            self.paired = PairedDifference.from_dict(self.paired)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ABResult:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def agreement_share(self) -> float:
        return self.agreement_steps / self.compared_steps if self.compared_steps else 0.0

    @property
    def mode(self) -> str:
        return ("deterministic, as the trader predicts" if self.deterministic
                else f"stochastic, as the trader samples (seed {self.seed})")

    def vs_line(self, against: str = "current") -> str:
        """'vs current: +1.20 $/market, 95 % CI [-0.30, +2.70], 35 markets'."""
        return f"vs {against}: {self.paired.figure_text()}"

    def summary_lines(self) -> list[str]:
        p = self.paired
        role = "current" if self.against_is_current else "other"
        other = f"{role} model"
        return [
            f"candidate   {self.candidate_path} (sha256 {self.candidate_sha256[:12]})",
            f"against     {self.against_path} (sha256 {self.against_sha256[:12]}, {other})",
            f"world       profile {self.profile}, layout {self.observation_layout}, "
            f"fill model {self.fill_model}, sessions from {self.session_source}",
            f"sessions    {session_ranges(self.session_ids)}  trader mode: {self.mode}",
            f"difference  {p.figure_text()} (candidate minus {other}, paired by market; "
            f"bootstrap {p.resamples:,} resamples, seed {p.seed})",
            f"markets     candidate made more on {p.a_wins} ({p.a_win_share * 100:.1f} %), "
            f"less on {p.b_wins}, the same on {p.ties}",
            f"agreement   the same action on {self.agreement_share * 100:.1f} % of "
            f"{self.compared_steps:,} steps (the {other} shown each of the candidate's "
            "observations)",
            f"verdict     {p.verdict_text('the candidate', 'the ' + other)}",
            f"candidate   {self.candidate_headline}",
            f"{role:<11} {self.against_headline}",
        ]


def abtest_key(against_sha256: str, config: Any, session_ids: list[int], sessions_fp: str,
               deterministic: bool, seed: int | None) -> str:
    """What a stored A/B must match, the candidate's sha256 (its file name) aside."""
    return json.dumps({"format": ABTEST_FORMAT, "against": against_sha256,
                       "environment": config.environment.fingerprint(),
                       "sessions": sorted({int(s) for s in session_ids}),
                       "deterministic": bool(deterministic),
                       "seed": None if deterministic else seed, "store": sessions_fp},
                      sort_keys=True)


def save_abtest(result: ABResult, key: str, cache_dir) -> tuple[Any, str | None]:
    return save_entry(ABTEST, result.candidate_sha256, key, {**result.to_dict(), "key": key},
                      cache_dir)


def load_abtest(candidate_sha256: str | None, against_sha256: str | None, config: Any,
                session_ids: list[int] | None = None, *, deterministic: bool | None = None,
                seed: int | None = 0) -> ABResult | None:
    """The stored A/B of these two models for this config, or None when absent or stale.

    Without `session_ids` the config's validation sessions; without `deterministic` the
    trader's mode. Asks the session store only when something is stored for the candidate.
    """
    if not candidate_sha256 or not against_sha256:
        return None
    if not has_stored(ABTEST, candidate_sha256, config.cache_dir):
        return None
    if session_ids is None:
        session_ids = default_session_ids(config)
        if session_ids is None:
            return None
    if deterministic is None:
        deterministic = config.trader_deterministic
    key = abtest_key(against_sha256, config, session_ids,
                     sessions_fingerprint(config.sessions_db, session_ids), deterministic, seed)
    found = []
    for entry in stored_entries(ABTEST, candidate_sha256, config.cache_dir, key):
        try:
            result = ABResult.from_dict(entry)
        except (TypeError, KeyError, ValueError, AttributeError):
            continue  # written by a version with other fields: not current
        if result.candidate_sha256 == candidate_sha256 and entry.get("key") == key:
            found.append(result)
    return max(found, key=lambda r: r.created_at) if found else None


@dataclass
class AgainstCurrent:
    """The candidate's A/B against the current model: the stored result, or why there is none."""

    line: str  # what promote, the report and the TUI show, one line
    result: ABResult | None
    current: CurrentModel
    same_model: bool = False  # the candidate is the current model


def against_current(candidate_sha256: str | None, config: Any,
                    session_ids: list[int] | None = None, *, status: Any = None,
                    stored: set[str] | None = None) -> AgainstCurrent:
    """The stored A/B of this candidate against the current model, as one line.

    `vs current: +1.20 $/market, 95 % CI [-0.30, +2.70], 35 markets` when stored; "no A/B
    against the current model" when not; the reason when the current model cannot run here
    (missing, incompatible, unsafe) or there is none. Never runs a model. `status`: a
    PointerStatus the caller already has; `stored`: `stored_ab_candidates(config)`, for a
    caller asking about many models (one folder listing instead of a stat per model).
    """
    current = current_model(config, status)
    if not current.runnable:
        return AgainstCurrent(current.problem or NO_AB, None, current)
    if candidate_sha256 and candidate_sha256 == current.sha256:
        return AgainstCurrent("this is the current model: nothing to compare", None, current,
                              same_model=True)
    result = None
    if stored is None or candidate_sha256 in stored:
        result = load_abtest(candidate_sha256, current.sha256, config, session_ids)
    if result is None:
        return AgainstCurrent(NO_AB, None, current)
    return AgainstCurrent(result.vs_line("current"), result, current)


def vs_current_line(candidate_sha256: str | None, config: Any,
                    session_ids: list[int] | None = None, *, status: Any = None,
                    stored: set[str] | None = None) -> str:
    """Only the line of `against_current`."""
    return against_current(candidate_sha256, config, session_ids, status=status,
                           stored=stored).line


def stored_ab_candidates(config: Any) -> set[str]:
    """The sha256 of every candidate with an A/B stored, from one listing per cache folder."""
    return stored_names(ABTEST, config.cache_dir)
