"""The loss landscape of the line model, with the path gradient descent took across it."""

from __future__ import annotations

import streamlit as st

from fitcore import charts, landscape
from fitcore.explain import ExplainError
from fitcore.player import SharedRun
from ui import explain
from ui.common import chart_labels, explained, loss_grid
from ui.state import PageState


def view(state: PageState, T, run: SharedRun, frame) -> None:
    st.caption(T["landscape_text"])
    pts = run.scene.points
    train = pts[pts["split"] == "train"]
    x, y = train["x"].to_numpy(), train["y"].to_numpy()
    path = landscape.descent_path(run.frames, frame.step)
    minimum = landscape.least_squares_line(x, y)
    w_range, b_range = landscape.ranges(
        x, y, path["w"].tolist(), path["b"].tolist(), minimum=minimum
    )
    arrows, factor = None, None
    if not state.playing and state.explaining and not frame.diverged:
        step = explain.explained_step(state.cfg, frame)
        ex = explained(state.run_key, state.cfg, run.points, step)
        if not isinstance(ex, ExplainError) and ex.step == frame.step:
            arrows, factor = landscape.step_arrows(ex, w_range, b_range)
    st.altair_chart(
        charts.landscape_chart(
            loss_grid(x, y, w_range, b_range, state.cfg.loss),
            path,
            minimum=minimum,
            current=(frame.params["w"], frame.params["b"]),
            arrows=arrows,
            labels=chart_labels(T),
        ),
        width="stretch",
    )
    if factor is not None:
        st.caption(T["landscape_arrows"].format(step=frame.step, factor=f"{factor:g}"))
