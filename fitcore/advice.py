"""Advice for a diverged run: the learning rate on a 1-2-5 ladder whose run ends lowest."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd

from fitcore.config import LIMITS, FitConfig
from fitcore.race import race_iter
from fitcore.train import train_iter

# Trials run the whole run up to this many updates: long enough that a rate which only looks
# good early (a ReLU net whose units all die at lr 0.5 first drops, then sticks at a flat line)
# is judged by where it ends, short enough to try a dozen rungs in about a second.
TRIAL_STEPS = 2000
RUNGS = 12  # rungs tried below the failing rate: four decades of 1-2-5


def lr_ladder(below: float) -> list[float]:
    """1, 2, 5 times powers of ten strictly below `below`, largest first, down to LIMITS."""
    lo = LIMITS["lr"][0]
    out = []
    exp = math.floor(math.log10(below))
    while 10.0**exp >= lo:
        for m in (5, 2, 1):
            lr = float(f"{m}e{exp}")
            if lo <= lr < below:
                out.append(lr)
        exp -= 1
    return out


def trial_loss(cfg: FitConfig, lr: float, points: pd.DataFrame | None = None) -> float:
    """The training loss where cfg's run with rate `lr` ends (inf when it diverges).

    The run is replayed with the same data and initial weights (same seed) for
    min(cfg.steps, TRIAL_STEPS) updates.
    """
    last = None
    for last in train_iter(dataclasses.replace(_trial(cfg), lr=lr), points):  # noqa: B007 - the last snapshot is the answer
        pass
    assert last is not None  # train_iter always yields step 0
    return math.inf if last.diverged else last.train_loss


def suggest_lr(cfg: FitConfig, points: pd.DataFrame | None = None) -> float:
    """The rate below cfg.lr, of the 1-2-5 ladder, whose run ends with the lowest loss.

    Checked by training, not guessed: each of the RUNGS rates below cfg.lr replays the run
    for min(cfg.steps, TRIAL_STEPS) updates from the same data and initial weights. A tie
    goes to the larger rate. The tutorial's 0.05 is on the ladder whenever cfg.lr is above
    it, so the suggestion never ends worse than 0.05 would. The smallest rung when every
    trial diverges.
    """
    rungs = lr_ladder(cfg.lr)[:RUNGS]
    if not rungs:
        return LIMITS["lr"][0]
    if cfg.batch_size == 0:
        losses = _raced_losses(cfg, rungs, points)
    else:  # a race needs full batches; minibatch runs are tried one by one
        losses = [trial_loss(cfg, lr, points) for lr in rungs]
    best = min(range(len(rungs)), key=lambda i: (losses[i], i))
    return rungs[best]


def _raced_losses(cfg: FitConfig, rungs: list[float], points: pd.DataFrame | None) -> list[float]:
    """trial_loss of every rung, all trained in one batched pass (about 2x one run's time)."""
    last = None
    for last in race_iter(_trial(cfg), [{"lr": lr} for lr in rungs], points):  # noqa: B007
        pass
    assert last is not None  # race_iter always yields step 0
    return [
        math.inf if gone or not math.isfinite(loss) else loss
        for loss, gone in zip(last.losses, last.diverged, strict=True)
    ]


def _trial(cfg: FitConfig) -> FitConfig:
    """cfg cut to min(cfg.steps, TRIAL_STEPS) updates, with a snapshot only at its ends."""
    steps = min(cfg.steps, TRIAL_STEPS)
    return dataclasses.replace(cfg, steps=steps, every=steps)
