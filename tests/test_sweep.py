"""fitcore.sweeps: each stacked run against a run of its own, ensembles against a per-seed loop."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from fitcore import FitConfig, train_iter
from fitcore.sweeps import (
    MAX_SEEDS,
    MAX_VALUES,
    Progress,
    SweepError,
    ensemble,
    spread_sweep,
    sweep,
    sweep_steps,
)
from fitcore.train import prepare

# Few noisy points of a sine, a third held out: the textbook picture of overfitting.
OVERFIT = FitConfig(
    dataset="sine",
    n_points=20,
    noise=0.6,
    test_fraction=0.3,
    model="poly",
    lr=0.5,
    steps=3000,
    every=500,
    seed=3,
)


def with_value(cfg: FitConfig, field: str, value: int) -> FitConfig:
    if field == "degree":
        return dataclasses.replace(cfg, degree=value)
    if field == "width":
        return dataclasses.replace(cfg, hidden=(value,) * len(cfg.hidden))
    return dataclasses.replace(cfg, hidden=(cfg.hidden[0],) * value)


def alone(cfg: FitConfig, data=None):
    return list(train_iter(cfg, data))[-1]


def test_overfitting_test_loss_is_u_shaped_over_degree_while_training_loss_falls():
    points = {p.value: p for p in sweep(OVERFIT, "degree", range(1, 13))}
    train = [points[d].train_loss for d in range(1, 13)]
    test = [points[d].test_loss for d in range(1, 13)]
    best = int(np.argmin(test)) + 1
    assert 1 < best < 12, test  # the lowest test loss at an interior degree
    assert test[-1] >= 2 * min(test), test
    assert all(b <= a * (1 + 1e-6) for a, b in zip(train, train[1:], strict=False)), train
    assert train[-1] < train[best - 1] < train[0]
    for d in (1, best, 12):  # and these are the runs themselves
        snap = alone(dataclasses.replace(OVERFIT, degree=d))
        assert points[d].train_loss == pytest.approx(snap.train_loss, rel=1e-4)
        assert points[d].test_loss == pytest.approx(snap.test_loss, rel=1e-4)


SMALL = FitConfig(dataset="sine", n_points=30, test_fraction=0.3, steps=300, every=100)
# Well-conditioned runs: a stack adds in another order than one run, and a ReLU network near a
# kink can turn a 1e-7 difference into 1e-4 (the race's tests say the same).
CASES = {
    "degrees, sgd": (dataclasses.replace(SMALL, model="poly", lr=0.5), "degree", (1, 4, 8, 12)),
    "degrees, adam minibatches, l1": (
        dataclasses.replace(
            SMALL, model="poly", optimizer="adam", lr=0.02, batch_size=8, loss="l1"
        ),
        "degree",
        (2, 3, 9),
    ),
    "degrees, momentum, cosine schedule, decay": (
        dataclasses.replace(
            SMALL, model="poly", momentum=0.9, lr=0.1, schedule="cosine", weight_decay=0.01
        ),
        "degree",
        (1, 6, 12),
    ),
    "widths, tanh": (
        dataclasses.replace(SMALL, activation="tanh", lr=0.1),
        "width",
        (1, 2, 8, 32, 128),
    ),
    "widths, two layers, adamw minibatches": (
        dataclasses.replace(
            SMALL, hidden=(8, 8), activation="tanh", optimizer="adamw", lr=0.01, batch_size=10
        ),
        "width",
        (2, 16),
    ),
    "depths (one run after another)": (
        dataclasses.replace(SMALL, hidden=(6,), activation="tanh"),
        "depth",
        (1, 2, 4),
    ),
    "l-bfgs (one run after another)": (
        dataclasses.replace(SMALL, model="poly", optimizer="lbfgs", lr=1.0, steps=30, every=10),
        "degree",
        (3, 10),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_sweep_point_equals_a_run_of_its_own(name):
    cfg, field, values = CASES[name]
    points = list(sweep(cfg, field, values))
    assert sorted(p.value for p in points) == sorted(values)
    for p in points:
        snap = alone(with_value(cfg, field, p.value))
        assert (p.step, p.diverged) == (snap.step, snap.diverged)
        assert p.train_loss == pytest.approx(snap.train_loss, rel=1e-4), p.value
        assert p.test_loss == pytest.approx(snap.test_loss, rel=1e-4), p.value
        np.testing.assert_allclose(p.curve["x"], snap.curve["x"])
        np.testing.assert_allclose(p.curve["y_hat"], snap.curve["y_hat"], rtol=1e-4, atol=1e-4)


def test_a_sweep_on_uploaded_points_equals_their_runs():
    rng = np.random.default_rng(0)
    x = rng.uniform(40, 230, 60)
    points = pd.DataFrame({"x": x, "y": 50 - 0.15 * x + rng.normal(0, 3, 60)})
    cfg = FitConfig(dataset="csv", model="poly", test_fraction=0.25, lr=0.5, steps=200)
    for p in sweep(cfg, "degree", (1, 5), points):
        snap = alone(dataclasses.replace(cfg, degree=p.value), points)
        assert p.test_loss == pytest.approx(snap.test_loss, rel=1e-4)
        np.testing.assert_allclose(p.curve["x"], snap.curve["x"])  # in the upload's own units
        assert p.curve["x"].min() < 40


def test_a_diverging_run_ends_where_its_own_run_ends_and_the_others_go_on():
    cfg = dataclasses.replace(SMALL, model="poly", lr=1.05, steps=400)
    order = [p.value for p in sweep(cfg, "degree", (1, 6, 12))]
    assert order == [12, 6, 1]  # each as it ends: the first to blow up first
    points = {p.value: p for p in sweep(cfg, "degree", (1, 6, 12))}
    for d, p in points.items():
        snap = alone(dataclasses.replace(cfg, degree=d))
        assert (p.diverged, p.step) == (snap.diverged, snap.step)
    assert points[12].diverged and points[12].step < 400 and not points[1].diverged


def test_sweep_steps_reports_progress_up_to_the_total():
    cfg, field, values = CASES["degrees, sgd"]
    events = list(sweep_steps(cfg, field, values))
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[-1].done == progress[-1].total == cfg.steps * len(values)
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert len(progress) >= 3  # a bar that moves, not one jump


def curves_of(runs) -> np.ndarray:
    return np.stack([s.curve["y_hat"].to_numpy(dtype=float) for s in runs])


@pytest.mark.parametrize("vary", [("data", "init"), ("data",), ("init",)])
def test_ensemble_means_and_spreads_equal_a_per_seed_loop(vary):
    cfg = dataclasses.replace(SMALL, activation="tanh", lr=0.1, seed=11)
    e = ensemble(cfg, 5, vary)
    own_d, own_g = prepare(cfg)
    runs = []
    for i in range(5):
        seeded = dataclasses.replace(cfg, seed=cfg.seed + i)
        if vary == ("data", "init"):
            runs.append(alone(seeded))  # the run of that seed, nothing else
            continue
        d, g = prepare(seeded)
        if "data" not in vary:
            d = own_d
        if "init" not in vary:
            g = torch.Generator()
            g.set_state(own_g.get_state())
        runs.append(list(train_iter(seeded, prepared=(d, g)))[-1])
    curves = curves_of(runs)
    np.testing.assert_allclose(e.band["mean"], curves.mean(axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(e.band["sd"], curves.std(axis=0), rtol=1e-3, atol=1e-5)
    assert [p.test_loss for p in e.points] == pytest.approx([s.test_loss for s in runs], rel=1e-4)
    assert e.seeds == tuple(range(11, 16))
    assert runs[0].train_loss == pytest.approx(alone(cfg).train_loss, rel=1e-4)  # run 0 is cfg's
    assert len({round(s.train_loss, 6) for s in runs}) == 5  # the runs do differ


def test_ensemble_bias_and_variance_against_the_true_sine():
    cfg = dataclasses.replace(SMALL, model="poly", degree=3, lr=0.5)
    e = ensemble(cfg, 6)
    x = e.band["x"].to_numpy()
    inside = (x >= -1) & (x <= 1)  # the data's x range: the grid's margins are left out
    assert 0 < inside.sum() < len(x)
    truth = np.sin(np.pi * x)  # the dataset's function, written here, not read from the registry
    bias2 = np.mean((e.band["mean"].to_numpy() - truth)[inside] ** 2)
    assert e.bias2 == pytest.approx(bias2, rel=1e-5)
    assert e.variance == pytest.approx(np.mean(e.band["sd"].to_numpy()[inside] ** 2), rel=1e-9)
    assert e.variance > 0


def test_spread_grows_with_capacity():
    cfg = dataclasses.replace(OVERFIT, steps=1500)
    low, high = spread_sweep(cfg, "degree", (1, 12), 8)
    assert high.variance > 3 * low.variance
    assert [p.value for p in high.points] == list(range(3, 11))


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: list(sweep(SMALL, "degree", (1, 2))), "model"),  # an mlp has no degree
        (lambda: list(sweep(dataclasses.replace(SMALL, model="poly"), "width", (1,))), "model"),
        (lambda: list(sweep(SMALL, "lr", (1,))), "unknown_field"),
        (lambda: list(sweep(SMALL, "width", range(1, MAX_VALUES + 2))), "values"),
        (lambda: list(sweep(SMALL, "width", ())), "values"),
        (lambda: list(sweep(SMALL, "width", (4, 4))), "repeated"),
        (lambda: list(sweep(SMALL, "width", (0, 4))), "range"),
        (lambda: list(sweep(SMALL, "depth", (2.5,))), "not_whole"),
        (
            lambda: list(sweep(dataclasses.replace(SMALL, test_fraction=0.0), "width", (1,))),
            "no_test",
        ),
        (lambda: ensemble(SMALL, MAX_SEEDS + 1), "seed_count"),
        (lambda: ensemble(SMALL, 0), "seed_count"),
        (lambda: ensemble(SMALL, 3, ("noise",)), "vary_choice"),
        (lambda: ensemble(dataclasses.replace(SMALL, dataset="csv"), 3, ("data",)), "vary_upload"),
        (lambda: spread_sweep(OVERFIT, "degree", range(1, 13), 20 + 1), "seed_count"),
    ],
)
def test_what_cannot_be_swept_is_a_sweep_error_naming_why(call, code):
    with pytest.raises(SweepError) as caught:
        call()
    assert caught.value.code == code


def test_sweeps_leave_the_global_rng_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    list(sweep(dataclasses.replace(SMALL, model="poly", steps=20, batch_size=5), "degree", (1, 3)))
    ensemble(dataclasses.replace(SMALL, steps=20), 3)
    assert torch.equal(torch.rand(3), expected)
