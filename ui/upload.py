"""The CSV uploader in the sidebar: a good file replaces the data, a bad one changes nothing."""

from __future__ import annotations

import streamlit as st

from fitcore.upload import MAX_ROWS, UploadError, numeric_columns, read_table, table_points
from ui.common import escape_md
from ui.state import PageState


def upload_ui(state: PageState, T) -> None:
    file = st.file_uploader(
        T["upload"],
        type=["csv", "txt", "tsv"],
        key="upload",
        help=T["upload_help"].format(rows=MAX_ROWS),
    )
    if file is None:
        return
    try:
        table = read_table(file.getvalue())
        columns = numeric_columns(table)
        x_col = y_col = None
        if len(columns) > 2:
            x_col = st.selectbox(T["x_column"], columns, index=0, key="x_column")
            y_col = st.selectbox(T["y_column"], columns, index=1, key="y_column")
        points = table_points(table, x_col, y_col)
    except UploadError as e:
        params = {k: escape_md(v) for k, v in e.params.items()}
        st.error(T[f"upload_{e.code}"].format(**params) + " " + T["upload_kept"])
        return
    except ValueError as e:  # table_points promises UploadError; keep the page safe regardless
        st.error(escape_md(e) + " " + T["upload_kept"])
        return
    state.uploaded = (file.name, points)
    st.caption(T["upload_ok"].format(rows=len(points), name=escape_md(file.name)))
    dropped = points.attrs.get("dropped", 0)
    if dropped:
        st.caption(T["upload_dropped"].format(dropped=dropped))
    st.caption(T["upload_scaled"])
