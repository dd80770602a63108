"""Small helpers every part of the page uses, and the results cached for the whole server."""

from __future__ import annotations

import gc
import logging
import math
import os

import pandas as pd
import streamlit as st

from fitcore import FitConfig, charts, landscape, race
from fitcore.advice import suggest_lr
from fitcore.codegen import export_script
from fitcore.explain import Explainer, ExplainError, StepExplained
from fitcore.models import describe_run
from fitcore.player import SharedRun, TurnGate
from fitcore.sweeps import SharedSweep
from fitcore.train import train_iter

log = logging.getLogger("fitlab")


def guarded(T, part) -> None:
    """Run one part of the page; an unexpected error becomes a plain message, logged in full.

    Students never see a traceback. Tests set FITLAB_RAISE=1 so that errors fail them.
    """
    try:
        part()
    except Exception:
        if os.environ.get("FITLAB_RAISE"):
            raise
        log.exception("FitLab page error")
        st.error(T["internal_error"])


def escape_md(text: object) -> str:
    """User text made inert for Streamlit's markdown: every punctuation mark backslash-escaped."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>~$:=&\"'" else c for c in str(text))


def fmt(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def chart_labels(T) -> dict[str, str]:
    return {key: T[f"chart_{key}"] for key in charts.DEFAULT_LABELS}


def axis_titles(state) -> tuple[str | None, str | None]:
    """An upload's column names for the axes (None: the charts' own x and y)."""
    if state.cfg.dataset != "csv" or state.uploaded is None:
        return None, None
    attrs = state.uploaded[1].attrs
    return attrs.get("x_name"), attrs.get("y_name")


@st.cache_resource(show_spinner=False)  # the page's starting-up note says what is happening
def torch_setup() -> None:
    """Once per server process, not per session."""
    # The first optimizer and skip_init import torch internals (~2 s): pay that at start-up,
    # not in the first student's first frame.
    for _ in train_iter(FitConfig(steps=1)):
        pass
    # Everything imported so far (torch, pandas, altair, streamlit: ~1e6 objects) lives as long
    # as the server; freezing it takes it out of the cyclic collector's full passes, which
    # otherwise cost 7-10 ms a frame scanning that heap.
    gc.freeze()
    # A timer tick that reaches the server while a full rerun (Pause, the end of a run) is
    # re-registering the live fragment is dropped by Streamlit, which logs it at INFO as "The
    # fragment with id ... does not exist anymore": benign by its own account, and one line
    # in every few pauses of every student in the teacher's server log.
    logging.getLogger("streamlit.runtime.app_session").addFilter(_not_a_stale_tick)


def _not_a_stale_tick(record: logging.LogRecord) -> bool:
    return "does not exist anymore" not in record.getMessage()


# Shared by every session on the server. The leading `key` (config.run_key) names the run;
# the arguments after it are what it names, so Streamlit does not hash them (underscore).


@st.cache_resource
def frame_gate() -> TurnGate:
    """How many live-frame reruns of this server may draw or train at once: one per core.

    A thread waiting here holds no GIL. Without it, twenty students' frames ran at once, each
    with a sliver of the GIL, and so did the event loop that sends their messages: the server
    finished every run in time, but its frames reached the pages 10-20 s late, and the pages'
    timers went on ticking for frames already drawn (bench/crowd.py, issue 20). Earlier this
    bounded only training (catch_up's gate); inside this bound that one never waited.
    """
    return TurnGate(max(1, len(os.sched_getaffinity(0))))


@st.cache_resource(max_entries=32, ttl=3600)
def shared_run(key: str, _cfg: FitConfig, _points=None) -> SharedRun:
    return SharedRun(_cfg, _points)


@st.cache_resource(max_entries=64, ttl=3600)
def explained(key: str | None, _cfg: FitConfig, _points, step: int) -> StepExplained | ExplainError:
    """explain_step for the run `key`, shared by every session (never mutated); a step it
    cannot explain comes back as its ExplainError. Walking on one step costs one update."""
    try:
        return _explainer(key, _cfg, _points).at(step)
    except ExplainError as error:
        return error


@st.cache_resource(max_entries=8, ttl=3600)
def _explainer(key: str | None, _cfg: FitConfig, _points) -> Explainer:
    """The run's explain replay, kept after the last step explained (a model and its
    optimizer: a few KB to a few MB); a page's slow motion walks it on."""
    return Explainer(_cfg, _points, units=_cfg.model == "mlp")


@st.cache_data(max_entries=64)
def suggested_lr(key: str | None, _cfg: FitConfig, _points) -> float:
    return suggest_lr(_cfg, _points)


@st.cache_data(max_entries=64)
def model_text(key: str | None, _cfg: FitConfig) -> tuple[str, int]:
    return describe_run(_cfg)


@st.cache_data(max_entries=64)
def exported_script(key: str | None, _cfg: FitConfig, _points, lang: str) -> str:
    """The script of this run, commented in the page's language."""
    return export_script(_cfg, _points, lang=lang)


@st.cache_data(max_entries=32)
def loss_grid(x, y, w_range, b_range, loss) -> pd.DataFrame:
    return landscape.loss_grid(x, y, w_range, b_range, loss=loss)


@st.cache_data(max_entries=16)
def race_result(key: str, _cfg: FitConfig, variants: tuple, _points):
    """race.race_table for `variants` (tuples of (field, value) pairs, so they hash)."""
    return race.race_table(_cfg, [dict(v) for v in variants], _points)


@st.cache_resource(max_entries=8, ttl=3600)
def shared_sweep(key: tuple, _cfg: FitConfig, _field, _values, _k, _vary, _points) -> SharedSweep:
    """A sweep or ensemble shared by every session on the server (at most 8 kept: each holds a
    stack of at most sweeps.MAX_RUNS small models while it trains, and its curves after)."""
    return SharedSweep(_cfg, _field, _values, _k, _vary, _points)
