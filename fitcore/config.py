"""FitConfig: every setting of one run, its limits, presets and the shared-link query form."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import pandas as pd

from fitcore import registry

# Every size cap, enforced by FitConfig itself so that no widget or link can get past it.
# (low, high) inclusive. Sizes are chosen so that the largest run stays well under a second of
# CPU per 1000 steps on one core and a few MB of memory per session.
LIMITS: dict[str, tuple[float, float]] = {
    "n_points": (2, 2000),
    "noise": (0.0, 5.0),
    "test_fraction": (0.0, 0.5),
    "seed": (0, 2**31 - 1),
    "degree": (1, 12),
    "hidden_layers": (1, 4),  # len(hidden)
    "width": (1, 128),  # each entry of hidden
    "lr": (1e-5, 10.0),
    "momentum": (0.0, 0.99),
    "weight_decay": (0.0, 1.0),
    "batch_size": (0, 2000),
    "steps": (1, 20000),
    "every": (1, 5000),
}

# Query parameters that belong to the page, not to a run; from_query() passes over them.
# `lesson`, `step` (from 1) and `lesson_data` open a lesson (fitcore.lessons, ui.lesson).
UI_PARAMS = ("preset", "lang", "speed", "autoplay", "hide", "lesson", "step", "lesson_data")


@dataclass(frozen=True)
class FitConfig:
    """All settings of one run; equal configs give bit-identical runs."""

    dataset: str = "quadratic"  # a name in registry.DATASETS; "csv" is uploaded points
    n_points: int = 200  # points on [-1, 1], the blog's linspace(-1, 1, 200)
    noise: float = 0.2  # amplitude of the blog's noise: noise * U[0, 1)
    test_fraction: float = 0.0  # share of points held out for the test loss
    seed: int = 0  # seeds the run's torch.Generator: data, initial weights, minibatches
    model: str = "mlp"  # registry.MODELS: linear (w x + b), poly (degree d), mlp
    degree: int = 3  # polynomial degree, for model="poly"
    hidden: tuple[int, ...] = (10,)  # MLP hidden widths; the blog's 1-10-1 network is (10,)
    activation: str = "relu"  # MLP nonlinearity, registry.ACTIVATIONS
    optimizer: str = "sgd"  # registry.OPTIMIZERS
    lr: float = 0.05  # learning rate; the blog's 0.05
    momentum: float = 0.0  # for sgd and rmsprop
    weight_decay: float = 0.0  # L2 penalty added by the optimizer
    batch_size: int = 0  # 0 = full batch (the blog); else minibatches drawn from the generator
    loss: str = "mse"  # registry.LOSSES
    steps: int = 5000  # optimizer updates
    schedule: str = "constant"  # registry.SCHEDULES: how lr changes over the run
    every: int = 100  # snapshot cadence; the blog's `step % 100 == 0`

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_field(f.name, getattr(self, f.name))

    def to_query(self) -> dict[str, str]:
        """The fields that differ from the defaults, as query-string values."""
        default = FitConfig()
        return {
            f.name: _format(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }

    @classmethod
    def from_query(
        cls, query: Mapping[str, str | list[str]], *, lang: str = "en"
    ) -> tuple[FitConfig, list[str]]:
        """A config from query parameters, and one warning per value that could not be used.

        Never raises: an unknown key is ignored, a malformed value falls back to the default
        and a value outside LIMITS is clamped; each adds a warning naming the parameter, in
        `lang` (one of i18n.LANGS; English for anything else).
        """
        T = _catalog(lang)
        warnings: list[str] = []
        preset = _last(query.get("preset"))
        # a known preset is the starting point; UiSettings.from_query reports an unknown one
        base = PRESETS.get(preset, FitConfig()) if preset is not None else FitConfig()
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for key, raw in query.items():
            if key in UI_PARAMS:
                continue
            if key not in hints:
                warnings.append(T["warn_unknown"].format(key=_show(key)))
                continue
            text = _last(raw)
            if isinstance(raw, list) and len(raw) > 1:
                warnings.append(
                    T["warn_repeated"].format(key=key, count=len(raw), value=_show(text))
                )
            fallback = getattr(base, key)
            try:
                value = _parse(hints[key], text)
                if key in registry.FIELDS:
                    registry.get(key, value)
            except ValueError:
                warnings.append(
                    T["warn_invalid"].format(key=key, value=_show(text), used=_format(fallback))
                )
                continue
            fixed = _fix(key, value, fallback)
            if fixed != value:
                warnings.append(
                    T["warn_range"].format(key=key, value=_show(text), used=_format(fixed))
                )
            values[key] = fixed
        cfg = dataclasses.replace(base, **values)
        return cfg, warnings


def _check_field(name: str, value: object) -> None:
    """Raise ValueError naming the field and what it accepts when `value` is not allowed."""
    if name in registry.FIELDS:
        registry.get(name, value)
        return
    if name == "hidden":
        lo, hi = LIMITS["hidden_layers"]
        wlo, whi = LIMITS["width"]
        if not isinstance(value, tuple) or not lo <= len(value) <= hi:
            raise ValueError(f"hidden must be {lo} to {hi} layer widths; got {value!r}")
        for w in value:
            if isinstance(w, bool) or not isinstance(w, int) or not wlo <= w <= whi:
                raise ValueError(f"hidden widths must be whole numbers {wlo}-{whi}; got {value!r}")
        return
    lo, hi = LIMITS[name]
    if isinstance(lo, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number; got {value!r}")
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}; got {value!r}")


def _fix(name: str, value: Any, fallback: Any) -> object:
    """`value` clamped into LIMITS, or `fallback` when it is not one of the choices."""
    if name in registry.FIELDS:
        return value if value in registry.names(name) else fallback
    if name == "hidden":
        lo, hi = LIMITS["hidden_layers"]
        wlo, whi = LIMITS["width"]
        widths = value[:hi] if len(value) >= lo else fallback
        return tuple(min(max(w, wlo), whi) for w in widths)
    lo, hi = LIMITS[name]
    return type(lo)(min(max(value, lo), hi))


def _parse(hint: object, text: str) -> object:
    """Parse one query value to the field's type; ValueError when it is not of that type."""
    if hint is str:
        return text
    if hint is int:
        return _parse_int(text)
    if hint is float:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(text)
        return number
    if typing.get_origin(hint) is tuple:
        return parse_widths(text)
    raise ValueError(f"no parser for {hint}")


def _parse_int(text: str) -> int:
    number = float(text)
    if not number.is_integer():
        raise ValueError(text)
    return int(number)


def parse_widths(text: str) -> tuple[int, ...]:
    """Hidden-layer widths from "10" or "32, 32" (a Chinese keyboard's "，" too); ValueError
    when a part is not a whole number. The one parser of `hidden`, for links and the sidebar."""
    return tuple(_parse_int(part) for part in text.replace("，", ",").split(",") if part.strip())


def run_key(cfg: FitConfig, points: pd.DataFrame | None = None) -> str:
    """A string naming the run: the config, and a digest of its points when they are given."""
    key = "&".join(f"{k}={v}" for k, v in sorted(cfg.to_query().items()))
    return key if points is None else f"{key}|points={points_digest(points)}"


def points_digest(points: pd.DataFrame) -> str:
    """A short content digest of points (x, y): equal points, equal digest."""
    xy = np.ascontiguousarray(points[["x", "y"]].to_numpy(dtype="float64"))
    return hashlib.sha256(xy.tobytes()).hexdigest()[:16]


def _format(value: object) -> str:
    """The query-string form of a field value: the shortest text that reads back the same.

    repr for floats round-trips; a whole float drops its ".0" (a link says lr=10, not 10.0).
    """
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def _catalog(lang: str) -> Mapping[str, str]:
    """The page's strings for `lang`, for the link warnings."""
    # imported here, not at the top: i18n imports upload, which imports this module
    from fitcore.i18n import catalog

    return catalog(lang)


@overload
def _last(raw: str | list[str]) -> str: ...
@overload
def _last(raw: str | list[str] | None) -> str | None: ...
def _last(raw: str | list[str] | None) -> str | None:
    """The last of a repeated query parameter ("" for none), or None when it is absent."""
    if isinstance(raw, list):
        return raw[-1] if raw else ""
    return raw


def _show(text: str | None, limit: int = 40) -> str:
    """A user-supplied value shortened for a message (it is shown as text, never as HTML)."""
    text = "" if text is None else str(text)
    return repr(text if len(text) <= limit else text[:limit] + "…")


PRESETS: types.MappingProxyType[str, FitConfig] = types.MappingProxyType(
    {
        # The blog's first script: y = 2x + 0.5·U + 5, 100 steps, printed every 20.
        "blog-linear": FitConfig(dataset="linear", noise=0.5, steps=100, every=20),
        # The blog's second script: y = x² + 0.2·U, 5000 steps, printed every 100.
        "blog-quadratic": FitConfig(dataset="quadratic", noise=0.2, steps=5000, every=100),
    }
)


SPEEDS = (
    "slow",
    "normal",
    "fast",
    "max",
)  # see design.md: ~3, ~10, ~30 frames/s, as fast as it trains
LANGS = ("en", "zh")
# Controls a teacher may hide with `hide=`: every FitConfig field plus the page's own settings.
HIDEABLE = (*(f.name for f in dataclasses.fields(FitConfig)), "preset", "speed", "lang")


@dataclass(frozen=True)
class UiSettings:
    """The page's own query parameters (not part of a run)."""

    preset: str | None = None  # PRESETS key the link started from
    lang: str | None = None  # en | zh; None: the browser's language
    speed: str = "normal"  # one of SPEEDS
    autoplay: bool = False  # start training when the page opens
    hide: tuple[str, ...] = ()  # controls hidden from students (their values still apply)

    def to_query(self) -> dict[str, str]:
        """The settings that differ from the defaults, as query-string values."""
        out = {}
        if self.preset:
            out["preset"] = self.preset
        if self.lang:
            out["lang"] = self.lang
        if self.speed != "normal":
            out["speed"] = self.speed
        if self.autoplay:
            out["autoplay"] = "1"
        if self.hide:
            out["hide"] = ",".join(self.hide)
        return out

    @classmethod
    def from_query(
        cls, query: Mapping[str, str | list[str]], *, lang: str = "en"
    ) -> tuple[UiSettings, list[str]]:
        """UI settings from query parameters and a warning per value that could not be used.

        The warnings are in `lang`, as for FitConfig.from_query.
        """
        T = _catalog(lang)
        warnings = []

        def pick(key, allowed):
            text = _last(query.get(key))
            if text is None:
                return None
            if text in allowed:
                return text
            choices = ", ".join(allowed)
            warnings.append(T["warn_choice"].format(key=key, value=_show(text), choices=choices))
            return None

        preset = pick("preset", tuple(PRESETS))
        link_lang = pick("lang", LANGS)  # not `lang`: that is the language of the warnings
        speed = pick("speed", SPEEDS) or "normal"
        autoplay = False
        text = _last(query.get("autoplay"))
        if text is not None:
            autoplay = text.lower() in ("1", "true", "yes", "on")
            if text.lower() not in ("0", "1", "true", "false", "yes", "no", "on", "off", ""):
                warnings.append(T["warn_autoplay"].format(key="autoplay", value=_show(text)))
        hide = []
        for name in (_last(query.get("hide")) or "").split(","):
            name = name.strip()
            if not name:
                continue
            if name in HIDEABLE and name not in hide:
                hide.append(name)
            elif name not in HIDEABLE:
                warnings.append(T["warn_hide"].format(key="hide", value=_show(name)))
        ui = cls(preset=preset, lang=link_lang, speed=speed, autoplay=autoplay, hide=tuple(hide))
        return ui, warnings
