"""How it works, the run as a script, and the files to download."""

from __future__ import annotations

import dataclasses
import logging
import threading

import streamlit as st

from fitcore.animation import (
    AnimationError,
    View,
    encode,
    frame_png,
    render_frames,
    renderer_problem,
)
from fitcore.player import SharedRun
from fitcore.train import weights_file
from ui.common import axis_titles, exported_script
from ui.state import PageState

log = logging.getLogger("fitlab")


def how_it_works(T) -> None:
    st.markdown(T["how_text"])
    st.latex(r"\mathrm{MSE} = \frac{1}{n}\sum_{i=1}^{n}\left(\hat y_i - y_i\right)^2")
    st.markdown(T["how_update"])
    st.latex(r"\theta \leftarrow \theta - \eta\,\frac{\partial\,\mathrm{MSE}}{\partial\theta}")
    st.markdown(T["how_keys"])  # the keys of ui/buttons.py and ui/lesson.py


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
    pictures(state, T, run, frame)


def pictures(state: PageState, T, run: SharedRun, frame) -> None:
    """The frame on screen as a PNG, and the whole run as a GIF and an MP4 once asked for."""
    st.caption(T["anim_text"])
    landscape = state.cfg.model == "linear" and st.toggle(T["anim_landscape"], key="anim_landscape")
    x_title, y_title = axis_titles(state)
    view = View(
        display=dict(state.display),
        x_title=x_title,
        y_title=y_title,
        added=tuple(sorted(state.edits.added)),
        paused=not state.playing,
        landscape=landscape,
    )

    def png() -> bytes:  # made when clicked: a full render costs about half a second
        try:
            return frame_png(state.cfg, frame.step, run.points, state.lang, view=view, run=run)
        except AnimationError:  # renderer_problem found none: a crash of the renderer itself
            log.exception("FitLab frame PNG")
            raise

    problem = renderer_problem(state.lang)
    if problem is not None:  # no vl-convert, or no Chinese font: say so, offer nothing
        st.warning(_failure(T, problem))
        return
    gif_col, mp4_col, png_col = st.columns(3)
    _download(
        png_col, T["download_png"], "download_png", png, f"fitlab_step{frame.step}.png", "image/png"
    )
    # the whole run's: one per run, language and look, shared by every session on the server;
    # drawn as while playing, whether this student has paused or not
    whole = dataclasses.replace(view, paused=False)
    made = _animation((state.run_key, state.lang, repr(whole)))
    if made.files is None:
        slot = gif_col.empty()
        if not slot.button(T["anim_make"], key="make_animation", icon=":material/movie:"):
            return
        slot.empty()
        failed = _make(made, state, T, run, whole)
        if failed is not None:
            st.error(_failure(T, failed))
            return
    files = made.files or {}
    _download(
        gif_col, T["download_gif"], "download_gif", files["gif"], "fitlab_run.gif", "image/gif"
    )
    if "mp4" in files:
        _download(
            mp4_col, T["download_mp4"], "download_mp4", files["mp4"], "fitlab_run.mp4", "video/mp4"
        )
    else:
        mp4_col.caption(T["anim_no_video"])


def _download(col, label: str, key: str, data, name: str, mime: str) -> None:
    col.download_button(
        label,
        data,
        file_name=name,
        mime=mime,
        key=key,
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
    )


class _Made:
    """One run's animation files, made once whoever asks first; the others wait for them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.files: dict[str, bytes] | None = None  # by format: gif, and mp4 unless it failed


@st.cache_resource(max_entries=6, ttl=3600)
def _animation(key: tuple) -> _Made:
    """Bounded: an animation is a few MB (at most 8 MB a file). A failure is not kept: the
    next click tries again."""
    return _Made()


def _make(made: _Made, state: PageState, T, run: SharedRun, view: View) -> str | None:
    """Draw the frames under a progress bar, then the GIF and the MP4 from them; None when
    made, else the AnimationError.kind of what failed (logged in full)."""
    bar = st.progress(0.0, text=T["anim_wait"])

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=T["anim_progress"].format(done=done, total=total))

    try:
        with made.lock:
            if made.files is not None:  # another session made them while this one waited
                return None
            frames = render_frames(
                state.cfg, run.points, state.lang, view=view, run=run, progress=progress
            )
            files = {"gif": encode(frames, "gif")}
            try:
                files["mp4"] = encode(frames, "mp4")
            except AnimationError:  # the GIF is still worth having
                log.exception("FitLab animation: the MP4")
            made.files = files
            return None
    except AnimationError as error:
        log.exception("FitLab animation")
        return error.kind
    finally:
        bar.empty()


def _failure(T, kind: str) -> str:
    """What the page says when the pictures could not be made, by AnimationError.kind."""
    messages = {"fonts": T["anim_no_fonts"], "video": T["anim_no_video"]}
    return messages.get(kind, T["anim_failed"])
