"""train_iter: gradient descent as a generator of snapshots; pausing is not pulling."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch
from torch import nn

from fitcore import registry
from fitcore.config import FitConfig
from fitcore.data import Data, make_data
from fitcore.models import build_model, poly_coefficients


@dataclass(frozen=True)
class Snapshot:
    """The state of a run after `step` optimizer updates."""

    step: int  # optimizer updates done so far
    train_loss: float  # cfg.loss over all training points, parameters after `step` updates
    test_loss: float | None  # same on the held-out points; None without a test split
    curve: pd.DataFrame  # columns x, y_hat: the model on a dense grid, in the data's units
    params: dict[str, float]  # w, b (linear); c0..cd (poly); {} (mlp)
    grad_norm: float  # L2 norm of the gradient the next update uses
    diverged: bool = False  # True on the last snapshot when the loss became NaN or inf
    # MLP with train_iter(..., units=True): x, unit, y (see _units); else None
    units: pd.DataFrame | None = field(default=None, repr=False)
    # On a diverged snapshot: (step, loss) of every update since the previous snapshot, so a
    # chart can show the blow-up that happened between two frames (minibatch losses when
    # batch_size > 0). Empty otherwise.
    trail: tuple[tuple[int, float], ...] = field(default=(), repr=False)
    # The model at each training point (Data's order, sorted by x), in the data's units, and
    # the minibatch the next update draws (row numbers of those points; None: full batch):
    # what the fit chart's residual sticks show. float32 / int32 to keep a run's frames small.
    fitted: np.ndarray | None = field(default=None, repr=False, compare=False)
    batch: np.ndarray | None = field(default=None, repr=False, compare=False)


def one_thread() -> None:
    """Train on this thread alone: call first in every thread that trains.

    For this tiny network one thread is ~10x faster than two when the other core is busy. The
    count is kept per OS thread (OpenMP), and Streamlit starts each script or fragment run on a
    new thread: 100 steps of blog-quadratic on a fresh thread with the other core busy took
    100 ms CPU / 150 ms wall, and 24 ms after this call (which costs 0.2 µs).
    """
    torch.set_num_threads(1)


def weights_file(cfg: FitConfig, step: int, data: pd.DataFrame | None = None) -> bytes:
    """The model's state_dict after the snapshot at `step`, as torch.save writes it.

    Its keys are build_model's (0.weight, 0.bias, ...), which the exported script's model
    shares, so `python fitlab_run.py --weights FILE` loads it.
    """
    buffer = io.BytesIO()
    torch.save(model_at(cfg, step, data).state_dict(), buffer)
    return buffer.getvalue()


def make_optimizer(cfg: FitConfig, params) -> torch.optim.Optimizer:
    """The torch optimizer that cfg names, with its learning rate, momentum and weight decay."""
    entry = registry.get("optimizer", cfg.optimizer)
    options: dict[str, object] = {"lr": cfg.lr, **_keywords(entry.options)}
    if entry.decay:
        options["weight_decay"] = cfg.weight_decay
    if entry.momentum:
        options["momentum"] = cfg.momentum
    return getattr(torch.optim, entry.torch_class)(params, **options)


def make_scheduler(cfg: FitConfig, opt: torch.optim.Optimizer):
    """The torch.optim.lr_scheduler that cfg.schedule names, or None for a constant lr."""
    entry = registry.get("schedule", cfg.schedule)
    if entry.torch_class is None:
        return None
    cls = getattr(torch.optim.lr_scheduler, entry.torch_class)
    return cls(opt, **_keywords(entry.options, steps=cfg.steps))


def _keywords(text: str, **names: int) -> dict[str, object]:
    """Keyword arguments written as Python text in the registry, e.g. 'T_max=steps'."""
    if not text:
        return {}
    return eval(f"dict({text})", {"__builtins__": {"dict": dict, "max": max}}, names)


def make_loss(cfg: FitConfig) -> nn.Module:
    """The torch.nn loss that cfg names, e.g. nn.MSELoss()."""
    return getattr(nn, registry.get("loss", cfg.loss).module)()


def prepare(cfg: FitConfig, data: pd.DataFrame | None = None) -> tuple[Data, torch.Generator]:
    """The run's points, and its generator positioned after drawing them (weights come next).

    Hand both to train_iter(..., prepared=) to train on points already made, e.g. the ones a
    page also draws: one run makes its data once.
    """
    g = torch.Generator().manual_seed(cfg.seed)
    return make_data(cfg, data, g), g


def train_iter(
    cfg: FitConfig,
    data: pd.DataFrame | None = None,
    *,
    units: bool = False,
    prepared: tuple[Data, torch.Generator] | None = None,
) -> Iterator[Snapshot]:
    """Snapshots at step 0, after every `cfg.every` updates, and after the last update.

    All randomness comes from one generator seeded with cfg.seed, in the blog's order:
    data noise, test split, initial weights, then minibatch draws during training.
    `data` (columns x, y) replaces the generated points, e.g. an uploaded CSV.
    `units`: also fill Snapshot.units for an MLP (what the page's hidden-units view draws;
    building that table is about half of a snapshot's cost, so it is asked for).
    `prepared`: prepare(cfg, data)'s result, not yet trained on.
    """
    for snap, _ in _train(cfg, data, units, prepared):
        yield snap


def model_at(cfg: FitConfig, step: int, data: pd.DataFrame | None = None) -> nn.Module:
    """The model after the snapshot at `step` (or the run's last one), by replaying the run."""
    model = None
    for snap, model in _train(cfg, data):  # noqa: B007 - the model after the loop is the answer
        if snap.step >= step:
            break
    assert model is not None  # _train yields at least the snapshot at step 0
    return model


def _train(
    cfg: FitConfig,
    data: pd.DataFrame | None,
    units: bool = False,
    prepared: tuple[Data, torch.Generator] | None = None,
) -> Iterator[tuple[Snapshot, nn.Module]]:
    """train_iter's loop, also handing out the live model at each snapshot."""
    d, g = prepared if prepared is not None else prepare(cfg, data)
    grid = d.grid()
    trail: list[tuple[int, float]] = []  # losses since the last snapshot, kept for divergence

    for live in _steps(cfg, d, g):
        step = live.step
        value = live.loss.item()
        diverged = not math.isfinite(value)
        if diverged or step % cfg.every == 0 or step == cfg.steps:
            snap = _snapshot_live(cfg, live, value, diverged, grid, units)
            if snap.diverged:
                snap = replace(snap, trail=tuple(trail))
            yield snap, live.model
            if snap.diverged:
                return
            trail.clear()
        else:
            trail.append((step, value))


@dataclass(slots=True)
class _Live:
    """One step of a run between its backward and its update (see _steps)."""

    step: int
    model: nn.Sequential
    opt: torch.optim.Optimizer
    loss_fn: nn.Module
    d: Data
    idx: torch.Tensor | None  # the minibatch's indices into d.x_train (drawn); None: full batch
    out: torch.Tensor  # the forward's output at those points (all of them for the full batch)
    loss: torch.Tensor  # the loss backward differentiated: the minibatch's, or all points'


def _steps(cfg: FitConfig, d: Data, g: torch.Generator) -> Iterator[_Live]:
    """The training loop itself, shared by train_iter and explain_step.

    Builds the model from `g` (positioned as prepare() leaves it), then at each step 0..steps:
    draws the minibatch, forward, backward, yields the live state (grads hold this step's
    gradient; the parameters are those after `step` updates), and on the next pull updates.
    The consumer ends the run by not pulling (e.g. at divergence); no update follows the last
    step.
    """
    model = build_model(cfg, g)
    opt = make_optimizer(cfg, model.parameters())
    schedule = make_scheduler(cfg, opt)
    loss_fn = make_loss(cfg)
    x, y = d.x_train, d.y_train
    n = len(x)
    batch = min(cfg.batch_size, n) if cfg.batch_size > 0 else 0
    closure = registry.get("optimizer", cfg.optimizer).closure

    for step in range(cfg.steps + 1):
        xb, yb, idx = x, y, None
        if batch:
            idx = torch.randint(n, (batch,), generator=g)
            xb, yb = x[idx], y[idx]
        # forward
        out = model(xb)
        loss = loss_fn(out, yb)
        # backward
        opt.zero_grad()
        loss.backward()
        yield _Live(step, model, opt, loss_fn, d, idx, out, loss)
        if step == cfg.steps:
            return
        # update
        if closure:  # L-BFGS evaluates the loss on this step's points as often as it needs
            opt.step(_closure(model, opt, loss_fn, xb, yb))
        else:
            opt.step()
        if schedule is not None:
            schedule.step()


def _closure(model: nn.Module, opt: torch.optim.Optimizer, loss_fn: nn.Module, x, y):
    """The loss at the current parameters, with its gradient: what opt.step(closure) calls."""

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss

    return closure


def _snapshot_live(cfg, live: _Live, value: float, diverged: bool, grid, units) -> Snapshot:
    """The snapshot of a live step whose batch loss is `value` (all points' loss when full)."""
    d = live.d
    if live.idx is None:
        full, fitted, batch = value, live.out.detach(), None
    else:  # the batch's loss is not all points': one more forward
        with torch.no_grad():
            fitted = live.model(d.x_train)
            full = live.loss_fn(fitted, d.y_train).item()
        batch = live.idx.to(torch.int32).numpy()
    snap = _snapshot(cfg, d, live.model, live.loss_fn, grid, live.step, full, diverged, units)
    fitted_o = (fitted[:, 0].double() * d.y_scale + d.y_shift).float().numpy()
    return replace(snap, fitted=fitted_o, batch=batch)


def _snapshot(cfg, d: Data, model, loss_fn, grid, step, train_loss, diverged, units) -> Snapshot:
    """Everything the page draws for one step, computed without touching the gradients."""
    diverged = diverged or not math.isfinite(train_loss)
    with torch.no_grad():
        xs = (grid[:, 0] * d.x_scale + d.x_shift).numpy()
        hidden = None
        if units and cfg.model == "mlp":
            hidden = model[:-1](grid)  # the last hidden layer's activations, drawn as units
            y_hat = model[-1](hidden)  # the same as model(grid), without a second pass
        else:
            y_hat = model(grid)
        test_loss = loss_fn(model(d.x_test), d.y_test).item() if len(d.x_test) else None
        grads = [p.grad.reshape(-1) for p in model.parameters() if p.grad is not None]
        grad_norm = torch.cat(grads).norm().item() if grads else 0.0
        curve = pd.DataFrame(
            {
                "x": xs,
                "y_hat": (y_hat[:, 0] * d.y_scale + d.y_shift).numpy(),
            }
        )
        units = _units(model, hidden, xs, d) if hidden is not None else None
    return Snapshot(
        step=step,
        train_loss=train_loss,
        test_loss=test_loss,
        curve=curve,
        params=_params(cfg, model, d),
        grad_norm=grad_norm,
        diverged=diverged,
        units=units,
    )


def _params(cfg: FitConfig, model: nn.Sequential, d: Data) -> dict[str, float]:
    """w, b or c0..cd in the data's own units (undoing the scaling of uploaded points)."""
    if cfg.model == "mlp":
        return {}
    last = _head(model)
    w = last.weight.detach().double().numpy()[0]
    b = float(last.bias.detach())
    if cfg.model == "linear":
        coef = [b - w[0] * d.x_shift / d.x_scale, w[0] / d.x_scale]
    else:
        coef = list(poly_coefficients(w, b, d.x_shift, d.x_scale))
        coef += [0.0] * (cfg.degree + 1 - len(coef))
    coef = [c * d.y_scale for c in coef]
    coef[0] += d.y_shift
    if cfg.model == "linear":
        return {"w": float(coef[1]), "b": float(coef[0])}
    return {f"c{k}": float(c) for k, c in enumerate(coef)}


def _units(model: nn.Sequential, h: torch.Tensor, xs: np.ndarray, d: Data) -> pd.DataFrame:
    """Each last-hidden-unit's contribution w_j·h_j(x) to the output, long form (x, unit, y).

    The output is bias + the sum of these curves, so a ReLU fit is visibly a sum of hinges.
    Contributions are in the data's y units (times y_scale; the bias carries the shift).
    h: (n, width) activations of the last hidden layer on the grid, whose x values are xs.
    """
    contrib = h * _head(model).weight[0] * d.y_scale  # (n, width)
    width = contrib.shape[1]
    return pd.DataFrame(
        {
            "x": np.tile(xs, width),
            "unit": np.repeat(np.arange(width), len(xs)),
            "y": contrib.T.reshape(-1).numpy(),
        }
    )


def _head(model: nn.Sequential) -> nn.Linear:
    """The output layer: every model build_model makes ends in an nn.Linear."""
    head = model[-1]
    assert isinstance(head, nn.Linear)
    return head
