"""Every choice a run can make, each named once: datasets, models, activations, optimizers, losses.

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
)
LOSSES = _table(
    Loss("mse", "MSELoss", "mse_loss"),
    Loss("l1", "L1Loss", "l1_loss"),
    Loss("huber", "HuberLoss", "huber_loss"),  # delta 1.0
)

# FitConfig field -> (module attribute of its table, catalog key prefix of its choices' labels)
FIELDS = {
    "dataset": ("DATASETS", "ds_"),
    "model": ("MODELS", "m_"),
    "activation": ("ACTIVATIONS", "act_"),
    "optimizer": ("OPTIMIZERS", "opt_"),
    "loss": ("LOSSES", "l_"),
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
