"""Chart redraw benchmark: what one frame's two charts cost on the server, old way and new way.

Run from the repository root: `python bench/redraw.py [--repeats N]`. No server, no browser:
both ways run in this process, alternating, on the same frames of blog-quadratic (and of a
polynomial fit with the least-squares layers), and the medians are compared.

- baseline, what `st.altair_chart(chart)` does per frame: build the Altair charts
  (charts.fit_chart, charts.loss_chart), compile them (`to_dict`: Altair's schema validation),
  and turn every table into Arrow IPC bytes through Streamlit's own pandas conversion.
- page, what ui.live.live_chart does per frame: the layer tables alone
  (charts.fit_data, charts.loss_data), the cached compiled spec copied, and each table turned
  into Arrow IPC bytes from its columns (charts.arrow_table).

Both end in the same place: a spec and Arrow bytes per named dataset, which Streamlit then
puts in one protobuf message. Times are this thread's CPU time, per frame, with each way's
stages below it (Altair build, compile + validate, Arrow; layer tables, Arrow).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import statistics
import time

import pyarrow as pa
import torch
from streamlit import dataframe_util

from fitcore import PRESETS, charts
from fitcore.player import SharedRun


def arrow_bytes(table: pa.Table) -> bytes:
    """Streamlit's serialisation of a pyarrow Table (what it does with the page's tables)."""
    return dataframe_util.convert_anything_to_arrow_bytes(table)


def frame_inputs(run: SharedRun, frame, reference: bool):
    scene = run.scene
    fit = {
        "truth": scene.truth,
        "reference": scene.reference if reference else None,
        "units": None,
    }
    loss = {"log": True, "reference_loss": scene.reference_loss if reference else None}
    return scene.points, frame.curve, fit, run.history(frame.step), loss, run.cfg.steps


class Stages:
    """CPU seconds per named stage, summed over `with stages("name"):` blocks."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = time.thread_time()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.thread_time() - start


def baseline(run, frame, reference, stages: Stages):
    points, curve, fit, history, loss, steps = frame_inputs(run, frame, reference)
    scene = run.scene
    out = []
    with stages("Altair build"):
        built = (
            charts.fit_chart(
                points, curve, **fit, x_domain=scene.x_domain, y_domain=scene.y_domain
            ),
            charts.loss_chart(history, **loss, steps=steps),
        )
    for chart in built:
        with stages("compile + validate"):
            free, datasets = charts.split_data(chart)
            spec = charts.compile_spec(free)
        with stages("Arrow (pandas)"):
            blobs = {
                k: dataframe_util.convert_anything_to_arrow_bytes(v) for k, v in datasets.items()
            }
        out.append((spec, blobs))
    return out


def page(run, frame, reference, specs, stages: Stages):
    points, curve, fit, history, loss, _ = frame_inputs(run, frame, reference)
    out = []
    with stages("layer tables"):
        tables = (charts.fit_data(points, curve, **fit), charts.loss_data(history, **loss))
    for spec, data in zip(specs, tables, strict=True):
        with stages("Arrow (columns)"):
            blobs = {k: arrow_bytes(charts.arrow_table(v)) for k, v in data.items()}
        out.append(({**spec}, blobs))
    return out


def measure(name: str, cfg, reference: bool, repeats: int) -> None:
    run = SharedRun(cfg)
    frames = []
    while (nxt := run.after(frames[-1].step if frames else -1)) is not None:
        frames.append(nxt)
    spare = Stages()
    specs = [spec for spec, _ in baseline(run, frames[0], reference, spare)]  # compiled once
    # same tables both ways: the page's datasets decode to the baseline's columns and rows
    for (_, old), (_, new) in zip(
        baseline(run, frames[-1], reference, spare),
        page(run, frames[-1], reference, specs, spare),
        strict=True,
    ):
        assert old.keys() == new.keys(), (old.keys(), new.keys())
        for key in old:
            a = pa.ipc.open_stream(old[key]).read_all().to_pandas()
            b = pa.ipc.open_stream(new[key]).read_all().to_pandas()
            assert a.reset_index(drop=True)[list(b.columns)].equals(b), key
    times = {"baseline": [], "page": []}
    stages = {"baseline": Stages(), "page": Stages()}
    for _ in range(repeats):
        for label, fn in (
            ("baseline", lambda f: baseline(run, f, reference, stages["baseline"])),
            ("page", lambda f: page(run, f, reference, specs, stages["page"])),
        ):
            start = time.thread_time()
            for frame in frames:
                fn(frame)
            times[label].append((time.thread_time() - start) / len(frames) * 1000)
    old, new = statistics.median(times["baseline"]), statistics.median(times["page"])
    print(f"{name:<34} {old:8.2f} {new:8.2f}   {new / old:5.2f}x   ({len(frames)} frames)")
    per_frame = repeats * len(frames) / 1000  # seconds summed over all passes -> ms a frame
    for label, parts in stages.items():
        shares = ", ".join(f"{k} {v / per_frame:.2f}" for k, v in parts.seconds.items())
        print(f"    {label}: {shares}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="alternating passes over frames")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("ms of CPU per frame, both charts        baseline     page   ratio")
    quad = PRESETS["blog-quadratic"]
    measure("blog-quadratic (mlp)", quad, False, args.repeats)
    poly = dataclasses.replace(quad, model="poly", degree=3, lr=0.5)
    measure("poly, with least squares", poly, True, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
