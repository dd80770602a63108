"""Nothing a student types, links or clicks breaks the page (AppTest; browser races elsewhere)."""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from fitcore.config import HIDEABLE, FitConfig
from fitcore.i18n import catalog

APP = "../streamlit_app.py"
T = catalog("en")
KEYS = [*HIDEABLE, "autoplay", "hide", "zzz", "", "lr ", "LR"]
HOSTILE = [
    "nan",
    "inf",
    "-inf",
    "1e309",
    "-1e309",
    "9" * 400,
    "0x10",
    "",
    " ",
    "1,2,3",
    "-1",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "../../etc/passwd",
    "C:\\Windows\\system32",
    "![x](http://example.invalid/x.png)",
    "[click](javascript:alert(1))",
    "__import__('os').system('true')",
    "{{7*7}}",
    "学习率",
    "梯度下降😀",
    "\x00",
    "%00",
    "a\nb",
]


def run_page(query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


@given(
    st.dictionaries(
        st.sampled_from(KEYS),
        st.sampled_from(HOSTILE)
        | st.text(max_size=30)
        | st.lists(st.sampled_from(HOSTILE), min_size=2, max_size=3),
        max_size=5,
    )
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hostile_query_strings_never_crash_the_page(query):
    at = run_page(query)
    assert not at.exception, (query, at.exception)
    # the settings the link makes: a run to show, or an upload to wait for (dataset=csv)
    asks_for_upload = [i for i in at.info if i.value == T["need_upload"]]
    if FitConfig.from_query(query)[0].dataset == "csv":
        assert asks_for_upload and not at.get("progress"), query
    else:
        assert at.get("progress") and not asks_for_upload, query


def test_user_text_is_never_rendered_as_markdown_or_html():
    at = run_page(
        {"zzz": "![x](http://example.invalid/x.png)", "lr": "<img src=x onerror=alert(1)>"}
    )
    assert not at.exception
    lines = at.warning[0].value.splitlines()[2:]  # after the heading: one "- " line a value
    assert len(lines) == 2
    for line in lines:
        # every markdown/HTML character of the user's text arrives backslash-escaped
        assert re.search(r"(?<!\\)[<>\[\]!()`*_]", line[2:]) is None, line


def test_repeated_keys_and_cjk_are_named_not_fatal():
    at = run_page({"lr": ["0.1", "0.2"], "学习率": "0.1"})
    assert not at.exception
    text = at.warning[0].value
    assert "given 2 times" in text and "学习率" in text
    assert at.select_slider(key="lr").value == 0.2


@given(
    n_points=st.sampled_from([2, 3, 2000]),
    test_fraction=st.sampled_from([0.0, 0.5]),
    batch_size=st.sampled_from([0, 1, 2000]),
    model=st.sampled_from(["linear", "poly", "mlp"]),
    lr=st.sampled_from([1e-5, 10.0]),
)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_widget_extremes_step_without_errors(n_points, test_fraction, batch_size, model, lr):
    at = run_page({"steps": "20", "every": "10"})
    at.slider(key="n_points").set_value(n_points)
    at.slider(key="test_fraction").set_value(test_fraction)
    at.number_input(key="batch_size").set_value(batch_size)
    at.selectbox(key="model").set_value(model)
    at.select_slider(key="lr").set_value(lr)
    at.run()
    for _ in range(3):
        at.button(key="step").click().run()
        assert not at.exception, at.exception
    # 3 Steps of 10 reach the end (step 20) unless the run diverged (lr=10) on the way
    step = int(re.fullmatch(r"step (\d+) / 20", at.get("progress")[0].proto.text)[1])
    assert step == 20 or (at.error and 0 < step < 20), (step, [e.value for e in at.error])


def test_train_works_again_after_fixing_a_diverging_learning_rate():
    at = run_page({"dataset": "linear", "noise": "0.5", "lr": "10", "steps": "100", "every": "10"})
    start = float(next(m.value for m in at.metric if m.label == "Training loss"))
    for _ in range(5):
        at.button(key="step").click().run()
    assert at.error, "the run should have diverged"
    at.button(key="use_lr").click().run()
    for _ in range(3):
        at.button(key="step").click().run()
    assert not at.exception and not at.error
    assert at.get("progress")[0].proto.text == "step 30 / 100"
    loss = next(m.value for m in at.metric if m.label == "Training loss")
    assert loss not in ("nan", "inf") and float(loss) < start / 10


def test_session_state_stays_small_after_long_play():
    at = run_page({"steps": "20000", "every": "5", "model": "linear", "dataset": "linear"})
    added = 0
    for _ in range(30):
        if at.button(key="add_outlier").disabled:
            break
        at.button(key="add_outlier").click().run()
        added += 1
    assert added == 20 and at.button(key="add_outlier").disabled  # the cap, then no more
    for _ in range(30):  # edits make a new run: stepping starts from 0
        at.button(key="step").click().run()
    assert not at.exception
    assert len(at.session_state["page"].edits.added) <= 20
    assert at.session_state["page"].cursor == 150
