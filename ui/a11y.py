"""What a screen reader needs of the page: its language on <html>, and the live charts as text."""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from fitcore import a11y
from fitcore.player import SharedRun
from ui.state import PageState

# While playing, the spoken summary changes at most this often: a polite live region that
# changed ten times a second would queue sentences faster than anyone can listen. Paused, it
# follows every Step at once.
ANNOUNCE_EVERY_S = 3.0
SLOT = "a11y_spoken"  # session slot: the summary last put on the page, and when

# Visually hidden, not display:none (which hides it from screen readers too); absolute, so it
# takes no place in the column and adds no gap. The page script has nothing to show.
CSS = """<style>
.st-key-a11y_summary {
  position: absolute !important; width: 1px !important; height: 1px !important;
  margin: -1px; padding: 0; border: 0; overflow: hidden;
  clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap;
}
.st-key-page_a11y { display: none !important; }
/* Contrast of 4.5:1 at least (WCAG AA, axe's color-contrast): Streamlit's light theme draws
   captions at 4.0:1, inline code in them at 3.0:1 and code comments and keywords at 3.6:1. */
[data-testid="stCaptionContainer"] { color: #565c63; opacity: 1; }
[data-testid="stCaptionContainer"] code { color: #1f6b4f; }
.token.comment, .token.prolog, .token.doctype, .token.cdata { color: #596070 !important; }
.token.keyword { color: #0b5cad !important; }
/* the key Streamlit shows on a button: faded to 2.9:1 on the primary button's blue */
[data-testid="stBaseButton-primary"] kbd, [data-testid="stBaseButton-secondary"] kbd {
  color: inherit !important; opacity: 1 !important;
}
/* A phone has no keys to show, and at 390 px the hints cut the labels to "训.." */
@media (max-width: 640px) { .st-key-controls kbd { display: none; } }
</style>"""

# Runs in the page. Streamlit writes <html lang="en"> whatever the page says (streamlit#15726):
# the Chinese page was read with an English voice, and Chromium offered to translate it.
# Streamlit also labels the key it shows on a button "Shortcut Space", in English, inside the
# button's name ("训练 Shortcut Space"): the key goes to the button's aria-keyshortcuts
# instead, which a screen reader announces in its own language, and the hint is hidden from it.
PAGE_JS = """
const KEYS = { '→': 'ArrowRight', '←': 'ArrowLeft', '↑': 'ArrowUp', '↓': 'ArrowDown' };
function keyHints() {
  for (const button of document.querySelectorAll('button[aria-keyshortcuts]')) {
    if (!button.querySelector('kbd')) button.removeAttribute('aria-keyshortcuts');
  }
  for (const kbd of document.querySelectorAll('button kbd[aria-label]')) {
    const key = kbd.textContent.trim();
    kbd.closest('button').setAttribute('aria-keyshortcuts', KEYS[key] || key);
    kbd.removeAttribute('aria-label');
    kbd.setAttribute('aria-hidden', 'true');
  }
}
export default function ({ data }) {
  const lang = data && data.lang;
  if (lang && document.documentElement.lang !== lang) {
    document.documentElement.lang = lang;
  }
  if (!window.fitlabKeyHints) {  // once per page: buttons come and go on every rerun
    window.fitlabKeyHints = new MutationObserver(keyHints);
    window.fitlabKeyHints.observe(document.body, { childList: true, subtree: true });
  }
  keyHints();
}
"""


@st.cache_resource
def _page_script():
    """The page_a11y component, registered once per server process."""
    return st.components.v2.component("fitlab_page_a11y", js=PAGE_JS)


def page_language(lang: str) -> None:
    """Declare the page's language on <html>; the styles and key hints the page needs."""
    st.html(CSS)
    _page_script()(key="page_a11y", data={"lang": a11y.HTML_LANG.get(lang, lang)})


@dataclass
class _Spoken:
    text: str = ""
    at: float = float("-inf")  # time.monotonic() when it was put on the page


def live_summary(state: PageState, T, run: SharedRun, frame, shown) -> None:
    """The frame on screen in one sentence, in a visually hidden polite live region.

    frame: the frame whose step the status shows; shown: the fit drawn (after a divergence,
    the last good one).
    """
    previous = run.frame_at(frame.step - 1) if frame.step > 0 else None
    y = y_hat = None
    if shown.fitted is not None:
        scene = run.scene
        y, y_hat = scene.points.loc[scene.points["split"] == "train", "y"], shown.fitted
    text = a11y.summary(
        T,
        step=frame.step,
        steps=state.cfg.steps,
        loss=shown.train_loss,
        previous=None if previous is None or previous is frame else previous.train_loss,
        y=y,
        y_hat=y_hat,
        test_loss=shown.test_loss,
        diverged=frame.diverged,
    )
    spoken = st.session_state.setdefault(SLOT, _Spoken())
    now = time.monotonic()
    if not state.playing or now - spoken.at >= ANNOUNCE_EVERY_S:
        spoken.text, spoken.at = text, now
    with st.container(key="a11y_summary"):
        # one element in one place: the browser keeps the live region's node and changes only
        # its text, which is what a screen reader announces
        st.markdown(f'<div aria-live="polite">{spoken.text}</div>', unsafe_allow_html=True)
