"""Schedules and L-BFGS: train_iter and explain_step against a plain PyTorch loop written here.

The loop below names torch's classes and arguments itself (not through the registry or
train.make_optimizer), so a wrong registry entry shows up as a different loss.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from fitcore import FitConfig, explain_step, train_iter
from fitcore.models import build_model
from fitcore.train import prepare


def plain_loop(cfg: FitConfig, make_opt, make_schedule=None) -> list[tuple[int, float]]:
    """(step, all points' loss) at every step, the run trained the textbook way."""
    d, g = prepare(cfg)  # the run's points and generator: the data is not what is tested here
    net = build_model(cfg, g)
    opt = make_opt(net.parameters())
    schedule = make_schedule(opt) if make_schedule else None
    loss_func = nn.MSELoss()
    losses = []
    for step in range(cfg.steps + 1):
        loss = loss_func(net(d.x_train), d.y_train)
        losses.append((step, loss.item()))
        if step == cfg.steps:
            break

        def closure():
            opt.zero_grad()
            value = loss_func(net(d.x_train), d.y_train)
            value.backward()
            return value

        opt.zero_grad()
        loss.backward()
        if isinstance(opt, torch.optim.LBFGS):
            opt.step(closure)
        else:
            opt.step()
        if schedule is not None:
            schedule.step()
    return losses


def run_losses(cfg: FitConfig) -> list[tuple[int, float]]:
    return [(s.step, s.train_loss) for s in train_iter(dataclasses.replace(cfg, every=1))]


BASE = FitConfig(dataset="sine", steps=300, every=50, lr=0.1)
SCHEDULES = {
    "step": lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[150, 225], gamma=0.1),
    "cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=300),
    "warmup": lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.01, total_iters=30),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_each_schedule_equals_torchs_scheduler_in_a_plain_loop(name):
    cfg = dataclasses.replace(BASE, schedule=name)
    expected = plain_loop(cfg, lambda p: torch.optim.SGD(p, lr=0.1), SCHEDULES[name])
    assert run_losses(cfg) == expected  # the same operations: bit for bit
    assert expected != plain_loop(BASE, lambda p: torch.optim.SGD(p, lr=0.1))  # it did change


def test_l_bfgs_equals_torchs_lbfgs_in_a_plain_loop():
    cfg = dataclasses.replace(BASE, optimizer="lbfgs", lr=1.0, steps=40)

    def lbfgs(params):
        return torch.optim.LBFGS(
            params, lr=1.0, max_iter=1, max_eval=25, line_search_fn="strong_wolfe"
        )

    expected = plain_loop(cfg, lbfgs)
    assert run_losses(cfg) == expected
    # and it is the fast optimizer it is said to be: 40 steps beat 300 of SGD
    sgd = run_losses(BASE)[-1][1]
    assert expected[-1][1] < sgd


def test_l_bfgs_with_a_schedule_equals_the_plain_loop():
    cfg = dataclasses.replace(BASE, optimizer="lbfgs", lr=1.0, steps=40, schedule="cosine")

    def lbfgs(params):
        return torch.optim.LBFGS(
            params, lr=1.0, max_iter=1, max_eval=25, line_search_fn="strong_wolfe"
        )

    cosine = lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=40)  # noqa: E731
    assert run_losses(cfg) == plain_loop(cfg, lbfgs, cosine)


@pytest.mark.parametrize(
    ("name", "step", "factor"),
    [("step", 149, 1.0), ("step", 150, 0.1), ("step", 230, 0.01), ("warmup", 0, 0.01)],
)
def test_explain_uses_the_lr_the_schedule_gives_that_update(name, step, factor):
    # a small lr: far from the fit at every step, so each update is well above float32's grain
    cfg = dataclasses.replace(BASE, schedule=name, model="linear", dataset="linear", lr=0.001)
    e = explain_step(cfg, step)
    assert e.lr == pytest.approx(0.001 * factor, rel=1e-12)
    for key, g in e.grad.items():  # plain SGD: the update is -lr(step) * gradient
        assert np.abs(np.ravel(e.update[key])).min() > 1e-6
        np.testing.assert_allclose(np.ravel(e.update[key]), -e.lr * np.ravel(g), rtol=2e-3)
    snaps = list(train_iter(dataclasses.replace(cfg, every=1)))
    assert e.after.train_loss == snaps[step + 1].train_loss


def test_explain_takes_an_l_bfgs_step_apart_as_the_run_took_it():
    cfg = dataclasses.replace(BASE, optimizer="lbfgs", lr=1.0, steps=20, model="poly", degree=4)
    snaps = list(train_iter(dataclasses.replace(cfg, every=1)))
    for step in (0, 5):
        e = explain_step(cfg, step)
        assert (e.before.train_loss, e.after.train_loss) == (
            snaps[step].train_loss,
            snaps[step + 1].train_loss,
        )
        assert e.state == {}  # its history is of all parameters at once, not shown per one
        assert math.isfinite(e.lr) and e.hyper["max_iter"] == 1.0


def test_l_bfgs_ignores_weight_decay_as_torch_does():
    cfg = dataclasses.replace(BASE, optimizer="lbfgs", lr=1.0, steps=10)
    assert run_losses(dataclasses.replace(cfg, weight_decay=0.5)) == run_losses(cfg)
