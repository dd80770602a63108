"""Models built from a FitConfig, initialised from the run's generator, not the global RNG."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from fitcore import registry
from fitcore.config import FitConfig


class Legendre(nn.Module):
    """x (n, 1) -> features P_1(x) .. P_d(x) (n, d), Legendre polynomials.

    Plain monomials x, x², ..., x^d are nearly collinear on [-1, 1] (their Gram matrix is a
    Hilbert-like matrix, condition number ~1e7 at d = 8), so SGD would crawl along the
    flattest direction. Legendre polynomials are orthogonal on [-1, 1]: on evenly spread
    points the features are close to uncorrelated with variance 1/(2k+1), the condition number
    grows only like 2d+1, and plain SGD converges at lr near 0.5. `poly_coefficients` turns the
    learned weights back into ordinary coefficients c0..cd.
    """

    def __init__(self, degree: int):
        super().__init__()
        self.degree = degree

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = [torch.ones_like(x), x]
        for k in range(1, self.degree):
            # Bonnet's recursion: (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}
            p.append(((2 * k + 1) * x * p[k] - k * p[k - 1]) / (k + 1))
        return torch.cat(p[1 : self.degree + 1], dim=1)

    def extra_repr(self) -> str:
        return f"degree={self.degree}"


def _linear(n_in: int, n_out: int, g: torch.Generator) -> nn.Linear:
    """nn.Linear initialised exactly as reset_parameters() does, but drawing from `g`."""
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out)  # no draw from the global RNG
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=g)
    bound = 1 / math.sqrt(n_in)
    nn.init.uniform_(layer.bias, -bound, bound, generator=g)
    return layer


def build_model(cfg: FitConfig, g: torch.Generator) -> nn.Sequential:
    """The model for `cfg`, its layers initialised in order from `g` (the blog's order)."""
    if cfg.model == "linear":
        return nn.Sequential(_linear(1, 1, g))
    if cfg.model == "poly":
        return nn.Sequential(Legendre(cfg.degree), _linear(cfg.degree, 1, g))
    layers: list[nn.Module] = []
    width = 1
    for h in cfg.hidden:
        layers += [_linear(width, h, g), activation(cfg.activation)]
        width = h
    layers.append(_linear(width, 1, g))
    return nn.Sequential(*layers)


def activation(name: str) -> nn.Module:
    """The torch.nn module registry.ACTIVATIONS names, e.g. nn.ReLU()."""
    return getattr(nn, registry.get("activation", name).module)()


def describe(model: nn.Module) -> tuple[str, int]:
    """The `print(net)` text and the number of trainable parameters."""
    return str(model), sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe_run(cfg: FitConfig) -> tuple[str, int]:
    """describe() of the model cfg's run trains (its own generator: no global draw)."""
    return describe(build_model(cfg, torch.Generator().manual_seed(cfg.seed)))


def poly_coefficients(
    legendre_weights: np.ndarray, bias: float, x_shift: float = 0.0, x_scale: float = 1.0
) -> np.ndarray:
    """Coefficients c0..cd, in original x units, of bias + sum w_k P_k((x - shift) / scale)."""
    leg = np.concatenate([[bias], legendre_weights])
    p = np.polynomial.Polynomial(np.polynomial.legendre.leg2poly(leg))
    if x_shift != 0.0 or x_scale != 1.0:
        p = p(np.polynomial.Polynomial([-x_shift / x_scale, 1 / x_scale]))
    return p.coef


def equation(params: dict[str, float]) -> str:
    """LaTeX for the fitted formula: w, b (linear) or c0..cd (polynomial)."""
    if "w" in params:
        return rf"\hat y = {params['w']:.4f}\,x {params['b']:+.4f}"
    terms = []
    for k in range(len(params)):
        power = "" if k == 0 else ("x" if k == 1 else f"x^{{{k}}}")
        terms.append(f"{params[f'c{k}']:+.3f}{power}")
    return r"\hat y = " + " ".join(terms).lstrip("+")
