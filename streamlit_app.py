"""FitLab: watch PyTorch fit a curve by gradient descent.

This file is the page's outline, top to bottom as a student sees it. The parts are in ui/, the
work in fitcore/ (which never imports streamlit).
"""

# The starting-up note below is drawn before the imports that load torch.
# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` runs this file only once a browser connects, so a fresh server's first page
# imports torch and trains one step (torch_setup) before it can draw anything: 3.5 s here (see
# docs/benchmarks.md, First load). This note stands in for Streamlit's grey placeholders until
# then. Not in the catalogs: fitcore.i18n imports the fitcore package, and so torch.
STARTING = {
    "en": "Starting up: loading PyTorch, a few seconds…",
    "zh": "正在启动：加载 PyTorch，需要几秒钟……",
}
st.set_page_config(layout="wide")  # before the first element, so nothing moves after it
starting = st.empty()  # on every run, so that the page's elements keep their places
if "fitcore" not in sys.modules:  # the server's first page: the imports below take seconds
    # in the link's language; without one, both (reading the browser's is fitcore's work)
    starting.info(STARTING.get(st.query_params.get("lang"), "  \n".join(STARTING.values())))

from ui import boot

boot.load()  # fitcore's first import, in one thread: two first pages at once broke it

from fitcore.config import run_key
from fitcore.i18n import catalog
from fitcore.train import one_thread
from ui import a11y, buttons, controls, edits, lesson, live, share, tabs
from ui.builder import lesson_builder
from ui.common import guarded, shared_run, torch_setup
from ui.state import PageState, page_state

# Served by this server: a Material icon as page_icon is fetched from fonts.gstatic.com, which
# schools offline and networks in mainland China cannot reach.
FAVICON = str(Path(__file__).parent / "assets" / "favicon.png")

# Streamlit's wide layout leaves ~110 px above the title: on a laptop that pushes the charts
# below the fold. The four buttons stay in one row, also on a phone (Reset sat alone on a
# second row at 390 px), with their labels on one line.
PAGE_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
.st-key-controls { flex-wrap: nowrap !important; }
.st-key-controls button p { white-space: nowrap; }
@media (max-width: 640px) {
  .st-key-controls { gap: 0.4rem !important; }
  .st-key-controls button { padding-left: 0.3rem; padding-right: 0.3rem; min-width: 0; }
}
</style>"""


def main() -> None:
    one_thread()
    torch_setup()
    state = page_state()  # made from the link on a session's first run
    T = catalog(state.lang)
    st.set_page_config(page_title=T["page_title"], page_icon=FAVICON)
    st.html(PAGE_CSS)
    a11y.page_language(state.lang)  # <html lang>: Streamlit always writes "en"
    starting.empty()  # the page takes its place
    guarded(T, lambda: page(state, T))


def page(state: PageState, T) -> None:
    st.title(T["title"])
    st.caption(T["subtitle"])
    share.link_warnings(state, T)
    card = lesson.bar(state, T)  # a lesson's step, applied before the sidebar draws it

    # the settings, and the run they name
    cfg = controls.sidebar(state, T)
    share.sync_query(state)
    points = edits.run_points(state)  # an upload or edited points; None for generated data
    if cfg.dataset == "csv" and points is None:
        st.info(T["need_upload"])
        return
    key = run_key(cfg, points)
    if state.new_run(key):
        st.toast(T["restarted"])
    run = shared_run(key, cfg, points)  # shared by every session on this server
    lesson.question(state, T, run, card)  # answered once this run has reached its end

    bar = st.container()  # the buttons: drawn once the live area has moved to its frame
    slot = st.container()  # the live area, filled last but for the buttons (see live.live)
    tabs.views(state, T, run, points)
    share.share_panel(state, T)
    lesson_builder(state, T)  # a teacher's own lesson, from the settings on the page
    with slot:
        live.live(state, T, run)
    with bar:  # labelled for the step on screen: Train again once Step reached the end
        buttons.buttons(state, T, run)
        buttons.replay(state, T, run)
    buttons.autoplay(state)


main()
