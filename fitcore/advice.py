"""Advice for a diverged run: the largest learning rate below it that trains stably."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd

from fitcore.config import LIMITS, FitConfig
from fitcore.train import train_iter

TRIAL_STEPS = 300  # long enough for a too-large rate to blow up, short enough to try several


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


def suggest_lr(cfg: FitConfig, points: pd.DataFrame | None = None) -> float:
    """The largest rate on the 1-2-5 ladder below cfg.lr whose short trial run lowers the loss.

    Trials replay the same data and initial weights (same seed) for TRIAL_STEPS updates, so the
    suggestion is checked, not guessed. Falls back to the smallest allowed rate.
    """
    steps = min(cfg.steps, TRIAL_STEPS)
    for lr in lr_ladder(cfg.lr):
        trial = dataclasses.replace(cfg, lr=lr, steps=steps, every=steps)
        first = last = None
        for snap in train_iter(trial, points):
            first = snap if first is None else first
            last = snap
        if not last.diverged and last.train_loss < first.train_loss:
            return lr
    return LIMITS["lr"][0]
