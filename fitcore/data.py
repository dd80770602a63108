"""The run's points: the registry's formulas drawn with the run's generator, uploads, edits."""

from __future__ import annotations

import functools
import math
import types
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from fitcore import registry
from fitcore.config import FitConfig
from fitcore.upload import load_csv  # noqa: F401 - the design's fitcore.data.load_csv


def generate(name: str, x: torch.Tensor, noise: float = 0.0, g: torch.Generator | None = None):
    """registry.DATASETS[name]'s y at x: plus noise * U[0, 1) drawn from `g`, or clean (g=None).

    The formula is the registry's text, evaluated with torch and math in scope: the exported
    script writes the same text, so its floats are these.
    """
    formula = registry.get("dataset", name).formula
    if formula is None:
        raise ValueError(f"dataset {name!r} needs uploaded points")
    drawn = noise * torch.rand(x.shape, generator=g) if g is not None else torch.zeros_like(x)
    return eval(_compiled(formula), {"torch": torch, "math": math}, {"x": x, "noise": drawn})


@functools.cache
def _compiled(formula: str) -> types.CodeType:
    return compile(formula, "<registry formula>", "eval")


def is_generated(name: str) -> bool:
    """Whether the dataset is drawn from a formula (not uploaded)."""
    return registry.get("dataset", name).formula is not None


@dataclass(frozen=True)
class Data:
    """Training and test points, each of shape (n, 1), in the units the model trains in.

    Uploaded points are scaled to x in [-1, 1] and y with zero mean and unit spread so that
    the same learning rates work for any units; `x_shift`, `x_scale`, `y_shift`, `y_scale`
    map back: x_original = x * x_scale + x_shift. Generated data is left as is (scale 1).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_shift: float = 0.0
    x_scale: float = 1.0
    y_shift: float = 0.0
    y_scale: float = 1.0

    def grid(self, n: int = 201, margin: float = 0.15) -> torch.Tensor:
        """Dense x grid (n, 1) over all points, reaching `margin` of the span beyond each side."""
        x = torch.cat([self.x_train, self.x_test])
        lo, hi = float(x.min()), float(x.max())
        pad = margin * ((hi - lo) or 1.0)
        return torch.linspace(lo - pad, hi + pad, n).unsqueeze(1)


def make_data(cfg: FitConfig, points: pd.DataFrame | None = None, g: torch.Generator | None = None):
    """The run's points: drawn from cfg.dataset's formula with `g`, or `points` (columns x, y).

    Draws happen in the blog's order (noise first), then the test split, from the same
    generator, so a run seeded like the blog's script sees the same data.
    """
    if g is None:
        g = torch.Generator().manual_seed(cfg.seed)
    scale: dict[str, float] = {}
    if is_generated(cfg.dataset):
        x = torch.linspace(-1, 1, cfg.n_points).unsqueeze(1)
        y = generate(cfg.dataset, x, cfg.noise, g)
        if points is not None:
            # A student's edit of generated data: the noise is still drawn, so the initial
            # weights and minibatches are those of the unedited run, and the units stay: only
            # the points differ, and a fit that moves shows what the edit did.
            x, y = _as_tensors(points.sort_values("x", kind="stable"))
    elif points is not None:
        x, y, scale = _scaled(points)
    else:
        raise ValueError(f"dataset {cfg.dataset!r} needs uploaded points")
    n = len(x)
    n_test = 0
    if cfg.test_fraction > 0 and n >= 2:
        n_test = min(max(round(n * cfg.test_fraction), 1), n - 1)
    if n_test == 0:
        empty = x[:0]
        return Data(x, y, empty, y[:0], **scale)
    order = torch.randperm(n, generator=g)
    test, train = order[:n_test].sort().values, order[n_test:].sort().values
    return Data(x[train], y[train], x[test], y[test], **scale)


def _as_tensors(points: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns x, y of points as float32 tensors of shape (n, 1)."""
    xy = torch.tensor(points[["x", "y"]].to_numpy(dtype="float64")).float()
    return xy[:, :1], xy[:, 1:]


def outlier(points: pd.DataFrame, x_domain: tuple[float, float], k: int) -> tuple[float, float]:
    """Where the k-th added outlier goes (k = 0, 1, ...): well above all points, spread along x.

    1.5 spans of y above the highest point: far enough that MSE, which squares the residual,
    visibly bends towards it while L1 hardly moves (tests/test_edits.py measures it).
    """
    lo, hi = x_domain
    x = lo + (hi - lo) * (0.3 + 0.15 * (k % 4))
    y_lo, y_hi = float(points["y"].min()), float(points["y"].max())
    return float(x), y_hi + 1.5 * (y_hi - y_lo)


def _scaled(points: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
    """Uploaded points as float32 tensors (n, 1) scaled for training, sorted by x."""
    pts = points.sort_values("x", kind="stable")
    x = torch.tensor(pts["x"].to_numpy(dtype="float64"))
    y = torch.tensor(pts["y"].to_numpy(dtype="float64"))
    x_shift = float((x.max() + x.min()) / 2)
    x_scale = float((x.max() - x.min()) / 2) or 1.0
    y_shift = float(y.mean())
    y_scale = float(y.std()) if len(y) > 1 else 0.0
    y_scale = y_scale if y_scale > 0 and math.isfinite(y_scale) else 1.0
    xs = ((x - x_shift) / x_scale).float().unsqueeze(1)
    ys = ((y - y_shift) / y_scale).float().unsqueeze(1)
    return xs, ys, dict(x_shift=x_shift, x_scale=x_scale, y_shift=y_shift, y_scale=y_scale)


def near(points: pd.DataFrame, pairs: Collection[tuple[float, float]]) -> np.ndarray:
    """Which rows of points (x, y) lie on one of `pairs`, to float32 precision.

    Edited points train in float32 and scaled, so a point comes back from a run a few ulps
    away from the coordinates it was added or picked with.
    """
    if not pairs:
        return np.zeros(len(points), dtype=bool)
    xy = points[["x", "y"]].to_numpy(dtype="float64")[:, None, :]  # (n, 1, 2)
    ref = np.array(sorted(pairs), dtype="float64")[None, :, :]  # (1, k, 2)
    return np.isclose(xy, ref, rtol=1e-5, atol=1e-6).all(axis=2).any(axis=1)


def edit(
    points: pd.DataFrame,
    removed: Collection[tuple[float, float]] = (),
    added: Collection[tuple[float, float]] = (),
) -> pd.DataFrame:
    """Points (x, y) without those near `removed`, followed by the `added` ones."""
    kept = points.loc[~near(points, removed), ["x", "y"]]
    extra = pd.DataFrame(list(added), columns=["x", "y"], dtype="float64")
    return pd.concat([kept, extra], ignore_index=True)
