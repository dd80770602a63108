"""The lesson builder (AppTest): steps recorded from the page's own widgets come back equal from
the downloaded file and from the link, and the link opens the first step in a fresh page;
an empty builder, a bad text and a lesson too long for a link offer only what can be used."""

from __future__ import annotations

import dataclasses
import random
import string
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from fitcore import FitConfig
from fitcore.i18n import catalog
from fitcore.lessons import MAX_STEPS, Lesson, Question, Step, lesson_from_link, load_lesson
from tests.test_page_lesson import click, open_page, shown, widgets

T = catalog("en")


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """{file name: bytes} of every download button the page draws (AppTest keeps only a URL)."""
    files: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def record(self, data, mimetype, kind, filename=None):
        if filename is not None and isinstance(data, bytes):
            files[filename] = data
        return load(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return files


def fill(at: AppTest, **texts: str) -> None:
    """Type into the builder's text boxes: fill(at, title_en="...") fills builder_title_en."""
    for name, text in texts.items():
        key = f"builder_{name}"
        boxes = [w for w in (*at.text_input, *at.text_area) if w.key == key]
        assert boxes, key
        boxes[0].input(text)


def link_data(at: AppTest) -> str | None:
    """The lesson_data of the builder's link, None when the page shows none."""
    for code in at.code:
        if "lesson_data=" in code.value:
            return parse_qs(urlsplit(code.value).query)["lesson_data"][0]
    return None


def builder_keys(at: AppTest) -> set[str]:
    return {b.key for b in at.get("download_button")}


def page_cfg(at: AppTest) -> FitConfig:
    return at.session_state["page"].cfg


def record_two_steps(at: AppTest) -> tuple[FitConfig, FitConfig]:
    """Two steps set up through the page's widgets; the page's config at each record."""
    at.selectbox(key="model").set_value("linear").run()
    at.select_slider(key="lr").set_value(0.5)
    at.number_input(key="steps").set_value(200).run()
    first = page_cfg(at)
    fill(at, title_en="Big steps", title_zh="大步", text_en="Watch **the loss**.")
    fill(at, text_zh="看**损失**。")
    at.multiselect(key="builder_hide").set_value(["model", "lr"])
    at.checkbox(key="builder_ask").check().run()
    fill(at, prompt_en="Will it settle?", prompt_zh="它会稳定吗？")
    fill(at, choices_en="Yes\nNo\n", choices_zh="会\n不会")
    fill(at, explanation_en="0.5 is still small here.", explanation_zh="这里 0.5 还不算大。")
    at.number_input(key="builder_answer").set_value(1)
    click(at, "builder_add")
    assert not at.error, [e.value for e in at.error]

    at.selectbox(key="dataset").set_value("sine")
    at.select_slider(key="speed").set_value("fast")
    at.toggle(key="show_residuals").set_value(True).run()
    second = page_cfg(at)
    fill(at, title_en="A wave", title_zh="", text_en="A line cannot follow it.", text_zh="")
    at.multiselect(key="builder_hide").set_value(["dataset"])
    at.checkbox(key="builder_ask").uncheck().run()
    click(at, "builder_add")
    assert not at.error, [e.value for e in at.error]
    fill(at, name="my-walk", lesson_en="My walk", lesson_zh="我的课")
    at.run()
    return first, second


def expected(first: FitConfig, second: FitConfig) -> Lesson:
    """The lesson record_two_steps builds, written out by hand."""
    return Lesson(
        name="my-walk",
        title_en="My walk",
        title_zh="我的课",
        steps=(
            Step(
                title_en="Big steps",
                title_zh="大步",
                text_en="Watch **the loss**.",
                text_zh="看**损失**。",
                config=first,
                hide=("model", "lr"),  # in the order of the page's controls
                question=Question(
                    prompt_en="Will it settle?",
                    prompt_zh="它会稳定吗？",
                    choices_en=("Yes", "No"),
                    choices_zh=("会", "不会"),
                    answer=0,
                    explanation_en="0.5 is still small here.",
                    explanation_zh="这里 0.5 还不算大。",
                ),
            ),
            Step(
                title_en="A wave",
                title_zh="A wave",  # an empty Chinese text shows the English one
                text_en="A line cannot follow it.",
                text_zh="A line cannot follow it.",
                config=second,
                speed="fast",
                toggles=(("show_residuals", True),),
                hide=("dataset",),
            ),
        ),
    )


def test_recorded_steps_come_back_from_the_file_and_the_link(downloads):
    at = open_page()
    first, second = record_two_steps(at)
    # the widgets set the page's settings, and those are what each step recorded
    assert first == FitConfig(model="linear", lr=0.5, steps=200)
    assert second == dataclasses.replace(first, dataset="sine")
    want = expected(first, second)
    assert "builder_download" in builder_keys(at)
    from_file = load_lesson(downloads["my-walk.toml"].decode("utf-8"), "my-walk.toml", "x")
    assert from_file == want
    data = link_data(at)
    assert data is not None and lesson_from_link(data) == want


def test_the_builders_link_opens_its_first_step_in_a_fresh_page(downloads):
    at = open_page()
    want = expected(*record_two_steps(at))
    fresh = open_page(lesson_data=link_data(at))
    shown(fresh, want.steps[0], "en")
    found = widgets(fresh)
    assert "model" not in found and "lr" not in found
    assert found["steps"].value == 200 and found["dataset"].value == "quadratic"
    assert any("Will it settle?" in m.value for m in fresh.markdown)
    assert fresh.radio[0].options == ["Yes", "No"]
    click(fresh, "lesson_next")
    shown(fresh, want.steps[1], "en")
    assert widgets(fresh)["speed"].value == "fast"


def test_an_empty_builder_offers_no_file_and_no_link(downloads):
    at = open_page()
    assert "builder_download" not in builder_keys(at) and link_data(at) is None
    assert any(c.value == T["builder_empty"] for c in at.caption)
    assert at.button(key="builder_remove").disabled and at.button(key="builder_clear").disabled
    click(at, "builder_add")  # nothing written: nothing recorded, and the page says what is missing
    missing = T["builder_missing"].split("{")[0]
    assert any(missing in e.value and T["builder_title_en"] in e.value for e in at.error)
    assert at.session_state["page"].built == ()
    assert "builder_download" not in builder_keys(at) and link_data(at) is None


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_text_the_parser_refuses_is_not_recorded_and_says_why(lang):
    at = open_page(lang=lang)
    fill(at, title_en="Tags", text_en="<script>alert(1)</script>")
    click(at, "builder_add")
    lead = catalog(lang)["builder_bad_step"].split("{")[0]
    assert any(lead in e.value and "HTML" in e.value for e in at.error), at.error
    assert at.session_state["page"].built == ()


def test_a_wrong_answer_number_is_refused():
    at = open_page()
    fill(at, title_en="Q", text_en="Q")
    at.checkbox(key="builder_ask").check().run()
    fill(at, prompt_en="?", choices_en="a\nb", explanation_en="because")
    at.number_input(key="builder_answer").set_value(3)
    click(at, "builder_add")
    assert any("answer" in e.value for e in at.error)
    assert at.session_state["page"].built == ()


def test_a_lesson_too_long_for_a_link_offers_only_the_file(downloads):
    at = open_page()
    noise = random.Random(0)  # letters that do not compress: 3 steps make a link of ~19 KB

    def text() -> str:
        return "".join(noise.choice(string.ascii_letters) for _ in range(4000))

    for k in range(3):
        fill(at, title_en=f"Long {k}", text_en=text(), text_zh=text())
        click(at, "builder_add")
    fill(at, lesson_en="Long")
    at.run()
    assert len(at.session_state["page"].built) == 3
    assert link_data(at) is None
    assert any(T["builder_too_long"].split("(")[0] in w.value for w in at.warning)
    lesson = load_lesson(downloads["my-lesson.toml"].decode("utf-8"), "my-lesson.toml")
    assert [s.title_en for s in lesson.steps] == ["Long 0", "Long 1", "Long 2"]


def test_remove_the_last_step_and_clear():
    at = open_page()
    for title in ("One", "Two"):
        fill(at, title_en=title, text_en=title)
        click(at, "builder_add")
    assert [s.title_en for s in at.session_state["page"].built] == ["One", "Two"]
    click(at, "builder_remove")
    assert [s.title_en for s in at.session_state["page"].built] == ["One"]
    click(at, "builder_clear")
    assert at.session_state["page"].built == ()


def test_a_lesson_holds_at_most_the_schemas_steps():
    at = open_page()
    fill(at, title_en="Last", text_en="Last")
    step = Step("s", "s", "s", "s", FitConfig())
    at.session_state["page"].built = (step,) * (MAX_STEPS - 1)
    click(at, "builder_add")
    assert len(at.session_state["page"].built) == MAX_STEPS
    assert at.button(key="builder_add").disabled
    assert any(T["builder_full"].format(max=MAX_STEPS) == c.value for c in at.caption)
