"""export_script: one run as a standalone plain-PyTorch script that reads like the blog's."""

from __future__ import annotations

import dataclasses
import itertools
import math
import textwrap

import numpy as np
import pandas as pd
import torch

from fitcore import models
from fitcore.config import MOMENTUM_OPTIMIZERS, FitConfig
from fitcore.data import DESCRIPTIONS, make_data

# Each dataset's formula in the operation order of data.py, so the floats match bit for bit;
# `noise` is the tensor noise * U[0, 1) drawn from g just before.
FORMULAS = {
    "linear": "2 * x + noise + 5",
    "quadratic": "x**2 + noise",
    "sine": "torch.sin(math.pi * x) + noise",
    "cubic": "x**3 - 0.5 * x + noise",
    "abs": "x.abs() + noise",
    "step": "(x > 0).float() + noise",
    "bump": "torch.exp(-((x / 0.3) ** 2)) + noise",
    "sawtooth": "2 * ((x + 1) * 1.5 % 1.0) - 1 + noise",
}

# The module build_model uses for each activation, as the script spells it.
ACTIVATIONS = {name: f"nn.{module.__name__}" for name, module in models.ACTIVATIONS.items()}

OPTIMIZERS = {
    "sgd": ("SGD", "gradient descent: each parameter moves by -lr * its gradient"),
    "adam": ("Adam", "Adam: a step size per parameter, from running averages of its gradient"),
    "adamw": ("AdamW", "AdamW: Adam, with weight decay applied to the weights directly"),
    "rmsprop": ("RMSprop", "RMSprop: each gradient divided by a running average of its size"),
    "adagrad": ("Adagrad", "Adagrad: steps shrink for parameters that have seen big gradients"),
}

LOSSES = {
    "mse": ("MSELoss", "mean squared error, the blog's loss"),
    "l1": ("L1Loss", "mean absolute error: outliers pull less than with squared error"),
    "huber": ("HuberLoss", "Huber: squared for errors below 1, absolute above"),
}


def export_script(cfg: FitConfig, points: pd.DataFrame | None = None) -> str:
    """A runnable plain-PyTorch script of `train_iter(cfg, points)` that prints the same losses."""
    if points is None and cfg.dataset not in FORMULAS:
        raise ValueError(
            f"dataset {cfg.dataset!r} needs uploaded points: pass them (columns x, y) "
            "to export the script"
        )
    # The split sizes and the scaling of uploaded points, computed once by the core itself.
    d = make_data(cfg, points)
    n_train, n_test = len(d.x_train), len(d.x_test)
    batch = min(cfg.batch_size, n_train) if cfg.batch_size > 0 else 0
    blocks = [
        _header(cfg, points, n_test),
        _imports(),
        _arguments(),
        _settings(cfg),
        _points(cfg, points) if points is not None else _generated(cfg),
        _split(n_train, n_test) if n_test else None,
        _model(cfg),
        _optimizer(cfg),
        _weights(n_test),
        _loop(cfg, batch, n_train, n_test),
    ]
    return "\n\n".join(b for b in blocks if b) + "\n"


def _header(cfg: FitConfig, points: pd.DataFrame | None, n_test: int) -> str:
    shown = _fields_in_use(cfg, uploaded=points is not None)
    settings = ", ".join(f"{name}={_show(getattr(cfg, name))}" for name in shown)
    if points is not None:
        settings = f"your {len(points)} points, {settings}"
    settings = textwrap.fill(f"Settings: {settings}.", 96, break_on_hyphens=False)
    test = " test_loss <value>" if n_test else ""
    return "\n".join(
        [
            "# A FitLab run as a plain PyTorch script, in the style of the tutorial FitLab grew",
            "# from (梯度下降 和 关系拟合: gradient descent and curve fitting).",
            "#",
            *(f"# {row}" for row in settings.split("\n")),
            "#",
            "# Run it with `python <this file>` (it needs only PyTorch). It prints",
            f"#     step <n> loss <value>{test}",
            f"# at step 0, every {cfg.every} updates and after the last update: the numbers FitLab",
            "# shows for this run, to the last digit. With `--weights fitlab_step<n>.pt`, a file",
            "# downloaded from FitLab, it prints that step's losses instead of training:",
            f"#     loss <value>{test}",
        ]
    )


def _fields_in_use(cfg: FitConfig, uploaded: bool) -> list[str]:
    """The config fields that shape this run, in FitConfig order; the others would only confuse."""
    unused = {"dataset", "n_points", "noise"} if uploaded else set()
    if not cfg.test_fraction:
        unused.add("test_fraction")
    if cfg.model != "poly":
        unused.add("degree")
    if cfg.model != "mlp":
        unused |= {"hidden", "activation"}
    if cfg.optimizer not in MOMENTUM_OPTIMIZERS or not cfg.momentum:
        unused.add("momentum")
    if not cfg.weight_decay:
        unused.add("weight_decay")
    if not cfg.batch_size:
        unused.add("batch_size")
    return [f.name for f in dataclasses.fields(cfg) if f.name not in unused]


def _imports() -> str:
    return "\n".join(["import argparse", "import math", "", "import torch", "from torch import nn"])


def _arguments() -> str:
    return "\n".join(
        [
            "parser = argparse.ArgumentParser()",
            "parser.add_argument(",
            '    "--weights",',
            '    metavar="PATH",',
            '    help="a weights file downloaded from FitLab (fitlab_step<n>.pt): print its loss "',
            '    "on these points instead of training",',
            ")",
            "args = parser.parse_args()",
        ]
    )


def _show(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _settings(cfg: FitConfig) -> str:
    return "\n".join(
        [
            f"seed = {cfg.seed}  # the same seed gives the same run, bit for bit",
            f"steps = {cfg.steps}  # optimizer updates",
            f"every = {cfg.every}  # print the loss every this many updates",
            "",
            "# One thread, as FitLab trains: from a few hundred points on, torch splits sums",
            "# between threads, and the last digits of the losses would depend on their number.",
            "torch.set_num_threads(1)",
            "",
            "# Every random number (data noise, test split, initial weights, minibatches) comes",
            "# from this generator, in that order, never from torch's global generator.",
            "g = torch.Generator().manual_seed(seed)",
        ]
    )


def _generated(cfg: FitConfig) -> str:
    n = cfg.n_points
    return "\n".join(
        [
            f"# Data: {DESCRIPTIONS[cfg.dataset]}",
            f"x = torch.linspace(-1, 1, {n}).unsqueeze(1)  # shape ({n}, 1): one row per point",
            f"noise = {cfg.noise!r} * torch.rand(x.shape, generator=g)  # uniform in "
            f"[0, {cfg.noise!r})",
            f"y = {FORMULAS[cfg.dataset]}",
        ]
    )


def _points(cfg: FitConfig, points: pd.DataFrame) -> str:
    """The points as make_data hands them to training, in float32 literals that load bit for bit.

    Scaling in the script instead would ask of it the float64 steps of data._scaled in the same
    order; the page's own float32 values need nothing but a literal that reads back exactly.
    """
    raw = points[["x", "y"]].to_numpy(dtype="float64")
    g = torch.Generator().manual_seed(cfg.seed)
    d = make_data(dataclasses.replace(cfg, test_fraction=0.0), points, g)  # all points, in order
    x, y = d.x_train[:, 0].tolist(), d.y_train[:, 0].tolist()
    if not all(math.isfinite(v) for v in [*raw.ravel(), *x, *y]):
        raise ValueError("uploaded points must all be finite numbers to export the script")
    n = len(x)
    lines = []
    if not torch.equal(g.get_state(), torch.Generator().manual_seed(cfg.seed).get_state()):
        lines += [
            "# FitLab still draws the noise of the generated points it replaced, so the initial",
            "# weights and minibatches are those of the unedited run.",
            f"torch.rand(({cfg.n_points}, 1), generator=g)",
        ]
    scaled = (d.x_shift, d.x_scale, d.y_shift, d.y_scale) != (0.0, 1.0, 0.0, 1.0)
    if scaled:
        lines += [
            f"# Data: your {n} points, sorted by x and scaled as FitLab trains on them:",
            "# x in [-1, 1], y with mean 0 and spread 1, in float32 like the model, so the usual",
            "# learning rates work in any units.",
        ]
    else:
        lines.append(f"# Data: your {n} points, sorted by x, in float32 like the model.")
    lines += [
        f"x = torch.tensor({_float32_list(x)}, dtype=torch.float32).unsqueeze(1)  # ({n}, 1)",
        f"y = torch.tensor({_float32_list(y)}, dtype=torch.float32).unsqueeze(1)",
    ]
    if scaled:
        lines += [
            "# Back to your units: x_yours = x * x_scale + x_shift, and the same for y.",
            f"x_shift, x_scale = {d.x_shift!r}, {d.x_scale!r}  # middle and half-width of x",
            f"y_shift, y_scale = {d.y_shift!r}, {d.y_scale!r}  # mean and spread of y",
        ]
    return "\n".join(lines)


def _float32_list(values: list[float]) -> str:
    """float32 values as a list literal that torch.tensor turns back into the same float32s."""
    body = textwrap.fill(
        ", ".join(map(_float32_literal, values)),
        96,
        initial_indent="    ",
        subsequent_indent="    ",
        break_on_hyphens=False,
        break_long_words=False,
    )
    return f"[\n{body},\n]"


def _float32_literal(v: float) -> str:
    """The shortest decimal that rounds to float32 v; v's exact float64 digits if that one
    rounds away from v through float64 (a decimal right next to the midpoint of two float32s)."""
    short = str(np.float32(v))
    return short if float(np.float32(float(short))) == v else repr(v)


def _split(n_train: int, n_test: int) -> str:
    n = n_train + n_test
    return "\n".join(
        [
            f"# Hold out {n_test} of the {n} points for a test loss; train on the other {n_train}.",
            f"order = torch.randperm({n}, generator=g)  # the points in a random order",
            f"test, train = order[:{n_test}].sort().values, order[{n_test}:].sort().values",
            "x_test, y_test = x[test], y[test]",
            "x, y = x[train], y[train]",
        ]
    )


def _model(cfg: FitConfig) -> str:
    init = '''\
def linear_layer(n_in, n_out):
    """nn.Linear(n_in, n_out) initialised as PyTorch does, but drawing from g."""
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out)  # allocated, not yet initialised
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=g)
    bound = 1 / math.sqrt(n_in)
    nn.init.uniform_(layer.bias, -bound, bound, generator=g)
    return layer'''
    defs = [init, _legendre(cfg.degree)] if cfg.model == "poly" else [init]
    layers = [f"    {layer},  # {about}" for layer, about in _layers(cfg)]
    net = [
        "# The model: FitLab's layers in FitLab's order, so print(net) shows what the page shows",
        "# and a weights file downloaded from it loads (its keys 0.weight, 0.bias, ... name them).",
        "net = nn.Sequential(",
        *layers,
        ")",
        "print(net)",
    ]
    # Leading newline: two blank lines before the first def, as PEP 8 asks.
    return "\n" + "\n\n\n".join(defs) + "\n\n\n" + "\n".join(net)


def _legendre(d: int) -> str:
    return '''\
class Legendre(nn.Module):
    """x (n, 1) -> features P_1(x) .. P_d(x) (n, d): Legendre polynomials.

    Unlike x, x², x³, ... they are nearly uncorrelated on [-1, 1], so gradient descent is
    not slowed down by features that almost repeat each other.
    """

    def __init__(self, degree):
        super().__init__()
        self.degree = degree

    def forward(self, x):
        p = [torch.ones_like(x), x]
        for k in range(1, self.degree):
            # Bonnet's recursion: (k+1) P_(k+1) = (2k+1) x P_k - k P_(k-1)
            p.append(((2 * k + 1) * x * p[k] - k * p[k - 1]) / (k + 1))
        return torch.cat(p[1 : self.degree + 1], dim=1)

    def extra_repr(self):
        return f"degree={self.degree}"'''


def _layers(cfg: FitConfig) -> list[tuple[str, str]]:
    """build_model's layers, in its order, as (code, comment)."""
    if cfg.model == "linear":
        return [("linear_layer(1, 1)", "y_hat = w * x + b: one weight w and one bias b")]
    if cfg.model == "poly":
        d = cfg.degree
        return [
            (f"Legendre({d})", f"x -> P_1(x) .. P_{d}(x)"),
            (f"linear_layer({d}, 1)", f"y_hat = b + w_1 P_1(x) + ... + w_{d} P_{d}(x)"),
        ]
    widths = (1, *cfg.hidden)
    layers = []
    for a, b in itertools.pairwise(widths):
        layers += [
            (f"linear_layer({a}, {b})", f"hidden layer: {a} -> {b} units"),
            (f"{ACTIVATIONS[cfg.activation]}()", "activation"),
        ]
    return [*layers, (f"linear_layer({widths[-1]}, 1)", "-> one output, the prediction y_hat")]


def _optimizer(cfg: FitConfig) -> str:
    name, about = OPTIMIZERS[cfg.optimizer]
    args = [f"lr={cfg.lr!r}"]
    if cfg.optimizer in MOMENTUM_OPTIMIZERS and cfg.momentum:
        args.append(f"momentum={cfg.momentum!r}")
    lines = [f"# {about}"]
    if cfg.weight_decay or cfg.optimizer == "adamw":
        args.append(f"weight_decay={cfg.weight_decay!r}")
        lines.append("# weight_decay pulls every parameter toward 0 a little at each update")
        if cfg.optimizer == "adamw" and not cfg.weight_decay:
            lines[-1] = "# weight_decay spelled out: AdamW's default is 0.01"
    loss_name, loss_about = LOSSES[cfg.loss]
    return "\n".join(
        [
            *lines,
            f"optimizer = torch.optim.{name}(net.parameters(), {', '.join(args)})",
            f"loss_func = nn.{loss_name}()  # {loss_about}",
        ]
    )


def _weights(n_test: int) -> str:
    """With --weights: the loaded model's loss on the points, measured instead of training."""
    measure = ["        train_loss = loss_func(net(x), y).item()"]
    show = "loss {train_loss!r}"
    if n_test:
        measure.append("        test_loss = loss_func(net(x_test), y_test).item()")
        show += " test_loss {test_loss!r}"
    return "\n".join(
        [
            "if args.weights:",
            "    # The file holds the weights only, not the optimizer's running averages nor the",
            "    # state of g: training on from it would not follow FitLab's run, so the script",
            "    # measures it: the same losses FitLab shows for the step the file was saved at.",
            "    # weights_only: loading a downloaded file runs no code from it.",
            "    net.load_state_dict(torch.load(args.weights, weights_only=True))",
            "    with torch.no_grad():  # only measuring: no gradients needed",
            *measure,
            f'    print(f"{show}")',
            "    raise SystemExit  # nothing to train",
        ]
    )


def _loop(cfg: FitConfig, batch: int, n_train: int, n_test: int) -> str:
    """The training loop: train_iter's order of draws, forward, backward and update."""
    lines = ["for step in range(steps + 1):"]
    if batch:
        lines += [
            f"    # a minibatch: {batch} of the {n_train} training points, drawn with replacement",
            f"    idx = torch.randint(len(x), ({batch},), generator=g)",
            "",
            "    # forward: predict y for the minibatch and measure the error",
            "    prediction = net(x[idx])",
            "    loss = loss_func(prediction, y[idx])",
        ]
    else:
        lines += [
            "    # forward: predict y for every training point and measure the error",
            "    prediction = net(x)",
            "    loss = loss_func(prediction, y)",
        ]
    lines += [
        "    diverged = not math.isfinite(loss.item())",
        "",
        "    if step % every == 0 or step == steps or diverged:",
    ]
    pad = "        "
    if batch or n_test:
        lines.append(f"{pad}with torch.no_grad():  # only measuring: no gradients needed")
        pad += "    "
    if batch:
        lines.append(f"{pad}train_loss = loss_func(net(x), y).item()  # all points, not the batch")
    else:
        lines.append(f"{pad}train_loss = loss.item()")
    if n_test:
        lines += [
            f"{pad}test_loss = loss_func(net(x_test), y_test).item()  # the held-out points",
            '        print(f"step {step} loss {train_loss!r} test_loss {test_loss!r}")',
        ]
    else:
        lines.append('        print(f"step {step} loss {train_loss!r}")  # !r: every digit')
    if batch:
        lines += ["        diverged = diverged or not math.isfinite(train_loss)"]
    lines += [
        "    if diverged:",
        '        print(f"diverged at step {step}: the loss is no longer a finite number; "',
        '              "the learning rate is too high, try a smaller lr")',
        "        break",
        "    if step == steps:",
        "        break  # the last step only reports the loss after the final update",
        "",
        "    # backward: clear the old gradients, then compute new ones",
        "    optimizer.zero_grad()",
        "    loss.backward()",
        "",
        "    # update: move the parameters against their gradients",
        "    optimizer.step()",
    ]
    return "\n".join(lines)
