"""Race benchmark: 8 learning rates of blog-quadratic in one race against one train_iter run.

Run from the repository root: `python -m bench.race [--pairs N]`. The race and a single
train_iter run of the same config alternate in one process; the ratio of their medians is the
issue's target (8 variants cost at most 2x one run). Eight separate train_iter runs, what the
race replaces, are timed after the first few pairs for reference. Wall clock and thread CPU
time are both reported (see bench/core.py on why CPU time is steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

import torch

from bench.core import CLOCKS, Stopwatch
from fitcore import PRESETS, train_iter
from fitcore.race import race_iter

TARGET = 2.0
# Eight rates around the blog's 0.05, none of which diverges: a diverged variant drops out of
# the batch and would make the race look cheaper than it is.
LRS = (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2)


def timed(run) -> tuple[dict[str, float], object]:
    """Seconds ({clock: s}) to pull every snapshot of `run()`, and the last snapshot."""
    with Stopwatch() as watch:
        for snap in run():
            last = snap
    return watch.seconds, last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="timed pairs (at least 5)")
    parser.add_argument("--separate", type=int, default=3, help="timings of 8 separate runs")
    parser.add_argument("--preset", default="blog-quadratic")
    args = parser.parse_args()
    torch.set_num_threads(1)  # design.md: ~10x faster than two threads for this tiny network
    cfg = PRESETS[args.preset]
    variants = [{"lr": lr} for lr in LRS]

    def race():
        return race_iter(cfg, variants)

    def single():
        return train_iter(cfg)

    def separate():
        for v in variants:
            yield from train_iter(dataclasses.replace(cfg, **v))

    timed(race)  # warm-up
    timed(single)
    race_s, single_s, separate_s = [], [], []
    for i in range(max(args.pairs, 5)):
        # alternate which goes first so a slow neighbour does not always land on the same side
        if i % 2:
            s, _ = timed(single)
            r, last = timed(race)
        else:
            r, last = timed(race)
            s, _ = timed(single)
        race_s.append(r)
        single_s.append(s)
        if i < args.separate:
            separate_s.append(timed(separate)[0])

    def median(runs, clock):
        return statistics.median(run[clock] for run in runs)

    steps = cfg.steps
    print(
        f"preset {args.preset}: {steps} updates, lr in {list(LRS)}, "
        f"{len(race_s)} alternating pairs, 1 thread"
    )
    print(f"{'median':<32} {'wall s':>8} {'cpu s':>8} {'cpu x one run':>14} {'cpu us/update':>14}")
    one = median(single_s, "cpu")
    for name, runs in [
        ("train_iter, one config", single_s),
        (f"race_iter, {len(LRS)} variants", race_s),
        (f"train_iter x {len(LRS)}, separately", separate_s),
    ]:
        wall, cpu = median(runs, "wall"), median(runs, "cpu")
        print(f"{name:<32} {wall:>8.3f} {cpu:>8.3f} {cpu / one:>13.2f}x {cpu / steps * 1e6:>14.1f}")
    print()
    for clock in CLOCKS:
        ratio = median(race_s, clock) / median(single_s, clock)
        pair_ratios = [r[clock] / s[clock] for r, s in zip(race_s, single_s, strict=True)]
        print(
            f"{clock:>4}: ratio race / one run {ratio:.2f}x (target <= {TARGET:.1f}x), "
            f"pair ratios {' '.join(f'{r:.2f}' for r in pair_ratios)}"
        )
    speedup = median(separate_s, "cpu") / median(race_s, "cpu")
    print(f"race vs {len(LRS)} separate runs: {speedup:.1f}x less cpu")
    print(f"diverged variants in the race: {sum(last.diverged)} of {len(LRS)}")
    print(f"final losses: {' '.join(f'{loss:.5f}' for loss in last.losses)}")
    ratio = median(race_s, "cpu") / median(single_s, "cpu")
    print("PASS (cpu)" if ratio <= TARGET else "OVER TARGET (cpu)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
