"""fitcore.race: every variant of a race against its own train_iter run (one thing, two ways)."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch

from fitcore import FitConfig, registry, train_iter
from fitcore.race import MAX_VARIANTS, UPDATES, race_iter

# Settings of every optimizer kind, each racing the others in one batch.
OPTIMIZER_MIX = [
    {"optimizer": "sgd", "lr": 0.05},
    {"optimizer": "sgd", "lr": 0.02, "momentum": 0.9},
    {"optimizer": "adam", "lr": 0.01},
    {"optimizer": "adamw", "lr": 0.01},
    {"optimizer": "rmsprop", "lr": 0.003},
    {"optimizer": "rmsprop", "lr": 0.002, "momentum": 0.5},
    {"optimizer": "adagrad", "lr": 0.05},
]

# Batched matmuls sum in another order than one run's, so losses agree to float rounding, not
# bit for bit. The runs below are chosen to be well conditioned: adaptive optimizers divide by
# the gradient's size, so where a gradient component is ~0 its step's sign follows rounding
# noise, and some runs (e.g. tanh (16, 8) on quadratic with rmsprop) move ~1e-2 apart within 200
# steps from a 1e-7 change of one weight. Those would test chaos, not the race.
RUNS = {
    "sgd learning rates": ({}, [{"lr": 0.01}, {"lr": 0.05}, {"lr": 0.2}]),
    "every optimizer": ({}, OPTIMIZER_MIX),
    "weight decay": ({"weight_decay": 0.01}, OPTIMIZER_MIX),
    "linear model": ({"model": "linear", "dataset": "linear", "noise": 0.5}, OPTIMIZER_MIX),
    "poly model": ({"model": "poly", "degree": 5, "dataset": "sine"}, OPTIMIZER_MIX),
    "mlp two hidden layers": ({"hidden": (8, 8), "dataset": "cubic"}, OPTIMIZER_MIX),
    "huber loss": ({"loss": "huber", "weight_decay": 0.1}, OPTIMIZER_MIX),
    "l1 loss, test split": ({"loss": "l1", "test_fraction": 0.2}, OPTIMIZER_MIX),
    # the schedule scales every stacked variant's lr; L-BFGS races on its own loop
    **{
        f"{schedule} schedule": ({"schedule": schedule}, OPTIMIZER_MIX)
        for schedule in ("step", "cosine", "warmup")
    },
    "l-bfgs among the others": (
        {"schedule": "cosine"},
        [*OPTIMIZER_MIX[:3], {"optimizer": "lbfgs", "lr": 1.0}, {"optimizer": "lbfgs", "lr": 0.1}],
    ),
    "only l-bfgs": ({"model": "poly", "degree": 4}, [{"optimizer": "lbfgs", "lr": 1.0}]),
}


def small(**changes):
    return dataclasses.replace(FitConfig(), **{"steps": 200, "every": 50, **changes})


@pytest.mark.parametrize("name", list(RUNS))
def test_each_variant_matches_its_own_train_iter_run(name):
    changes, variants = RUNS[name]
    cfg = small(**changes)
    race = list(race_iter(cfg, variants))
    for i, variant in enumerate(variants):
        alone = list(train_iter(dataclasses.replace(cfg, **variant)))
        assert [s.step for s in race] == [s.step for s in alone]
        got = [s.losses[i] for s in race]
        assert got == pytest.approx([s.train_loss for s in alone], rel=1e-4), variant
        curve = race[-1].curves.query(f"variant == {i}")
        np.testing.assert_allclose(curve.x, alone[-1].curve.x)
        np.testing.assert_allclose(curve.y_hat, alone[-1].curve.y_hat, rtol=1e-4, atol=1e-5)


def test_variants_start_from_the_same_weights():
    first = next(race_iter(small(), [{"lr": 0.01}, {"optimizer": "adam"}, {"momentum": 0.9}]))
    assert first.step == 0 and len(set(first.losses)) == 1
    # to float32 precision: the stacked forward's kernels may round the third variant's
    # curve one ulp apart on some CPUs (seen on an AMD EPYC host)
    curves = [group.y_hat.to_numpy() for _, group in first.curves.groupby("variant")]
    for curve in curves[1:]:
        np.testing.assert_allclose(curve, curves[0], rtol=1e-6, atol=1e-7)


def test_curves_are_long_form_on_train_iters_grid():
    snap = next(race_iter(small(), [{"lr": 0.01}, {"lr": 0.1}]))
    grid = next(train_iter(small())).curve.x.to_numpy()
    assert list(snap.curves.columns) == ["x", "y_hat", "variant"]
    assert snap.curves.variant.tolist() == [0] * len(grid) + [1] * len(grid)
    np.testing.assert_array_equal(snap.curves.x.to_numpy(), np.tile(grid, 2))


def test_a_diverging_variant_freezes_and_the_others_match():
    cfg = FitConfig(dataset="linear", noise=0.5, steps=200, every=50)
    variants = [{"lr": 0.05}, {"lr": 10.0}, {"lr": 0.1}]
    race = list(race_iter(cfg, variants))
    blown = list(train_iter(dataclasses.replace(cfg, lr=10.0)))
    assert blown[-1].diverged and blown[-1].step < 50
    # a snapshot at the step it diverged, as train_iter's last; NaN from then on
    at = [s.step for s in race].index(blown[-1].step)
    assert not any(s.diverged[1] for s in race[:at])
    assert all(s.diverged[1] and math.isnan(s.losses[1]) for s in race[at:])
    assert race[-1].curves.query("variant == 1").y_hat.isna().all()
    assert race[-1].step == 200 and race[-1].diverged == [False, True, False]
    for i in (0, 2):
        alone = {s.step: s.train_loss for s in train_iter(dataclasses.replace(cfg, **variants[i]))}
        assert [s.losses[i] for s in race if s.step in alone] == pytest.approx(
            list(alone.values()), rel=1e-4
        )
        assert race[-1].curves.query(f"variant == {i}").y_hat.notna().all()


def test_race_ends_when_every_variant_diverged():
    cfg = FitConfig(dataset="linear", noise=0.5, steps=500, every=100)
    race = list(race_iter(cfg, [{"lr": 10.0}, {"lr": 8.0}]))
    assert race[-1].diverged == [True, True] and race[-1].step < 500
    assert all(math.isnan(loss) for loss in race[-1].losses)


def test_race_leaves_the_global_rng_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    list(race_iter(small(steps=20), [{"lr": 0.01}, {"lr": 0.1}]))
    assert torch.equal(torch.rand(3), expected)


def test_every_optimizer_but_the_line_search_ones_has_a_batched_update():
    closure = {
        name for name in registry.names("optimizer") if registry.get("optimizer", name).closure
    }
    assert closure == {"lbfgs"}
    assert set(UPDATES) == set(registry.names("optimizer")) - closure


def test_a_diverging_stacked_variant_leaves_an_l_bfgs_one_racing():
    cfg = FitConfig(dataset="linear", noise=0.5, steps=300, every=100)
    race = list(race_iter(cfg, [{"lr": 10.0}, {"optimizer": "lbfgs", "lr": 1.0}]))
    alone = list(train_iter(dataclasses.replace(cfg, optimizer="lbfgs", lr=1.0)))
    assert race[-1].step == 300 and race[-1].diverged == [True, False]
    assert math.isnan(race[-1].losses[0])
    assert race[-1].losses[1] == pytest.approx(alone[-1].train_loss, rel=1e-6)
    assert 0 < race[1].step < 100 and race[1].diverged == [True, False]  # the blow-up's frame


@pytest.mark.parametrize(
    "cfg, variants, match",
    [
        (small(batch_size=16), [{"lr": 0.1}], "batch_size"),
        (small(), [], "variants"),
        (small(), [{"lr": 0.1}] * (MAX_VARIANTS + 1), "variants"),
        (small(), [{"hidden": (4,)}], "hidden"),
        (small(), [{"lr": 0.0}], "lr"),
        (small(), [{"optimizer": "newton"}], "optimizer"),
    ],
)
def test_bad_races_raise_naming_the_problem(cfg, variants, match):
    with pytest.raises(ValueError, match=match):
        next(race_iter(cfg, variants))


def test_uploaded_points_race_in_their_own_units():
    rng = np.random.default_rng(0)
    x = np.linspace(100, 300, 80)
    points = pd.DataFrame({"x": x, "y": 0.5 * x - 40 + rng.normal(0, 3, 80)})
    cfg = FitConfig(dataset="csv", model="linear", steps=200, every=100)
    variants = [{"lr": 0.1}, {"lr": 0.5}]
    last = list(race_iter(cfg, variants, points))[-1]
    for i, variant in enumerate(variants):
        alone = list(train_iter(dataclasses.replace(cfg, **variant), points))[-1]
        assert last.losses[i] == pytest.approx(alone.train_loss, rel=1e-4)
        curve = last.curves.query(f"variant == {i}")
        np.testing.assert_allclose(curve.x, alone.curve.x)
        np.testing.assert_allclose(curve.y_hat, alone.curve.y_hat, rtol=1e-4)
