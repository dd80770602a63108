"""Overfitting you can watch: a capacity sweep, and the spread of a fit over seeds.

Both are computed once per server (fitcore.sweeps.SharedSweep) and trained only while a page
watches: a fragment pulls them on a fraction of a second at a time, so Stop and every other
button stay responsive, the results appear as they finish, and a closed tab trains nothing.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fitcore import charts, sweep_charts
from fitcore.config import run_key
from fitcore.player import SharedRun
from fitcore.sweeps import (
    LADDERS,
    MAX_RUNS,
    MAX_SEEDS,
    MAX_VALUES,
    VARY_CHOICES,
    Ensemble,
    SharedSweep,
    SweepError,
)
from ui.common import chart_labels, fmt, shared_sweep
from ui.state import PageState

PULL_S = 0.35  # training per fragment run: the page redraws about twice a second
TICK_S = 0.5


def view(state: PageState, T, run: SharedRun, points) -> None:
    st.caption(T["sweep_text"])
    _capacity(state, T, run, points)
    st.divider()
    _seeds(state, T, run, points)


def _capacity(state: PageState, T, run: SharedRun, points) -> None:
    cfg = state.cfg
    st.subheader(T["sweep_capacity"])
    fields = [f for f, (model, _) in LADDERS.items() if model == cfg.model]
    if not fields:
        st.info(T["sweep_need_model"])
        return
    if cfg.test_fraction == 0:
        st.info(T["sweep_no_test"])
        st.button(
            T["sweep_hold_out"],
            key="sweep_hold_out",
            on_click=state.set,
            args=("test_fraction", 0.3),
            icon=":material/call_split:",
        )
        return
    field = fields[0]
    if len(fields) > 1:
        field = st.radio(
            T["sweep_field"],
            fields,
            key="sweep_field",
            horizontal=True,
            format_func=lambda f: T[f"sweep_{f}"],
        )
    ladder = LADDERS[field][1]
    values = st.multiselect(
        T[f"sweep_{field}"],
        ladder,
        default=list(ladder),
        key=f"sweep_values_{field}",
        max_selections=MAX_VALUES,
    )
    seeds = st.slider(
        T["sweep_seeds"], 1, MAX_SEEDS, 1, key="sweep_seeds", help=T["sweep_seeds_help"]
    )
    vary = VARY_CHOICES["both"]
    if seeds > 1:
        vary = VARY_CHOICES[_vary_radio(T, "sweep_vary")]
    if len(values) < 2:
        st.info(T["sweep_need_two"])
        return
    if len(values) * seeds > MAX_RUNS:
        st.warning(T["sweep_runs"].format(count=len(values) * seeds, most=MAX_RUNS))
        return
    key = (run_key(cfg, points), field, tuple(sorted(values)), seeds, vary)
    _watch(T["sweep_go"], "sweep", key, lambda: (cfg, field, sorted(values), seeds, vary, points))
    shared = _shared(T, "sweep", key)
    if shared is not None:
        _progress(T, "sweep", shared, lambda s: _capacity_results(state, T, run, s))


def _seeds(state: PageState, T, run: SharedRun, points) -> None:
    cfg = state.cfg
    st.subheader(T["sweep_ensemble"])
    st.caption(T["sweep_ensemble_text"])
    k = st.slider(T["sweep_seeds"], 2, MAX_SEEDS, 10, key="ensemble_seeds")
    vary = VARY_CHOICES[_vary_radio(T, "ensemble_vary")]
    if "data" in vary and cfg.dataset == "csv":
        st.info(T["sweep_vary_upload"])
        return
    key = (run_key(cfg, points), None, (), k, vary)
    _watch(T["ensemble_go"], "ensemble", key, lambda: (cfg, None, [], k, vary, points))
    shared = _shared(T, "ensemble", key)
    if shared is not None:
        _progress(T, "ensemble", shared, lambda s: _ensemble_results(state, T, run, s))


def _vary_radio(T, key: str) -> str:
    return st.radio(
        T["sweep_vary"],
        list(VARY_CHOICES),
        key=key,
        horizontal=True,
        format_func=lambda v: T[f"sweep_vary_{v}"],
        help=T["sweep_vary_help"],
    )


def _watch(label: str, name: str, key: tuple, args) -> None:
    """The Run button: this page watches the sweep `key` (made, or found made, on the server)."""
    if st.button(label, key=f"{name}_go", icon=":material/play_arrow:"):
        st.session_state[f"{name}_watching"] = key
        st.session_state[f"{name}_args"] = args()


def _shared(T, name: str, key: tuple) -> SharedSweep | None:
    if st.session_state.get(f"{name}_watching") != key:
        return None  # settings changed since Run, or never run: nothing to show or to train
    cfg, field, values, k, vary, points = st.session_state[f"{name}_args"]
    try:
        return shared_sweep(key, cfg, field, tuple(values), k, vary, points)
    except SweepError as error:
        st.warning(T[f"sweep_{error.code}"].format(**error.values))
        return None


def _progress(T, name: str, shared: SharedSweep, results) -> None:
    """Train on while this page watches, drawing what has finished; then draw it all once."""
    if shared.done:
        results(shared)
        return

    @st.fragment(run_every=TICK_S)
    def training() -> None:
        if st.session_state.get(f"{name}_watching") is None:
            st.rerun()  # Stop was pressed: a full rerun ends this fragment's timer
        shared.advance(PULL_S)
        if shared.done:
            st.rerun()  # the whole page once: the results, and no timer left running
        p = shared.progress
        st.progress(
            min(p.done / max(p.total, 1), 1.0),
            text=T["sweep_progress"].format(done=p.done, total=p.total),
        )
        st.button(
            T["sweep_stop"],
            key=f"{name}_stop",
            icon=":material/stop:",
            on_click=st.session_state.__setitem__,
            args=(f"{name}_watching", None),
        )
        if shared.points:
            results(shared)

    training()


def _capacity_results(state: PageState, T, run: SharedRun, shared: SharedSweep) -> None:
    field = shared.field
    assert field is not None
    labels = chart_labels(T)
    x_title = T[f"sweep_{field}"]
    log_x = field == "width"
    if shared.k == 1:
        table = pd.DataFrame(
            [(p.value, "train", p.train_loss) for p in shared.points]
            + [(p.value, "test", p.test_loss) for p in shared.points],
            columns=["value", "series", "loss"],
        ).sort_values("value")
        finished = [p for p in shared.points if not p.diverged and p.test_loss is not None]
        best = min(finished, key=lambda p: p.test_loss or 0.0) if finished else None
        st.altair_chart(
            sweep_charts.capacity_chart(
                table,
                x_title=x_title,
                title=T["sweep_loss_title"],
                log_x=log_x,
                best=None if best is None else best.value,
                series=["train", "test"],
                labels=labels,
            ),
            width="stretch",
        )
        if best is not None:
            st.caption(
                T["sweep_best"].format(
                    field=x_title, value=best.value, loss=fmt(best.test_loss or 0.0)
                )
            )
        diverged = sorted(p.value for p in shared.points if p.diverged)
        if diverged:
            st.warning(T["sweep_diverged"].format(values=", ".join(map(str, diverged))))
        _curves(T, run, shared, best.value if best else None, x_title)
        return
    if not shared.ensembles:
        return
    rows = []
    for value, e in zip(shared.values, shared.ensembles, strict=False):
        if e.bias2 is not None:
            rows.append((value, T["sweep_bias2"], e.bias2))
        rows.append((value, T["sweep_variance"], e.variance))
        tests = [p.test_loss for p in e.points if p.test_loss is not None and not p.diverged]
        if tests:
            rows.append((value, "test", sum(tests) / len(tests)))
    table = pd.DataFrame(rows, columns=["value", "series", "loss"])
    st.altair_chart(
        sweep_charts.capacity_chart(
            table,
            x_title=x_title,
            title=T["sweep_spread_title"],
            log_x=log_x,
            series=[T["sweep_bias2"], T["sweep_variance"], "test"],
            labels=labels,
        ),
        width="stretch",
    )
    st.caption(T["sweep_spread_text"])
    pick = st.select_slider(
        x_title, options=shared.values, key=f"sweep_band_{field}", value=shared.values[-1]
    )
    _band(T, run, shared.ensembles[shared.values.index(pick)])


def _curves(T, run: SharedRun, shared: SharedSweep, best: int | None, x_title: str) -> None:
    """The fitted curves of the capacities the student picks, over the data."""
    done = sorted(p.value for p in shared.points if not p.diverged)
    if not done:
        return
    default = list(dict.fromkeys(v for v in (done[0], best, done[-1]) if v is not None))
    # keyed by what has finished: the default follows the runs that end while it trains (a
    # widget keeps its first value, and the first drawing may show a single finished run)
    picked = st.multiselect(
        T["sweep_show"], done, default=default, key=f"sweep_show_{shared.field}_{len(done)}"
    )
    names = [f"{x_title} {v}" for v in picked]
    curves = [
        p.curve.assign(series=f"{x_title} {p.value}") for p in shared.points if p.value in picked
    ]
    if not curves:
        return
    scene = run.scene
    st.altair_chart(
        charts.race_fit_chart(
            scene.points,
            pd.concat(curves, ignore_index=True),
            x_domain=scene.x_domain,
            y_domain=scene.y_domain,
            labels=chart_labels(T),
            series=names,
        ),
        width="stretch",
    )


def _ensemble_results(state: PageState, T, run: SharedRun, shared: SharedSweep) -> None:
    if shared.ensembles:
        _band(T, run, shared.ensembles[0])


def _band(T, run: SharedRun, e: Ensemble) -> None:
    scene = run.scene
    kept = [p.curve.assign(member=i) for i, p in enumerate(e.points) if not p.diverged]
    if not kept:
        st.warning(T["sweep_runs_diverged"].format(count=len(e.points), k=len(e.points)))
        return
    curves = pd.concat(kept, ignore_index=True)
    st.altair_chart(
        sweep_charts.ensemble_chart(
            scene.points,
            curves,
            e.band,
            x_domain=scene.x_domain,
            y_domain=scene.y_domain,
            truth=scene.truth,
            labels=chart_labels(T),
        ),
        width="stretch",
    )
    parts = [T["sweep_variance_is"].format(value=fmt(e.variance))]
    if e.bias2 is not None:
        parts.insert(0, T["sweep_bias2_is"].format(value=fmt(e.bias2)))
    diverged = sum(p.diverged for p in e.points)
    if diverged:
        parts.append(T["sweep_runs_diverged"].format(count=diverged, k=len(e.points)))
    st.caption(" · ".join(parts))
