"""Accessibility without a browser: the spoken frame summary, the keys, the charts' text and
colours, and a Chinese page with no English left in any tab, panel or message."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from fitcore import FitConfig, a11y, charts, train_iter
from fitcore.config import PRESETS
from fitcore.data import make_data
from fitcore.i18n import catalog
from fitcore.lessons import LESSONS
from tests.test_page import _english_words, _page_texts, click, open_page, status
from tests.test_page_sweep import OVERFIT_LINK, trained

EN, ZH = catalog("en"), catalog("zh")


# --- the sentence ------------------------------------------------------------------------------


def _frames(cfg: FitConfig) -> list:
    return list(train_iter(cfg))


@pytest.fixture(scope="module")
def quadratic() -> tuple[FitConfig, np.ndarray, list]:
    cfg = PRESETS["blog-quadratic"]
    d = make_data(cfg)
    y = (d.y_train[:, 0].double() * d.y_scale + d.y_shift).numpy()  # Snapshot.fitted's order
    return cfg, y, _frames(cfg)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_summary_follows_the_blog_parabola_from_far_to_close(quadratic, lang):
    cfg, y, frames = quadratic
    T = catalog(lang)
    said = [
        a11y.summary(
            T,
            step=f.step,
            steps=cfg.steps,
            loss=f.train_loss,
            previous=None if i == 0 else frames[i - 1].train_loss,
            y=y,
            y_hat=f.fitted,
        )
        for i, f in enumerate(frames)
    ]
    first, last = said[0], said[-1]
    assert T["a11y_start"] in first and T["a11y_far"] in first
    assert T["a11y_close"] in last
    for f, text in zip(frames, said, strict=True):
        assert f"{f.train_loss:.4g}" in text
        assert T["a11y_summary"].split("{")[0] in text
    # the trend word against the losses themselves: falling, rising or within 1% of the last
    for before, now, text in zip(frames, frames[1:], said[1:], strict=False):
        change = (now.train_loss - before.train_loss) / before.train_loss
        word = "a11y_steady" if abs(change) <= 0.01 else ("a11y_falling", "a11y_rising")[change > 0]
        assert T[word] in text, (before.step, now.step, text)
    assert T["a11y_falling"] in said[1] and T["a11y_steady"] in said[-1]
    if lang == "zh":
        assert all(_english_words(s) == set() for s in said), said[:3]
        assert first.startswith(f"第 0 步，共 {cfg.steps} 步")
    else:
        assert first.startswith(f"Step 0 of {cfg.steps}; training loss")


def test_unexplained_share_is_one_minus_r_squared_of_a_least_squares_line():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, 50)
    y = 2 * x + rng.normal(0, 0.5, 50)
    w, b = np.polyfit(x, y, 1)
    r = np.corrcoef(x, y)[0, 1]
    assert a11y.unexplained(y, w * x + b) == pytest.approx(1 - r**2)
    assert a11y.unexplained(y, np.full_like(y, y.mean())) == pytest.approx(1.0)
    assert a11y.unexplained(y, y) == 0.0
    assert a11y.unexplained(y, np.full_like(y, np.nan)) == math.inf
    with pytest.raises(ValueError, match="same, non-zero length"):
        a11y.unexplained(y, y[:3])


def test_trend_words_tell_falling_rising_and_steady():
    assert a11y.trend_words(EN, 0.5, 1.0) == EN["a11y_falling"]
    assert a11y.trend_words(EN, 1.5, 1.0) == EN["a11y_rising"]
    assert a11y.trend_words(EN, 1.001, 1.0) == EN["a11y_steady"]
    assert a11y.trend_words(ZH, 0.5, None) == ZH["a11y_start"]


def test_a_diverged_frame_says_the_learning_rate_is_too_high():
    cfg = FitConfig(dataset="linear", model="linear", lr=10, steps=100, every=20)
    last = _frames(cfg)[-1]
    assert last.diverged
    for T in (EN, ZH):
        text = a11y.summary(T, step=last.step, steps=cfg.steps, loss=last.train_loss, diverged=True)
        assert text == T["a11y_diverged"].format(step=last.step, steps=cfg.steps)
    assert "learning rate is too high" in a11y.summary(
        EN, step=3, steps=100, loss=math.inf, diverged=True
    )


# --- the page: the live region, the keys, the charts' descriptions -----------------------------


def _spoken(at: AppTest) -> str:
    [box] = [m.value for m in at.markdown if 'aria-live="polite"' in m.value]
    return box


@pytest.mark.parametrize(("lang", "word"), [("en", "Step {} of {}"), ("zh", "第 {} 步，共 {} 步")])
def test_the_live_region_follows_each_step_in_the_pages_language(lang, word):
    at = open_page(lang=lang, dataset="linear", model="linear", steps="100", every="20")
    assert word.format(0, 100) in _spoken(at)
    for k in (20, 40, 60):
        at = click(at, "step")
        assert str(k) in status(at)
        assert word.format(k, 100) in _spoken(at)
    assert _english_words(_spoken(at)) == set() or lang == "en"


BUTTONS = ("train", "pause", "step", "reset")


def test_the_buttons_carry_their_keys_and_space_moves_to_pause_while_playing():
    at = open_page()
    keys = {b.key: b.proto.shortcut for b in at.button if b.key in BUTTONS}
    assert keys == {"train": "space", "pause": "", "step": "right", "reset": "home"}
    at = click(at, "train")  # playing (AppTest has no timer to move it on)
    assert at.button(key="pause").proto.shortcut == "space"
    assert at.button(key="train").proto.shortcut == ""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_how_it_works_lists_the_keys(lang):
    T = catalog(lang)
    at = open_page(lang=lang)
    shown = [m.value for m in at.markdown]
    assert T["how_keys"] in shown
    for key in ("`Space`", "`→`", "`Home`", "`PageUp`", "`PageDown`"):
        assert key in T["how_keys"]


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_chart_on_the_page_is_described_in_the_pages_language(lang):
    T = catalog(lang)
    at = open_page(lang=lang, dataset="linear", model="linear", steps="100", every="20")
    at = click(at, "step")
    at.button(key="race_go").click().run()
    described = [spec.get("description") for spec in _specs(at)]
    assert len(described) >= 4, described
    assert None not in described
    for key in ("chart_fit_description", "chart_loss_description"):
        assert T[key] in described
    assert T["chart_landscape_description"] in described
    assert T["chart_race_description"] in described


# --- colours: told apart under colour blindness, and never by colour alone ---------------------

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB
SIMULATE = {
    "deuteranopia": np.array([
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ]),
    "protanopia": np.array([
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ]),
}  # fmt: skip


def _lab(hex_colour: str, matrix: np.ndarray | None) -> np.ndarray:
    """CIELAB of a colour as someone with the deficiency sees it (None: normal vision)."""
    srgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    rgb = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    if matrix is not None:
        rgb = np.clip(matrix @ rgb, 0, 1)
    xyz = (
        np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
        @ rgb
        / np.array([0.9505, 1.0, 1.089])
    )
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _closest(colours, matrix) -> float:
    labs = [_lab(c, matrix) for c in colours]
    return min(float(np.linalg.norm(a - b)) for i, a in enumerate(labs) for b in labs[i + 1 :])


# Series drawn with the same mark, which colour (with shape or dash) must tell apart
POINTS, LINES = ("train", "test", "added"), ("model", "truth", "reference")
# matplotlib's tab10 lines, the palette the page used before: red model, grey truth, green fit
TAB10_LINES = ("#d62728", "#7f7f7f", "#2ca02c")
APART = 20  # CIELAB distance: clearly different colours side by side
NEAR = 15  # a point and a line may come closer: they differ in mark as well


@pytest.mark.parametrize("deficiency", sorted(SIMULATE))
def test_the_fit_charts_colours_stay_apart_under_colour_blindness(deficiency):
    matrix = SIMULATE[deficiency]
    for group in (POINTS, LINES):
        assert _closest([charts.COLOURS[k] for k in group], matrix) >= APART, group
    assert _closest([charts.COLOURS[k] for k in POINTS + LINES], matrix) >= NEAR


def test_the_colour_check_finds_tab10s_red_and_green_merging_for_deuteranopes():
    assert _closest(TAB10_LINES, None) >= APART
    assert _closest(TAB10_LINES, SIMULATE["deuteranopia"]) < APART


@pytest.mark.parametrize("deficiency", sorted(SIMULATE))
def test_race_lines_differ_in_dash_where_their_colours_merge(deficiency):
    matrix = SIMULATE[deficiency]
    colours, dashes = charts.RACE_COLOURS, charts.RACE_DASHES
    assert len(set(dashes)) == len(dashes)  # every variant its own dash, whatever the colour
    labs = [_lab(c, matrix) for c in colours]
    merged = [
        (i, j)
        for i in range(len(labs))
        for j in range(i + 1, len(labs))
        if np.linalg.norm(labs[i] - labs[j]) < APART
    ]
    assert all(dashes[i] != dashes[j] for i, j in merged)


def _scale_range(spec: dict, channel: str) -> dict[str, object]:
    """Series name -> value of the fit chart's `channel` scale (shape or strokeDash)."""
    for layer in spec["layer"]:
        enc = layer.get("encoding", {}).get(channel)
        if enc and "scale" in enc:
            return dict(zip(enc["scale"]["domain"], enc["scale"]["range"], strict=True))
    raise AssertionError(f"no {channel} scale")


def test_train_and_test_points_differ_in_shape_and_model_and_truth_in_dash():
    at = open_page(lang="en", test_fraction="0.3")
    [fit] = [s for s in _specs(at) if s.get("description") == EN["chart_fit_description"]]
    shapes = _scale_range(fit, "shape")
    assert shapes[EN["chart_train"]] != shapes[EN["chart_test"]]
    dashes = {
        layer["name"]: layer["mark"].get("strokeDash")
        for layer in fit["layer"]
        if layer.get("name") in ("model", "truth", "reference")
    }
    assert len({json.dumps(d) for d in dashes.values()}) == len(dashes) >= 2, dashes


# --- Chinese everywhere ------------------------------------------------------------------------


def _chart_words(at: AppTest) -> set[str]:
    """English words in the charts' own text: titles, descriptions, axis and legend labels."""
    found: set[str] = set()

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                if k not in ("datasets", "data", "field", "name", "type", "$schema", "mark"):
                    walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in ("title", "description", "domain", "text"):
            found.update(_english_words(node))

    for spec in _specs(at):
        walk(spec)
    return found


def _lesson_pages():
    for name, lesson in sorted(LESSONS.items()):
        for k in (1, len(lesson.steps)):
            yield pytest.param({"lesson": name, "step": str(k)}, id=f"{name}-{k}")


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(
            {"dataset": "linear", "model": "linear", "steps": "100", "every": "20"}, id="line"
        ),
        pytest.param({"preset": "blog-quadratic"}, id="blog-quadratic"),
        *_lesson_pages(),
    ],
)  # fmt: skip
def test_every_tab_panel_and_message_of_the_chinese_page_is_chinese(query):
    at = open_page(**query, lang="zh")
    if "step" in [b.key for b in at.button]:  # "your data" asks for a file first
        at = click(at, "step")
    at.session_state["page"].explain(True)  # the "see one step" panel, as its expander opens
    at.run()
    if "race_go" in [b.key for b in at.button]:
        at.button(key="race_go").click().run()
    for key in ("lesson_reveal",):
        if key in [b.key for b in at.button]:
            at.button(key=key).click().run()
    assert not at.exception, at.exception
    found = {w for text in _page_texts(at) for w in _english_words(str(text))}
    found |= {w for e in at.expander for w in _english_words(e.label)}
    found |= _chart_words(at)
    assert found == set()


def test_the_chinese_sweep_and_its_messages_are_chinese():
    at = trained(open_page(**OVERFIT_LINK, lang="zh"), "sweep_go")
    found = {w for text in _page_texts(at) for w in _english_words(str(text))}
    assert found | _chart_words(at) == set()
