"""export_script: one run as a standalone plain-PyTorch script that reads like the blog's."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import textwrap

import numpy as np
import pandas as pd
import torch

from fitcore import registry
from fitcore.config import FitConfig
from fitcore.data import is_generated, make_data
from fitcore.i18n import catalog

# Every comment and message of the script, in each language the page speaks. The `step <n> loss
# <value>` lines the script prints stay as they are in both: tests and students parse them.
# {placeholders} are filled in here, except in "diverged", which the script's f-string fills.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "A FitLab run as a plain PyTorch script, in the style of the tutorial FitLab "
        "grew\nfrom (梯度下降 和 关系拟合: gradient descent and curve fitting).",
        "settings": "Settings: {settings}.",
        "your_points": "your {n} points",
        "run": "Run it with `python <this file>` (it needs only PyTorch). It prints",
        "value": "value",
        "run_after": "at step 0, every {every} updates and after the last update: the numbers "
        "FitLab\nshows for this run, to the last digit. With `--weights fitlab_step<n>.pt`, a "
        "file\ndownloaded from FitLab, it prints that step's losses instead of training:",
        "weights_metavar": "PATH",
        "weights_help": "a weights file downloaded from FitLab: print its loss instead of training",
        "seed": "the same seed gives the same run, bit for bit",
        "steps": "optimizer updates",
        "every": "print the loss every this many updates",
        "threads": "One thread, as FitLab trains: from a few hundred points on, torch splits sums\n"
        "between threads, and the last digits of the losses would depend on their number.",
        "generator": "Every random number (data noise, test split, initial weights, minibatches) "
        "comes\nfrom this generator, in that order, never from torch's global generator.",
        "data_generated": "Data: {label}, plus noise. {about}",
        "one_row": "shape ({n}, 1): one row per point",
        "uniform": "uniform in [0, {noise})",
        "noise_replaced": "FitLab still draws the noise of the generated points it replaced, so "
        "the initial\nweights and minibatches are those of the unedited run.",
        "data_scaled": "Data: your {n} points, sorted by x and scaled as FitLab trains on them:\n"
        "x in [-1, 1], y with mean 0 and spread 1, in float32 like the model, so the usual\n"
        "learning rates work in any units.",
        "data_as_is": "Data: your {n} points, sorted by x, in float32 like the model.",
        "shape": "shape ({n}, 1)",
        "back": "Back to your units: x_yours = x * x_scale + x_shift, and the same for y.",
        "x_scale": "middle and half-width of x",
        "y_scale": "mean and spread of y",
        "split": "Hold out {n_test} of the {n} points for a test loss; train on the other "
        "{n_train}.",
        "shuffle": "the points in a random order",
        "linear_layer": "nn.Linear(n_in, n_out) initialised as PyTorch does, but drawing from g.",
        "skip_init": "allocated, not yet initialised",
        "legendre": "x (n, 1) -> features P_1(x) .. P_d(x) (n, d): Legendre polynomials.\n\n"
        "Unlike x, x², x³, ... they are nearly uncorrelated on [-1, 1], so gradient descent is\n"
        "not slowed down by features that almost repeat each other.",
        "bonnet": "Bonnet's recursion: (k+1) P_(k+1) = (2k+1) x P_k - k P_(k-1)",
        "model": "The model: FitLab's layers in FitLab's order, so print(net) shows what the page "
        "shows\nand a weights file downloaded from it loads (its keys 0.weight, 0.bias, ... name "
        "them).",
        "layer_linear": "y_hat = w * x + b: one weight w and one bias b",
        "layer_features": "features P_1(x) .. P_{d}(x)",
        "layer_poly": "one weight per feature, and a bias: "
        "y_hat = b + w_1 P_1(x) + ... + w_{d} P_{d}(x)",
        "layer_hidden": "hidden layer: {a} -> {b} units",
        "layer_activation": "activation",
        "layer_output": "output layer: {a} -> 1, the prediction y_hat",
        "opt_sgd": "gradient descent: each parameter moves by -lr * its gradient",
        "opt_adam": "Adam: a step size per parameter, from running averages of its gradient",
        "opt_adamw": "AdamW: Adam, with weight decay applied to the weights directly",
        "opt_rmsprop": "RMSprop: each gradient divided by a running average of its size",
        "opt_adagrad": "Adagrad: steps shrink for parameters that have seen big gradients",
        "weight_decay": "weight_decay pulls every parameter toward 0 a little at each update",
        "adamw_default": "weight_decay spelled out: AdamW's default is 0.01",
        "loss_mse": "mean squared error, the blog's loss",
        "loss_l1": "mean absolute error: outliers pull less than with squared error",
        "loss_huber": "Huber: squared for errors below 1, absolute above",
        "weights_why": "The file holds the weights only, not the optimizer's running averages nor "
        "the\nstate of g: training on from it would not follow FitLab's run, so the script\n"
        "measures it: the same losses FitLab shows for the step the file was saved at.",
        "weights_only": "weights_only: loading a downloaded file runs no code from it.",
        "measuring": "only measuring: no gradients needed",
        "nothing_to_train": "nothing to train",
        "minibatch": "a minibatch: {batch} of the {n_train} training points, drawn with "
        "replacement",
        "forward_batch": "forward: predict y for the minibatch and measure the error",
        "forward_all": "forward: predict y for every training point and measure the error",
        "all_points": "all points, not the batch",
        "held_out": "the held-out points",
        "every_digit": "!r: every digit",
        "diverged": "diverged at step {step}: the loss is no longer a finite number; "
        "the learning rate is too high, try a smaller lr",
        "last_step": "the last step only reports the loss after the final update",
        "backward": "backward: clear the old gradients, then compute new ones",
        "update": "update: move the parameters against their gradients",
    },
    "zh": {
        "title": "一次 FitLab 训练写成的纯 PyTorch 脚本，风格仿照 FitLab 所源自的教程\n"
        "（梯度下降 和 关系拟合）。",
        "settings": "设置：{settings}。",
        "your_points": "你的 {n} 个点",
        "run": "用 `python <本文件>` 运行（只需要 PyTorch）。它打印",
        "value": "数值",
        "run_after": "在第 0 步、每 {every} 次更新后和最后一次更新后各打印一行：正是 FitLab\n"
        "为这次训练显示的数字，一位不差。加上 `--weights fitlab_step<n>.pt`（从 FitLab\n"
        "下载的文件）时，它不训练，而是打印那一步的损失：",
        "weights_metavar": "路径",
        "weights_help": "从 FitLab 下载的权重文件：不训练，只打印它的损失",
        "seed": "同一个种子给出同一次训练，每一位都相同",
        "steps": "优化器更新的次数",
        "every": "每隔这么多次更新打印一次损失",
        "threads": "和 FitLab 训练时一样只用一个线程：点数到几百个以后，torch 会把求和\n"
        "拆给多个线程，损失的最后几位就会随线程数而变。",
        "generator": "所有随机数（数据噪声、测试集划分、初始权重、小批量）都按这个顺序\n"
        "取自这个生成器，从不取自 torch 的全局随机数生成器。",
        "data_generated": "数据：{label}，加上噪声。{about}",
        "one_row": "形状 ({n}, 1)：每个点一行",
        "uniform": "在 [0, {noise}) 上均匀分布",
        "noise_replaced": "FitLab 仍会抽取被替换掉的生成数据的噪声，\n"
        "所以初始权重和小批量与未编辑时的训练相同。",
        "data_scaled": "数据：你的 {n} 个点，按 x 排序，并像 FitLab 训练时那样缩放：\n"
        "x 在 [-1, 1] 内，y 的均值为 0、标准差为 1，和模型一样用 float32，\n"
        "所以常用的学习率在任何单位下都适用。",
        "data_as_is": "数据：你的 {n} 个点，按 x 排序，和模型一样用 float32。",
        "shape": "形状 ({n}, 1)",
        "back": "换回你的单位：原来的 x = x * x_scale + x_shift，y 同理。",
        "x_scale": "x 的中点和半宽",
        "y_scale": "y 的均值和标准差",
        "split": "从 {n} 个点中留出 {n_test} 个计算测试损失，用其余 {n_train} 个训练。",
        "shuffle": "把点打乱成随机顺序",
        "linear_layer": "像 PyTorch 那样初始化的 nn.Linear(n_in, n_out)，但随机数取自 g。",
        "skip_init": "只分配内存，还没有初始化",
        "legendre": "x (n, 1) -> 特征 P_1(x) .. P_d(x) (n, d)：勒让德多项式。\n\n"
        "和 x、x²、x³ …… 不同，它们在 [-1, 1] 上几乎互不相关，\n"
        "所以梯度下降不会被几乎重复的特征拖慢。",
        "bonnet": "邦内递推：(k+1) P_(k+1) = (2k+1) x P_k - k P_(k-1)",
        "model": "模型：和 FitLab 一样的层、一样的顺序，所以 print(net) 的输出与网页上相同，\n"
        "从网页下载的权重文件也能直接加载（文件里的键 0.weight、0.bias …… 就是这些层）。",
        "layer_linear": "y_hat = w * x + b：一个权重 w 和一个偏置 b",
        "layer_features": "特征 P_1(x) .. P_{d}(x)",
        "layer_poly": "每个特征一个权重，外加一个偏置："
        "y_hat = b + w_1 P_1(x) + ... + w_{d} P_{d}(x)",
        "layer_hidden": "隐藏层：{a} -> {b} 个单元",
        "layer_activation": "激活函数",
        "layer_output": "输出层：{a} -> 1，即预测值 y_hat",
        "opt_sgd": "梯度下降：每个参数移动 -lr 乘以它的梯度",
        "opt_adam": "Adam：每个参数有自己的步长，由其梯度的滑动平均决定",
        "opt_adamw": "AdamW：Adam，但权重衰减直接作用在权重上",
        "opt_rmsprop": "RMSprop：每个梯度除以其大小的滑动平均",
        "opt_adagrad": "Adagrad：梯度一直很大的参数，步子会越来越小",
        "weight_decay": "weight_decay 在每次更新时把每个参数往 0 拉一点",
        "adamw_default": "明确写出 weight_decay：AdamW 的默认值是 0.01",
        "loss_mse": "均方误差，教程用的损失",
        "loss_l1": "平均绝对误差：离群点的拉力比平方误差小",
        "loss_huber": "Huber：误差小于 1 时取平方，大于 1 时取绝对值",
        "weights_why": "文件里只有权重，没有优化器的滑动平均，也没有 g 的状态：从这里接着\n"
        "训练不会重现 FitLab 的训练，所以脚本只测量它：得到 FitLab 在保存\n"
        "这个文件的那一步显示的损失。",
        "weights_only": "weights_only：加载下载的文件时不会执行其中的代码。",
        "measuring": "只是测量：不需要梯度",
        "nothing_to_train": "不再训练",
        "minibatch": "一个小批量：从 {n_train} 个训练点中有放回地抽取 {batch} 个",
        "forward_batch": "前向：预测小批量的 y，并衡量误差",
        "forward_all": "前向：预测每个训练点的 y，并衡量误差",
        "all_points": "全部训练点，而不只是这个小批量",
        "held_out": "留出的测试点",
        "every_digit": "!r：打印全部位数",
        "diverged": "第 {step} 步发散：损失不再是有限的数；学习率太大，请试一个更小的 lr",
        "last_step": "最后一步只报告最后一次更新之后的损失",
        "backward": "反向：先清空旧的梯度，再计算新的梯度",
        "update": "更新：让参数逆着梯度的方向移动",
    },
}


def export_script(cfg: FitConfig, points: pd.DataFrame | None = None, *, lang: str = "en") -> str:
    """A runnable plain-PyTorch script of `train_iter(cfg, points)` that prints the same losses.

    `lang` ("en" or "zh"): the language of its comments and messages, the page's language.
    """
    if lang not in TEXT:
        raise ValueError(f"lang must be one of {', '.join(map(repr, TEXT))}, not {lang!r}")
    if points is None and not is_generated(cfg.dataset):
        raise ValueError(
            f"dataset {cfg.dataset!r} needs uploaded points: pass them (columns x, y) "
            "to export the script"
        )
    t = TEXT[lang]
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


def _header(t: dict[str, str], cfg: FitConfig, points: pd.DataFrame | None, n_test: int) -> str:
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
    if not cfg.weight_decay:
        unused.add("weight_decay")
    if not cfg.batch_size:
        unused.add("batch_size")
    return [f.name for f in dataclasses.fields(cfg) if f.name not in unused]


def _imports() -> str:
    return "\n".join(["import argparse", "import math", "", "import torch", "from torch import nn"])


def _arguments(t: dict[str, str]) -> str:
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


def _settings(t: dict[str, str], cfg: FitConfig) -> str:
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


def _generated(t: dict[str, str], cfg: FitConfig, lang: str) -> str:
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


def _points(t: dict[str, str], cfg: FitConfig, points: pd.DataFrame) -> str:
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


def _split(t: dict[str, str], n_train: int, n_test: int) -> str:
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


def _model(t: dict[str, str], cfg: FitConfig) -> str:
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


def _legendre(t: dict[str, str]) -> str:
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


def _layers(t: dict[str, str], cfg: FitConfig) -> list[tuple[str, str]]:
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


def _optimizer(t: dict[str, str], cfg: FitConfig) -> str:
    """The optimizer and loss as train.make_optimizer and make_loss build them."""
    entry = registry.get("optimizer", cfg.optimizer)
    args = [f"lr={cfg.lr!r}"]
    if entry.momentum and cfg.momentum:
        args.append(f"momentum={cfg.momentum!r}")
    lines = _comment(t[f"opt_{cfg.optimizer}"])
    if cfg.weight_decay or entry.decay_default:  # spelled out where torch's default is not 0
        args.append(f"weight_decay={cfg.weight_decay!r}")
        decay = "weight_decay" if cfg.weight_decay else "adamw_default"
        lines += _comment(t[decay])
    loss = registry.get("loss", cfg.loss).module
    return "\n".join(
        [
            *lines,
            f"optimizer = torch.optim.{entry.torch_class}(net.parameters(), {', '.join(args)})",
            f"loss_func = nn.{loss}()  # {t[f'loss_{cfg.loss}']}",
        ]
    )


def _weights(t: dict[str, str], n_test: int) -> str:
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


def _loop(t: dict[str, str], cfg: FitConfig, batch: int, n_train: int, n_test: int) -> str:
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
        "    optimizer.step()",
    ]
    return "\n".join(lines)
