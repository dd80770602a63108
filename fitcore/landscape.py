"""The loss of the linear model ŷ = w·x + b over a grid of (w, b), to draw descent as a path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from fitcore import formulas, registry
from fitcore.reference import _flat, least_squares

CHUNK = 2_000_000  # residuals held at once (16 MB of float64): n_points can reach 2000
MARGIN = 0.15  # share of the span added on each side of the path and the minimum


def loss_grid(
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    w_range: Sequence[float],
    b_range: Sequence[float],
    n: int = 60,
    loss: str = "mse",
) -> pd.DataFrame:
    """Columns w, b, loss: the loss of w·x + b on (x, y) at n × n evenly spaced (w, b).

    x, y: shape (m, 1) or (m,), torch or numpy, in the units the path's w, b are in.
    Rows run over b fastest (w[0], b[0]), (w[0], b[1]), ...; computed in float64.
    """
    pointwise = getattr(F, registry.get("loss", loss).functional)
    if n < 2:
        raise ValueError(f"n must be at least 2 grid points per axis; got {n}")
    xs, ys = _flat(x), _flat(y)
    if len(xs) != len(ys) or len(xs) == 0:
        raise ValueError(f"x and y need the same, non-zero length; got {len(xs)}, {len(ys)}")
    w = np.linspace(*_pair(w_range, "w_range"), n)
    b = np.linspace(*_pair(b_range, "b_range"), n)

    # Residuals r[i, j, k] = w_i x_k + b_j - y_k, a few rows of w at a time to bound memory.
    rows = max(1, CHUNK // (n * len(xs)))
    out = np.empty((n, n))
    for start in range(0, n, rows):
        wi = w[start : start + rows, None, None]  # (rows, 1, 1)
        r = wi * xs + (b[None, :, None] - ys)  # (rows, n, m)
        r = torch.from_numpy(r)
        out[start : start + rows] = pointwise(r, torch.zeros_like(r), reduction="none").mean(2)
    return pd.DataFrame({"w": np.repeat(w, n), "b": np.tile(b, n), "loss": out.reshape(-1)})


def ranges(
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    path_w: Sequence[float],
    path_b: Sequence[float],
    margin: float = MARGIN,
    minimum: tuple[float, float] | None = None,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(w_range, b_range) holding the least-squares (w, b) and the whole path, with a margin.

    `minimum`: that (w, b) when the caller has it (least_squares_line(x, y)), else solved here.

    Each range spans at least the loss bowl's natural width (std(y)/std(x) for w, std(y) for
    b), so a path that has not moved yet still shows the bowl around it. Non-finite path
    values (a diverged run) are left out.
    """
    xs, ys = _flat(x), _flat(y)
    w_min, b_min = minimum if minimum is not None else least_squares_line(xs, ys)
    sx, sy = float(xs.std()), float(ys.std())
    sy = sy if sy > 0 else 1.0
    w_span = sy / sx if sx > 0 else 1.0
    return (
        _range([w_min, *path_w], w_span, margin),
        _range([b_min, *path_b], sy, margin),
    )


def descent_path(frames: Sequence, step: int) -> pd.DataFrame:
    """Columns step, w, b: the linear model's snapshots up to `step`, without a diverged one."""
    rows = [
        (f.step, f.params["w"], f.params["b"]) for f in frames if f.step <= step and not f.diverged
    ]
    return pd.DataFrame(rows, columns=["step", "w", "b"])


def least_squares_line(
    x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray
) -> tuple[float, float]:
    """(w, b) minimising the mean squared error of w·x + b (reference.least_squares, degree 1)."""
    b, w = least_squares(x, y, 1)
    return float(w), float(b)


def _range(values: Sequence[float], min_span: float, margin: float) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < min_span:
        mid = (lo + hi) / 2
        lo, hi = mid - min_span / 2, mid + min_span / 2
    pad = margin * (hi - lo)
    # rounded: a range is part of a cached grid's key, and the last digits would only miss it
    return round(lo - pad, 6), round(hi + pad, 6)


def _pair(r: Sequence[float], name: str) -> tuple[float, float]:
    lo, hi = (float(v) for v in r)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be two finite numbers, low before high; got {r}")
    return lo, hi


ARROW_KINDS = ("gradient", "full", "taken", "point")
ARROW_LENGTH = 0.25  # the longest of the step arrows, as a share of the view's span


def step_arrows(
    ex, w_range: Sequence[float], b_range: Sequence[float]
) -> tuple[pd.DataFrame, float]:
    """The line model's step at ex (an explain.StepExplained) as arrows over the landscape.

    Columns kind, w, b (the tail: the current w, b), w2, b2 (the tip), nx, ny (the arrow as a
    share of the view's w and b spans, for its head's angle), in the data's units:
    - "gradient": -lr·g, where plain gradient descent on this step's (batch) loss goes;
    - "full": -lr times all points' gradient, with a minibatch only;
    - "taken": the step the optimizer took (momentum, Adam and weight decay included);
    - "point": one per point in the batch, -lr times its share of g times the batch size
      (its own gradient): their mean is the gradient arrow.
    Every arrow is drawn `factor` times its length, the longest of the first three at about
    ARROW_LENGTH of the view (a factor of 1, 2 or 5 times a power of ten), returned beside.
    """
    (w_lo, w_hi), (b_lo, b_hi) = _pair(w_range, "w_range"), _pair(b_range, "b_range")
    x_shift, x_scale, _, y_scale = ex.scale

    def to_data(dw: np.ndarray, db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # w = w'·ys/xs, b = (b' - w'·x_shift/xs)·ys + y_shift: the same map on a change
        return dw * y_scale / x_scale, (db - dw * x_shift / x_scale) * y_scale

    def step_of(grad) -> np.ndarray:  # -lr times a gradient, as a change of (w, b)
        return -ex.lr * np.array([grad["0.weight"], grad["0.bias"]], dtype=float)

    steps = {"gradient": step_of(ex.grad)}
    if ex.batch is not None:
        steps["full"] = step_of(ex.full_grad)
    kinds = list(steps)
    change = np.array(list(steps.values()))  # (kinds, 2) in training units
    dw, db = to_data(change[:, 0], change[:, 1])
    before, after = ex.before.params, ex.after.params
    main = pd.DataFrame({"kind": kinds, "dw": dw, "db": db})
    taken = pd.DataFrame(
        {"kind": ["taken"], "dw": [after["w"] - before["w"]], "db": [after["b"] - before["b"]]}
    )
    main = pd.concat([main, taken], ignore_index=True)
    if ex.contrib is None:
        raise ValueError("step_arrows needs the line model's explanation (contrib is None)")
    size = formulas.batch_size(ex)
    drawn = ex.contrib[ex.points["in_batch"].to_numpy()]
    dw, db = to_data(
        -ex.lr * size * drawn["0.weight"].to_numpy(), -ex.lr * size * drawn["0.bias"].to_numpy()
    )
    fan = pd.DataFrame({"kind": "point", "dw": dw, "db": db})

    spans = np.array([w_hi - w_lo, b_hi - b_lo])
    longest = float(np.hypot(main["dw"] / spans[0], main["db"] / spans[1]).max())
    factor = _nice(ARROW_LENGTH / longest) if longest > 0 and np.isfinite(longest) else 1.0
    arrows = pd.concat([main, fan], ignore_index=True)
    w, b = before["w"], before["b"]
    return (
        pd.DataFrame(
            {
                "kind": arrows["kind"],
                "w": w,
                "b": b,
                "w2": w + factor * arrows["dw"],
                "b2": b + factor * arrows["db"],
                "nx": factor * arrows["dw"] / spans[0],
                "ny": factor * arrows["db"] / spans[1],
            }
        ),
        factor,
    )


def _nice(value: float) -> float:
    """The largest of 1, 2, 5 times a power of ten at or below `value`."""
    power = 10 ** np.floor(np.log10(value))
    return float(max(m * power for m in (1, 2, 5) if m * power <= value * (1 + 1e-9)))
