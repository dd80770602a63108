"""Altair charts from pandas DataFrames: the fit, the loss history and the loss landscape.

Views take data, not models: every builder takes DataFrames and returns an Altair chart, so it
can be tested with `chart.to_dict()` and no server. All text comes in through `labels` (keys in
DEFAULT_LABELS) because the page is bilingual.

Per-frame redraws must change only data: each builder gives its layers fixed names and a fixed
order, and which layers exist depends only on which optional inputs are given (constant during
a run), never on the values in them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from altair.typing import ChannelStrokeWidth

DEFAULT_LABELS: Mapping[str, str] = MappingProxyType(
    {
        # fit_chart
        "fit_title": "Data and fitted curve",  # "" for no title
        # each chart's Vega-Lite description: what a screen reader says the chart shows
        "fit_description": "Scatter chart of the data with the model's curve.",
        "loss_description": "Line chart of the loss against the training step.",
        "landscape_description": "Heat map of the loss over w and b with the descent path.",
        "race_description": "Scatter chart of the data with one final curve per variant.",
        "x": "x",  # x axis
        "y": "y",  # y axis
        "train": "training points",  # points with split == "train"
        "test": "test points",  # split == "test"
        "added": "added points",  # split == "added": points the student clicked in
        "model": "model",  # the network's curve y_hat
        "truth": "true function",  # the generating function without noise
        "reference": "least squares",  # closed-form fit (fit_chart) and its loss (loss_chart)
        "units": "hidden units",  # each hidden unit's contribution w_j·h_j(x)
        "outlier": "outlier",  # the text written beside each added point
        "residual": "residual",  # the stick from a point to the curve: y_hat - y
        # loss_chart
        "loss_title": "Loss",
        "step": "step",  # x axis: optimizer updates
        "loss": "loss",  # y axis; also the landscape's colour legend
        "loss_train": "train",  # history.series == "train"; other series names pass through
        "loss_test": "test",  # history.series == "test"
        "series": "curve",  # tooltip title of a loss line's name (train, test, a race variant)
        "best": "lowest test loss",  # the rule at the step of the lowest test loss
        # landscape_chart
        "landscape_title": "Loss landscape",
        "w": "w (slope)",
        "b": "b (intercept)",
        "path": "descent path",
        "current": "current",
        "minimum": "least-squares minimum",
        "marker": "marker",  # tooltip title of the minimum's and current point's names
        # landscape_chart's arrows (landscape.step_arrows kinds)
        "arrow_gradient": "gradient step −η·g",
        "arrow_full": "all points' gradient step",
        "arrow_taken": "step taken",
        "arrow_point": "each point's pull",
    }
)
LABEL_KEYS: tuple[str, ...] = tuple(DEFAULT_LABELS)

# Okabe & Ito's palette, told apart with every common colour-vision deficiency, and still the
# blog's look: blue points, a red(dish) model line (lw=3). No series relies on colour alone:
# the points differ in shape (SHAPES), the lines in dash (DASHES).
COLOURS: Mapping[str, str] = MappingProxyType(
    {
        "train": "#0072B2",  # blue
        "test": "#E69F00",  # orange
        "added": "#CC79A7",  # reddish purple: no other series is near it, and it is outlined
        "model": "#D55E00",  # vermillion
        "truth": "#000000",  # black, dotted
        "reference": "#009E73",  # bluish green, dashed
        "units": "#BBBBBB",  # pale rather than transparent: a legend copies a layer's opacity
        "residuals": "#56B4E9",  # sky blue sticks: apart from the points and the model
    }
)
SHAPES: Mapping[str, str] = MappingProxyType(
    {"train": "circle", "test": "square", "added": "diamond"}
)
# Stroke dash per line ([] is solid): the model solid, the truth dotted, least squares dashed;
# the loss chart's test line dashed like no other line there.
DASHES: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {"model": (), "truth": (2, 3), "reference": (6, 4), "units": (), "test": (7, 3)}
)
SPLITS = ("train", "test", "added")
RACE_COLOURS = (  # Okabe-Ito without its yellow, too faint on white to read as a line
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#000000",
    "#882255",  # Tol's wine: an eighth colour, dark enough on white
)
# A dash per race variant, in the same order as its colour: the variants also differ in
# pattern, so a student who cannot tell two colours apart can still tell the lines apart.
RACE_DASHES: tuple[tuple[int, ...], ...] = (
    (),
    (7, 3),
    (2, 2),
    (10, 3, 2, 3),
    (4, 4),
    (1, 3),
    (12, 4),
    (6, 2, 2, 2, 2, 2),
)
RACE_POINTS = "#8C8C8C"  # the race's data in grey: blue would read as the first variant
LOG_FLOOR = 1e-12  # landscape losses below this are drawn at it (an exact fit has loss 0)
# Tick values of every log axis: Vega keeps those inside the domain (log scales are niced to
# powers of ten, so at least two are), and thins them to the tick count by halving.
POWERS_OF_TEN = tuple(10.0**k for k in range(-45, 46))  # float32 spans 1e-45 to 3e38
ADDED_SIZE = 260  # an added point's area in px²; the others are 30 (40 if selectable)
TIP_FORMAT = ".4~g"  # four significant digits in every tooltip number
# Streamlit's theme flushes only labels within 1 px of an axis end; one a few px in (the last
# tick of an upload's padded domain) was centred on its tick and cut at the chart's edge.
X_FLUSH_PX = 20
Y_MIN_EXTENT = 48  # px: a y axis whose labels change width ("0.1", "1e+14") keeps its place


def fit_chart(
    points: pd.DataFrame,
    curve: pd.DataFrame,
    *,
    truth: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    units: pd.DataFrame | None = None,
    residuals: pd.DataFrame | None = None,
    x_domain: Sequence[float],
    y_domain: Sequence[float],
    labels: Mapping[str, str] = DEFAULT_LABELS,
    selectable: bool = False,
    height: int = 360,
    x_title: str | None = None,
    y_title: str | None = None,
) -> alt.LayerChart:
    """The data as a scatter with the model's curve over it, on fixed axes.

    points: x, y, split ("train" | "test" | "added"), optionally id (what a click selects).
    curve: x, y_hat. truth, reference: x, y. units: x, unit, y (one line per unit).
    residuals: x, y, y_hat, in_batch: a stick from each training point to the model's value
    there, the step's minibatch drawn bold and the other points faint.
    Layers, bottom to top, those given: units, truth, reference, residuals, model, points, and
    always outliers (the added points' text labels; no rows when there are none).
    Added points are drawn big and outlined: a student who adds one must see where it went.
    selectable: add the point selection `picked` (by `id` when points has it) for
    `st.altair_chart(on_select="rerun")`; give that chart a `key` so its identity does not
    follow the data, which changes every frame.
    x_title, y_title: axis and tooltip titles instead of labels' x and y (an upload's columns).
    """
    text = _labels(labels)
    x_name = text["x"] if x_title is None else x_title
    y_name = text["y"] if y_title is None else y_title
    data = fit_data(
        points,
        curve,
        truth=truth,
        reference=reference,
        units=units,
        residuals=residuals,
        labels=labels,
    )
    x_scale = alt.Scale(domain=_domain(x_domain, "x_domain"), nice=False)
    y_scale = alt.Scale(domain=_domain(y_domain, "y_domain"), nice=False)

    # One colour scale, declared on the points with every series in its domain, so the legend
    # lists points and lines together; a shape scale on the same field draws the lines'
    # entries as strokes. Lines then need no colour encoding, just their mark's colour, except
    # the model's: one line through the scale makes the legend stroke its symbols, not only
    # fill them (a stroke symbol has no fill). Fewer encodings = less schema validation.
    # Only the splits present get a legend entry: a legend naming absent points misleads.
    present = [k for k in SPLITS if k in set(points["split"])] or ["train"]
    keys = [*present, "model", *(k for k in ("truth", "reference", "units") if k in data)]
    domain = [text[k] for k in keys]
    if len(set(domain)) != len(domain):
        raise ValueError(f"fit_chart labels must differ from each other; got {domain}")
    colour_scale = alt.Scale(domain=domain, range=[COLOURS[k] for k in keys])
    shape_scale = alt.Scale(domain=domain, range=[SHAPES.get(k, "stroke") for k in keys])
    # the lines' dashes, through a scale on the points' field so that the one legend draws
    # each line's entry in its dash (the points' entries solid)
    dash_scale = alt.Scale(domain=domain, range=[_dash(DASHES.get(k, ())) for k in keys])
    legend = alt.Legend(title=None, orient="bottom", symbolStrokeWidth=2, columns=3)

    def line(name: str, **mark) -> alt.Chart:
        return alt.Chart(data[name], name=name).mark_line(
            clip=True, color=COLOURS[name], strokeDash=_dash(DASHES[name]), **mark
        )

    layers = []
    if "units" in data:
        layers.append(line("units", strokeWidth=1).encode(detail="unit:N"))
    if "truth" in data:
        layers.append(line("truth", strokeWidth=1.5))
    if "reference" in data:
        layers.append(line("reference", strokeWidth=2))
    if "residuals" in data:
        in_batch = alt.datum.in_batch
        layers.append(
            alt.Chart(data["residuals"], name="residuals")
            .mark_rule(clip=True, color=COLOURS["residuals"])
            .encode(
                y2="y_hat:Q",
                strokeWidth=alt.when(in_batch).then(alt.value(2)).otherwise(alt.value(1)),
                opacity=alt.when(in_batch).then(alt.value(0.9)).otherwise(alt.value(0.25)),
                tooltip=[
                    alt.Tooltip("x:Q", format=TIP_FORMAT, title=x_name),
                    alt.Tooltip("residual:Q", format=TIP_FORMAT, title=text["residual"]),
                ],
            )
        )
    layers.append(line("model", strokeWidth=3).encode(color=alt.Color(datum=text["model"])))

    # Added points: big, opaque and outlined, whatever else is on. Conditions on the split
    # rather than a layer of their own, so that a click on one still selects it. The first
    # condition that holds wins: an added point stays big when picked, its outline thickens.
    added = alt.datum.split == "added"
    big, thin = alt.when(added).then(alt.value(ADDED_SIZE)), alt.value(1.5)
    picked = None
    outline: ChannelStrokeWidth = thin
    if selectable:
        fields = ["id"] if "id" in points.columns else alt.Undefined
        picked = alt.selection_point(name="picked", fields=fields, on="click")
        size = big.when(picked, empty=False).then(alt.value(150)).otherwise(alt.value(40))
        outline = alt.when(picked, empty=False).then(alt.value(3)).otherwise(thin)
    else:
        size = big.otherwise(alt.value(30))  # Vega-Lite's default point size
    scatter = (
        alt.Chart(data["points"], name="points")
        .mark_point(clip=True, filled=True)
        .encode(
            color=alt.Color("series:N", scale=colour_scale, legend=legend),
            shape=alt.Shape("series:N", scale=shape_scale, legend=legend),
            strokeDash=alt.StrokeDash("series:N", scale=dash_scale, legend=legend),
            size=size,
            opacity=alt.when(added).then(alt.value(1)).otherwise(alt.value(0.7)),
            stroke=alt.when(added).then(alt.value("black")).otherwise(alt.value(None)),
            strokeWidth=outline,
            tooltip=[
                alt.Tooltip("x:Q", format=TIP_FORMAT, title=x_name),
                alt.Tooltip("y:Q", format=TIP_FORMAT, title=y_name),
            ],
        )
    )
    layers.append(scatter.add_params(picked) if picked is not None else scatter)
    layers.append(
        alt.Chart(data["outliers"], name="outliers").mark_text(
            clip=True,
            text=text["outlier"],
            baseline="bottom",
            dy=-12,  # centred above the point: the page adds outliers above the data
            fontWeight="bold",
            color=COLOURS["added"],
        )
    )
    encoding = alt.FacetedEncoding(
        x=alt.X("x:Q", scale=x_scale, title=x_name, axis=_axis("x")),
        y=alt.Y("y:Q", scale=y_scale, title=y_name, axis=_axis("y")),
    )
    top = _top(text["fit_title"], height, text["fit_description"])
    return _layer(*layers, encoding=encoding, **top)


def fit_data(
    points: pd.DataFrame,
    curve: pd.DataFrame,
    *,
    truth: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    units: pd.DataFrame | None = None,
    residuals: pd.DataFrame | None = None,
    labels: Mapping[str, str] = DEFAULT_LABELS,
) -> dict[str, pd.DataFrame]:
    """fit_chart's tables by layer name, bottom to top: all that changes from frame to frame.

    A page that has compiled fit_chart's spec once (split_data, compile_spec) sends these with
    each frame instead of building the chart again. Arguments as for fit_chart.
    """
    text = _labels(labels)
    _require(points, ("x", "y", "split"), "points")
    _require(curve, ("x", "y_hat"), "curve")
    unknown = set(points["split"].unique()) - set(SPLITS)
    if unknown:
        raise ValueError(f"points.split must be one of {SPLITS}; got {sorted(unknown)}")
    data = {}
    for name, df, columns in (
        ("units", units, ("x", "y", "unit")),
        ("truth", truth, ("x", "y")),
        ("reference", reference, ("x", "y")),
        ("residuals", residuals, ("x", "y", "y_hat", "in_batch")),
    ):
        if df is not None:
            _require(df, columns, name)
            data[name] = df
    if residuals is not None:
        data["residuals"] = residuals.assign(residual=residuals["y_hat"] - residuals["y"])
    # y_hat is renamed so that every layer shares the chart-level x and y encodings.
    data["model"] = curve.rename(columns={"y_hat": "y"})
    data["points"] = points.assign(series=points["split"].map({k: text[k] for k in SPLITS}))
    # the outlier labels' table: always there, so the layers do not depend on the points
    data["outliers"] = points.loc[points["split"] == "added", ["x", "y"]]
    return data


def loss_chart(
    history: pd.DataFrame,
    *,
    log: bool = True,
    reference_loss: float | None = None,
    steps: int | None = None,
    labels: Mapping[str, str] = DEFAULT_LABELS,
    height: int = 360,
    series: Sequence[str] | None = None,
    best: int | None = None,
) -> alt.LayerChart:
    """Loss against step, one line per series, with the least-squares optimum as a dashed rule.

    history: step, loss, series ("train", "test" or variant names, which are shown as given).
    series: every series name in legend order (default: their order in history); give the
    race's fit chart the same names and each variant has one colour in both.
    Rows with a non-finite loss are dropped, and on the log scale (log=True) so are rows with
    loss <= 0: a log axis cannot place them, and one such row would blank the whole chart.
    steps fixes the x domain to [0, steps] so the axis does not rescale as the run proceeds.
    best: the step of the lowest test loss, drawn as a dotted vertical rule (early stopping).
    Always a LayerChart (lines, then the rule when reference_loss is given, then best's).
    """
    text = _labels(labels)
    data = loss_data(history, log=log, reference_loss=reference_loss, labels=labels, best=best)
    names = {"train": text["loss_train"], "test": text["loss_test"]}
    # The colour domain comes from every row, kept or not, so dropping rows never changes it.
    given = history["series"] if series is None else series
    domain = list(dict.fromkeys(names.get(s, s) for s in given))
    colour_range = _series_colours(domain, text)
    if "reference" in data:
        domain.append(text["reference"])
        colour_range.append(COLOURS["reference"])
    colour_scale = alt.Scale(domain=domain, range=colour_range)
    dash_scale = alt.Scale(domain=domain, range=_series_dashes(colour_range))
    legend = alt.Legend(title=None, orient="bottom", symbolType="stroke", symbolStrokeWidth=2)

    x_scale = alt.Scale(domain=[0, steps], nice=False) if steps else alt.Undefined
    y_scale = alt.Scale(type="log") if log else alt.Scale(type="linear")
    y_axis = alt.Y(
        "loss:Q",
        scale=y_scale,
        title=text["loss"],
        axis=_axis("y", log=log, minExtent=Y_MIN_EXTENT),
    )
    lines = (
        alt.Chart(data["loss"], name="loss")
        .mark_line(point=True, clip=True)
        .encode(
            x=alt.X("step:Q", scale=x_scale, title=text["step"], axis=_axis("x", tickMinStep=1)),
            y=y_axis,
            color=alt.Color("series:N", scale=colour_scale, legend=legend),
            strokeDash=alt.StrokeDash("series:N", scale=dash_scale, legend=legend),
            tooltip=[
                alt.Tooltip("step:Q", format="d", title=text["step"]),
                alt.Tooltip("loss:Q", format=TIP_FORMAT, title=text["loss"]),
                alt.Tooltip("series:N", title=text["series"]),
            ],
        )
    )
    layers = [lines]
    if "reference" in data:
        # A one-row table rather than a datum: a layer without data of its own would inherit
        # the history and draw one rule per row. Its legend entry comes from the lines' colour
        # scale, whose domain includes it.
        rule = (
            alt.Chart(data["reference"], name="reference")
            .mark_rule(
                clip=True,
                color=COLOURS["reference"],
                strokeDash=_dash(DASHES["reference"]),
                strokeWidth=1.5,
            )
            .encode(y=y_axis)
        )
        layers.append(rule)
    if "best" in data:
        x = alt.X("step:Q", scale=x_scale, title=text["step"], axis=_axis("x", tickMinStep=1))
        tips = [
            alt.Tooltip("label:N", title=text["series"]),
            alt.Tooltip("step:Q", format="d", title=text["step"]),
        ]
        layers.append(
            alt.Chart(data["best"], name="best")
            .mark_rule(clip=True, color=COLOURS["test"], strokeDash=[2, 3], strokeWidth=2)
            .encode(x=x, tooltip=tips)
        )
        layers.append(
            alt.Chart(data["best"], name="best_label")
            .mark_text(align="left", baseline="top", dx=4, dy=4, color=COLOURS["test"], clip=True)
            .encode(x=x, y=alt.value(0), text="label:N")
        )
    return _layer(*layers, **_top(text["loss_title"], height, text["loss_description"]))


def loss_data(
    history: pd.DataFrame,
    *,
    log: bool = True,
    reference_loss: float | None = None,
    labels: Mapping[str, str] = DEFAULT_LABELS,
    best: int | None = None,
) -> dict[str, pd.DataFrame]:
    """loss_chart's tables by layer name: "loss", "reference" when the rule is drawn, and
    "best" and "best_label" (one row: step, label) when `best` is given.

    The rule is drawn when reference_loss is finite, and positive on the log scale.
    Arguments as for loss_chart; see fit_data for why a page wants these alone.
    """
    text = _labels(labels)
    _require(history, ("step", "loss", "series"), "history")
    loss = history["loss"].to_numpy(dtype=float)
    keep = np.isfinite(loss) & (loss > 0) if log else np.isfinite(loss)
    names = {"train": text["loss_train"], "test": text["loss_test"]}
    kept = history.loc[keep, ["step", "loss", "series"]]
    data = {"loss": kept.assign(series=kept["series"].map(names).fillna(kept["series"]))}
    finite = reference_loss is not None and math.isfinite(reference_loss)
    if reference_loss is not None and finite and (reference_loss > 0 or not log):
        data["reference"] = pd.DataFrame({"loss": [float(reference_loss)]})
    if best is not None:
        data["best"] = data["best_label"] = pd.DataFrame({"step": [best], "label": [text["best"]]})
    return data


def race_fit_chart(
    points: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    x_domain: Sequence[float],
    y_domain: Sequence[float],
    labels: Mapping[str, str] = DEFAULT_LABELS,
    height: int = 360,
    series: Sequence[str] | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
) -> alt.LayerChart:
    """The data with one final curve per race variant (curves: x, y_hat, series), fixed axes.

    series: every variant name in legend order (default: their order in curves); the same
    names as loss_chart's give each variant the same colour there. x_title, y_title: as for
    fit_chart.
    """
    text = _labels(labels)
    _require(points, ("x", "y"), "points")
    _require(curves, ("x", "y_hat", "series"), "curves")
    x_name = text["x"] if x_title is None else x_title
    y_name = text["y"] if y_title is None else y_title
    x = alt.X(
        "x:Q",
        scale=alt.Scale(domain=_domain(x_domain, "x_domain"), nice=False),
        title=x_name,
        axis=_axis("x"),
    )
    y_scale = alt.Scale(domain=_domain(y_domain, "y_domain"), nice=False)
    dots = (
        alt.Chart(points[["x", "y"]], name="points")
        .mark_circle(size=18, opacity=0.5, color=RACE_POINTS, clip=True)
        .encode(x=x, y=alt.Y("y:Q", scale=y_scale, title=y_name, axis=_axis("y")))
    )
    names = list(dict.fromkeys(curves["series"] if series is None else series))
    colours = _series_colours(names, text)
    legend = alt.Legend(title=None, orient="bottom", symbolType="stroke", symbolStrokeWidth=2)
    lines = (
        alt.Chart(curves.dropna(subset=["y_hat"]), name="variants")
        .mark_line(strokeWidth=2.5, clip=True)
        .encode(
            x=x,
            y=alt.Y("y_hat:Q", scale=y_scale, title=y_name, axis=_axis("y")),
            color=alt.Color(
                "series:N", scale=alt.Scale(domain=names, range=colours), legend=legend
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                scale=alt.Scale(domain=names, range=_series_dashes(colours)),
                legend=legend,
            ),
        )
    )
    return _layer(dots, lines, **_top(text["fit_title"], height, text["race_description"]))


def landscape_chart(
    grid: pd.DataFrame,
    path: pd.DataFrame,
    *,
    minimum: tuple[float, float] | Mapping[str, float],
    current: tuple[float, float] | Mapping[str, float] | None = None,
    arrows: pd.DataFrame | None = None,
    labels: Mapping[str, str] = DEFAULT_LABELS,
    height: int = 360,
) -> alt.LayerChart:
    """The loss over (w, b) as a log-coloured heatmap, with the descent path over it.

    grid: w, b, loss on a regular grid (landscape.loss_grid). path: w, b and optionally step
    (the path is drawn in step order, else in row order); non-finite rows are left out.
    minimum, current: (w, b) pairs or mappings with keys w and b (like Snapshot.params).
    arrows: landscape.step_arrows' table (kind, w, b, w2, b2, nx, ny), drawn as arrows.
    Layers: heatmap, path, markers (the minimum, and current when given), then with arrows
    arrows and arrow_heads.
    """
    text = _labels(labels)
    _require(grid, ("w", "b", "loss"), "grid")
    _require(path, ("w", "b"), "path")
    ws, bs = np.unique(grid["w"]), np.unique(grid["b"])
    if len(ws) < 2 or len(bs) < 2:
        raise ValueError("grid needs at least two distinct w and two distinct b values")
    # Rect marks need both edges of each cell: half a grid spacing either side of its centre,
    # plus a little overlap, or anti-aliasing draws hairline seams between the cells.
    dw, db = (ws[-1] - ws[0]) / (len(ws) - 1), (bs[-1] - bs[0]) / (len(bs) - 1)
    half_w, half_b = 0.51 * dw, 0.51 * db
    cells = pd.DataFrame(
        {
            "w": grid["w"],
            "b": grid["b"],
            "w0": grid["w"] - half_w,
            "w1": grid["w"] + half_w,
            "b0": grid["b"] - half_b,
            "b1": grid["b"] + half_b,
            "loss": grid["loss"].clip(lower=LOG_FLOOR),
        }
    )
    w_scale = alt.Scale(domain=[ws[0] - dw / 2, ws[-1] + dw / 2], nice=False, zero=False)
    b_scale = alt.Scale(domain=[bs[0] - db / 2, bs[-1] + db / 2], nice=False, zero=False)
    # huge ranges (a diverged run's path) are why the axes need _axis's one-notation labels
    x_axis, y_axis = _axis("x"), _axis("y", minExtent=Y_MIN_EXTENT)
    w_axis = alt.X("w:Q", scale=w_scale, title=text["w"], axis=x_axis)
    b_axis = alt.Y("b:Q", scale=b_scale, title=text["b"], axis=y_axis)
    w_tip = alt.Tooltip("w:Q", format=TIP_FORMAT, title=text["w"])
    b_tip = alt.Tooltip("b:Q", format=TIP_FORMAT, title=text["b"])
    # The colour bar is labelled at round losses inside its range: Vega's own labels are its
    # two ends when few ticks fall inside, printed with 12 digits ("29.6627144563").
    finite = cells["loss"][np.isfinite(cells["loss"])]  # a far corner can overflow to inf
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (1.0, 1.0)
    bar_values = _round_ticks(lo, hi) if lo < hi else alt.Undefined

    heatmap = (
        alt.Chart(cells, name="heatmap")
        .mark_rect(clip=True)
        .encode(
            x=alt.X("w0:Q", scale=w_scale, title=text["w"], axis=x_axis),
            x2="w1:Q",
            y=alt.Y("b0:Q", scale=b_scale, title=text["b"], axis=y_axis),
            y2="b1:Q",
            fill=alt.Fill(
                "loss:Q",
                scale=alt.Scale(type="log", scheme="viridis"),
                legend=alt.Legend(
                    title=text["loss"],
                    values=bar_values,
                    labelExpr=_number_labels("fill", log=True),
                ),
            ),
            tooltip=[w_tip, b_tip, alt.Tooltip("loss:Q", format=TIP_FORMAT, title=text["loss"])],
        )
    )
    # The heatmap uses `fill`, so path and markers can have a categorical `color` scale of
    # their own (no resolve needed) and a legend that says which is which.
    kinds = [] if arrows is None else [k for k in ARROW_STYLE if (arrows["kind"] == k).any()]
    keys = ["path", "minimum", *(["current"] if current is not None else [])]
    keys += [f"arrow_{k}" for k in kinds]
    marker_colours = {"path": "#00e5ff", "minimum": "#ff4136", "current": "#ff851b"}
    marker_shapes = {"path": "stroke", "minimum": "cross", "current": "circle"}
    marker_colours |= {f"arrow_{k}": colour for k, (colour, _, _) in ARROW_STYLE.items()}
    marker_shapes |= {f"arrow_{k}": "stroke" for k in ARROW_STYLE}
    marker_scale = alt.Scale(
        domain=[text[k] for k in keys], range=[marker_colours[k] for k in keys]
    )
    shape_scale = alt.Scale(domain=[text[k] for k in keys], range=[marker_shapes[k] for k in keys])
    marker_legend = alt.Legend(title=None, orient="bottom", columns=4)

    if "step" not in path.columns:
        path = path.assign(step=np.arange(len(path)))
    path = path.loc[np.isfinite(path["w"]) & np.isfinite(path["b"]), ["step", "w", "b"]]
    descent = (
        alt.Chart(path, name="path")
        .mark_line(point=True, clip=True, strokeWidth=2)
        .encode(
            x=w_axis,
            y=b_axis,
            order="step:Q",
            color=alt.Color(datum=text["path"]),  # through the markers' scale (shared)
            tooltip=[alt.Tooltip("step:Q", format="d", title=text["step"]), w_tip, b_tip],
        )
    )
    points = [("minimum", minimum), *([("current", current)] if current is not None else [])]
    markers = (
        alt.Chart(
            pd.DataFrame([(text[k], *_wb(wb)) for k, wb in points], columns=["kind", "w", "b"]),
            name="markers",
        )
        .mark_point(clip=True, filled=True, size=200, stroke="black", strokeWidth=0.5, opacity=1)
        .encode(
            x=w_axis,
            y=b_axis,
            color=alt.Color("kind:N", scale=marker_scale, legend=marker_legend),
            shape=alt.Shape("kind:N", scale=shape_scale, legend=marker_legend),
            tooltip=[alt.Tooltip("kind:N", title=text["marker"]), w_tip, b_tip],
        )
    )
    layers = [heatmap, descent, markers]
    if arrows is not None:
        axes = (w_scale, b_scale, x_axis, y_axis)
        layers += _arrows(arrows, text, axes, marker_scale, marker_legend)
    top = _top(text["landscape_title"], height, text["landscape_description"])
    return _layer(*layers, **top)


# landscape arrows by kind, drawn in this order: colour, stroke width, opacity. The fan thin
# and faint at the bottom; the step taken wide under the gradient's, which plain SGD's equals.
ARROW_STYLE = {
    "point": ("#c8c8c8", 0.8, 0.4),
    "taken": ("#f012be", 6.0, 0.9),
    "full": ("#ffdc00", 2.5, 1.0),
    "gradient": ("#ff4136", 2.0, 1.0),
}


def _arrows(arrows, text, axes, colour_scale, legend) -> list[alt.Chart]:
    """A rule per arrow and a triangle at its tip turned along it; fan first, so below."""
    _require(arrows, ("kind", "w", "b", "w2", "b2", "nx", "ny"), "arrows")
    order = {k: i for i, k in enumerate(ARROW_STYLE)}
    # the field is "kind", the markers' own, with their names: one legend for both
    table = arrows.rename(columns={"kind": "arrow"})
    table = table.assign(
        kind=[text[f"arrow_{k}"] for k in table["arrow"]],
        order=table["arrow"].map(order),
        width=[ARROW_STYLE[k][1] for k in table["arrow"]],
        opacity=[ARROW_STYLE[k][2] for k in table["arrow"]],
    ).sort_values("order", kind="stable")
    w_scale, b_scale, x_axis, y_axis = axes

    def position(w: str, b: str) -> dict[str, Any]:
        return {
            "x": alt.X(f"{w}:Q", scale=w_scale, title=text["w"], axis=x_axis),
            "y": alt.Y(f"{b}:Q", scale=b_scale, title=text["b"], axis=y_axis),
        }

    colour = alt.Color("kind:N", scale=colour_scale, legend=legend)
    tips = [alt.Tooltip("kind:N", title=text["marker"])]
    lines = (
        alt.Chart(table, name="arrows")
        .mark_rule(clip=True)
        .encode(
            **position("w", "b"),
            x2="w2:Q",
            y2="b2:Q",
            color=colour,
            strokeWidth=alt.StrokeWidth("width:Q", scale=None),
            opacity=alt.Opacity("opacity:Q", scale=None),
            tooltip=tips,
        )
    )
    # The head turns with the arrow as drawn: its share of each span times the view's size.
    heads = (
        alt.Chart(table, name="arrow_heads")
        .transform_calculate(angle="atan2(datum.nx * width, datum.ny * height) * 180 / PI")
        .mark_point(shape="triangle-up", filled=True, clip=True)
        .encode(
            **position("w2", "b2"),
            color=colour,
            angle=alt.Angle("angle:Q", scale=None),
            size=alt.Size("width:Q", scale=alt.Scale(domain=[1, 6], range=[25, 220]), legend=None),
            opacity=alt.Opacity("opacity:Q", scale=None),
            tooltip=tips,
        )
    )
    return [lines, heads]


def _layer(*charts: alt.Chart, **kwargs: Any) -> alt.LayerChart:
    """alt.layer, typed: it returns a FacetChart only when every layer has the same row,
    column or facet encoding, which no chart here has."""
    return cast(alt.LayerChart, alt.layer(*charts, **kwargs))


def _axis(channel: str, *, log: bool = False, **extra: Any) -> alt.Axis:
    """A quantitative x or y axis whose labels share one notation and stay inside the chart."""
    props: dict[str, Any] = {"labelExpr": _number_labels(channel, log=log), "labelOverlap": True}
    if channel == "x":
        props["labelFlush"] = X_FLUSH_PX
    if log:
        # ticks at powers of ten only (Vega's own log ticks add 2..9 times them, unevenly
        # labelled); the count makes Vega thin them to every other power, and so on
        size = "width" if channel == "x" else "height"
        props |= {"values": list(POWERS_OF_TEN), "tickCount": alt.ExprRef(f"ceil({size}/40)")}
    return alt.Axis(**props, **extra)


def _number_labels(scale: str, *, log: bool = False) -> str:
    """A Vega labelExpr for an axis or legend on `scale`: every label in one notation, chosen
    from the scale's whole domain at draw time, at most 4 significant digits.

    Plain decimals (0.25, 1990) when the domain lies within 0.001 to 100000 in size, else
    scientific (1.5e+13): a data-driven domain (the loss) is known only in the browser, and
    choosing per label would mix "10,000" and "1e+14" on one axis.
    """
    lo, hi = f"domain('{scale}')[0]", f"peek(domain('{scale}'))"
    if log:  # positive: its low end says whether it reaches tiny numbers
        small, large = lo, hi
    else:
        small = large = f"max(abs({lo}), abs({hi}))"
    return (
        f"datum.value == 0 ? '0' : {small} < 1e-3 || {large} >= 1e5"
        " ? format(datum.value, '.3~e') : format(datum.value, '.4~r')"
    )


def _round_ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Labelled values for a log scale from lo to hi (0 < lo < hi): powers of ten, or 1-2-5
    steps when fewer than three powers fall inside; at most `most`; else the two ends."""
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    powers = [10.0**k for k in decades if lo <= 10.0**k <= hi]
    if len(powers) >= 3:
        return powers[:: math.ceil(len(powers) / most)]
    steps = [m * 10.0**k for k in decades for m in (1, 2, 5) if lo <= m * 10.0**k <= hi]
    if 2 <= len(steps) <= most:
        return steps
    return powers if len(powers) == 2 else [lo, hi]


def _series_colours(domain: Sequence[str], text: Mapping[str, str]) -> list[str]:
    """A colour per loss or race series: train and test as the fit chart's points, every other
    name (a race variant) the next of RACE_COLOURS left free. The race's fit and loss charts,
    given the same names in the same order, so draw each variant in the same colour."""
    known = {text["loss_train"]: COLOURS["train"], text["loss_test"]: COLOURS["test"]}
    taken = {known[name] for name in domain if name in known}
    others = iter(c for c in RACE_COLOURS if c not in taken)
    return [known.get(name) or next(others, "#7f7f7f") for name in domain]


def _series_dashes(colours: Sequence[str]) -> list[list[int]]:
    """The dash of each loss or race line, by its colour (from _series_colours): a variant
    keeps one dash in both race charts, train is solid and test dashed as everywhere."""
    by_colour = dict(zip(RACE_COLOURS, RACE_DASHES, strict=True))
    by_colour |= {COLOURS["train"]: (), COLOURS["test"]: DASHES["test"]}
    by_colour[COLOURS["reference"]] = DASHES["reference"]
    return [_dash(by_colour.get(c, ())) for c in colours]


def _dash(pattern: Sequence[int]) -> list[int]:
    """A Vega stroke dash: [1, 0] draws solid (an empty array is not a valid scale value)."""
    return list(pattern) or [1, 0]


def _labels(labels: Mapping[str, str]) -> dict[str, str]:
    """DEFAULT_LABELS overridden by `labels`; keys the charts do not use are ignored."""
    return {key: labels.get(key, default) for key, default in DEFAULT_LABELS.items()}


def _wb(point: tuple[float, float] | Mapping[str, float]) -> tuple[float, float]:
    if isinstance(point, Mapping):
        return float(point["w"]), float(point["b"])
    w, b = point
    return float(w), float(b)


def _require(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} needs columns {list(columns)}; missing {missing}")


def _domain(domain: Sequence[float], name: str) -> list[float]:
    """A fixed axis domain [lo, hi], checked so that a bad one fails here, not in the browser."""
    lo, hi = (float(v) for v in domain)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be two finite numbers, low before high; got {domain}")
    return [lo, hi]


def _top(title: str, height: int, description: str | None = None) -> dict:
    """Top-level properties, passed to alt.layer: `.properties()` would deep-copy every layer.

    description: the chart's Vega-Lite description, the label screen readers read for the
    whole chart (in the page's language, like every label). A described chart also turns off
    Vega's own ARIA labels of each mark and axis: English whatever the page's language
    ("X-axis titled 'x' for a linear scale...") and one per point, hundreds to step through.
    """
    top = {"height": height, **({"title": title} if title else {})}
    if description:
        top |= {"description": description, "config": alt.Config(aria=False, mark={"aria": False})}
    return top


def split_data(chart: alt.LayerChart) -> tuple[alt.LayerChart, dict[str, pd.DataFrame]]:
    """The chart with each layer's data replaced by a reference to a dataset named after the
    layer, and those datasets: the same names, and tables, as fit_data and loss_data give.

    Compiling a chart (to_dict: building and validating the Vega-Lite spec) costs most of a
    redraw; the structure rarely changes while the data changes every frame. A page can
    compile the data-free chart once and send only fresh datasets with each frame, and the
    browser, seeing the same spec, swaps the data in place.
    """
    datasets = {}
    free = chart.copy(deep=False)
    if isinstance(chart.data, pd.DataFrame):
        # alt.layer() hoists data that every layer shares (a lone layer's) to the top level;
        # it keeps the first layer's name, which is what the data functions call it
        name = chart.layer[0].name
        datasets[name] = chart.data
        free.data = alt.NamedData(name=name)
    layers = []
    for layer in chart.layer:
        if isinstance(layer.data, pd.DataFrame):
            datasets[layer.name] = layer.data
            layer = layer.copy(deep=False)  # plain assignment: no per-frame schema validation
            layer.data = alt.NamedData(name=layer.name)
        layers.append(layer)
    free.layer = layers
    return free, datasets


def compile_spec(chart: alt.LayerChart) -> dict:
    """The Vega-Lite spec of a data-free chart (see split_data), validated once."""
    spec = chart.to_dict()
    # Altair's default theme sizes the view at 300 px; the page sizes charts itself.
    view = spec.get("config", {}).get("view", {})
    for key in ("continuousWidth", "continuousHeight"):
        view.pop(key, None)
    if "config" in spec and not view:
        spec["config"].pop("view", None)
        if not spec["config"]:
            del spec["config"]
    return spec


def arrow_table(df: pd.DataFrame) -> pa.Table:
    """A chart table's columns as an Arrow table, to send a frame's data to the browser.

    Streamlit would convert the DataFrame itself, keeping its index and pandas' metadata,
    which a chart never reads: three to five times slower for these small tables (see
    bench/redraw.py). NaN becomes null, as in Streamlit's conversion.
    """
    return pa.table({name: _arrow_column(df[name]) for name in df.columns})


def _arrow_column(column: pd.Series) -> pa.Array:
    values = column.to_numpy()
    # text columns stay text when empty (pyarrow would infer a null column from no rows)
    kind = pa.string() if values.dtype == object else None
    return pa.array(values, type=kind, from_pandas=True)


def widened(domain: Sequence[float], curve: pd.DataFrame) -> tuple[float, float]:
    """The y axis stretched to show `curve` too, by at most twice its span on each side.

    After a divergence the last good fit is often the untrained model, a line near y = 0 below
    data around 5: without this the student sees the legend's "model" and no model.
    """
    lo, hi = domain
    span = hi - lo
    y = curve["y_hat"].to_numpy()
    y = y[np.isfinite(y)]
    if not len(y):
        return lo, hi  # not `domain`, which may be a list
    return max(min(lo, float(y.min())), lo - 2 * span), min(max(hi, float(y.max())), hi + 2 * span)
