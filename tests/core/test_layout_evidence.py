"""Which observation layout a model was trained on, from its file: every invariant against
observations our own builders produce for both layouts, then real SB3 zips per profile."""

from __future__ import annotations

import base64
import shutil
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "env"))

from model_factory import edit_data, layout_tapes, make_sb3_zip, plant_malicious_field  # noqa: E402
from test_layouts import B_EMPTY_MARKET, POINT, TS, observation  # noqa: E402

from kalshi_tui.core.config import load_config  # noqa: E402
from kalshi_tui.core.evidence.compat import judge  # noqa: E402
from kalshi_tui.core.model_record import COMPATIBLE, INCOMPATIBLE, UNSAFE  # noqa: E402
from kalshi_tui.core.sb3.layout_evidence import (
    INVARIANTS,
    failed_invariants,  # noqa: E402
    last_observation_rows,
    layout_from_rows,
    obs_layout_evidence,
)
from kalshi_tui.core.world.actions import ActionLayout  # noqa: E402
from kalshi_tui.core.world.profiles import FILL_MODELS, PROFILES, SIDES  # noqa: E402
from kalshi_tui.env.temporal import ViewPoint  # noqa: E402
from kalshi_tui.env.world import make_simulator  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ORIGINAL_PROFILES = ("kalshiflow-2025-12-11", "kalshiflow-2025-12-15", "kalshiflow-2025-12-17")


def builder_rows(profile_name: str, fill_model: str, seed: int = 0) -> np.ndarray:
    """Every observation our simulator builds for a profile's world while a random policy
    trades hard (positions long and short, sells of nothing), terminal rows (all zeros, no
    evidence: layout_from_rows skips them) excepted."""
    profile = PROFILES[profile_name]
    tapes = layout_tapes(profile.observation_layout, profile.complement)
    layout = ActionLayout(SIDES, profile.position_sizes)
    sim = make_simulator(
        tapes, layout, fill_model=fill_model, training_rules=profile.training_rules
    )
    rng = np.random.default_rng(seed)
    rows = [sim.observations()]
    while not sim.all_done:
        obs, _rewards, ended = sim.step(rng.integers(0, layout.n, len(tapes)))
        rows.append(obs[~ended])
    rows_all = np.concatenate(rows)
    return rows_all[(rows_all != 0).any(axis=1)]


@pytest.fixture(scope="module")
def rows_by_layout() -> dict[str, np.ndarray]:
    found: dict[str, list[np.ndarray]] = {"A": [], "B": []}
    for name in ORIGINAL_PROFILES:
        for fill_model in FILL_MODELS:
            found[PROFILES[name].observation_layout].append(builder_rows(name, fill_model))
    # the spec's own books: its test book at reset, after SELL_YES 20, and the empty book
    for layout, complement in (("A", 99), ("B", 100)):
        found[layout].append(observation(layout, complement)[None])
        found[layout].append(observation(layout, complement, ViewPoint(TS, {}, {}))[None])
        found[layout].append(
            observation(
                layout, complement, portfolio=([10800.0], [11960.0], [-20.0], [800.0], [0.41])
            )[None]
        )
    return {layout: np.concatenate(parts) for layout, parts in found.items()}


def test_builders_produce_many_varied_rows(rows_by_layout):
    for layout, rows in rows_by_layout.items():
        assert len(rows) > 500, layout
        # positions both ways were held, so the portfolio invariants were tested, not skipped
        bias = rows[:, 41 if layout == "A" else 42]
        assert (bias > 0.5).any() and (bias < -0.5).any()


@pytest.mark.parametrize("layout", ["A", "B"])
def test_every_invariant_holds_on_every_row_its_layout_builds(rows_by_layout, layout):
    rows = rows_by_layout[layout]
    for name, check in INVARIANTS[layout]:
        broken = [i for i, row in enumerate(rows.tolist()) if not check(row)]
        assert not broken, (
            f"{layout}: '{name}' broken by row {broken[0]}: {rows[broken[0]].tolist()}"
        )


@pytest.mark.parametrize("layout, other", [("A", "B"), ("B", "A")])
def test_every_row_of_one_layout_breaks_the_others_invariants(rows_by_layout, layout, other):
    rows = rows_by_layout[other].tolist()
    # not one lucky check: every row breaks most of the other layout's invariants
    assert min(len(failed_invariants(row, layout)) for row in rows) >= 6


def test_the_spec_vectors_fit_their_layout_only():
    a, b = observation("A", 99).tolist(), observation("B", 100).tolist()
    assert layout_from_rows([a])[0] == "A" and layout_from_rows([b])[0] == "B"
    empty_b = observation("B", 100, ViewPoint(TS, {}, {}))
    np.testing.assert_allclose(empty_b[:26], B_EMPTY_MARKET, atol=5e-5)
    assert layout_from_rows([empty_b.tolist()])[0] == "B"


def _serialized(array: np.ndarray) -> dict:
    """`_last_obs` as SB3's save writes a numpy array into `data` (cloudpickle, base64)."""
    return {
        ":type:": "<class 'numpy.ndarray'>",
        ":serialized:": base64.b64encode(cloudpickle.dumps(array)).decode(),
    }


def test_rows_read_from_the_pickle_bytes_match_the_array():
    array = np.stack([observation("A", 99), observation("A", 99, POINT)]).astype(np.float32)
    rows, why = last_observation_rows(_serialized(array))
    assert why == "" and rows == array.tolist()
    fortran = np.asfortranarray(array)
    assert last_observation_rows(_serialized(fortran))[0] == array.tolist()
    big_endian = array.astype(">f4")
    assert last_observation_rows(_serialized(big_endian))[0] == array.tolist()
    assert "not float32" in last_observation_rows(_serialized(array.astype(np.float64)))[1]
    assert "shape" in last_observation_rows(_serialized(np.zeros((1, 54), np.float32)))[1]


def test_evidence_words_and_the_date_of_layout_b():
    a = _serialized(observation("A", 99)[None])
    b = _serialized(observation("B", 100)[None])
    layout, words = obs_layout_evidence([52], a, "2025-12-15T05:15:49Z")
    assert words == (
        "trained on layout A (last observation fits A's 10 invariants, not B's (breaks "
        "'imbalances 15, 18 = 0, 17 = -16, consistency 19 in {0, 0.01, 0.5}'); "
        "trained 2025-12-15, before layout B existed)"
    )
    assert layout == "A"
    assert obs_layout_evidence([52], b, "2025-12-17T18:00:00Z")[0] == "B"
    layout, words = obs_layout_evidence([52], b, "2025-12-11T23:59:39Z")
    assert layout is None and "before layout B existed (2025-12-17): the two disagree" in words
    assert obs_layout_evidence([54], a, None) == (None, None)
    layout, words = obs_layout_evidence([52], None, "2025-12-11T23:59:39Z")
    assert layout is None and words.startswith("no saved last observation")


def test_weak_evidence_is_none_with_its_reason():
    a, b = observation("A", 99), observation("B", 100)
    assert layout_from_rows([[0.0] * 52, [0.0] * 52]) == (
        None,
        "last observation (2 rows) is all zeros (a terminal or failed observation): no evidence",
    )
    layout, words = layout_from_rows([a.tolist(), b.tolist()])
    assert layout is None and "some rows fit A's invariants, others B's" in words
    layout, words = layout_from_rows([np.random.default_rng(1).uniform(-2, 2, 52).tolist()])
    assert layout is None and words.startswith(
        "last observation fits neither A's invariants (breaks '"
    )
    # every row of n_envs is checked; all-zero rows (a terminal observation) are skipped
    layout, words = layout_from_rows([a.tolist(), [0.0] * 52, a.tolist()])
    assert layout == "A" and "(3 rows), 1 all-zero rows skipped" in words


# --- real SB3 zips, judged per profile ---------------------------------------------------


def _config(tmp_path: Path, profile: str, models: Path | None = None):
    folder = tmp_path / profile
    folder.mkdir(exist_ok=True)
    path = folder / "kalshi_tui.toml"
    path.write_text(
        f'[paths]\nmodels_dir = "{models or tmp_path / "models"}"\n'
        f'cache_dir = "{folder / "cache"}"\n[environment]\nprofile = "{profile}"\n'
    )
    return load_config(path)


def _records(models: Path, config):
    from kalshi_tui.core.catalog.scan import scan_catalog

    assert Path(config.models_dir) == models
    return {r.name: r for r in scan_catalog(config).records}


@pytest.fixture(scope="module")
def original_like_models(tmp_path_factory) -> Path:
    """The closest faithful reproduction of the original's two real zips, flat in a models
    folder (ORIGINAL_ENV.md section 4): `session12_ppo_final.zip`, Discrete(5), trained in
    the 2025-12-11 world (layout A, 10 contracts, k = 99), start_time 2025-12-11 23:59:39
    UTC; `session32_final.zip`, Discrete(21), 2025-12-15 world, start 2025-12-15 05:15:49
    UTC. Plus a layout-B model of the 2025-12-17 world (trained 12-17 18:00 UTC)."""
    root = tmp_path_factory.mktemp("original") / "models"
    specs = {
        "session12_ppo_final": (5, "A", 1765497579),
        "session32_final": (21, "A", 1765775749),
        "b_model_20251217": (5, "B", 1765994400),
    }
    for name, (n_actions, layout, start) in specs.items():
        made = make_sb3_zip(root / f"{name}.tmp.zip", n_actions=n_actions, obs_layout=layout)

        def stamp(data, start=start):
            data["start_time"] = start * 10**9  # SB3 writes time.time_ns()

        edit_data(made, root / f"{name}.zip", stamp)
        made.unlink()
    return root


EXPECTED = {  # profile -> model -> (verdict, the layout reason is among the reasons)
    "kalshiflow-2025-12-11": {
        "session12_ppo_final": (COMPATIBLE, False),
        "session32_final": (INCOMPATIBLE, False),
        "b_model_20251217": (INCOMPATIBLE, True),
    },
    "kalshiflow-2025-12-15": {
        "session12_ppo_final": (INCOMPATIBLE, False),
        "session32_final": (COMPATIBLE, False),
        "b_model_20251217": (INCOMPATIBLE, True),
    },
    "kalshiflow-2025-12-17": {
        "session12_ppo_final": (INCOMPATIBLE, True),
        "session32_final": (INCOMPATIBLE, True),
        "b_model_20251217": (COMPATIBLE, False),
    },
}


@pytest.mark.parametrize("profile", ORIGINAL_PROFILES)
def test_layout_verdicts_of_the_original_like_models_per_profile(
    original_like_models, tmp_path, profile
):
    records = _records(original_like_models, _config(tmp_path, profile, original_like_models))
    assert records["session12_ppo_final"].obs_layout == "A"
    assert records["session32_final"].obs_layout == "A"
    assert records["b_model_20251217"].obs_layout == "B"
    assert (
        "trained 2025-12-11, before layout B existed"
        in records["session12_ppo_final"].obs_layout_evidence
    )
    for name, (verdict, layout_reason) in EXPECTED[profile].items():
        record = records[name]
        assert record.verdict == verdict, (name, record.reasons)
        said = [r for r in record.reasons if "same 52 numbers, different meanings" in r]
        assert bool(said) == layout_reason, (name, record.reasons)
        assert not any(w.startswith("observation layout unknown") for w in record.warnings)
    if profile.endswith("17"):
        # the original's disaster: 5 actions fit, 52 features fit; only the layout does not
        reasons = records["session12_ppo_final"].reasons
        assert reasons == (
            "trained on observation layout A, the environment builds layout B: "
            "same 52 numbers, different meanings",
        )


def _with_last_obs(src: Path, dst: Path, value) -> Path:
    def edit(data):
        data["_last_obs"] = value

    return edit_data(src, dst, edit)


def test_zeros_last_observation_is_a_warning_not_a_guess(tmp_path):
    models = tmp_path / "models"
    made = make_sb3_zip(tmp_path / "src.zip", n_actions=21)
    _with_last_obs(made, models / "zeros.zip", _serialized(np.zeros((1, 52), np.float32)))
    for profile in ("kalshiflow-2025-12-15", "kalshiflow-2025-12-17"):
        record = _records(models, _config(tmp_path, profile))["zeros"]
        assert record.obs_layout is None
        assert "all zeros" in record.obs_layout_evidence
        assert any(
            w.startswith("observation layout unknown") and "all zeros" in w for w in record.warnings
        )
        assert not any("different meanings" in r for r in record.reasons)


def test_a_model_trained_before_layout_b_cannot_be_b(tmp_path):
    models = tmp_path / "models"
    made = make_sb3_zip(tmp_path / "src.zip", n_actions=5)

    def edit(data):
        data.pop("_last_obs")
        data["start_time"] = 1765497579 * 10**9

    edit_data(made, models / "old.zip", edit)
    record = _records(models, _config(tmp_path, "kalshiflow-2025-12-17"))["old"]
    assert record.obs_layout is None and record.verdict == INCOMPATIBLE
    assert record.reasons == (
        "trained 2025-12-11, before layout B existed (2025-12-17), the "
        "environment builds layout B: same 52 numbers, different meanings",
    )
    record = _records(models, _config(tmp_path, "kalshiflow-2025-12-11"))["old"]
    assert record.verdict == COMPATIBLE and record.obs_layout is None
    assert any(w.startswith("observation layout unknown") for w in record.warnings)


def test_a_crafted_last_observation_is_never_run(tmp_path):
    canary = tmp_path / "canary"
    made = make_sb3_zip(tmp_path / "src.zip", n_actions=21)
    models = tmp_path / "models"
    plant_malicious_field(made, models / "crafted.zip", canary, field="_last_obs")
    record = _records(models, _config(tmp_path, "kalshiflow-2025-12-15"))["crafted"]
    assert not canary.exists()
    assert (
        record.obs_layout is None and "not a plain numpy array pickle" in record.obs_layout_evidence
    )
    assert record.verdict == UNSAFE


def test_n_envs_rows_are_each_checked(tmp_path):
    made = make_sb3_zip(tmp_path / "src.zip", n_actions=21)
    models = tmp_path / "models"
    a, b = observation("A", 99), observation("B", 100)
    _with_last_obs(made, models / "four_a.zip", _serialized(np.stack([a] * 4)))
    _with_last_obs(made, models / "mixed.zip", _serialized(np.stack([a, a, b])))
    records = _records(models, _config(tmp_path, "kalshiflow-2025-12-15"))
    assert (
        records["four_a"].obs_layout == "A" and "(4 rows)" in records["four_a"].obs_layout_evidence
    )
    assert records["mixed"].obs_layout is None
    assert "some rows fit A's invariants, others B's" in records["mixed"].obs_layout_evidence


def test_the_bundled_demo_models_are_layout_a(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(REPO / "trained_models", models)
    records = _records(models, _config(tmp_path, "kalshiflow-2025-12-17"))
    fifty_two = [r for r in records.values() if r.obs_shape == (52,)]
    assert len(fifty_two) >= 10
    for record in fifty_two:
        assert record.obs_layout == "A", (record.path, record.obs_layout_evidence)
        assert any(
            "trained on observation layout A, the environment builds layout B" in r
            for r in record.reasons
        )


def test_judging_uses_the_record_alone(model_zoo, tmp_path):
    """A cached record is re-judged by the profile: the evidence is a fact of the file."""
    from kalshi_tui.core.catalog.scan import inspect_model

    config = _config(tmp_path, "kalshiflow-2025-12-15")
    record = inspect_model(model_zoo["ppo21"], config, models_dir=model_zoo["ppo21"].parent)
    assert record.obs_layout == "A" and record.verdict == COMPATIBLE
    judge(record, _config(tmp_path, "kalshiflow-2025-12-17").environment)
    assert record.verdict == INCOMPATIBLE
