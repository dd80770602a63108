"""The lesson bar: a lesson's step at the top of the page, Back and Next, its question card;
and the Lessons panel that opens a built-in lesson or a teacher's file.

A step is applied as its link would be (PageState.open_step): the sidebar then draws only the
controls the step leaves visible. Lesson text is Markdown from a file or a link: fitcore.lessons
refuses HTML tags and images in it, and st.markdown shows it without unsafe HTML.
"""

from __future__ import annotations

import streamlit as st

from fitcore.lessons import (
    LESSONS,
    NAME,
    LessonError,
    get_lesson,
    lesson_from_link,
    load_lesson_file,
)
from fitcore.player import SharedRun
from ui.common import escape_md
from ui.state import PageState


def bar(state: PageState, T):
    """The lesson bar (or a note on what in the link could not be used); returns the slot the
    question card fills once the run is known."""
    if not state.lesson_checked:
        state.lesson_checked = True
        _open_from_link(state)
    _problem(state, T)
    if state.lesson is None:
        _panel(state, T)
        return None
    lesson, k = state.lesson, state.lesson_step
    step = lesson.steps[k]
    with st.container(border=True, key="lesson_bar"):
        st.caption(
            escape_md(lesson.title(state.lang))
            + " · "
            + T["lesson_step_of"].format(k=k + 1, n=len(lesson.steps))
        )
        st.subheader(step.text("title", state.lang), anchor=False)
        st.markdown(step.text("text", state.lang))
        if step.notice_en:
            st.info(step.text("notice", state.lang), icon=":material/visibility:")
        slot = st.container()
        back, next_, leave = st.columns(3)
        back.button(
            T["lesson_back"],
            key="lesson_back",
            disabled=k == 0,
            on_click=state.open_step,
            args=(lesson, max(k - 1, 0)),
            shortcut="PageUp",
            icon=":material/arrow_back:",
            width="stretch",
        )
        next_.button(
            T["lesson_next"],
            key="lesson_next",
            type="primary",
            disabled=k == len(lesson.steps) - 1,
            on_click=state.open_step,
            args=(lesson, min(k + 1, len(lesson.steps) - 1)),
            shortcut="PageDown",
            icon=":material/arrow_forward:",
            width="stretch",
        )
        leave.button(
            T["lesson_leave"],
            key="lesson_leave",
            on_click=state.leave_lesson,
            icon=":material/logout:",
            width="stretch",
        )
    return slot


def question(state: PageState, T, run: SharedRun, slot) -> None:
    """The step's prediction; its answer once the run has reached its end, or on Reveal."""
    if slot is None or state.lesson is None:
        return
    q = state.lesson.steps[state.lesson_step].question
    if q is None:
        return
    lang = state.lang
    with slot.container(border=True, key="lesson_question"):
        st.markdown("**" + T["lesson_question"] + "** " + q.text("prompt", lang))
        choices = q.choices(lang)
        picked = st.radio(
            T["lesson_choices"],
            range(len(choices)),
            index=None,
            format_func=lambda i: choices[i],
            key=f"lesson_q_{state.lesson.name}_{state.lesson_step}_{lang}",
            label_visibility="collapsed",
        )
        if run.is_last(state.cursor) and state.cursor > 0:
            state.revealed = True
        if not state.revealed:
            st.caption(T["lesson_wait"])
            st.button(T["lesson_reveal"], key="lesson_reveal", on_click=_reveal, args=(state,))
            return
        if picked is not None:
            (st.success if picked == q.answer else st.warning)(
                T["lesson_right"] if picked == q.answer else T["lesson_wrong"]
            )
        st.markdown(
            T["lesson_answer"].format(answer=escape_md(choices[q.answer]))
            + "  \n"
            + q.text("explanation", lang)
        )


def _reveal(state: PageState) -> None:
    state.revealed = True


def _open_from_link(state: PageState) -> None:
    """The lesson the opening link names (lesson= or lesson_data=, and step=), if any."""
    query = state.link_query
    name = query["lesson"][-1] if query.get("lesson") else None
    data = query["lesson_data"][-1] if query.get("lesson_data") else None
    if name is None and data is None:
        return
    try:
        lesson = lesson_from_link(data) if data is not None else get_lesson(name or "")
    except LessonError as error:
        if data is not None:
            state.lesson_problem = ("bad_data", {"error": str(error)})
        elif NAME.fullmatch(name or ""):
            state.lesson_problem = ("unknown", {"name": name})
        else:
            state.lesson_problem = ("bad_name", {"name": name})
        return
    text = (query.get("step") or ["1"])[-1]
    count = len(lesson.steps)
    try:
        k = int(text)
    except ValueError:
        k = 0
    if not 1 <= k <= count:
        shown = min(max(k, 1), count)
        state.open_step(lesson, shown - 1)
        state.lesson_problem = ("step_range", {"step": text, "count": count, "shown": shown})
        return
    state.open_step(lesson, k - 1)


def _problem(state: PageState, T) -> None:
    if state.lesson_problem is None:
        return
    code, values = state.lesson_problem
    messages = {
        "unknown": T["lesson_unknown"],
        "bad_name": T["lesson_bad_name"],
        "step_range": T["lesson_step_range"],
        "bad_data": T["lesson_bad_data"],
        "bad_file": T["lesson_bad_file"],
    }
    shown = {k: escape_md(v) for k, v in values.items()}
    st.warning(messages[code].format(**shown), icon=":material/school:")


def _panel(state: PageState, T) -> None:
    """Open a built-in lesson, or a teacher's lesson file (checked like any other)."""
    with st.sidebar.expander(T["lesson_panel"], icon=":material/school:"):
        names = sorted(LESSONS)
        st.selectbox(
            T["lesson_pick"],
            names,
            key="lesson_pick",
            format_func=lambda n: LESSONS[n].title(state.lang),
        )
        st.button(T["lesson_open"], key="lesson_open", on_click=_open_picked, args=(state,))
        st.file_uploader(
            T["lesson_upload"],
            type=["toml"],
            key="lesson_file",
            on_change=_open_file,
            args=(state,),
        )


def _open_picked(state: PageState) -> None:
    state.open_step(LESSONS[st.session_state["lesson_pick"]], 0)


def _open_file(state: PageState) -> None:
    file = st.session_state.get("lesson_file")
    if file is None:
        return
    try:
        lesson = load_lesson_file(file.getvalue(), file.name)
    except LessonError as error:
        state.lesson_problem = ("bad_file", {"error": str(error)})
        return
    state.open_step(lesson, 0)
