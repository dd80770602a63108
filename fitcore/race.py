"""Race: several learning rates or optimizers trained side by side in one vectorised pass.

Every variant starts from the data and initial weights of `train_iter(cfg)`. Their parameters
are stacked along a leading variant dimension V and the model is run with batched matmuls, so
one forward and one backward serve all variants: the loss backpropagated is the sum of the
per-variant mean losses, and since no operation mixes variants, each gets exactly its own
gradient. The optimizers are the update rules of torch.optim's single-tensor (CPU) path
written for stacked tensors, with per-variant hyperparameters as broadcast (k, 1, 1) tensors.

An optimizer with no stacked update here (L-BFGS, whose line search is one per run) races on
its own: train.py's loop for that variant, pulled one step at a time in step with the others.
A schedule scales every variant's lr by the same factor, read off torch's own scheduler.

Hand-batched matmuls rather than torch.func.vmap: for a network this small the run is all
per-operation overhead, and vmap's batching layer adds to every operation (8 variants of the
blog's network: ~3x one run's time per step with vmap + functional_call, ~1.1x as written).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from fitcore import registry
from fitcore.config import FitConfig
from fitcore.data import make_data
from fitcore.models import build_model
from fitcore.train import _steps, make_scheduler

KINDS = ("lr", "optimizer")  # what the page's race compares: learning rates, or optimizers
VARIANT_FIELDS = ("lr", "optimizer", "momentum")  # FitConfig fields a variant may override
MAX_VARIANTS = 16  # 8 variants cost ~1.2x one run (bench/race.py); bounds a session's cost

# torch.optim defaults that FitConfig does not expose.
BETAS = (0.9, 0.999)  # Adam, AdamW
ADAM_EPS = 1e-8
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8
ADAGRAD_EPS = 1e-10


@dataclass(frozen=True)
class RaceSnapshot:
    """The state of every variant after `step` optimizer updates."""

    step: int  # optimizer updates done so far, the same for every live variant
    losses: list[float]  # per variant: cfg.loss over all training points; NaN once diverged
    curves: pd.DataFrame  # columns x, y_hat, variant (index into variants); y_hat NaN if diverged
    diverged: list[bool]  # per variant: its loss became NaN or inf at or before `step`


def race_iter(
    cfg: FitConfig, variants: Sequence[dict], data: pd.DataFrame | None = None
) -> Iterator[RaceSnapshot]:
    """Snapshots of all variants at step 0, every `cfg.every` updates, the last update, and
    any step at which a variant diverges.

    Each variant is a dict overriding some of VARIANT_FIELDS of `cfg`; variant i's losses are
    those of `train_iter(dataclasses.replace(cfg, **variants[i]))` up to float rounding. A
    diverged variant stops training; the others go on. Full batch only: a race compares
    optimizers on the same gradient, so `cfg.batch_size` must be 0.
    """
    configs = _variant_configs(cfg, variants)
    g = torch.Generator().manual_seed(cfg.seed)  # the draw order of train_iter
    d = make_data(cfg, data, g)
    start = g.get_state()  # where each variant's own loop starts drawing its weights
    stacked = [v for v, c in enumerate(configs) if c.optimizer in UPDATES]
    race = _Race(build_model(cfg, g), [configs[v] for v in stacked])
    solos = {v: _solo(configs[v], d, start) for v in range(len(configs)) if v not in stacked}
    factor = _lr_factor(cfg)
    loss_fn = getattr(F, registry.get("loss", cfg.loss).functional)  # per element
    x, y = race.features(d.x_train), d.y_train  # (n, k) shared inputs, (n, 1) targets
    grid = d.grid()
    grid_features = race.features(grid)
    diverged = [False] * len(configs)

    for step in range(cfg.steps + 1):
        losses = torch.zeros(0)
        newly = []
        bad = None
        if race.rows:
            # forward: (V, n, 1) predictions -> (V,) per-variant mean losses
            y_hat = race.forward(x)
            losses = loss_fn(y_hat, y.expand_as(y_hat), reduction="none").mean(dim=(1, 2))
            total = losses.sum()
            # backward: d(total)/d(variant v's parameters) = d(loss v)/d(its parameters)
            if step < cfg.steps:
                race.zero_grad()
                total.backward()
            bad = None if math.isfinite(total.item()) else ~torch.isfinite(losses)  # one sync
            if bad is not None:
                newly = [stacked[race.rows[r]] for r in bad.nonzero()[:, 0].tolist()]
        lives = {v: next(run) for v, run in solos.items()}  # their forward and backward
        newly += [v for v, live in lives.items() if not math.isfinite(live.loss.item())]
        for v in newly:
            diverged[v] = True
        if newly or step % cfg.every == 0 or step == cfg.steps:
            yield _snapshot(race, stacked, losses, lives, grid, grid_features, d, step, diverged)
        if bad is not None:
            race.drop(bad)
        for v in newly:
            solos.pop(v, None)
        if (not race.rows and not solos) or step == cfg.steps:
            return
        # update
        race.step(next(factor))


def _solo(cfg: FitConfig, d, start: torch.Tensor):
    """One variant trained by train.py's own loop, from the race's data and generator state."""
    g = torch.Generator()
    g.set_state(start)
    return _steps(cfg, d, g)


def _lr_factor(cfg: FitConfig) -> Iterator[float]:
    """lr(update t) / lr under cfg.schedule, for t = 0, 1, ...: torch's scheduler, run on a
    stand-in optimizer whose lr is 1."""
    stand_in = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    schedule = make_scheduler(cfg, stand_in)
    while True:
        yield stand_in.param_groups[0]["lr"]
        if schedule is not None:
            stand_in.step()  # no gradient: nothing moves; keeps the scheduler's order check
            schedule.step()


def _variant_configs(cfg: FitConfig, variants: Sequence[dict]) -> list[FitConfig]:
    """The full config of each variant; ValueError naming what cannot be raced."""
    if cfg.batch_size != 0:
        raise ValueError(
            f"a race trains on all points at once: set batch_size to 0 (got {cfg.batch_size})"
        )
    if not 1 <= len(variants) <= MAX_VARIANTS:
        raise ValueError(f"a race needs 1 to {MAX_VARIANTS} variants; got {len(variants)}")
    configs = []
    for variant in variants:
        unknown = sorted(set(variant) - set(VARIANT_FIELDS))
        if unknown:
            raise ValueError(
                f"a variant can only change {', '.join(VARIANT_FIELDS)}; got {', '.join(unknown)}"
            )
        configs.append(dataclasses.replace(cfg, **variant))  # FitConfig checks the values
    return configs


def raceable() -> tuple[str, ...]:
    """The registry's optimizers, in its order: those with no stacked update race on their own."""
    return registry.names("optimizer")


def race_table(
    cfg: FitConfig, variants: Sequence[dict], data: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A whole race: losses (step, loss, variant) at every snapshot, and the final curves
    (x, y_hat, variant), as the page's race view draws them."""
    rows, last = [], None
    for snap in race_iter(cfg, variants, data):
        rows += [(snap.step, loss, i) for i, loss in enumerate(snap.losses)]
        last = snap
    assert last is not None  # race_iter always yields step 0
    return pd.DataFrame(rows, columns=["step", "loss", "variant"]), last.curves


def _snapshot(race, stacked, losses, lives, grid, grid_features, d, step, diverged):
    """Losses and curves in variant order; rows of diverged variants hold NaN."""
    n_variants, n_grid = len(diverged), len(grid)
    per_variant = np.full(n_variants, np.nan)
    y_hat = np.full((n_variants, n_grid), np.nan, dtype=np.float32)
    with torch.no_grad():
        if race.rows:
            curves = race.forward(grid_features)[:, :, 0] * d.y_scale + d.y_shift  # (V, n_grid)
            live = [r for r, v in enumerate(race.rows) if not diverged[stacked[v]]]
            rows = [stacked[race.rows[r]] for r in live]
            per_variant[rows] = losses.detach()[live].double().numpy()
            y_hat[rows] = curves[live].numpy()
        for v, solo in lives.items():
            if not diverged[v]:
                per_variant[v] = solo.loss.item()
                y_hat[v] = (solo.model(grid)[:, 0] * d.y_scale + d.y_shift).numpy()
    x = (grid[:, 0] * d.x_scale + d.x_shift).numpy()
    frame = pd.DataFrame(
        {
            "x": np.tile(x, n_variants),
            "y_hat": y_hat.reshape(-1),
            "variant": np.repeat(np.arange(n_variants), n_grid),
        }
    )
    return RaceSnapshot(
        step=step, losses=per_variant.tolist(), curves=frame, diverged=list(diverged)
    )


class _Race:
    """The live variants' stacked parameters, their gradients and optimizer state.

    Rows are variants sorted by optimizer kind, so each kind's rows form one slice of every
    stacked tensor and updates happen in place on views. `rows[r]` is row r's variant index.
    Linear layers are stored as w (V, in, out) = weight transposed and b (V, 1, out), so a
    layer is one baddbmm: h (V, n, in) @ w + b.
    """

    def __init__(self, model: nn.Sequential, configs: list[FitConfig]):
        layers = list(model)
        first = next(i for i, m in enumerate(layers) if isinstance(m, nn.Linear))
        self.prefix = nn.Sequential(*layers[:first])  # parameter-free features, e.g. Legendre
        self.layers: list[nn.Module | int] = []  # an activation module, or the index of (w, b)
        linears: list[nn.Linear] = []
        for m in layers[first:]:
            if isinstance(m, nn.Linear):
                self.layers.append(len(linears))
                linears.append(m)
            elif type(m).__name__ in {a.module for a in registry.ACTIVATIONS.values()}:
                self.layers.append(m)  # elementwise, so it applies to (V, n, k) unchanged
            else:
                raise ValueError(f"cannot race a model with a {type(m).__name__} layer")

        kinds = registry.names("optimizer")
        order = sorted(range(len(configs)), key=lambda v: kinds.index(configs[v].optimizer))
        self.rows = order
        n = len(order)
        self.params: list[torch.Tensor] = []  # w0, b0, w1, b1, ...: each (V, ...) leaf
        for m in linears:
            w = m.weight.detach().T.unsqueeze(0)  # (1, in, out)
            b = m.bias.detach().view(1, 1, -1)  # (1, 1, out)
            self.params += [p.expand(n, -1, -1).clone().requires_grad_() for p in (w, b)]
        # shared: variants cannot change it (and a race of L-BFGS alone stacks none)
        self.weight_decay = configs[0].weight_decay if configs else 0.0
        self.t = 0  # updates done; every live variant is updated every step
        self.groups: list[_Group] = []
        start = 0
        for kind in kinds:
            members = [configs[v] for v in order if configs[v].optimizer == kind]
            if members:
                self.groups.append(_Group.new(kind, start, members, self.params))
                start += len(members)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 1) inputs -> (n, k) inputs of the first Linear, shared by all variants."""
        with torch.no_grad():
            return self.prefix(x)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(n, k) shared features -> (V, n, out) outputs of every live variant."""
        h = h.expand(len(self.rows), -1, -1)
        for layer in self.layers:
            if isinstance(layer, int):
                w, b = self.params[2 * layer], self.params[2 * layer + 1]
                h = torch.baddbmm(b, h, w)
            else:
                h = layer(h)
        return h

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self, factor: float = 1.0) -> None:
        """One optimizer update of every live variant, with each lr times `factor`."""
        self.t += 1
        with torch.no_grad():
            for group in self.groups:
                group.step(self.params, self.t, self.weight_decay, factor)

    def drop(self, bad: torch.Tensor) -> None:
        """Remove the rows where `bad` (V,) is True: those variants train no further."""
        keep = ~bad
        self.rows = [v for v, k in zip(self.rows, keep.tolist(), strict=True) if k]
        params = []
        for p in self.params:
            kept = p.detach()[keep].requires_grad_()
            kept.grad = None if p.grad is None else p.grad[keep]
            params.append(kept)
        self.params = params
        groups: list[_Group] = []
        start = 0
        for group in self.groups:
            survivor = group.keep(keep[group.start : group.stop], start)
            if survivor is not None:
                groups.append(survivor)
                start = survivor.stop
        self.groups = groups


@dataclass
class _Group:
    """Variants sharing an optimizer kind: rows start:stop, hyperparameters (k, 1, 1)."""

    kind: str
    start: int
    stop: int
    neg_lr: torch.Tensor  # (k, 1, 1): -lr of each variant
    momentum: torch.Tensor | None  # (k, 1, 1); None when no variant of the group uses it
    state: dict[str, list[torch.Tensor]]  # name -> one (k, ...) tensor per parameter

    @classmethod
    def new(cls, kind: str, start: int, members: list[FitConfig], params) -> _Group:
        k = len(members)
        neg_lr = -torch.tensor([c.lr for c in members]).view(k, 1, 1)
        momentum = torch.tensor([c.momentum for c in members]).view(k, 1, 1)
        uses_momentum = registry.get("optimizer", kind).momentum and bool((momentum > 0).any())
        names = {
            "sgd": ["momentum_buffer"] if uses_momentum else [],
            "adam": ["exp_avg", "exp_avg_sq"],
            "adamw": ["exp_avg", "exp_avg_sq"],
            "rmsprop": ["square_avg"] + (["momentum_buffer"] if uses_momentum else []),
            "adagrad": ["sum"],
        }[kind]
        # Zeros are torch's initial state; a zero momentum buffer gives buf = grad on step 1,
        # as torch's buf = grad.clone(), and a variant with momentum 0 then matches plain SGD.
        state = {name: [torch.zeros_like(p[start : start + k]) for p in params] for name in names}
        return cls(kind, start, start + k, neg_lr, momentum if uses_momentum else None, state)

    def keep(self, keep: torch.Tensor, start: int) -> _Group | None:
        """This group without the rows where `keep` (k,) is False, placed at row `start`."""
        k = int(keep.sum())
        if k == 0:
            return None
        momentum = None if self.momentum is None else self.momentum[keep]
        state = {name: [s[keep] for s in tensors] for name, tensors in self.state.items()}
        return _Group(self.kind, start, start + k, self.neg_lr[keep], momentum, state)

    def step(self, params: list[torch.Tensor], t: int, weight_decay: float, factor: float):
        h = self if factor == 1.0 else dataclasses.replace(self, neg_lr=self.neg_lr * factor)
        for i, param in enumerate(params):
            assert param.grad is not None  # step() follows a backward() through every param
            p, grad = param[self.start : self.stop], param.grad[self.start : self.stop]
            state = {name: tensors[i] for name, tensors in self.state.items()}
            UPDATES[self.kind](p, grad, state, h, t, weight_decay)


# Update rules of torch.optim's single-tensor path (torch 2.x), one stacked parameter at a
# time: p (k, ...), grad (k, ...), state tensors (k, ...), hyperparameters (k, 1, 1).
# `p.addcmul_(u, neg_lr)` is torch's `p.add_(u, alpha=-lr)` with a per-variant lr.


def _sgd(p, grad, state, h: _Group, t: int, wd: float) -> None:
    if wd != 0:
        grad = grad.add(p, alpha=wd)
    if h.momentum is not None:
        buf = state["momentum_buffer"]
        buf.mul_(h.momentum).add_(grad)  # buf = momentum * buf + grad (no dampening)
        grad = buf
    p.addcmul_(grad, h.neg_lr)


def _adam(p, grad, state, h: _Group, t: int, wd: float, decoupled: bool = False) -> None:
    beta1, beta2 = BETAS
    if wd != 0:
        if decoupled:
            p.mul_(1 + h.neg_lr * wd)  # AdamW: decay the weights, not the gradient
        else:
            grad = grad.add(p, alpha=wd)
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    bias_correction1 = 1 - beta1**t
    bias_correction2_sqrt = (1 - beta2**t) ** 0.5
    denom = (v.sqrt() / bias_correction2_sqrt).add_(ADAM_EPS)
    p.addcmul_(m / denom, h.neg_lr / bias_correction1)


def _adamw(p, grad, state, h: _Group, t: int, wd: float) -> None:
    _adam(p, grad, state, h, t, wd, decoupled=True)


def _rmsprop(p, grad, state, h: _Group, t: int, wd: float) -> None:
    if wd != 0:
        grad = grad.add(p, alpha=wd)
    square_avg = state["square_avg"]
    square_avg.mul_(RMSPROP_ALPHA).addcmul_(grad, grad, value=1 - RMSPROP_ALPHA)
    avg = square_avg.sqrt().add_(RMSPROP_EPS)
    if h.momentum is not None:
        buf = state["momentum_buffer"]
        buf.mul_(h.momentum).addcdiv_(grad, avg)
        p.addcmul_(buf, h.neg_lr)
    else:
        p.addcmul_(grad / avg, h.neg_lr)


def _adagrad(p, grad, state, h: _Group, t: int, wd: float) -> None:
    if wd != 0:
        grad = grad.add(p, alpha=wd)
    total = state["sum"]
    total.addcmul_(grad, grad, value=1)
    std = total.sqrt().add_(ADAGRAD_EPS)
    p.addcmul_(grad / std, h.neg_lr)  # lr_decay 0: the step size stays lr


UPDATES: dict[str, Callable[..., None]] = {
    "sgd": _sgd,
    "adam": _adam,
    "adamw": _adamw,
    "rmsprop": _rmsprop,
    "adagrad": _adagrad,
}
