"""A choice added to fitcore.registry is one entry plus its catalog strings (CONTRIBUTING.md).

The test adds a toy dataset and a toy optimizer at run time, as a contributor would add them to
the tables, and sees each validated, trained, exported and offered on the page.
"""

import contextlib
import io
import sys
import types
from unittest import mock

import pytest
from streamlit.testing.v1 import AppTest

from fitcore import FitConfig, export_script, i18n, race, registry, train_iter

TOY_DATASET = registry.Dataset("toy_ramp", "0.5 * x - 1 + noise")
TOY_OPTIMIZER = registry.Optimizer("toy_nadam", "NAdam")  # torch.optim.NAdam, not in FitLab
TOY_STRINGS = {
    "page": {
        "ds_toy_ramp": "Toy ramp",
        "dsd_toy_ramp": "A toy entry.",
        "opt_toy_nadam": "Toy NAdam",
    },
    "script": {"opt_toy_nadam": "NAdam: Adam with Nesterov momentum"},
}


@pytest.fixture
def toys(monkeypatch):
    """The registry and the catalogs with the toy entries in, for this test only."""
    monkeypatch.setattr(
        registry, "DATASETS", types.MappingProxyType({**registry.DATASETS, "toy_ramp": TOY_DATASET})
    )
    monkeypatch.setattr(
        registry,
        "OPTIMIZERS",
        types.MappingProxyType({**registry.OPTIMIZERS, "toy_nadam": TOY_OPTIMIZER}),
    )
    tables = i18n._tables

    def with_toys(lang):
        return {name: {**table, **TOY_STRINGS[name]} for name, table in tables(lang).items()}

    monkeypatch.setattr(i18n, "_tables", with_toys)


TOY = {"dataset": "toy_ramp", "optimizer": "toy_nadam", "model": "linear", "steps": 200}


def test_without_the_entries_the_names_are_refused():
    with pytest.raises(ValueError, match="dataset must be one of"):
        FitConfig(dataset="toy_ramp")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        FitConfig(optimizer="toy_nadam")


def test_a_toy_entry_is_validated_and_trained(toys):
    cfg, warnings = FitConfig.from_query({"dataset": "toy_ramp", "optimizer": "toy_nadam"})
    assert warnings == [] and (cfg.dataset, cfg.optimizer) == ("toy_ramp", "toy_nadam")
    snaps = list(train_iter(FitConfig(**TOY)))
    assert snaps[-1].train_loss < snaps[0].train_loss / 10
    # it learned the toy's formula: y = 0.5 x - 1 plus noise * U[0, 1), mean noise / 2 = 0.1
    assert snaps[-1].params["w"] == pytest.approx(0.5, abs=0.1)
    assert snaps[-1].params["b"] == pytest.approx(-0.9, abs=0.1)


def test_a_toy_entry_is_exported_and_the_script_prints_the_same_losses(toys):
    cfg = FitConfig(**TOY)
    script = export_script(cfg, lang="en")
    assert "y = 0.5 * x - 1 + noise" in script and "torch.optim.NAdam(" in script
    assert "NAdam: Adam with Nesterov momentum" in script and "Toy ramp" in script
    out = io.StringIO()
    with contextlib.redirect_stdout(out), mock.patch.object(sys, "argv", ["exported"]):
        exec(compile(script, "exported", "exec"), {"__name__": "__main__"})
    printed = [line.split() for line in out.getvalue().splitlines() if line.startswith("step ")]
    assert [(int(r[1]), float(r[3])) for r in printed] == [
        (s.step, s.train_loss) for s in train_iter(cfg)
    ]


def test_a_toy_entry_is_offered_on_the_page_and_raced_on_its_own_loop(toys):
    at = AppTest.from_file("../streamlit_app.py", default_timeout=60)
    at.query_params["dataset"] = "toy_ramp"
    at.query_params["optimizer"] = "toy_nadam"
    at.query_params["model"] = "linear"
    at.run()
    assert not at.exception, at.exception
    dataset, optimizer = at.selectbox(key="dataset"), at.selectbox(key="optimizer")
    assert dataset.value == "toy_ramp" and "Toy ramp" in dataset.options
    assert optimizer.value == "toy_nadam" and "Toy NAdam" in optimizer.options
    at.button(key="step").click().run()
    assert not at.exception, at.exception
    assert at.get("progress")[0].proto.text.startswith("step 100 /")
    # no stacked update: it races on train.py's own loop, in step with the others
    assert "toy_nadam" in race.raceable() and "toy_nadam" not in race.UPDATES
    at.radio(key="race_kind").set_value("optimizer").run()
    assert "Toy NAdam" in at.multiselect(key="race_opts").options
