"""Text alternatives for the live charts: one sentence per frame, in the page's language.

A screen reader cannot see the fit chart or the loss chart; the page reads this sentence
instead ("Step 1200 of 5000; training loss 0.0123, falling; the curve is close to the points.").
Pure functions of a frame's numbers and a catalog, so they are tested without a server.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

# How well the curve fits, as the share of the points' spread it leaves unexplained
# (1 - R²: the curve's squared error over a flat line's at the mean). On the blog's parabola
# the noise alone leaves about 0.04, so "close" is reachable on noisy data; the untrained
# network (a nearly flat line) sits near 1.
CLOSE = 0.15
ROUGH = 0.5
# A loss that moved less than this share since the previous frame reads as "about the same".
STEADY = 0.01


def unexplained(y: Sequence[float] | np.ndarray, y_hat: Sequence[float] | np.ndarray) -> float:
    """1 - R²: the curve's squared error over that of a flat line at the points' mean.

    y, y_hat: the training points' values and the model's at the same x, same length.
    0 for a perfect fit, 1 for a flat line at the mean, above 1 for worse; inf for a curve
    that is not finite anywhere it is needed. Points that do not vary count any error as inf.
    """
    y, y_hat = np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float)
    if y.shape != y_hat.shape or not len(y):
        raise ValueError(
            f"y and y_hat must have one same, non-zero length; got {y.shape}, {y_hat.shape}"
        )
    error = float(np.sum((y_hat - y) ** 2))
    spread = float(np.sum((y - y.mean()) ** 2))
    if not math.isfinite(error):
        return math.inf
    if spread == 0:
        return 0.0 if error == 0 else math.inf
    return error / spread


def fit_words(T: Mapping[str, str], y, y_hat) -> str:
    """How close the curve is to the points, in words."""
    share = unexplained(y, y_hat)
    if share <= CLOSE:
        return T["a11y_close"]
    if share <= ROUGH:
        return T["a11y_rough"]
    return T["a11y_far"]


def trend_words(T: Mapping[str, str], loss: float, previous: float | None) -> str:
    """Whether the loss fell, rose or held since the previous frame (None: the first one)."""
    if previous is None or not (math.isfinite(previous) and math.isfinite(loss)):
        return T["a11y_start"]
    if abs(loss - previous) <= STEADY * max(abs(previous), 1e-12):
        return T["a11y_steady"]
    return T["a11y_falling"] if loss < previous else T["a11y_rising"]


def number(v: float) -> str:
    """A loss as the page's metrics print it: four significant digits."""
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def summary(
    T: Mapping[str, str],
    *,
    step: int,
    steps: int,
    loss: float,
    previous: float | None = None,
    y=None,
    y_hat=None,
    test_loss: float | None = None,
    diverged: bool = False,
) -> str:
    """One frame as a sentence: the step, the training loss and its trend, how close the fit is.

    loss: the frame's training loss; previous: the previous frame's (None on the first frame).
    y, y_hat: the training points and the model there (Snapshot.fitted), for the fit's words;
    without them the sentence leaves the fit out. test_loss: added when the run holds points
    out. diverged: the run blew up at `step` (the page says why elsewhere).
    """
    if diverged:
        return T["a11y_diverged"].format(step=step, steps=steps)
    parts = {
        "step": step,
        "steps": steps,
        "loss": number(loss),
        "trend": trend_words(T, loss, previous),
    }
    fit = fit_words(T, y, y_hat) if y is not None and y_hat is not None else None
    if test_loss is not None:
        parts["test"] = number(test_loss)
        text = T["a11y_summary_test"].format(**parts)
    else:
        text = T["a11y_summary"].format(**parts)
    if fit is None:
        return T["a11y_sentence"].format(summary=text)
    return T["a11y_with_fit"].format(summary=text, fit=fit)


# The page's language as <html lang> gives it (BCP 47): screen readers pick their voice by it,
# and Chromium offers to translate a page whose text does not match it. FitLab's Chinese is
# simplified, as written in mainland China.
HTML_LANG: Mapping[str, str] = MappingProxyType({"en": "en", "zh": "zh-CN"})
