"""explain_step: each number of an explained update checked by a second computation.

The second computation is this file's own replay of the run (build_model, make_optimizer and
the run's generator in train.py's order, see train.prepare), hand-written optimizer steps and
loss derivatives, per-point autograd loops, and train_iter's own snapshots.
"""

import dataclasses
import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn import functional as F

from fitcore import ExplainError, FitConfig, StepExplained, explain_step, registry, train_iter
from fitcore import explain as ex
from fitcore.models import build_model
from fitcore.train import make_loss, make_optimizer, prepare

MODELS = {
    "linear": {"model": "linear"},
    "poly": {"model": "poly", "degree": 3},
    "mlp": {"model": "mlp", "hidden": (5,)},
}
OPTIMIZERS = {
    "sgd": {"optimizer": "sgd", "lr": 0.1},
    "momentum": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9},
    "adam": {"optimizer": "adam", "lr": 0.05},
}
BATCHES = {"full": 0, "minibatch": 6}
LOSSES = ("mse", "l1", "huber")
STEP = 2  # past the first update, so momentum buffers and Adam's moments are not trivial
MATRIX = [
    pytest.param(m, o, b, loss, id=f"{m}-{o}-{b}-{loss}")
    for m in MODELS
    for o in OPTIMIZERS
    for b in BATCHES
    for loss in LOSSES
]


def small(model="linear", optimizer="sgd", batch="full", loss="mse", **changes) -> FitConfig:
    """A tiny run: 24 points on the sine (a fifth held out), a few steps."""
    fields = {"dataset": "sine", "noise": 0.5, "n_points": 24, "test_fraction": 0.2, "steps": 4}
    fields |= MODELS[model] | OPTIMIZERS[optimizer]
    fields |= {"batch_size": BATCHES[batch], "loss": loss, **changes}
    return FitConfig(**fields)


@dataclass
class Replayed:
    """This file's own replay of a run at one step, as plain float64 arrays by parameter name."""

    x: np.ndarray  # training points, training units
    y: np.ndarray
    idx: np.ndarray | None  # the minibatch drawn at the step
    loss: float  # the batch loss at the step
    grad: dict[str, np.ndarray]
    full_grad: dict[str, np.ndarray]  # all training points' loss gradient at the step
    before: dict[str, np.ndarray]  # parameters at the step
    after: dict[str, np.ndarray]  # ... after its update
    state: dict[str, dict[str, np.ndarray]]  # the optimizer's state before the update


def replay(cfg: FitConfig, step: int, data: pd.DataFrame | None = None) -> Replayed:
    """The run to `step` and its update, written out: draw, forward, backward, update."""
    d, g = prepare(cfg, data)  # the points, and the generator where the weights come next
    model = build_model(cfg, g)
    opt = make_optimizer(cfg, model.parameters())
    loss_fn = make_loss(cfg)
    x, y = d.x_train, d.y_train
    named = dict(model.named_parameters())
    batch = min(cfg.batch_size, len(x))
    for k in range(step + 1):
        idx = torch.randint(len(x), (batch,), generator=g) if batch else None
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        if k == step:
            grad = {n: as_array(p.grad) for n, p in named.items()}
            before = {n: as_array(p) for n, p in named.items()}
            state = {
                n: {s: as_array(v) for s, v in opt.state[p].items() if torch.is_tensor(v)}
                for n, p in named.items()
            }
            full = torch.autograd.grad(loss_fn(model(x), y), list(named.values()))
            full_grad = {n: as_array(f) for n, f in zip(named, full, strict=True)}
            value = loss.item()
        opt.step()
    return Replayed(
        x=as_array(x[:, 0]),
        y=as_array(y[:, 0]),
        idx=None if idx is None else idx.numpy(),
        loss=value,
        grad=grad,
        full_grad=full_grad,
        before=before,
        after={n: as_array(p) for n, p in named.items()},
        state=state,
    )


def as_array(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy().copy()


def flat(values: dict) -> np.ndarray:
    """A dict of parameter values (floats, lists or arrays) as one vector, in key order."""
    return np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values.values()])


def close(actual, expected, rtol=1e-5, atol=1e-7) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol, atol)


def drawn(e: StepExplained) -> np.ndarray:
    """Row numbers of the points in this step's loss, a point drawn twice twice."""
    return np.arange(len(e.points)) if e.batch is None else np.array(e.batch)


def terms(loss: str, r: np.ndarray) -> np.ndarray:
    """Each point's loss from its residual r = y_hat - y (Huber's delta is 1)."""
    if loss == "mse":
        return r**2
    if loss == "l1":
        return np.abs(r)
    return np.where(np.abs(r) <= 1, 0.5 * r**2, np.abs(r) - 0.5)


def slope(loss: str, r: np.ndarray) -> np.ndarray:
    """d term / d y_hat: 2r, sign(r), r clipped to [-1, 1]."""
    return {"mse": 2 * r, "l1": np.sign(r), "huber": np.clip(r, -1, 1)}[loss]


def assert_same_snapshot(actual, expected) -> None:
    """Every field of two Snapshots equal to float precision (NaN equal to NaN)."""
    for f in dataclasses.fields(expected):
        a, b = getattr(actual, f.name), getattr(expected, f.name)
        if isinstance(b, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-6)
        elif isinstance(b, dict):
            assert a.keys() == b.keys(), f.name
            close(list(a.values()), list(b.values()), rtol=1e-6, atol=0)
        elif isinstance(b, float):
            assert a == pytest.approx(b, rel=1e-6, nan_ok=True), f.name
        elif b is None or isinstance(b, (np.ndarray, tuple)):
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            assert a == b, f.name


# the matrix: model x optimizer x batch x loss


@pytest.mark.parametrize(("model", "optimizer", "batch", "loss"), MATRIX)
def test_contributions_sum_to_autograds_gradient(model, optimizer, batch, loss):
    cfg = small(model, optimizer, batch, loss)
    e, run = explain_step(cfg, STEP), replay(cfg, STEP)
    close(flat(e.grad), flat(run.grad))
    if model == "mlp":
        assert e.contrib is None
        return
    assert list(e.contrib.columns) == [
        name if size == 1 else f"{name}[{i}]"
        for name, size in ((k, np.size(v)) for k, v in e.grad.items())
        for i in range(size)
    ]
    close(e.contrib.to_numpy().sum(axis=0), flat(run.grad))
    assert (e.contrib[~e.points["in_batch"]] == 0).all().all()


@pytest.mark.parametrize(("model", "optimizer", "batch", "loss"), MATRIX)
def test_update_is_after_minus_before_and_the_optimizers_step(model, optimizer, batch, loss):
    cfg = small(model, optimizer, batch, loss)
    e, run = explain_step(cfg, STEP), replay(cfg, STEP)
    close(flat(e.params_before), flat(run.before), rtol=0, atol=0)
    close(flat(e.params_after), flat(run.after), rtol=0, atol=0)
    close(flat(e.update), flat(e.params_after) - flat(e.params_before), rtol=0, atol=0)
    lr = cfg.lr
    for name, g in run.grad.items():
        p, state, now = run.before[name], run.state[name], e.state[name]
        if optimizer == "sgd":
            expected = -lr * g
            assert now == {}
        elif optimizer == "momentum":
            v = cfg.momentum * state["momentum_buffer"] + g
            expected = -lr * v
            close(now["momentum_buffer"], np.ravel(v))
        else:
            b1, b2 = e.hyper["betas"]
            t = int(state["step"]) + 1
            m = b1 * state["exp_avg"] + (1 - b1) * g
            v = b2 * state["exp_avg_sq"] + (1 - b2) * g**2
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            expected = -lr * m_hat / (np.sqrt(v_hat) + e.hyper["eps"])
            assert now["step"] == t
            close(now["m_hat"], np.ravel(m_hat))
            close(now["v_hat"], np.ravel(v_hat))
        close(np.ravel(e.update[name]), np.ravel(expected), atol=1e-6)
        assert np.shape(p) == e.shapes[name]


@pytest.mark.parametrize(("model", "optimizer", "batch", "loss"), MATRIX)
def test_before_and_after_are_train_iters_snapshots(model, optimizer, batch, loss):
    cfg = small(model, optimizer, batch, loss)
    snaps = list(train_iter(replace(cfg, every=1)))
    e = explain_step(cfg, cfg.steps - 1)  # the last update: after is the run's last snapshot
    assert (e.step, e.before.step, e.after.step) == (cfg.steps - 1, cfg.steps - 1, cfg.steps)
    assert e.before.test_loss is not None
    assert_same_snapshot(e.before, snaps[cfg.steps - 1])
    assert_same_snapshot(e.after, snaps[cfg.steps])


@pytest.mark.parametrize(("model", "optimizer", "batch", "loss"), MATRIX)
def test_the_loss_is_the_batch_mean_of_the_points_terms(model, optimizer, batch, loss):
    cfg = small(model, optimizer, batch, loss)
    e, run = explain_step(cfg, STEP), replay(cfg, STEP)
    r = e.points["y_hat"].to_numpy() - e.points["y"].to_numpy()
    assert e.loss == pytest.approx(terms(loss, r)[drawn(e)].mean(), rel=1e-5)
    assert e.loss == run.loss
    close(e.points["residual"], r, rtol=0, atol=0)


# gradients two ways


@pytest.mark.parametrize("batch", [0, 1, 7])
@pytest.mark.parametrize("loss", LOSSES)
def test_line_gradient_is_the_textbook_formula(loss, batch):
    """MSE: dL/dw = 2/n sum r x, dL/db = 2/n sum r; L1 takes sign(r), Huber r clipped to 1."""
    cfg = small(loss=loss, batch_size=batch, n_points=40, noise=2.0, test_fraction=0.0)
    e = explain_step(cfg, 1)
    pts = e.points.iloc[drawn(e)]
    r = pts["y_hat"].to_numpy() - pts["y"].to_numpy()
    if loss == "huber" and batch != 1:  # the clip is seen at work: some residuals past 1
        assert (abs(r) > 1).any() and (abs(r) < 1).any()
    s = slope(loss, r)
    n = len(pts)
    assert e.grad["0.weight"] == pytest.approx(np.sum(s * pts["x"].to_numpy()) / n, rel=1e-5)
    assert e.grad["0.bias"] == pytest.approx(np.sum(s) / n, rel=1e-5)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("model", ["linear", "poly"])
def test_pull_is_the_norm_of_the_points_contribution(model, batch):
    e = explain_step(small(model, batch=batch), STEP)
    close(e.points["pull"], np.linalg.norm(e.contrib.to_numpy(), axis=1))
    assert (e.points["pull"] > 0).sum() == e.points["in_batch"].sum()


@pytest.mark.parametrize("batch", [0, 1, 6])
@pytest.mark.parametrize("loss", LOSSES)
def test_network_pull_matches_a_per_point_autograd_loop(loss, batch):
    cfg = small("mlp", loss=loss, batch_size=batch)
    e = explain_step(cfg, STEP)
    d, g = prepare(cfg)
    model = build_model(cfg, g)
    model.load_state_dict(
        {k: torch.tensor(e.params_before[k]).reshape(e.shapes[k]) for k in e.shapes}
    )
    functional = getattr(F, registry.get("loss", loss).functional)
    size = len(drawn(e))
    for i, count in enumerate(e.points["count"]):
        term = functional(model(d.x_train[i : i + 1]), d.y_train[i : i + 1])
        own = torch.autograd.grad(term, list(model.parameters()))
        norm = torch.cat([t.reshape(-1) for t in own]).double().norm().item()
        assert e.points["pull"][i] == pytest.approx(count / size * norm, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("model", MODELS)
def test_full_grad_is_all_points_gradient(model, batch):
    cfg = small(model, batch=batch, loss="huber")
    e, run = explain_step(cfg, STEP), replay(cfg, STEP)
    close(flat(e.full_grad), flat(run.full_grad))
    if batch == "full":
        assert e.full_grad == e.grad
    else:
        assert not np.allclose(flat(e.full_grad), flat(e.grad))


def test_the_torch_func_path_matches_the_linear_layers_path():
    """The fallback for models with parameters outside nn.Linear, on a model that has none."""
    cfg = small("mlp", hidden=(4, 3), loss="huber")
    d, g = prepare(cfg)
    model = build_model(cfg, g)
    functional = getattr(F, registry.get("loss", cfg.loss).functional)
    direct = ex._per_point(cfg, model, d.x_train, d.y_train, total=True)
    func = ex._per_point_func(model, functional, d.x_train, d.y_train, total=True)
    close(func.y_hat, direct.y_hat)
    close(func.norm, direct.norm)
    close(func.total, direct.total)


# the minibatch draw


@pytest.mark.parametrize("batch_size", [0, 1, 6, 500])
def test_in_batch_and_count_follow_the_minibatch_draw(batch_size):
    cfg = small(batch_size=batch_size)
    e, run = explain_step(cfg, STEP), replay(cfg, STEP)
    n = len(e.points)
    if batch_size == 0:
        assert e.batch is None and run.idx is None
        count = np.ones(n, dtype=int)
    else:
        assert e.batch == tuple(run.idx.tolist())
        assert len(e.batch) == min(batch_size, n)
        count = np.bincount(run.idx, minlength=n)
    np.testing.assert_array_equal(e.points["count"], count)
    np.testing.assert_array_equal(e.points["in_batch"], count > 0)
    assert e.points["in_batch"].dtype == bool


def test_a_minibatch_of_one_is_that_points_gradient():
    cfg = small(batch_size=1, loss="mse")
    e = explain_step(cfg, STEP)
    (i,) = e.batch
    close(e.contrib.iloc[i], flat(e.grad))
    assert e.points["in_batch"].sum() == 1


# bad input


@pytest.mark.parametrize("step", [-1, 4, 5, 10_000])
def test_a_step_outside_the_run_is_refused(step):
    with pytest.raises(ExplainError) as caught:
        explain_step(small(), step)
    assert caught.value.code == "beyond_run"
    assert caught.value.params == {"step": step, "last": 3}
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("step", [2.0, "2", None, True])
def test_a_step_that_is_not_an_integer_is_refused(step):
    with pytest.raises(ExplainError) as caught:
        explain_step(small(), step)
    assert caught.value.code == "not_a_step"


def test_a_numpy_integer_is_a_step():
    assert explain_step(small(), np.int64(2)).step == 2


def test_divergence_stops_explanations_where_train_iter_stops():
    cfg = FitConfig(dataset="linear", model="linear", lr=10.0, n_points=20, steps=40)
    last = list(train_iter(replace(cfg, every=1)))[-1]
    assert last.diverged and last.step < 20
    blowup = explain_step(cfg, last.step - 1)  # the update that blew up is explained
    assert blowup.after.diverged and not blowup.before.diverged
    for step in (last.step, last.step + 3):
        with pytest.raises(ExplainError) as caught:
            explain_step(cfg, step)
        assert caught.value.code == "diverged"
        assert caught.value.params == {"step": step, "at": last.step}


def test_minibatch_divergence_counts_all_points_loss():
    """All points' loss overflows a step or two before the batch's; train_iter(every=1), which
    snapshots (all points' loss) every step, ends there, and so do the explanations."""
    cfg = FitConfig(dataset="linear", model="linear", lr=1.5, n_points=50, batch_size=2, steps=90)
    last = list(train_iter(replace(cfg, every=1)))[-1]
    assert last.diverged
    assert math.isfinite(replay(cfg, last.step + 1).loss)  # the batch's loss is still finite
    with pytest.raises(ExplainError) as caught:
        explain_step(cfg, last.step + 1)
    assert caught.value.params["at"] == last.step


# units


def uploaded(n=60) -> pd.DataFrame:
    """Points with x in the hundreds, in no order: scaling them is not the identity."""
    rng = np.random.default_rng(1)
    x = rng.permutation(np.linspace(100, 300, n))
    return pd.DataFrame({"x": x, "y": 0.5 * x - 40 + rng.normal(0, 3, n)})


@pytest.mark.parametrize("model", ["linear", "poly"])
def test_uploaded_points_are_explained_in_their_own_units(model):
    points = uploaded()
    cfg = FitConfig(dataset="csv", model=model, degree=2, lr=0.3, steps=6)
    e = explain_step(cfg, 3, points)
    x_shift, x_scale, y_shift, y_scale = e.scale
    assert (x_shift, x_scale) == pytest.approx((200, 100))
    assert y_scale > 10
    ordered = points.sort_values("x")
    close(e.points["x"], ordered["x"], rtol=1e-6)
    close(e.points["y"], ordered["y"], rtol=1e-6)
    coef = list(e.before.params.values())
    if model == "linear":
        w, b = e.before.params["w"], e.before.params["b"]
        close(e.points["y_hat"], w * e.points["x"] + b, rtol=1e-5)
    else:
        close(e.points["y_hat"], np.polynomial.polynomial.polyval(e.points["x"], coef), rtol=1e-5)
    curve = e.before.curve
    close(e.points["y_hat"], np.interp(e.points["x"], curve["x"], curve["y_hat"]), rtol=1e-3)
    # the gradient is the training units' one, as the replay on the same upload has it
    close(flat(e.grad), flat(replay(cfg, 3, points).grad))
    close(e.contrib.to_numpy().sum(axis=0), flat(e.grad))


def test_generated_data_is_in_training_units():
    e = explain_step(small(), STEP)
    assert e.scale == (0.0, 1.0, 0.0, 1.0)
    close(e.points["x"], replay(small(), STEP).x, rtol=0, atol=0)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_weight_decay_is_in_the_update_and_not_in_the_gradient(optimizer):
    cfg = small(optimizer=optimizer, weight_decay=0.5)
    decayed, plain = explain_step(cfg, 0), explain_step(replace(cfg, weight_decay=0.0), 0)
    assert decayed.grad == plain.grad  # the same start, the same gradient: no decay term in it
    close(decayed.contrib.to_numpy().sum(axis=0), flat(decayed.grad))
    g, p, lr = flat(decayed.grad), flat(decayed.params_before), cfg.lr
    if optimizer == "sgd":
        close(flat(decayed.update), -lr * (g + 0.5 * p), atol=1e-7)
    else:  # Adam's L2: the decay joins the gradient inside the moments; first step is ~ -lr sign
        m_hat = flat({k: s["m_hat"] for k, s in decayed.state.items()})
        close(m_hat, g + 0.5 * p)
    assert not np.allclose(flat(decayed.update), flat(plain.update))


def test_explaining_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    explain_step(small("mlp", batch="minibatch"), STEP)
    assert torch.equal(torch.get_rng_state(), state)


def test_tables_do_not_share_their_column_labels():
    first, second = explain_step(small(), STEP), explain_step(small(), STEP)
    first.points.columns.name = "renamed"
    first.contrib.columns.name = "renamed"
    assert second.points.columns.name is None and second.contrib.columns.name is None
    assert explain_step(small(), STEP).points.columns.name is None


def _same(a, b) -> None:
    """Two explanations of one step agree in every number."""
    assert a.step == b.step and a.loss == b.loss and a.batch == b.batch
    for name in ("grad", "full_grad", "params_before", "params_after", "update"):
        assert getattr(a, name) == getattr(b, name), name
    pd.testing.assert_frame_equal(a.points, b.points)
    pd.testing.assert_frame_equal(a.before.curve, b.before.curve)
    assert a.after.train_loss == b.after.train_loss and a.state == b.state


@pytest.mark.parametrize("changes", [{}, {"batch_size": 5, "optimizer": "adam"}])
def test_an_explainer_walking_forward_and_back_equals_explain_step(changes):
    cfg = dataclasses.replace(FitConfig(steps=12, every=4), **changes)
    walker = ex.Explainer(cfg)
    for step in (0, 1, 2, 7, 3, 11, 11, 0):  # on, a jump, back (a restart), the last, twice
        _same(walker.at(step), explain_step(cfg, step))
    with pytest.raises(ExplainError) as beyond:
        walker.at(12)
    assert beyond.value.code == "beyond_run"
    _same(walker.at(5), explain_step(cfg, 5))  # a refused step leaves it usable


def test_an_explainer_stops_at_a_divergence_like_explain_step():
    cfg = FitConfig(dataset="linear", model="linear", lr=10, steps=100, every=20)
    diverged = next(s for s in train_iter(cfg) if s.diverged).step
    walker = ex.Explainer(cfg)
    _same(walker.at(diverged - 1), explain_step(cfg, diverged - 1))
    with pytest.raises(ExplainError) as error:
        walker.at(diverged)
    assert error.value.code == "diverged"
