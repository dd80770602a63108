"""Explain this step: one update of the run on screen, taken apart with its own numbers.

Shown while the page is paused, under the charts. Its four stages follow one update as the
tutorial's loop runs it: the forward pass, the loss and its residuals, backward's gradient,
and the optimizer's step. With the panel open, Step walks through them (state.step).
Numbers have 4 significant digits; each formula's tooltip holds the exact values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from fitcore import formulas as fx
from fitcore import registry
from fitcore.config import FitConfig
from fitcore.explain import ExplainError, StepExplained
from fitcore.player import SharedRun, as_frame
from ui.common import explained
from ui.state import STAGES, PageState, while_paused

TOP = 5  # points listed by how hard they pull


def explained_step(cfg: FitConfig, frame) -> int:
    """The update to explain for the frame on screen: the one that leaves it (the last one
    at the end of the run, the one that blew up on a diverged frame)."""
    if frame.diverged:
        return max(frame.step - 1, 0)
    return min(frame.step, cfg.steps - 1)


def exact_frame(state: PageState, run: SharedRun):
    """The snapshot at state.cursor from the explain replay (a step the run keeps no frame
    of: Step walked there one update at a time), or None when it cannot be had."""
    cfg = state.cfg
    step = min(state.cursor, cfg.steps - 1)
    ex = explained(state.run_key, cfg, run.points, step)
    if isinstance(ex, ExplainError):
        return None
    return as_frame(ex.before if state.cursor == step else ex.after)


def panel(state: PageState, T, run: SharedRun, frame) -> None:
    """The Explain this step expander (key `explain`); lazy: a closed panel computes nothing."""
    st.session_state["explain"] = state.explaining
    box = st.expander(
        T["explain_panel"], key="explain", on_change=while_paused(state, lambda: _toggled(state))
    )
    if not box.open:
        return
    cfg = state.cfg
    step = explained_step(cfg, frame)
    with box:
        with st.spinner(T["explain_wait"]):
            ex = explained(state.run_key, cfg, run.points, step)
        if isinstance(ex, ExplainError):
            messages = {"beyond_run": T["explain_beyond_run"], "diverged": T["explain_diverged"]}
            # the page asks only for steps of its run: another code would be a bug here
            text = messages.get(ex.code, T["internal_error"])
            st.info(text.format(step=step, at=ex.params.get("at", step)))
            return
        st.markdown(T["explain_intro"].format(step=ex.step, next=ex.step + 1))
        stages = _stage_names(T)
        st.session_state["explain_stage"] = state.stage
        st.segmented_control(
            T["explain_stages"],
            options=range(1, len(STAGES) + 1),
            format_func=lambda k: stages[k - 1],
            key="explain_stage",
            required=True,
            on_change=while_paused(
                state, lambda: state.show_stage(st.session_state["explain_stage"])
            ),
            help=T["explain_stages_help"],
        )
        for k, part in enumerate((_forward, _loss, _backward, _update), start=1):
            if k <= state.stage:
                st.markdown(f"**{k} · {stages[k - 1]}**")
                part(T, cfg, ex)
        if not fx.in_data_units(ex):
            st.caption(T["explain_scaled"])


def _stage_names(T) -> tuple[str, ...]:
    """The stages' names, in ui.state.STAGES' order."""
    names = (T["stage_forward"], T["stage_loss"], T["stage_backward"], T["stage_update"])
    assert len(names) == len(STAGES)
    return names


def _toggled(state: PageState) -> None:
    state.explain(bool(st.session_state["explain"]))
    state.full_rerun = True  # the landscape tab, outside this fragment, draws the arrows


# the four stages


def _forward(T, cfg: FitConfig, ex: StepExplained) -> None:
    n, size = len(ex.points), fx.batch_size(ex)
    st.code("prediction = model(x)\nloss = loss_fn(prediction, y)", language="python")
    batch = T["explain_full_batch"] if ex.batch is None else T["explain_minibatch"]
    st.markdown(
        T["explain_forward"].format(step=ex.step, n=n)
        + " "
        + batch.format(n=n, size=size, distinct=int(ex.points["in_batch"].sum()))
    )


def _loss(T, cfg: FitConfig, ex: StepExplained) -> None:
    st.latex(fx.loss_formula(ex, cfg.loss), help=_exact(T, L=ex.loss))
    if cfg.loss == "huber":
        st.latex(fx.HUBER)
    st.markdown(T["explain_residuals"])
    drawn = ex.points[ex.points["in_batch"]]  # a point not in the batch pulls nothing
    top = drawn.nlargest(TOP, "pull")
    table = pd.DataFrame(
        {
            T["col_x"]: _digits(top["x"]),
            T["col_y"]: _digits(top["y"]),
            T["col_y_hat"]: _digits(top["y_hat"]),
            T["col_residual"]: _digits(top["residual"]),
            T["col_pull"]: _digits(top["pull"]),
        }
    )
    st.dataframe(table, hide_index=True)


def _backward(T, cfg: FitConfig, ex: StepExplained) -> None:
    st.code("optimizer.zero_grad()\nloss.backward()", language="python")
    st.markdown(T["explain_backward"])
    if cfg.model == "linear":
        exact = _exact(T, **{"dL/dw": ex.grad["0.weight"], "dL/db": ex.grad["0.bias"]})
        for formula in fx.line_gradient_formulas(ex, cfg.loss):
            st.latex(formula, help=exact)
        st.caption(T["explain_fan"])
    elif cfg.model == "poly":
        st.latex(fx.poly_gradient_formula(ex, cfg.loss))
        st.caption(T["explain_legendre"])
    else:
        st.markdown(T["explain_backprop"])


def _update(T, cfg: FitConfig, ex: StepExplained) -> None:
    closure = registry.get("optimizer", cfg.optimizer).closure
    st.code("optimizer.step(closure)" if closure else "optimizer.step()", language="python")
    kind = fx.optimizer_kind(cfg.optimizer, ex.hyper)
    rules = {
        "sgd": T["explain_rule_sgd"],
        "momentum": T["explain_rule_momentum"],
        "adam": T["explain_rule_adam"],
        "adamw": T["explain_rule_adamw"],
        "rmsprop": T["explain_rule_rmsprop"],
        "adagrad": T["explain_rule_adagrad"],
        "lbfgs": T["explain_rule_lbfgs"],
    }
    st.markdown(rules.get(kind, T["explain_rule_other"]))
    if kind in fx.RULES:
        st.latex(fx.RULES[kind])
    if cfg.schedule != "constant":
        schedule = T[registry.label_key("schedule", cfg.schedule)]
        st.markdown(
            T["explain_schedule"].format(schedule=schedule, lr=f"{ex.lr:.4g}", base=f"{cfg.lr:g}")
        )
    decay = ex.hyper.get("weight_decay", 0.0)
    if decay and cfg.optimizer != "adamw":
        st.markdown(T["explain_decay"].format(decay=f"{decay:g}"))
    scalars, names = fx.scalars(ex), fx.names(cfg.model, ex)
    # the line's w and b, the polynomial's first two, a network's output bias
    shown = list(scalars)[:2] if names else list(scalars)[-1:]
    for key in shown:
        before, _, after = scalars[key]
        name = names.get(key, fx.tex_name(key))
        st.latex(
            fx.worked_update(kind, name, ex, key),
            help=_exact(T, **{T["col_before"]: before, T["col_after"]: after}),
        )
    st.dataframe(_update_table(T, cfg, ex), hide_index=True)
    st.markdown(
        T["explain_after"].format(
            step=ex.step + 1,
            before=f"{ex.before.train_loss:.4g}",
            after=f"{ex.after.train_loss:.4g}",
        )
    )


def _update_table(T, cfg: FitConfig, ex: StepExplained) -> pd.DataFrame:
    """Per scalar parameter (line, poly) or per weight tensor as sizes (network)."""
    names = fx.names(cfg.model, ex)
    if names:
        rows = [
            (_plain(names.get(k, k)), *(f"{v:.4g}" for v in (before, g, after - before, after)))
            for k, (before, g, after) in fx.scalars(ex).items()
        ]
        columns = [T["col_param"], T["col_before"], T["col_grad"], T["col_change"], T["col_after"]]
        return pd.DataFrame(rows, columns=columns)
    sizes = [
        (
            f"{k} ({'×'.join(map(str, ex.shapes[k]))})",
            f"{_norm(ex.grad[k]):.4g}",
            f"{_norm(ex.update[k]):.4g}",
        )
        for k in ex.grad
    ]
    return pd.DataFrame(sizes, columns=[T["col_param"], T["col_grad_norm"], T["col_change_norm"]])


def _digits(values: pd.Series) -> list[str]:
    """4 significant digits, as the formulas write them (a table cell shows no tooltip)."""
    return [f"{v:.4g}" for v in values]


SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _plain(name: str) -> str:
    """A LaTeX parameter name for a table cell: a_{12} as a₁₂."""
    if name.startswith("a_{") and name.endswith("}"):
        return "a" + name[3:-1].translate(SUBSCRIPTS)
    return name


def _exact(T, **values) -> str:
    """A formula's tooltip: each of its numbers with every digit."""
    return T["explain_exact"].format(values=", ".join(f"{k} = {v!r}" for k, v in values.items()))


def _norm(values) -> float:
    return float(np.sqrt(np.sum(np.square(np.ravel(values), dtype=float))))
