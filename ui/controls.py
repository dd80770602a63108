"""The sidebar, drawn from one table: each row says which widget a setting gets, its choices,
and when it applies (as TensorFlow Playground's state table drives its controls).

A widget mirrors PageState: its key is set from the state before it is drawn, and its
on_change writes the new value back. A control that is hidden by the teacher's link or does not
apply (momentum for Adam) is not drawn, and its value in the state still holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import streamlit as st

from fitcore import LIMITS, PRESETS, FitConfig, registry
from fitcore.config import SPEEDS, parse_widths
from fitcore.data import is_generated
from ui.state import PageState
from ui.upload import upload_ui

LR_STEPS = (1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0)
DECAYS = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0)


def _always(cfg: FitConfig) -> bool:
    return True


@dataclass(frozen=True)
class Control:
    name: str  # a FitConfig field, or "speed" (a PageState setting); also the widget's key
    group: str  # catalog key of its heading; g_more is folded in an expander
    kind: str  # selectbox, slider, number, text or ladder (a select_slider over fixed values)
    applies: Callable[[FitConfig], bool] = _always
    choices: Sequence = ()  # ladder values (the current value is added)
    step: float | None = None
    collapsed: bool = False  # the heading already names it


CONTROLS = (
    # The tutorial's controls first: data, model, learning rate, steps, speed.
    Control("dataset", "g_data", "selectbox"),
    Control("noise", "g_data", "slider", lambda c: is_generated(c.dataset), step=0.05),
    Control("n_points", "g_data", "slider", lambda c: is_generated(c.dataset), step=1),
    Control("model", "g_model", "selectbox", collapsed=True),
    Control("degree", "g_model", "slider", lambda c: c.model == "poly"),
    Control("hidden", "g_model", "text", lambda c: c.model == "mlp"),
    Control("activation", "g_model", "selectbox", lambda c: c.model == "mlp"),
    Control("lr", "g_training", "ladder", choices=LR_STEPS),
    Control("steps", "g_training", "number", step=100),
    Control("speed", "g_training", "ladder", choices=SPEEDS),
    # What a first lesson does not touch, folded.
    Control("optimizer", "g_more", "selectbox"),
    Control(
        "momentum",
        "g_more",
        "slider",
        lambda c: registry.get("optimizer", c.optimizer).momentum,
        step=0.01,
    ),
    Control("schedule", "g_more", "selectbox"),
    Control("loss", "g_more", "selectbox"),
    Control("batch_size", "g_more", "number", step=1),
    Control(
        "weight_decay",
        "g_more",
        "ladder",
        lambda c: registry.get("optimizer", c.optimizer).decay,
        choices=DECAYS,
    ),
    Control("test_fraction", "g_more", "slider", step=0.05),
    Control("seed", "g_more", "number", step=1),
    Control("every", "g_more", "number", step=10),
)
GROUPS = ("g_data", "g_model", "g_training", "g_more")
# Display toggles and when each means something.
TOGGLES: dict[str, Callable[[FitConfig], bool]] = {
    "log_loss": _always,
    "show_truth": lambda c: is_generated(c.dataset),
    "show_reference": lambda c: c.model in ("linear", "poly"),
    "show_units": lambda c: c.model == "mlp",
    "show_residuals": _always,
}


def sidebar(state: PageState, T) -> FitConfig:
    """Draw the settings; return the config they describe."""
    with st.sidebar:
        if "lang" not in state.hide:
            _mirror("lang", state.lang)
            st.radio(
                T["language"],
                ["en", "zh"],
                key="lang",
                on_change=_chose_language,
                args=(state,),
                horizontal=True,
                format_func={"en": "English", "zh": "中文"}.get,
            )
        if "preset" not in state.hide:
            st.subheader(T["g_preset"])
            _mirror("preset", state.preset)
            st.selectbox(
                T["preset"],
                ["custom", *PRESETS],
                key="preset",
                on_change=lambda: state.apply_preset(st.session_state["preset"]),
                format_func=lambda p: T[f"preset_{p}"],
                help=T["preset_help"],
            )
        for group in GROUPS:
            if group == "g_more":
                with st.expander(T[group], icon=":material/tune:"):
                    _group(state, T, group)
            else:
                st.subheader(T[group])
                _group(state, T, group)
        st.subheader(T["g_display"])
        for key, applies in TOGGLES.items():
            if applies(state.cfg):
                _mirror(key, state.display[key])
                st.toggle(T[key], key=key, on_change=_toggled, args=(state, key))
    return state.cfg


def _group(state: PageState, T, group: str) -> None:
    for control in CONTROLS:
        if control.group != group:
            continue
        if control.name not in state.hide and control.applies(state.cfg):
            _draw(state, T, control)
        if control.name == "dataset":  # what the chosen data is, and the file it needs
            if "dataset" not in state.hide:
                st.caption(T[f"dsd_{state.cfg.dataset}"])
            if state.cfg.dataset == "csv":
                upload_ui(state, T)


def _draw(state: PageState, T, c: Control) -> None:
    value = state.speed if c.name == "speed" else getattr(state.cfg, c.name)
    label = T[c.name]
    common = {
        "key": c.name,
        "help": T[f"{c.name}_help"],
        "on_change": _changed,
        "args": (state, c.name),
    }
    if c.collapsed:
        common["label_visibility"] = "collapsed"
    if c.kind == "text":  # hidden: widths as "10" or "32,32"
        _mirror(c.name, state.rejected.get(c.name, ",".join(map(str, value))))
        st.text_input(label, **common)
        if c.name in state.rejected:
            lo, hi = LIMITS["width"]
            shown = ",".join(map(str, value))
            st.error(
                T["bad_hidden"].format(layers=LIMITS["hidden_layers"][1], lo=lo, hi=hi, value=shown)
            )
        return
    _mirror(c.name, value)
    if c.kind == "selectbox":
        options = registry.names(c.name)
        st.selectbox(
            label, options, format_func=lambda v: T[registry.label_key(c.name, v)], **common
        )
    elif c.kind == "slider":
        st.slider(label, *LIMITS[c.name], step=c.step, **common)
    elif c.kind == "number":
        st.number_input(label, *LIMITS[c.name], step=c.step, **common)
    elif c.name == "speed":
        st.select_slider(label, options=SPEEDS, format_func=lambda s: T[f"sp_{s}"], **common)
    else:  # a ladder of numbers: learning rate, weight decay
        ladder = sorted({*c.choices, value})
        st.select_slider(label, options=ladder, format_func=lambda v: f"{v:g}", **common)


def _mirror(key: str, value) -> None:
    """Show the state's value in the widget about to be drawn under `key`."""
    st.session_state[key] = value


def _changed(state: PageState, name: str) -> None:
    value = st.session_state[name]
    if name == "speed":
        state.speed = value
        return
    if name == "hidden":
        try:
            state.set(name, parse_widths(value))
        except ValueError:
            state.reject(name, value)
        return
    state.set(name, value)


def _chose_language(state: PageState) -> None:
    state.lang = st.session_state["lang"]
    state.lang_chosen = True


def _toggled(state: PageState, key: str) -> None:
    state.display[key] = st.session_state[key]
