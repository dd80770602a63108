"""fitcore.charts: the Vega-Lite specs the builders produce, read with to_dict() (no server)."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import altair as alt
import numpy as np
import pandas as pd
import pytest

from fitcore import charts
from fitcore.charts import (
    COLOURS,
    DEFAULT_LABELS,
    LABEL_KEYS,
    RACE_COLOURS,
    fit_chart,
    landscape_chart,
    loss_chart,
    race_fit_chart,
)

X_DOMAIN, Y_DOMAIN = (-1.2, 1.2), (-0.5, 1.5)
OPTIONAL = ("units", "truth", "reference", "residuals")
ZH = {"train": "训练数据点", "model": "模型", "x": "横轴", "fit_title": "数据与拟合曲线"}


def _points(n: int = 20, with_id: bool = False) -> pd.DataFrame:
    x = np.linspace(-1, 1, n)
    split = ["train"] * (n - 4) + ["test"] * 3 + ["added"]
    points = pd.DataFrame({"x": x, "y": x**2, "split": split})
    return points.assign(id=range(n)) if with_id else points


def _curve(shift: float = 0.0) -> pd.DataFrame:
    x = np.linspace(-1.2, 1.2, 21)
    return pd.DataFrame({"x": x, "y_hat": x**2 + shift})


def _optional(*names: str, shift: float = 0.0) -> dict[str, pd.DataFrame]:
    x = np.linspace(-1.2, 1.2, 21)
    frames = {
        "truth": pd.DataFrame({"x": x, "y": x**2}),
        "reference": pd.DataFrame({"x": x, "y": 0.4 + 0 * x}),
        "units": pd.DataFrame(
            {"x": np.tile(x, 3), "unit": np.repeat([0, 1, 2], 21), "y": np.tile(x, 3) + shift}
        ),
        "residuals": pd.DataFrame(
            {"x": x, "y": x**2, "y_hat": 0.5 + shift + 0 * x, "in_batch": np.arange(21) % 2 == 0}
        ),
    }
    return {name: frames[name] for name in names}


def _fit(**kwargs) -> dict:
    kwargs = {"x_domain": X_DOMAIN, "y_domain": Y_DOMAIN, **kwargs}
    return fit_chart(_points(with_id=kwargs.pop("with_id", False)), _curve(), **kwargs).to_dict()


def _history(losses, series="train") -> pd.DataFrame:
    return pd.DataFrame(
        {"step": range(0, 100 * len(losses), 100), "loss": losses, "series": series}
    )


def _layer(spec: dict, name: str) -> dict:
    (layer,) = [layer for layer in spec["layer"] if layer.get("name") == name]
    return layer


def _rows(spec: dict, name: str) -> list[dict]:
    """The rows a layer draws (Altair hoists the data of a chart's only dataset to the top)."""
    data = _layer(spec, name).get("data", spec.get("data"))
    return spec["datasets"][data["name"]]


def _colour_scale(spec: dict, layer: str) -> dict:
    return _layer(spec, layer)["encoding"]["color"]["scale"]


def _without_data(spec: dict) -> dict:
    """The spec with its data taken out: what must not change from one frame to the next."""
    spec = {k: v for k, v in spec.items() if k != "datasets"}
    spec["layer"] = [{k: v for k, v in layer.items() if k != "data"} for layer in spec["layer"]]
    return spec


def _encodings(spec: dict):
    """(channel, definition) of every encoding in a layered spec, the shared ones included."""
    for layer in [spec, *spec.get("layer", [])]:
        yield from layer.get("encoding", {}).items()


def _quantitative_axes(spec: dict):
    """The axis and scale of every quantitative x or y that draws an axis."""
    for channel, definition in _encodings(spec):
        quantitative = channel in ("x", "y") and definition.get("type") == "quantitative"
        if quantitative and definition.get("axis", {}) is not None:
            yield channel, definition.get("axis", {}), definition.get("scale", {})


def _tooltips(spec: dict):
    for channel, definition in _encodings(spec):
        if channel == "tooltip":
            yield from definition if isinstance(definition, list) else [definition]


def _race(names=("sgd", "adam"), **kwargs) -> tuple[dict, dict]:
    """The race view's two specs for variants `names`: the final curves and the losses."""
    x = np.linspace(-1, 1, 11)
    curves = pd.concat(
        [pd.DataFrame({"x": x, "y_hat": i * x, "series": name}) for i, name in enumerate(names)]
    )
    history = pd.concat([_history([1.0, 0.5], series=name) for name in names])
    fit = race_fit_chart(_points(), curves, x_domain=X_DOMAIN, y_domain=Y_DOMAIN, **kwargs)
    return fit.to_dict(), loss_chart(history).to_dict()


def _every_chart() -> dict[str, dict]:
    """One spec of each builder and axis kind, everything optional given."""
    diverged = _grid().assign(w=lambda g: g["w"] * 1e12, loss=lambda g: g["loss"] * 1e25 + 30)
    return {
        "fit": _fit(**_optional(*OPTIONAL)),
        "loss log": loss_chart(_history([1.0, 0.5]), reference_loss=0.1, steps=100).to_dict(),
        "loss linear": loss_chart(_history([1.0, 0.5]), log=False).to_dict(),
        "race fit": _race()[0],
        "landscape": landscape_chart(
            _grid(), _path(), minimum=(2.0, 5.0), current=(1, 4)
        ).to_dict(),
        "landscape diverged": landscape_chart(diverged, _path(), minimum=(2.0, 5.0)).to_dict(),
    }


def _grid() -> pd.DataFrame:
    w, b = np.meshgrid(np.linspace(0, 4, 5), np.linspace(3, 7, 6), indexing="ij")
    loss = (w - 2.0) ** 2 + (b - 5.0) ** 2
    return pd.DataFrame({"w": w.ravel(), "b": b.ravel(), "loss": loss.ravel()})


def _path() -> pd.DataFrame:
    return pd.DataFrame({"step": [0, 10, 20], "w": [0.5, 1.2, 1.8], "b": [3.5, 4.4, 4.9]})


# fit_chart


@pytest.mark.parametrize(
    "given", [c for r in range(4) for c in itertools.combinations(OPTIONAL, r)]
)
def test_fit_chart_has_exactly_the_layers_given_in_a_fixed_order(given):
    spec = _fit(**_optional(*given))
    expected = [name for name in ("units", "truth", "reference", "residuals") if name in given]
    assert [layer["name"] for layer in spec["layer"]] == [*expected, "model", "points", "outliers"]


def test_fit_chart_residuals_are_sticks_from_each_point_to_the_curve_batch_in_bold():
    spec = _fit(**_optional("residuals"))
    layer = _layer(spec, "residuals")
    assert layer["mark"]["type"] == "rule" and layer["encoding"]["y2"]["field"] == "y_hat"
    rows = _rows(spec, "residuals")
    assert [r["residual"] for r in rows] == [0.5 - x**2 for x in np.linspace(-1.2, 1.2, 21)]
    width = layer["encoding"]["strokeWidth"]
    assert width["condition"] == [{"test": "datum.in_batch", "value": 2}]
    assert width["value"] == 1


def test_fit_chart_axes_are_fixed_to_the_given_domains():
    spec = _fit(**_optional(*OPTIONAL))
    x, y = spec["encoding"]["x"]["scale"], spec["encoding"]["y"]["scale"]
    assert (x["domain"], x["nice"]) == (list(X_DOMAIN), False)
    assert (y["domain"], y["nice"]) == (list(Y_DOMAIN), False)


def test_fit_chart_clips_every_mark_to_the_fixed_axes():
    spec = _fit(**_optional(*OPTIONAL))
    assert all(layer["mark"]["clip"] is True for layer in spec["layer"])


def test_fit_chart_layers_share_the_chart_level_x_and_y():
    spec = _fit(**_optional(*OPTIONAL))
    assert not any({"x", "y"} & set(layer.get("encoding", {})) for layer in spec["layer"])
    assert {row["x"] for row in _rows(spec, "model")} == set(_curve()["x"])
    assert [row["y"] for row in _rows(spec, "model")] == list(_curve()["y_hat"])


def test_fit_chart_legend_lists_each_point_split_and_each_line_given():
    spec = _fit(**_optional("truth", "units"))
    names = ["train", "test", "added", "model", "truth", "units"]
    assert _colour_scale(spec, "points")["domain"] == [DEFAULT_LABELS[k] for k in names]


def test_fit_chart_lines_are_drawn_in_their_legend_colour():
    spec = _fit(**_optional(*OPTIONAL))
    scale = _colour_scale(spec, "points")
    legend_colour = dict(zip(scale["domain"], scale["range"], strict=True))
    for name in ("units", "truth", "reference", "model"):
        assert _layer(spec, name)["mark"]["color"] == legend_colour[DEFAULT_LABELS[name]]


def test_fit_chart_points_are_coloured_by_split_with_added_points_a_distinct_shape():
    spec = _fit()
    scale = _colour_scale(spec, "points")
    colour = dict(zip(scale["domain"], scale["range"], strict=True))
    shapes = _layer(spec, "points")["encoding"]["shape"]["scale"]
    shape = dict(zip(shapes["domain"], shapes["range"], strict=True))
    train, test, added = (DEFAULT_LABELS[k] for k in ("train", "test", "added"))
    assert len({colour[train], colour[test], colour[added]}) == 3
    assert shape[added] != shape[train]
    assert {row["series"] for row in _rows(spec, "points")} == {train, test, added}


def test_fit_chart_model_is_a_thick_red_line_like_the_blog():
    mark = _layer(_fit(), "model")["mark"]
    assert (mark["type"], mark["color"], mark["strokeWidth"]) == ("line", COLOURS["model"], 3)


def test_fit_chart_reference_line_is_dashed():
    assert "strokeDash" in _layer(_fit(**_optional("reference")), "reference")["mark"]


def test_fit_chart_points_have_x_and_y_tooltips():
    tooltip = _layer(_fit(), "points")["encoding"]["tooltip"]
    assert [t["field"] for t in tooltip] == ["x", "y"]


def test_fit_chart_text_comes_from_labels():
    spec = _fit(labels=ZH)
    assert spec["title"] == ZH["fit_title"]
    assert spec["encoding"]["x"]["title"] == ZH["x"]
    domain = _colour_scale(spec, "points")["domain"]
    assert ZH["train"] in domain and ZH["model"] in domain
    assert DEFAULT_LABELS["train"] not in domain


def test_fit_chart_empty_title_label_means_no_title():
    assert "title" not in _fit(labels={"fit_title": ""})


def test_fit_chart_is_not_selectable_by_default():
    assert "params" not in _fit()


def test_fit_chart_selectable_adds_the_named_point_selection_on_the_points():
    spec = _fit(selectable=True, with_id=True)
    (param,) = spec["params"]
    # Streamlit's on_select finds selections as top-level params with a name and a select.
    assert param["name"] == "picked"
    assert param["select"] == {"type": "point", "fields": ["id"], "on": "click"}
    assert param["views"] == ["points"]


def test_fit_chart_selection_without_an_id_column_selects_by_row():
    (param,) = _fit(selectable=True)["params"]
    assert "fields" not in param["select"]


def test_fit_chart_frames_differ_only_in_data():
    def frame(shift: float) -> dict:
        curve = _curve(shift)
        units = _optional("units", shift=shift)
        return fit_chart(_points(), curve, x_domain=X_DOMAIN, y_domain=Y_DOMAIN, **units).to_dict()

    first, later = frame(0.0), frame(0.3)
    assert first["datasets"] != later["datasets"]
    assert _without_data(first) == _without_data(later)


def test_fit_chart_rejects_an_unknown_split():
    points = _points().assign(split="validation")
    with pytest.raises(ValueError, match="validation"):
        fit_chart(points, _curve(), x_domain=X_DOMAIN, y_domain=Y_DOMAIN)


def test_fit_chart_rejects_a_missing_column():
    with pytest.raises(ValueError, match="y_hat"):
        fit_chart(_points(), _curve().drop(columns="y_hat"), x_domain=X_DOMAIN, y_domain=Y_DOMAIN)


@pytest.mark.parametrize("domain", [(1.0, 1.0), (2.0, -2.0), (0.0, math.inf)])
def test_fit_chart_rejects_an_empty_or_infinite_domain(domain):
    with pytest.raises(ValueError, match="x_domain"):
        fit_chart(_points(), _curve(), x_domain=domain, y_domain=Y_DOMAIN)


def test_fit_chart_axis_titles_can_name_the_uploaded_columns():
    spec = _fit(x_title="时间", y_title="温度")
    assert (spec["encoding"]["x"]["title"], spec["encoding"]["y"]["title"]) == ("时间", "温度")
    tooltip = _layer(spec, "points")["encoding"]["tooltip"]
    assert [t["title"] for t in tooltip] == ["时间", "温度"]


def test_fit_chart_axis_titles_default_to_the_labels():
    spec = _fit(labels=ZH)
    assert (spec["encoding"]["x"]["title"], spec["encoding"]["y"]["title"]) == (ZH["x"], "y")


def _added_size(spec: dict) -> float:
    """The size a point with split "added" gets (first matching condition, as Vega does)."""
    size = _layer(spec, "points")["encoding"]["size"]
    conditions = size.get("condition", [])
    for condition in conditions if isinstance(conditions, list) else [conditions]:
        if "added" in str(condition.get("test", "")):
            return condition["value"]
    return size.get("value", 30)


@pytest.mark.parametrize("selectable", [False, True])
def test_fit_chart_draws_added_points_big_with_a_stroke(selectable):
    spec = _fit(selectable=selectable, with_id=True)
    assert _added_size(spec) >= 150
    stroke = _layer(spec, "points")["encoding"]["stroke"]
    (condition,) = stroke["condition"]
    assert "added" in condition["test"] and condition["value"] not in (None, "transparent")
    assert stroke["value"] is None  # train and test points keep no outline


def test_fit_chart_added_points_contrast_with_every_other_series():
    scale = _colour_scale(_fit(**_optional(*OPTIONAL)), "points")
    colour = dict(zip(scale["domain"], scale["range"], strict=True))
    added = colour.pop(DEFAULT_LABELS["added"])
    assert added not in colour.values()


def test_fit_chart_labels_each_added_point_with_the_outlier_label():
    spec = _fit(labels={"outlier": "离群点"})
    layer = _layer(spec, "outliers")
    assert (layer["mark"]["type"], layer["mark"]["text"]) == ("text", "离群点")
    added = _points().query("split == 'added'")
    assert [(r["x"], r["y"]) for r in _rows(spec, "outliers")] == list(
        zip(added["x"], added["y"], strict=True)
    )


def test_fit_chart_without_added_points_has_an_empty_outlier_layer():
    points = _points().query("split != 'added'")
    spec = fit_chart(points, _curve(), x_domain=X_DOMAIN, y_domain=Y_DOMAIN).to_dict()
    assert _rows(spec, "outliers") == []


def test_fit_chart_keeps_the_true_function_when_points_are_added():
    points = _points().assign(split="added")
    chart = fit_chart(points, _curve(), x_domain=X_DOMAIN, y_domain=Y_DOMAIN, **_optional("truth"))
    spec = chart.to_dict()
    assert [row["y"] for row in _rows(spec, "truth")] == list(_optional("truth")["truth"]["y"])


# race_fit_chart


def test_race_fit_and_loss_charts_colour_each_variant_alike():
    fit, loss = _race(("sgd", "adam", "rmsprop"))
    assert _colour_scale(fit, "variants") == _colour_scale(loss, "loss")
    assert _colour_scale(fit, "variants")["range"] == list(RACE_COLOURS[:3])


def test_race_charts_series_fixes_the_colour_order():
    history = pd.concat([_history([1.0], series="adam"), _history([1.0], series="sgd")])
    scale = _colour_scale(loss_chart(history, series=["sgd", "adam"]).to_dict(), "loss")
    assert scale == _colour_scale(_race(series=["sgd", "adam"])[0], "variants")
    assert scale["domain"] == ["sgd", "adam"]


def test_race_fit_chart_points_are_not_drawn_in_a_variant_colour():
    fit, _ = _race()
    assert _layer(fit, "points")["mark"]["color"] not in RACE_COLOURS


def test_race_fit_chart_axis_titles_can_name_the_uploaded_columns():
    fit, _ = _race(x_title="时间", y_title="温度")
    assert _layer(fit, "points")["encoding"]["x"]["title"] == "时间"
    assert {_layer(fit, name)["encoding"]["y"]["title"] for name in ("points", "variants")} == {
        "温度"
    }


def test_race_fit_chart_clips_its_curves_to_the_fixed_axes():
    fit, _ = _race()
    assert all(layer["mark"]["clip"] is True for layer in fit["layer"])


# loss_chart


def test_loss_chart_is_log_scaled_by_default_and_linear_on_request():
    history = _history([1.0, 0.5, 0.25])
    assert _layer(loss_chart(history).to_dict(), "loss")["encoding"]["y"]["scale"]["type"] == "log"
    linear = loss_chart(history, log=False).to_dict()
    assert _layer(linear, "loss")["encoding"]["y"]["scale"]["type"] == "linear"


def test_loss_chart_x_axis_is_fixed_to_the_run_length_when_given():
    history = _history([1.0, 0.5])
    fixed = _layer(loss_chart(history, steps=5000).to_dict(), "loss")["encoding"]["x"]
    assert fixed["scale"]["domain"] == [0, 5000]
    free = _layer(loss_chart(history).to_dict(), "loss")["encoding"]["x"]
    assert "scale" not in free


def test_loss_chart_draws_a_dashed_rule_at_the_reference_loss():
    spec = loss_chart(_history([1.0, 0.5]), reference_loss=0.02).to_dict()
    rule = _layer(spec, "reference")
    assert rule["mark"]["type"] == "rule" and "strokeDash" in rule["mark"]
    assert rule["encoding"]["y"] == _layer(spec, "loss")["encoding"]["y"]  # same field, scale
    assert _rows(spec, "reference") == [{"loss": 0.02}]
    assert DEFAULT_LABELS["reference"] in _colour_scale(spec, "loss")["domain"]


def test_loss_chart_has_no_rule_without_a_reference_loss():
    spec = loss_chart(_history([1.0, 0.5])).to_dict()
    assert [layer["name"] for layer in spec["layer"]] == ["loss"]
    assert DEFAULT_LABELS["reference"] not in _colour_scale(spec, "loss")["domain"]


def test_loss_chart_drops_non_finite_and_non_positive_losses_on_a_log_scale():
    history = _history([1.0, math.nan, 0.5, math.inf, 0.0, -1.0, 0.25])
    rows = _rows(loss_chart(history).to_dict(), "loss")
    assert [row["loss"] for row in rows] == [1.0, 0.5, 0.25]


def test_loss_chart_keeps_zero_loss_on_a_linear_scale():
    history = _history([1.0, math.nan, 0.0])
    rows = _rows(loss_chart(history, log=False).to_dict(), "loss")
    assert [row["loss"] for row in rows] == [1.0, 0.0]


def test_loss_chart_legend_does_not_change_when_rows_are_dropped():
    clean = pd.concat([_history([1.0, 0.5]), _history([2.0, 1.0], series="test")])
    broken = pd.concat([_history([1.0, 0.5]), _history([math.nan, -1.0], series="test")])
    assert _colour_scale(loss_chart(broken).to_dict(), "loss") == _colour_scale(
        loss_chart(clean).to_dict(), "loss"
    )


def test_loss_chart_names_train_and_test_from_labels_and_keeps_race_names():
    history = pd.concat([_history([1.0]), _history([1.0], "test"), _history([1.0], "adam")])
    labels = {"loss_train": "训练损失", "loss_test": "测试损失"}
    domain = _colour_scale(loss_chart(history, labels=labels).to_dict(), "loss")["domain"]
    assert domain == ["训练损失", "测试损失", "adam"]


def test_loss_chart_train_and_test_match_the_fit_charts_point_colours():
    history = pd.concat([_history([1.0]), _history([1.0], "test")])
    scale = _colour_scale(loss_chart(history).to_dict(), "loss")
    assert scale["range"] == [COLOURS["train"], COLOURS["test"]]


def test_live_loss_and_fit_charts_colour_train_and_test_alike():
    history = pd.concat([_history([1.0]), _history([1.0], "test")])
    loss = _colour_scale(loss_chart(history).to_dict(), "loss")
    fit = _colour_scale(_fit(), "points")
    loss_colour = dict(zip(loss["domain"], loss["range"], strict=True))
    fit_colour = dict(zip(fit["domain"], fit["range"], strict=True))
    for split in ("train", "test"):
        assert loss_colour[DEFAULT_LABELS[f"loss_{split}"]] == fit_colour[DEFAULT_LABELS[split]]


def test_loss_chart_tooltips_show_step_loss_and_series():
    tooltip = _layer(loss_chart(_history([1.0])).to_dict(), "loss")["encoding"]["tooltip"]
    assert [t["field"] for t in tooltip] == ["step", "loss", "series"]


def test_loss_chart_frames_differ_only_in_data():
    first = loss_chart(_history([1.0]), reference_loss=0.1, steps=500).to_dict()
    later = loss_chart(_history([1.0, 0.5, 0.3]), reference_loss=0.1, steps=500).to_dict()
    assert _without_data(first) == _without_data(later)


def test_loss_chart_of_an_empty_history_is_valid():
    empty = pd.DataFrame({"step": [], "loss": [], "series": []})
    assert _rows(loss_chart(empty, steps=100).to_dict(), "loss") == []


# landscape_chart


def test_landscape_chart_layers_are_heatmap_path_and_markers():
    spec = landscape_chart(_grid(), _path(), minimum=(2.0, 5.0)).to_dict()
    assert [layer["name"] for layer in spec["layer"]] == ["heatmap", "path", "markers"]


def test_landscape_chart_draws_arrows_with_heads_turned_along_them_and_named_in_the_legend():
    arrows = pd.DataFrame(
        {
            "kind": ["gradient", "taken", "point", "point"],
            "w": 1.0,
            "b": 4.0,
            "w2": [1.5, 1.4, 1.1, 1.2],
            "b2": [4.5, 4.6, 4.0, 4.3],
            "nx": [0.1, 0.08, 0.02, 0.04],
            "ny": [0.1, 0.12, 0.0, 0.06],
        }
    )
    spec = landscape_chart(_grid(), _path(), minimum=(2.0, 5.0), arrows=arrows).to_dict()
    names = [layer["name"] for layer in spec["layer"]]
    assert names == ["heatmap", "path", "markers", "arrows", "arrow_heads"]
    rows = _rows(spec, "arrows")
    assert [r["arrow"] for r in rows] == ["point", "point", "taken", "gradient"]  # fan below
    heads = _layer(spec, "arrow_heads")
    assert "atan2(datum.nx * width, datum.ny * height)" in heads["transform"][0]["calculate"]
    legend = _layer(spec, "markers")["encoding"]["color"]["scale"]["domain"]
    assert legend[-3:] == ["each point's pull", "step taken", "gradient step −η·g"]


def test_landscape_chart_colours_the_loss_on_a_log_scale():
    spec = landscape_chart(_grid(), _path(), minimum=(2.0, 5.0)).to_dict()
    fill = _layer(spec, "heatmap")["encoding"]["fill"]
    assert (fill["field"], fill["scale"]["type"]) == ("loss", "log")
    assert min(row["loss"] for row in _rows(spec, "heatmap")) > 0  # the exact minimum is 0


def test_landscape_chart_cells_cover_the_axes_edge_to_edge():
    spec = landscape_chart(_grid(), _path(), minimum=(2.0, 5.0)).to_dict()
    rows = _rows(spec, "heatmap")
    x_domain = _layer(spec, "path")["encoding"]["x"]["scale"]["domain"]
    assert min(r["w0"] for r in rows) <= x_domain[0] and max(r["w1"] for r in rows) >= x_domain[1]
    assert x_domain == [-0.5, 4.5]  # w from 0 to 4 in steps of 1, half a step either side


def test_landscape_chart_marks_the_minimum_and_the_current_point():
    spec = landscape_chart(_grid(), _path(), minimum=(2.0, 5.0), current={"w": 1.8, "b": 4.9})
    rows = _rows(spec.to_dict(), "markers")
    assert [(r["kind"], r["w"], r["b"]) for r in rows] == [
        (DEFAULT_LABELS["minimum"], 2.0, 5.0),
        (DEFAULT_LABELS["current"], 1.8, 4.9),
    ]


def test_landscape_chart_without_current_marks_only_the_minimum():
    rows = _rows(landscape_chart(_grid(), _path(), minimum=(2.0, 5.0)).to_dict(), "markers")
    assert [r["kind"] for r in rows] == [DEFAULT_LABELS["minimum"]]


def test_landscape_chart_draws_the_path_in_step_order_without_non_finite_points():
    path = pd.concat([_path(), pd.DataFrame({"step": [30], "w": [math.nan], "b": [5.0]})])
    spec = landscape_chart(_grid(), path.iloc[::-1], minimum=(2.0, 5.0)).to_dict()
    assert _layer(spec, "path")["encoding"]["order"]["field"] == "step"
    assert sorted(r["step"] for r in _rows(spec, "path")) == [0, 10, 20]


# all builders


def test_every_label_key_has_an_english_default():
    assert set(LABEL_KEYS) == set(DEFAULT_LABELS)
    assert all(isinstance(DEFAULT_LABELS[k], str) and DEFAULT_LABELS[k] for k in LABEL_KEYS)


@pytest.mark.parametrize(
    "chart",
    [
        lambda: fit_chart(
            _points(with_id=True),
            _curve(),
            x_domain=X_DOMAIN,
            y_domain=Y_DOMAIN,
            selectable=True,
            **_optional(*OPTIONAL),
        ),
        lambda: loss_chart(_history([1.0, 0.5]), reference_loss=0.1, steps=100),
        lambda: landscape_chart(_grid(), _path(), minimum=(2.0, 5.0), current=(1.8, 4.9)),
        lambda: race_fit_chart(
            _points(),
            _curve().assign(series="sgd"),
            x_domain=X_DOMAIN,
            y_domain=Y_DOMAIN,
            series=["sgd", "adam"],
        ),
    ],
    ids=["fit", "loss", "landscape", "race fit"],
)
def test_specs_validate_against_the_vega_lite_schema(chart):
    spec = chart().to_dict(validate=True)
    alt.LayerChart.validate({k: v for k, v in spec.items() if k != "$schema"})


@pytest.mark.parametrize("name", list(_every_chart()))
def test_every_quantitative_axis_formats_its_labels_from_its_own_scale(name):
    # One notation per axis: the label expression picks it from the whole scale's domain, so
    # "10,000,000,000" and "1e+14" never share an axis.
    axes = list(_quantitative_axes(_every_chart()[name]))
    assert axes
    for channel, axis, _ in axes:
        assert f"domain('{channel}')" in axis["labelExpr"]
        assert "'.4~r'" in axis["labelExpr"] and "'.3~e'" in axis["labelExpr"]


@pytest.mark.parametrize("name", list(_every_chart()))
def test_log_axes_tick_only_at_powers_of_ten(name):
    for _, axis, scale in _quantitative_axes(_every_chart()[name]):
        if scale.get("type") == "log":
            exponents = [math.log10(v) for v in axis["values"]]
            assert exponents == [round(e) for e in exponents] and len(exponents) > 40
            assert "tickCount" in axis  # Vega thins explicit values only to a tick count


def test_loss_chart_y_axis_ticks_at_powers_of_ten_only_on_the_log_scale():
    log = loss_chart(_history([1.0, 0.5])).to_dict()
    linear = loss_chart(_history([1.0, 0.5]), log=False).to_dict()
    assert "values" in _layer(log, "loss")["encoding"]["y"]["axis"]
    assert "values" not in _layer(linear, "loss")["encoding"]["y"]["axis"]


@pytest.mark.parametrize("scale", [20.0, 1e25], ids=["two-fold", "diverged"])
def test_landscape_colour_bar_labels_sit_at_round_losses_inside_its_range(scale):
    grid = _grid().assign(loss=lambda g: g["loss"] * scale + 29.66)
    fill = _layer(landscape_chart(grid, _path(), minimum=(2.0, 5.0)).to_dict(), "heatmap")
    legend = fill["encoding"]["fill"]["legend"]
    lo, hi = grid["loss"].min(), grid["loss"].max()
    assert "domain('fill')" in legend["labelExpr"]
    assert 2 <= len(legend["values"]) <= 6
    for value in legend["values"]:
        assert lo <= value <= hi
        mantissa = value / 10 ** math.floor(math.log10(value))
        assert min(abs(mantissa - m) for m in (1, 2, 5)) < 1e-9


def test_landscape_colour_bar_is_labelled_inside_the_finite_losses():
    grid = _grid().assign(loss=lambda g: g["loss"].where(g["loss"] < 8, math.inf))
    fill = _layer(landscape_chart(grid, _path(), minimum=(2.0, 5.0)).to_dict(), "heatmap")
    values = fill["encoding"]["fill"]["legend"]["values"]
    assert values and max(values) <= grid["loss"][np.isfinite(grid["loss"])].max()


def test_landscape_colour_bar_of_a_narrow_range_is_labelled_at_its_ends():
    grid = _grid().assign(loss=lambda g: g["loss"] + 29.66)  # 29.66 to 37.66: no round value
    fill = _layer(landscape_chart(grid, _path(), minimum=(2.0, 5.0)).to_dict(), "heatmap")
    ends = [grid["loss"].min(), grid["loss"].max()]
    assert fill["encoding"]["fill"]["legend"]["values"] == ends


@pytest.mark.parametrize("name", list(_every_chart()))
def test_every_tooltip_field_has_a_title_and_numbers_a_format(name):
    tooltips = list(_tooltips(_every_chart()[name]))
    for tip in tooltips:
        assert tip.get("title")
        if tip["type"] == "quantitative":
            assert tip["format"] in (".4~g", "d")


def test_loss_chart_series_tooltip_is_titled_from_labels():
    spec = loss_chart(_history([1.0]), labels={"series": "曲线"}).to_dict()
    (series,) = [t for t in _layer(spec, "loss")["encoding"]["tooltip"] if t["field"] == "series"]
    assert series["title"] == "曲线"


@pytest.mark.parametrize("name", list(_every_chart()))
def test_x_axes_flush_labels_near_their_ends_inward(name):
    # Streamlit's theme flushes only labels within 1 px of an end; one a few pixels in (the
    # last tick of an upload's padded domain) was centred on its tick and cut at the edge.
    for channel, axis, _ in _quantitative_axes(_every_chart()[name]):
        if channel == "x":
            assert axis["labelFlush"] >= 10


@pytest.mark.parametrize("name", ["loss log", "loss linear", "landscape diverged"])
def test_y_axes_whose_labels_change_width_keep_a_minimum_extent(name):
    for channel, axis, _ in _quantitative_axes(_every_chart()[name]):
        if channel == "y":
            assert axis["minExtent"] >= 40


@pytest.mark.parametrize("name", list(_every_chart()))
def test_every_line_is_clipped_to_the_plot(name):
    for layer in _every_chart()[name]["layer"]:
        mark = layer["mark"]
        if mark["type"] in ("line", "rule"):
            assert mark["clip"] is True, layer.get("name")


def test_charts_and_landscape_do_not_import_streamlit():
    code = "import sys, fitcore.charts, fitcore.landscape; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _named_refs(spec) -> set[str]:
    """Every {"data": {"name": ...}} reference in a spec."""
    found = set()
    if isinstance(spec, dict):
        data = spec.get("data")
        if isinstance(data, dict) and "name" in data:
            found.add(data["name"])
        for value in spec.values():
            found |= _named_refs(value)
    elif isinstance(spec, list):
        for value in spec:
            found |= _named_refs(value)
    return found


def _split_cases():
    """name -> (chart, the data function's tables for the same arguments)."""
    x = np.linspace(-1, 1, 30)
    points = pd.DataFrame({"x": x, "y": x**2, "split": ["train", "test", "added"] * 10})
    curve = pd.DataFrame({"x": x, "y_hat": 0.5 * x})
    units = pd.DataFrame({"x": np.tile(x, 3), "unit": np.repeat([0, 1, 2], 30), "y": 0.1})
    history = pd.DataFrame(
        {
            "step": [0, 10, 20, 0, 10, 20],
            "loss": [1.0, 0.0, 0.2, 2.0, np.inf, 0.3],
            "series": ["train"] * 3 + ["test"] * 3,
        }
    )
    lines = {
        "truth": pd.DataFrame({"x": x, "y": x**2}),
        "reference": pd.DataFrame({"x": x, "y": x}),  # distinct: Altair merges equal tables
        "units": units,
    }
    common = {"x_domain": (-1.2, 1.2), "y_domain": (-0.5, 1.5)}
    zh = {"train": "训练点", "model": "模型", "loss_train": "训练", "loss_test": "测试"}
    cases = {
        "fit": ({}, {}),
        "fit+lines, selectable": (lines, {"selectable": True}),
        "fit, zh labels": ({"truth": lines["truth"]}, {"labels": zh}),
    }
    out = {
        name: (
            charts.fit_chart(points, curve, **given, **common, **extra),
            charts.fit_data(points, curve, **given, labels=extra.get("labels", DEFAULT_LABELS)),
        )
        for name, (given, extra) in cases.items()
    }
    for name, kwargs in {
        "loss alone": {},
        "loss+reference": {"reference_loss": 0.1},
        "loss linear+reference": {"reference_loss": 0.0, "log": False},
        "loss log, zero reference (no rule), zh": {"reference_loss": 0.0, "labels": zh},
    }.items():
        out[name] = (
            charts.loss_chart(history, steps=100, **kwargs),
            charts.loss_data(history, **kwargs),
        )
    return out


@pytest.mark.parametrize("name", list(_split_cases()))
def test_split_data_moves_every_table_out_of_the_spec(name):
    chart, _ = _split_cases()[name]
    inline = chart.to_dict()
    free, datasets = charts.split_data(chart)
    spec = charts.compile_spec(free)
    assert "datasets" not in spec and _named_refs(spec) == set(datasets)
    # the same tables, found two ways: Altair's own inlining and split_data
    assert sorted(len(rows) for rows in inline["datasets"].values()) == sorted(
        len(df) for df in datasets.values()
    )


@pytest.mark.parametrize("name", list(_split_cases()))
def test_the_data_functions_give_the_tables_that_split_data_takes_out(name):
    # The page compiles a chart's spec once and then sends only fit_data / loss_data each frame:
    # a name or a table that differed would draw an empty or a wrong chart.
    chart, data = _split_cases()[name]
    _, datasets = charts.split_data(chart)
    assert list(data) == list(datasets)
    for key, table in data.items():
        pd.testing.assert_frame_equal(table, datasets[key])


def test_arrow_table_keeps_every_column_and_row_and_sends_nan_as_null():
    df = pd.DataFrame(
        {"x": [0.5, np.nan, 2.0], "unit": [0, 1, 2], "series": ["训练", "test", "model"]},
        index=[7, 8, 9],  # an index the chart never reads: not sent
    )
    table = charts.arrow_table(df)
    assert table.column_names == ["x", "unit", "series"]
    assert table.column("x").to_pylist() == [0.5, None, 2.0]
    assert table.column("unit").to_pylist() == [0, 1, 2]
    assert table.column("series").to_pylist() == ["训练", "test", "model"]


def test_arrow_table_of_no_rows_keeps_the_column_types():
    history = pd.DataFrame({"step": [0], "series": ["train"], "loss": [np.inf]})
    table = charts.arrow_table(charts.loss_data(history)["loss"])  # every row dropped
    assert table.num_rows == 0
    assert [str(t) for t in table.schema.types] == ["int64", "double", "string"]
