"""The learning rate suggested after divergence is checked by training with it."""

import dataclasses

from fitcore import PRESETS, FitConfig, train_iter
from fitcore.advice import lr_ladder, suggest_lr


def test_ladder_is_1_2_5_below_the_rate():
    assert lr_ladder(10.0)[:4] == [5.0, 2.0, 1.0, 0.5]
    assert lr_ladder(0.05)[:3] == [0.02, 0.01, 0.005]
    assert lr_ladder(0.05)[-1] == 1e-5


def test_suggested_rate_trains_the_whole_run_without_diverging():
    cfg = FitConfig(dataset="linear", noise=0.5, lr=10.0, steps=1000, every=100)
    assert list(train_iter(cfg))[-1].diverged
    lr = suggest_lr(cfg)
    assert lr < 10.0
    snaps = list(train_iter(dataclasses.replace(cfg, lr=lr)))
    assert not snaps[-1].diverged and snaps[-1].train_loss < snaps[0].train_loss


def test_suggestion_is_the_largest_stable_rung():
    cfg = dataclasses.replace(PRESETS["blog-linear"], lr=10.0)
    lr = suggest_lr(cfg)
    larger = [r for r in lr_ladder(10.0) if r > lr]
    for r in larger:  # every larger rung fails its trial
        snaps = list(train_iter(dataclasses.replace(cfg, lr=r, steps=100, every=100)))
        assert snaps[-1].diverged or snaps[-1].train_loss >= snaps[0].train_loss
