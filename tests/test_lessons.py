"""Lessons: the schema's errors name file, line and field; built-ins build; links round-trip."""

import base64
import contextlib
import dataclasses
import hashlib
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitcore import FitConfig
from fitcore.config import HIDEABLE, UI_PARAMS
from fitcore.lessons import (
    LESSONS,
    MAX_LINK,
    LessonError,
    get_lesson,
    lesson_from_link,
    lesson_to_link,
    lesson_to_toml,
    load_lesson,
)

GOOD = """title_en = "A lesson"
title_zh = "一课"

[[steps]]
title_en = "One"
title_zh = "一"
text_en = "Press **Train**."
text_zh = "点 **训练**。"
preset = "blog-linear"
[steps.settings]
lr = 0.5

[[steps]]
title_en = "Two"
title_zh = "二"
text_en = "Again."
text_zh = "再来。"
hide = ["lr"]
[steps.settings]
model = "linear"
lr = 0.1
[steps.question]
prompt_en = "Up or down?"
prompt_zh = "上还是下？"
choices_en = ["up", "down"]
choices_zh = ["上", "下"]
answer = 1
explanation_en = "Down."
explanation_zh = "下。"
"""


def test_a_good_lesson_loads():
    lesson = load_lesson(GOOD, "a.toml")
    assert [s.config.lr for s in lesson.steps] == [0.5, 0.1]
    assert lesson.steps[0].config.dataset == "linear"  # the preset's, under the settings
    assert lesson.steps[1].hide == ("lr",) and lesson.steps[1].question.answer == 1


@pytest.mark.parametrize(
    ("change", "line", "field"),
    [
        (("lr = 0.1", 'lr = 0.1\ncolour = "red"'), 22, "steps[2].settings.colour"),
        (("lr = 0.1", 'lr = "fast"'), 21, "steps[2].settings.lr"),
        (("lr = 0.1", "lr = 100.0"), 21, "steps[2].settings.lr"),
        (('hide = ["lr"]', 'hide = ["colour"]'), 18, "steps[2].hide"),
        (('text_zh = "再来。"\n', ""), 13, "steps[2].text_zh"),
        (('title_zh = "一课"\n', ""), 1, "title_zh"),
        (("answer = 1", "answer = 5"), 27, "steps[2].question.answer"),
        (('text_en = "Again."', 'text_en = "<script>x</script>"'), 16, "steps[2].text_en"),
        (('text_en = "Again."', 'text_en = "![x](http://a.b/c.png)"'), 16, "steps[2].text_en"),
        (('preset = "blog-linear"', "preset = 3"), 9, "steps[1].preset"),
    ],
)
def test_schema_errors_name_the_file_the_line_and_the_field(change, line, field):
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(LessonError) as error:
        load_lesson(text, "mine.toml")
    assert str(error.value).startswith(f"mine.toml, line {line}, {field}:"), str(error.value)


def test_a_toml_syntax_error_names_the_file_and_line():
    with pytest.raises(LessonError, match=r"mine\.toml: .*line 2"):
        load_lesson('title_en = "x"\ntitle_zh = \n', "mine.toml")


def test_there_are_six_built_in_lessons_read_only():
    assert len(LESSONS) >= 6
    with pytest.raises(TypeError):
        LESSONS["x"] = LESSONS["parabola"]  # type: ignore[index]


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_every_built_in_step_builds_a_config_in_both_languages(name):
    lesson = LESSONS[name]
    assert lesson.name == name and lesson.title("en") and lesson.title("zh")
    for step in lesson.steps:
        assert isinstance(step.config, FitConfig)
        assert set(step.hide) <= set(HIDEABLE)
        for lang in ("en", "zh"):
            assert step.text("title", lang) and step.text("text", lang)
        assert bool(step.notice_en) == bool(step.notice_zh)


def test_the_lessons_the_issue_asks_for():
    assert LESSONS["learning-rate"].steps[3].config.lr == 10
    assert LESSONS["learning-rate"].steps[3].question is not None
    assert ("show_units", True) in LESSONS["parabola"].steps[1].toggles
    assert any(s.config.optimizer == "lbfgs" for s in LESSONS["optimizers"].steps)
    assert LESSONS["overfitting"].steps[1].config == FitConfig(
        dataset="sine", n_points=20, noise=0.6, test_fraction=0.3, model="poly",
        degree=12, lr=0.5, steps=3000, seed=3,
    )  # fmt: skip
    assert LESSONS["your-data"].steps[0].config.dataset == "csv"


@pytest.mark.parametrize(
    "name", ["../etc/passwd", "a/b", "parabola.toml", "Parabola", "", "x" * 41]
)
def test_names_with_path_characters_are_refused(name):
    with pytest.raises(LessonError, match="not a lesson name"):
        get_lesson(name)


def test_an_unknown_name_is_refused():
    with pytest.raises(LessonError, match="no lesson named"):
        get_lesson("no-such-lesson")


def test_lesson_params_are_not_run_settings():
    assert {"lesson", "step", "lesson_data"} <= set(UI_PARAMS)
    assert FitConfig.from_query({"lesson": "parabola", "step": "2"}) == (FitConfig(), [])


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_link_round_trip(name):
    lesson = LESSONS[name]
    assert load_lesson(lesson_to_toml(lesson), "x", name) == lesson
    link = lesson_to_link(lesson)
    assert len(link) <= MAX_LINK and lesson_from_link(link) == lesson


def test_a_lesson_too_big_for_a_link_is_refused():
    step = LESSONS["parabola"].steps[0]
    # random letters: they do not compress
    noise = base64.b64encode(
        b"".join(hashlib.sha256(bytes([i])).digest() for i in range(256))
    ).decode()
    big = dataclasses.replace(step, text_en=noise[:3900], text_zh=noise[-3900:])
    lesson = dataclasses.replace(LESSONS["parabola"], steps=(big,) * 2)
    with pytest.raises(LessonError, match="at most 8 KB"):
        lesson_to_link(lesson)
    with pytest.raises(LessonError, match="at most 8 KB"):
        lesson_from_link("A" * (MAX_LINK + 1))


def test_a_link_that_unpacks_too_big_is_refused():
    bomb = zlib.compress(b"#" * 1_000_000, 9)
    link = base64.urlsafe_b64encode(bomb).decode().rstrip("=")
    assert len(link) <= MAX_LINK
    with pytest.raises(LessonError, match="unpacks to more than"):
        lesson_from_link(link)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), st.builds(lambda a, b: GOOD[:a] + b + GOOD[a:],
       st.integers(0, len(GOOD)), st.text(max_size=20))))  # fmt: skip
def test_any_lesson_text_loads_or_raises_lesson_error(text):
    with contextlib.suppress(LessonError):
        load_lesson(text, "x.toml")


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=200), st.from_regex(r"[A-Za-z0-9_-]{0,300}", fullmatch=True)))
def test_any_link_string_loads_or_raises_lesson_error(text):
    with contextlib.suppress(LessonError):
        lesson_from_link(text)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_any_packed_bytes_load_or_raise_lesson_error(raw):
    link = base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")
    with contextlib.suppress(LessonError):
        lesson_from_link(link)
