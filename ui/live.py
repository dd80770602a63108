"""The live area: status, metrics, the fit and loss charts and the model, redrawn per frame."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import streamlit as st

from fitcore import FitConfig, charts
from fitcore.data import near
from fitcore.models import equation
from fitcore.player import SharedRun, TurnGate, residuals
from fitcore.train import one_thread
from ui import a11y, explain
from ui.common import (
    axis_titles,
    chart_labels,
    fmt,
    frame_gate,
    guarded,
    model_text,
    suggested_lr,
)
from ui.edits import edit_points
from ui.state import PageState, still_playing

# Seconds between frames per speed. At "max" each rerun first trains for MAX_BUDGET seconds
# (a computed run is charged what its frames cost to compute, so it replays at that pace).
# bench/page.py, final frame of blog-quadratic, medians of 3 on 2 busy cores: 120 ms per 150 ms
# was 3.79 s, 2.26x training alone (1.68 s) and 0.64x the blog's loop; 180 ms per 200 ms is
# 2.97 s, 1.72x and 0.63x (11 frames instead of 15: fewer drawings, each with Chromium drawing
# on the other core). Training on a prefetch thread instead was 0.71-0.79x the blog's loop (it
# contends with drawing for the GIL).
INTERVALS = {"slow": 0.33, "normal": 0.1, "fast": 0.033, "max": 0.2}
MAX_BUDGET = 0.18
# In a crowd each turn at the frame gate trains less, so that a page waits for about
# CROWD_ROUND_S of the others' training before its next turn: twenty students on twenty seeds
# waited 2.4 s between frames at the full budget, 1.1 s with this (bench/crowd.py; the rest of
# a turn is drawing). The whole run takes a little longer, as more frames are drawn.
CROWD_ROUND_S = 0.6
MIN_BUDGET = 0.03
# At max a fast machine could train a whole run in one budget: each rerun skips at most enough
# frames that a student still sees this many (the parabola taking shape, not just its end).
MIN_FRAMES_AT_MAX = 12


def live(state: PageState, T, run: SharedRun) -> None:
    """Everything that changes per frame; reruns alone on a timer while training.

    Call it after the rest of the page is drawn (inside the slot kept for it): the timer
    starts when the fragment is registered, and ticks that arrived while the page was still
    drawing would advance frames no student saw.
    """
    full_run = [True]  # the first call is this full run's; timer ticks come after it

    def frame_area() -> None:
        one_thread()  # a fragment rerun does not run the whole script; see train.one_thread
        if state.full_rerun:
            state.full_rerun = False
            st.rerun()  # a button inside this fragment changed a setting in the sidebar
        ticked, full_run[0] = not full_run[0], False
        gate = frame_gate()
        # A tick waits its turn (see frame_gate); a full run's first drawing of the frame on
        # screen does not, as the rest of the page it draws does not
        with gate.turn(between=still_playing) if ticked else contextlib.nullcontext():
            _frame(state, T, run, ticked, gate)

    every = INTERVALS[state.speed] if state.playing else None
    st.fragment(run_every=every)(lambda: guarded(T, frame_area))()


def _frame(state: PageState, T, run: SharedRun, ticked: bool, gate: TurnGate) -> None:
    """The live area's frame for this rerun: where the run is, or the next one when playing."""
    cfg = state.cfg
    frame = run.frame_at(state.cursor)
    # a full run (opening a link with autoplay, pressing Train) first shows where it is
    advance, state.advance = state.advance, False
    if advance or (state.playing and ticked):
        if state.playing and state.speed == "max":
            nxt = run.catch_up(
                frame.step,
                budget(gate),
                max_frames_per_rerun(cfg),
                between=still_playing,
            )
        else:
            nxt = run.after(frame.step)
        if nxt is not None:
            frame = nxt
        if state.playing and (nxt is None or frame.diverged or run.is_last(frame.step)):
            # the last frame first, here: the whole page's rerun below draws the sidebar
            # and the tabs before it reaches the status again (bench/page.py, final frame)
            draw(state, T, run, frame)
            state.cursor, state.playing = frame.step, False
            st.rerun()  # the whole page: stops the timer, relabels, adds the paused panels
    elif not state.playing and frame.step < state.cursor:
        # Step with the explain panel open walked past the frame: the run catches up to
        # the cursor (its history, the replay and the end follow), and a step it keeps
        # no frame of comes from the explain replay
        while (nxt := run.after(frame.step)) is not None and nxt.step <= state.cursor:
            frame = nxt
            if frame.diverged:
                break
        if frame.step != state.cursor and not frame.diverged:
            frame = explain.exact_frame(state, run) or frame
    draw(state, T, run, frame)  # moves the cursor once the frame's status is on its way
    if state.playing and state.speed != "max":
        # the next frame trains while the browser draws this one, so the next rerun
        # only draws (at max each rerun trains for its budget instead)
        run.prefetch(frame.step)


def budget(gate: TurnGate) -> float:
    """Seconds one rerun at max may train: MAX_BUDGET, less while others queue at the gate."""
    turns = 1 + gate.waiting / gate.slots  # gate rounds until this page's next turn
    return min(MAX_BUDGET, max(MIN_BUDGET, CROWD_ROUND_S / turns))


def max_frames_per_rerun(cfg: FitConfig) -> int:
    """At max, how many frames one rerun may skip ahead: a run shows MIN_FRAMES_AT_MAX."""
    frames = cfg.steps // cfg.every + 2  # step 0, every `every`, and the last
    return max(1, math.ceil(frames / MIN_FRAMES_AT_MAX))


def draw(state: PageState, T, run: SharedRun, frame) -> None:
    """Status, metrics, both charts and the model panel for one frame."""
    cfg = state.cfg
    # Read once: with Streamlit's fastReruns (Community Cloud forces it) a Pause's rerun starts
    # on a new thread while this one draws on to its next Streamlit call, and a frame that
    # began as playing and ended as paused asked a non-selectable chart for its selection
    # (bench/crowd.py, the teacher's link: one traceback in twenty students).
    paused = not state.playing
    # after a divergence, the last good fit stays
    shown = run.last_good(frame.step) if frame.diverged else frame
    with st.container(key="status"):
        st.progress(
            min(frame.step / cfg.steps, 1.0),
            text=T["status"].format(step=frame.step, steps=cfg.steps),
        )
    # The cursor is the step the status shows: set right after it is sent. A Pause stops a
    # playing rerun at its next Streamlit call; had the cursor moved before the status was
    # sent, or only after the rest of the frame, the Pause's own rerun would draw another step
    # than the one on screen: the status changed 250-440 ms after the click, at every speed.
    state.cursor = frame.step
    a11y.live_summary(state, T, run, frame, shown)  # the frame as a sentence, for screen readers
    if frame.diverged:
        suggestion = suggested_lr(state.run_key, cfg, run.points)
        st.error(
            T["diverged"].format(step=frame.step, lr=f"{cfg.lr:g}", suggestion=f"{suggestion:g}")
        )
        st.button(
            T["use_suggestion"].format(suggestion=f"{suggestion:g}"),
            key="use_lr",
            on_click=state.use_lr,
            args=(suggestion,),
        )
    with st.container(horizontal=True, key="metrics"):
        st.metric(T["train_loss"], fmt(shown.train_loss))
        if shown.test_loss is not None:
            st.metric(T["test_loss"], fmt(shown.test_loss))
        if cfg.model == "linear":
            st.metric(T["w"], fmt(shown.params["w"]))
            st.metric(T["b"], fmt(shown.params["b"]))
        else:
            st.metric(T["grad_norm"], fmt(shown.grad_norm))
    selection = _charts(state, T, run, frame, shown, editable=paused)
    if paused:
        edit_points(state, T, run, selection)
        explain.panel(state, T, run, frame)
    _model_panel(state, T, shown)


def _charts(state: PageState, T, run: SharedRun, frame, shown, *, editable: bool):
    """The fit chart (points clickable while paused) and the loss chart, side by side."""
    cfg, display, scene = state.cfg, state.display, run.scene
    labels = chart_labels(T)
    points = scene.points
    if state.edits.added:
        is_added = near(points, state.edits.added)
        points = points.assign(split=points["split"].where(~is_added, "added"))
    titles = axis_titles(state)
    y_domain = scene.y_domain if not frame.diverged else charts.widened(scene.y_domain, shown.curve)
    structure = (
        state.run_key,
        walking_residuals(state),
        state.lang,
        tuple(sorted(display.items())),
        editable,
        titles,
        y_domain,
    )
    fit_layers: dict[str, Any] = {
        "truth": scene.truth if display["show_truth"] else None,
        "reference": scene.reference if display["show_reference"] else None,
        "units": shown.units if display["show_units"] else None,  # None unless an MLP
        "residuals": _residuals(state, scene, shown),
    }
    loss_layers: dict[str, Any] = {
        "log": display["log_loss"],
        "reference_loss": scene.reference_loss if display["show_reference"] else None,
    }
    history = run.history(frame.step)  # a diverged run's history shows the blow-up
    best = run.best_step(frame.step)  # early stopping's step: the lowest test loss so far
    left, right = st.columns(2)
    with left:
        selection = live_chart(
            ("fit", *structure),
            lambda: charts.fit_chart(
                points,
                shown.curve,
                **fit_layers,
                x_domain=scene.x_domain,
                y_domain=y_domain,
                labels=labels,
                selectable=editable,
                x_title=titles[0],
                y_title=titles[1],
            ),
            charts.fit_data(points, shown.curve, **fit_layers, labels=labels),
            # a new key per edit: a selection must not outlive the points it picked
            key=f"fit_chart_{len(state.edits.removed)}_{len(state.edits.added)}",
            on_select="rerun" if editable else "ignore",
            selection_mode="picked" if editable else None,
        )
    with right:
        live_chart(
            ("loss", *structure),
            lambda: charts.loss_chart(
                history, **loss_layers, steps=cfg.steps, labels=labels, best=best
            ),
            charts.loss_data(history, **loss_layers, labels=labels, best=best),
            key="loss_chart",
        )
        if best is not None and best < frame.step:  # the test loss has risen since
            st.caption(T["early_stopping"].format(step=best))
    if fit_layers["units"] is not None:
        st.caption(T["units_text"])
    if fit_layers["reference"] is not None:
        st.caption(T["reference_text"])
    return selection


def walking_residuals(state: PageState) -> bool:
    """The loss and backward stages of a walk through the explain panel draw the residuals."""
    return state.explaining and not state.playing and state.stage in (2, 3)


def _residuals(state: PageState, scene, frame):
    """The residual sticks' table (x, y, y_hat, in_batch), or None when they are not shown."""
    if not (state.display["show_residuals"] or walking_residuals(state)):
        return None
    return residuals(scene, frame)


def live_chart(structure: tuple, build, data: dict, **kwargs):
    """Draw an Altair chart from its spec, compiled once per `structure`, and this frame's data.

    `structure` must name everything that shapes the spec apart from the data (the run, the
    language, the toggles); `build()` makes the Altair chart, called only when that spec is not
    compiled yet; `data` is the chart's tables by layer name (charts.fit_data, loss_data).
    Building and compiling a chart costs more than the rest of a frame; with a stable spec the
    browser also swaps the data in place instead of rebuilding the chart.
    """
    spec = compiled_spec(structure, build)
    tables = {name: charts.arrow_table(df) for name, df in data.items()}
    return st.vega_lite_chart(spec={**spec, "datasets": tables}, width="stretch", **kwargs)


@st.cache_resource(max_entries=256)
def compiled_spec(structure: tuple, _build) -> dict:
    """Shared across sessions and never mutated: callers copy it before adding data."""
    free, _ = charts.split_data(_build())
    return charts.compile_spec(free)


def _model_panel(state: PageState, T, frame) -> None:
    with st.expander(T["model_panel"]):
        text, count = model_text(state.run_key, state.cfg)
        st.code(text, language="text")
        st.caption(T["params_count"].format(count=count))
        if frame.params:
            st.markdown(f"**{T['equation']}**")
            st.latex(equation(frame.params))
