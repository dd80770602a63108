"""The explain panel's formulas and the landscape's arrows, checked against what torch did.

Each formula on the page is a rule with numbers in it; here the rule is evaluated over every
point (not only the terms written out) and compared with autograd's gradient and the
optimizer's update, as explain_step recorded them.
"""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from fitcore import FitConfig, explain_step, formulas, landscape

LINE = FitConfig(dataset="linear", model="linear", lr=0.1, steps=30, every=10, noise=0.3)


def explained(step=5, data=None, **changes):
    return explain_step(dataclasses.replace(LINE, **changes), step, data)


def test_numbers_have_four_significant_digits_in_latex():
    assert formulas.tex(0.012345678) == "0.01235"
    assert formulas.tex(-2.0) == "-2"
    assert formulas.tex(1.23456e-5) == r"1.235\times 10^{-5}"
    assert formulas.tex(3.5e34) == r"3.5\times 10^{34}"
    assert formulas.tex(math.inf) == r"\text{inf}"
    assert formulas.paren(-0.5) == "(-0.5)" and formulas.paren(0.5) == "0.5"


def test_a_chain_puts_each_equality_on_its_own_line():
    assert (
        formulas.chain("L &= a", "b", "1")
        == r"\begin{aligned} L &= a \\ &= b \\ &= 1 \end{aligned}"
    )


@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
@pytest.mark.parametrize("batch_size", [0, 9])
def test_the_loss_formula_shows_the_first_drawn_points_and_the_loss(loss, batch_size):
    ex = explained(loss=loss, batch_size=batch_size)
    text = formulas.loss_formula(ex, loss)
    _, y, y_hat = formulas.training_points(ex)
    rows = formulas.drawn(ex)
    first = rows[0]
    assert f"{formulas.tex(y_hat[first])} - {formulas.paren(y[first])}" in text
    assert text.endswith(rf"&= {formulas.tex(ex.loss)} \end{{aligned}}")
    assert rf"\frac{{1}}{{{len(rows)}}}" in text
    assert (r"i \in B" in text) == bool(batch_size)


@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
@pytest.mark.parametrize("batch_size", [0, 1, 9])
def test_the_line_gradient_formulas_are_autograds_gradient(loss, batch_size):
    ex = explained(loss=loss, batch_size=batch_size)
    # the rule the page writes, summed over every drawn point
    x, y, y_hat = formulas.training_points(ex)
    r = y_hat - y
    inner = {"mse": r, "l1": np.sign(r), "huber": np.clip(r, -1, 1)}[loss]
    factor = formulas.LOSSES[loss][2]
    rows = formulas.drawn(ex)
    dw = factor / len(rows) * sum(inner[i] * x[i] for i in rows)
    db = factor / len(rows) * sum(inner[i] for i in rows)
    assert dw == pytest.approx(ex.grad["0.weight"], rel=1e-4, abs=1e-6)
    assert db == pytest.approx(ex.grad["0.bias"], rel=1e-4, abs=1e-6)
    text_w, text_b = formulas.line_gradient_formulas(ex, loss)
    assert text_w.endswith(rf"&= {formulas.tex(ex.grad['0.weight'])} \end{{aligned}}")
    assert text_b.endswith(rf"&= {formulas.tex(ex.grad['0.bias'])} \end{{aligned}}")


def test_the_line_gradient_is_in_training_units_for_uploaded_points():
    x = np.linspace(100, 300, 40)
    points = pd.DataFrame({"x": x, "y": 0.5 * x - 40 + np.cos(x)})
    ex = explained(data=points, dataset="csv")
    assert not formulas.in_data_units(ex)
    xt, yt, y_hat = formulas.training_points(ex)
    assert xt.min() == pytest.approx(-1) and xt.max() == pytest.approx(1)
    dw = 2 / len(xt) * np.sum((y_hat - yt) * xt)
    assert dw == pytest.approx(ex.grad["0.weight"], rel=1e-4)


def evaluate_update(kind, ex, key):
    """The worked update's right-hand side, from the numbers the formula shows (exactly)."""
    before, g, after = formulas.scalars(ex)[key]
    param = key.split("[")[0]
    state = ex.state[param]
    lr, decay = ex.lr, ex.hyper.get("weight_decay", 0.0)
    if kind == "sgd":
        return before - lr * (g + decay * before)
    if kind == "momentum":
        return before - lr * float(np.ravel(state["momentum_buffer"])[0])
    m, v = float(np.ravel(state["m_hat"])[0]), float(np.ravel(state["v_hat"])[0])
    shrink = 1 - lr * decay if kind == "adamw" else 1.0
    return before * shrink - lr * m / (math.sqrt(v) + ex.hyper["eps"])


@pytest.mark.parametrize(
    "changes, kind",
    [
        ({}, "sgd"),
        ({"weight_decay": 0.1}, "sgd"),
        ({"momentum": 0.9}, "momentum"),
        ({"momentum": 0.9, "weight_decay": 0.1}, "momentum"),
        ({"optimizer": "adam", "lr": 0.05}, "adam"),
        ({"optimizer": "adamw", "lr": 0.05, "weight_decay": 0.1}, "adamw"),
    ],
)
def test_the_worked_update_is_what_the_optimizer_did(changes, kind):
    ex = explained(**changes)
    assert formulas.optimizer_kind(changes.get("optimizer", "sgd"), ex.hyper) == kind
    for key, name in formulas.names("linear", ex).items():
        before, _, after = formulas.scalars(ex)[key]
        assert evaluate_update(kind, ex, key) == pytest.approx(after, rel=1e-5, abs=1e-7)
        text = formulas.worked_update(kind, name, ex, key)
        assert rf"{name} \leftarrow {formulas.tex(before)}" in text.replace("&", "")
        assert f"= {formulas.tex(after)}" in text


def test_polynomial_parameters_are_named_by_legendre_weight():
    ex = explained(model="poly", degree=3)
    assert formulas.names("poly", ex) == {
        "1.weight[0]": "a_{1}",
        "1.weight[1]": "a_{2}",
        "1.weight[2]": "a_{3}",
        "1.bias": "b",
    }


# the landscape's arrows


RANGES = ((-1.0, 4.0), (-1.0, 7.0))


def arrows_of(ex):
    table, factor = landscape.step_arrows(ex, *RANGES)
    by_kind = {k: table[table["kind"] == k] for k in landscape.ARROW_KINDS}
    return table, factor, by_kind


def test_arrows_start_at_the_current_point_and_sgds_gradient_step_is_the_step_taken():
    ex = explained()
    table, factor, kind = arrows_of(ex)
    assert (table["w"] == ex.before.params["w"]).all() and (
        table["b"] == ex.before.params["b"]
    ).all()
    taken, gradient = kind["taken"].iloc[0], kind["gradient"].iloc[0]
    assert taken.w2 - taken.w == pytest.approx(
        factor * (ex.after.params["w"] - ex.before.params["w"])
    )
    assert (gradient.w2, gradient.b2) == pytest.approx((taken.w2, taken.b2), rel=1e-5)
    assert kind["full"].empty  # full batch: the batch's gradient is all points'
    # the longest arrow is about a quarter of the view, and the factor a round number
    longest = max(np.hypot(table["nx"], table["ny"])[table["kind"] != "point"])
    assert 0.1 < longest <= landscape.ARROW_LENGTH * (1 + 1e-9)
    assert f"{factor:g}"[0] in "125"


def test_the_fans_mean_is_the_gradient_arrow():
    for batch_size in (0, 9):
        ex = explained(batch_size=batch_size)
        _, _, kind = arrows_of(ex)
        fan, gradient = kind["point"], kind["gradient"].iloc[0]
        assert len(fan) == ex.points["in_batch"].sum()
        # each arrow is its point's share times the batch size (a point drawn twice counts
        # twice): summed and divided by the batch size, they are the gradient arrow
        total = (fan["w2"] - fan["w"]).sum() / formulas.batch_size(ex)
        assert total == pytest.approx(gradient.w2 - gradient.w, rel=1e-4)


def test_a_minibatch_draws_all_points_gradient_beside_the_batchs():
    ex = explained(batch_size=5)
    _, factor, kind = arrows_of(ex)
    full = kind["full"].iloc[0]
    assert full.w2 - full.w == pytest.approx(-factor * ex.lr * ex.full_grad["0.weight"], rel=1e-6)
    assert full.w2 != pytest.approx(kind["gradient"].iloc[0].w2)


def test_arrows_on_uploaded_points_are_changes_of_the_datas_w_and_b():
    # trained scaled: the map to the data's (w, b) must still put SGD's step where it went
    x = np.linspace(100, 300, 40)
    points = pd.DataFrame({"x": x, "y": 0.5 * x - 40 + np.cos(x)})
    ex = explained(data=points, dataset="csv")
    _, _, kind = arrows_of(ex)
    taken, gradient = kind["taken"].iloc[0], kind["gradient"].iloc[0]
    assert (gradient.w2, gradient.b2) == pytest.approx((taken.w2, taken.b2), rel=1e-4)
