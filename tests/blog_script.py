"""The blog's two scripts in current PyTorch (no Variable, no plotting), as a second computation.

Kept apart from fitcore on purpose: tests compare fitcore.train_iter against this loop.
"""

import torch
import torch.nn.functional as F


class Net(torch.nn.Module):
    def __init__(self, n_feature, n_hidden, n_output):
        super().__init__()
        self.hidden = torch.nn.Linear(n_feature, n_hidden)
        self.predict = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.predict(F.relu(self.hidden(x)))


def blog_losses(example: str, seed: int) -> dict[int, float]:
    """The losses the blog's script prints, {step: loss}, when started with manual_seed(seed).

    Uses the global RNG exactly as the blog does, so call it only from tests.
    """
    steps, every = {"linear": (100, 20), "quadratic": (5000, 100)}[example]
    torch.manual_seed(seed)
    x = torch.unsqueeze(torch.linspace(-1, 1, 200), dim=1)
    if example == "linear":
        y = 2 * x + 0.5 * torch.rand(x.size()) + 5
    else:
        y = x**2 + 0.2 * torch.rand(x.size())
    net = Net(1, 10, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    loss_func = torch.nn.MSELoss()
    printed = {}
    for step in range(steps):
        loss = loss_func(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % every == 0:
            printed[step] = loss.item()
    return printed
