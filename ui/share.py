"""The link: its warnings, the address kept in step with the settings, the share and teacher
panels."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from fitcore import FitConfig
from fitcore.config import HIDEABLE, UiSettings
from ui.common import escape_md
from ui.state import PageState


def link_warnings(state: PageState, T) -> None:
    """What in the opening link could not be used, in the page's language."""
    query, lang = state.link_query, state.lang
    found = UiSettings.from_query(query, lang=lang)[1] + FitConfig.from_query(query, lang=lang)[1]
    if found:
        lines = "\n".join(f"- {escape_md(w)}" for w in found)
        st.warning(T["link_warnings"] + "\n\n" + lines)


def sync_query(state: PageState) -> None:
    """Write the settings into the URL, only when they changed (each write is a history entry)."""
    # in a lesson, the step's address: a link to it opens the same step for a whole class
    wanted = state.lesson_query() or {**state.cfg.to_query(), **state.ui_settings().to_query()}
    if wanted != st.query_params.to_dict():
        st.query_params.from_dict(wanted)


def share_link(query: dict[str, str]) -> str:
    """The page's address with `query`; commas stay commas (hidden=32,32 reads as typed)."""
    base = (st.context.url or "http://localhost:8501/").split("?")[0]
    if not base.endswith("/"):
        base += "/"  # st.context.url has no slash after the host
    return base + ("?" + urlencode(query, safe=",") if query else "")


def share_panel(state: PageState, T) -> None:
    with st.expander(T["share_panel"], icon=":material/share:"):
        st.caption(T["share_text"])
        st.code(share_link(st.query_params.to_dict()), language="text")
        if state.cfg.dataset == "csv" or state.edits.any:
            st.warning(T["share_not_carried"], icon=":material/link_off:")
    if state.hide:
        return  # a student's page: no teacher tools
    with st.expander(T["teacher_panel"], icon=":material/school:"):
        st.caption(T["teacher_text"])
        cols = st.columns(3)
        hide = [
            name
            for i, name in enumerate(HIDEABLE)
            if cols[i % 3].checkbox(T["language" if name == "lang" else name], key=f"teach_{name}")
        ]
        autoplay = st.checkbox(T["autoplay"], key="teach_autoplay")
        ui = state.ui_settings(autoplay=autoplay, hide=tuple(hide))
        st.code(share_link({**state.cfg.to_query(), **ui.to_query()}), language="text")
