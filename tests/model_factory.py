"""Real SB3 model zips for tests: tiny models trained for a few steps by SB3 itself.

Nothing here fakes a zip by hand except where a test needs a deliberately broken or
old-format file, and then it starts from a real one and rewrites only what it must.
"""

from __future__ import annotations

import base64
import json
import pickle
import shutil
import zipfile
from pathlib import Path

ALGORITHMS = ("ppo", "a2c", "dqn")


def _space_env(n_actions: int, obs_dim: int, action_kind: str):
    import gymnasium as gym
    import numpy as np

    class SpacesOnlyEnv(gym.Env):
        """Random observations in the spaces under test; enough to train a few steps."""

        def __init__(self):
            self.observation_space = gym.spaces.Box(-2.0, 2.0, (obs_dim,), np.float32)
            self.action_space = {
                "discrete": gym.spaces.Discrete(n_actions),
                "multidiscrete": gym.spaces.MultiDiscrete([3, n_actions]),
                "box": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
            }[action_kind]
            self._t = 0

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self._t = 0
            return self.observation_space.sample(), {}

        def step(self, action):
            self._t += 1
            reward = float(np.asarray(action).ravel()[0] == 1)
            return self.observation_space.sample(), reward, self._t >= 16, False, {}

    return SpacesOnlyEnv()


# The original's profiles whose world a layout's models are trained in (5 or 21 actions).
_LAYOUT_PROFILES = {("A", 5): "kalshiflow-2025-12-11", ("A", 21): "kalshiflow-2025-12-15",
                    ("B", 5): "kalshiflow-2025-12-17", ("B", 21): "kalshiflow-2025-12-17"}
_TAPES: dict[tuple[str, int], list] = {}


def layout_tapes(layout: str, complement: int) -> list:
    """Market tapes of a small generated store (two sessions) in a layout, once per process."""
    import tempfile

    from kalshi_tui.env import GeneratorSettings, SessionStore, generate_sessions, load_tapes

    key = (layout, complement)
    if key not in _TAPES:
        with tempfile.TemporaryDirectory() as folder:
            store = Path(folder) / "sessions.db"
            generate_sessions(store, [3, 4], seed=7, settings=GeneratorSettings(
                markets=(2, 2), steps=(60, 80), session_hours=(0.3, 0.3)))
            with SessionStore(store) as opened:
                _TAPES[key] = load_tapes(opened, [3, 4], obs_layout=layout, complement=complement)[
                    0
                ]
    return _TAPES[key]


def layout_env(layout: str, n_actions: int, fill_model: str = "original-training"):
    """The real trading env of the original profile that built `layout` with `n_actions`:
    its observations are the layout's, feature for feature (kalshi_tui.env.layouts)."""
    from kalshi_tui.core.world.actions import ActionLayout
    from kalshi_tui.core.world.profiles import PROFILES, SIDES
    from kalshi_tui.env import KalshiTradingEnv

    profile = PROFILES[_LAYOUT_PROFILES[layout, n_actions]]
    sizes = profile.position_sizes if n_actions == profile.n_actions else (5, 10, 20, 50, 100)
    return KalshiTradingEnv(layout_tapes(layout, profile.complement), ActionLayout(SIDES, sizes),
                            seed=0, fill_model=fill_model, training_rules=profile.training_rules)


def make_sb3_zip(path: Path, *, algo: str = "ppo", n_actions: int = 21, obs_dim: int = 52,
                 action_kind: str = "discrete", timesteps: int = 64, seed: int = 0,
                 net_arch: list[int] | None = None, obs_layout: str | None = "A") -> Path:
    """Train a tiny real model and save it as SB3 does.

    `net_arch`: the hidden layers; [16] by default (small and fast for tests). SB3's own
    default, [64, 64], gives files the size of real models' (about 230 KB).
    `obs_layout`: a Discrete(5 or 21) model on 52 features is trained in the real env of
    that layout's original profile ("A": 2025-12-11/-15, "B": 2025-12-17), so its saved
    last observation is that layout's; None (or any other model): random observations in
    the spaces, which fit no layout.
    """
    from stable_baselines3 import A2C, DQN, PPO

    if (
        obs_layout is not None
        and action_kind == "discrete"
        and obs_dim == 52
        and n_actions in (5, 21)
    ):
        env = layout_env(obs_layout, n_actions)
        env.action_space.seed(seed)
    else:
        env = _space_env(n_actions, obs_dim, action_kind)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
    kwargs = dict(policy_kwargs=dict(net_arch=net_arch or [16]), seed=seed, device="cpu", verbose=0)
    if algo == "ppo":
        model = PPO("MlpPolicy", env, n_steps=32, batch_size=32, n_epochs=1, **kwargs)
    elif algo == "a2c":
        model = A2C("MlpPolicy", env, n_steps=8, **kwargs)
    elif algo == "dqn":
        model = DQN("MlpPolicy", env, learning_starts=16, buffer_size=256, batch_size=16,
                    train_freq=4, target_update_interval=32, **kwargs)
    else:
        raise ValueError(algo)
    model.learn(timesteps)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def rewrite_member(src: Path, dst: Path, member: str, content: bytes | None) -> Path:
    """Copy a zip, replacing one member's bytes (or dropping it when content is None)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename == member:
                continue
            zout.writestr(info, zin.read(info.filename))
        if content is not None:
            zout.writestr(member, content)
    return dst


def edit_data(src: Path, dst: Path, edit) -> Path:
    """Copy a zip with its `data` JSON changed by `edit(dict) -> None`."""
    with zipfile.ZipFile(src) as z:
        data = json.loads(z.read("data"))
    edit(data)
    return rewrite_member(src, dst, "data", json.dumps(data).encode())


def to_old_sb3_encoding(src: Path, dst: Path) -> Path:
    """Rewrite as SB3 0.x/1.x wrote it: `n` an int, `shape` not `_shape`, `gym.spaces` types."""

    def edit(data):
        act = data["action_space"]
        if "n" in act:
            act["n"] = int(act["n"])
        act[":type:"] = act[":type:"].replace("gymnasium.spaces", "gym.spaces")
        obs = data["observation_space"]
        obs["shape"] = (
            json.loads(obs.pop("_shape"))
            if isinstance(obs.get("_shape"), str)
            else obs.pop("_shape")
        )
        obs[":type:"] = obs[":type:"].replace("gymnasium.spaces", "gym.spaces")

    out = edit_data(src, dst, edit)
    # Old zips carry no version member.
    return rewrite_member(
        out, dst.with_suffix(".tmp.zip"), "_stable_baselines3_version", None
    ).replace(dst)


class _CreatesFile:
    """A pickle payload that would create a file if anything ever unpickled it."""

    def __init__(self, canary: str):
        self.canary = canary

    def __reduce__(self):
        return (eval, (f"open({self.canary!r}, 'w').write('pwned')",))


def malicious_pickle_b64(canary: Path) -> str:
    return base64.b64encode(pickle.dumps(_CreatesFile(str(canary)))).decode()


def plant_malicious_field(src: Path, dst: Path, canary: Path, field: str = "policy_class") -> Path:
    """Put a file-creating pickle in a `:serialized:` field, as a crafted zip would."""

    def edit(data):
        data[field] = {":type:": "<class 'abc.ABCMeta'>",
                       ":serialized:": malicious_pickle_b64(canary)}

    return edit_data(src, dst, edit)


def copy_model(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    return dst
