"""explain_step: one update of a run taken apart, point by point and parameter by parameter.

The run is replayed with train.py's own loop (`train._steps`) up to `step`, so the weights, the
optimizer's state and the minibatch draw are the run's to the bit; what explain_step adds is
read off the live model between that step's backward and its update, then after the update.
"""

from __future__ import annotations

import functools
import math
import operator
import threading
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from fitcore import registry
from fitcore.config import FitConfig
from fitcore.data import Data
from fitcore.train import Snapshot, _Live, _snapshot_live, _steps, prepare

# A parameter's values: a float for a one-entry parameter (the line's "0.weight", every bias of
# width 1), else a flat list in row-major order (entry i is the `name[i]` column of contrib).
Values = float | list[float]

# What can stop an explanation: each is an ExplainError's `code`, its message's {placeholders}
# filled from `params`. English here; the page translates by code.
CODES = ("beyond_run", "diverged", "not_a_step")
MESSAGES: Mapping[str, str] = types.MappingProxyType(
    {
        "beyond_run": (
            "step {step} is outside the run: its updates go from step 0 to step {last} "
            "(each from a step to the next)"
        ),
        "diverged": (
            "step {step} is at or after the divergence at step {at}: the loss is no longer a "
            "finite number, so there is no update to explain"
        ),
        "not_a_step": "step must be a whole number of updates, like 0 or 41; got {step!r}",
    }
)

# Per-point gradients through torch.func are materialised this many numbers at a time.
_CHUNK_NUMBERS = 1 << 22


class ExplainError(ValueError):
    """A step explain_step cannot explain: `code` names why, `params` fill its message."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(MESSAGES[code].format(**params))


@dataclass(frozen=True)
class StepExplained:
    """The update from `step` to `step + 1` of one run, and what made it.

    Units: `points`' x, y, y_hat and residual are in the data's units (uploaded points train
    scaled, see data.Data and `scale`); everything about parameters (`grad`, `full_grad`,
    `params_*`, `update`, `contrib`, `state`, `points.pull`) is in training units, i.e. of the
    model's own tensors (its state_dict), which for uploaded data are not the data-unit w, b or
    c0..cd that Snapshot.params reports.
    """

    step: int
    before: Snapshot  # train_iter(replace(cfg, every=1))'s snapshot at step
    after: Snapshot  # ... and at step + 1 (diverged=True if this very update blew up)
    loss: float  # the loss backward differentiated at `step`: the minibatch's, or all points'
    # One row per training point, in Data's order (sorted by x; test points are not in it):
    # x, y, y_hat (the model at `step`), residual = y_hat - y, in_batch, count, pull.
    # count: how often the point is in this step's minibatch (draws are with replacement, so
    # 0, 1, 2, ...; 1 for every point with the full batch); in_batch = count > 0.
    # pull: the norm of the gradient of the point's share of the batch loss,
    # count / B * loss(y_hat_i, y_i) with B the batch size (n for the full batch), w.r.t. all
    # parameters: 0 for a point not drawn, doubled for a point drawn twice, in training units.
    points: pd.DataFrame
    batch: tuple[int, ...] | None  # the minibatch as drawn (row numbers of points); None: full
    # Keyed by state_dict names ("0.weight", "0.bias", ...), values as `Values` above.
    grad: dict[str, Values]  # as backward leaves it: the loss's alone (no weight decay)
    # The gradient of all training points' loss at `step` (what the full batch would follow;
    # `grad` itself for the full batch).
    full_grad: dict[str, Values]
    params_before: dict[str, Values]
    params_after: dict[str, Values]
    update: dict[str, Values]  # params_after - params_before (momentum, Adam, decay and all)
    shapes: dict[str, tuple[int, ...]]  # each parameter's tensor shape, to unflatten a list
    # Line and polynomial models: one row per point (points' order and index), one column per
    # scalar parameter (`name` for a one-entry parameter, else `name[i]`): the gradient of the
    # point's share of the batch loss, so the rows add up to `grad` (rows of points not drawn
    # are 0). None for networks.
    contrib: pd.DataFrame | None
    lr: float
    # The optimizer's numeric settings (lr, momentum, betas, eps, weight_decay, ...), torch's
    # names.
    hyper: dict[str, float | tuple[float, ...]]
    # Per parameter name, the optimizer's state after this update, torch's names: SGD with
    # momentum "momentum_buffer" (plain SGD: {}); RMSprop "step", "square_avg" (and
    # "momentum_buffer"); Adam and AdamW "step", "exp_avg", "exp_avg_sq" and the bias-corrected
    # "m_hat", "v_hat" their update used (-lr * m_hat / (sqrt(v_hat) + eps), before decay);
    # Adagrad "step", "sum". "step" is an int, the rest `Values`.
    state: dict[str, dict[str, int | Values]]
    # Data's (x_shift, x_scale, y_shift, y_scale): x in the data's units = x * x_scale +
    # x_shift in training units, y likewise; (0, 1, 0, 1) for generated data.
    scale: tuple[float, float, float, float]


def explain_step(
    cfg: FitConfig, step: int, data: pd.DataFrame | None = None, *, units: bool = False
) -> StepExplained:
    """The update from `step` to `step + 1` of the run `cfg` (on `data`, as train_iter takes it).

    Replays the run to `step` with train.py's loop, so everything is that run's, bit for bit.
    ExplainError (a ValueError) with code "not_a_step" unless `step` is an integer,
    "beyond_run" unless 0 <= step < cfg.steps, and "diverged" at or after a step where
    train_iter(replace(cfg, every=1)) ends: one whose batch loss or all points' loss is not
    finite. The update that makes the run diverge is explained: its `after` is then a diverged
    snapshot. `units`: fill before.units and after.units for an MLP, as train_iter's `units`.
    """
    step = _checked(cfg, step)
    d, g = prepare(cfg, data)
    run, live = _replay(cfg, d, g, step)
    return _explain(cfg, run, live, d.grid(), units)


class Explainer:
    """explain_step for one run, kept where it stopped: a walk forward costs one update a step.

    explain_step replays the run from step 0 each time; the page's slow motion explains step
    after step, so an Explainer keeps the run's loop after the last step it explained and goes
    on from there (back to step 0 only for an earlier step). `at(step)` equals
    explain_step(cfg, step, data, units=units). Safe to share between threads (one lock).
    """

    def __init__(self, cfg: FitConfig, data: pd.DataFrame | None = None, *, units: bool = False):
        self.cfg, self.data, self.units = cfg, data, units
        self._lock = threading.Lock()
        # the loop, its live state at the next step to explain, the curve's grid
        self._at: tuple[Iterator[_Live], _Live, torch.Tensor] | None = None

    def at(self, step: int) -> StepExplained:
        cfg = self.cfg
        step = _checked(cfg, step)
        with self._lock:
            if self._at is None or self._at[1].step > step:
                d, g = prepare(cfg, self.data)
                run = _steps(cfg, d, g)
                self._at = (run, next(run), d.grid())
            run, live, grid = self._at
            self._at = None  # a step that raises leaves no half-walked loop behind
            live = _walk(cfg, run, live, step)
            explained, after = _take_apart(cfg, run, live, grid, self.units)
            if after.step < cfg.steps:  # the last step has no update after it to explain
                self._at = (run, after, grid)
            return explained


def _checked(cfg: FitConfig, step: int) -> int:
    """`step` as an int, or ExplainError unless it is an integer in 0 .. cfg.steps - 1."""
    if isinstance(step, bool):
        raise ExplainError("not_a_step", step=step)
    try:
        index = operator.index(step)  # an int or a numpy integer; not 3.0, which is a float
    except TypeError:
        raise ExplainError("not_a_step", step=step) from None
    if not 0 <= index < cfg.steps:
        raise ExplainError("beyond_run", step=index, last=cfg.steps - 1)
    return index


def _replay(
    cfg: FitConfig, d: Data, g: torch.Generator, step: int
) -> tuple[Iterator[_Live], _Live]:
    """The run's loop pulled up to `step`: (the loop, its live state at `step`).

    Stops with "diverged" where train_iter(replace(cfg, every=1)) would end before `step`.
    That run snapshots every step, and a snapshot's loss is all points': with a minibatch it
    can overflow a step or two before the batch's does, so those runs pay one more forward
    per replayed step (10-20% more replay time) to stop at the same step.
    """
    run = _steps(cfg, d, g)
    return run, _walk(cfg, run, next(run), step)


def _walk(cfg: FitConfig, run: Iterator[_Live], live: _Live, step: int) -> _Live:
    """The run's loop pulled on from its live state `live` to `step` (diverged checked)."""
    while True:
        if not math.isfinite(live.loss.item()):
            raise ExplainError("diverged", step=step, at=live.step)
        if live.step == step:  # its all-points loss is checked by its snapshot (_explain)
            return live
        if live.idx is not None and not _finite_everywhere(live):
            raise ExplainError("diverged", step=step, at=live.step)
        live = next(run)


def _finite_everywhere(live: _Live) -> bool:
    """Whether the loss over all training points is finite at this live step."""
    with torch.no_grad():
        return math.isfinite(live.loss_fn(live.model(live.d.x_train), live.d.y_train).item())


def _explain(
    cfg: FitConfig, run: Iterator[_Live], live: _Live, grid: torch.Tensor, units: bool = False
) -> StepExplained:
    """explain_step's own work on the live state at its step, then one update further."""
    return _take_apart(cfg, run, live, grid, units)[0]


def _take_apart(
    cfg: FitConfig, run: Iterator[_Live], live: _Live, grid: torch.Tensor, units: bool
) -> tuple[StepExplained, _Live]:
    """_explain, and the loop's live state at step + 1 that it pulled (for an Explainer)."""
    model, d = live.model, live.d
    loss = live.loss.item()
    before = _snapshot_live(cfg, live, loss, False, grid, units)
    if before.diverged:
        raise ExplainError("diverged", step=live.step, at=live.step)
    named = dict(model.named_parameters())
    sizes = {k: p.numel() for k, p in named.items()}
    grad = _flat([p.grad if p.grad is not None else torch.zeros_like(p) for p in named.values()])
    params_before = _flat(list(named.values()))
    each = _per_point(cfg, model, d.x_train, d.y_train, total=live.idx is not None)
    full_grad = grad if each.total is None else each.total / len(d.x_train)

    # the settings this update uses: a schedule moves lr on right after it
    hyper = _hyper(live.opt.param_groups[0])
    lr = float(live.opt.param_groups[0]["lr"])
    after_live = next(run)  # the update, then step + 1's draw, forward and backward
    value = after_live.loss.item()
    after = _snapshot_live(cfg, after_live, value, not math.isfinite(value), grid, units)
    params_after = _flat(list(named.values()))

    # the tables, from what was read off before the update
    n = len(d.x_train)
    idx = None if live.idx is None else live.idx.numpy()
    count = np.ones(n, dtype=np.int64) if idx is None else np.bincount(idx, minlength=n)
    share = count / (n if idx is None else len(idx))  # each point's weight in the batch loss
    contrib = None
    if each.rows is not None:
        # + 0.0: a point not drawn gets 0 * (a negative) = -0.0, which a table shows as "-0"
        values = each.rows * share[:, None] + 0.0
        contrib = pd.DataFrame(values, columns=_labels(tuple(_columns(sizes))), copy=False)
    opt = live.opt
    group = opt.param_groups[0]
    explained = StepExplained(
        step=live.step,
        before=before,
        after=after,
        loss=loss,
        points=_points(d, each.y_hat, count, share * each.norm),
        batch=None if idx is None else tuple(idx.tolist()),
        grad=_split(grad, sizes),
        full_grad=_split(full_grad, sizes),
        params_before=_split(params_before, sizes),
        params_after=_split(params_after, sizes),
        update=_split(params_after - params_before, sizes),
        shapes={k: tuple(p.shape) for k, p in named.items()},
        contrib=contrib,
        lr=lr,
        hyper=hyper,
        # L-BFGS keeps its history as flat vectors of all parameters: not one parameter's
        state={}
        if cfg.optimizer == "lbfgs"
        else {k: _state(opt.state[p], group) for k, p in named.items()},
        scale=(d.x_shift, d.x_scale, d.y_shift, d.y_scale),
    )
    return explained, after_live


def _points(d: Data, y_hat: np.ndarray, count: np.ndarray, pull: np.ndarray) -> pd.DataFrame:
    """StepExplained.points: the training points in the data's units, with the step's draw."""
    x = d.x_train[:, 0].numpy().astype(np.float64) * d.x_scale + d.x_shift
    y = d.y_train[:, 0].numpy().astype(np.float64) * d.y_scale + d.y_shift
    fit = y_hat * d.y_scale + d.y_shift
    columns = {
        "x": x,
        "y": y,
        "y_hat": fit,
        "residual": fit - y,
        "in_batch": count > 0,
        "count": count,
        "pull": pull,
    }
    # numbered, then named with _labels' Index: see there; every column is a new array
    table = pd.DataFrame(dict(enumerate(columns.values())), copy=False)
    table.columns = _labels(tuple(columns))
    return table


@dataclass(frozen=True)
class _PerPoint:
    """Each training point's own loss, loss(y_hat_i, y_i), and its gradient w.r.t. all
    parameters (unweighted: the batch loss weighs it by count / B). float64 numpy arrays."""

    y_hat: np.ndarray  # (n,): the model at the points, training units
    norm: np.ndarray  # (n,): the norm of each point's gradient
    rows: np.ndarray | None  # (n, parameters): the gradients themselves (line, poly); else None
    total: np.ndarray | None  # (parameters,): their sum over all points, when asked for


def _per_point(
    cfg: FitConfig, model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, total: bool
) -> _PerPoint:
    """Every point's own gradient from one forward and one backward over all points.

    Every parameter of build_model's models is in an nn.Linear, z = a W^T + b, whose
    per-point gradients are outer(dl/dz_i, a_i) and dl/dz_i, and the points' terms do not
    interact, so the backward of their sum gives every dl/dz_i at once. A model with
    parameters elsewhere (a registry activation with weights) goes through torch.func.
    The arithmetic past the backward is numpy's: on arrays this small a torch call costs
    several times a numpy one, and the tables want float64 anyway.
    `total`: also the sum of the points' gradients (n times all points' loss gradient).
    """
    functional = getattr(F, registry.get("loss", cfg.loss).functional)
    if any(True for m in model if not isinstance(m, nn.Linear) for _ in m.parameters()):
        return _per_point_func(model, functional, x, y, total)
    inputs, outputs = [], []
    h = x
    for layer in model:
        if isinstance(layer, nn.Linear):
            inputs.append(h.detach())
            h = layer(h)
            outputs.append(h)
        else:
            h = layer(h)
    # the sum of the points' own losses: its gradient at z_i is point i's dl_i/dz_i
    deltas = torch.autograd.grad(functional(h, y, reduction="sum"), outputs)  # (n, width) each
    # Per Linear, in parameter order (weight (out, in) row-major, then bias): a (n, in), dz
    # (n, out).
    layers = [(_float64(a), _float64(dz)) for a, dz in zip(inputs, deltas, strict=True)]
    if cfg.model == "mlp":
        rows = None
        # |outer(dz, a)|² + |dz|² = |dz|² (|a|² + 1), without forming the outer products
        sq = sum(np.square(dz).sum(1) * (np.square(a).sum(1) + 1) for a, dz in layers)
        sums = None
        if total:  # per Linear: the weight's sum_i outer(dz_i, a_i) = dz^T a, the bias's sum dz_i
            sums = np.concatenate([p for a, dz in layers for p in ((dz.T @ a).ravel(), dz.sum(0))])
    else:
        n = len(x)
        rows = np.concatenate(
            [p for a, dz in layers for p in ((dz[:, :, None] * a[:, None, :]).reshape(n, -1), dz)],
            axis=1,
        )
        sq = np.square(rows).sum(1)
        sums = rows.sum(0) if total else None
    return _PerPoint(_float64(h)[:, 0], np.sqrt(sq), rows, sums)


def _per_point_func(
    model: nn.Module, functional, x: torch.Tensor, y: torch.Tensor, total: bool
) -> _PerPoint:
    """_per_point through torch.func (vmap over grad), for any model: no rows."""
    from torch.func import functional_call, grad, vmap

    params = {k: p.detach() for k, p in model.named_parameters()}

    def term(p, xi, yi):
        return functional(functional_call(model, p, (xi[None],)), yi[None], reduction="sum")

    per_point = vmap(grad(term), in_dims=(None, 0, 0))
    size = max(1, _CHUNK_NUMBERS // max(1, sum(p.numel() for p in params.values())))
    sq = torch.zeros(len(x), dtype=torch.float64)
    sums = [torch.zeros_like(p, dtype=torch.float64) for p in params.values()]
    for start in range(0, len(x), size):
        grads = per_point(params, x[start : start + size], y[start : start + size])
        sq[start : start + size] = sum(
            g.double().reshape(len(g), -1).square().sum(1) for g in grads.values()
        )
        for s, g in zip(sums, grads.values(), strict=True):
            s += g.double().sum(0)
    with torch.no_grad():
        y_hat = model(x)[:, 0]
    return _PerPoint(_float64(y_hat), sq.sqrt().numpy(), None, _flat(sums) if total else None)


def _float64(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().astype(np.float64)


def _flat(tensors: list[torch.Tensor]) -> np.ndarray:
    """The tensors' entries in one new float64 vector (exact: they are float32)."""
    return np.concatenate([t.detach().numpy().ravel() for t in tensors], dtype=np.float64)


def _split(flat: np.ndarray, sizes: Mapping[str, int]) -> dict[str, Values]:
    """A _flat vector back into `Values` by parameter name (sizes in parameter order)."""
    entries = flat.tolist()
    out: dict[str, Values] = {}
    start = 0
    for name, size in sizes.items():
        out[name] = entries[start] if size == 1 else entries[start : start + size]
        start += size
    return out


def _values(a: np.ndarray) -> Values:
    """An array as `Values`: float for one entry, else its entries in row-major order."""
    return float(a.reshape(-1)[0]) if a.size == 1 else a.reshape(-1).tolist()


def _columns(sizes: Mapping[str, int]) -> list[str]:
    """contrib's column names: `name` for a one-entry parameter, else `name[i]` per entry."""
    return [k if size == 1 else f"{k}[{i}]" for k, size in sizes.items() for i in range(size)]


def _labels(names: tuple[str, ...]) -> pd.Index:
    """Column labels `names`, built once per set of names (points', contrib's per model shape).

    pandas 3 makes a str Index through pyarrow: after a replay has pushed that code out of
    the CPU's caches, pd.Index(["x", "y_hat"]) alone takes ~0.3 ms, more than the rest of a
    small table; copying a built one takes ~0.05 ms. The copy shares the immutable values but
    not the `name`, which a caller may set.
    """
    return _built_labels(names).copy()


@functools.cache
def _built_labels(names: tuple[str, ...]) -> pd.Index:
    return pd.Index(names)


def _hyper(group: Mapping[str, object]) -> dict[str, float | tuple[float, ...]]:
    """The param group's numeric settings: lr, momentum, betas, eps, weight_decay, ..."""
    hyper: dict[str, float | tuple[float, ...]] = {}
    for k, v in group.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            hyper[k] = float(v)
        elif isinstance(v, tuple) and all(isinstance(e, (int, float)) for e in v):
            hyper[k] = tuple(float(e) for e in v)
    return hyper


def _state(state: Mapping[str, object], group: Mapping[str, object]) -> dict[str, int | Values]:
    """One parameter's optimizer state as plain numbers, with Adam's bias-corrected moments."""
    out: dict[str, int | Values] = {}
    for k, v in state.items():
        if isinstance(v, torch.Tensor):
            out[k] = int(v) if k == "step" else _values(v.numpy())
    betas, t = group.get("betas"), state.get("step")
    m, v = state.get("exp_avg"), state.get("exp_avg_sq")
    if (
        isinstance(betas, tuple)
        and isinstance(t, torch.Tensor)
        and isinstance(m, torch.Tensor)
        and isinstance(v, torch.Tensor)
    ):
        beta1, beta2 = betas
        m_hat = m.numpy().astype(np.float64) / (1 - beta1 ** int(t))
        v_hat = v.numpy().astype(np.float64) / (1 - beta2 ** int(t))
        out["m_hat"], out["v_hat"] = _values(m_hat), _values(v_hat)
    return out
