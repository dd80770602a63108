"""The explain panel, the residual sticks and the landscape's arrows, in Streamlit's AppTest.

The numbers on the page are checked against fitcore.explain_step and train_iter, computed here
on their own.
"""

import dataclasses
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from fitcore import FitConfig, explain_step, train_iter
from fitcore.i18n import catalog
from tests.test_page import _chart_tables, click, metric, open_page, status

T = catalog("en")
ZH = catalog("zh")
LINE = {"dataset": "linear", "model": "linear", "lr": "0.1", "steps": "40", "every": "10"}
LINE_CFG = FitConfig(dataset="linear", model="linear", lr=0.1, steps=40, every=10)


def open_panel(at: AppTest) -> AppTest:
    """Open the explain panel as its expander's on_change does."""
    at.session_state["page"].explain(True)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> list[str]:
    """Markdown, LaTeX and captions on the page, in order."""
    return [m.value for m in at.markdown] + [c.value for c in at.caption]


def latex(at: AppTest) -> list[str]:
    return [m.value for m in at.latex]


def n4(v: float) -> str:
    return f"{v:.4g}"


def stage(at: AppTest) -> int:
    return at.session_state["page"].stage


def test_a_paused_page_has_the_panel_closed_and_a_playing_page_none():
    at = open_page(**LINE)
    assert [e.label for e in at.expander if e.label == T["explain_panel"]] == [T["explain_panel"]]
    assert not [f for f in latex(at) if f.startswith("$$\nL = ")]  # closed: nothing computed
    at = click(at, "train")
    assert T["explain_panel"] not in [e.label for e in at.expander]


def test_the_open_panel_shows_explain_steps_numbers_for_the_line():
    at = open_panel(click(open_page(**LINE), "step"))  # step 10
    assert status(at) == "step 10 / 40"
    ex = explain_step(LINE_CFG, 10)
    formulas = " ".join(latex(at))
    assert f"= {n4(ex.loss)}" in formulas  # the loss, written out
    assert f"= {n4(ex.grad['0.weight'])}" in formulas  # dL/dw
    assert f"= {n4(ex.grad['0.bias'])}" in formulas  # dL/db
    assert f"= {n4(ex.params_after['0.weight'])}" in formulas  # w after the update
    first = ex.points.iloc[0]
    assert f"({n4(first.y_hat)} - {n4(first.y)})^2" in formulas  # the first term of the sum
    # the exact values are in the formulas' tooltips
    helps = [m.proto.help for m in at.latex]
    assert any(repr(ex.loss) in h for h in helps)
    assert T["explain_intro"].format(step=10, next=11) in texts(at)


def test_step_with_the_panel_open_walks_the_stages_then_one_update():
    at = open_panel(open_page(**LINE))
    assert stage(at) == 4
    at = click(at, "step")  # from the whole update to the next update's first stage
    assert status(at) == "step 1 / 40" and stage(at) == 1
    exact = list(train_iter(dataclasses.replace(LINE_CFG, every=1)))
    assert metric(at, T["train_loss"]) == n4(
        exact[1].train_loss
    )  # a step the run keeps no frame of
    assert metric(at, T["w"]) == n4(exact[1].params["w"])
    shown = []
    for _ in range(3):
        at = click(at, "step")
        shown.append((status(at), stage(at)))
    assert shown == [("step 1 / 40", 2), ("step 1 / 40", 3), ("step 1 / 40", 4)]
    at = click(at, "step")
    assert status(at) == "step 2 / 40" and stage(at) == 1
    assert metric(at, T["train_loss"]) == n4(exact[2].train_loss)


def test_each_stage_shows_its_part_only():
    at = open_panel(open_page(**LINE))
    at.session_state["page"].show_stage(1)
    at.run()
    headings = [t for t in texts(at) if t.startswith("**") and " · " in t]
    assert headings == [f"**1 · {T['stage_forward']}**"]
    at.session_state["page"].show_stage(3)
    at.run()
    headings = [t for t in texts(at) if t.startswith("**") and " · " in t]
    assert headings == [
        f"**1 · {T['stage_forward']}**",
        f"**2 · {T['stage_loss']}**",
        f"**3 · {T['stage_backward']}**",
    ]


def residual_table(at: AppTest):
    return _chart_tables(at.get("vega_lite_chart")[0]).get("residuals")


def test_the_residuals_toggle_draws_a_stick_from_each_point_to_the_model():
    at = click(open_page(**LINE), "step")
    assert residual_table(at) is None
    at.toggle(key="show_residuals").set_value(True).run()
    table = residual_table(at)
    snap = list(train_iter(LINE_CFG))[1]
    assert len(table) == 200 and table["in_batch"].all()
    np.testing.assert_allclose(table["y_hat"], snap.fitted, rtol=1e-6)
    line = snap.params["w"] * table["x"] + snap.params["b"]
    np.testing.assert_allclose(table["y_hat"], line, rtol=1e-4, atol=1e-5)
    assert status(at) == "step 10 / 40"  # the toggle keeps the run


def test_minibatch_residuals_mark_the_batch_of_the_step_on_screen():
    at = click(open_page(**LINE, batch_size="8"), "step")
    at.toggle(key="show_residuals").set_value(True).run()
    table = residual_table(at)
    cfg = dataclasses.replace(LINE_CFG, batch_size=8)
    ex = explain_step(cfg, 10)
    np.testing.assert_array_equal(table["in_batch"].to_numpy(bool), ex.points["in_batch"])
    assert 1 <= table["in_batch"].sum() <= 8


def test_the_loss_and_backward_stages_draw_the_residuals_without_the_toggle():
    at = open_panel(open_page(**LINE))
    for k, drawn in ((1, False), (2, True), (3, True), (4, False)):
        at.session_state["page"].show_stage(k)
        at.run()
        assert (residual_table(at) is not None) == drawn, k


def landscape_chart(at: AppTest):
    charts = [c for c in at.get("vega_lite_chart") if '"heatmap"' in c.proto.spec]
    assert len(charts) == 1
    return charts[0]


def landscape_spec(at: AppTest) -> str:
    return landscape_chart(at).proto.spec


def test_the_landscape_draws_the_step_as_arrows_while_the_panel_is_open():
    at = click(open_page(**LINE), "step")
    assert '"arrows"' not in landscape_spec(at)
    at = open_panel(at)
    assert '"arrows"' in landscape_spec(at) and '"arrow_heads"' in landscape_spec(at)
    assert T["landscape_arrows"].format(step=10, factor="").split(" drawn")[0] in " ".join(
        texts(at)
    )


def test_the_chinese_panel_speaks_chinese():
    at = open_panel(click(open_page(**LINE, lang="zh"), "step"))
    assert ZH["explain_panel"] in [e.label for e in at.expander]
    page = " ".join(texts(at))
    assert ZH["explain_intro"].format(step=10, next=11) in page
    assert f"**4 · {ZH['stage_update']}**" in page
    assert T["stage_update"] not in page


@pytest.mark.parametrize(
    "query",
    [
        {"model": "poly", "degree": "4", "optimizer": "adam", "steps": "30", "every": "10"},
        {"steps": "30", "every": "10", "batch_size": "1"},  # the network, a batch of one
        {**LINE, "optimizer": "sgd", "momentum": "0.9", "loss": "huber", "weight_decay": "0.01"},
        {**LINE, "loss": "l1", "batch_size": "16"},
    ],
)
def test_the_panel_explains_every_model_optimizer_and_loss(query):
    at = open_panel(click(open_page(**query), "step"))
    assert not at.error and latex(at)
    assert f"**4 · {T['stage_update']}**" in texts(at)


def test_a_diverged_run_explains_the_update_that_blew_up_or_says_why_not():
    at = open_page(dataset="linear", model="linear", lr="10", steps="100", every="20")
    at = open_panel(click(at, "step"))
    assert at.error  # the divergence message stays
    cfg = FitConfig(dataset="linear", model="linear", lr=10, steps=100, every=20)
    diverged = next(s for s in train_iter(cfg) if s.diverged)
    assert status(at) == f"step {diverged.step} / 100"
    ex = explain_step(cfg, diverged.step - 1)  # the last finite step's update blows it up
    assert not np.isfinite(ex.after.train_loss)
    assert any(repr(ex.loss) in f.proto.help for f in at.latex)  # 3.502e+34, exactly
    mantissa, exponent = n4(ex.loss).split("e")
    assert f"= {mantissa}\\times 10^{{{int(exponent)}}}" in " ".join(latex(at))


def test_an_uploaded_run_says_its_formulas_are_in_training_units(tmp_path):
    pytest.importorskip("pyarrow")
    at = open_page(**LINE)
    state = at.session_state["page"]
    import pandas as pd

    x = np.linspace(100, 300, 50)
    points = pd.DataFrame({"x": x, "y": 0.5 * x - 40 + np.sin(x)})
    state.uploaded = ("points.csv", points)
    state.set("dataset", "csv")
    at.run()
    at = open_panel(at)
    assert not at.exception
    assert T["explain_scaled"] in texts(at)


def landscape_rows(at: AppTest, layer: str) -> list[dict]:
    chart = landscape_chart(at)
    named = next(
        part for part in json.loads(chart.proto.spec)["layer"] if part.get("name") == layer
    )
    return _chart_tables(chart)[named["data"]["name"]].to_dict("records")


def test_the_landscape_shows_the_step_on_screen_after_step():
    # before: it drew the frame before Step's (the live area moved on after the tabs)
    at = click(open_page(**LINE), "step")
    current = [r for r in landscape_rows(at, "markers") if r["kind"] == T["chart_current"]]
    snap = list(train_iter(LINE_CFG))[1]
    assert status(at) == "step 10 / 40"
    assert current == [{"kind": T["chart_current"], "w": snap.params["w"], "b": snap.params["b"]}]


def test_the_arrows_start_at_the_current_point_and_the_taken_one_ends_at_the_next():
    at = open_panel(click(open_page(**LINE), "step"))
    arrows = landscape_rows(at, "arrows")
    ex = explain_step(LINE_CFG, 10)
    kinds = [r["arrow"] for r in arrows]
    assert kinds.count("point") == 200 and {"gradient", "taken"} <= set(kinds)
    taken = next(r for r in arrows if r["arrow"] == "taken")
    factor = (taken["w2"] - taken["w"]) / (ex.after.params["w"] - ex.before.params["w"])
    assert taken["w"] == pytest.approx(ex.before.params["w"])
    assert taken["b2"] - taken["b"] == pytest.approx(
        factor * (ex.after.params["b"] - ex.before.params["b"])
    )
    # plain SGD: the step taken is the gradient step
    gradient = next(r for r in arrows if r["arrow"] == "gradient")
    assert gradient["w2"] == pytest.approx(taken["w2"], rel=1e-5)
    # the fan's mean is the gradient arrow
    fan = [r for r in arrows if r["arrow"] == "point"]
    mean_tip = np.mean([r["w2"] - r["w"] for r in fan])
    assert mean_tip == pytest.approx(gradient["w2"] - gradient["w"], rel=1e-4)


def test_a_step_walked_to_between_frames_keeps_the_hidden_units():
    # before: the explain replay's snapshots had no units, so the curves vanished mid-walk
    at = open_page(steps="30", every="10")  # the blog's 1-10-1 network
    at.toggle(key="show_units").set_value(True).run()
    at = click(open_panel(at), "step")
    assert status(at) == "step 1 / 30"
    units = _chart_tables(at.get("vega_lite_chart")[0])["units"]
    assert sorted(units["unit"].unique()) == list(range(10))
    snap = list(train_iter(FitConfig(steps=30, every=1), units=True))[1]
    np.testing.assert_allclose(
        units.sort_values(["unit", "x"])["y"], snap.units.sort_values(["unit", "x"])["y"], rtol=1e-5
    )


def walk_updates(at: AppTest, updates: int) -> AppTest:
    """Step with the panel open, whole updates at a time (four stages each)."""
    for _ in range(updates * 4):
        at = click(at, "step")
    return at


def test_walking_to_the_end_brings_the_run_the_replay_and_train_again_along():
    # before: the loss chart and the replay stayed at step 30 and the button read Resume
    at = open_panel(click(click(click(open_page(**LINE), "step"), "step"), "step"))
    assert status(at) == "step 30 / 40"
    at = walk_updates(at, 10)
    assert status(at) == "step 40 / 40"
    assert at.button(key="train").label == T["again"]
    history = _chart_tables(at.get("vega_lite_chart")[1])["loss"]
    assert history["step"].max() == 40


def test_walking_into_a_divergence_shows_it_instead_of_starting_over():
    # before: the Step after the blow-up's update jumped back to step 0 without a word
    at = open_panel(open_page(dataset="linear", model="linear", lr="10", steps="40", every="1"))
    cfg = FitConfig(dataset="linear", model="linear", lr=10, steps=40, every=1)
    diverged = next(s for s in train_iter(cfg) if s.diverged).step
    at.session_state["page"].cursor = diverged - 1
    at.run()
    at = walk_updates(at, 1)
    assert status(at) == f"step {diverged} / 40"
    assert at.error and "10" in at.error[0].value  # the divergence message and its lr


def test_the_points_that_pull_hardest_are_points_of_the_batch():
    at = open_panel(click(open_page(**LINE, batch_size="1"), "step"))
    rows = [t for t in at.dataframe if T["col_pull"] in t.value.columns]
    assert len(rows) == 1 and len(rows[0].value) == 1  # a batch of one: one point pulls


def test_polynomial_parameters_read_as_plain_names_in_the_table():
    at = open_panel(click(open_page(model="poly", degree="3", steps="30", every="10"), "step"))
    table = next(t.value for t in at.dataframe if T["col_param"] in t.value.columns)
    assert table[T["col_param"]].tolist() == ["a₁", "a₂", "a₃", "b"]
    assert T["explain_legendre"] in texts(at)
