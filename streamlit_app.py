"""FitLab: watch PyTorch fit a curve by gradient descent. The page only; the work is in fitcore."""

from __future__ import annotations

import dataclasses
import logging
import math
from urllib.parse import urlencode

import streamlit as st
import torch

from fitcore import LIMITS, PRESETS, FitConfig, charts
from fitcore.config import ACTIVATIONS, LOSSES, MODELS, OPTIMIZERS, SPEEDS, UiSettings
from fitcore.data import DATASETS
from fitcore.i18n import catalog, pick_language
from fitcore.models import build_model, describe
from fitcore.player import SharedRun

log = logging.getLogger("fitlab")

# Seconds between frames per speed. At "max" each frame trains for MAX_BUDGET seconds first.
INTERVALS = {"slow": 0.33, "normal": 0.1, "fast": 0.033, "max": 0.1}
MAX_BUDGET = 0.08
LR_STEPS = [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0]
DECAYS = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0]
FIELDS = [f.name for f in dataclasses.fields(FitConfig)]


@st.cache_resource
def _torch_threads() -> None:
    # One thread: for this tiny network it is ~10x faster than two when the other core is busy.
    torch.set_num_threads(1)


@st.cache_resource(max_entries=32, ttl=3600)
def shared_run(key: str, _cfg: FitConfig, _points=None) -> SharedRun:
    """One SharedRun per config (and uploaded data), shared by every session on the server."""
    return SharedRun(_cfg, _points)


def run_key(cfg: FitConfig) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(cfg.to_query().items()))


def query_dict() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def init_state() -> None:
    """Session state, set up once per session from the link's query string."""
    if "values" in st.session_state:
        return
    query = query_dict()
    cfg, warnings = FitConfig.from_query(query)
    ui, ui_warnings = UiSettings.from_query(query)
    if cfg.dataset == "csv":  # a link cannot carry an upload
        warnings.append("dataset='csv': uploaded data is not part of a link, using quadratic")
        cfg = dataclasses.replace(cfg, dataset="quadratic")
    st.session_state.update(
        values={f: getattr(cfg, f) for f in FIELDS},  # the settings, also while a widget is hidden
        lang=pick_language(ui.lang, st.context.locale),
        speed=ui.speed,
        preset=ui.preset or "custom",
        hide=ui.hide,
        link_warnings=ui_warnings + warnings,
        playing=ui.autoplay,
        cursor=0,  # the step on screen
        run_key=None,
        autoplay=ui.autoplay,
        # display toggles, kept here too because Streamlit drops the state of undrawn widgets
        display={"log_loss": True, "show_truth": True, "show_reference": True, "show_units": False},
    )


def control(T, field: str, widget, *args, visible: bool = True, to_widget=None, **kwargs):
    """One sidebar widget keyed by `field`; hidden or not applicable, its kept value is used.

    Streamlit forgets the state of a widget that is not drawn, so the value lives in
    session_state.values and is copied back into the widget's key before drawing it.
    """
    values = st.session_state["values"]
    if not visible or field in st.session_state["hide"]:
        return values[field]
    if field not in st.session_state:
        st.session_state[field] = to_widget(values[field]) if to_widget else values[field]
    return widget(T[field], *args, key=field, help=T[f"{field}_help"], **kwargs)


def apply_preset() -> None:
    name = st.session_state["preset"]
    if name in PRESETS:
        values = {f: getattr(PRESETS[name], f) for f in FIELDS}
        st.session_state["values"] = values
        for f in FIELDS:
            st.session_state.pop(f, None)  # widgets pick the preset's values up when drawn


def sidebar(T) -> FitConfig:
    """Draw the settings and return the config they describe."""
    ss = st.session_state
    values = dict(ss["values"])
    sb = st.sidebar
    with sb:
        if "lang" not in ss["hide"]:
            st.radio(
                T["language"],
                ["en", "zh"],
                key="lang",
                horizontal=True,
                format_func={"en": "English", "zh": "中文"}.get,
            )
        if "preset" not in ss["hide"]:
            st.subheader(T["g_preset"])
            st.selectbox(
                T["preset"],
                ["custom", *PRESETS],
                key="preset",
                on_change=apply_preset,
                format_func=lambda p: T[f"preset_{p}"],
                help=T["preset_help"],
            )
        values = dict(ss["values"])  # a preset may have replaced them

        st.subheader(T["g_data"])
        values["dataset"] = control(
            T,
            "dataset",
            st.selectbox,
            [*DATASETS],
            format_func=lambda d: T[f"ds_{d}"],
        )
        if "dataset" not in ss["hide"]:
            st.caption(T[f"dsd_{values['dataset']}"])
        values["n_points"] = control(T, "n_points", st.slider, *_range("n_points"), step=1)
        values["noise"] = control(T, "noise", st.slider, *_range("noise"), step=0.05)
        values["test_fraction"] = control(
            T, "test_fraction", st.slider, *_range("test_fraction"), step=0.05
        )
        values["seed"] = control(T, "seed", st.number_input, *_range("seed"), step=1)

        st.subheader(T["g_model"])
        values["model"] = control(
            T, "model", st.radio, MODELS, horizontal=True, format_func=lambda m: T[f"m_{m}"]
        )
        values["degree"] = control(
            T, "degree", st.slider, *_range("degree"), visible=values["model"] == "poly"
        )
        hidden_text = control(
            T,
            "hidden",
            st.text_input,
            visible=values["model"] == "mlp",
            to_widget=lambda h: ",".join(map(str, h)),
        )
        values["hidden"] = _parse_hidden(T, hidden_text, values["hidden"])
        values["activation"] = control(
            T, "activation", st.selectbox, ACTIVATIONS, visible=values["model"] == "mlp"
        )

        st.subheader(T["g_training"])
        values["optimizer"] = control(T, "optimizer", st.selectbox, OPTIMIZERS)
        values["lr"] = control(
            T,
            "lr",
            st.select_slider,
            options=sorted({*LR_STEPS, values["lr"]}),
            format_func=lambda v: f"{v:g}",
        )
        values["momentum"] = control(
            T,
            "momentum",
            st.slider,
            *_range("momentum"),
            step=0.01,
            visible=values["optimizer"] in ("sgd", "rmsprop"),
        )
        values["weight_decay"] = control(
            T,
            "weight_decay",
            st.select_slider,
            options=sorted({*DECAYS, values["weight_decay"]}),
            format_func=lambda v: f"{v:g}",
        )
        values["batch_size"] = control(
            T, "batch_size", st.number_input, *_range("batch_size"), step=1
        )
        values["loss"] = control(T, "loss", st.selectbox, LOSSES, format_func=lambda v: T[f"l_{v}"])
        values["steps"] = control(T, "steps", st.number_input, *_range("steps"), step=100)
        values["every"] = control(T, "every", st.number_input, *_range("every"), step=10)

        st.subheader(T["g_display"])
        if "speed" not in ss["hide"]:
            st.radio(
                T["speed"],
                SPEEDS,
                key="speed",
                horizontal=True,
                help=T["speed_help"],
                format_func=lambda s: T[f"sp_{s}"],
            )
        for key, applies in {
            "log_loss": True,
            "show_truth": values["dataset"] in DATASETS,
            "show_reference": values["model"] in ("linear", "poly"),
            "show_units": values["model"] == "mlp",
        }.items():
            if applies:
                ss.setdefault(key, ss["display"][key])
                ss["display"][key] = st.toggle(T[key], key=key)

    ss["values"] = values
    if ss.get("preset") in PRESETS and values != {
        f: getattr(PRESETS[ss["preset"]], f) for f in FIELDS
    }:
        ss["preset"] = "custom"  # the settings have left the preset
    return FitConfig(**values)


def _range(field: str):
    return LIMITS[field]


def _parse_hidden(T, text, previous: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(text, tuple):
        return text
    try:
        widths = tuple(
            int(part) for part in str(text).replace("，", ",").split(",") if part.strip()
        )
        FitConfig(hidden=widths)
        return widths
    except ValueError:
        lo, hi = LIMITS["width"]
        st.error(
            T["bad_hidden"].format(
                layers=LIMITS["hidden_layers"][1],
                lo=lo,
                hi=hi,
                value=",".join(map(str, previous)),
            )
        )
        return previous


def sync_query(cfg: FitConfig) -> None:
    """Write the settings into the URL, only when they changed (each write is a history entry)."""
    ss = st.session_state
    ui = UiSettings(
        preset=ss["preset"] if ss["preset"] in PRESETS else None,
        lang=ss["lang"],
        speed=ss["speed"],
        autoplay=ss["autoplay"],
        hide=ss["hide"],
    )
    wanted = {**cfg.to_query(), **ui.to_query()}
    current = {k: st.query_params[k] for k in st.query_params}
    if wanted != current:
        st.query_params.from_dict(wanted)


def suggest_lr(lr: float) -> float:
    """A learning rate a few times smaller, rounded to 1, 2 or 5 times a power of ten."""
    target = lr / 5
    exp = math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * 10**exp <= target:
            return float(f"{m * 10**exp:.1g}")
    return float(f"{10**exp:.1g}")


def buttons(T, run: SharedRun, cfg: FitConfig) -> None:
    ss = st.session_state
    at_end = run.done and ss["cursor"] >= run.frames[-1].step
    cols = st.columns(4)
    label = T["again"] if at_end else (T["resume"] if ss["cursor"] > 0 else T["train"])
    icon = ":material/replay:" if at_end else ":material/play_arrow:"
    cols[0].button(
        label,
        key="train",
        icon=icon,
        on_click=_train,
        args=(at_end,),
        type="primary",
        width="stretch",
    )
    cols[1].button(
        T["pause"], key="pause", icon=":material/pause:", on_click=_pause, width="stretch"
    )
    cols[2].button(
        T["step"], key="step", icon=":material/skip_next:", on_click=_step, width="stretch"
    )
    cols[3].button(
        T["reset"], key="reset", icon=":material/restart_alt:", on_click=_reset, width="stretch"
    )


def _train(at_end: bool) -> None:
    if at_end:
        st.session_state["cursor"] = 0
    st.session_state["playing"] = True


def _pause() -> None:
    st.session_state["playing"] = False


def _step() -> None:
    st.session_state["playing"] = False
    st.session_state["advance"] = True


def _reset() -> None:
    st.session_state["playing"] = False
    st.session_state["cursor"] = 0


def live(T, run: SharedRun, cfg: FitConfig) -> None:
    """Everything that changes per frame; reruns alone on a timer while training."""
    ss = st.session_state
    playing = ss["playing"]

    @st.fragment(run_every=INTERVALS[ss["speed"]] if playing else None)
    def frame_area() -> None:
        if ss.pop("full_rerun", False):
            st.rerun()  # a button inside this fragment changed a setting in the sidebar
        frame = _frame_at(run, ss["cursor"])
        if ss.pop("advance", False) or ss["playing"]:
            if ss["playing"] and ss["speed"] == "max":
                nxt = run.catch_up(frame.step, MAX_BUDGET)
            else:
                nxt = run.after(frame.step)
            if nxt is not None:
                frame = nxt
                ss["cursor"] = frame.step
            if ss["playing"] and (nxt is None or frame.diverged or _is_last(run, frame)):
                ss["playing"] = False
                st.rerun()  # the whole page: stops the timer and relabels the buttons
        draw(T, run, cfg, frame)

    frame_area()


def _frame_at(run: SharedRun, step: int):
    """The frame for `step` (the newest at or before it when frames were thinned)."""
    best = run.first()
    for frame in run.frames:
        if frame.step > step:
            break
        best = frame
    return best


def _is_last(run: SharedRun, frame) -> bool:
    return run.done and frame.step >= run.frames[-1].step


def draw(T, run: SharedRun, cfg: FitConfig, frame) -> None:
    """Status, metrics, both charts and the model panel for one frame."""
    ss = st.session_state
    display = ss["display"]
    scene = run.scene
    shown = frame
    if frame.diverged:
        finite = [f for f in run.frames if not f.diverged]
        shown = finite[-1] if finite else frame
    with st.container(key="status"):
        st.progress(
            min(frame.step / cfg.steps, 1.0),
            text=T["status"].format(step=frame.step, steps=cfg.steps),
        )
    if frame.diverged:
        suggestion = suggest_lr(cfg.lr)
        st.error(
            T["diverged"].format(step=frame.step, lr=f"{cfg.lr:g}", suggestion=f"{suggestion:g}")
        )
        st.button(
            T["use_suggestion"].format(suggestion=f"{suggestion:g}"),
            key="use_lr",
            on_click=_use_lr,
            args=(suggestion,),
        )
    metrics = st.columns(4)
    metrics[0].metric(T["train_loss"], _fmt(shown.train_loss))
    if shown.test_loss is not None:
        metrics[1].metric(T["test_loss"], _fmt(shown.test_loss))
    if cfg.model == "linear":
        metrics[2].metric(T["w"], f"{shown.params['w']:.4f}")
        metrics[3].metric(T["b"], f"{shown.params['b']:.4f}")
    elif shown.test_loss is None:
        metrics[1].metric(T["grad_norm"], _fmt(shown.grad_norm))

    labels = chart_labels(T)
    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.fit_chart(
                scene.points,
                shown.curve,
                truth=scene.truth if display["show_truth"] else None,
                reference=scene.reference if display["show_reference"] else None,
                units=shown.units if display["show_units"] and cfg.model == "mlp" else None,
                x_domain=scene.x_domain,
                y_domain=scene.y_domain,
                labels=labels,
            ),
            width="stretch",
        )
    with right:
        st.altair_chart(
            charts.loss_chart(
                run.history(shown.step),
                log=display["log_loss"],
                reference_loss=scene.reference_loss if display["show_reference"] else None,
                steps=cfg.steps,
                labels=labels,
            ),
            width="stretch",
        )
    model_panel(T, cfg, shown)


def _use_lr(lr: float) -> None:
    st.session_state["values"]["lr"] = lr
    st.session_state.pop("lr", None)
    st.session_state["cursor"] = 0
    st.session_state["full_rerun"] = True


def _fmt(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def chart_labels(T) -> dict[str, str]:
    return {key: T[f"chart_{key}"] for key in charts.DEFAULT_LABELS}


def model_panel(T, cfg: FitConfig, frame) -> None:
    with st.expander(T["model_panel"]):
        text, count = model_text(run_key(cfg), cfg)
        st.code(text, language="text")
        st.caption(T["params_count"].format(count=count))
        if frame.params:
            st.markdown(f"**{T['equation']}**")
            st.latex(equation(frame.params))


@st.cache_data(max_entries=64)
def model_text(key: str, _cfg: FitConfig) -> tuple[str, int]:
    return describe(build_model(_cfg, torch.Generator().manual_seed(_cfg.seed)))


def equation(params: dict[str, float]) -> str:
    if "w" in params:
        return rf"\hat y = {params['w']:.4f}\,x {params['b']:+.4f}"
    terms = []
    for k, c in enumerate(params.values()):
        power = "" if k == 0 else ("x" if k == 1 else f"x^{{{k}}}")
        terms.append(f"{c:+.3f}{power}")
    return r"\hat y = " + " ".join(terms).lstrip("+")


def how_it_works(T) -> None:
    with st.expander(T["how_panel"]):
        st.markdown(T["how_text"])
        st.latex(r"\mathrm{MSE} = \frac{1}{n}\sum_{i=1}^{n}\left(\hat y_i - y_i\right)^2")
        st.markdown(T["how_update"])
        st.latex(r"\theta \leftarrow \theta - \eta\,\frac{\partial\,\mathrm{MSE}}{\partial\theta}")


def share_link(query: dict[str, str]) -> str:
    base = st.context.url or "http://localhost:8501/"
    return base + ("?" + urlencode(query) if query else "")


def share_panel(T, cfg: FitConfig) -> None:
    ss = st.session_state
    with st.expander(T["share_panel"], icon=":material/share:"):
        st.caption(T["share_text"])
        st.code(share_link({k: st.query_params[k] for k in st.query_params}), language="text")
    if ss["hide"]:
        return  # a student's page: no teacher tools
    with st.expander(T["teacher_panel"], icon=":material/school:"):
        st.caption(T["teacher_text"])
        cols = st.columns(3)
        names = [*FIELDS, "preset", "speed", "lang"]
        hide = [
            n
            for i, n in enumerate(names)
            if cols[i % 3].checkbox(_control_label(T, n), key=f"teach_{n}")
        ]
        autoplay = st.checkbox(T["autoplay"], key="teach_autoplay")
        ui = UiSettings(
            preset=ss["preset"] if ss["preset"] in PRESETS else None,
            lang=ss["lang"],
            speed=ss["speed"],
            autoplay=autoplay,
            hide=tuple(hide),
        )
        st.code(share_link({**cfg.to_query(), **ui.to_query()}), language="text")


def _control_label(T, name: str) -> str:
    return T["language"] if name == "lang" else T[name]


def main() -> None:
    _torch_threads()
    init_state()
    ss = st.session_state
    T = catalog(ss["lang"])
    st.title(T["title"])
    st.caption(T["subtitle"])
    if ss["link_warnings"]:
        st.warning(T["link_warnings"] + "\n\n" + "\n".join(f"- {w}" for w in ss["link_warnings"]))
    cfg = sidebar(T)
    sync_query(cfg)
    key = run_key(cfg)
    if ss["run_key"] is not None and ss["run_key"] != key:
        ss["cursor"] = 0
        st.toast(T["restarted"])
    ss["run_key"] = key
    run = shared_run(key, cfg)
    buttons(T, run, cfg)
    live(T, run, cfg)
    how_it_works(T)
    share_panel(T, cfg)


main()
