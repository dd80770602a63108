"""explain_step's own cost against one training step plus one snapshot, in the same process.

Run from the repository root: `python -m bench.explain [--rounds N] [--step S]`. For each
config the run is replayed to `step` (not timed: the replay is train.py's loop, whose cost
bench/core.py measures), then explain_step's own work on that live state is timed
(`explain._explain`: the snapshot at step, the per-point gradients, the tables, the update and
the snapshot at step + 1). The baseline, timed on a second replay of the same run at the same
step, is what train_iter spends on a step that it snapshots: one update with the next step's
draw, forward and backward (`next` on train.py's loop), and one `_snapshot_live`. The two
alternate, `rounds` times each; the medians are compared, in this thread's CPU time.
Target: explain's own work <= 3x the baseline.

Where the ratio comes from: explain's work holds the baseline's (its update and the snapshot
at step + 1) plus the snapshot at step, so it starts at 1 + S / (S + U) for a snapshot S and
an update U, about 1.7x here; its own per-point pass and two tables add the rest. Each
snapshot is about half pandas building the curve's table, most of that the str column
labels, which pandas 3 makes through pyarrow (slow when a replay has left it out of cache).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import time

import torch

from fitcore import PRESETS, FitConfig, explain_step
from fitcore import explain as ex
from fitcore.train import _snapshot_live, prepare

TARGET = 3.0

CONFIGS = {
    "blog-quadratic (mlp 1-10-1, 200 points)": PRESETS["blog-quadratic"],
    "line, 200 points, minibatch 32, adam": FitConfig(
        dataset="linear", model="linear", optimizer="adam", batch_size=32, steps=1000
    ),
    "poly degree 5, 200 points, sgd+momentum": FitConfig(
        dataset="sine", model="poly", degree=5, lr=0.3, momentum=0.9, steps=1000
    ),
}


def explain_seconds(cfg: FitConfig, step: int) -> float:
    """CPU seconds of explain_step's work past the replay to `step`."""
    d, g = prepare(cfg)
    run, live = ex._replay(cfg, d, g, step)
    grid = d.grid()
    start = time.thread_time()
    ex._explain(cfg, run, live, grid)
    return time.thread_time() - start


def baseline_seconds(cfg: FitConfig, step: int) -> float:
    """CPU seconds of one training step plus one snapshot at the same point of the run."""
    d, g = prepare(cfg)
    run, _ = ex._replay(cfg, d, g, step)
    grid = d.grid()
    start = time.thread_time()
    live = next(run)  # the update, then the next draw, forward and backward
    value = live.loss.item()
    _snapshot_live(cfg, live, value, not math.isfinite(value), grid, False)
    return time.thread_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed pairs per config")
    parser.add_argument("--step", type=int, default=20, help="the step explained")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the page trains (train.one_thread)
    print(f"explain_step's own work vs one step + one snapshot: step {args.step}, 1 thread, cpu")
    print(f"{'config':<42} {'explain ms':>10} {'step+snap ms':>12} {'ratio':>6}")
    worst = 0.0
    for name, cfg in CONFIGS.items():
        cfg = dataclasses.replace(cfg, steps=max(cfg.steps, args.step + 1))
        for _ in range(3):  # warm-up: allocator, autograd and pandas code paths
            explain_seconds(cfg, args.step)
            baseline_seconds(cfg, args.step)
        own, base = [], []
        for r in range(args.rounds):
            # alternate which goes first so a busy neighbour does not always hit the same side
            if r % 2:
                own.append(explain_seconds(cfg, args.step))
                base.append(baseline_seconds(cfg, args.step))
            else:
                base.append(baseline_seconds(cfg, args.step))
                own.append(explain_seconds(cfg, args.step))
        own_ms, base_ms = statistics.median(own) * 1e3, statistics.median(base) * 1e3
        ratio = own_ms / base_ms
        worst = max(worst, ratio)
        print(f"{name:<42} {own_ms:>10.3f} {base_ms:>12.3f} {ratio:>5.2f}x")
    verdict = "PASS" if worst <= TARGET else "OVER TARGET"
    print(f"{verdict}: worst ratio {worst:.2f}x (target <= {TARGET:.1f}x)")
    walk(args.rounds)
    return 0


def walk(rounds: int, late: int = 4000) -> None:
    """The page's slow motion: explain_step(late + 1) from scratch vs an Explainer that has
    just explained `late` walking on one step (what a Step with the panel open costs)."""
    cfg = PRESETS["blog-quadratic"]
    fresh, walked = [], []
    for _ in range(max(3, rounds // 10)):
        start = time.thread_time()
        explain_step(cfg, late + 1)
        fresh.append(time.thread_time() - start)
        walker = ex.Explainer(cfg)
        walker.at(late)
        start = time.thread_time()
        walker.at(late + 1)
        walked.append(time.thread_time() - start)
    f, w = statistics.median(fresh) * 1e3, statistics.median(walked) * 1e3
    print(
        f"blog-quadratic, step {late + 1}: explain_step {f:.0f} ms, Explainer walking on "
        f"{w:.1f} ms CPU ({w / f:.4f}x)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
