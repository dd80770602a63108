"""Sweep benchmark: a 12-degree capacity sweep against one run and 12 separate runs.

Run from the repository root: `python -m bench.sweep [--pairs N]`. The sweep (one stack of 12
polynomial runs, fitcore.sweeps.sweep) and one train_iter run of its largest degree alternate in one
process; the ratio of their CPU medians is the issue's target (at most 4x one run). Twelve
separate train_iter runs, what the sweep replaces, are timed too, and the same for a width
ladder of the network and a 20-seed ensemble.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

import torch

from bench.core import Stopwatch
from fitcore import FitConfig, train_iter
from fitcore.sweeps import LADDERS, ensemble, sweep

TARGET = 4.0
# The overfitting lesson's setting: few noisy points of a sine, a third held out.
POLY = FitConfig(
    dataset="sine", n_points=20, noise=0.6, test_fraction=0.3, model="poly", lr=0.5, steps=5000
)
# lr 0.02: width 128 diverges at 0.1, and a run that stops early would flatter the sweep
MLP = dataclasses.replace(POLY, model="mlp", activation="tanh", lr=0.02)


def cpu(work) -> float:
    with Stopwatch() as watch:
        work()
    return watch.seconds["cpu"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="timed pairs (at least 3)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name, cfg, field, one in [
        ("degree 1-12", POLY, "degree", dataclasses.replace(POLY, degree=12)),
        ("width 1-128", MLP, "width", dataclasses.replace(MLP, hidden=(128,))),
    ]:
        values = LADDERS[field][1]

        def stacked(cfg=cfg, field=field, values=values):
            points = list(sweep(cfg, field, values))
            assert not any(p.diverged for p in points), "a diverged run would flatter the sweep"

        def single(one=one):
            list(train_iter(one))

        def separate(cfg=cfg, field=field, values=values):
            for v in values:
                changed = {"degree": v} if field == "degree" else {"hidden": (v,)}
                list(train_iter(dataclasses.replace(cfg, **changed)))

        stacked(), single()  # warm-up
        pairs = []
        for i in range(max(args.pairs, 3)):
            a, b = (stacked, single) if i % 2 else (single, stacked)
            ta, tb = cpu(a), cpu(b)
            pairs.append((ta, tb) if a is stacked else (tb, ta))
        sweep_s = statistics.median(p[0] for p in pairs)
        one_s = statistics.median(p[1] for p in pairs)
        separate_s = cpu(separate)
        rows.append((f"sweep {name}, {len(values)} runs", sweep_s, one_s))
        rows.append((f"{len(values)} separate runs", separate_s, one_s))
        rows.append(
            (f"one run (largest, {one.hidden if field == 'width' else one.degree})", one_s, one_s)
        )

    k = 20
    ens_s = cpu(lambda: ensemble(MLP, k))
    one_s = cpu(lambda: list(train_iter(MLP)))
    seeds_s = cpu(lambda: [list(train_iter(dataclasses.replace(MLP, seed=s))) for s in range(k)])
    rows += [
        (f"ensemble of {k} seeds (1-10-1 tanh)", ens_s, one_s),
        (f"{k} separate runs", seeds_s, one_s),
    ]
    print(f"{POLY.steps} updates per run, {POLY.n_points} points, 1 thread, median CPU of pairs")
    print(f"{'':<40} {'cpu s':>8} {'x one run':>10}")
    for name, s, one in rows:
        print(f"{name:<40} {s:>8.3f} {s / one:>9.2f}x")
    ratio = rows[0][1] / rows[0][2]
    print(f"degree sweep / one run: {ratio:.2f}x (target <= {TARGET:.0f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
