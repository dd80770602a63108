"""The Overfitting tab and early stopping, through AppTest: what the page shows is the core's."""

import dataclasses
import re

import pytest
from streamlit.testing.v1 import AppTest

from fitcore import ensemble, sweep, train_iter
from tests.test_sweep import OVERFIT as SWEEP_OVERFIT

# the overfitting setting of tests/test_sweep.py, shorter, and as a link
OVERFIT = dataclasses.replace(SWEEP_OVERFIT, steps=1000, every=100)
OVERFIT_LINK = OVERFIT.to_query()


def page(**query) -> AppTest:
    at = AppTest.from_file("../streamlit_app.py", default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def trained(at: AppTest, go: str, most: int = 80) -> AppTest:
    """Click `go` and rerun until the sweep's fragment has nothing left to train."""
    at.button(key=go).click().run()
    for _ in range(most):
        assert not at.exception, at.exception
        if not any(p.proto.text.startswith(("Training", "训练中")) for p in at.get("progress")):
            return at
        at.run()
    raise AssertionError("the sweep never finished")


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def chart_rows(at: AppTest, dataset: str) -> list[dict]:
    """The rows of every chart's dataset named `dataset` (the page's Vega-Lite specs)."""
    rows = []
    for chart in at.get("vega_lite_chart"):
        spec = chart.proto.spec
        for data in re.findall(r'"' + dataset + r'": (\[.*?\])', spec):
            import json

            rows += json.loads(data)
    return rows


def test_the_sweep_draws_each_degrees_losses_and_names_the_best():
    at = trained(page(**OVERFIT_LINK), "sweep_go")
    points = {p.value: p for p in sweep(OVERFIT, "degree", range(1, 13))}
    best = min(points.values(), key=lambda p: p.test_loss)
    assert any(f"Degree = {best.value} (" in c for c in captions(at)), captions(at)
    assert at.multiselect(key="sweep_show_degree_12").value == [1, best.value, 12]


def test_a_second_student_on_the_same_settings_sees_the_finished_sweep_at_once():
    trained(page(**OVERFIT_LINK, lang="zh"), "sweep_go")
    second = page(**OVERFIT_LINK, lang="zh")
    second.button(key="sweep_go").click().run()
    assert not second.exception
    assert not second.get("progress") or all(
        not p.proto.text.startswith("训练中") for p in second.get("progress")
    )
    assert any(c.startswith("次数 = ") for c in captions(second)), captions(second)


def test_stop_leaves_the_sweep_where_it_was():
    link = {**OVERFIT_LINK, "steps": "5000", "seed": "4"}
    at = page(**link)
    at.button(key="sweep_go").click().run()
    bar = [p.proto.text for p in at.get("progress") if p.proto.text.startswith("Training")]
    assert bar and not bar[0].startswith("Training: 60000 of"), bar
    at.button(key="sweep_stop").click().run()
    assert not at.exception
    at.run()
    assert not [p for p in at.get("progress") if p.proto.text.startswith("Training")]
    assert not any("Lowest test loss" in c for c in captions(at))


def test_without_a_test_share_the_sweep_asks_for_one_and_one_click_holds_points_out():
    link = {k: v for k, v in OVERFIT_LINK.items() if k != "test_fraction"}
    at = page(**link)
    assert any("hold some points out" in i.value for i in at.info)
    at.button(key="sweep_hold_out").click().run()
    assert at.slider(key="test_fraction").value == 0.3
    assert any(b.key == "sweep_go" for b in at.button)


def test_the_line_model_is_told_what_a_sweep_needs():
    at = page(**{**OVERFIT_LINK, "model": "linear"})
    assert any("choose the polynomial or the neural network" in i.value for i in at.info)
    assert not any(b.key == "sweep_go" for b in at.button)
    assert any(b.key == "ensemble_go" for b in at.button)  # seeds need no capacity


def test_the_network_sweeps_width_or_depth():
    at = page(**{**OVERFIT_LINK, "model": "mlp", "activation": "tanh", "lr": "0.1"})
    assert at.radio(key="sweep_field").options == [
        "Width (units per hidden layer)",
        "Depth (hidden layers)",
    ]
    at.radio(key="sweep_field").set_value("depth").run()
    at.multiselect(key="sweep_values_depth").set_value([1, 2]).run()
    at = trained(at, "sweep_go")
    assert any(c.startswith("Lowest test loss at Depth (hidden layers) = ") for c in captions(at))


def test_the_seeds_band_is_the_cores_ensemble():
    at = page(**OVERFIT_LINK)
    at.slider(key="ensemble_seeds").set_value(4).run()
    at.radio(key="ensemble_vary").set_value("init").run()
    at = trained(at, "ensemble_go")
    e = ensemble(OVERFIT, 4, ("init",))
    assert any(
        c.startswith(f"bias² {e.bias2:.4g} · variance {e.variance:.4g}") for c in captions(at)
    )


def test_the_spread_sweep_draws_bias_and_variance_per_degree():
    at = page(**OVERFIT_LINK)
    at.multiselect(key="sweep_values_degree").set_value([1, 12]).run()
    at.slider(key="sweep_seeds").set_value(3).run()
    at = trained(at, "sweep_go")
    assert at.select_slider(key="sweep_band_degree").options == ["1", "12"]
    assert any(c.startswith("bias² ") for c in captions(at))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_early_stopping_marks_the_lowest_test_loss_and_goes_there(lang):
    link = {**OVERFIT_LINK, "degree": "12", "steps": "3000", "every": "300"}
    at = page(**link, lang=lang)
    cfg = dataclasses.replace(OVERFIT, degree=12, steps=3000, every=300)
    snaps = list(train_iter(cfg))
    best = min(snaps, key=lambda s: s.test_loss).step
    assert 0 < best < 3000  # this run overfits: its test loss turns up
    for _ in range(10):  # no timer ticks in AppTest: Step to the end
        at.button(key="step").click().run()
    assert "3000 / 3000" in at.get("progress")[0].proto.text
    words = {
        "en": f"step {best} has the lowest test loss",
        "zh": f"第 {best} 步的测试损失是目前最低的",
    }
    assert any(words[lang] in c for c in captions(at)), captions(at)
    at.button(key="best_step").click().run()
    assert f"{best} / 3000" in at.get("progress")[0].proto.text


def test_runs_that_end_between_two_drawings_all_reach_the_curves_picker(monkeypatch):
    # the first drawing may come when one run of a stack has ended and the others not yet
    # (seen under load): the picker's default must follow the runs that end after it
    from fitcore import sweeps

    advance = sweeps.SharedSweep.advance

    def one_event_at_a_time(self, seconds):
        with self._lock:
            if self._events is None:
                return
            event = next(self._events, None)
        if event is None:
            self._events, self.done = None, True
        elif isinstance(event, sweeps.Progress):
            self.progress = event
            advance(self, 0.0)
        else:
            self.points = [*self.points, event]

    monkeypatch.setattr(sweeps.SharedSweep, "advance", one_event_at_a_time)
    link = {**OVERFIT_LINK, "seed": "8"}  # a sweep of its own: nothing cached from above
    at = trained(page(**link), "sweep_go", most=200)
    picker = next(m for m in at.multiselect if m.key and m.key.startswith("sweep_show_"))
    assert len(picker.value) == 3 and picker.value[0] == 1 and picker.value[-1] == 12
