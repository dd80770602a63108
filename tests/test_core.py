"""fitcore: the public contract of design.md, each behaviour checked by a second computation."""

import dataclasses
import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from fitcore import LIMITS, PRESETS, FitConfig, registry, train_iter
from fitcore.data import generate, is_generated, make_data
from fitcore.models import build_model, describe
from fitcore.reference import least_squares, polynomial_curve, reference_params
from tests.blog_script import blog_losses

# The tutorial scripts' printed losses (tests/data/README.md says where they come from).
SEED_LOSSES = pathlib.Path(__file__).resolve().parent / "data" / "blog_losses.json"
ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(cfg, data=None):
    return list(train_iter(cfg, data))


def small(**changes):
    """A quick config: the default quadratic data and the blog's network, few steps."""
    return dataclasses.replace(FitConfig(), **{"steps": 200, "every": 50, **changes})


def blog_json():
    return json.loads(SEED_LOSSES.read_text())


@pytest.mark.parametrize("name", ["blog-linear", "blog-quadratic"])
def test_blog_printed_losses_match_to_float_precision(name):
    printed = blog_json()[name]
    for seed, losses in printed.items():
        snaps = {
            s.step: s.train_loss for s in run(dataclasses.replace(PRESETS[name], seed=int(seed)))
        }
        for step, loss in losses.items():
            # float32 sums on another CPU/torch build: the blog script run here differs by ~5e-7
            assert snaps[int(step)] == pytest.approx(loss, rel=1e-5, abs=1e-9), (seed, step)


@pytest.mark.parametrize(
    "name, example", [("blog-linear", "linear"), ("blog-quadratic", "quadratic")]
)
@pytest.mark.parametrize("seed", [0, 3])
def test_blog_script_run_here_matches_bit_for_bit(name, example, seed):
    expected = blog_losses(example, seed)
    got = {s.step: s.train_loss for s in run(dataclasses.replace(PRESETS[name], seed=seed))}
    assert {step: got[step] for step in expected} == expected


def test_snapshot_steps_are_zero_every_and_last():
    steps = [s.step for s in run(small(steps=250, every=100))]
    assert steps == [0, 100, 200, 250]


def test_snapshot_steps_when_every_exceeds_steps():
    assert [s.step for s in run(small(steps=30, every=100))] == [0, 30]


def test_train_loss_is_loss_of_parameters_after_step_updates():
    cfg = small(model="linear", dataset="linear", steps=3, every=1, lr=0.1)
    g = torch.Generator().manual_seed(cfg.seed)
    d = make_data(cfg, g=g)
    model = build_model(cfg, g)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    expected = []
    for _ in range(4):
        loss = torch.nn.functional.mse_loss(model(d.x_train), d.y_train)
        expected.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert [s.train_loss for s in run(cfg)] == expected


def test_same_config_same_snapshots_despite_global_rng_use():
    cfg = small(batch_size=16, test_fraction=0.25, seed=11)
    first = run(cfg)
    second = []
    for snap in train_iter(cfg):
        torch.rand(100)  # another session using the global RNG between pulls
        torch.manual_seed(torch.randint(1000, ()).item())
        second.append(snap)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert (a.step, a.train_loss, a.test_loss, a.grad_norm) == (
            b.step,
            b.train_loss,
            b.test_loss,
            b.grad_norm,
        )
        pd.testing.assert_frame_equal(a.curve, b.curve)


def test_training_leaves_the_global_rng_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    run(small(batch_size=8, test_fraction=0.2))
    assert torch.equal(torch.rand(3), expected)


def test_different_seeds_differ():
    a, b = run(small(seed=1))[-1], run(small(seed=2))[-1]
    assert a.train_loss != b.train_loss


def test_test_split_sizes_and_loss():
    cfg = small(test_fraction=0.25)
    d = make_data(cfg)
    assert (len(d.x_train), len(d.x_test)) == (150, 50)
    both = torch.cat([d.x_train, d.x_test])[:, 0].sort().values
    assert torch.equal(both, torch.linspace(-1, 1, 200))
    snaps = run(cfg)
    assert all(isinstance(s.test_loss, float) for s in snaps)
    assert all(s.test_loss is None for s in run(small()))


def test_minibatches_change_the_run_but_stay_deterministic():
    full, mini = run(small()), run(small(batch_size=20))
    assert full[-1].train_loss != mini[-1].train_loss
    assert [s.train_loss for s in mini] == [s.train_loss for s in run(small(batch_size=20))]


def test_minibatch_train_loss_is_over_all_points():
    cfg = small(model="linear", batch_size=5, steps=10, every=10)
    last = run(cfg)[-1]
    x = np.linspace(-1, 1, 200)
    y_data = make_data(cfg).y_train[:, 0].numpy()
    y_hat = last.params["w"] * x + last.params["b"]
    assert last.train_loss == pytest.approx(np.mean((y_hat - y_data) ** 2), rel=1e-5)


@pytest.mark.parametrize("batch_size", [0, 7])
def test_fitted_is_the_model_at_each_training_point_and_batch_the_next_draw(batch_size):
    cfg = small(model="linear", batch_size=batch_size, steps=6, every=3)
    snaps = run(cfg)
    x = make_data(cfg).x_train[:, 0].double().numpy()
    for snap in snaps:
        line = snap.params["w"] * x + snap.params["b"]
        assert snap.fitted.dtype == np.float32 and snap.fitted.shape == x.shape
        np.testing.assert_allclose(snap.fitted, line, rtol=1e-5, atol=1e-6)
    # the draw at a snapshot's step is the minibatch of the update that follows it:
    # the generator's draws after the data and the weights, one per step, in order
    g = torch.Generator().manual_seed(cfg.seed)
    make_data(cfg, g=g)
    build_model(cfg, g)
    draws = [torch.randint(200, (7,), generator=g).numpy() for _ in range(cfg.steps + 1)]
    for snap in snaps:
        if batch_size:
            np.testing.assert_array_equal(snap.batch, draws[snap.step])
        else:
            assert snap.batch is None


def test_fitted_is_in_the_units_of_uploaded_points():
    x = np.linspace(100, 300, 40)
    points = pd.DataFrame({"x": x, "y": 0.5 * x - 40})
    snap = run(FitConfig(dataset="csv", model="linear", lr=0.5, steps=50, every=50), points)[-1]
    line = snap.params["w"] * x + snap.params["b"]
    np.testing.assert_allclose(snap.fitted, line, rtol=1e-4)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
def test_every_optimizer_and_loss_learns(optimizer, loss):
    lr = 0.05 if optimizer == "sgd" else 0.01
    snaps = run(
        small(optimizer=optimizer, loss=loss, lr=lr, momentum=0.5 if optimizer == "sgd" else 0.0)
    )
    assert snaps[-1].train_loss < 0.5 * snaps[0].train_loss


@pytest.mark.parametrize(
    "activation", ["relu", "tanh", "sigmoid", "leaky_relu", "gelu", "elu", "silu"]
)
def test_every_activation_builds_and_trains(activation):
    snaps = run(small(activation=activation, hidden=(8, 8), optimizer="adam", lr=0.01))
    assert snaps[-1].train_loss < snaps[0].train_loss


@pytest.mark.parametrize("dataset", [d for d in registry.names("dataset") if is_generated(d)])
def test_datasets_are_pure_functions_of_the_generator(dataset):
    x = torch.linspace(-1, 1, 50).unsqueeze(1)
    a = generate(dataset, x, 0.3, torch.Generator().manual_seed(4))
    b = generate(dataset, x, 0.3, torch.Generator().manual_seed(4))
    clean = generate(dataset, x, 0.3, None)
    assert a.shape == (50, 1) and torch.equal(a, b)
    assert torch.all(a - clean >= 0) and torch.all(a - clean < 0.3 + 1e-6)  # noise * U[0, 1)


def test_weight_decay_shrinks_the_weights():
    plain = run(small(model="linear", steps=500))[-1].params
    decayed = run(small(model="linear", steps=500, weight_decay=0.5))[-1].params
    assert abs(decayed["w"]) < abs(plain["w"])


def test_linear_gradient_descent_reaches_least_squares():
    cfg = FitConfig(
        dataset="linear", noise=0.5, model="linear", lr=0.5, steps=2000, every=500, seed=3
    )
    last = run(cfg)[-1]
    d = make_data(cfg)
    expected = reference_params(cfg, d.x_train, d.y_train)
    assert last.params["w"] == pytest.approx(expected["w"], abs=1e-3)
    assert last.params["b"] == pytest.approx(expected["b"], abs=1e-3)


def test_polynomial_gradient_descent_reaches_least_squares():
    cfg = FitConfig(
        dataset="sine", model="poly", degree=5, lr=0.5, steps=20000, every=5000, noise=0.1
    )
    last = run(cfg)[-1]
    d = make_data(cfg)
    expected = reference_params(cfg, d.x_train, d.y_train)
    for k in range(6):
        assert last.params[f"c{k}"] == pytest.approx(expected[f"c{k}"], abs=2e-3), k


def test_poly_params_describe_the_drawn_curve():
    last = run(small(model="poly", degree=4, lr=0.3))[-1]
    curve = last.curve
    np.testing.assert_allclose(
        polynomial_curve(last.params, curve.x.to_numpy()), curve.y_hat, atol=1e-4
    )


def test_mlp_units_sum_to_the_curve():
    last = list(train_iter(small(hidden=(6,)), units=True))[-1]
    total = last.units.groupby("x", sort=True)["y"].sum().to_numpy()
    bias = last.curve.y_hat.to_numpy() - total
    assert last.units.unit.nunique() == 6
    np.testing.assert_allclose(bias, bias[0], atol=1e-5)  # curve = bias + sum of contributions


def test_units_are_computed_only_when_asked_and_change_nothing_else():
    cfg = small(hidden=(6,))
    plain, with_units = run(cfg), list(train_iter(cfg, units=True))
    assert all(s.units is None for s in plain) and all(s.units is not None for s in with_units)
    for a, b in zip(plain, with_units, strict=True):
        assert (a.step, a.train_loss, a.grad_norm) == (b.step, b.train_loss, b.grad_norm)
        pd.testing.assert_frame_equal(a.curve, b.curve)


def test_curve_reaches_beyond_the_data():
    curve = run(small(steps=1))[0].curve
    assert list(curve.columns) == ["x", "y_hat"]
    assert curve.x.min() < -1 and curve.x.max() > 1


def test_divergence_stops_the_run():
    snaps = run(FitConfig(dataset="linear", noise=0.5, lr=10.0, steps=500, every=100))
    assert snaps[-1].diverged and not math.isfinite(snaps[-1].train_loss)
    assert not any(s.diverged for s in snaps[:-1])
    assert snaps[-1].step < 500


def test_uploaded_points_train_in_their_own_units():
    rng = np.random.default_rng(0)
    x = np.linspace(100, 300, 80)
    points = pd.DataFrame({"x": x, "y": 0.5 * x - 40 + rng.normal(0, 3, 80)})
    cfg = FitConfig(dataset="csv", model="linear", lr=0.5, steps=2000, every=1000)
    last = run(cfg, points)[-1]
    c0, c1 = least_squares(torch.tensor(x)[:, None], torch.tensor(points.y.to_numpy())[:, None], 1)
    assert last.params["w"] == pytest.approx(c1, rel=1e-3)
    assert last.params["b"] == pytest.approx(c0, rel=1e-3, abs=0.05)
    assert last.curve.x.min() < 100 and last.curve.x.max() > 300


def test_blog_network_description():
    text, count = describe(build_model(PRESETS["blog-quadratic"], torch.Generator().manual_seed(0)))
    assert count == 31  # 1*10 + 10 + 10*1 + 1
    assert "Linear(in_features=1, out_features=10, bias=True)" in text
    assert "ReLU()" in text


def test_initial_weights_match_nn_linear_from_the_same_seed():
    torch.manual_seed(9)
    hidden, predict = torch.nn.Linear(1, 10), torch.nn.Linear(10, 1)
    ours = build_model(PRESETS["blog-linear"], torch.Generator().manual_seed(9))
    assert torch.equal(ours[0].weight, hidden.weight) and torch.equal(ours[0].bias, hidden.bias)
    assert torch.equal(ours[2].weight, predict.weight) and torch.equal(ours[2].bias, predict.bias)


def test_presets_are_the_blogs_scripts():
    lin, quad = PRESETS["blog-linear"], PRESETS["blog-quadratic"]
    assert (lin.dataset, lin.noise, lin.steps, lin.every) == ("linear", 0.5, 100, 20)
    assert (quad.dataset, quad.noise, quad.steps, quad.every) == ("quadratic", 0.2, 5000, 100)
    for cfg in (lin, quad):
        assert (cfg.n_points, cfg.model, cfg.hidden, cfg.activation) == (200, "mlp", (10,), "relu")
        assert (cfg.optimizer, cfg.lr, cfg.loss, cfg.batch_size, cfg.test_fraction) == (
            "sgd",
            0.05,
            "mse",
            0,
            0.0,
        )


@pytest.mark.parametrize(
    "field, value",
    [
        ("n_points", LIMITS["n_points"][1] + 1),
        ("steps", 0),
        ("lr", 0.0),
        ("lr", float("nan")),
        ("hidden", (10,) * 5),
        ("hidden", (0,)),
        ("degree", 13),
        ("model", "svm"),
        ("seed", -1),
        ("batch_size", 1.5),
        ("noise", float("inf")),
    ],
)
def test_invalid_values_raise_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field if field != "hidden" else "hidden"):
        FitConfig(**{field: value})


def test_fitcore_does_not_import_streamlit():
    code = (
        "import sys, fitcore, fitcore.train, fitcore.reference; print('streamlit' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "False"


def test_the_weights_file_is_the_models_state_dict_at_that_step():
    import io

    from fitcore.train import model_at, weights_file

    cfg = small(model="linear")
    loaded = torch.load(io.BytesIO(weights_file(cfg, 100)))
    expected = model_at(cfg, 100).state_dict()
    assert list(loaded) == list(build_model(cfg, torch.Generator()).state_dict())
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)
