"""Configuration: `kalshi_tui.toml`, read and written with tomlkit so comments survive.

Where a value came from matters to an operator during an incident ("why is it looking
at that folder?"), so every effective value carries its source: `default`, the config
file and line, the `KALSHI_TUI_CONFIG` variable or a command-line flag.
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

# ConfigError is re-exported: callers catch config problems from `kalshi_tui.core`.
from kalshi_tui.core.config_schema import (
    PATH_TYPE,
    RANKING_WEIGHT_LIMIT,
    SCHEMA,
    ConfigError as ConfigError,
    check_range,
    check_type,
    line_of,
)
from kalshi_tui.core.db_url import is_database_url, redacted, source_name
from kalshi_tui.core.safe_text import shown
from kalshi_tui.core.world.actions import ActionLayout
from kalshi_tui.core.world.profiles import (
    DEFAULT_PROFILE,
    FILL_MODELS,
    OBSERVATION_LAYOUTS,
    PROFILES,
    REALISTIC,
    EnvironmentProfile,
)

CONFIG_FILE_NAME = "kalshi_tui.toml"
CONFIG_ENV_VAR = "KALSHI_TUI_CONFIG"
POINTER_FILE_NAME = "CURRENT_MODEL.json"
# A config is a few kilobytes; anything bigger is not one (and /dev/zero never ends).
MAX_CONFIG_BYTES = 1024 * 1024


@dataclass(frozen=True)
class EnvironmentSpec:
    """The environment a model must fit to trade: actions and observations."""

    base_actions: tuple[str, ...]
    position_sizes: tuple[int, ...]
    n_actions: int
    legacy_position_sizes: tuple[int, ...]
    legacy_n_actions: int
    observation_shape: tuple[int, ...]
    observation_dtype: str
    observation_low: float
    observation_high: float
    # Trader safety (catalog.*): verdicts depend on them, so they live with what verdicts read.
    trusted_globals: tuple[str, ...] = ()
    max_member_bytes: int = 256 * 1024 * 1024
    profile: EnvironmentProfile = PROFILES[DEFAULT_PROFILE]
    observation_layout: str = PROFILES[DEFAULT_PROFILE].observation_layout
    fill_model: str = REALISTIC

    @property
    def complement(self) -> int:
        """The YES/NO complement asks derive with: 99 before 2025-12-17, 100 after."""
        return self.profile.complement

    def world(self) -> dict[str, Any]:
        """What every figure is measured in, named: profile, layout, fill model."""
        return {"profile": self.profile.name, "observation_layout": self.observation_layout,
                "fill_model": self.fill_model}

    @property
    def layout(self) -> ActionLayout:
        return ActionLayout(self.base_actions, self.position_sizes)

    @property
    def legacy_layout(self) -> ActionLayout:
        return ActionLayout(self.base_actions, self.legacy_position_sizes)

    def layout_for(self, n_actions: int) -> ActionLayout | None:
        """The layout that has `n_actions` actions, if the config knows one."""
        for layout in (self.layout, self.legacy_layout):
            if layout.n == n_actions:
                return layout
        return None

    def fingerprint(self) -> str:
        """A stable string that changes when anything a verdict depends on changes."""
        return repr((self.base_actions, self.position_sizes, self.n_actions,
                     self.observation_shape, self.observation_dtype,
                     self.observation_low, self.observation_high,
                     self.profile.name, self.observation_layout, self.fill_model,
                     self.trusted_globals, self.max_member_bytes))


@dataclass(frozen=True)
class Config:
    file: Path | None
    models_dir: Path
    pointer_file: Path
    base_dir: Path
    sessions_db: Path | str  # a SQLite file, or a postgresql:// URL (kept as given)
    cache_dir: Path
    environment: EnvironmentSpec
    max_data_bytes: int
    max_members: int
    lock_timeout_seconds: float
    post_change_hook: str
    hook_timeout_seconds: float
    protect_last_records: int
    validation_sessions: str
    validation_deterministic: bool
    refresh_seconds: float
    keymap: dict[str, str]
    ranking_weights: dict[str, float]
    # "section.key" -> where the effective value came from
    sources: dict[str, str] = field(default_factory=dict)
    # "section.key" -> the effective value, as the operator would write it
    values: dict[str, Any] = field(default_factory=dict)
    trader_deterministic: bool = True
    health_collapse_share: float = 0.95

    @property
    def sessions_name(self) -> str:
        """The session source as messages and results name it: never with a password."""
        return source_name(self.sessions_db)


def bundled_sessions_db() -> Path:
    return Path(__file__).resolve().parent.parent / "env" / "data" / "sessions.db"


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> tuple[Path | None, str]:
    """The config file to read and why: --config, then $KALSHI_TUI_CONFIG, then
    ./kalshi_tui.toml."""
    if explicit:
        return Path(explicit), "--config"
    env = os.environ.get(CONFIG_ENV_VAR)
    if env:
        return Path(env), CONFIG_ENV_VAR
    local = Path.cwd() / CONFIG_FILE_NAME
    if local.is_file():
        return local, "found in the working directory"
    return None, "none found: defaults"


def read_config_text(path: Path, found_by: str = "") -> str:
    """The config file's text: a regular file of at most MAX_CONFIG_BYTES of UTF-8, or ConfigError.

    Opened non-blocking and checked with fstat before a byte is read, so a FIFO, a device
    (/dev/zero, /dev/urandom) or a folder is refused at once instead of hanging or growing.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found" + (f" ({found_by})" if found_by else "")
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(
                f"{path}: the config is {_file_kind(info.st_mode)}, not a regular file"
            )
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: the config file is {info.st_size:,} bytes; a config is at "
                              f"most {MAX_CONFIG_BYTES:,}")
        data = os.read(fd, MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: the config file is over {MAX_CONFIG_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}); a config is TOML text"
        ) from None


def _file_kind(mode: int) -> str:
    for test, words in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                        (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return words
    return "not a plain file"


def load_config(
    config_path: str | os.PathLike[str] | None = None,
    *,
    models_dir: str | os.PathLike[str] | None = None,
    pointer: str | os.PathLike[str] | None = None,
) -> Config:
    """Read the effective config; command-line paths override the file's."""
    path, found_by = find_config_file(config_path)
    raw: dict[str, Any] = {}
    text = ""
    if path is not None:
        text = read_config_text(path, found_by)
        try:
            raw = tomlkit.parse(text).unwrap()
        except TOMLKitError as exc:
            raise ConfigError(f"{path}: not valid TOML: {shown(exc)}") from None
        except RecursionError:
            raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
    base = path.resolve().parent if path is not None else Path.cwd()

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for section, body in raw.items():
        if section not in SCHEMA:
            raise ConfigError(f"{path}: unknown section [{shown(section)}] "
                              f"(known: {', '.join(SCHEMA)})")
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: '{shown(section)}' must be a table [{shown(section)}]")
        for key in body:
            if key not in SCHEMA[section]:
                raise ConfigError(f"{path}: unknown key '{section}.{shown(key)}' "
                                  f"(known: {', '.join(SCHEMA[section])})")
    for section, keys in SCHEMA.items():
        for key, (expected, default) in keys.items():
            dotted = f"{section}.{key}"
            if key in raw.get(section, {}):
                line = line_of(text, section, key)
                sources[dotted] = f"{path}:{line}" if line else str(path)
                value = check_type(raw[section][key], expected, f"{sources[dotted]}: '{dotted}'")
                check_range(dotted, value, sources[dotted])
                if expected is PATH_TYPE and not is_database_url(value):
                    value = str((base / Path(value).expanduser()).resolve())
            else:
                value, sources[dotted] = default, "default"
            values[dotted] = value

    if models_dir is not None:
        values["paths.models_dir"] = str(Path(models_dir).resolve())
        sources["paths.models_dir"] = "--models-dir"
    elif (
        values["paths.models_dir"] == "trained_models" and sources["paths.models_dir"] == "default"
    ):
        values["paths.models_dir"] = str((base / "trained_models").resolve())
    if pointer is not None:
        values["paths.pointer"] = str(Path(pointer).resolve())
        sources["paths.pointer"] = "--pointer"
    _derive_paths(values, sources)
    env = _environment_spec(values, sources, path)
    trusted = values["catalog.trusted_globals"]
    if not all(isinstance(name, str) and name for name in trusted):
        raise ConfigError(
            f"{sources['catalog.trusted_globals']}: 'catalog.trusted_globals' must be "
            "a list of 'module.Name' strings"
        )
    env = dataclasses.replace(env, trusted_globals=tuple(trusted),
                              max_member_bytes=values["catalog.max_member_bytes"])
    sessions_db = values["paths.sessions_db"]
    if is_database_url(sessions_db):
        values["paths.sessions_db"] = redacted(sessions_db)  # what `config` shows
    else:
        sessions_db = Path(sessions_db)
    return Config(
        file=path,
        models_dir=Path(values["paths.models_dir"]),
        pointer_file=Path(values["paths.pointer"]),
        base_dir=Path(values["paths.base_dir"]),
        sessions_db=sessions_db,
        cache_dir=Path(values["paths.cache_dir"]),
        environment=env,
        max_data_bytes=values["catalog.max_data_bytes"],
        max_members=values["catalog.max_members"],
        lock_timeout_seconds=float(values["pointer.lock_timeout_seconds"]),
        post_change_hook=values["pointer.post_change_hook"],
        hook_timeout_seconds=float(values["pointer.hook_timeout_seconds"]),
        protect_last_records=values["pointer.protect_last_records"],
        validation_sessions=values["validation.sessions"],
        validation_deterministic=values["validation.deterministic"],
        refresh_seconds=float(values["tui.refresh_seconds"]),
        keymap={str(k): str(v) for k, v in values["tui.keymap"].items()},
        ranking_weights=_ranking_weights(values["ranking.weights"], path),
        sources=sources,
        values=values,
        trader_deterministic=values["trader.deterministic"],
        health_collapse_share=float(values["health.collapse_share"]),
    )


def _ranking_weights(weights: dict[str, Any], path: Path | None) -> dict[str, float]:
    """Numbers only (TOML true is not 1.0); which keys exist is the ranking's to say."""
    for key, value in weights.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(
                f"{path or 'defaults'}: 'ranking.weights.{shown(key)}' must be a number, "
                f"not {type(value).__name__} {shown(repr(value))}"
            )
        if not (math.isfinite(value) and abs(value) <= RANKING_WEIGHT_LIMIT):
            raise ConfigError(f"{path or 'defaults'}: 'ranking.weights.{shown(key)}' = {value!r}: "
                              f"must be a finite number from {-RANKING_WEIGHT_LIMIT:g} to "
                              f"{RANKING_WEIGHT_LIMIT:g}")
    return {str(k): float(v) for k, v in weights.items()}


def _derive_paths(values: dict[str, Any], sources: dict[str, str]) -> None:
    models = Path(values["paths.models_dir"])
    derived = {
        "paths.pointer": (
            models / "CURRENT_MODEL.json",
            "default: CURRENT_MODEL.json in the models folder",
        ),
        "paths.base_dir": (models.parent, "default: the folder that holds the models folder"),
        "paths.sessions_db": (bundled_sessions_db(), "default: the store bundled with kalshi-tui"),
        "paths.cache_dir": (
            models / ".kalshi_tui_cache",
            "default: .kalshi_tui_cache in the models folder",
        ),
    }
    for key, (value, why) in derived.items():
        if values[key] is None:
            values[key] = str(value)
            sources[key] = why


def _profile_defaults(values: dict[str, Any], sources: dict[str, str],
                      where: str) -> EnvironmentProfile:
    """Fill the keys left unset from the profile, each sourced to it."""
    name = values["environment.profile"]
    profile = PROFILES.get(name)
    if profile is None:
        raise ConfigError(f"{where}: 'environment.profile' {name!r} is not a profile "
                          f"(known: {', '.join(PROFILES)})")
    from_profile = {"environment.observation_layout": profile.observation_layout,
                    "environment.position_sizes": list(profile.position_sizes)}
    for key, value in from_profile.items():
        if values[key] is None:
            values[key], sources[key] = value, f"profile {name}"
    if values["environment.n_actions"] is None:
        sizes = values["environment.position_sizes"]
        values["environment.n_actions"] = 1 + (len(values["environment.base_actions"]) - 1) * len(
            sizes if isinstance(sizes, list) else [])
        sources["environment.n_actions"] = "derived: HOLD + trading sides x position sizes"
    if values["environment.observation_layout"] not in OBSERVATION_LAYOUTS:
        raise ConfigError(f"{where}: 'environment.observation_layout' must be one of "
                          f"{', '.join(OBSERVATION_LAYOUTS)}")
    if values["environment.fill_model"] not in FILL_MODELS:
        raise ConfigError(
            f"{where}: 'environment.fill_model' must be one of {', '.join(FILL_MODELS)}"
        )
    if values["environment.fill_model"] != REALISTIC and profile.training_rules is None:
        raise ConfigError(f"{where}: profile {name} has no original training rules to replay; "
                          f"'environment.fill_model' must be {REALISTIC}")
    return profile


def _environment_spec(values: dict[str, Any], sources: dict[str, str],
                      path: Path | None) -> EnvironmentSpec:
    where = str(path) if path else "defaults"

    def strings(key: str) -> tuple[str, ...]:
        items = values[key]
        if not items or not all(isinstance(i, str) and i for i in items):
            raise ConfigError(f"{where}: '{key}' must be a non-empty list of names")
        return tuple(items)

    def positive_ints(key: str) -> tuple[int, ...]:
        items = values[key]
        if not items or not all(
            isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in items
        ):
            raise ConfigError(f"{where}: '{key}' must be a non-empty list of positive integers")
        if len(set(items)) != len(items):
            raise ConfigError(f"{where}: '{key}' lists a size twice: {items}")
        return tuple(items)

    profile = _profile_defaults(values, sources, where)
    bases = strings("environment.base_actions")
    if len(bases) < 2:
        raise ConfigError(
            f"{where}: 'environment.base_actions' needs HOLD and at least one trading side"
        )
    sizes = positive_ints("environment.position_sizes")
    legacy_sizes = positive_ints("environment.legacy_position_sizes")
    for key, sz in (
        ("environment.n_actions", sizes),
        ("environment.legacy_n_actions", legacy_sizes),
    ):
        derived = 1 + (len(bases) - 1) * len(sz)
        if values[key] != derived:
            raise ConfigError(
                f"{where}: '{key}' is {values[key]} but {len(bases) - 1} trading sides x "
                f"{len(sz)} sizes {list(sz)} + HOLD derive {derived}")
    shape = (
        positive_ints("environment.observation_shape")
        if values["environment.observation_shape"]
        else ()
    )
    if values["environment.observation_dtype"] not in ("float32", "float64", "float16"):
        raise ConfigError(
            f"{where}: 'environment.observation_dtype' must be float32, float64 or float16"
        )
    low, high = (
        float(values["environment.observation_low"]),
        float(values["environment.observation_high"]),
    )
    if not low < high:
        raise ConfigError(
            f"{where}: 'environment.observation_low' must be below 'observation_high'"
        )
    return EnvironmentSpec(
        base_actions=bases,
        position_sizes=sizes,
        n_actions=values["environment.n_actions"],
        legacy_position_sizes=legacy_sizes,
        legacy_n_actions=values["environment.legacy_n_actions"],
        observation_shape=shape,
        observation_dtype=values["environment.observation_dtype"],
        observation_low=low,
        observation_high=high,
        profile=profile,
        observation_layout=values["environment.observation_layout"],
        fill_model=values["environment.fill_model"],
    )


def set_setting(path: Path, dotted_key: str, value: Any) -> None:
    """Change one setting in the file, keeping every comment and the layout around it."""
    section, _, key = dotted_key.partition(".")
    if section not in SCHEMA or key not in SCHEMA[section]:
        raise ConfigError(f"{path}: unknown key '{shown(dotted_key)}'")
    check_type(value, SCHEMA[section][key][0], f"{path}: '{dotted_key}'")
    check_range(dotted_key, value, str(path))
    text = read_config_text(path) if os.path.lexists(path) else ""
    doc = tomlkit.parse(text)
    if section not in doc:
        doc.add(section, tomlkit.table())
    doc[section][key] = value
    new_text = tomlkit.dumps(doc)
    # O_EXCL: a name planted beside the config (a symlink, say) is never written through.
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(new_text)
    try:
        # The new file must be a config we accept as a whole before it replaces the old one.
        load_config(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
