"""The race: several learning rates or optimizers from the same start, side by side."""

from __future__ import annotations

import dataclasses

import streamlit as st

from fitcore import charts
from fitcore import race as core
from fitcore.config import run_key
from fitcore.player import SharedRun
from ui.common import axis_titles, chart_labels, race_result
from ui.state import PageState

RACE_LRS = (0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


def view(state: PageState, T, run: SharedRun, points) -> None:
    cfg = state.cfg
    st.caption(T["race_text"])
    kind = st.radio(
        T["race_kind"],
        core.KINDS,
        key="race_kind",
        horizontal=True,
        format_func=lambda k: T[f"race_{k}"],
    )
    if kind == "lr":
        lrs = st.multiselect(
            T["lr"],
            sorted({*RACE_LRS, cfg.lr}),
            key="race_lrs",
            default=[0.01, cfg.lr, 0.5] if cfg.lr not in (0.01, 0.5) else [0.01, 0.05, 0.5],
            max_selections=8,
        )
        variants: list[dict[str, object]] = [{"lr": lr} for lr in sorted(lrs)]
        names = [f"{T['lr']} {lr:g}" for lr in sorted(lrs)]
    else:
        optimizers = st.multiselect(
            T["optimizer"],
            core.raceable(),
            key="race_opts",
            default=["sgd", "adam"],
            format_func=lambda o: T[f"opt_{o}"],
        )
        variants = [{"optimizer": o} for o in optimizers]
        names = [T[f"opt_{o}"] for o in optimizers]
    if len(variants) < 2:
        st.info(T["race_need_two"])
        return
    if not st.button(T["race_go"], key="race_go", icon=":material/sprint:"):
        return
    race_cfg = dataclasses.replace(cfg, batch_size=0)
    if cfg.batch_size:
        st.caption(T["race_full_batch"])
    history, curves = race_result(
        run_key(race_cfg, points), race_cfg, tuple(tuple(v.items()) for v in variants), points
    )
    series = dict(enumerate(names))
    history = history.assign(series=history["variant"].map(series))
    curves = curves.assign(series=curves["variant"].map(series))
    labels = chart_labels(T)
    titles = axis_titles(state)
    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.race_fit_chart(
                run.scene.points,
                curves,
                x_domain=run.scene.x_domain,
                y_domain=run.scene.y_domain,
                labels=labels,
                series=names,
                x_title=titles[0],
                y_title=titles[1],
            ),
            width="stretch",
        )
    with right:
        st.altair_chart(
            charts.loss_chart(
                history[["step", "loss", "series"]], steps=cfg.steps, labels=labels, series=names
            ),
            width="stretch",
        )
