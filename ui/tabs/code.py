"""How it works, the run as a script, and the files to download."""

from __future__ import annotations

import streamlit as st

from fitcore.player import SharedRun
from fitcore.train import weights_file
from ui.common import exported_script
from ui.state import PageState


def how_it_works(T) -> None:
    st.markdown(T["how_text"])
    st.latex(r"\mathrm{MSE} = \frac{1}{n}\sum_{i=1}^{n}\left(\hat y_i - y_i\right)^2")
    st.markdown(T["how_update"])
    st.latex(r"\theta \leftarrow \theta - \eta\,\frac{\partial\,\mathrm{MSE}}{\partial\theta}")


def script(state: PageState, T, points) -> None:
    st.caption(T["code_text"])
    text = exported_script(state.run_key, state.cfg, points, state.lang)
    st.download_button(
        T["download_script"],
        text,
        file_name="fitlab_run.py",
        mime="text/x-python",
        key="download_script",
        on_click="ignore",
        icon=":material/download:",
    )
    st.code(text, language="python")


def downloads(state: PageState, T, run: SharedRun, points, frame) -> None:
    st.caption(T["download_text"])

    # Each file is made only when its button is clicked: full reruns stay cheap.
    def loss_history() -> str:
        table = run.history(frame.step).pivot(index="step", columns="series", values="loss")
        return table.to_csv()

    files = [
        ("download_data", lambda: run.scene.points.to_csv(index=False), "fitlab_data.csv"),
        ("download_curve", lambda: frame.curve.to_csv(index=False), "fitlab_curve.csv"),
        ("download_loss", loss_history, "fitlab_loss.csv"),
        (
            "download_weights",
            lambda: weights_file(state.cfg, frame.step, points),
            f"fitlab_step{frame.step}.pt",
        ),
    ]
    for col, (key, data, name) in zip(st.columns(len(files)), files, strict=True):
        mime = "text/csv" if name.endswith(".csv") else "application/octet-stream"
        col.download_button(
            T[key],
            data,
            file_name=name,
            mime=mime,
            key=key,
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )
