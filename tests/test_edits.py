"""Point edits and the displayed equation: small pure helpers of the page, tested directly."""

import numpy as np
import pandas as pd
import torch

from fitcore import FitConfig, train_iter
from fitcore.config import points_digest
from fitcore.data import edit, near
from fitcore.models import equation
from fitcore.reference import polynomial_curve


def grid_points():
    x = np.linspace(-1, 1, 5)
    return pd.DataFrame({"x": x, "y": x**2})


def test_near_tolerates_float32_round_trips():
    pts = grid_points()
    shifted = float(torch.tensor(pts.x[1], dtype=torch.float32)), float(pts.y[1]) * (1 + 1e-7)
    assert near(pts, [shifted]).tolist() == [False, True, False, False, False]
    assert not near(pts, []).any()


def test_edit_removes_and_appends():
    pts = grid_points()
    out = edit(pts, removed=[(0.0, 0.0)], added=[(0.25, 9.0)])
    assert list(out.x) == [-1.0, -0.5, 0.5, 1.0, 0.25]
    assert out.y.iloc[-1] == 9.0


def test_digest_changes_with_the_points_only():
    pts = grid_points()
    assert points_digest(pts) == points_digest(pts.copy())
    assert points_digest(pts) != points_digest(edit(pts, added=[(0.0, 1.0)]))


def test_an_outlier_pulls_mse_more_than_l1():
    base = pd.DataFrame({"x": np.linspace(-1, 1, 40), "y": np.linspace(-1, 1, 40)})
    with_outlier = edit(base, added=[(0.5, 20.0)])
    slopes = {}
    for loss in ("mse", "l1"):
        cfg = FitConfig(dataset="csv", model="linear", loss=loss, lr=0.2, steps=3000, every=3000)
        clean = list(train_iter(cfg, base))[-1].params
        dirty = list(train_iter(cfg, with_outlier))[-1].params
        slopes[loss] = abs(dirty["b"] - clean["b"])
    assert slopes["mse"] > 3 * slopes["l1"]


def test_equation_matches_the_coefficients():
    assert equation({"w": 2.0, "b": -0.5}) == r"\hat y = 2.0000\,x -0.5000"
    params = {"c0": 1.0, "c1": -2.0, "c2": 0.5}
    assert equation(params) == r"\hat y = 1.000 -2.000x +0.500x^{2}"
    assert polynomial_curve(params, np.array([2.0]))[0] == 1.0 - 4.0 + 2.0


def _final_curve(cfg, points=None):
    return list(train_iter(cfg, points))[-1].curve


def test_on_the_default_data_an_outlier_moves_mse_three_times_as_far_as_l1():
    # the page's lesson as a student meets it: default settings, "Add an outlier", MSE vs L1
    from fitcore.data import outlier
    from fitcore.player import make_scene

    cfg = FitConfig()
    scene = make_scene(cfg)
    spot = outlier(scene.points, scene.x_domain, 0)
    edited = edit(scene.points, added=[spot])
    moved = {}
    for loss in ("mse", "l1", "huber"):
        c = FitConfig(loss=loss)
        before, after = _final_curve(c), _final_curve(c, edited)
        near_spot = (before["x"] - spot[0]).abs() < 0.3
        moved[loss] = (after["y_hat"] - before["y_hat"]).abs()[near_spot].max()
    assert moved["mse"] > 3 * moved["l1"]
    assert moved["mse"] > 0.05  # in the data's units: a shift a student can see
    assert moved["huber"] < 0.7 * moved["mse"]  # the caption: Huber goes about half as far


def test_an_edit_of_generated_data_keeps_its_units_and_initial_weights():
    from fitcore.player import make_scene

    cfg = FitConfig(model="linear")
    pts = make_scene(cfg).points
    edited = edit(pts, removed=[(pts["x"].iloc[3], pts["y"].iloc[3])])
    first, first_edited = next(train_iter(cfg)), next(train_iter(cfg, edited))
    assert first_edited.params == first.params  # same initial weights, same units
    assert make_scene(cfg, edited).truth is not None  # the true function stays on screen
