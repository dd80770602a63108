"""The teaching views below the live area; redrawn on full reruns, not every frame."""

from __future__ import annotations

import streamlit as st

from fitcore.player import SharedRun
from ui import explain
from ui.state import PageState
from ui.tabs import code, landscape, race, sweep


def views(state: PageState, T, run: SharedRun, points) -> None:
    frame = run.frame_at(state.cursor)
    if state.advance:  # Step was pressed: the live area below moves on to this frame
        frame = run.after(frame.step) or frame
    elif not state.playing and frame.step != state.cursor:
        frame = explain.exact_frame(state, run) or frame  # Step walked between two frames
    parts = {
        "landscape_panel": lambda: landscape.view(state, T, run, frame),
        "how_panel": lambda: code.how_it_works(T),
        "race_panel": lambda: race.view(state, T, run, points),
        "sweep_panel": lambda: sweep.view(state, T, run, points),
        "code_panel": lambda: code.script(state, T, points),
        "download_panel": lambda: code.downloads(state, T, run, points, frame),
    }
    if state.cfg.model != "linear":
        del parts["landscape_panel"]  # a (w, b) landscape exists for the line only
    for tab, part in zip(st.tabs([T[name] for name in parts]), parts.values(), strict=True):
        with tab:
            part()
