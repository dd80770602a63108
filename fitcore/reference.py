"""Closed-form least squares for the linear and polynomial models, to compare with descent."""

from __future__ import annotations

import numpy as np
import torch

from fitcore.config import FitConfig


def least_squares(
    x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray, degree: int
) -> np.ndarray:
    """Coefficients c0..c_degree minimising the mean squared error of sum c_k x^k on (x, y).

    Solved in float64 with numpy's lstsq on a Vandermonde matrix; x and y hold n values,
    as (n,) or (n, 1), tensors or arrays.
    """
    xs, ys = _flat(x), _flat(y)
    vander = np.vander(xs, degree + 1, increasing=True)  # (n, degree+1): 1, x, x², ...
    coef, *_ = np.linalg.lstsq(vander, ys, rcond=None)
    return coef


def reference_params(cfg: FitConfig, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """The least-squares optimum in the form of Snapshot.params, or {} for models without one.

    `x`, `y` are in the data's own units, so the result compares directly with Snapshot.params.
    """
    if cfg.model == "linear":
        c0, c1 = least_squares(x, y, 1)
        return {"w": float(c1), "b": float(c0)}
    if cfg.model == "poly":
        return {f"c{k}": float(c) for k, c in enumerate(least_squares(x, y, cfg.degree))}
    return {}


def polynomial_curve(params: dict[str, float], x: np.ndarray) -> np.ndarray:
    """Evaluate Snapshot.params (w, b or c0..cd) at x."""
    if "w" in params:
        return params["w"] * x + params["b"]
    coef = [params[f"c{k}"] for k in range(len(params))]
    return np.polynomial.polynomial.polyval(x, coef)


def _flat(a: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().double().numpy()
    return np.asarray(a, dtype="float64").reshape(-1)
