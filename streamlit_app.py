"""FitLab: watch PyTorch fit a curve by gradient descent. The page only; the work is in fitcore."""

from __future__ import annotations

import dataclasses
import gc
import logging
import math
import os
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from fitcore import LIMITS, PRESETS, FitConfig, charts, landscape, race, registry
from fitcore.advice import suggest_lr
from fitcore.codegen import export_script
from fitcore.config import HIDEABLE, SPEEDS, UiSettings, points_digest
from fitcore.data import edit, is_generated, near, outlier
from fitcore.i18n import catalog, pick_language
from fitcore.models import describe_run, equation
from fitcore.player import SharedRun
from fitcore.race import race_iter
from fitcore.train import one_thread, train_iter, weights_file
from fitcore.upload import MAX_ROWS, UploadError, numeric_columns, read_table, table_points

log = logging.getLogger("fitlab")

# Seconds between frames per speed. At "max" each rerun first trains for MAX_BUDGET seconds
# (a computed run is charged what its frames cost to compute, so it replays at that pace).
# bench/page.py, final frame vs the blog's loop: 0.55x with 120 ms per 150 ms; training on a
# prefetch thread instead was 0.71-0.79x (it contends with drawing for the GIL).
INTERVALS = {"slow": 0.33, "normal": 0.1, "fast": 0.033, "max": 0.15}
MAX_BUDGET = 0.12
# At max a fast machine could train a whole run in one budget: each rerun skips at most enough
# frames that a student still sees this many (the parabola taking shape, not just its end).
MIN_FRAMES_AT_MAX = 12
MAX_ADDED = 20  # outliers a student may add: enough to make the point, bounded per session
LR_STEPS = [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0]
DECAYS = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0]
FIELDS = [f.name for f in dataclasses.fields(FitConfig)]
# Served by this server: a Material icon as page_icon is fetched from fonts.gstatic.com, which
# schools offline and networks in mainland China cannot reach.
FAVICON = str(Path(__file__).parent / "assets" / "favicon.png")


# Streamlit's wide layout leaves ~110 px above the title: on a laptop that pushes the charts
# below the fold. The four buttons stay in one row, also on a phone (Reset sat alone on a
# second row at 390 px), with their labels on one line.
PAGE_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
.st-key-controls { flex-wrap: nowrap !important; }
.st-key-controls button p { white-space: nowrap; }
@media (max-width: 640px) {
  .st-key-controls { gap: 0.4rem !important; }
  .st-key-controls button { padding-left: 0.3rem; padding-right: 0.3rem; min-width: 0; }
}
</style>"""


@st.cache_resource
def _torch_setup() -> None:
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


@st.cache_resource(max_entries=32, ttl=3600)
def shared_run(key: str, _cfg: FitConfig, _points=None) -> SharedRun:
    """One SharedRun per config (and uploaded data), shared by every session on the server."""
    return SharedRun(_cfg, _points)


def run_key(cfg: FitConfig, points: pd.DataFrame | None = None) -> str:
    """A string naming the run: the config, and a digest of its points when they are given."""
    key = "&".join(f"{k}={v}" for k, v in sorted(cfg.to_query().items()))
    return key if points is None else f"{key}|points={points_digest(points)}"


def escape_md(text: object) -> str:
    """User text made inert for Streamlit's markdown: every punctuation mark backslash-escaped."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>~$:=&\"'" else c for c in str(text))


def query_dict() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def link_warnings(query: dict[str, list[str]], lang: str) -> list[str]:
    """What in the opening link could not be used, in the page's language."""
    return UiSettings.from_query(query, lang=lang)[1] + FitConfig.from_query(query, lang=lang)[1]


def init_state() -> None:
    """Session state, set up once per session from the link's query string."""
    if "values" in st.session_state:
        return
    query = query_dict()
    cfg, _ = FitConfig.from_query(query)
    ui, _ = UiSettings.from_query(query)
    st.session_state.update(
        values={f: getattr(cfg, f) for f in FIELDS},  # the settings, also while a widget is hidden
        link_query=query,  # its warnings are written in whatever language the page is in
        lang=pick_language(ui.lang, st.context.locale),
        speed=ui.speed,
        # the preset only names the settings while they are still exactly the preset's
        preset=ui.preset if ui.preset and PRESETS[ui.preset] == cfg else "custom",
        lang_chosen=ui.lang is not None,  # else the browser's language, not written to links
        hide=ui.hide,
        playing=False,
        armed=ui.autoplay,  # autoplay: start once the browser has drawn step 0 (page_ready)
        cursor=0,  # the step on screen
        run_key=None,
        autoplay=ui.autoplay,
        # display toggles, kept here too because Streamlit drops the state of undrawn widgets
        display={"log_loss": True, "show_truth": True, "show_reference": True, "show_units": False},
        uploaded=None,  # (name, DataFrame x, y) of the last good upload
        edits={"data": None, "removed": frozenset(), "added": ()},  # points a student edited
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
    return widget(
        T[field], *args, key=field, help=T[f"{field}_help"], on_change=_left_preset, **kwargs
    )


def _left_preset() -> None:
    # a callback: it runs before the script, while the preset widget may still be changed
    st.session_state["preset"] = "custom"


def _chose_language() -> None:
    st.session_state["lang_chosen"] = True


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
    sb = st.sidebar
    with sb:
        if "lang" not in ss["hide"]:
            st.radio(
                T["language"],
                ["en", "zh"],
                key="lang",
                on_change=_chose_language,
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

        # The tutorial's controls first: data, model, learning rate, steps, speed.
        st.subheader(T["g_data"])
        values["dataset"] = control(
            T,
            "dataset",
            st.selectbox,
            registry.names("dataset"),
            format_func=lambda d: T[f"ds_{d}"],
        )
        if "dataset" not in ss["hide"]:
            st.caption(T[f"dsd_{values['dataset']}"])
        if values["dataset"] == "csv":
            upload_ui(T)
        generated = values["dataset"] != "csv"  # noise and count mean nothing for a file
        values["noise"] = control(
            T, "noise", st.slider, *LIMITS["noise"], step=0.05, visible=generated
        )
        values["n_points"] = control(
            T, "n_points", st.slider, *LIMITS["n_points"], step=1, visible=generated
        )

        st.subheader(T["g_model"])
        # the heading names the group; a second "Model" above the box would only repeat it
        values["model"] = control(
            T,
            "model",
            st.selectbox,
            registry.names("model"),
            format_func=lambda m: T[f"m_{m}"],
            label_visibility="collapsed",
        )
        values["degree"] = control(
            T, "degree", st.slider, *LIMITS["degree"], visible=values["model"] == "poly"
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
            T,
            "activation",
            st.selectbox,
            registry.names("activation"),
            visible=values["model"] == "mlp",
            format_func=lambda a: T[f"act_{a}"],
        )

        st.subheader(T["g_training"])
        values["lr"] = control(
            T,
            "lr",
            st.select_slider,
            options=sorted({*LR_STEPS, values["lr"]}),
            format_func=lambda v: f"{v:g}",
        )
        values["steps"] = control(T, "steps", st.number_input, *LIMITS["steps"], step=100)
        if "speed" not in ss["hide"]:
            st.select_slider(
                T["speed"],
                SPEEDS,
                key="speed",
                help=T["speed_help"],
                format_func=lambda s: T[f"sp_{s}"],
            )

        # The rest, folded: what a first lesson does not touch.
        with st.expander(T["g_more"], icon=":material/tune:"):
            values["optimizer"] = control(
                T,
                "optimizer",
                st.selectbox,
                registry.names("optimizer"),
                format_func=lambda o: T[f"opt_{o}"],
            )
            values["momentum"] = control(
                T,
                "momentum",
                st.slider,
                *LIMITS["momentum"],
                step=0.01,
                visible=registry.get("optimizer", values["optimizer"]).momentum,
            )
            values["loss"] = control(
                T, "loss", st.selectbox, registry.names("loss"), format_func=lambda v: T[f"l_{v}"]
            )
            values["batch_size"] = control(
                T, "batch_size", st.number_input, *LIMITS["batch_size"], step=1
            )
            values["weight_decay"] = control(
                T,
                "weight_decay",
                st.select_slider,
                options=sorted({*DECAYS, values["weight_decay"]}),
                format_func=lambda v: f"{v:g}",
            )
            values["test_fraction"] = control(
                T, "test_fraction", st.slider, *LIMITS["test_fraction"], step=0.05
            )
            values["seed"] = control(T, "seed", st.number_input, *LIMITS["seed"], step=1)
            values["every"] = control(T, "every", st.number_input, *LIMITS["every"], step=10)

        st.subheader(T["g_display"])
        for key, applies in {
            "log_loss": True,
            "show_truth": is_generated(values["dataset"]),
            "show_reference": values["model"] in ("linear", "poly"),
            "show_units": values["model"] == "mlp",
        }.items():
            if applies:
                ss.setdefault(key, ss["display"][key])
                ss["display"][key] = st.toggle(T[key], key=key)

    ss["values"] = values
    return FitConfig(**values)


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
        lang=ss["lang"] if ss["lang_chosen"] else None,
        speed=ss["speed"],
        autoplay=ss["autoplay"],
        hide=ss["hide"],
    )
    wanted = {**cfg.to_query(), **ui.to_query()}
    current = st.query_params.to_dict()
    if wanted != current:
        st.query_params.from_dict(wanted)


@st.cache_data(max_entries=64)
def suggested_lr(key: str, _cfg: FitConfig, _points) -> float:
    return suggest_lr(_cfg, _points)


def buttons(T, run: SharedRun, cfg: FitConfig) -> None:
    ss = st.session_state
    at_end = run.is_last(ss["cursor"])
    started = ss["cursor"] > 0 or ss.get("advance", False)
    label = T["again"] if at_end else (T["resume"] if started else T["train"])
    icon = ":material/replay:" if at_end else ":material/play_arrow:"
    # a horizontal container lets the buttons flow in rows on a phone; columns would stack
    with st.container(horizontal=True, key="controls"):
        st.button(
            label,
            key="train",
            icon=icon,
            on_click=_train,
            args=(at_end,),
            type="primary",
            width="stretch",
        )
        st.button(
            T["pause"], key="pause", icon=":material/pause:", on_click=_pause, width="stretch"
        )
        st.button(
            T["step"], key="step", icon=":material/skip_next:", on_click=_step, width="stretch"
        )
        st.button(
            T["reset"], key="reset", icon=":material/restart_alt:", on_click=_reset, width="stretch"
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
def ready_signal():
    """The page_ready component, registered once per server process."""
    return st.components.v2.component("fitlab_page_ready", js=READY_JS)


def _start_autoplay() -> None:
    _play(True)


def _train(at_end: bool) -> None:
    if at_end:
        st.session_state["cursor"] = 0
    _play(True)


def _pause() -> None:
    _play(False)


def _step() -> None:
    _play(False)
    st.session_state["advance"] = True


def _reset() -> None:
    _play(False)
    st.session_state["cursor"] = 0


def _play(playing: bool) -> None:
    # a student's own click overrides an autoplay still waiting for the page to be drawn
    st.session_state.update(playing=playing, armed=False)


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


def live(T, run: SharedRun, cfg: FitConfig) -> None:
    """Everything that changes per frame; reruns alone on a timer while training.

    Call it after the rest of the page is drawn (inside the slot kept for it): the timer
    starts when the fragment is registered, and ticks that arrived while the page was still
    drawing would advance frames no student saw.
    """
    ss = st.session_state
    playing = ss["playing"]
    full_run = [True]  # the first call is this full run's; timer ticks come after it

    def frame_area() -> None:
        one_thread()  # a fragment rerun does not run main(); see train.one_thread
        if ss.pop("full_rerun", False):
            st.rerun()  # a button inside this fragment changed a setting in the sidebar
        ticked, full_run[0] = not full_run[0], False
        frame = run.frame_at(ss["cursor"])
        # a full run (opening a link with autoplay, pressing Train) first shows where it is
        if ss.pop("advance", False) or (ss["playing"] and ticked):
            if ss["playing"] and ss["speed"] == "max":
                # Reading session state between frames lets Streamlit stop this rerun at once
                # when the student clicks Pause: its yield check raises the rerun there.
                nxt = run.catch_up(
                    frame.step, MAX_BUDGET, max_frames_per_rerun(cfg), between=lambda: ss["playing"]
                )
            else:
                nxt = run.after(frame.step)
            if nxt is not None:
                frame = nxt
            if ss["playing"] and (nxt is None or frame.diverged or run.is_last(frame.step)):
                ss.update(cursor=frame.step, playing=False)
                st.rerun()  # the whole page: draws the last frame, stops the timer, relabels
        draw(T, run, cfg, frame)  # moves the cursor once the frame's status is on its way
        if ss["playing"] and ss["speed"] != "max":
            # the next frame trains while the browser draws this one, so the next rerun
            # only draws (at max each rerun trains for its budget instead)
            run.prefetch(frame.step)

    def guarded_frame_area() -> None:
        guarded(T, frame_area)

    st.fragment(run_every=INTERVALS[ss["speed"]] if playing else None)(guarded_frame_area)()


def max_frames_per_rerun(cfg: FitConfig) -> int:
    """At max, how many frames one rerun may skip ahead: a run shows MIN_FRAMES_AT_MAX."""
    frames = cfg.steps // cfg.every + 2  # step 0, every `every`, and the last
    return max(1, math.ceil(frames / MIN_FRAMES_AT_MAX))


def draw(T, run: SharedRun, cfg: FitConfig, frame) -> None:
    """Status, metrics, both charts and the model panel for one frame."""
    ss = st.session_state
    display = ss["display"]
    scene = run.scene
    shown = run.last_good(frame.step)  # after a divergence, the last good fit stays
    with st.container(key="status"):
        st.progress(
            min(frame.step / cfg.steps, 1.0),
            text=T["status"].format(step=frame.step, steps=cfg.steps),
        )
    # The cursor is the step the status shows: set right after it is sent. A Pause stops a
    # playing rerun at its next Streamlit call; had the cursor moved before the status was
    # sent, or only after the rest of the frame, the Pause's own rerun would draw another step
    # than the one on screen: the status changed 250-440 ms after the click, at every speed.
    ss["cursor"] = frame.step
    if frame.diverged:
        suggestion = suggested_lr(ss["run_key"], cfg, run.points)
        st.error(
            T["diverged"].format(step=frame.step, lr=f"{cfg.lr:g}", suggestion=f"{suggestion:g}")
        )
        st.button(
            T["use_suggestion"].format(suggestion=f"{suggestion:g}"),
            key="use_lr",
            on_click=_use_lr,
            args=(suggestion,),
        )
    with st.container(horizontal=True, key="metrics"):
        st.metric(T["train_loss"], _fmt(shown.train_loss))
        if shown.test_loss is not None:
            st.metric(T["test_loss"], _fmt(shown.test_loss))
        if cfg.model == "linear":
            st.metric(T["w"], _fmt(shown.params["w"]))
            st.metric(T["b"], _fmt(shown.params["b"]))
        else:
            st.metric(T["grad_norm"], _fmt(shown.grad_norm))

    labels = chart_labels(T)
    editable = not ss["playing"]
    points = scene.points
    if ss["edits"]["added"]:
        is_added = near(points, ss["edits"]["added"])
        points = points.assign(split=points["split"].where(~is_added, "added"))
    titles = axis_titles(cfg)
    y_domain = scene.y_domain if not frame.diverged else charts.widened(scene.y_domain, shown.curve)
    structure = (ss["run_key"], ss["lang"], tuple(sorted(display.items())), editable)
    structure += (titles, y_domain)
    fit_layers = {
        "truth": scene.truth if display["show_truth"] else None,
        "reference": scene.reference if display["show_reference"] else None,
        "units": shown.units if display["show_units"] else None,  # None unless an MLP
    }
    loss_layers = {
        "log": display["log_loss"],
        "reference_loss": scene.reference_loss if display["show_reference"] else None,
    }
    history = run.history(frame.step)  # a diverged run's history shows the blow-up
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
            key=f"fit_chart_{len(ss['edits']['removed'])}_{len(ss['edits']['added'])}",
            on_select="rerun" if editable else "ignore",
            selection_mode="picked" if editable else None,
        )
    with right:
        live_chart(
            ("loss", *structure),
            lambda: charts.loss_chart(history, **loss_layers, steps=cfg.steps, labels=labels),
            charts.loss_data(history, **loss_layers, labels=labels),
            key="loss_chart",
        )
    if fit_layers["units"] is not None:
        st.caption(T["units_text"])
    if fit_layers["reference"] is not None:
        st.caption(T["reference_text"])
    if editable:
        edit_points(T, run, selection)
    model_panel(T, cfg, shown)


def axis_titles(cfg: FitConfig) -> tuple[str | None, str | None]:
    """An upload's column names for the axes (None: the charts' own x and y)."""
    uploaded = st.session_state["uploaded"]
    if cfg.dataset != "csv" or uploaded is None:
        return None, None
    attrs = uploaded[1].attrs
    return attrs.get("x_name"), attrs.get("y_name")


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


def _use_lr(lr: float) -> None:
    _left_preset()
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
        text, count = model_text(st.session_state["run_key"], cfg)
        st.code(text, language="text")
        st.caption(T["params_count"].format(count=count))
        if frame.params:
            st.markdown(f"**{T['equation']}**")
            st.latex(equation(frame.params))


@st.cache_data(max_entries=64)
def model_text(key: str, _cfg: FitConfig) -> tuple[str, int]:
    return describe_run(_cfg)


def how_it_works(T) -> None:
    st.markdown(T["how_text"])
    st.latex(r"\mathrm{MSE} = \frac{1}{n}\sum_{i=1}^{n}\left(\hat y_i - y_i\right)^2")
    st.markdown(T["how_update"])
    st.latex(r"\theta \leftarrow \theta - \eta\,\frac{\partial\,\mathrm{MSE}}{\partial\theta}")


def share_link(query: dict[str, str]) -> str:
    """The page's address with `query`; commas stay commas (hidden=32,32 reads as typed)."""
    base = (st.context.url or "http://localhost:8501/").split("?")[0]
    if not base.endswith("/"):
        base += "/"  # st.context.url has no slash after the host
    return base + ("?" + urlencode(query, safe=",") if query else "")


def share_panel(T, cfg: FitConfig) -> None:
    ss = st.session_state
    with st.expander(T["share_panel"], icon=":material/share:"):
        st.caption(T["share_text"])
        st.code(share_link(st.query_params.to_dict()), language="text")
        if cfg.dataset == "csv" or ss["edits"]["removed"] or ss["edits"]["added"]:
            st.warning(T["share_not_carried"], icon=":material/link_off:")
    if ss["hide"]:
        return  # a student's page: no teacher tools
    with st.expander(T["teacher_panel"], icon=":material/school:"):
        st.caption(T["teacher_text"])
        cols = st.columns(3)
        names = HIDEABLE
        hide = [
            n
            for i, n in enumerate(names)
            if cols[i % 3].checkbox(_control_label(T, n), key=f"teach_{n}")
        ]
        autoplay = st.checkbox(T["autoplay"], key="teach_autoplay")
        ui = UiSettings(
            preset=ss["preset"] if ss["preset"] in PRESETS else None,
            lang=ss["lang"] if ss["lang_chosen"] else None,
            speed=ss["speed"],
            autoplay=autoplay,
            hide=tuple(hide),
        )
        st.code(share_link({**cfg.to_query(), **ui.to_query()}), language="text")


def _control_label(T, name: str) -> str:
    return T["language"] if name == "lang" else T[name]


def upload_ui(T) -> None:
    """The CSV uploader: a good file replaces the data, a bad one changes nothing."""
    ss = st.session_state
    file = st.file_uploader(
        T["upload"],
        type=["csv", "txt", "tsv"],
        key="upload",
        help=T["upload_help"].format(rows=MAX_ROWS),
    )
    if file is None:
        return
    raw = file.getvalue()
    try:
        table = read_table(raw)
        columns = numeric_columns(table)
        x_col = y_col = None
        if len(columns) > 2:
            x_col = st.selectbox(T["x_column"], columns, index=0, key="x_column")
            y_col = st.selectbox(
                T["y_column"],
                columns,
                index=1,
                key="y_column",
            )
        points = table_points(table, x_col, y_col)
    except UploadError as e:
        params = {k: escape_md(v) for k, v in e.params.items()}
        st.error(T[f"upload_{e.code}"].format(**params) + " " + T["upload_kept"])
        return
    except ValueError as e:  # table_points promises UploadError; keep the page safe regardless
        st.error(escape_md(e) + " " + T["upload_kept"])
        return
    ss["uploaded"] = (file.name, points)
    dropped = points.attrs.get("dropped", 0)
    st.caption(T["upload_ok"].format(rows=len(points), name=escape_md(file.name)))
    if dropped:
        st.caption(T["upload_dropped"].format(dropped=dropped))
    st.caption(T["upload_scaled"])


def run_points(T, cfg: FitConfig) -> pd.DataFrame | None:
    """The points to train on instead of generated ones: an upload, and a student's edits."""
    ss = st.session_state
    base = None
    if cfg.dataset == "csv":
        if ss["uploaded"] is None:
            return None
        base = ss["uploaded"][1]
    edits = ss["edits"]
    data_key = (cfg.dataset, cfg.n_points, cfg.noise, cfg.seed)
    if base is not None:
        data_key = (cfg.dataset, points_digest(base))
    if edits["data"] != data_key:  # the data changed: edits of the old data no longer apply
        ss["edits"] = edits = {"data": data_key, "removed": frozenset(), "added": ()}
    if not edits["removed"] and not edits["added"]:
        return base
    if base is None:
        base = shared_run(run_key(cfg), cfg).scene.points
    return edit(base, edits["removed"], edits["added"])


def edit_points(T, run: SharedRun, selection) -> None:
    """Buttons under the fit chart: remove the clicked points, add an outlier, undo edits."""
    ss = st.session_state
    picked = [
        row["id"] for row in (selection or {}).get("selection", {}).get("picked", []) if "id" in row
    ]
    pts = run.scene.points
    edits = ss["edits"]
    with st.container(horizontal=True, key="edit_buttons"):
        remove = st.button(
            T["remove_points"].format(n=len(picked)), key="remove_points", disabled=not picked
        )
        add = st.button(
            T["add_outlier"], key="add_outlier", disabled=len(edits["added"]) >= MAX_ADDED
        )
        undo = st.button(
            T["undo_edits"], key="undo_edits", disabled=not (edits["removed"] or edits["added"])
        )
    st.caption(T["edit_hint"])
    if remove:
        chosen = pts.loc[pts.index.isin(picked)]
        removed = set(zip(chosen["x"], chosen["y"], strict=True))
        ss["edits"] = {**edits, "removed": edits["removed"] | removed}
    elif add:
        spot = outlier(pts, run.scene.x_domain, len(edits["added"]))
        ss["edits"] = {**edits, "added": (*edits["added"], spot)}
    elif undo:
        ss["edits"] = {**edits, "removed": frozenset(), "added": ()}
    if remove or add or undo:
        st.rerun()  # the whole page: the edited points make a new run


def replay(T, run: SharedRun) -> None:
    """A slider over the stored frames: scrub back through the run (pauses it)."""
    ss = st.session_state
    if ss["playing"]:
        return
    steps = [f.step for f in run.frames if f.step <= ss["cursor"] and not f.diverged]
    if len(steps) < 2:
        return
    ss["replay"] = steps[-1]
    st.select_slider(
        T["replay"], options=steps, key="replay", on_change=_replay, help=T["replay_help"]
    )


def _replay() -> None:
    st.session_state["cursor"] = st.session_state["replay"]
    st.session_state["playing"] = False


def views(T, run: SharedRun, cfg: FitConfig, points) -> None:
    """The teaching views below the live area; redrawn on full reruns, not every frame."""
    ss = st.session_state
    frame = run.frame_at(ss["cursor"])
    names = ["how_panel", "race_panel", "code_panel", "download_panel"]
    if cfg.model == "linear":
        names.insert(0, "landscape_panel")
    tabs = dict(zip(names, st.tabs([T[n] for n in names]), strict=True))
    if "landscape_panel" in tabs:
        with tabs["landscape_panel"]:
            landscape_view(T, run, cfg, frame)
    with tabs["how_panel"]:
        how_it_works(T)
    with tabs["race_panel"]:
        race_view(T, run, cfg, points)
    with tabs["code_panel"]:
        st.caption(T["code_text"])
        script = exported_script(st.session_state["run_key"], cfg, points, ss["lang"])
        st.download_button(
            T["download_script"],
            script,
            file_name="fitlab_run.py",
            mime="text/x-python",
            key="download_script",
            on_click="ignore",
            icon=":material/download:",
        )
        st.code(script, language="python")
    with tabs["download_panel"]:
        downloads(T, run, cfg, points, frame)


@st.cache_data(max_entries=64)
def exported_script(key: str, _cfg: FitConfig, _points, lang: str) -> str:
    """The script of this run, commented in the page's language."""
    return export_script(_cfg, _points, lang=lang)


def landscape_view(T, run: SharedRun, cfg: FitConfig, frame) -> None:
    st.caption(T["landscape_text"])
    pts = run.scene.points
    train = pts[pts["split"] == "train"]
    path = pd.DataFrame(
        [
            (f.step, f.params["w"], f.params["b"])
            for f in run.frames
            if f.step <= frame.step and not f.diverged
        ],
        columns=["step", "w", "b"],
    )
    x, y = train["x"].to_numpy(), train["y"].to_numpy()
    minimum = landscape.least_squares_line(x, y)
    w_range, b_range = landscape.ranges(
        x, y, path["w"].tolist(), path["b"].tolist(), minimum=minimum
    )
    grid = loss_grid(
        x,
        y,
        tuple(round(v, 6) for v in w_range),
        tuple(round(v, 6) for v in b_range),
        cfg.loss,
    )
    st.altair_chart(
        charts.landscape_chart(
            grid,
            path,
            minimum=minimum,
            current=(frame.params["w"], frame.params["b"]),
            labels=chart_labels(T),
        ),
        width="stretch",
    )


@st.cache_data(max_entries=32)
def loss_grid(x, y, w_range, b_range, loss) -> pd.DataFrame:
    return landscape.loss_grid(x, y, w_range, b_range, loss=loss)


RACE_LRS = [0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0]


def race_view(T, run: SharedRun, cfg: FitConfig, points) -> None:
    st.caption(T["race_text"])
    kind = st.radio(
        T["race_kind"],
        ["lr", "optimizer"],
        key="race_kind",
        horizontal=True,
        format_func=lambda k: T[f"race_{k}"],
    )
    if kind == "lr":
        chosen = st.multiselect(
            T["lr"],
            sorted({*RACE_LRS, cfg.lr}),
            key="race_lrs",
            default=[0.01, cfg.lr, 0.5] if cfg.lr not in (0.01, 0.5) else [0.01, 0.05, 0.5],
            max_selections=8,
        )
        variants = [{"lr": lr} for lr in sorted(chosen)]
        names = [f"{T['lr']} {lr:g}" for lr in sorted(chosen)]
    else:
        chosen = st.multiselect(
            T["optimizer"],
            race.raceable(),
            key="race_opts",
            default=["sgd", "adam"],
            format_func=lambda o: T[f"opt_{o}"],
        )
        variants = [{"optimizer": o} for o in chosen]
        names = [T[f"opt_{o}"] for o in chosen]
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
    history = history.assign(series=history["variant"].map(dict(enumerate(names))))
    curves = curves.assign(series=curves["variant"].map(dict(enumerate(names))))
    left, right = st.columns(2)
    labels = chart_labels(T)
    titles = axis_titles(cfg)
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


@st.cache_data(max_entries=16)
def race_result(key, _cfg, variants, _points):
    """Losses per variant (step, loss, variant) and the final curves (x, y_hat, variant)."""
    rows, last = [], None
    for snap in race_iter(_cfg, [dict(v) for v in variants], _points):
        rows += [(snap.step, loss, i) for i, loss in enumerate(snap.losses)]
        last = snap
    history = pd.DataFrame(rows, columns=["step", "loss", "variant"])
    return history, last.curves


def downloads(T, run: SharedRun, cfg: FitConfig, points, frame) -> None:
    st.caption(T["download_text"])

    # Each file is made only when its button is clicked: full reruns stay cheap.
    def loss_history() -> str:
        table = run.history(frame.step).pivot(index="step", columns="series", values="loss")
        return table.to_csv()

    files = [
        ("download_data", lambda: run.scene.points.to_csv(index=False), "fitlab_data.csv"),
        ("download_curve", lambda: frame.curve.to_csv(index=False), "fitlab_curve.csv"),
        ("download_loss", loss_history, "fitlab_loss.csv"),
        (
            "download_weights",
            lambda: weights_file(cfg, frame.step, points),
            f"fitlab_step{frame.step}.pt",
        ),
    ]
    for col, (key, data, name) in zip(st.columns(len(files)), files, strict=True):
        mime = "text/csv" if name.endswith(".csv") else "application/octet-stream"
        col.download_button(
            T[key],
            data,
            file_name=name,
            mime=mime,
            key=key,
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )


def main() -> None:
    one_thread()
    _torch_setup()
    init_state()
    T = catalog(st.session_state["lang"])
    st.set_page_config(page_title=T["page_title"], page_icon=FAVICON, layout="wide")
    st.html(PAGE_CSS)
    guarded(T, lambda: page(T))


def page(T) -> None:
    """The whole page, top to bottom."""
    ss = st.session_state
    st.title(T["title"])
    st.caption(T["subtitle"])
    warnings = link_warnings(ss["link_query"], ss["lang"])
    if warnings:
        lines = "\n".join(f"- {escape_md(w)}" for w in warnings)
        st.warning(T["link_warnings"] + "\n\n" + lines)
    cfg = sidebar(T)
    sync_query(cfg)
    points = run_points(T, cfg)
    if cfg.dataset == "csv" and points is None:
        st.info(T["need_upload"])
        return
    key = run_key(cfg, points)
    if ss["run_key"] is not None and ss["run_key"] != key:
        ss["cursor"] = 0
        st.toast(T["restarted"])
    ss["run_key"] = key
    run = shared_run(key, cfg, points)
    buttons(T, run, cfg)
    replay(T, run)
    slot = st.container()  # the live area, drawn last (see live)
    views(T, run, cfg, points)
    share_panel(T, cfg)
    with slot:
        live(T, run, cfg)
    if ss["armed"]:
        ready_signal()(key="page_ready", on_ready_change=_start_autoplay)


main()
