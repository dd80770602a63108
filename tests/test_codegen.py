"""export_script: the exported plain-PyTorch script, run with python, prints train_iter's losses."""

import ast
import contextlib
import dataclasses
import io
import json
import re
import string
import subprocess
import sys
import tokenize
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitcore import PRESETS, FitConfig, registry, train_iter
from fitcore.codegen import _float32_literal, export_script
from fitcore.data import edit, make_data
from fitcore.i18n import LANGS, script_catalog
from fitcore.models import describe
from fitcore.player import make_scene
from fitcore.train import model_at
from tests.blog_script import blog_losses


def uploaded_points() -> pd.DataFrame:
    """Unsorted integer x with repeated values, so the script must sort stably and convert."""
    rng = np.random.default_rng(1)
    x = np.repeat(rng.permutation(np.arange(100, 300, 8)), 2)  # every x twice
    return pd.DataFrame({"x": x, "y": 0.5 * x - 40 + rng.normal(0, 3, len(x))})


def cars_like_points(n: int = 392) -> pd.DataFrame:
    """Like vega's cars (Horsepower, Miles_per_Gallon; 392 rows have both): integer x in 40-230,
    many repeated, y in 9-47 with many decimals. From 256 points on, torch splits the sums of
    a forward pass between threads, and the last digits of the losses depend on their number."""
    rng = np.random.default_rng(7)
    x = rng.integers(40, 231, n).astype("float64")
    y = np.clip(49 - 0.16 * x + rng.normal(0, 4, n), 9, 47) + rng.random(n) / 7
    return pd.DataFrame({"x": x, "y": y})


def edited_points(cfg: FitConfig) -> pd.DataFrame:
    """cfg's generated points as the page edits them: two removed and an outlier added."""
    base = make_scene(cfg).points
    removed = {(float(base.x.iloc[i]), float(base.y.iloc[i])) for i in (3, 40)}
    return edit(base, removed=removed, added=[(0.25, 3.0)])


# Each run's config and uploaded points. Together they cover every dataset, model,
# activation, optimizer and loss (checked below), with few steps so the file stays fast.
CASES: dict[str, tuple[FitConfig, pd.DataFrame | None]] = {
    "linear-model": (
        FitConfig(dataset="linear", model="linear", lr=0.1, steps=60, every=20),
        None,
    ),
    "poly-sgd-momentum": (
        FitConfig(
            dataset="sine", model="poly", degree=5, lr=0.3, momentum=0.9, steps=100, every=25
        ),
        None,
    ),
    "mlp-adam-huber": (
        FitConfig(
            activation="tanh", optimizer="adam", loss="huber", lr=0.01, steps=100, every=30, seed=3
        ),
        None,
    ),
    "mlp-adamw-two-layers": (
        FitConfig(
            dataset="bump", hidden=(8, 8), activation="gelu", optimizer="adamw", lr=0.01, steps=100
        ),
        None,
    ),
    "mlp-rmsprop-momentum-decay": (
        FitConfig(
            dataset="step",
            hidden=(6,),
            activation="sigmoid",
            optimizer="rmsprop",
            momentum=0.5,
            weight_decay=0.01,
            loss="l1",
            lr=0.01,
            steps=100,
            every=50,
        ),
        None,
    ),
    "test-split": (
        FitConfig(
            dataset="abs",
            activation="leaky_relu",
            test_fraction=0.25,
            momentum=0.5,
            weight_decay=0.1,
            steps=100,
            every=50,
        ),
        None,
    ),
    "minibatches": (
        FitConfig(
            dataset="sawtooth",
            hidden=(16,),
            activation="elu",
            batch_size=16,
            optimizer="adam",
            lr=0.01,
            steps=100,
            every=25,
        ),
        None,
    ),
    "minibatches-and-test-split": (
        FitConfig(
            dataset="sine",
            hidden=(12, 6, 4),
            activation="silu",
            batch_size=32,
            test_fraction=0.2,
            optimizer="rmsprop",
            loss="huber",
            lr=0.005,
            steps=100,
            every=40,
        ),
        None,
    ),
    "batch-larger-than-training-set": (
        FitConfig(
            dataset="cubic",
            n_points=20,
            noise=1,  # an int: the script must write it as the config holds it
            test_fraction=0.5,
            batch_size=50,
            optimizer="adagrad",
            loss="l1",
            lr=0.1,
            steps=60,
            every=20,
        ),
        None,
    ),
    "uploaded-linear": (
        FitConfig(dataset="csv", model="linear", lr=0.5, steps=60, every=20),
        uploaded_points(),
    ),
    "uploaded-mlp-split-batches": (
        FitConfig(dataset="csv", test_fraction=0.3, batch_size=8, steps=60, every=20, seed=5),
        uploaded_points(),
    ),
    "uploaded-cars": (FitConfig(dataset="csv", steps=500, every=50), cars_like_points()),
    "uploaded-cars-test-split": (
        FitConfig(dataset="csv", test_fraction=0.2, steps=200, every=50),
        cars_like_points(),
    ),
    "uploaded-cars-batches": (
        FitConfig(dataset="csv", batch_size=32, optimizer="adam", lr=0.01, steps=200, every=50),
        cars_like_points(),
    ),
    "many-generated-points": (
        FitConfig(dataset="sine", n_points=400, steps=200, every=50),
        None,
    ),
    "edited-generated-points": (
        FitConfig(dataset="quadratic", steps=200, every=50),
        edited_points(FitConfig(dataset="quadratic")),
    ),
    # a schedule, and L-BFGS's closure: full batch, minibatches with a test split, an upload
    **{
        f"schedule-{name}": (FitConfig(schedule=name, steps=120, every=20), None)
        for name in ("step", "cosine", "warmup")
    },
    "schedule-adam-decay": (
        FitConfig(schedule="cosine", optimizer="adamw", lr=0.01, steps=150, every=50),
        None,
    ),
    "lbfgs": (FitConfig(optimizer="lbfgs", lr=1.0, steps=40, every=5), None),
    "lbfgs-batches-split-schedule": (
        FitConfig(
            optimizer="lbfgs",
            lr=1.0,
            batch_size=30,
            test_fraction=0.2,
            schedule="step",
            weight_decay=0.1,  # L-BFGS has none: the script leaves it out, as training does
            steps=30,
            every=5,
        ),
        None,
    ),
    "lbfgs-uploaded": (
        FitConfig(dataset="csv", model="poly", degree=6, optimizer="lbfgs", steps=25, every=5),
        cars_like_points(),
    ),
}
# Runs whose weights the page offers for download after the snapshot at step k: (case, k).
WEIGHTS = {
    "linear-model": 40,
    "poly-sgd-momentum": 50,
    "mlp-adamw-two-layers": 100,  # the last step
    "minibatches-and-test-split": 40,
    "uploaded-cars-test-split": 150,
}
# Runs also exported with lang="zh": every kind of block the script has (poly, minibatches and a
# test split, uploaded and edited points, divergence), and one with --weights.
ZH_CASES = [
    "poly-sgd-momentum",
    "minibatches-and-test-split",
    "uploaded-cars-test-split",
    "edited-generated-points",
    "diverging",
]
DIVERGING = FitConfig(dataset="linear", noise=0.5, lr=10.0, steps=500, every=100)
BLOG_SEED = 1
BLOG = dataclasses.replace(PRESETS["blog-quadratic"], seed=BLOG_SEED)


# Runs exported scripts one after another in one interpreter, as `python <script> <args>` would:
# each run of its own is mostly `import torch` (13 interpreters took 19 s to 78 s here). Each
# script starts with torch's default thread count, as in a fresh interpreter: the page trains on
# one thread, and a script must ask for that itself to print the page's losses.
RUNNER = """\
import contextlib, io, json, runpy, sys, traceback

import torch

jobs_file, results_file = sys.argv[1:]
jobs, results = json.load(open(jobs_file)), {}
threads = torch.get_num_threads()
for name, (path, args) in jobs.items():
    torch.set_num_threads(threads)
    sys.argv = [path, *args]
    out, err, error = io.StringIO(), io.StringIO(), None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as e:
            error = None if e.code in (None, 0) else f"exit {e.code}"
        except BaseException:
            error = traceback.format_exc()
    results[name] = {"stdout": out.getvalue(), "stderr": err.getvalue(), "error": error}
json.dump(results, open(results_file, "w"))
"""


@dataclasses.dataclass(frozen=True)
class Run:
    """What one exported script printed, and the traceback if it failed."""

    stdout: str
    stderr: str
    error: str | None


def run_scripts(folder, jobs: dict[str, tuple[str, list[str]]]) -> dict[str, Run]:
    """Each job's script source run with its arguments, all in one new python interpreter."""
    files = {}
    for name, (source, args) in jobs.items():
        # A name no stdlib module has, in case the script's folder comes first on sys.path.
        path = folder / f"fitlab_{name.replace('-', '_')}.py"
        path.write_text(source, encoding="utf-8")
        files[name] = (str(path), args)
    (folder / "jobs.json").write_text(json.dumps(files), encoding="utf-8")
    (folder / "runner.py").write_text(RUNNER, encoding="utf-8")
    subprocess.run(
        [sys.executable, "runner.py", "jobs.json", "results.json"],
        cwd=folder,
        check=True,
        timeout=600,
    )
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return {name: Run(**results[name]) for name in jobs}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Run]:
    """Each case's exported script, run as python would run it; `weights-<case>` with --weights."""
    folder = tmp_path_factory.mktemp("exported")
    runs = {**CASES, "diverging": (DIVERGING, None), "blog": (BLOG, None)}
    jobs = {name: (export_script(cfg, points), []) for name, (cfg, points) in runs.items()}
    for name, k in WEIGHTS.items():
        cfg, points = CASES[name]
        path = folder / f"fitlab_step{k}_{name}.pt"
        path.write_bytes(page_download(cfg, k, points))
        jobs[f"weights-{name}"] = (jobs[name][0], ["--weights", str(path)])
    for name in ZH_CASES:
        jobs[f"zh-{name}"] = (export_script(*runs[name], lang="zh"), [])
    name = "uploaded-cars-test-split"
    path = folder / f"fitlab_step{WEIGHTS[name]}_{name}.pt"
    jobs[f"zh-weights-{name}"] = (jobs[f"zh-{name}"][0], ["--weights", str(path)])
    jobs["zh-help"] = (jobs[f"zh-{name}"][0], ["--help"])
    return run_scripts(folder, jobs)


def page_download(cfg: FitConfig, step: int, points: pd.DataFrame | None) -> bytes:
    """The weights file the page's download button hands out after the snapshot at `step`."""
    buffer = io.BytesIO()
    torch.save(model_at(cfg, step, points).state_dict(), buffer)
    return buffer.getvalue()


def step_lines(out: Run) -> list[list[str]]:
    """The `step <n> loss <value> [test_loss <value>]` lines of a script's output, split."""
    assert out.error is None, out.error
    return [line.split() for line in out.stdout.splitlines() if line.startswith("step ")]


def printed(out: Run) -> list[tuple[int, float]]:
    return [(int(row[1]), float(row[3])) for row in step_lines(out)]


def printed_test_losses(out: Run) -> list[float]:
    return [float(row[5]) for row in step_lines(out) if row[4:5] == ["test_loss"]]


@pytest.mark.parametrize("name", CASES)
def test_script_prints_the_train_losses_of_train_iter(name, outputs):
    cfg, points = CASES[name]
    expected = [(s.step, s.train_loss) for s in train_iter(cfg, points)]
    assert printed(outputs[name]) == expected


@pytest.mark.parametrize("name", [n for n, (cfg, _) in CASES.items() if cfg.test_fraction])
def test_script_prints_the_test_losses_of_train_iter(name, outputs):
    cfg, points = CASES[name]
    assert printed_test_losses(outputs[name]) == [s.test_loss for s in train_iter(cfg, points)]


def test_blog_quadratic_script_prints_the_blogs_losses(outputs):
    expected = blog_losses("quadratic", BLOG_SEED)  # the blog's own loop on the global RNG
    got = dict(printed(outputs["blog"]))
    assert {step: got[step] for step in expected} == expected


@pytest.mark.parametrize("name", WEIGHTS)
def test_script_with_downloaded_weights_prints_that_snapshots_losses(name, outputs):
    cfg, points = CASES[name]
    snap = next(s for s in train_iter(cfg, points) if s.step == WEIGHTS[name])
    out = outputs[f"weights-{name}"]
    assert out.error is None, out.error
    rows = [line.split() for line in out.stdout.splitlines() if line.startswith("loss ")]
    expected = ["loss", repr(snap.train_loss)]
    if snap.test_loss is not None:
        expected += ["test_loss", repr(snap.test_loss)]
    assert rows == [expected]
    assert "step " not in out.stdout  # measured, not trained


@pytest.mark.parametrize("name", CASES)
def test_script_prints_the_pages_model(name, outputs):
    cfg, points = CASES[name]
    assert describe(model_at(cfg, 0, points))[0] in outputs[name].stdout


def test_diverging_script_stops_where_train_iter_stops(outputs):
    expected = [(s.step, repr(s.train_loss)) for s in train_iter(DIVERGING)]
    got = [(step, repr(loss)) for step, loss in printed(outputs["diverging"])]
    assert got == expected
    assert expected[-1][0] < DIVERGING.steps
    assert "diverged at step" in outputs["diverging"].stdout


def test_cases_cover_every_choice():
    cfgs = [cfg for cfg, _ in CASES.values()]
    assert {c.dataset for c in cfgs} == set(registry.names("dataset"))
    assert {c.model for c in cfgs} == set(registry.names("model"))
    assert {c.activation for c in cfgs if c.model == "mlp"} == set(registry.names("activation"))
    assert {c.optimizer for c in cfgs} == set(registry.names("optimizer"))
    assert {c.loss for c in cfgs} == set(registry.names("loss"))
    assert {c.schedule for c in cfgs} == set(registry.names("schedule"))


@pytest.mark.parametrize("name", CASES)
def test_script_compiles_and_imports_only_torch_and_the_standard_library(name):
    script = export_script(*CASES[name])
    tree = ast.parse(script)
    compile(tree, name, "exec")
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {m.split(".")[0] for m in modules} <= {"torch", "math", "argparse"}
    assert "Variable" not in script and "fitcore" not in script


def test_script_has_the_tutorials_training_step():
    script = export_script(*CASES["minibatches-and-test-split"])
    marks = ["# forward", "# backward", "optimizer.zero_grad()", "loss.backward()", "# update"]
    marks.append("optimizer.step()")
    positions = [script.index(mark) for mark in marks]
    assert positions == sorted(positions)
    assert "net = nn.Sequential(" in script and "torch.Generator().manual_seed(seed)" in script


def test_linear_model_script_has_only_the_code_it_needs():
    script = export_script(*CASES["linear-model"])
    loop = script[script.index("for step in range") :]
    for unused in ("randint", "randperm", "test_loss", "Legendre", "F.", "x_shift"):
        assert unused not in script, unused
    assert "no_grad" not in loop  # the loss of the step is the loss of all points
    assert len(script.splitlines()) < 105


def test_header_names_the_settings_and_how_to_run():
    script = export_script(*CASES["mlp-rmsprop-momentum-decay"])
    header = script[: script.index("import ")]
    for setting in ("dataset=step", "hidden=6", "optimizer=rmsprop", "momentum=0.5", "lr=0.01"):
        assert setting in header, setting
    assert "python" in header and "step <n> loss <value>" in header


def embedded(script: str, name: str) -> torch.Tensor:
    """The values of the list literal the script passes to torch.tensor for `name`."""
    for node in ast.parse(script).body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == name:
            call = node.value.func.value  # torch.tensor([...], dtype=torch.float32).unsqueeze(1)
            return torch.tensor(ast.literal_eval(call.args[0]), dtype=torch.float32)
    raise AssertionError(f"no {name} = torch.tensor(...) in the script")


def test_uploaded_points_are_embedded_as_the_page_trains_on_them():
    cfg, points = CASES["uploaded-cars-test-split"]
    script = export_script(cfg, points)
    d = make_data(dataclasses.replace(cfg, test_fraction=0.0), points)  # all points, unsplit
    assert torch.equal(embedded(script, "x"), d.x_train[:, 0])
    assert torch.equal(embedded(script, "y"), d.y_train[:, 0])
    assert f"x_shift, x_scale = {d.x_shift!r}, {d.x_scale!r}" in script
    assert "dataset=" not in script[: script.index("import ")]  # the points replace it


@given(bits=st.integers(0, 2**32 - 1))
def test_float32_literals_read_back_as_the_same_float32(bits):
    v = np.uint32(bits).view(np.float32)
    if np.isfinite(v):
        literal = _float32_literal(float(v))
        assert torch.tensor([float(literal)], dtype=torch.float32).numpy().view(np.uint32) == bits


def test_csv_dataset_without_points_raises():
    with pytest.raises(ValueError, match="uploaded points"):
        export_script(FitConfig(dataset="csv"))


def test_non_finite_points_raise():
    points = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [1.0, float("nan"), 3.0]})
    with pytest.raises(ValueError, match="finite"):
        export_script(FitConfig(dataset="csv"), points)


# Any valid config, kept small: few points and steps, lr up to 10 so some runs diverge.
small_configs = st.builds(
    FitConfig,
    dataset=st.sampled_from([d for d in registry.names("dataset") if d != "csv"]),
    n_points=st.integers(2, 60),
    noise=st.floats(0.0, 5.0),
    test_fraction=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**31 - 1),
    model=st.sampled_from(registry.names("model")),
    degree=st.integers(1, 12),
    hidden=st.lists(st.integers(1, 16), min_size=1, max_size=4).map(tuple),
    activation=st.sampled_from(registry.names("activation")),
    optimizer=st.sampled_from(registry.names("optimizer")),
    lr=st.floats(1e-5, 10.0),
    momentum=st.floats(0.0, 0.99),
    weight_decay=st.floats(0.0, 1.0),
    batch_size=st.integers(0, 80),
    loss=st.sampled_from(registry.names("loss")),
    steps=st.integers(1, 30),
    every=st.integers(1, 40),
)
small_points = st.lists(
    st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), min_size=2, max_size=40
).map(lambda rows: pd.DataFrame(rows, columns=["x", "y"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=small_configs, points=st.none() | small_points, lang=st.sampled_from(LANGS))
def test_any_config_script_run_in_process_prints_train_iters_losses(cfg, points, lang):
    # exec instead of a subprocess: the script imports only torch, already loaded here.
    script = export_script(cfg, points, lang=lang)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), mock.patch.object(sys, "argv", ["exported"]):
        exec(compile(script, "exported", "exec"), {"__name__": "__main__"})
    rows = [line.split() for line in out.getvalue().splitlines() if line.startswith("step ")]
    expected = [(s.step, repr(s.train_loss)) for s in train_iter(cfg, points)]
    assert [(int(row[1]), repr(float(row[3]))) for row in rows] == expected  # repr: nan == nan


def test_unknown_language_raises():
    with pytest.raises(ValueError, match="lang"):
        export_script(FitConfig(), lang="fr")


def test_both_languages_have_the_same_texts_and_placeholders():
    def placeholders(text: str) -> set[str]:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}

    en, zh = script_catalog("en"), script_catalog("zh")
    assert en.keys() == zh.keys()
    for key, text in en.items():
        assert placeholders(zh[key]) == placeholders(text), key


# English words a Chinese script may still show: names of things, as the tutorial writes them.
NAMES = {"PyTorch", "FitLab", "MSE", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Huber", "ReLU"}
NAMES |= {"python", "fitlab_step", "pt", "sin", "exp"}  # a command line, a file name, formulas
NAMES |= {"BFGS", "strong_wolfe"}  # L-BFGS, and the value of its line_search_fn argument


def prose(script: str) -> list[str]:
    """Every comment, docstring and string constant of the script: what a reader reads."""
    tokens = tokenize.generate_tokens(io.StringIO(script).readline)
    texts = [t.string for t in tokens if t.type == tokenize.COMMENT]
    tree = ast.parse(script)
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    return texts + [v for v in strings if isinstance(v, str)]


def code_names(script: str, cfg: FitConfig) -> set[str]:
    """Identifiers the script's code uses, and the config's field names and values."""
    names = set()
    for node in ast.walk(ast.parse(script)):
        for attr in ("id", "attr", "arg", "name"):
            if isinstance(getattr(node, attr, None), str):
                names.add(getattr(node, attr))
    return names | {f.name for f in dataclasses.fields(cfg)} | {str(v) for v in vars(cfg).values()}


@pytest.mark.parametrize("name", [*CASES, "diverging"])
def test_chinese_script_has_no_english_words(name):
    cfg, points = {**CASES, "diverging": (DIVERGING, None)}[name]
    script = export_script(cfg, points, lang="zh")
    known = code_names(script, cfg) | NAMES
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", " ".join(prose(script)))
    math_names = re.compile(r"[A-Za-z](_\w*)?")  # x, y_hat, P_1, w_k: symbols, not words
    assert {w for w in words if w not in known and not math_names.fullmatch(w)} == set()
    assert re.search("[\u4e00-\u9fff]", script)


@pytest.mark.parametrize("name", ZH_CASES)
def test_chinese_script_prints_the_english_scripts_losses(name, outputs):
    assert step_lines(outputs[f"zh-{name}"]) == step_lines(outputs[name])


def test_chinese_script_with_weights_prints_the_english_scripts_losses(outputs):
    name = "uploaded-cars-test-split"
    zh, en = outputs[f"zh-weights-{name}"], outputs[f"weights-{name}"]
    assert zh.error is None, zh.error
    assert zh.stdout.splitlines()[-1] == en.stdout.splitlines()[-1]


def test_chinese_script_says_it_diverged_in_chinese(outputs):
    out = outputs["zh-diverging"].stdout
    step = printed(outputs["zh-diverging"])[-1][0]
    assert script_catalog("zh")["diverged"].format(step=step) in out
    assert "diverged" not in out


def test_chinese_scripts_help_is_in_chinese(outputs):
    out = outputs["zh-help"]
    assert out.error is None, out.error
    flat = "".join(out.stdout.split())  # argparse wraps the help to the terminal
    assert "".join(script_catalog("zh")["weights_help"].split()) in flat
