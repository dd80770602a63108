"""FitConfig and UiSettings query strings: round trips, limits, and hostile input."""

import dataclasses
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fitcore import LIMITS, PRESETS, FitConfig, registry
from fitcore.config import HIDEABLE, SPEEDS, UiSettings


def _number(name):
    lo, hi = LIMITS[name]
    if isinstance(lo, int):
        return st.integers(lo, hi)
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


configs = st.builds(
    FitConfig,
    **{name: st.sampled_from(registry.names(name)) for name in registry.FIELDS},
    **{f.name: _number(f.name) for f in dataclasses.fields(FitConfig) if f.name in LIMITS},
    hidden=st.lists(st.integers(*LIMITS["width"]), min_size=1, max_size=4).map(tuple),
)


@given(configs)
def test_query_round_trip(cfg):
    query = cfg.to_query()
    assert all(isinstance(v, str) for v in query.values())
    back, warnings = FitConfig.from_query(query)
    assert back == cfg and warnings == []


def test_to_query_writes_only_what_differs():
    assert FitConfig().to_query() == {}
    assert FitConfig(lr=0.1, hidden=(32, 32)).to_query() == {"lr": "0.1", "hidden": "32,32"}
    # whole numbers as a teacher types them: moving the slider to 10 wrote lr=10.0
    assert FitConfig(lr=10.0, noise=1.0).to_query() == {"lr": "10", "noise": "1"}


def test_preset_is_the_starting_point_of_a_link():
    cfg, warnings = FitConfig.from_query({"preset": "blog-linear", "seed": "4"})
    assert cfg == dataclasses.replace(PRESETS["blog-linear"], seed=4) and warnings == []


@given(
    st.dictionaries(st.text(max_size=20), st.text(max_size=60) | st.lists(st.text(), max_size=3))
)
@settings(max_examples=300)
def test_from_query_never_raises(query):
    cfg, warnings = FitConfig.from_query(query)
    ui, ui_warnings = UiSettings.from_query(query)
    assert isinstance(cfg, FitConfig) and isinstance(ui, UiSettings)
    assert all(isinstance(w, str) and w for w in warnings + ui_warnings)


@pytest.mark.parametrize(
    "key, raw, expected",
    [
        ("lr", "1e308", 10.0),
        ("lr", "-3", 1e-5),
        ("steps", "99999999999999999999", 20000),
        ("n_points", "1", 2),
        ("hidden", "500,500,500,500,500,500", (128, 128, 128, 128)),
    ],
)
def test_out_of_range_values_are_clamped_with_a_warning(key, raw, expected):
    cfg, warnings = FitConfig.from_query({key: raw})
    assert getattr(cfg, key) == expected
    shown = ",".join(map(str, expected)) if isinstance(expected, tuple) else f"{expected:g}"
    assert len(warnings) == 1 and warnings[0].startswith(f"{key}=") and shown in warnings[0]


@pytest.mark.parametrize(
    "key, raw",
    [
        ("lr", "nan"),
        ("lr", "inf"),
        ("seed", "1.5"),
        ("steps", "<script>"),
        ("model", "../etc"),
        ("hidden", "a,b"),
        ("dataset", "国"),
    ],
)
def test_malformed_values_fall_back_to_the_default_with_a_warning(key, raw):
    cfg, warnings = FitConfig.from_query({key: raw})
    assert getattr(cfg, key) == getattr(FitConfig(), key)
    assert len(warnings) == 1 and key in warnings[0]


def test_repeated_and_unknown_keys_are_named():
    cfg, warnings = FitConfig.from_query({"lr": ["0.1", "0.2"], "bogus": "1"})
    assert cfg.lr == 0.2
    assert any("given 2 times" in w for w in warnings) and any("'bogus'" in w for w in warnings)


def test_long_values_are_shortened_in_warnings():
    _, warnings = FitConfig.from_query({"lr": "9" * 5000 + "x"})
    assert len(warnings[0]) < 200


def test_ui_settings_round_trip_and_defaults():
    ui = UiSettings(
        preset="blog-linear", lang="zh", speed="max", autoplay=True, hide=("lr", "seed")
    )
    back, warnings = UiSettings.from_query(ui.to_query())
    assert back == ui and warnings == []
    assert UiSettings.from_query({})[0] == UiSettings()


def test_ui_settings_name_bad_values():
    ui, warnings = UiSettings.from_query(
        {"speed": "warp", "lang": "fr", "hide": "lr,nope", "autoplay": "maybe"}
    )
    assert ui.speed == "normal" and ui.lang is None and ui.hide == ("lr",) and not ui.autoplay
    assert len(warnings) == 4


def test_every_field_is_hideable():
    assert {f.name for f in dataclasses.fields(FitConfig)} <= set(HIDEABLE)
    assert set(SPEEDS) == {"slow", "normal", "fast", "max"}


def test_limits_cover_every_numeric_field():
    for f in dataclasses.fields(FitConfig):
        if f.name not in registry.FIELDS and f.name != "hidden":
            lo, hi = LIMITS[f.name]
            assert lo <= getattr(FitConfig(), f.name) <= hi and math.isfinite(hi)


def test_each_optimizer_entry_builds_its_torch_class_with_its_options():
    import torch

    from fitcore import train

    params = [torch.nn.Parameter(torch.zeros(1))]
    for name in registry.names("optimizer"):
        entry = registry.get("optimizer", name)
        opt = train.make_optimizer(
            FitConfig(optimizer=name, momentum=0.5, weight_decay=0.1), params
        )
        assert type(opt).__name__ == entry.torch_class
        assert opt.defaults["lr"] == 0.05
        assert opt.defaults.get("weight_decay") == (0.1 if entry.decay else None)
        assert opt.defaults.get("momentum", 0.0) == (0.5 if entry.momentum else 0.0)
    lbfgs = train.make_optimizer(FitConfig(optimizer="lbfgs"), params).defaults
    assert (lbfgs["max_iter"], lbfgs["max_eval"], lbfgs["line_search_fn"]) == (
        1,
        25,
        "strong_wolfe",
    )


def test_each_schedule_entry_builds_its_torch_scheduler_from_the_run_length():
    import torch

    from fitcore import train

    for name in registry.names("schedule"):
        cfg = FitConfig(schedule=name, steps=400, lr=1.0)
        opt = train.make_optimizer(cfg, [torch.nn.Parameter(torch.zeros(1))])
        schedule = train.make_scheduler(cfg, opt)
        lrs = []
        for _ in range(cfg.steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if schedule is not None:
                schedule.step()
        expected = {
            "constant": [1.0] * 400,
            "step": [1.0] * 200 + [0.1] * 100 + [0.01] * 100,
            "cosine": [0.5 * (1 + math.cos(math.pi * t / 400)) for t in range(400)],
            "warmup": [0.01 + 0.99 * min(t, 40) / 40 for t in range(400)],
        }[name]
        assert lrs == pytest.approx(expected, rel=1e-9, abs=1e-12), name


def test_an_unknown_choice_is_an_error_never_a_fallback():
    for field in registry.FIELDS:
        with pytest.raises(ValueError, match=f"{field} must be one of"):
            FitConfig(**{field: "nonesuch"})
        with pytest.raises(ValueError, match="nonesuch"):
            registry.get(field, "nonesuch")


# One link per kind of warning, and the parts of its text that are the link's own (the
# parameter name, the value given, the value used or allowed): everything else is translated.
WARNING_LINKS = {
    "unknown": ({"bogus": "1"}, ["'bogus'"]),
    "repeated": ({"lr": ["0.1", "0.2"]}, ["lr", "'0.2'"]),
    "invalid": ({"model": "oops"}, ["model", "'oops'", "mlp"]),
    "range": ({"lr": "1e308"}, ["lr", "'1e308'"]),
    "choice": ({"speed": "warp"}, ["speed", "'warp'", *SPEEDS]),
    "autoplay": ({"autoplay": "maybe"}, ["autoplay", "'maybe'"]),
    "hide": ({"hide": "nope"}, ["hide", "'nope'"]),
}


def _link_warnings(query, lang):
    return FitConfig.from_query(query, lang=lang)[1] + UiSettings.from_query(query, lang=lang)[1]


@pytest.mark.parametrize("kind", WARNING_LINKS)
def test_chinese_link_warnings_have_no_english_words(kind):
    query, own = WARNING_LINKS[kind]
    (warning,) = _link_warnings(query, "zh")
    for part in own:
        assert part in warning
        warning = warning.replace(part, "")
    assert not re.search(r"[A-Za-z]", warning), warning


@pytest.mark.parametrize("kind", WARNING_LINKS)
def test_link_warnings_are_english_by_default_and_for_unknown_languages(kind):
    query, own = WARNING_LINKS[kind]
    english = FitConfig.from_query(query)[1] + UiSettings.from_query(query)[1]
    assert english == _link_warnings(query, "en") == _link_warnings(query, "fr")
    assert all(part in english[0] for part in own)


def test_english_link_warning_wording():
    assert FitConfig.from_query({"lr": "1e308"})[1] == ["lr='1e308': out of range, using 10"]
