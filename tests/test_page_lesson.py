"""Lessons on the page (AppTest): every step of every built-in lesson in both languages, Back
and Next, leaving, and links that name no lesson or a step it does not have."""

import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from fitcore.config import HIDEABLE
from fitcore.i18n import catalog
from fitcore.lessons import LESSONS, lesson_to_link

APP = "../streamlit_app.py"
FIELDS = [name for name in HIDEABLE if name not in ("preset", "speed", "lang")]


def open_page(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def widgets(at: AppTest) -> dict:
    """The page's widgets by key."""
    kinds = (at.selectbox, at.slider, at.number_input, at.select_slider, at.text_input, at.toggle)
    return {w.key: w for kind in kinds for w in kind if w.key}


def shown(at: AppTest, step, lang: str) -> None:
    """The step is on screen: its title and text, its settings, and none of its hidden controls."""
    assert not at.exception, at.exception
    assert step.text("title", lang) in [s.value for s in at.subheader]
    assert step.text("text", lang) in [m.value for m in at.markdown]
    found = widgets(at)
    for name in FIELDS:
        if name in step.hide:
            assert name not in found, name
        elif name in found:
            value = getattr(step.config, name)
            want = ",".join(map(str, value)) if name == "hidden" else value
            assert found[name].value == want, name
    for toggle, on in step.toggles:
        if toggle in found:
            assert found[toggle].value == on, toggle


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", sorted(LESSONS))
def test_every_step_by_next_and_by_its_link(name, lang):
    lesson = LESSONS[name]
    T = catalog(lang)
    at = open_page(lesson=name, lang=lang)
    for k, step in enumerate(lesson.steps):
        if k:
            click(at, "lesson_next")
        shown(at, step, lang)
        bar = T["lesson_step_of"].format(k=k + 1, n=len(lesson.steps))
        assert any(bar in c.value for c in at.caption)
        assert at.query_params["lesson"] == name and at.query_params["step"] == str(k + 1)
    assert at.button(key="lesson_next").disabled
    # a link to the last step opens it directly
    last = len(lesson.steps)
    shown(open_page(lesson=name, step=str(last), lang=lang), lesson.steps[-1], lang)


def test_back_goes_to_the_previous_step():
    at = open_page(lesson="learning-rate", step="3")
    assert widgets(at)["lr"].value == 0.5
    click(at, "lesson_back")
    shown(at, LESSONS["learning-rate"].steps[1], "en")
    assert widgets(at)["lr"].value == 0.05


def test_leaving_keeps_the_settings_and_shows_the_controls():
    at = click(open_page(lesson="learning-rate", step="4"), "lesson_leave")
    assert not at.get("lesson_bar") and not [b for b in at.button if b.key == "lesson_next"]
    found = widgets(at)
    assert found["lr"].value == 10 and "dataset" in found and "optimizer" in found
    assert "lesson" not in at.query_params and at.query_params["lr"] == "10"


def test_the_answer_waits_for_the_run_or_reveal():
    at = open_page(lesson="learning-rate", step="4")
    answer = LESSONS["learning-rate"].steps[3].question.choices_en[2]
    assert not [m for m in at.markdown if answer in m.value and "Answer" in m.value]
    at.radio[0].set_value(2).run()
    click(at, "lesson_reveal")
    assert [m for m in at.markdown if answer in m.value and "Answer" in m.value]
    assert [s for s in at.success if s.value == catalog("en")["lesson_right"]]


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ({"lesson": "no-such-lesson"}, "lesson_unknown"),
        ({"lesson": "../etc/passwd"}, "lesson_bad_name"),
        ({"lesson": "parabola", "step": "99"}, "lesson_step_range"),
        ({"lesson": "parabola", "step": "two"}, "lesson_step_range"),
        ({"lesson_data": "not-a-lesson"}, "lesson_bad_data"),
    ],
)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bad_lesson_links_say_so_and_the_playground_works(query, key, lang):
    at = open_page(**query, lang=lang)
    head = catalog(lang)[key].split("{")[0] or catalog(lang)[key].split("}")[-1][:4]
    assert any(head in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.button(key="train") and not at.get("exception")


def test_a_lesson_in_a_link_opens():
    lesson = dataclasses.replace(LESSONS["parabola"], name="mine")  # not a built-in one
    at = open_page(lesson_data=lesson_to_link(lesson), step="2")
    shown(at, lesson.steps[1], "en")
    assert at.query_params["lesson_data"] == lesson_to_link(lesson)


def test_a_built_in_lesson_opens_from_the_panel():
    at = open_page()
    at.selectbox(key="lesson_pick").set_value("overfitting")
    click(at, "lesson_open")
    shown(at, LESSONS["overfitting"].steps[0], "en")
