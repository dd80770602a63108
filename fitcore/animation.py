"""A run as an animated GIF or MP4 for slides, and one frame as a PNG, drawn from the page's charts.

Every frame is the page's own Vega-Lite charts (fit, loss, and the loss landscape of the line
model on request) rendered on the server by vl-convert, with the step and the loss written
above them in the page's language. Pillow makes the GIF, imageio-ffmpeg's ffmpeg the MP4.

Rendering a whole chart costs about 150 ms a frame, most of it text (axis labels, legends), and
the text does not change from frame to frame: the fit chart's axes are fixed, and so are the
loss chart's here (the whole run's range, so the curve falls down a still axis). So each chart
is rendered in full once, with its moving layers empty, and each frame renders only the moving
layers, without axes or legends, on a transparent view laid over it (about 15 ms); the layers
above them (the points) are rendered once and laid on top. A frame PNG is rendered in full.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from fitcore import charts, landscape
from fitcore.config import FitConfig
from fitcore.data import near
from fitcore.i18n import catalog
from fitcore.player import SharedRun, residuals
from fitcore.train import Snapshot

FORMATS = ("gif", "mp4")
MAX_FRAMES = 100  # frames per animation: a longer run is sampled evenly, first and last kept
FRAME_MS = 100  # the blog's plt.pause(0.1), the page's normal speed
HOLD_FRAMES = 20  # the last frame stays 2 s, so a looping slide shows the result, not a jump
FPS = 1000 // FRAME_MS  # the MP4's rate; it holds the last frame by repeating it
MAX_BYTES = 8 * 1024 * 1024  # slides and learning platforms take files up to this
MIN_WIDTH = 600  # px: a frame shrunk to fit MAX_BYTES stays at least this wide
CHART_WIDTH = 480  # px: one chart's view, about its width on a laptop's page (two columns)
HEADER_PX = 40  # the band above the charts holding the step and the loss
MARGIN = 12  # px around the charts
GAP = 16  # px between two charts
HEADER_FONT_SIZE = 18
# The page's display toggles (ui.state.PageState.display) and their defaults.
DEFAULT_DISPLAY: Mapping[str, bool] = MappingProxyType(
    {
        "log_loss": True,
        "show_truth": True,
        "show_reference": True,
        "show_units": False,
        "show_residuals": False,
    }
)
# Where Debian's fonts-noto-cjk puts its fonts (also on Community Cloud through packages.txt).
CJK_FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto")
CJK_FAMILY = "Noto Sans CJK SC"  # Latin and Chinese from one family: one look per frame
# Layers that change from frame to frame, by chart (the builders' layer names).
MOVING = {
    "fit": ("units", "residuals", "model"),
    "loss": ("loss", "best", "best_label"),  # best: the lowest test loss so far moves on
    "landscape": ("path", "markers"),
}


class AnimationError(RuntimeError):
    """The renderer could not make the file; says why. kind: "renderer" (vl-convert), "fonts"
    (no Chinese font) or "video" (ffmpeg), so that a page can say which in its language."""

    def __init__(self, message: str, kind: str = "renderer"):
        super().__init__(message)
        self.kind = kind


@dataclasses.dataclass(frozen=True)
class View:
    """What the page shows besides the run: its toggles, an upload's axis titles, edits."""

    # the page's toggles, DEFAULT_DISPLAY's keys (those not given keep their defaults)
    display: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    x_title: str | None = None  # axis titles (an upload's columns); None: the data's or "x"
    y_title: str | None = None
    added: tuple[tuple[float, float], ...] = ()  # (x, y) of points a student added: drawn big
    paused: bool = False  # the paused page's look: its points are clickable, so drawn bigger
    landscape: bool = False  # the line model's loss landscape beside the loss, with the path


def animate(
    cfg: FitConfig,
    data: pd.DataFrame | None = None,
    fmt: str = "gif",
    lang: str = "en",
    *,
    landscape: bool = False,
    view: View | None = None,
    run: SharedRun | None = None,
    until: int | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> bytes:
    """The run of cfg (on `data`, an upload) as an animated GIF or MP4 ("gif" | "mp4").

    See render_frames for the other arguments. Raises AnimationError when the renderer
    fails, ValueError for an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}")
    frames = render_frames(
        cfg, data, lang, landscape=landscape, view=view, run=run, until=until, progress=progress
    )
    return encode(frames, fmt)


def render_frames(
    cfg: FitConfig,
    data: pd.DataFrame | None = None,
    lang: str = "en",
    *,
    landscape: bool = False,
    view: View | None = None,
    run: SharedRun | None = None,
    until: int | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> list[Image.Image]:
    """The animation's frames (RGB, all one size), to encode as one or more formats.

    landscape: the line model's loss landscape as a third chart (also View.landscape).
    run: the SharedRun of (cfg, data) when the caller has one (the page's), else one is made;
    it is trained to its end (or to `until`, a step). progress(done, total) after each frame.
    """
    painter = _Painter(cfg, data, lang, _view(view, data, landscape), run)
    frames = painter.frames(until)
    pictures = []
    for i, frame in enumerate(frames):
        pictures.append(painter.animation_frame(frame))
        if progress is not None:
            progress(i + 1, len(frames))
    return pictures


def renderer_problem(lang: str = "en") -> str | None:
    """Why no picture can be drawn here in `lang`, as an AnimationError.kind; None: they can.

    Cheap: a page asks before offering its picture downloads.
    """
    try:
        _vl_convert()
        _render_config(lang)
    except AnimationError as error:
        return error.kind
    return None


def frame_png(
    cfg: FitConfig,
    step: int,
    data: pd.DataFrame | None = None,
    lang: str = "en",
    *,
    landscape: bool = False,
    view: View | None = None,
    run: SharedRun | None = None,
) -> bytes:
    """The frame at `step` (the newest snapshot at or before it) as a PNG, as the page draws it:
    the page's chart specs rendered whole, the step and the loss above them."""
    painter = _Painter(cfg, data, lang, _view(view, data, landscape), run)
    frame = painter.frames(step)[-1]
    image = painter.page_frame(frame)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def page_specs(
    run: SharedRun, frame: Snapshot, lang: str = "en", view: View | None = None
) -> dict[str, dict]:
    """The Vega-Lite specs the page draws for `frame`, by chart ("fit", "loss", "landscape"),
    data inline and CHART_WIDTH wide: what frame_png renders."""
    return _Painter(run.cfg, run.points, lang, view or View(), run).specs(frame)


def cjk_fonts() -> Path | None:
    """The folder of Noto CJK fonts on this machine, None when there is none."""
    for folder in CJK_FONT_DIRS:
        if any(Path(folder).glob("NotoSansCJK*")):
            return Path(folder)
    return None


def _view(view: View | None, data: pd.DataFrame | None, with_landscape: bool) -> View:
    view = view or View()
    if data is not None:  # an upload names its axes after its columns
        view = dataclasses.replace(
            view,
            x_title=view.x_title or data.attrs.get("x_name"),
            y_title=view.y_title or data.attrs.get("y_name"),
        )
    return dataclasses.replace(view, landscape=view.landscape or with_landscape)


class _Painter:
    """One run's frames as pictures: the page's specs, rendered whole or in layers."""

    def __init__(self, cfg, data, lang: str, view: View, run: SharedRun | None):
        self.cfg, self.view, self.lang = cfg, view, lang
        self.T = catalog(lang)
        # as ui.common.chart_labels gives them (a key the catalog lacks keeps the charts' own)
        self.labels = {
            key: self.T[f"chart_{key}"] for key in charts.DEFAULT_LABELS if f"chart_{key}" in self.T
        }
        self.run = run if run is not None else SharedRun(cfg, data)
        self.display = {**DEFAULT_DISPLAY, **view.display}
        self.landscape = view.landscape and cfg.model == "linear"
        self.config = _render_config(lang)
        self._specs: dict[tuple, dict] = {}
        self._vega: dict[str, dict] = {}
        self._still: dict[tuple, tuple[Image.Image, tuple[int, int], dict, list, Image.Image]] = {}

    def frames(self, until: int | None) -> list[Snapshot]:
        """The run's snapshots up to `until` (all: None), trained as needed, at most MAX_FRAMES."""
        run, step = self.run, -1
        while (until is None or step < until) and (nxt := run.after(step)) is not None:
            step = nxt.step
            if nxt.diverged:
                break
        frames = [f for f in run.frames if until is None or f.step <= until] or [run.first()]
        keep = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), MAX_FRAMES)).round())
        self.last = frames[-1]
        return [frames[int(i)] for i in keep]

    # -- the page's charts

    def specs(self, frame: Snapshot, *, fixed: bool = False) -> dict[str, dict]:
        """Each chart's spec for `frame`, as ui/live.py and ui/tabs/landscape.py build it.

        fixed: the animation's axes, the same for every frame (the loss over the whole run,
        the landscape over the whole path) instead of the page's, which follow the step.
        """
        run, scene, display, view = self.run, self.run.scene, self.display, self.view
        shown = run.last_good(frame.step) if frame.diverged else frame
        points = scene.points
        if view.added:
            is_added = near(points, view.added)
            points = points.assign(split=points["split"].where(~is_added, "added"))
        y_domain = scene.y_domain
        if frame.diverged:
            y_domain = charts.widened(scene.y_domain, shown.curve)
        fit_layers: dict[str, Any] = {
            "truth": scene.truth if display["show_truth"] else None,
            "reference": scene.reference if display["show_reference"] else None,
            "units": shown.units if display["show_units"] else None,
            "residuals": residuals(scene, shown) if display["show_residuals"] else None,
        }
        fit_key = ("fit", tuple(k for k, v in fit_layers.items() if v is not None), y_domain)
        fit = self._compiled(
            fit_key,
            lambda: charts.fit_chart(
                points,
                shown.curve,
                **fit_layers,
                x_domain=scene.x_domain,
                y_domain=y_domain,
                labels=self.labels,
                selectable=view.paused,
                x_title=view.x_title,
                y_title=view.y_title,
            ),
        )
        loss_layers: dict[str, Any] = {
            "log": display["log_loss"],
            "reference_loss": scene.reference_loss if display["show_reference"] else None,
        }
        history = run.history(frame.step)
        best = run.best_step(frame.step)  # the page's early-stopping rule, with a test share
        loss = self._compiled(
            ("loss", fixed),
            lambda: charts.loss_chart(
                history, **loss_layers, steps=self.cfg.steps, labels=self.labels, best=best
            ),
            # the animation's loss axis: the whole run's, which the page's last frame shows
            fixed=lambda spec: _fix_y(
                spec, charts.loss_data(run.history(self.last.step), **loss_layers), loss_layers
            ),
        )
        fit_data = charts.fit_data(points, shown.curve, **fit_layers, labels=self.labels)
        loss_data = charts.loss_data(history, **loss_layers, labels=self.labels, best=best)
        specs = {
            "fit": _with_data(fit, fit_data),
            "loss": _with_data(loss, loss_data),
        }
        if self.landscape:
            free, datasets = charts.split_data(self._landscape(frame, fixed))
            spec = self._compiled(("landscape", fixed), lambda: free)
            specs["landscape"] = _with_data(spec, datasets)
        return specs

    def _landscape(self, frame: Snapshot, fixed: bool):
        pts = self.run.scene.points
        train = pts[pts["split"] == "train"]
        x, y = train["x"].to_numpy(), train["y"].to_numpy()
        path = landscape.descent_path(self.run.frames, frame.step)
        span = landscape.descent_path(self.run.frames, self.last.step) if fixed else path
        minimum = landscape.least_squares_line(x, y)
        w_range, b_range = landscape.ranges(
            x, y, span["w"].tolist(), span["b"].tolist(), minimum=minimum
        )
        shown = self.run.last_good(frame.step) if frame.diverged else frame
        return charts.landscape_chart(
            landscape.loss_grid(x, y, w_range, b_range, loss=self.cfg.loss),
            path,
            minimum=minimum,
            current=(shown.params["w"], shown.params["b"]),
            labels=self.labels,
        )

    def _compiled(
        self, key: tuple, build: Callable[[], Any], fixed: Callable[[dict], None] | None = None
    ) -> dict:
        """The data-free spec of build()'s chart, compiled once per `key` (what shapes it
        besides its data), as ui/live.py compiles the page's: building and validating a chart
        costs more than rendering its moving layers. `fixed` adjusts a new spec in place when
        the key asks for fixed axes. Callers copy the spec before adding data."""
        if key not in self._specs:
            spec = charts.compile_spec(charts.split_data(build())[0])
            spec["width"] = CHART_WIDTH  # the page stretches a chart to its column
            if fixed is not None and key[-1] is True:
                fixed(spec)
            self._specs[key] = spec
        return self._specs[key]

    # -- pictures

    def page_frame(self, frame: Snapshot) -> Image.Image:
        """The frame with every chart rendered whole, as the page draws it."""
        panels = [self._draw(spec) for spec in self.specs(frame).values()]
        return self._compose(frame, panels)

    def animation_frame(self, frame: Snapshot) -> Image.Image:
        """The frame with each chart's still parts rendered once, its moving layers now."""
        panels = []
        for name, spec in self.specs(frame, fixed=True).items():
            still, corner, bare, moving, top = self._still_parts(name, spec)
            picture = still.copy()
            now = self._draw(_keep_in(bare, spec["datasets"], moving))
            picture.alpha_composite(now, corner)
            picture.alpha_composite(top, corner)
            panels.append(picture)
        return self._compose(frame, panels)

    def _still_parts(self, name: str, spec: dict):
        """The chart without its moving layers, where its view sits, the bare spec (no axes,
        legends or title, transparent, sized to the view), and the layers above the moving
        ones rendered bare. Kept per spec without data: a diverged frame widens the fit's
        y axis, and so has still parts of its own."""
        free = {k: v for k, v in spec.items() if k != "datasets"}
        key = (name, json.dumps(free, sort_keys=True))
        if key not in self._still:
            datasets = spec["datasets"]
            names = _layer_names(spec)
            moving = [i for i, n in enumerate(names) if n in MOVING[name]] or [len(names)]
            first, last = moving[0], moving[-1] + 1
            still = {**free, "datasets": _keep(datasets, names[:first])}
            origin = _origin(still, self.config)
            bare = _bare(free, origin)
            top = self._draw(_keep_in(bare, datasets, names[last:]))
            corner = (math.floor(origin[0]), math.floor(origin[1]))
            self._still[key] = (self._draw(still), corner, bare, names[first:last], top)
        return self._still[key]

    def _draw(self, spec: dict) -> Image.Image:
        """The spec rendered as an RGBA image. Compiled to Vega once per spec without its
        data (Vega-Lite's compiler costs a quarter of a bare frame); each frame's datasets
        then go into the Vega spec's data of the same names."""
        free = {k: v for k, v in spec.items() if k != "datasets"}
        key = json.dumps(free, sort_keys=True)
        if key not in self._vega:
            self._vega[key] = _vega(spec, self.config)
        vega = self._vega[key]
        datasets = spec.get("datasets", {})
        data = [
            {**d, "values": datasets[d["name"]]} if d["name"] in datasets else d
            for d in vega["data"]
        ]
        return _vega_png({**vega, "data": data})

    def _compose(self, frame: Snapshot, panels: list[Image.Image]) -> Image.Image:
        """The charts side by side on white under a header with the step and the loss."""
        width = 2 * MARGIN + sum(p.width for p in panels) + GAP * (len(panels) - 1)
        height = HEADER_PX + max(p.height for p in panels) + MARGIN
        width, height = width + width % 2, height + height % 2  # even: the MP4 needs it
        canvas = Image.new("RGBA", (width, height), "white")
        canvas.alpha_composite(self._draw(_header(self._caption(frame), width)), (0, 0))
        left = MARGIN
        for panel in panels:
            canvas.alpha_composite(panel, (left, HEADER_PX))
            left += panel.width + GAP
        return canvas.convert("RGB")

    def _caption(self, frame: Snapshot) -> str:
        T = self.T
        if frame.diverged:
            return T["anim_diverged"].format(step=frame.step, lr=f"{self.cfg.lr:g}")
        status = T["status"].format(step=frame.step, steps=self.cfg.steps)
        return T["anim_caption"].format(status=status, loss=_number(frame.train_loss))


def _with_data(spec: dict, datasets: Mapping[str, pd.DataFrame]) -> dict:
    """The compiled spec with this frame's tables inline (vl-convert reads no Arrow)."""
    return {**spec, "datasets": {name: _records(df) for name, df in datasets.items()}}


def _records(df: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: NaN becomes null, as in the page's Arrow tables."""
    return json.loads(df.to_json(orient="records", double_precision=15))


def _layer_names(spec: dict) -> list[str]:
    return [layer.get("name", "") for layer in spec.get("layer", [])]


def _fix_y(spec: dict, data: Mapping[str, pd.DataFrame], layers: Mapping[str, Any]) -> None:
    """The loss chart's y axis over the whole run: the domain the page's last frame gets."""
    log = layers["log"]
    values = np.concatenate([df["loss"].to_numpy(dtype=float) for df in data.values()])
    values = values[np.isfinite(values) & ((values > 0) if log else True)]
    if not len(values):
        return
    # explicit, then niced and (linear) zeroed as Vega does a domain taken from the data
    scale: dict[str, Any] = {"domain": [float(values.min()), float(values.max())], "nice": True}
    if not log:
        scale["zero"] = True
    for layer in spec.get("layer", []):
        y = layer.get("encoding", {}).get("y")
        if isinstance(y, dict):
            y["scale"] = {**y.get("scale", {}), **scale}


def _bare(free: dict, origin: tuple[float, float]) -> dict:
    """The spec without axes, legends, title or background, sized to its view, shifted by the
    view's fraction of a pixel so that its marks land where the whole chart draws them."""
    bare = _strip(json.loads(json.dumps(free)))
    bare.pop("title", None)
    fx, fy = origin[0] - math.floor(origin[0]), origin[1] - math.floor(origin[1])
    height = bare.get("height", 300)
    bare.update(
        autosize={"type": "none"},
        padding={"left": fx, "top": fy, "right": 1, "bottom": 1},
        background="transparent",
        width=free["width"],
        height=height,
    )
    config = bare.setdefault("config", {})
    config["view"] = {**config.get("view", {}), "stroke": None}
    return bare


def _strip(node: Any) -> Any:
    """Every encoding's axis and legend switched off, recursively."""
    if isinstance(node, dict):
        out = {k: _strip(v) for k, v in node.items()}
        if "axis" in out:
            out["axis"] = None
        if "legend" in out:
            out["legend"] = None
        return out
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _keep(datasets: dict, layers: Sequence[str]) -> dict:
    """The datasets with every layer's but those of `layers` emptied: those draw nothing."""
    return {k: (v if k in layers else []) for k, v in datasets.items()}


def _keep_in(bare: dict, datasets: dict, layers: Sequence[str]) -> dict:
    """The bare spec drawing only `layers`."""
    return {**bare, "datasets": _keep(datasets, layers)}


def _header(text: str, width: int) -> dict:
    """The header band's spec: `text` in bold at the left, on transparent."""
    return {
        "data": {"name": "header"},
        "datasets": {"header": [{"text": text}]},
        "mark": {
            "type": "text",
            "align": "left",
            "baseline": "middle",
            "fontSize": HEADER_FONT_SIZE,
            "fontWeight": "bold",
            "color": "#262730",  # Streamlit's text colour
        },
        "encoding": {"text": {"field": "text"}, "x": {"value": MARGIN}, "y": {"value": 22}},
        "width": width,
        "height": HEADER_PX,
        "padding": 0,
        "autosize": {"type": "none"},
        "background": "transparent",
        "config": {"view": {"stroke": None}},
    }


def _number(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else str(v)


# -- the renderer


def _vl_convert():
    """vl-convert, with the CJK fonts registered; AnimationError if it cannot be had."""
    try:
        import vl_convert
    except ImportError as exc:
        raise AnimationError("vl-convert-python is not installed") from exc
    _register_fonts(vl_convert)
    return vl_convert


@functools.cache
def _register_fonts(vl_convert) -> None:
    """Once per process: vl-convert keeps registered fonts for every later conversion."""
    folder = cjk_fonts()
    if folder is not None:
        vl_convert.register_font_directory(str(folder))


def _render_config(lang: str) -> dict:
    """vl-convert's config for `lang`: Chinese needs a CJK font, or it is drawn as boxes."""
    if lang != "zh":
        return {}
    if cjk_fonts() is None:
        raise AnimationError(
            "no Chinese font on the server: install fonts-noto-cjk (see DEPLOY.md)", "fonts"
        )
    return {"font": CJK_FAMILY}


def _vega(spec: dict, config: dict) -> dict:
    """The Vega-Lite spec compiled to Vega, `config` (the fonts) applied."""
    vlc = _vl_convert()
    try:
        return vlc.vegalite_to_vega(spec, config=config or None)
    except Exception as exc:  # vl-convert raises plain ValueError/RuntimeError for anything
        raise AnimationError(f"vl-convert could not compile a chart: {exc}") from exc


def _vega_png(vega: dict) -> Image.Image:
    """A Vega spec rendered as an RGBA image."""
    vlc = _vl_convert()
    try:
        png = vlc.vega_to_png(vega)
    except Exception as exc:
        raise AnimationError(f"vl-convert could not render a chart: {exc}") from exc
    return Image.open(io.BytesIO(png)).convert("RGBA")


def _origin(spec: dict, config: dict) -> tuple[float, float]:
    """Where the spec's view (its top left corner) sits in its rendered image."""
    vlc = _vl_convert()
    try:
        x, y = vlc.vegalite_to_scenegraph(spec, config=config or None)["origin"]
    except Exception as exc:
        raise AnimationError(f"vl-convert could not lay out a chart: {exc}") from exc
    return float(x), float(y)


# -- files


def encode(pictures: Sequence[Image.Image], fmt: str) -> bytes:
    """render_frames' frames as a GIF or an MP4 ("gif" | "mp4"), FRAME_MS apart, the last
    held for HOLD_FRAMES frames, at most MAX_BYTES (frames shrunk, down to MIN_WIDTH)."""
    encode = _gif if fmt == "gif" else _mp4
    out = encode(pictures)
    width = pictures[0].width
    while len(out) > MAX_BYTES and width > MIN_WIDTH:
        # smaller frames: rarely needed (a long MLP run with hidden units and residuals)
        width = max(MIN_WIDTH, int(width * 0.8 * math.sqrt(MAX_BYTES / len(out))))
        height = round(pictures[0].height * width / pictures[0].width)
        size = (width + width % 2, height + height % 2)
        out = encode([p.resize(size, Image.Resampling.LANCZOS) for p in pictures])
    return out


def _gif(pictures: Sequence[Image.Image]) -> bytes:
    # one palette for every frame, from the first and the last (the colours of the whole
    # run): frames without palettes of their own are smaller and do not flicker
    sample = Image.new("RGB", (pictures[0].width, 2 * pictures[0].height))
    sample.paste(pictures[0], (0, 0))
    sample.paste(pictures[-1], (0, pictures[0].height))
    palette = sample.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    frames = [p.quantize(palette=palette, dither=Image.Dither.NONE) for p in pictures]
    durations = [FRAME_MS] * len(frames)
    durations[-1] = FRAME_MS * HOLD_FRAMES
    out = io.BytesIO()
    frames[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
        disposal=1,  # each frame drawn over the last: Pillow stores only what changed
    )
    return out.getvalue()


def _mp4(pictures: Sequence[Image.Image]) -> bytes:
    """H.264 at FPS frames a second, yuv420p so that slides and phones play it."""
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]  # ships no types
    except ImportError as exc:
        raise AnimationError("imageio-ffmpeg is not installed", "video") from exc
    size = pictures[0].size
    with tempfile.TemporaryDirectory(prefix="fitlab-") as folder:
        path = os.path.join(folder, "run.mp4")
        try:
            writer = imageio_ffmpeg.write_frames(
                path,
                size,
                fps=FPS,
                codec="libx264",
                pix_fmt_in="rgb24",
                pix_fmt_out="yuv420p",
                quality=None,
                bitrate=None,
                macro_block_size=2,
                ffmpeg_log_level="error",
                output_params=["-crf", "23", "-preset", "veryfast", "-movflags", "+faststart"],
            )
            writer.send(None)
            for picture in [*pictures, *[pictures[-1]] * (HOLD_FRAMES - 1)]:
                writer.send(picture.tobytes())
            writer.close()
        except Exception as exc:  # ffmpeg missing, or it failed: imageio raises several kinds
            raise AnimationError(f"ffmpeg could not make the MP4: {exc}", "video") from exc
        return Path(path).read_bytes()
