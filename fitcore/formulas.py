"""The formulas of one explained step (explain.StepExplained), as LaTeX with its own numbers.

Language-free: the page puts them beside its own words. Numbers have 4 significant digits
(`tex`); a chain of equalities is set one step per line (`chain`), so that a phone shows it.
The terms of a sum are in training units, the units the loss and its gradient are computed
in (uploaded points train scaled: see data.Data).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from fitcore.explain import StepExplained

TERMS = 3  # terms of a sum written out before the dots
# Each loss's term for one point, and its derivative with respect to ŷ as a multiple of the
# residual's function, `factor` times `inner(r)`: (term, derivative, factor).
LOSSES = {
    "mse": (r"(\hat y_i - y_i)^2", r"2\,r_i", 2),
    "l1": (r"|\hat y_i - y_i|", r"\operatorname{sign}(r_i)", 1),
    "huber": (r"h(\hat y_i - y_i)", r"\operatorname{clip}(r_i, -1, 1)", 1),
}
HUBER = r"h(r) = \begin{cases} \tfrac12 r^2 & |r| \le 1 \\ |r| - \tfrac12 & |r| > 1 \end{cases}"
# Each optimizer's rule in symbols; "momentum" is SGD with a momentum above 0.
RULES = {
    "sgd": r"\theta \leftarrow \theta - \eta\,g",
    "momentum": r"v \leftarrow \mu\,v + g, \qquad \theta \leftarrow \theta - \eta\,v",
    "adam": r"\theta \leftarrow \theta - \eta\,\frac{\hat m}{\sqrt{\hat v} + \epsilon}",
    "adamw": r"\theta \leftarrow \theta - \eta\,\lambda\theta"
    r" - \eta\,\frac{\hat m}{\sqrt{\hat v} + \epsilon}",
    "rmsprop": r"s \leftarrow \alpha s + (1-\alpha) g^2, \qquad "
    r"\theta \leftarrow \theta - \eta\,\frac{g}{\sqrt{s} + \epsilon}",
    "adagrad": r"s \leftarrow s + g^2, \qquad "
    r"\theta \leftarrow \theta - \eta\,\frac{g}{\sqrt{s} + \epsilon}",
}


def tex(v: float) -> str:
    """4 significant digits for LaTeX: 1.2e-05 as 1.2 × 10⁻⁵."""
    v = float(v)
    if not math.isfinite(v):
        return r"\text{" + str(v) + "}"
    text = f"{v:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = rf"{mantissa}\times 10^{{{int(exponent)}}}"
    return text


def paren(v: float) -> str:
    """tex(v), in parentheses when negative, so that a sum's terms read unambiguously."""
    return f"({tex(v)})" if float(v) < 0 else tex(v)


def chain(first: str, *then: str) -> str:
    """Equalities one per line, aligned at their = signs (`first` holds the first &=)."""
    return r"\begin{aligned} " + first + "".join(rf" \\ &= {t}" for t in then) + r" \end{aligned}"


def optimizer_kind(optimizer: str, hyper: Mapping[str, object]) -> str:
    """A RULES key: the optimizer's name, or "momentum" for SGD with momentum."""
    return "momentum" if optimizer == "sgd" and hyper.get("momentum") else optimizer


def batch_size(ex: StepExplained) -> int:
    return len(ex.points) if ex.batch is None else len(ex.batch)


def drawn(ex: StepExplained) -> list[int]:
    """Rows of the points in the loss's sum, in the order they were drawn (repeats kept)."""
    return list(range(len(ex.points))) if ex.batch is None else list(ex.batch)


def in_data_units(ex: StepExplained) -> bool:
    """True when training units are the data's (generated points are not scaled)."""
    return tuple(ex.scale) == (0.0, 1.0, 0.0, 1.0)


def training_points(ex: StepExplained) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y, y_hat of the points as the model trains on them."""
    x_shift, x_scale, y_shift, y_scale = ex.scale
    pts = ex.points
    return (
        (pts["x"].to_numpy() - x_shift) / x_scale,
        (pts["y"].to_numpy() - y_shift) / y_scale,
        (pts["y_hat"].to_numpy() - y_shift) / y_scale,
    )


def loss_formula(ex: StepExplained, loss: str) -> str:
    """L as the mean of its terms, the first terms with their numbers, and its value."""
    term = LOSSES[loss][0]
    size = batch_size(ex)
    _, y, y_hat = training_points(ex)
    piece = {
        "mse": "({} - {})^2",
        "l1": "|{} - {}|",
        "huber": "h({} - {})",
    }[loss]
    written = [piece.format(tex(y_hat[i]), paren(y[i])) for i in drawn(ex)[:TERMS]]
    return chain(
        rf"L &= \frac{{1}}{{{size}}} \sum_{{{_over(ex)}}} {term}",
        rf"\frac{{1}}{{{size}}}\left[{_sum(written, size)}\right]",
        tex(ex.loss),
    )


def line_gradient_formulas(ex: StepExplained, loss: str) -> tuple[str, str]:
    """dL/dw and dL/db of the line as sums over the points, with numbers, and their values."""
    _, slope, factor = LOSSES[loss]
    size = batch_size(ex)
    x, y, y_hat = training_points(ex)
    r = y_hat - y
    inner = {"mse": r, "l1": np.sign(r), "huber": np.clip(r, -1, 1)}[loss]
    rows = drawn(ex)[:TERMS]
    with_x = [rf"{paren(inner[i])}\cdot{paren(x[i])}" for i in rows]
    alone = [paren(inner[i]) for i in rows]
    over = _over(ex)
    grad_w, grad_b = _scalar(ex.grad["0.weight"]), _scalar(ex.grad["0.bias"])
    return (
        chain(
            rf"\frac{{\partial L}}{{\partial w}} &= \frac{{1}}{{{size}}}"
            rf"\sum_{{{over}}} {slope}\,x_i",
            rf"\frac{{{factor}}}{{{size}}}\left[{_sum(with_x, size)}\right]",
            tex(grad_w),
        ),
        chain(
            rf"\frac{{\partial L}}{{\partial b}} &= \frac{{1}}{{{size}}}\sum_{{{over}}} {slope}",
            rf"\frac{{{factor}}}{{{size}}}\left[{_sum(alone, size)}\right]",
            tex(grad_b),
        ),
    )


def poly_gradient_formula(ex: StepExplained, loss: str) -> str:
    """The polynomial's gradient in symbols: a_k weighs the Legendre polynomial P_k."""
    _, slope, _ = LOSSES[loss]
    size, over = batch_size(ex), _over(ex)
    return (
        r"\begin{aligned} "
        rf"\frac{{\partial L}}{{\partial a_k}} &= \frac{{1}}{{{size}}}\sum_{{{over}}} "
        rf"{slope}\,P_k(x_i) \\ "
        rf"\frac{{\partial L}}{{\partial b}} &= \frac{{1}}{{{size}}}\sum_{{{over}}} {slope}"
        r" \end{aligned}"
    )


def scalars(ex: StepExplained) -> dict[str, tuple[float, float, float]]:
    """(before, grad, after) per scalar parameter: "name", or "name[i]" for a vector's entry."""
    out = {}
    for k in ex.grad:
        before, g, after = (np.ravel(v[k]) for v in (ex.params_before, ex.grad, ex.params_after))
        single = len(before) == 1
        for i in range(len(before)):
            out[k if single else f"{k}[{i}]"] = (float(before[i]), float(g[i]), float(after[i]))
    return out


def names(model: str, ex: StepExplained) -> dict[str, str]:
    """LaTeX names of the line's and the polynomial's scalar parameters; {} for a network."""
    if model == "linear":
        return {"0.weight": "w", "0.bias": "b"}
    if model == "poly":
        keys = list(scalars(ex))
        return {k: ("b" if k.endswith("bias") else f"a_{{{i + 1}}}") for i, k in enumerate(keys)}
    return {}


def tex_name(key: str) -> str:
    """A network's parameter entry ("2.bias") as a LaTeX subscript of θ."""
    return r"\theta_{\mathrm{" + key.replace("_", r"\_") + "}}"


def worked_update(kind: str, name: str, ex: StepExplained, key: str) -> str:
    """One scalar parameter's update (a `scalars` key) written out with this step's numbers."""
    before, g, after = scalars(ex)[key]
    lr, decay = tex(ex.lr), float(_number(ex.hyper.get("weight_decay", 0.0)))
    param, entry = _split_key(key)
    state = ex.state.get(param, {})
    start = rf"{name} &\leftarrow {tex(before)}"

    def lines(*rows: str) -> str:  # the rule with numbers, then its value, one per line
        return r"\begin{aligned} " + r" \\ ".join([*rows, rf"&= {tex(after)}"]) + r" \end{aligned}"

    if kind == "sgd" and decay:
        return lines(rf"{start} - {lr} \times ({paren(g)} + {tex(decay)} \times {paren(before)})")
    if kind == "sgd":
        return lines(rf"{start} - {lr} \times {paren(g)}")
    if kind == "momentum":
        v = _entry(state.get("momentum_buffer"), entry)
        return lines(rf"v &= {tex(v)}", rf"{start} - {lr} \times {paren(v)}")
    if kind in ("adam", "adamw"):
        m, v = _entry(state.get("m_hat"), entry), _entry(state.get("v_hat"), entry)
        eps = tex(_number(ex.hyper.get("eps", 1e-8)))
        shrink = rf" \times (1 - {lr} \times {tex(decay)})" if kind == "adamw" and decay else ""
        return lines(
            rf"\hat m &= {tex(m)},\quad \hat v = {tex(v)},\quad \epsilon = {eps}",
            rf"{start}{shrink} - {lr} \times \frac{{{tex(m)}}}{{\sqrt{{{tex(v)}}} + \epsilon}}",
        )
    sign = "+" if after >= before else "-"  # RMSprop, Adagrad: the change, whose rule is above
    return lines(rf"{start} {sign} {tex(abs(after - before))}")


def _over(ex: StepExplained) -> str:
    """The range of a sum over the loss's points: all n, or the minibatch B."""
    return r"i \in B" if ex.batch is not None else rf"i=1}}^{{{batch_size(ex)}"


def _sum(terms: Sequence[str], size: int) -> str:
    return " + ".join(terms) + (r" + \cdots" if size > len(terms) else "")


def _scalar(value: float | list[float]) -> float:
    return float(np.ravel(value)[0])


def _number(value: object) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    raise TypeError(f"expected a number, got {value!r}")


def _split_key(key: str) -> tuple[str, int | None]:
    if key.endswith("]"):
        name, entry = key[:-1].split("[")
        return name, int(entry)
    return key, None


def _entry(values: object, entry: int | None) -> float:
    if values is None:
        return float("nan")
    return float(np.ravel(np.asarray(values, dtype=float))[entry or 0])
