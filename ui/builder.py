"""The lesson builder: a teacher records the page's current settings as a lesson's steps, with
their text, question and hidden controls, and takes the lesson away as a file and as a link.

Nothing is offered that the page could not open: every step, and then the whole lesson, goes
through the real parser (lesson_to_toml, then load_lesson), and what the teacher gets is what
it read back. The steps are kept in the session's PageState (PageState.built), at most
lessons.MAX_STEPS of them.
"""

from __future__ import annotations

import streamlit as st

from fitcore.config import HIDEABLE
from fitcore.lessons import (
    MAX_CHOICES,
    MAX_LINK,
    MAX_STEPS,
    TOGGLES,
    Lesson,
    LessonError,
    Question,
    Step,
    lesson_to_link,
    lesson_to_toml,
    load_lesson,
)
from ui.common import escape_md
from ui.share import share_link
from ui.state import PageState


def lesson_builder(state: PageState, T) -> None:
    """The builder's panel: on a teacher's page only (a student's link hides controls)."""
    if state.hide:
        return
    with st.expander(T["builder_panel"], icon=":material/construction:"):
        st.caption(T["builder_intro"])
        name, title_en, title_zh = st.columns([1, 2, 2])
        name.text_input(T["builder_name"], value="my-lesson", key="builder_name")
        title_en.text_input(T["builder_lesson_en"], key="builder_lesson_en")
        title_zh.text_input(T["builder_lesson_zh"], key="builder_lesson_zh")
        _step_fields(T)
        count = len(state.built)
        add, remove, clear = st.columns(3)
        add.button(
            T["builder_add"].format(n=count + 1),
            key="builder_add",
            type="primary",
            disabled=count >= MAX_STEPS,
            on_click=_record,
            args=(state, T),
            icon=":material/add_a_photo:",
            width="stretch",
        )
        remove.button(
            T["builder_remove"],
            key="builder_remove",
            disabled=count == 0,
            on_click=_remove_last,
            args=(state,),
            icon=":material/undo:",
            width="stretch",
        )
        clear.button(
            T["builder_clear"],
            key="builder_clear",
            disabled=count == 0,
            on_click=_clear,
            args=(state,),
            icon=":material/delete:",
            width="stretch",
        )
        if state.built_problem is not None:
            st.error(state.built_problem, icon=":material/error:")
        if count >= MAX_STEPS:
            st.caption(T["builder_full"].format(max=MAX_STEPS))
        _steps_list(state, T)
        _offer(state, T)


def _step_fields(T) -> None:
    """The step's own text and question, English beside Chinese."""
    en, zh = st.columns(2)
    en.text_input(T["builder_title_en"], key="builder_title_en")
    zh.text_input(T["builder_title_zh"], key="builder_title_zh")
    en.text_area(T["builder_text_en"], key="builder_text_en", height=100)
    zh.text_area(T["builder_text_zh"], key="builder_text_zh", height=100)
    st.multiselect(
        T["builder_hide"],
        HIDEABLE,
        key="builder_hide",
        format_func=lambda name: T["language" if name == "lang" else name],
        help=T["builder_hide_help"],
        placeholder=T["builder_hide_none"],  # Streamlit's own reads "Choose options"
    )
    if not st.checkbox(T["builder_ask"], key="builder_ask"):
        return
    en, zh = st.columns(2)
    en.text_input(T["builder_prompt_en"], key="builder_prompt_en")
    zh.text_input(T["builder_prompt_zh"], key="builder_prompt_zh")
    en.text_area(T["builder_choices_en"], key="builder_choices_en", height=100)
    zh.text_area(T["builder_choices_zh"], key="builder_choices_zh", height=100)
    en.text_input(T["builder_explanation_en"], key="builder_explanation_en")
    zh.text_input(T["builder_explanation_zh"], key="builder_explanation_zh")
    st.number_input(T["builder_answer"], 1, MAX_CHOICES, key="builder_answer")


def _pair(key: str) -> tuple[str, str]:
    """The English and Chinese inputs of `key`; one left empty takes the other's text."""
    en = (st.session_state.get(f"{key}_en") or "").strip()
    zh = (st.session_state.get(f"{key}_zh") or "").strip()
    return en or zh, zh or en


def _choices(key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    en, zh = _pair(key)
    return tuple(c.strip() for c in en.splitlines() if c.strip()), tuple(
        c.strip() for c in zh.splitlines() if c.strip()
    )


def _record(state: PageState, T) -> None:
    """The page's settings as the next step, once the parser has read the step back."""
    state.built_problem = None
    if len(state.built) >= MAX_STEPS:
        return
    title, text = _pair("builder_title"), _pair("builder_text")
    missing = [
        label
        for label, pair in ((T["builder_title_en"], title), (T["builder_text_en"], text))
        if not pair[0]
    ]
    question = None
    if st.session_state.get("builder_ask"):
        prompt, why = _pair("builder_prompt"), _pair("builder_explanation")
        choices = _choices("builder_choices")
        missing += [
            label
            for label, pair in (
                (T["builder_prompt_en"], prompt),
                (T["builder_choices_en"], choices),
                (T["builder_explanation_en"], why),
            )
            if not pair[0]
        ]
        question = Question(
            prompt_en=prompt[0],
            prompt_zh=prompt[1],
            choices_en=choices[0],
            choices_zh=choices[1],
            answer=int(st.session_state.get("builder_answer") or 1) - 1,
            explanation_en=why[0],
            explanation_zh=why[1],
        )
    if missing:
        state.built_problem = T["builder_missing"].format(fields=", ".join(missing))
        return
    default = PageState(cfg=state.cfg, link_query={}).display  # what a step starts from
    step = Step(
        title_en=title[0],
        title_zh=title[1],
        text_en=text[0],
        text_zh=text[1],
        config=state.cfg,
        speed=state.speed,
        toggles=tuple((k, state.display[k]) for k in TOGGLES if state.display[k] != default[k]),
        hide=tuple(h for h in HIDEABLE if h in (st.session_state.get("builder_hide") or ())),
        question=question,
    )
    try:
        lesson = _checked(Lesson("draft", "draft", "draft", (*state.built, step)))
    except LessonError as error:
        state.built_problem = T["builder_bad_step"].format(error=escape_md(error))
        return
    state.built = lesson.steps


def _remove_last(state: PageState) -> None:
    state.built, state.built_problem = state.built[:-1], None


def _clear(state: PageState) -> None:
    state.built, state.built_problem = (), None


def _checked(lesson: Lesson) -> Lesson:
    """The lesson as the parser reads its file back; LessonError when it would not."""
    read = load_lesson(lesson_to_toml(lesson), "lesson", lesson.name)
    if read != lesson:  # a text the file cannot carry as written
        raise LessonError("the lesson file does not read back as it was built")
    return read


def _steps_list(state: PageState, T) -> None:
    if not state.built:
        st.caption(T["builder_empty"])
        return
    st.markdown(T["builder_steps"].format(count=len(state.built), max=MAX_STEPS))
    lines = []
    for k, step in enumerate(state.built, start=1):
        settings = ", ".join(f"{key}={value}" for key, value in step.config.to_query().items())
        extra = [settings or T["builder_defaults"]]
        if step.hide:
            extra.append(T["builder_hides"].format(names=", ".join(step.hide)))
        if step.question is not None:
            extra.append(T["builder_asks"])
        lines.append(
            f"{k}. **{escape_md(step.text('title', state.lang))}**: " + escape_md("; ".join(extra))
        )
    st.markdown("\n".join(lines))


def _offer(state: PageState, T) -> None:
    """The file and the link of the lesson built so far, once the parser has read it back."""
    if not state.built:
        return
    title = _pair("builder_lesson")
    if not title[0]:
        st.info(T["builder_missing"].format(fields=T["builder_lesson_en"]), icon=":material/edit:")
        return
    name = (st.session_state.get("builder_name") or "").strip()
    try:
        lesson = _checked(Lesson(name, title[0], title[1], state.built))
    except LessonError as error:
        st.error(T["builder_bad_lesson"].format(error=escape_md(error)), icon=":material/error:")
        return
    st.download_button(
        T["builder_download"],
        data=lesson_to_toml(lesson).encode("utf-8"),
        file_name=f"{lesson.name}.toml",
        mime="application/toml",
        key="builder_download",
        on_click="ignore",
        icon=":material/download:",
    )
    try:
        link = lesson_to_link(lesson)
    except LessonError:
        st.warning(T["builder_too_long"].format(max=MAX_LINK // 1024), icon=":material/link_off:")
        return
    with st.container(key="builder_link"):
        st.caption(T["builder_link"])
        st.code(share_link({"lesson_data": link}), language="text", wrap_lines=True)
