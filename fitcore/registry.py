"""Every choice a run can make, each named once: datasets, models, activations, optimizers,
losses and learning-rate schedules.

Config validation, training, the race, the exported script and the page's choice lists all read
these tables, so adding a choice is one entry here plus its catalog strings (CONTRIBUTING.md
gives the steps). Nothing here imports torch: entries name torch's classes as text, which the
exported script writes as it is and training looks up in torch.

The tables are read-only. Consumers look them up through `names` and `get` at call time, never
by copying them at import, so a test can swap in a table with one more entry and see it used
everywhere.
"""

from __future__ import annotations

import types
from dataclasses import dataclass


@dataclass(frozen=True)
class Dataset:
    """Generated points y = formula(x) + noise on x = linspace(-1, 1, n), or uploaded ones."""

    name: str
    # y as a Python expression of `x` (n, 1) and `noise` (noise * U[0, 1) from the run's
    # generator; zeros for the clean curve), in the operation order that gives the blog's floats
    # (its `2*x + 0.5*torch.rand(x.size()) + 5` adds the noise before the constant). data.py
    # evaluates it with `torch` and `math` in scope; the exported script writes it as `y = ...`.
    # None: the points come from an upload.
    formula: str | None


@dataclass(frozen=True)
class Model:
    name: str
    fields: tuple[str, ...]  # the FitConfig fields that shape it, beyond the shared ones


@dataclass(frozen=True)
class Activation:
    name: str
    module: str  # class in torch.nn, built with no arguments


@dataclass(frozen=True)
class Optimizer:
    name: str
    torch_class: str  # class in torch.optim, given lr and weight_decay (and momentum)
    momentum: bool = False  # takes cfg.momentum
    decay_default: float = 0.0  # torch's own weight_decay default (AdamW's is 0.01)
    decay: bool = True  # takes cfg.weight_decay (torch's LBFGS has none)
    # opt.step(closure): the update evaluates the loss itself, several times (a line search)
    closure: bool = False
    options: str = ""  # further keyword arguments, as Python text the exported script writes


@dataclass(frozen=True)
class Loss:
    name: str
    module: str  # class in torch.nn, built with no arguments
    functional: str  # the same loss in torch.nn.functional, per element with reduction="none"


def _table(*entries) -> types.MappingProxyType:
    return types.MappingProxyType({e.name: e for e in entries})


DATASETS = _table(
    Dataset("linear", "2 * x + noise + 5"),  # the blog's first example
    Dataset("quadratic", "x**2 + noise"),  # the blog's second example
    Dataset("sine", "torch.sin(math.pi * x) + noise"),
    Dataset("cubic", "x**3 - 0.5 * x + noise"),
    Dataset("abs", "x.abs() + noise"),
    Dataset("step", "(x > 0).float() + noise"),
    Dataset("bump", "torch.exp(-((x / 0.3) ** 2)) + noise"),
    Dataset("sawtooth", "2 * ((x + 1) * 1.5 % 1.0) - 1 + noise"),
    Dataset("csv", None),
)
MODELS = _table(
    Model("linear", ()),
    Model("poly", ("degree",)),
    Model("mlp", ("hidden", "activation")),
)
ACTIVATIONS = _table(
    Activation("relu", "ReLU"),
    Activation("tanh", "Tanh"),
    Activation("sigmoid", "Sigmoid"),
    Activation("leaky_relu", "LeakyReLU"),
    Activation("gelu", "GELU"),
    Activation("elu", "ELU"),
    Activation("silu", "SiLU"),
)
OPTIMIZERS = _table(
    Optimizer("sgd", "SGD", momentum=True),
    Optimizer("adam", "Adam"),
    Optimizer("adamw", "AdamW", decay_default=0.01),
    Optimizer("rmsprop", "RMSprop", momentum=True),
    Optimizer("adagrad", "Adagrad"),
    # A quasi-Newton method: each step is one L-BFGS iteration (max_iter=1) along a direction
    # built from the last gradients, with a line search (strong Wolfe) choosing how far to go,
    # so lr is only its first guess of the step. max_eval: torch's default, max_iter * 5 // 4,
    # is 1 here, and the line search then stalls at t = 0 after the first step (blog-linear
    # stuck at loss 23.4); with 25 the parabola fits in 20 steps, at lr 1 or 10.
    Optimizer(
        "lbfgs",
        "LBFGS",
        decay=False,
        closure=True,
        options='max_iter=1, max_eval=25, line_search_fn="strong_wolfe"',
    ),
)
LOSSES = _table(
    Loss("mse", "MSELoss", "mse_loss"),
    Loss("l1", "L1Loss", "l1_loss"),
    Loss("huber", "HuberLoss", "huber_loss"),  # delta 1.0
)


@dataclass(frozen=True)
class Schedule:
    """How the learning rate changes over the run: a torch.optim.lr_scheduler class, stepped
    after every update."""

    name: str
    torch_class: str | None  # class in torch.optim.lr_scheduler; None: lr stays as it is
    # its keyword arguments as Python text of `steps` (the run's updates), which training
    # evaluates and the exported script writes as it is
    options: str = ""


SCHEDULES = _table(
    Schedule("constant", None),
    # lr / 10 at half the run, lr / 100 from three quarters on
    Schedule("step", "MultiStepLR", "milestones=[steps // 2, steps * 3 // 4], gamma=0.1"),
    # from lr down to 0 along half a cosine
    Schedule("cosine", "CosineAnnealingLR", "T_max=steps"),
    # from lr / 100 up to lr over the first tenth of the run, then lr
    Schedule("warmup", "LinearLR", "start_factor=0.01, total_iters=max(1, steps // 10)"),
)

# FitConfig field -> (module attribute of its table, catalog key prefix of its choices' labels)
FIELDS = {
    "dataset": ("DATASETS", "ds_"),
    "model": ("MODELS", "m_"),
    "activation": ("ACTIVATIONS", "act_"),
    "optimizer": ("OPTIMIZERS", "opt_"),
    "loss": ("LOSSES", "l_"),
    "schedule": ("SCHEDULES", "sch_"),
}


def table(field: str) -> types.MappingProxyType:
    """The entries for a FitConfig field, by name, in the order the page offers them."""
    return globals()[FIELDS[field][0]]


def names(field: str) -> tuple[str, ...]:
    return tuple(table(field))


def get(field: str, name: object):
    """The entry `name` of `field`'s table; ValueError naming the choices when there is none,
    also when `name` is not a string (FitConfig hands over its fields' values unchecked)."""
    entries = table(field)
    if not isinstance(name, str) or name not in entries:
        raise ValueError(f"{field} must be one of {', '.join(entries)}; got {name!r}")
    return entries[name]


def label_key(field: str, name: str) -> str:
    """The catalog key of a choice's label: ds_linear, opt_adam, ..."""
    return FIELDS[field][1] + name
