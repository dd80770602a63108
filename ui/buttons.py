"""Train / Pause / Step / Reset, the replay slider, and the signal that starts an autoplay."""

from __future__ import annotations

import streamlit as st

from fitcore.player import SharedRun
from ui.state import PageState, while_paused

# Keys, through st.button's own `shortcut` (Streamlit shows each on its button and ignores it
# while the student types in a box; C and R are Streamlit's own). Space plays and pauses: it
# belongs to Train while paused and to Pause while playing, as one key cannot be bound to two
# buttons. A lesson's Back and Next take PageUp and PageDown (ui/lesson.py). The How-it-works
# tab lists them all (catalog key how_keys).
PLAY_PAUSE = "Space"
SHORTCUTS = {"step": "Right", "reset": "Home"}


def buttons(state: PageState, T, run: SharedRun) -> None:
    at_end = run.is_last(state.cursor)
    started = state.cursor > 0 or state.advance
    label = T["again"] if at_end else (T["resume"] if started else T["train"])
    icon = ":material/replay:" if at_end else ":material/play_arrow:"
    # a horizontal container lets the buttons flow in rows on a phone; columns would stack
    with st.container(horizontal=True, key="controls"):
        st.button(
            label,
            key="train",
            icon=icon,
            on_click=state.play,
            args=(at_end,),
            type="primary",
            width="stretch",
            shortcut=None if state.playing else PLAY_PAUSE,
        )
        st.button(
            T["pause"],
            key="pause",
            icon=":material/pause:",
            on_click=state.pause,
            width="stretch",
            shortcut=PLAY_PAUSE if state.playing else None,
        )
        for key, icon, action in (
            ("step", ":material/skip_next:", state.step),
            ("reset", ":material/restart_alt:", state.reset),
        ):
            st.button(
                T[key],
                key=key,
                icon=icon,
                on_click=action,
                width="stretch",
                shortcut=SHORTCUTS[key],
            )


def replay(state: PageState, T, run: SharedRun) -> None:
    """A slider over the stored frames: scrub back through the run (pauses it)."""
    if state.playing:
        return
    steps = [f.step for f in run.frames if f.step <= state.cursor and not f.diverged]
    if len(steps) < 2:
        return
    st.session_state["replay"] = steps[-1]
    st.select_slider(
        T["replay"],
        options=steps,
        key="replay",
        on_change=while_paused(state, lambda: state.show(st.session_state["replay"])),
        help=T["replay_help"],
    )
    best = run.best_step(state.cursor)
    if best is not None and best != state.cursor:
        st.button(
            T["best_step"].format(step=best),
            key="best_step",
            on_click=state.show,
            args=(best,),
            help=T["best_step_help"],
            icon=":material/vertical_align_bottom:",
        )


# Runs in the browser: reports once the status and both live charts are on screen. An autoplay
# link started training as the script finished, and the browser drew its first frame only
# after the timer had run 4-7 frames on (steps 0-600 of the parabola were never shown).
READY_JS = """
export default function ({ setTriggerValue }) {
  const started = performance.now();
  const drawn = () => {
    const status = document.querySelector('.st-key-status');
    const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
    return status && status.innerText.trim() && charts.length >= 2
      && charts.every((c) => c.querySelector('canvas, svg'));
  };
  const poll = () => {
    if (drawn() || performance.now() - started > 15000) {
      // two animation frames: what was laid out has been painted
      requestAnimationFrame(() => requestAnimationFrame(() => setTriggerValue('ready', true)));
    } else {
      setTimeout(poll, 50);
    }
  };
  poll();
}
"""


@st.cache_resource
def _ready_signal():
    """The page_ready component, registered once per server process."""
    return st.components.v2.component("fitlab_page_ready", js=READY_JS)


def autoplay(state: PageState) -> None:
    """An autoplay link starts playing once the browser has drawn step 0."""
    if state.armed:
        _ready_signal()(key="page_ready", on_ready_change=state.play)
