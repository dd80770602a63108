"""The run as a GIF and an MP4, and one frame as a PNG: decoded, and compared with the page."""

from __future__ import annotations

import dataclasses
import io

import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest
import vl_convert
from PIL import Image

from fitcore import PRESETS, FitConfig, animate, charts, train_iter
from fitcore import animation as anim
from fitcore.i18n import catalog
from fitcore.player import SharedRun
from fitcore.upload import load_csv

SMALL = dataclasses.replace(PRESETS["blog-quadratic"], steps=300, every=50)  # 7 snapshots
DIVERGING = FitConfig(dataset="linear", model="linear", lr=10.0, steps=200, every=20)


def gif_frames(gif: bytes) -> list[Image.Image]:
    image = Image.open(io.BytesIO(gif))
    assert image.format == "GIF"
    frames = []
    for i in range(image.n_frames):
        image.seek(i)
        frames.append(image.convert("RGB"))
    return frames


def durations(gif: bytes) -> list[int]:
    image = Image.open(io.BytesIO(gif))
    out = []
    for i in range(image.n_frames):
        image.seek(i)
        out.append(image.info["duration"])
    return out


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def small_run() -> SharedRun:
    return SharedRun(SMALL)


@pytest.fixture(scope="module")
def small_frames(small_run) -> list[Image.Image]:
    return anim.render_frames(SMALL, run=small_run)


@pytest.fixture(scope="module")
def small_gif(small_frames) -> bytes:
    return anim.encode(small_frames, "gif")


def test_the_gif_has_one_frame_per_snapshot(small_gif):
    frames = gif_frames(small_gif)
    assert len(frames) == len(list(train_iter(SMALL))) == 7
    assert frames[0].width >= anim.MIN_WIDTH
    assert len(small_gif) <= anim.MAX_BYTES


def test_the_run_moves_from_first_frame_to_last(small_gif):
    frames = gif_frames(small_gif)
    assert not np.array_equal(pixels(frames[0]), pixels(frames[-1]))


def test_the_last_frame_is_held_longer(small_gif):
    assert durations(small_gif) == [anim.FRAME_MS] * 6 + [anim.FRAME_MS * anim.HOLD_FRAMES]


def test_a_long_run_is_sampled_down_to_the_cap_keeping_first_and_last():
    cfg = FitConfig(model="linear", steps=202, every=2)  # 102 snapshots
    steps = []
    gif = animate(cfg, progress=lambda done, total: steps.append((done, total)))
    assert len(gif_frames(gif)) == anim.MAX_FRAMES
    assert steps[-1] == (anim.MAX_FRAMES, anim.MAX_FRAMES)


def test_the_mp4_has_the_gifs_frames_and_lasts_as_long(small_frames, small_gif, tmp_path):
    path = tmp_path / "run.mp4"
    path.write_bytes(anim.encode(small_frames, "mp4"))
    count, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    # the GIF holds its last frame for HOLD_FRAMES frame times; the MP4 repeats it as often
    assert count == len(gif_frames(small_gif)) - 1 + anim.HOLD_FRAMES
    assert seconds == pytest.approx(sum(durations(small_gif)) / 1000, abs=0.05)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    assert tuple(meta["size"]) == small_frames[0].size
    reader.close()


def page_spec(chart, datasets: dict[str, pd.DataFrame]) -> dict:
    """A chart's spec as ui/live.py sends it to st.vega_lite_chart: compiled without its data,
    then the frame's tables (inline here, for vl-convert; Arrow tables on the page)."""
    free, _ = charts.split_data(chart)
    spec = charts.compile_spec(free)
    spec["width"] = anim.CHART_WIDTH  # the page stretches it to its column
    tables = {name: df.to_dict("records") for name, df in datasets.items()}
    return {**spec, "datasets": tables}


def render(spec: dict) -> Image.Image:
    return Image.open(io.BytesIO(vl_convert.vegalite_to_png(spec))).convert("RGB")


def test_the_frame_png_is_the_pages_fit_and_loss_charts(small_run):
    step = 150
    png = Image.open(io.BytesIO(anim.frame_png(SMALL, step, run=small_run)))
    frame, scene = small_run.frame_at(step), small_run.scene
    labels = {key: catalog("en")[f"chart_{key}"] for key in charts.DEFAULT_LABELS}
    layers = {"truth": scene.truth, "reference": scene.reference}  # the page's default toggles
    fit = page_spec(
        charts.fit_chart(
            scene.points,
            frame.curve,
            **layers,
            x_domain=scene.x_domain,
            y_domain=scene.y_domain,
            labels=labels,
        ),
        charts.fit_data(scene.points, frame.curve, **layers, labels=labels),
    )
    history = small_run.history(step)
    loss_layers = {"log": True, "reference_loss": scene.reference_loss}
    loss = page_spec(
        charts.loss_chart(history, **loss_layers, steps=SMALL.steps, labels=labels),
        charts.loss_data(history, **loss_layers, labels=labels),
    )
    left = anim.MARGIN
    for spec in (fit, loss):
        expected = render(spec)
        box = (left, anim.HEADER_PX, left + expected.width, anim.HEADER_PX + expected.height)
        assert np.array_equal(pixels(png.crop(box)), pixels(expected))
        left += expected.width + anim.GAP
    assert png.width == left - anim.GAP + anim.MARGIN + png.width % 2


def test_an_animation_frame_looks_like_the_full_render_of_its_step(small_run, small_frames):
    # the layered fast path against the page's charts rendered whole, at the last step, where
    # the animation's fixed loss axis is the page's
    last = small_run.frames[-1].step
    png = Image.open(io.BytesIO(anim.frame_png(SMALL, last, run=small_run)))
    diff = np.abs(pixels(png) - pixels(small_frames[-1]))
    assert png.size == small_frames[-1].size
    assert diff.mean() < 0.5  # anti-aliased edges where layers meet differ by a shade
    assert (diff.max(axis=2) > 64).mean() < 0.002


def test_a_diverged_run_animates_to_its_blow_up_and_keeps_its_last_good_fit():
    snaps = list(train_iter(DIVERGING))
    assert snaps[-1].diverged
    run = SharedRun(DIVERGING)
    frames = anim.render_frames(DIVERGING, run=run)
    assert len(frames) == len(snaps)
    png = Image.open(io.BytesIO(anim.frame_png(DIVERGING, snaps[-1].step, run=run)))
    assert png.size == frames[-1].size
    assert not np.array_equal(pixels(frames[-1]), pixels(frames[-2]))
    # as on the page: the last good curve, on a y axis widened to show it
    good = run.last_good(snaps[-1].step)
    fit = anim.page_specs(run, run.frames[-1])["fit"]
    assert [row["y"] for row in fit["datasets"]["model"]] == pytest.approx(good.curve["y_hat"])
    widened = charts.widened(run.scene.y_domain, good.curve)
    assert fit["encoding"]["y"]["scale"]["domain"] == pytest.approx(widened)


def test_a_run_of_one_snapshot_is_a_one_frame_gif_and_a_held_mp4(tmp_path):
    cfg = dataclasses.replace(SMALL, seed=3)
    frames = anim.render_frames(cfg, until=0)
    assert len(frames) == 1
    assert durations(anim.encode(frames, "gif")) == [anim.FRAME_MS * anim.HOLD_FRAMES]
    path = tmp_path / "one.mp4"
    path.write_bytes(anim.encode(frames, "mp4"))
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == anim.HOLD_FRAMES


def test_uploaded_data_is_animated_with_its_column_names_on_the_axes():
    rows = "".join(f"{h},{40 + 5 * h + (h % 3)}\n" for h in range(12))
    points = load_csv(f"hours studied,score\n{rows}".encode())
    cfg = FitConfig(dataset="csv", steps=40, every=20)
    run = SharedRun(cfg, points)
    frames = anim.render_frames(cfg, points, run=run)
    assert len(frames) == len(list(train_iter(cfg, points)))
    spec = anim.page_specs(run, run.frames[-1], view=anim._view(None, points, False))["fit"]
    assert spec["encoding"]["x"]["title"] == points.attrs["x_name"]
    assert spec["encoding"]["y"]["title"] == points.attrs["y_name"]


def test_the_landscape_is_a_third_chart_for_the_line_model():
    cfg = FitConfig(model="linear", steps=40, every=20)
    run = SharedRun(cfg)
    two = anim.render_frames(cfg, run=run, until=0)[0]
    three = anim.render_frames(cfg, run=run, landscape=True)
    assert three[0].width > two.width + anim.CHART_WIDTH
    assert not np.array_equal(pixels(three[0]), pixels(three[-1]))


def cjk_header(text: str) -> np.ndarray:
    vega = anim._vega(anim._header(text, 400), anim._render_config("zh"))
    return pixels(anim._vega_png(vega))


def test_chinese_text_is_drawn_in_a_chinese_font_not_boxes():
    assert anim.renderer_problem("zh") is None
    # missing glyphs are all the same box: two different words would then look the same
    assert not np.array_equal(cjk_header("训练损失"), cjk_header("拟合曲线"))


def test_a_chinese_frame_differs_from_the_english_one(small_run):
    en = Image.open(io.BytesIO(anim.frame_png(SMALL, 100, run=small_run)))
    zh = Image.open(io.BytesIO(anim.frame_png(SMALL, 100, lang="zh", run=small_run)))
    assert zh.width >= anim.MIN_WIDTH
    assert not np.array_equal(pixels(en.crop((0, 0, 300, 40))), pixels(zh.crop((0, 0, 300, 40))))


def test_no_chinese_font_is_an_animation_error_not_boxes(monkeypatch):
    monkeypatch.setattr(anim, "CJK_FONT_DIRS", ("/nonexistent",))
    assert anim.renderer_problem("zh") == "fonts"
    assert anim.renderer_problem("en") is None
    with pytest.raises(anim.AnimationError) as error:
        anim.frame_png(SMALL, 0, lang="zh")
    assert error.value.kind == "fonts"


def test_a_failing_renderer_is_an_animation_error(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("renderer crashed")

    monkeypatch.setattr(vl_convert, "vega_to_png", broken)
    with pytest.raises(anim.AnimationError, match="renderer crashed") as error:
        animate(SMALL, until=0)
    assert error.value.kind == "renderer"


def test_an_unknown_format_names_the_formats():
    with pytest.raises(ValueError, match="gif, mp4"):
        animate(SMALL, fmt="avi", until=0)


def test_only_the_moving_layers_change_between_frames_early_stopping_rule_included():
    # a test share: the loss chart carries the early-stopping rule, which moves on as the
    # lowest test loss does; a layer that changes but is drawn once would go stale
    cfg = FitConfig(
        dataset="sine", n_points=20, noise=0.6, test_fraction=0.3, model="poly", degree=12,
        lr=0.5, steps=600, every=100, seed=3,
    )  # fmt: skip
    run = SharedRun(cfg)
    run.catch_up(0, budget=60.0)  # the whole run
    first, last = run.frame_at(0), run.frame_at(cfg.steps)
    a, b = anim.page_specs(run, first)["loss"], anim.page_specs(run, last)["loss"]
    assert run.best_step(0) == 0 and run.best_step(cfg.steps) == 100
    changed = {name for name in a["datasets"] if a["datasets"][name] != b["datasets"][name]}
    assert "best" in changed
    moving = set(anim.MOVING["loss"])
    assert {n for n in changed if not any(n.endswith(m) for m in moving)} == set(), changed
