"""The sweep tab's charts: loss against capacity, and an ensemble's bundle of curves.

Kept beside charts.py (whose helpers they use) so that file stays about the live charts.
Labels come from the caller in the page's language; every builder returns a LayerChart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from fitcore.charts import (
    COLOURS,
    DEFAULT_LABELS,
    RACE_POINTS,
    TIP_FORMAT,
    _axis,
    _domain,
    _labels,
    _layer,
    _require,
    _series_colours,
    _top,
)


def capacity_chart(
    table: pd.DataFrame,
    *,
    x_title: str,
    title: str,
    log_x: bool = False,
    best: float | None = None,
    series: Sequence[str] | None = None,
    labels: Mapping[str, str] = DEFAULT_LABELS,
    height: int = 320,
) -> alt.LayerChart:
    """One line per series (e.g. train and test loss, or bias² and variance) against capacity,
    on a log y axis; `best` draws a dotted rule at that capacity.

    table: value, series, loss. Non-finite and non-positive losses are left out (a log axis
    cannot place them); a diverged run shows as a gap.
    """
    text = _labels(labels)
    _require(table, ("value", "series", "loss"), "table")
    names = {"train": text["loss_train"], "test": text["loss_test"]}
    kept = table[(table["loss"] > 0) & (table["loss"] < float("inf"))]
    kept = kept.assign(series=kept["series"].map(names).fillna(kept["series"]))
    domain = list(dict.fromkeys(names.get(s, s) for s in (series or table["series"])))
    x = alt.X(
        "value:Q",
        title=x_title,
        scale=alt.Scale(type="log", base=2) if log_x else alt.Scale(zero=False, nice=False),
        axis=alt.Axis(tickMinStep=1, labelFlush=True, format="d"),
    )
    y = alt.Y("loss:Q", scale=alt.Scale(type="log"), title=text["loss"], axis=_axis("y", log=True))
    lines = (
        alt.Chart(kept, name="capacity")
        .mark_line(point=alt.OverlayMarkDef(size=50, filled=True))
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=domain, range=_series_colours(domain, text)),
                legend=alt.Legend(title=None, orient="bottom", symbolType="stroke"),
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                scale=alt.Scale(domain=domain, range=[[1, 0], [6, 3], [2, 2], [8, 2, 2, 2]]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("value:Q", format="d", title=x_title),
                alt.Tooltip("loss:Q", format=TIP_FORMAT, title=text["loss"]),
                alt.Tooltip("series:N", title=text["series"]),
            ],
        )
    )
    layers = [lines]
    if best is not None:
        mark = pd.DataFrame({"value": [best], "label": [text["best"]]})
        layers.append(
            alt.Chart(mark, name="best")
            .mark_rule(color=COLOURS["test"], strokeDash=[2, 3], strokeWidth=2)
            .encode(x=x, tooltip=[alt.Tooltip("label:N", title=text["series"])])
        )
    return _layer(*layers, **_top(title, height))


def ensemble_chart(
    points: pd.DataFrame,
    curves: pd.DataFrame,
    band: pd.DataFrame,
    *,
    x_domain: Sequence[float],
    y_domain: Sequence[float],
    truth: pd.DataFrame | None = None,
    labels: Mapping[str, str] = DEFAULT_LABELS,
    height: int = 360,
) -> alt.LayerChart:
    """The data, each run's curve faint (curves: x, y_hat, member), their mean and a band of
    one standard deviation (band: x, mean, lo, hi), and the true function dashed if given."""
    text = _labels(labels)
    _require(points, ("x", "y"), "points")
    _require(curves, ("x", "y_hat", "member"), "curves")
    _require(band, ("x", "mean", "lo", "hi"), "band")
    x = alt.X(
        "x:Q",
        scale=alt.Scale(domain=_domain(x_domain, "x_domain"), nice=False),
        title=text["x"],
        axis=_axis("x"),
    )
    y_scale = alt.Scale(domain=_domain(y_domain, "y_domain"), nice=False)
    y_axis = _axis("y")
    dots = (
        alt.Chart(points[["x", "y"]], name="points")
        .mark_circle(size=18, opacity=0.5, color=RACE_POINTS, clip=True)
        .encode(x=x, y=alt.Y("y:Q", scale=y_scale, title=text["y"], axis=y_axis))
    )
    spread = (
        alt.Chart(band.dropna(), name="band")
        .mark_area(opacity=0.25, color=COLOURS["model"], clip=True)
        .encode(x=x, y=alt.Y("lo:Q", scale=y_scale, title=text["y"], axis=y_axis), y2="hi:Q")
    )
    runs = (
        alt.Chart(curves.dropna(subset=["y_hat"]), name="runs")
        .mark_line(strokeWidth=1, opacity=0.35, color=COLOURS["model"], clip=True)
        .encode(x=x, y=alt.Y("y_hat:Q", scale=y_scale), detail="member:N")
    )
    mean = (
        alt.Chart(band.dropna(), name="mean")
        .mark_line(strokeWidth=3, color=COLOURS["model"], clip=True)
        .encode(
            x=x,
            y=alt.Y("mean:Q", scale=y_scale),
            tooltip=[
                alt.Tooltip("x:Q", format=TIP_FORMAT, title=text["x"]),
                alt.Tooltip("mean:Q", format=TIP_FORMAT, title=text["model"]),
                alt.Tooltip("lo:Q", format=TIP_FORMAT),
                alt.Tooltip("hi:Q", format=TIP_FORMAT),
            ],
        )
    )
    layers = [dots, spread, runs, mean]
    if truth is not None:
        layers.append(
            alt.Chart(truth[["x", "y"]], name="truth")
            .mark_line(strokeWidth=2, strokeDash=[6, 4], color=COLOURS["truth"], clip=True)
            .encode(x=x, y=alt.Y("y:Q", scale=y_scale))
        )
    return _layer(*layers, **_top(text["fit_title"], height))
