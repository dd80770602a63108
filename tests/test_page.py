"""The page in Streamlit's AppTest: load, buttons, settings, divergence, links, languages."""

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from fitcore import PRESETS, FitConfig, export_script, suggest_lr, train_iter
from fitcore.config import HIDEABLE
from fitcore.i18n import catalog

APP = "../streamlit_app.py"
CJK = re.compile(r"[\u4e00-\u9fff]")
T = catalog("en")


def open_page(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def status(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def test_load_draws_the_untrained_model():
    at = open_page()
    assert status(at) == "step 0 / 5000"
    first = next(iter(train_iter(FitConfig())))
    assert metric(at, "Training loss") == f"{first.train_loss:.4g}"
    assert len(at.get("vega_lite_chart")) == 2
    assert not at.error


def test_step_advances_one_snapshot():
    at = click(open_page(), "step")
    snaps = train_iter(PRESETS["blog-quadratic"])
    next(snaps)
    assert status(at) == "step 100 / 5000"
    assert metric(at, "Training loss") == f"{next(snaps).train_loss:.4g}"


def test_reset_goes_back_to_step_zero():
    at = click(click(click(open_page(), "step"), "step"), "reset")
    assert status(at) == "step 0 / 5000"


def test_train_then_pause_keeps_the_step():
    # no timer ticks in AppTest: Train plays from where Step left it, Pause holds that step
    at = click(click(click(open_page(), "step"), "train"), "pause")
    assert status(at) == "step 100 / 5000"
    assert status(click(at, "pause")) == "step 100 / 5000"


def widget_state(at: AppTest, key: str):
    """The state the browser holds for the widget with `key`, as it sends it on a rerun."""
    return next(w for w in at._tree.get_widget_states().widgets if w.id.endswith(f"-{key}"))


def rerun_with_stale(at: AppTest, stale) -> AppTest:
    """Rerun as a timer tick does when the browser still holds a widget the last run dropped.

    Under load a fragment's tick can leave the browser before the full run that removed a
    paused-only widget (the replay slider, the explain panel's stages) has reached it: the
    tick carries that widget's last value, which the server, having forgotten the widget,
    takes for a change and calls its on_change with.
    """
    states = at._tree.get_widget_states()
    states.widgets.append(stale)
    at._run(widget_state=states)
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("stale_key", ["replay", "explain_stage"])
def test_a_tick_carrying_a_paused_only_widget_leaves_the_run_playing(stale_key):
    # before: pressing Train after a pause, on 2 busy cores, showed Pause and no frame ever
    # came (2 runs of 6): the replay slider's stale value had paused the run again
    at = click(click(open_page(), "step"), "step")  # two frames: the replay slider shows
    state = at.session_state["page"]
    state.explain(True)
    state.show_stage(2)  # the panel open at its second stage
    at.run()
    stale = widget_state(at, stale_key)
    assert status(click(at, "train")) == "step 200 / 5000"
    assert state.playing and state.stage == 4  # playing shows the whole update once paused
    rerun_with_stale(at, stale)
    assert state.playing  # still playing: the next tick goes on from here
    assert state.stage == 4 and state.cursor == 200
    assert status(at) == "step 200 / 5000"


def test_a_pause_that_lands_while_a_playing_frame_draws_breaks_nothing(monkeypatch):
    # Streamlit's fastReruns runs a Pause's rerun on a new thread while the playing one draws
    # on: before, a frame that began playing and ended paused asked its non-selectable fit
    # chart for a selection and showed an internal error (bench/crowd.py, the teacher's link)
    from ui import live

    at = click(open_page(), "train")
    state = at.session_state["page"]
    assert state.playing
    drawn = live.live_chart

    def paused_after_the_fit_chart(structure, *args, **kwargs):
        chart = drawn(structure, *args, **kwargs)
        if structure[0] == "fit":
            state.pause()  # what the Pause's own rerun does meanwhile, on its thread
        return chart

    monkeypatch.setattr(live, "live_chart", paused_after_the_fit_chart)
    at.run()
    assert not at.exception, at.exception
    assert not at.error  # no "internal error" message either
    assert not state.playing


def train_label(at: AppTest) -> str:
    return at.button(key="train").label


def test_the_train_button_reads_train_before_anything_ran():
    at = open_page(steps="300", every="100")
    assert train_label(at) == T["train"]
    at = click(click(at, "train"), "pause")  # paused before a frame past step 0 was shown
    assert status(at) == "step 0 / 300" and train_label(at) == T["train"]


def test_the_train_button_reads_resume_after_a_pause_mid_run():
    at = click(click(click(open_page(steps="300", every="100"), "step"), "train"), "pause")
    assert status(at) == "step 100 / 300" and train_label(at) == T["resume"]


def test_the_train_button_reads_train_again_at_the_end_and_starts_over():
    at = open_page(steps="300", every="100")
    for _ in range(3):
        at = click(at, "step")
    # stepped onto the last frame: before f946a28 the button still read Resume here
    assert status(at) == "step 300 / 300" and train_label(at) == T["again"]
    at = click(at, "train")  # it plays from step 0, where the button reads Train
    assert status(at) == "step 0 / 300" and train_label(at) == T["train"]


def test_an_autoplay_link_draws_the_ready_signal_and_shows_step_0_until_it_fires():
    # The browser's page_ready signal starts the run: tests/test_browser_class.py checks that
    # it then advances from step 0. Here: the signal is on the page, nothing ran without it,
    # and a student's click removes it.
    at = open_page(autoplay="1", steps="300", every="100")
    assert "page_ready" in element_keys(at) and "page_ready" not in element_keys(open_page())
    assert status(at.run()) == "step 0 / 300" and train_label(at) == T["train"]
    at = click(at, "step")
    assert status(at) == "step 100 / 300" and "page_ready" not in element_keys(at)


def test_a_setting_change_starts_a_fresh_run_and_says_so():
    at = click(click(open_page(), "step"), "step")
    at.selectbox(key="model").set_value("linear").run()
    assert not at.exception
    assert status(at) == "step 0 / 5000"
    assert any("starts again" in t.proto.body for t in at.toast)
    assert "w (slope)" in [m.label for m in at.metric]


def test_display_toggle_keeps_the_run():
    at = click(open_page(), "step")
    at.toggle(key="log_loss").set_value(False).run()
    assert status(at) == "step 100 / 5000"


def test_divergence_explains_and_suggests_a_learning_rate():
    at = open_page(dataset="linear", noise="0.5", lr="10", steps="200", every="10")
    for _ in range(4):
        at = click(at, "step")
        if at.error:
            break
    message = at.error[0].value
    suggestion = suggest_lr(FitConfig(dataset="linear", noise=0.5, lr=10.0, steps=200, every=10))
    assert "too high" in message and "learning rate 10" in message
    assert f"Try a learning rate of {suggestion:g}" in message
    assert metric(at, "Training loss") not in ("nan", "inf")  # the last finite fit stays
    at = click(at, "use_lr")
    assert at.select_slider(key="lr").value == suggestion
    assert status(at) == "step 0 / 200"
    assert not at.error


def test_a_link_restores_every_widget():
    cfg = FitConfig(
        dataset="sine",
        n_points=150,
        noise=0.35,
        test_fraction=0.2,
        seed=42,
        model="mlp",
        hidden=(16, 8),
        activation="tanh",
        optimizer="sgd",
        lr=0.2,
        momentum=0.9,
        weight_decay=0.001,
        batch_size=32,
        loss="huber",
        steps=3000,
        every=50,
    )
    at = open_page(**cfg.to_query())
    got = {
        "dataset": at.selectbox(key="dataset").value,
        "n_points": at.slider(key="n_points").value,
        "noise": at.slider(key="noise").value,
        "test_fraction": at.slider(key="test_fraction").value,
        "seed": at.number_input(key="seed").value,
        "model": at.selectbox(key="model").value,
        "hidden": tuple(int(w) for w in at.text_input(key="hidden").value.split(",")),
        "activation": at.selectbox(key="activation").value,
        "optimizer": at.selectbox(key="optimizer").value,
        "lr": at.select_slider(key="lr").value,
        "momentum": at.slider(key="momentum").value,
        "weight_decay": at.select_slider(key="weight_decay").value,
        "batch_size": at.number_input(key="batch_size").value,
        "loss": at.selectbox(key="loss").value,
        "steps": at.number_input(key="steps").value,
        "every": at.number_input(key="every").value,
    }
    assert FitConfig(**{**got, "degree": 3}) == cfg
    assert status(at) == "step 0 / 3000"


def test_a_poly_link_restores_the_degree():
    at = open_page(model="poly", degree="7")
    assert at.slider(key="degree").value == 7


def test_bad_link_values_are_named_with_the_value_used():
    at = open_page(lr="banana", steps="999999", hidden="0,5", zzz="1", speed="warp")
    text = re.sub(r"\\(.)", r"\1", at.warning[0].value)  # as shown: markdown escapes removed
    assert "lr='banana'" in text and "0.05" in text
    assert "steps='999999'" in text and "20000" in text
    assert "'zzz'" in text and "speed='warp'" in text
    assert at.number_input(key="steps").value == 20000
    assert not at.error


def test_widget_changes_are_written_to_the_url():
    at = open_page()
    at.select_slider(key="lr").set_value(0.2).run()
    assert at.query_params["lr"] == "0.2"


def test_hide_hides_exactly_the_named_controls_and_keeps_their_values():
    at = open_page(hide="lr,optimizer,seed", lr="0.1")
    keys = {w.key for kind in ("select_slider", "selectbox", "number_input") for w in at.get(kind)}
    assert {"lr", "optimizer", "seed"}.isdisjoint(keys)
    assert {"dataset", "loss", "steps", "weight_decay", "batch_size"} <= keys
    at = click(at, "step")
    expected = FitConfig(lr=0.1)
    snaps = train_iter(expected)
    next(snaps)
    assert metric(at, "Training loss") == f"{next(snaps).train_loss:.4g}"


def test_autoplay_waits_at_step_0_for_the_browser_then_a_click_takes_over():
    # the browser's page_ready signal starts it (tests/test_browser_class.py drives that part)
    at = open_page(autoplay="1")
    assert status(at) == "step 0 / 5000"
    assert at.session_state["page"].armed is True and at.session_state["page"].playing is False
    at = click(at, "step")
    assert status(at) == "step 100 / 5000" and at.session_state["page"].armed is False


# The link that draws a control which only some settings draw (the rest are always drawn).
DRAWN_BY = {
    "degree": {"model": "poly"},
    "hidden": {"model": "mlp"},
    "activation": {"model": "mlp"},
    "momentum": {"optimizer": "sgd"},  # not for Adam and AdamW
    "noise": {"dataset": "quadratic"},  # generated data only, not an upload
    "n_points": {"dataset": "quadratic"},
}


def element_keys(at: AppTest) -> set[str]:
    """The keys of every element on the page, sidebar and main area."""
    return {w.key for w in [*at.sidebar, *at.main] if getattr(w, "key", None)}


@pytest.mark.parametrize("name", HIDEABLE)
def test_each_hideable_control_can_be_hidden(name):
    shows = DRAWN_BY.get(name, {})
    drawn, hidden = (element_keys(open_page(**shows, **more)) for more in ({}, {"hide": name}))
    assert name in drawn  # the link draws it ...
    assert name not in hidden  # ... and hide= takes it off the page


def test_chinese_page_has_chinese_labels_and_english_page_none():
    zh, en = open_page(lang="zh"), open_page(lang="en")
    assert CJK.search(zh.button(key="train").label)
    assert CJK.search(zh.selectbox(key="dataset").label)
    assert CJK.search(status(zh))
    texts = [b.label for b in en.button] + [w.label for w in en.sidebar if hasattr(w, "label")]
    assert texts and not any(CJK.search(t) for t in texts if t != "Language")


def test_language_switch_translates_the_page():
    at = open_page()
    at.radio(key="lang").set_value("zh").run()
    assert at.button(key="step").label == "单步"


def test_code_tab_shows_the_exported_script_of_this_run():
    at = open_page(model="linear", lr="0.1")
    code = [c.value for c in at.code if "optimizer.zero_grad()" in c.value]
    assert code == [export_script(FitConfig(model="linear", lr=0.1)).strip()]


def test_race_draws_one_loss_line_per_learning_rate():
    at = open_page(steps="200", every="50")
    at.button(key="race_go").click().run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 4  # the live pair and the race pair
    race_loss = json.loads(charts[-1].proto.spec)
    assert race_loss["layer"][0]["encoding"]["color"]["scale"]["domain"] == [
        "Learning rate 0.01",
        "Learning rate 0.05",
        "Learning rate 0.5",
    ]


def test_landscape_tab_only_for_the_linear_model():
    assert "Loss landscape" in [t.label for t in open_page(model="linear").tabs]
    assert "Loss landscape" not in [t.label for t in open_page().tabs]


def test_downloads_offer_data_curve_history_and_weights():
    at = open_page()
    keys = {b.key for b in at.get("download_button")}
    assert {"download_data", "download_curve", "download_loss", "download_weights"} <= keys


def test_changing_a_setting_leaves_the_preset():
    at = open_page(preset="blog-linear")
    assert at.selectbox(key="preset").value == "blog-linear"
    at.select_slider(key="lr").set_value(0.2).run()
    assert not at.exception
    assert at.selectbox(key="preset").value == "custom"
    assert at.select_slider(key="lr").value == 0.2 and status(at) == "step 0 / 100"


def test_a_preset_link_with_changes_opens_as_custom_settings():
    at = open_page(preset="blog-linear", lr="10")
    assert not at.exception and at.selectbox(key="preset").value == "custom"
    assert at.select_slider(key="lr").value == 10.0 and status(at) == "step 0 / 100"


def test_choosing_a_preset_sets_every_widget():
    at = open_page()
    at.selectbox(key="preset").set_value("blog-linear").run()
    assert at.selectbox(key="dataset").value == "linear" and at.slider(key="noise").value == 0.5
    assert status(at) == "step 0 / 100"


def test_the_url_names_the_language_only_when_chosen():
    at = open_page(lr="0.1")
    assert "lang" not in at.query_params
    at.radio(key="lang").set_value("zh").run()
    assert at.query_params["lang"] == "zh"


def test_every_thread_that_trains_first_sets_one_torch_thread(monkeypatch):
    # OpenMP keeps the thread count per OS thread and Streamlit runs each script run on a new
    # one: a run that trained without setting it used two threads, 4x slower with the other
    # core busy (see fitcore.train.one_thread).
    import threading

    import torch

    import fitcore.train

    one_thread, trained = set(), set()
    set_num_threads, snapshot = torch.set_num_threads, fitcore.train._snapshot

    def record_threads(n):
        if n == 1:
            one_thread.add(threading.get_ident())
        set_num_threads(n)

    def record_snapshot(*args, **kwargs):
        trained.add(threading.get_ident())
        return snapshot(*args, **kwargs)

    monkeypatch.setattr(torch, "set_num_threads", record_threads)
    monkeypatch.setattr(fitcore.train, "_snapshot", record_snapshot)
    at = open_page(seed="4242")  # a config no other test has computed in this process
    click(at, "step")
    click(at, "step")
    assert trained and trained <= one_thread


def test_hidden_units_toggle_draws_one_curve_per_unit_summing_to_the_model():
    import numpy as np
    import pyarrow as pa

    at = open_page(preset="blog-quadratic")
    at.toggle(key="show_units").set_value(True).run()
    click(at, "step")
    fit = at.get("vega_lite_chart")[0]
    tables = {
        d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in fit.proto.datasets
    }
    assert list(tables) == ["units", "truth", "model", "points", "outliers"]
    units, model = tables["units"], tables["model"]
    assert sorted(units["unit"].unique()) == list(range(10))  # the blog's 10 hidden units
    # the model is its bias plus the units' contributions, at every x of the grid
    bias = model["y"].to_numpy() - units.groupby("x", sort=True)["y"].sum().to_numpy()
    np.testing.assert_allclose(bias, bias[0], atol=1e-4)


def test_the_chinese_code_tab_exports_a_chinese_commented_script():
    at = open_page(model="linear", lr="0.1", lang="zh")
    code = [c.value for c in at.code if "optimizer.zero_grad()" in c.value]
    assert code == [export_script(FitConfig(model="linear", lr=0.1), lang="zh").strip()]


# What a Chinese page may show in Latin letters: names of the field and of FitLab's own
# technical vocabulary, math, and what Streamlit itself writes (listed in the README).
LATIN_OK = {
    "FitLab", "PyTorch", "MSE", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "BFGS", "ReLU",
    "Leaky", "GELU", "ELU", "SiLU", "tanh", "sigmoid", "Huber", "CSV", "GBK", "UTF", "sin", "exp",
    "English", "python", "torch", "linspace", "rand", "zero_grad", "backward", "step", "MAE",
    "state_dict", "optimizer", "loss", "print", "net", "grad", "lr", "Legendre", "Sequential",
    "Linear", "in_features", "out_features", "bias", "True", "False", "Shift",
}  # fmt: skip


def _english_words(text: str) -> set[str]:
    text = re.sub(r"`[^`]*`", "", text)  # code spans
    text = re.sub(r"<[^>]*>", "", text)  # HTML tags (the live summary's region): not shown
    text = re.sub(r"\$[^$]*\$", "", text)  # math
    return {w for w in re.findall(r"[A-Za-z_]{3,}", text) if w not in LATIN_OK}


def _page_texts(at: AppTest) -> list[str]:
    """Every text of FitLab's own that the page shows: labels, options, messages, captions."""
    kinds = ("title", "caption", "markdown", "subheader")
    texts = [e.value for kind in kinds for e in at.get(kind)]
    texts += [e.value for e in [*at.error, *at.warning, *at.info]]
    texts += [e.label for e in [*at.button, *at.toggle, *at.metric, *at.tabs, *at.expander]]
    for widget in [*at.selectbox, *at.select_slider, *at.slider, *at.number_input, *at.text_input]:
        texts.append(widget.label)
        texts.append(widget.proto.help)
    for widget in at.selectbox:
        texts += widget.options
    texts += [p.proto.text for p in at.get("progress")]
    return texts


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"model": "linear"},
        {"dataset": "linear", "noise": "0.5", "lr": "10", "steps": "100", "every": "20"},
        {"lr": "banana", "zzz": "1", "speed": "warp", "steps": "999999"},
    ],
    ids=["default", "linear", "diverged", "bad-link"],
)
def test_the_chinese_page_speaks_chinese(query):
    at = open_page(**query, lang="zh")
    for _ in range(3):
        at = click(at, "step")
    found = {w for text in _page_texts(at) for w in _english_words(str(text))}
    # the link's own keys and values are quoted back as typed; they are the teacher's text
    found -= {"banana", "zzz", "warp", "speed", "steps", "normal", "slow", "fast", "max"}
    assert found == set()


def _chart_tables(chart) -> dict:
    import pyarrow as pa

    return {
        d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets
    }


def _y_domain(spec: dict) -> list[float]:
    """The explicit y scale domain of a compiled layered spec (its shared encoding)."""
    return spec["encoding"]["y"]["scale"]["domain"]


def test_a_diverged_run_keeps_its_last_good_curve_and_its_blow_up_on_screen():
    # before: the fit chart drew no model line and the loss chart one dot
    at = open_page(dataset="linear", noise="0.5", lr="10", steps="100", every="20")
    at = click(at, "step")
    assert at.error  # diverged at step 13
    fit, loss = at.get("vega_lite_chart")[:2]
    model = _chart_tables(fit)["model"]
    assert len(model) > 100 and model["y"].notna().all()
    lo, hi = _y_domain(json.loads(fit.proto.spec))
    assert lo <= model["y"].min() and model["y"].max() <= hi  # the line is inside the plot
    history = _chart_tables(loss)["loss"]
    assert history["step"].tolist() == list(range(13))  # every update up to the blow-up


def _links(at: AppTest) -> list[str]:
    return [c.value for c in at.code if "://" in c.value]


def test_the_teacher_link_is_a_link_a_teacher_can_paste():
    # before: "http://host:8501?hide=lr%2Cseed" (no "/" before "?", an escaped comma)
    at = open_page(lr="0.1")
    at.checkbox(key="teach_lr").check().run()
    at.checkbox(key="teach_seed").check().run()
    teacher = _links(at)[-1]
    assert "/?" in teacher and "%2C" not in teacher and "hide=seed,lr" in teacher
    back = teacher.split("?", 1)[1]
    query = dict(part.split("=", 1) for part in back.split("&"))
    assert FitConfig.from_query(query)[0] == FitConfig(lr=0.1)


def test_share_says_what_a_link_cannot_carry():
    at = open_page(steps="300")
    assert not [w for w in at.warning if "not the points" in w.value]
    at.button(key="add_outlier").click().run()
    assert [w for w in at.warning if "not the points" in w.value]


def test_an_upload_page_offers_no_noise_or_point_count():
    keys = {s.key for s in at_sliders(open_page(dataset="csv"))}
    assert "noise" not in keys and "n_points" not in keys
    assert {"noise", "n_points"} <= {s.key for s in at_sliders(open_page())}


def at_sliders(at: AppTest):
    return list(at.slider)


@pytest.mark.parametrize("where", ["before the status", "after the status"])
def test_a_frame_interrupted_while_drawing_keeps_the_step_it_shows(monkeypatch, where):
    # A Pause stops a playing rerun wherever it is (Streamlit raises at its next call). The
    # cursor moved at another moment than the status was sent, so the Pause's own rerun drew
    # another step than the one on screen: the status changed 250-440 ms after the click.
    import streamlit

    from fitcore import charts

    def stopped_here(*args, **kwargs):
        raise RuntimeError("the rerun stops here")

    at = open_page(steps="300")
    if where == "before the status":  # the status is a progress bar: stop at sending it
        monkeypatch.setattr(streamlit, "progress", stopped_here)
    else:
        monkeypatch.setattr(charts, "loss_data", stopped_here)
    at.button(key="step").click().run()
    assert at.exception  # the drawing stopped half way
    if where == "before the status":  # step 100 never reached the page: step 0 is on screen
        assert at.session_state["page"].cursor == 0
    else:
        assert status(at) == "step 100 / 300" and at.session_state["page"].cursor == 100


def test_the_page_leaves_torch_to_fitcore():
    import ast
    import pathlib

    tree = ast.parse(pathlib.Path(__file__).resolve().parent.parent.joinpath(APP[3:]).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in imported if m == "torch" or m.startswith("torch.")}
