"""Capacity sweeps and seed ensembles: many runs of one config, trained side by side.

`sweep(cfg, field, values)` trains the same data at several capacities (polynomial degree,
network width or depth) and reports each run's final train and test loss and curve: the
picture of overfitting, training loss falling with capacity while the test loss turns up.
`ensemble(cfg, k, vary)` trains k runs that draw new noise, new initial weights or both, and
reports their curves, mean and spread: how much a fit owes to the noise and to the start.

Runs of one shape train as one stack (see _Stack): their parameters padded to the largest
shape and stacked along a leading run dimension, one batched forward and backward for all and
one torch optimizer over the stacked tensors. torch's optimizers work elementwise, so each run
gets the update it would get alone; padded entries are masked out of the forward, get zero
gradient and stay zero. A 12-degree sweep then costs about two runs (bench/sweep.py), not 12.
Runs of different depths cannot share a stack and train one after another; L-BFGS, whose line
search is one per run, too.

Every result equals a run of its own, `train_iter(replace(cfg, field=value))`'s last snapshot,
to float rounding (batched matmuls add in another order): tests/test_sweep.py checks 1e-4.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from fitcore import registry
from fitcore.config import LIMITS, FitConfig
from fitcore.data import Data, generate, is_generated
from fitcore.models import Legendre, build_model
from fitcore.train import Snapshot, _snapshot, _train, make_optimizer, make_scheduler, prepare

# What a sweep can vary, the model it applies to, and the values the page offers.
LADDERS: dict[str, tuple[str, tuple[int, ...]]] = {
    "degree": ("poly", tuple(range(1, 13))),
    "width": ("mlp", (1, 2, 4, 8, 16, 32, 64, 128)),  # every hidden layer this wide
    "depth": ("mlp", (1, 2, 3, 4)),  # this many hidden layers of the first one's width
}
MAX_VALUES = 12  # a sweep's runs, and so its memory: 12 curves and one stack
MAX_SEEDS = 20  # an ensemble's runs
MAX_RUNS = 240  # sweep values x seeds in one spread sweep (12 degrees x 20 seeds)
VARY = ("data", "init")  # what an ensemble's runs draw anew: the noise and split, the weights
PROGRESS_EVERY = 100  # steps between the progress reports of sweep_steps
# The page's choices of `vary`, by name.
VARY_CHOICES = {"both": ("data", "init"), "data": ("data",), "init": ("init",)}
# SweepError's codes: each is a catalog key sweep_<code>, formatted with the error's values.
CODES = (
    "unknown_field",
    "model",
    "values",
    "repeated",
    "not_whole",
    "range",
    "no_test",
    "seed_count",
    "vary_choice",
    "vary_upload",
    "runs",
)


class SweepError(ValueError):
    """A sweep or ensemble that cannot be run; `code` names why (a catalog key sweep_<code>)."""

    def __init__(self, code: str, **values: object):
        assert code in CODES, code
        self.code, self.values = code, values
        super().__init__(f"{code}: " + ", ".join(f"{k}={v!r}" for k, v in values.items()))


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep, as its last snapshot leaves it."""

    value: int  # the swept field's value
    train_loss: float
    test_loss: float | None  # None without a test share
    curve: pd.DataFrame  # x, y_hat: the fitted model on the run's grid, in the data's units
    diverged: bool
    step: int  # the run's last step: cfg.steps, or where it diverged


@dataclass(frozen=True)
class Progress:
    """How far a sweep has trained: `done` of `total` run-steps (for a progress bar)."""

    done: int
    total: int


@dataclass(frozen=True)
class Ensemble:
    """k runs of one config that differ in their noise, their initial weights or both."""

    seeds: tuple[int, ...]  # run i's seed; run 0 is cfg's own run
    vary: tuple[str, ...]
    points: tuple[SweepPoint, ...]  # each run's last snapshot (value: its seed)
    band: pd.DataFrame  # x, mean, sd, lo, hi (mean ± sd over the runs that did not diverge)
    truth: np.ndarray | None  # the clean function on the grid; None for uploaded data
    # grid points within the data's x range: bias² and variance are measured there, not where
    # the grid's margins extrapolate (a degree-12 fit's edges would swamp them)
    inside: np.ndarray

    @property
    def bias2(self) -> float | None:
        """Mean over the data's x range of (mean curve - true function)²; None without a true
        function."""
        if self.truth is None:
            return None
        mean = self.band["mean"].to_numpy()[self.inside]
        return float(np.mean((mean - self.truth[self.inside]) ** 2))

    @property
    def variance(self) -> float:
        """Mean over the data's x range of the runs' variance about their mean curve."""
        return float(np.mean(self.band["sd"].to_numpy()[self.inside] ** 2))


def sweep(
    cfg: FitConfig, field: str, values: Sequence[int], data: pd.DataFrame | None = None
) -> Iterator[SweepPoint]:
    """One SweepPoint per value, equal to the last snapshot of `train_iter` of cfg with that
    value, as each run ends: runs that share a stack end together, a diverged one first."""
    for event in sweep_steps(cfg, field, values, data):
        if isinstance(event, SweepPoint):
            yield event


def sweep_steps(
    cfg: FitConfig, field: str, values: Sequence[int], data: pd.DataFrame | None = None
) -> Iterator[SweepPoint | Progress]:
    """sweep's points, with a Progress between them every PROGRESS_EVERY steps: what a page
    pulls a little at a time (stopping is not pulling)."""
    configs = sweep_configs(cfg, field, values, data)
    runs = [_Run(c, *prepare(c, data)) for c in configs]
    for event in _train_runs(runs, sum(c.steps for c in configs)):
        if isinstance(event, Progress):
            yield event
        else:
            yield dataclasses.replace(event[1], value=int(values[event[0]]))


def sweep_configs(
    cfg: FitConfig, field: str, values: Sequence[int], data: pd.DataFrame | None = None
) -> list[FitConfig]:
    """The config of each value's run; SweepError naming what cannot be swept."""
    if field not in LADDERS:
        raise SweepError("unknown_field", field=field, fields=", ".join(LADDERS))
    model = LADDERS[field][0]
    if cfg.model != model:
        raise SweepError("model", field=field, model=model, got=cfg.model)
    if not 1 <= len(values) <= MAX_VALUES:
        raise SweepError("values", count=len(values), most=MAX_VALUES)
    if len(set(values)) != len(values):
        raise SweepError("repeated", values=list(values))
    if cfg.test_fraction == 0:
        raise SweepError("no_test")
    configs = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise SweepError("not_whole", value=v)
        lo, hi = LIMITS[{"width": "width", "depth": "hidden_layers"}.get(field, field)]
        if not lo <= v <= hi:
            raise SweepError("range", field=field, value=int(v), lo=lo, hi=hi)
        v = int(v)
        if field == "degree":
            configs.append(dataclasses.replace(cfg, degree=v))
        elif field == "width":
            configs.append(dataclasses.replace(cfg, hidden=(v,) * len(cfg.hidden)))
        else:
            configs.append(dataclasses.replace(cfg, hidden=(cfg.hidden[0],) * v))
    return configs


def ensemble(
    cfg: FitConfig,
    k: int,
    vary: Sequence[str] = VARY,
    data: pd.DataFrame | None = None,
) -> Ensemble:
    """k runs with seeds cfg.seed, cfg.seed + 1, ...; run i draws what `vary` names anew.

    "data": run i's noise and test split are those of seed i (prepare(cfg_i)); "init": its
    initial weights and minibatches come from seed i's generator (as prepare(cfg_i) leaves it).
    What is not varied is cfg's own: "init" alone trains cfg's points from k starts, "data"
    alone k noisy copies from cfg's start. With both, run i is train_iter(cfg_i) itself.
    """
    return next(iter(ensembles(cfg, [cfg], k, vary, data)))


def spread_sweep(
    cfg: FitConfig,
    field: str,
    values: Sequence[int],
    k: int,
    vary: Sequence[str] = VARY,
    data: pd.DataFrame | None = None,
) -> list[Ensemble]:
    """An ensemble at each value of a sweep: bias² and variance against capacity."""
    configs = sweep_configs(cfg, field, values, data)
    _check_seeds(k)
    if len(configs) * k > MAX_RUNS:
        raise SweepError("runs", count=len(configs) * k, most=MAX_RUNS)
    return list(ensembles(cfg, configs, k, vary, data))


def ensembles(
    cfg: FitConfig,
    configs: Sequence[FitConfig],
    k: int,
    vary: Sequence[str],
    data: pd.DataFrame | None,
) -> Iterator[Ensemble]:
    """An Ensemble for each of `configs` (variants of cfg), all trained in one pass."""
    for event in ensemble_steps(cfg, configs, k, vary, data):
        if isinstance(event, Ensemble):
            yield event


def ensemble_steps(
    cfg: FitConfig,
    configs: Sequence[FitConfig],
    k: int,
    vary: Sequence[str],
    data: pd.DataFrame | None,
) -> Iterator[Ensemble | Progress]:
    """ensembles' Ensembles, after Progress reports while they train."""
    vary = tuple(vary)
    _check_seeds(k)
    if not vary or set(vary) - set(VARY):
        raise SweepError("vary_choice", got=", ".join(map(str, vary)), choices=", ".join(VARY))
    if "data" in vary and not is_generated(cfg.dataset):
        raise SweepError("vary_upload")  # uploaded points have no noise to draw again
    seeds = tuple((cfg.seed + i) % (int(LIMITS["seed"][1]) + 1) for i in range(k))
    runs = []
    for c in configs:
        own = prepare(c, data)
        for seed in seeds:
            d, g = prepare(dataclasses.replace(c, seed=seed), data)
            if "data" not in vary:
                d = own[0]
            if "init" not in vary:
                g = _copy(own[1])
            runs.append(_Run(dataclasses.replace(c, seed=seed), d, g))
    finished: dict[int, SweepPoint] = {}
    for event in _train_runs(runs, sum(r.cfg.steps for r in runs)):
        if isinstance(event, Progress):
            yield event
        else:
            finished[event[0]] = event[1]
    d = runs[0].d
    truth = _truth(cfg, d) if is_generated(cfg.dataset) else None
    x = torch.cat([d.x_train, d.x_test])[:, 0] * d.x_scale + d.x_shift
    lo, hi = float(x.min()), float(x.max())
    for j in range(len(configs)):
        points = tuple(
            dataclasses.replace(finished[j * k + i], value=seed) for i, seed in enumerate(seeds)
        )
        band = _band(points)
        inside = band["x"].between(lo - 1e-9, hi + 1e-9).to_numpy()
        yield Ensemble(seeds, vary, points, band, truth, inside)


class SharedSweep:
    """A sweep (k = 1) or spread sweep (k > 1), or with field None an ensemble of cfg itself,
    computed once per server and pulled on by whichever page watches it.

    Nothing trains unless a page calls advance(): a closed tab leaves it where it was, and the
    next student on the same settings picks it up there. Safe to share between threads.
    """

    def __init__(
        self,
        cfg: FitConfig,
        field: str | None,
        values: Sequence[int],
        k: int = 1,
        vary: Sequence[str] = VARY,
        data: pd.DataFrame | None = None,
    ):
        self.field, self.k = field, k
        self.points: list[SweepPoint] = []  # k = 1: one per value, as each run ends
        self.ensembles: list[Ensemble] = []  # k > 1 or field None: one per value
        self.values: list[int] = list(values)
        self.progress = Progress(0, 1)
        self.done = False
        self._lock = threading.Lock()
        events: Iterator[SweepPoint | Ensemble | Progress]
        if field is None:
            events = ensemble_steps(cfg, [cfg], k, vary, data)
        elif k == 1:
            events = sweep_steps(cfg, field, values, data)
        else:
            configs = sweep_configs(cfg, field, values, data)
            _check_seeds(k)
            if len(configs) * k > MAX_RUNS:
                raise SweepError("runs", count=len(configs) * k, most=MAX_RUNS)
            events = ensemble_steps(cfg, configs, k, vary, data)
        self._events: Iterator[SweepPoint | Ensemble | Progress] | None = events

    def advance(self, seconds: float) -> None:
        """Train on for about `seconds` of wall time; returns at once if another page is."""
        if self.done or not self._lock.acquire(blocking=False):
            return
        try:
            deadline = time.perf_counter() + seconds
            while self._events is not None and time.perf_counter() < deadline:
                event = next(self._events, None)
                if event is None:
                    self._events, self.done = None, True
                elif isinstance(event, Progress):
                    self.progress = event
                elif isinstance(event, Ensemble):
                    self.ensembles = [*self.ensembles, event]
                else:
                    self.points = [*self.points, event]
        finally:
            self._lock.release()


def _check_seeds(k: object) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_SEEDS:
        raise SweepError("seed_count", count=k, most=MAX_SEEDS)


def _copy(g: torch.Generator) -> torch.Generator:
    copy = torch.Generator()
    copy.set_state(g.get_state())
    return copy


def _truth(cfg: FitConfig, d: Data) -> np.ndarray:
    """The dataset's clean function on the run's grid."""
    with torch.no_grad():
        return generate(cfg.dataset, d.grid())[:, 0].double().numpy()


def _band(points: Sequence[SweepPoint]) -> pd.DataFrame:
    curves = [p.curve["y_hat"].to_numpy(dtype=float) for p in points if not p.diverged]
    x = points[0].curve["x"].to_numpy()
    if not curves:
        nan = np.full(len(x), np.nan)
        return pd.DataFrame({"x": x, "mean": nan, "sd": nan, "lo": nan, "hi": nan})
    stack = np.stack(curves)
    mean, sd = stack.mean(axis=0), stack.std(axis=0)
    return pd.DataFrame({"x": x, "mean": mean, "sd": sd, "lo": mean - sd, "hi": mean + sd})


@dataclass
class _Run:
    """One run to train: its config, its points and its generator placed for the weights."""

    cfg: FitConfig
    d: Data
    g: torch.Generator


def _train_runs(runs: list[_Run], total: int) -> Iterator[Progress | tuple[int, SweepPoint]]:
    """Train every run; yield (its index, its SweepPoint) as each finishes, and Progress."""
    done = 0
    for indices in _stacks(runs):
        members = [runs[i] for i in indices]
        if len(members) == 1 or not _stackable(members[0].cfg):
            for i in indices:  # one after another, each by train.py's own loop
                *_, (last, _) = _train(runs[i].cfg, None, prepared=(runs[i].d, runs[i].g))
                done += runs[i].cfg.steps
                yield Progress(done, total)
                yield i, _point(last)
            continue
        stack = _Stack(members)
        for event in stack.train():
            if isinstance(event, int):
                yield Progress(done + event * len(members), total)
            else:
                yield indices[event[0]], event[1]
        done += members[0].cfg.steps * len(members)
        yield Progress(done, total)


def _stacks(runs: list[_Run]) -> list[list[int]]:
    """Runs grouped by what a stack can share: the model kind and the number of layers."""
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(runs):
        groups.setdefault(
            (r.cfg.model, len(r.cfg.hidden) if r.cfg.model == "mlp" else 0), []
        ).append(i)
    return list(groups.values())


def _stackable(cfg: FitConfig) -> bool:
    return not registry.get("optimizer", cfg.optimizer).closure


def _point(snap: Snapshot) -> SweepPoint:
    return SweepPoint(
        value=0,
        train_loss=snap.train_loss,
        test_loss=snap.test_loss,
        curve=snap.curve,
        diverged=snap.diverged,
        step=snap.step,
    )


class _Stack:
    """Runs of one model kind and depth trained as one: parameters (R, ...) padded and masked.

    A layer is w (R, in, out) = weight transposed, b (R, 1, out), applied as one baddbmm; the
    mask of each layer's outputs (R, 1, out) zeroes the padded units, and torch.where (not a
    product, which would spread a NaN) keeps them out of the forward and the gradient.
    Run r's nn.Module, built as train_iter builds it, is kept to load its parameters into for
    its last snapshot, so the snapshot is train.py's own.
    """

    def __init__(self, runs: list[_Run]):
        self.runs = runs
        cfg = runs[0].cfg
        self.cfg = cfg
        self.models = [build_model(r.cfg, r.g) for r in runs]  # each run's own weights, drawn
        linears = [[m for m in model if isinstance(m, nn.Linear)] for model in self.models]
        depth = len(linears[0])
        self.params: list[torch.Tensor] = []
        self.masks: list[torch.Tensor] = []  # per layer (R, in, out), True where the run has it
        for layer in range(depth):
            n_in = max(ls[layer].in_features for ls in linears)
            n_out = max(ls[layer].out_features for ls in linears)
            w = torch.zeros(len(runs), n_in, n_out)
            b = torch.zeros(len(runs), 1, n_out)
            mask = torch.zeros(len(runs), n_in, n_out, dtype=torch.bool)
            for r, ls in enumerate(linears):
                lin = ls[layer]
                w[r, : lin.in_features, : lin.out_features] = lin.weight.detach().T
                b[r, 0, : lin.out_features] = lin.bias.detach()
                mask[r, : lin.in_features, : lin.out_features] = True
            self.params += [w.requires_grad_(), b.requires_grad_()]
            self.masks.append(mask)
        self.activation = None
        if cfg.model == "mlp":
            self.activation = getattr(nn, registry.get("activation", cfg.activation).module)()
        self.degree = max(r.cfg.degree for r in runs) if cfg.model == "poly" else 0
        self.loss_fn = getattr(F, registry.get("loss", cfg.loss).functional)

    def inputs(self, xs: list[torch.Tensor]) -> torch.Tensor:
        """(R, n, in): each run's points (n, 1), as features of the first layer."""
        x = torch.stack(xs)
        if self.degree:
            return Legendre(self.degree)(x.reshape(-1, 1)).reshape(len(xs), -1, self.degree)
        return x

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(R, n, in) -> (R, n, 1) outputs of every run."""
        last = len(self.masks) - 1
        for layer, mask in enumerate(self.masks):
            w = torch.where(mask, self.params[2 * layer], 0.0)
            b = torch.where(mask[:, :1, :], self.params[2 * layer + 1], 0.0)
            h = torch.baddbmm(b, h, w)
            if layer < last:
                assert self.activation is not None
                h = self.activation(h)
        return h

    def train(self) -> Iterator[int | tuple[int, SweepPoint]]:
        """Train every run; yield (run, its SweepPoint) as it ends, and the step every
        PROGRESS_EVERY steps."""
        cfg, runs = self.cfg, self.runs
        opt = make_optimizer(cfg, self.params)
        schedule = make_scheduler(cfg, opt)
        x = self.inputs([r.d.x_train for r in runs])  # (R, n, in)
        y = torch.stack([r.d.y_train for r in runs])  # (R, n, 1)
        n = x.shape[1]
        batch = min(cfg.batch_size, n) if cfg.batch_size > 0 else 0
        alive = list(range(len(runs)))
        rows = torch.arange(len(runs))[:, None]
        for step in range(cfg.steps + 1):
            xb, yb = x, y
            if batch:  # each run draws from its own generator, as it would alone
                idx = torch.stack([torch.randint(n, (batch,), generator=r.g) for r in runs])
                xb, yb = x[rows, idx], y[rows, idx]
            losses = self.loss_fn(self.forward(xb), yb, reduction="none").mean(dim=(1, 2))
            values = losses.detach().tolist()
            ending = [r for r in alive if not math.isfinite(values[r])]
            if batch and (step % cfg.every == 0 or step == cfg.steps):
                with torch.no_grad():  # a snapshot's loss is all points', checked too
                    full = self.loss_fn(self.forward(x), y, reduction="none").mean(dim=(1, 2))
                ending += [r for r in alive if r not in ending and not math.isfinite(full[r])]
            if step == cfg.steps:
                ending = alive
            for r in ending:
                yield r, self._last(r, step, values[r], diverged=step < cfg.steps)
            alive = [r for r in alive if r not in ending]
            if not alive:
                return
            opt.zero_grad()
            losses[alive].sum().backward()
            opt.step()
            if schedule is not None:
                schedule.step()
            if step % PROGRESS_EVERY == 0 and step:
                yield step

    def _last(self, r: int, step: int, batch_loss: float, diverged: bool) -> SweepPoint:
        """Run r's last snapshot, by train.py's _snapshot on its own module."""
        run, model = self.runs[r], self.models[r]
        linears = [m for m in model if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for layer, lin in enumerate(linears):
                w, b = self.params[2 * layer], self.params[2 * layer + 1]
                lin.weight.copy_(w[r, : lin.in_features, : lin.out_features].T)
                lin.bias.copy_(b[r, 0, : lin.out_features])
            loss_fn = getattr(nn, registry.get("loss", run.cfg.loss).module)()
            full = loss_fn(model(run.d.x_train), run.d.y_train).item()
        snap = _snapshot(
            run.cfg,
            run.d,
            model,
            loss_fn,
            run.d.grid(),
            step,
            full if run.cfg.batch_size else batch_loss,
            diverged or not math.isfinite(batch_loss),
            False,
        )
        return _point(snap)
