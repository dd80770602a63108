"""PageState: everything one student's page remembers, in one typed session slot.

Each setting lives here once. Widgets mirror it: before a widget is drawn its key is set from
the state, and its on_change callback writes the new value back (see ui.controls). The methods
are the page's callbacks; Streamlit runs them before the rerun the click starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from fitcore.config import PRESETS, FitConfig, UiSettings
from fitcore.i18n import pick_language
from fitcore.lessons import LESSONS, Lesson, LessonError, Step, lesson_to_link

SLOT = "page"  # the one session_state key the page uses for its own state
MAX_ADDED = 20  # outliers a student may add: enough to make the point, bounded per session
# The explain panel's stages, in the order one update happens; with the panel open, Step
# walks through them and then on to the next update.
STAGES = ("forward", "loss", "backward", "update")


@dataclass(frozen=True)
class Edits:
    """A student's edits of the run's points; they apply only to the data they were made on."""

    data: tuple | None = None  # what the points were: (dataset, n, noise, seed) or a digest
    removed: frozenset[tuple[float, float]] = frozenset()
    added: tuple[tuple[float, float], ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.removed or self.added)


@dataclass
class PageState:
    cfg: FitConfig  # the run's settings, also those whose widget is hidden or not drawn
    link_query: dict[str, list[str]]  # the opening link; its warnings follow the page's language
    lang: str = "en"
    lang_chosen: bool = False  # False: the browser's language, not written into links
    preset: str = "custom"  # a PRESETS key while the settings are still exactly the preset's
    speed: str = "normal"
    hide: tuple[str, ...] = ()  # controls the teacher's link hides
    autoplay: bool = False  # the link asks to start training when the page opens
    armed: bool = False  # autoplay waits until the browser has drawn step 0 (page_ready)
    playing: bool = False
    cursor: int = 0  # the step on screen
    advance: bool = False  # Step was pressed: the next frame area moves one frame
    full_rerun: bool = False  # a button inside the live fragment changed a sidebar setting
    explaining: bool = False  # the explain panel (shown while paused) is open: Step walks it
    stage: int = len(STAGES)  # its stages shown, 1..len(STAGES): all, until Step walks them
    run_key: str | None = None
    display: dict[str, bool] = field(
        default_factory=lambda: {
            "log_loss": True,
            "show_truth": True,
            "show_reference": True,
            "show_units": False,
            "show_residuals": False,
        }
    )
    rejected: dict[str, str] = field(default_factory=dict)  # field -> text that could not be used
    uploaded: tuple[str, pd.DataFrame] | None = None  # (file name, points) of the last good file
    edits: Edits = Edits()
    lesson: Lesson | None = None  # the lesson open (ui.lesson), None in the playground
    lesson_step: int = 0  # its step on screen, from 0 (the link's step=1)
    lesson_checked: bool = False  # the opening link's lesson was looked at
    lesson_problem: tuple[str, dict] | None = None  # what in a lesson could not be used
    revealed: bool = False  # the step's answer is shown (Reveal, or the run ended)
    hide_before: tuple[str, ...] = ()  # the link's own hide, back when the lesson is left
    built: tuple[Step, ...] = ()  # the lesson builder's steps, as the parser read them back
    built_problem: str | None = None  # why the builder's last Record did not record

    @classmethod
    def from_link(cls, query: dict[str, list[str]], locale: str | None) -> PageState:
        cfg, _ = FitConfig.from_query(query)
        ui, _ = UiSettings.from_query(query)
        return cls(
            cfg=cfg,
            link_query=query,
            lang=pick_language(ui.lang, locale),
            lang_chosen=ui.lang is not None,
            preset=ui.preset if ui.preset and PRESETS[ui.preset] == cfg else "custom",
            speed=ui.speed,
            hide=ui.hide,
            autoplay=ui.autoplay,
            armed=ui.autoplay,
        )

    def ui_settings(self, **changes) -> UiSettings:
        """The page's own link parameters (UiSettings), with `changes` applied."""
        ui = UiSettings(
            preset=self.preset if self.preset in PRESETS else None,
            lang=self.lang if self.lang_chosen else None,
            speed=self.speed,
            autoplay=self.autoplay,
            hide=self.hide,
        )
        return dataclasses.replace(ui, **changes)

    # settings

    def set(self, name: str, value) -> None:
        """Change one setting (ValueError when FitConfig refuses it); the preset becomes custom."""
        self.cfg = dataclasses.replace(self.cfg, **{name: value})
        self.rejected.pop(name, None)
        self.preset = "custom"

    def reject(self, name: str, text: str) -> None:
        """Keep the setting; remember what the student typed, to show it with the reason."""
        self.rejected[name] = text

    def apply_preset(self, name: str) -> None:
        self.preset = name
        if name in PRESETS:
            self.cfg = PRESETS[name]
            self.rejected.clear()

    def use_lr(self, lr: float) -> None:
        """The suggested learning rate after a divergence: a new run, from step 0."""
        self.set("lr", lr)
        self.cursor = 0
        self.full_rerun = True  # the button sits in the live fragment; the sidebar must follow

    # lessons

    def open_step(self, lesson: Lesson, index: int) -> None:
        """Apply a lesson's step as its link would: settings, speed, toggles, hidden controls."""
        if self.lesson is None:
            self.hide_before = self.hide
        step = lesson.steps[index]
        self.lesson, self.lesson_step, self.lesson_problem = lesson, index, None
        self.cfg, self.speed, self.hide = step.config, step.speed, step.hide
        self.preset = next((name for name, cfg in PRESETS.items() if cfg == step.config), "custom")
        self.rejected.clear()
        # every step starts from the page's own display, so a step opened from its link looks
        # the same as one reached by Next
        self.display = {**PageState(cfg=self.cfg, link_query={}).display, **dict(step.toggles)}
        self.playing = self.armed = self.revealed = False
        self.cursor = 0
        self.run_key = None  # a new step is not a restart: no toast

    def leave_lesson(self) -> None:
        """Back to the playground with the step's settings; the link's own hidden controls."""
        self.lesson = None
        self.hide = self.hide_before

    def lesson_query(self) -> dict[str, str] | None:
        """The address of the step on screen (None outside a lesson): a built-in by name, any
        other lesson carried in the link while it fits."""
        if self.lesson is None:
            return None
        query = {"step": str(self.lesson_step + 1)}
        if LESSONS.get(self.lesson.name) == self.lesson:
            query["lesson"] = self.lesson.name
        else:
            try:
                query["lesson_data"] = lesson_to_link(self.lesson)
            except LessonError:
                return None  # too big for a link: the address names the settings instead
        return {**query, **({"lang": self.lang} if self.lang_chosen else {})}

    # playing

    def play(self, from_start: bool = False) -> None:
        if from_start:
            self.cursor = 0
        self._playing(True)

    def pause(self) -> None:
        self._playing(False)

    def step(self) -> None:
        """One frame on; with the explain panel open, its next stage, then one update on."""
        self._playing(False)
        if not self.explaining:
            self.advance = True
        elif self.stage < len(STAGES):
            self.stage += 1
        elif self.cursor < self.cfg.steps:
            self.cursor += 1  # a step the run may hold no frame of: the panel's replay has it
            self.stage = 1

    def reset(self) -> None:
        self._playing(False)
        self.cursor = 0

    def show(self, step: int) -> None:
        """Scrub to a stored frame (the replay slider): it pauses."""
        self.cursor = step
        self._playing(False)

    def explain(self, open_: bool) -> None:
        """The explain panel opened or closed; a reopened panel shows every stage."""
        self.explaining = open_
        self.stage = len(STAGES)

    def show_stage(self, stage: int) -> None:
        self.stage = stage

    def _playing(self, playing: bool) -> None:
        # a student's own click overrides an autoplay still waiting for the page to be drawn
        self.playing = playing
        self.armed = False
        if playing:
            self.stage = len(STAGES)  # a pause later shows the whole update again

    # points

    def edit_data(self, data: tuple) -> Edits:
        """The edits that apply to `data`: none once the data they were made on changed."""
        if self.edits.data != data:
            self.edits = Edits(data=data)
        return self.edits

    def new_run(self, key: str) -> bool:
        """Note the run on screen; True when it replaced another (the cursor goes to 0)."""
        replaced = self.run_key is not None and self.run_key != key
        if replaced:
            self.cursor = 0
        self.run_key = key
        return replaced


def page_state() -> PageState:
    """This session's PageState, made from the opening link on the session's first run."""
    if SLOT not in st.session_state:
        query = {k: st.query_params.get_all(k) for k in st.query_params}
        st.session_state[SLOT] = PageState.from_link(query, st.context.locale)
    return st.session_state[SLOT]


def still_playing() -> bool:
    """Read through st.session_state on purpose: each read is a point where Streamlit can stop
    a running rerun, so a Pause click ends a max-speed catch-up at once."""
    return st.session_state[SLOT].playing


def while_paused(state: PageState, action: Callable[[], None]) -> Callable[[], None]:
    """The on_change of a widget drawn only while paused (the replay slider, the explain panel).

    Pressing Train removes such a widget, but a timer tick can leave the browser before the
    run that removed it has arrived: the tick still carries the widget's last value, which the
    server, having dropped the widget, takes for a change. On 2 busy cores the replay slider's
    stale value paused 2 of 6 runs as they started. While playing, a change is always stale.
    """

    def callback() -> None:
        if not state.playing:
            action()

    return callback
