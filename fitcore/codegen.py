"""export_script: one run as a standalone plain-PyTorch script that reads like the blog's."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

from fitcore import registry
from fitcore.config import FitConfig
from fitcore.data import is_generated, make_data
from fitcore.i18n import LANGS, catalog, script_catalog


def export_script(cfg: FitConfig, points: pd.DataFrame | None = None, *, lang: str = "en") -> str:
    """A runnable plain-PyTorch script of `train_iter(cfg, points)` that prints the same losses.

    `lang` ("en" or "zh"): the language of its comments and messages, the page's language.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(map(repr, LANGS))}, not {lang!r}")
    if points is None and not is_generated(cfg.dataset):
        raise ValueError(
            f"dataset {cfg.dataset!r} needs uploaded points: pass them (columns x, y) "
            "to export the script"
        )
    t = script_catalog(lang)
    # The split sizes, computed once by the core itself.
    d = make_data(cfg, points)
    n_train, n_test = len(d.x_train), len(d.x_test)
    batch = min(cfg.batch_size, n_train) if cfg.batch_size > 0 else 0
    blocks = [
        _header(t, cfg, points, n_test),
        _imports(),
        _arguments(t),
        _settings(t, cfg),
        _points(t, cfg, points) if points is not None else _generated(t, cfg, lang),
        _split(t, n_train, n_test) if n_test else None,
        _model(t, cfg),
        _optimizer(t, cfg),
        _weights(t, n_test),
        _loop(t, cfg, batch, n_train, n_test),
    ]
    return "\n\n".join(b for b in blocks if b) + "\n"


def _comment(text: str, indent: str = "") -> list[str]:
    """`text` as comment lines: its own lines, each wrapped to fit 96 columns if need be."""
    width = 94 - len(indent)
    rows = [wrapped for row in text.split("\n") for wrapped in _wrap(row, width) or [""]]
    return [f"{indent}# {row}".rstrip() for row in rows]


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def _literals(text: str, width: int = 80) -> list[str]:
    """`text` as adjacent string literals of about `width` characters, which Python joins back;
    f-strings where a {placeholder} is left for the script to fill."""
    chunks = textwrap.wrap(
        text, width, drop_whitespace=False, break_long_words=False, break_on_hyphens=False
    )
    return [("f" if "{" in c else "") + json.dumps(c, ensure_ascii=False) for c in chunks]


def _header(t: Mapping[str, str], cfg: FitConfig, points: pd.DataFrame | None, n_test: int) -> str:
    shown = _fields_in_use(cfg, uploaded=points is not None)
    settings = ", ".join(f"{name}={_show(getattr(cfg, name))}" for name in shown)
    if points is not None:
        settings = f"{t['your_points'].format(n=len(points))}, {settings}"
    value = t["value"]
    test = f" test_loss <{value}>" if n_test else ""
    return "\n".join(
        [
            *_comment(t["title"]),
            "#",
            *_comment(t["settings"].format(settings=settings)),
            "#",
            *_comment(t["run"]),
            f"#     step <n> loss <{value}>{test}",
            *_comment(t["run_after"].format(every=cfg.every)),
            f"#     loss <{value}>{test}",
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
    if not registry.get("optimizer", cfg.optimizer).momentum or not cfg.momentum:
        unused.add("momentum")
    if not cfg.weight_decay or not registry.get("optimizer", cfg.optimizer).decay:
        unused.add("weight_decay")
    if cfg.schedule == "constant":
        unused.add("schedule")
    if not cfg.batch_size:
        unused.add("batch_size")
    return [f.name for f in dataclasses.fields(cfg) if f.name not in unused]


def _imports() -> str:
    return "\n".join(["import argparse", "import math", "", "import torch", "from torch import nn"])


def _arguments(t: Mapping[str, str]) -> str:
    help_ = _literals(t["weights_help"])
    help_[-1] += ","
    return "\n".join(
        [
            "parser = argparse.ArgumentParser()",
            "parser.add_argument(",
            '    "--weights",',
            f"    metavar={json.dumps(t['weights_metavar'], ensure_ascii=False)},",
            f"    help={help_[0]}",
            *(f"    {literal}" for literal in help_[1:]),
            ")",
            "args = parser.parse_args()",
        ]
    )


def _show(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _settings(t: Mapping[str, str], cfg: FitConfig) -> str:
    return "\n".join(
        [
            f"seed = {cfg.seed}  # {t['seed']}",
            f"steps = {cfg.steps}  # {t['steps']}",
            f"every = {cfg.every}  # {t['every']}",
            "",
            *_comment(t["threads"]),
            "torch.set_num_threads(1)",
            "",
            *_comment(t["generator"]),
            "g = torch.Generator().manual_seed(seed)",
        ]
    )


def _generated(t: Mapping[str, str], cfg: FitConfig, lang: str) -> str:
    n = cfg.n_points
    page = catalog(lang)  # the page's own name and description of the dataset
    label, about = page[f"ds_{cfg.dataset}"], page[f"dsd_{cfg.dataset}"]
    return "\n".join(
        [
            *_comment(t["data_generated"].format(label=label, about=about)),
            f"x = torch.linspace(-1, 1, {n}).unsqueeze(1)  # {t['one_row'].format(n=n)}",
            f"noise = {cfg.noise!r} * torch.rand(x.shape, generator=g)  "
            f"# {t['uniform'].format(noise=repr(cfg.noise))}",
            f"y = {registry.get('dataset', cfg.dataset).formula}",
        ]
    )


def _points(t: Mapping[str, str], cfg: FitConfig, points: pd.DataFrame) -> str:
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
        # make_data drew from g: the noise of the generated points that edited ones replace
        lines += [*_comment(t["noise_replaced"]), f"torch.rand(({cfg.n_points}, 1), generator=g)"]
    scaled = (d.x_shift, d.x_scale, d.y_shift, d.y_scale) != (0.0, 1.0, 0.0, 1.0)
    lines += _comment(t["data_scaled" if scaled else "data_as_is"].format(n=n))
    lines += [
        f"x = torch.tensor({_float32_list(x)}, dtype=torch.float32).unsqueeze(1)"
        f"  # {t['shape'].format(n=n)}",
        f"y = torch.tensor({_float32_list(y)}, dtype=torch.float32).unsqueeze(1)",
    ]
    if scaled:
        lines += [
            *_comment(t["back"]),
            f"x_shift, x_scale = {d.x_shift!r}, {d.x_scale!r}  # {t['x_scale']}",
            f"y_shift, y_scale = {d.y_shift!r}, {d.y_scale!r}  # {t['y_scale']}",
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


def _split(t: Mapping[str, str], n_train: int, n_test: int) -> str:
    n = n_train + n_test
    return "\n".join(
        [
            *_comment(t["split"].format(n_test=n_test, n=n, n_train=n_train)),
            f"order = torch.randperm({n}, generator=g)  # {t['shuffle']}",
            f"test, train = order[:{n_test}].sort().values, order[{n_test}:].sort().values",
            "x_test, y_test = x[test], y[test]",
            "x, y = x[train], y[train]",
        ]
    )


def _model(t: Mapping[str, str], cfg: FitConfig) -> str:
    init = f'''\
def linear_layer(n_in, n_out):
    """{t["linear_layer"]}"""
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out)  # {t["skip_init"]}
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=g)
    bound = 1 / math.sqrt(n_in)
    nn.init.uniform_(layer.bias, -bound, bound, generator=g)
    return layer'''
    defs = [init, _legendre(t)] if cfg.model == "poly" else [init]
    net = [
        *_comment(t["model"]),
        "net = nn.Sequential(",
        *(f"    {layer},  # {about}" for layer, about in _layers(t, cfg)),
        ")",
        "print(net)",
    ]
    # Leading newline: two blank lines before the first def, as PEP 8 asks.
    return "\n" + "\n\n\n".join(defs) + "\n\n\n" + "\n".join(net)


def _legendre(t: Mapping[str, str]) -> str:
    doc = textwrap.indent(t["legendre"], "    ")  # blank lines stay blank
    return f'''\
class Legendre(nn.Module):
    """{doc.lstrip()}
    """

    def __init__(self, degree):
        super().__init__()
        self.degree = degree

    def forward(self, x):
        p = [torch.ones_like(x), x]
        for k in range(1, self.degree):
            # {t["bonnet"]}
            p.append(((2 * k + 1) * x * p[k] - k * p[k - 1]) / (k + 1))
        return torch.cat(p[1 : self.degree + 1], dim=1)

    def extra_repr(self):
        return f"degree={{self.degree}}"'''


def _layers(t: Mapping[str, str], cfg: FitConfig) -> list[tuple[str, str]]:
    """build_model's layers, in its order, as (code, comment)."""
    if cfg.model == "linear":
        return [("linear_layer(1, 1)", t["layer_linear"])]
    if cfg.model == "poly":
        d = cfg.degree
        return [
            (f"Legendre({d})", t["layer_features"].format(d=d)),
            (f"linear_layer({d}, 1)", t["layer_poly"].format(d=d)),
        ]
    widths = (1, *cfg.hidden)
    layers = []
    for a, b in itertools.pairwise(widths):
        layers += [
            (f"linear_layer({a}, {b})", t["layer_hidden"].format(a=a, b=b)),
            (f"nn.{registry.get('activation', cfg.activation).module}()", t["layer_activation"]),
        ]
    return [*layers, (f"linear_layer({widths[-1]}, 1)", t["layer_output"].format(a=widths[-1]))]


def _optimizer(t: Mapping[str, str], cfg: FitConfig) -> str:
    """The optimizer and loss as train.make_optimizer and make_loss build them."""
    entry = registry.get("optimizer", cfg.optimizer)
    args = [f"lr={cfg.lr!r}"]
    if entry.options:
        args.append(entry.options)
    if entry.momentum and cfg.momentum:
        args.append(f"momentum={cfg.momentum!r}")
    lines = _comment(t[f"opt_{cfg.optimizer}"])
    # spelled out where torch's default is not 0
    if entry.decay and (cfg.weight_decay or entry.decay_default):
        args.append(f"weight_decay={cfg.weight_decay!r}")
        decay = "weight_decay" if cfg.weight_decay else "adamw_default"
        lines += _comment(t[decay])
    loss = registry.get("loss", cfg.loss).module
    lines += [
        f"optimizer = torch.optim.{entry.torch_class}(net.parameters(), {', '.join(args)})",
        f"loss_func = nn.{loss}()  # {t[f'loss_{cfg.loss}']}",
    ]
    schedule = registry.get("schedule", cfg.schedule)
    if schedule.torch_class is not None:
        lines += [
            *_comment(t[f"sch_{cfg.schedule}"]),
            f"schedule = torch.optim.lr_scheduler.{schedule.torch_class}"
            f"(optimizer, {schedule.options})",
        ]
    return "\n".join(lines)


def _weights(t: Mapping[str, str], n_test: int) -> str:
    """With --weights: the loaded model's loss on the points, measured instead of training."""
    measure = ["        train_loss = loss_func(net(x), y).item()"]
    show = "loss {train_loss!r}"
    if n_test:
        measure.append("        test_loss = loss_func(net(x_test), y_test).item()")
        show += " test_loss {test_loss!r}"
    return "\n".join(
        [
            "if args.weights:",
            *_comment(t["weights_why"], "    "),
            *_comment(t["weights_only"], "    "),
            "    net.load_state_dict(torch.load(args.weights, weights_only=True))",
            f"    with torch.no_grad():  # {t['measuring']}",
            *measure,
            f'    print(f"{show}")',
            f"    raise SystemExit  # {t['nothing_to_train']}",
        ]
    )


def _loop(t: Mapping[str, str], cfg: FitConfig, batch: int, n_train: int, n_test: int) -> str:
    """The training loop: train_iter's order of draws, forward, backward and update."""
    lines = ["for step in range(steps + 1):"]
    if batch:
        lines += [
            *_comment(t["minibatch"].format(batch=batch, n_train=n_train), "    "),
            f"    idx = torch.randint(len(x), ({batch},), generator=g)",
            "",
            *_comment(t["forward_batch"], "    "),
            "    prediction = net(x[idx])",
            "    loss = loss_func(prediction, y[idx])",
        ]
    else:
        lines += [
            *_comment(t["forward_all"], "    "),
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
        lines.append(f"{pad}with torch.no_grad():  # {t['measuring']}")
        pad += "    "
    if batch:
        lines.append(f"{pad}train_loss = loss_func(net(x), y).item()  # {t['all_points']}")
    else:
        lines.append(f"{pad}train_loss = loss.item()")
    if n_test:
        lines += [
            f"{pad}test_loss = loss_func(net(x_test), y_test).item()  # {t['held_out']}",
            '        print(f"step {step} loss {train_loss!r} test_loss {test_loss!r}")',
        ]
    else:
        lines.append(f'        print(f"step {{step}} loss {{train_loss!r}}")  # {t["every_digit"]}')
    if batch:
        lines += ["        diverged = diverged or not math.isfinite(train_loss)"]
    lines += [
        "    if diverged:",
        "        print(",
        *(f"            {lit}" for lit in _literals(t["diverged"])),
        "        )",
        "        break",
        "    if step == steps:",
        f"        break  # {t['last_step']}",
        "",
        *_comment(t["backward"], "    "),
        "    optimizer.zero_grad()",
        "    loss.backward()",
        "",
        *_comment(t["update"], "    "),
    ]
    if registry.get("optimizer", cfg.optimizer).closure:
        xs, ys = ("x[idx]", "y[idx]") if batch else ("x", "y")
        lines += [
            *_comment(t["lbfgs_closure"], "    "),
            "    def closure():",
            "        optimizer.zero_grad()",
            f"        closure_loss = loss_func(net({xs}), {ys})",
            "        closure_loss.backward()",
            "        return closure_loss",
            "",
            "    optimizer.step(closure)",
        ]
    else:
        lines.append("    optimizer.step()")
    if cfg.schedule != "constant":
        lines += [f"    schedule.step()  # {t['schedule_step']}"]
    return "\n".join(lines)
