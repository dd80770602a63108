"""A student's edits of the points: remove clicked points, add outliers, undo."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fitcore.config import points_digest, run_key
from fitcore.data import edit, outlier
from fitcore.player import SharedRun
from ui.common import shared_run
from ui.state import MAX_ADDED, Edits, PageState


def run_points(state: PageState) -> pd.DataFrame | None:
    """The points to train on instead of generated ones: an upload, and a student's edits."""
    cfg = state.cfg
    base = None
    if cfg.dataset == "csv":
        if state.uploaded is None:
            return None
        base = state.uploaded[1]
    data: tuple[object, ...] = (cfg.dataset, cfg.n_points, cfg.noise, cfg.seed)
    if base is not None:
        data = (cfg.dataset, points_digest(base))
    edits = state.edit_data(data)  # edits of other data no longer apply
    if not edits.any:
        return base
    if base is None:  # generated points, as the unedited run draws them
        base = shared_run(run_key(cfg), cfg).scene.points
    return edit(base, edits.removed, edits.added)


def edit_points(state: PageState, T, run: SharedRun, selection) -> None:
    """Buttons under the fit chart: remove the clicked points, add an outlier, undo edits."""
    picked = [
        row["id"] for row in (selection or {}).get("selection", {}).get("picked", []) if "id" in row
    ]
    pts = run.scene.points
    edits = state.edits
    with st.container(horizontal=True, key="edit_buttons"):
        remove = st.button(
            T["remove_points"].format(n=len(picked)), key="remove_points", disabled=not picked
        )
        add = st.button(T["add_outlier"], key="add_outlier", disabled=len(edits.added) >= MAX_ADDED)
        undo = st.button(T["undo_edits"], key="undo_edits", disabled=not edits.any)
    st.caption(T["edit_hint"])
    if remove:
        chosen = pts.loc[pts.index.isin(picked)]
        removed = set(zip(chosen["x"], chosen["y"], strict=True))
        state.edits = Edits(edits.data, edits.removed | removed, edits.added)
    elif add:
        spot = outlier(pts, run.scene.x_domain, len(edits.added))
        state.edits = Edits(edits.data, edits.removed, (*edits.added, spot))
    elif undo:
        state.edits = Edits(edits.data)
    if remove or add or undo:
        st.rerun()  # the whole page: the edited points make a new run
