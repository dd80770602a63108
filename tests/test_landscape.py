"""fitcore.landscape: the (w, b) loss grid against torch's own losses and least squares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from fitcore import landscape
from fitcore.landscape import least_squares_line, loss_grid, ranges

TORCH_LOSSES = {"mse": nn.MSELoss(), "l1": nn.L1Loss(), "huber": nn.HuberLoss()}


def _data(n: int = 50, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The blog's linear data, y = 2x + 0.5·U + 5, as float32 tensors of shape (n, 1)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.linspace(-1, 1, n).unsqueeze(1)
    return x, 2 * x + 0.5 * torch.rand(x.shape, generator=g) + 5


@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
def test_loss_grid_matches_torch_loss_at_every_grid_point(loss):
    x, y = _data()
    # Wide enough that residuals fall on both sides of Huber's delta.
    grid = loss_grid(x, y, (-3.0, 6.0), (0.0, 9.0), n=5, loss=loss)
    fn = TORCH_LOSSES[loss]
    xd, yd = x.double(), y.double()
    expected = [fn(w * xd + b, yd).item() for w, b in zip(grid["w"], grid["b"], strict=True)]
    np.testing.assert_allclose(grid["loss"], expected, rtol=1e-12)


def test_loss_grid_is_a_full_n_by_n_grid_over_the_ranges():
    x, y = _data()
    grid = loss_grid(x, y, (-1.0, 3.0), (2.0, 7.0), n=7)
    assert list(grid.columns) == ["w", "b", "loss"]
    assert len(grid) == 49
    np.testing.assert_allclose(np.unique(grid["w"]), np.linspace(-1, 3, 7))
    np.testing.assert_allclose(np.unique(grid["b"]), np.linspace(2, 7, 7))


def test_loss_grid_takes_numpy_arrays_like_tensors():
    x, y = _data()
    from_torch = loss_grid(x, y, (0.0, 4.0), (3.0, 7.0), n=6, loss="huber")
    from_numpy = loss_grid(
        x.numpy()[:, 0], y.numpy()[:, 0], (0.0, 4.0), (3.0, 7.0), n=6, loss="huber"
    )
    pd.testing.assert_frame_equal(from_torch, from_numpy)


def test_loss_grid_does_not_depend_on_the_chunk_size(monkeypatch):
    x, y = _data(n=200)
    whole = loss_grid(x, y, (0.0, 4.0), (3.0, 7.0), n=30, loss="l1")
    monkeypatch.setattr(landscape, "CHUNK", 1)  # one row of w at a time
    pd.testing.assert_frame_equal(loss_grid(x, y, (0.0, 4.0), (3.0, 7.0), n=30, loss="l1"), whole)


def test_mse_grid_minimum_is_the_least_squares_line():
    x, y = _data(n=200, seed=3)
    design = np.c_[x.double().numpy(), np.ones(len(x))]
    (w_star, b_star), *_ = np.linalg.lstsq(design, y.double().numpy()[:, 0], rcond=None)
    w_range, b_range = (0.0, 4.0), (3.0, 7.0)
    n = 81
    grid = loss_grid(x, y, w_range, b_range, n=n)
    best = grid.loc[grid["loss"].idxmin()]
    assert abs(best["w"] - w_star) <= (w_range[1] - w_range[0]) / (n - 1) / 2 + 1e-12
    assert abs(best["b"] - b_star) <= (b_range[1] - b_range[0]) / (n - 1) / 2 + 1e-12


def test_least_squares_line_matches_numpy_polyfit():
    x, y = _data(n=120, seed=1)
    w, b = least_squares_line(x, y)
    np.testing.assert_allclose(
        [w, b], np.polyfit(x.double().numpy()[:, 0], y.double().numpy()[:, 0], 1)
    )


def test_ranges_contain_the_path_and_the_minimum_with_a_margin():
    x, y = _data()
    w_star, b_star = least_squares_line(x, y)
    path_w, path_b = [0.3, -0.8, 1.5, 1.9], [0.1, 2.0, 4.0, 4.9]
    (w_lo, w_hi), (b_lo, b_hi) = ranges(x, y, path_w, path_b)
    for w in [*path_w, w_star]:
        assert w_lo < w < w_hi
    for b in [*path_b, b_star]:
        assert b_lo < b < b_hi
    # a caller that has the minimum already (the page) gets the same ranges
    assert ranges(x, y, path_w, path_b, minimum=(w_star, b_star)) == ((w_lo, w_hi), (b_lo, b_hi))


def test_ranges_span_the_bowl_when_the_path_has_not_moved():
    x, y = _data()
    w_star, b_star = least_squares_line(x, y)
    (w_lo, w_hi), (b_lo, b_hi) = ranges(x, y, [w_star], [b_star])
    xs, ys = x.double().numpy(), y.double().numpy()
    assert w_hi - w_lo >= ys.std() / xs.std()
    assert b_hi - b_lo >= ys.std()


def test_ranges_ignore_non_finite_path_values():
    x, y = _data()
    finite = ranges(x, y, [0.0, 1.0], [0.0, 2.0])
    assert ranges(x, y, [0.0, 1.0, float("nan")], [0.0, 2.0, float("inf")]) == finite


def test_unknown_loss_is_a_value_error():
    x, y = _data()
    with pytest.raises(ValueError, match="loss must be one of"):
        loss_grid(x, y, (0.0, 1.0), (0.0, 1.0), loss="hinge")


def test_empty_range_is_a_value_error():
    x, y = _data()
    with pytest.raises(ValueError, match="w_range"):
        loss_grid(x, y, (1.0, 1.0), (0.0, 1.0))
