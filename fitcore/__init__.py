"""fitcore: the UI-free core of FitLab. Never imports streamlit."""

from fitcore.advice import suggest_lr
from fitcore.animation import animate
from fitcore.codegen import export_script
from fitcore.config import LIMITS, PRESETS, FitConfig
from fitcore.explain import ExplainError, StepExplained, explain_step
from fitcore.sweeps import SweepError, ensemble, sweep
from fitcore.train import Snapshot, train_iter

__all__ = [
    "LIMITS",
    "PRESETS",
    "ExplainError",
    "FitConfig",
    "Snapshot",
    "StepExplained",
    "SweepError",
    "animate",
    "ensemble",
    "explain_step",
    "export_script",
    "suggest_lr",
    "sweep",
    "train_iter",
]
