"""The server's first import of FitLab's modules, done once and in one thread."""

from __future__ import annotations

import importlib

import streamlit as st

# What the page imports, fitcore first. fitcore's package imports its submodules (advice imports
# race, which imports train), and Python's import locks do not make such a package safe to
# import from two threads at once: the second gets a partial module ("cannot import name
# '_steps' from partially initialized module 'fitcore.train'") or a KeyError. On a fresh server
# each browser that connects runs the page in its own thread, so a class opening the link
# together broke there.
MODULES = ("fitcore", "fitcore.i18n", "fitcore.train", "ui.common", "ui.state")


@st.cache_resource(show_spinner=False)
def load() -> bool:
    """Import MODULES; the cache lets one thread do it while the others wait for it."""
    for name in MODULES:
        importlib.import_module(name)
    return True
