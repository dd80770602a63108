"""Baseline: the blog's second script (y = x^2 + 0.2 U, 1-10-1 ReLU, SGD lr 0.05, 5000 steps).

It draws the blog's 50 frames (every 100 steps: clear, scatter, red curve, loss text) with the Agg
backend and `fig.canvas.draw()` in place of `plt.pause(0.1)`, so nothing waits: what remains is
the work the blog's loop does. Written in current PyTorch (plain tensors, no Variable).

Run from the repository root: `python bench/blog_loop.py [--seed S] [--threads N]`; prints one
JSON line {"seconds": ..., "frames": 50, "loss": ...}. bench/page.py runs it in a subprocess so
its timing is not disturbed by the browser driver's threads.
"""

from __future__ import annotations

import argparse
import json
import time

import matplotlib

matplotlib.use("Agg")  # before pyplot: no window, no event loop

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class Net(torch.nn.Module):
    """The blog's Net(n_feature=1, n_hidden=10, n_output=1)."""

    def __init__(self, n_feature: int, n_hidden: int, n_output: int):
        super().__init__()
        self.hidden = torch.nn.Linear(n_feature, n_hidden)
        self.predict = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.predict(F.relu(self.hidden(x)))


def blog_loop(seed: int, steps: int = 5000, every: int = 100) -> tuple[float, int, float]:
    """Seconds from making the data to the last drawn frame, frames drawn, last printed loss."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    x = torch.unsqueeze(torch.linspace(-1, 1, 200), dim=1)  # shape (200, 1)
    y = x**2 + 0.2 * torch.rand(x.size())
    net = Net(n_feature=1, n_hidden=10, n_output=1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    loss_func = torch.nn.MSELoss()
    fig, ax = plt.subplots()
    frames, last = 0, float("nan")
    for step in range(steps):
        # forward
        prediction = net(x)
        loss = loss_func(prediction, y)
        # backward
        optimizer.zero_grad()
        loss.backward()
        # update (sgd)
        optimizer.step()
        if step % every == 0:
            last = loss.item()
            ax.cla()
            ax.scatter(x.numpy(), y.numpy())
            ax.plot(x.numpy(), prediction.detach().numpy(), "r-", lw=3)
            ax.text(0.5, 0, f"Loss={last:.4f}", fontdict={"size": 10, "color": "red"})
            fig.canvas.draw()  # what plt.pause(0.1) would draw, without the 0.1 s wait
            frames += 1
    seconds = time.perf_counter() - start
    plt.close(fig)
    return seconds, frames, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads; 1 is the faster (stricter) baseline on a busy 2-core machine",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seconds, frames, last = blog_loop(args.seed)
    print(json.dumps({"seconds": seconds, "frames": frames, "loss": last}))


if __name__ == "__main__":
    main()
