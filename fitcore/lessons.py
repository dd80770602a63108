"""Lessons: an ordered walk of live experiments, each step a setup with its text and question.

A lesson is a TOML file in lessons/ (built in, or added by a deployed copy), an uploaded file,
or a compact link (`lesson_to_link`). Every source goes through one strict check, `load_lesson`,
which raises LessonError naming the file, the line and the field of the first problem.

    title_en = "..."            # and title_zh: every text in both languages
    [[steps]]
    title_en = "..."            # title_zh, text_en, text_zh (Markdown), notice_en/zh optional
    preset = "blog-linear"      # optional: the settings start from this preset, else defaults
    speed = "normal"            # optional: one of config.SPEEDS
    hide = ["lr", "preset"]     # optional: controls the step hides (config.HIDEABLE)
    [steps.settings]            # FitConfig fields over the preset or the defaults
    lr = 10
    [steps.toggles]             # display toggles (TOGGLES)
    show_units = true
    [steps.question]            # optional: asked before the run, answered after it
    prompt_en = "..."           # prompt_zh, choices_en/zh (lists), answer (index from 0),
                                # explanation_en/zh
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
import tomllib
import types
import typing
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fitcore.config import HIDEABLE, PRESETS, SPEEDS, FitConfig

# Built-in lessons: lessons/ at the repository root (a deployed copy may add its own files).
FOLDER = Path(__file__).resolve().parents[1] / "lessons"
NAME = re.compile(r"[a-z0-9-]{1,40}")
LANGS = ("en", "zh")
# The page's display toggles (ui.state.PageState.display); a step may set any of them.
TOGGLES = ("log_loss", "show_truth", "show_reference", "show_units", "show_residuals")
MAX_LINK = 8 * 1024  # characters of a lesson link (the 8 KB)
MAX_TOML = 64 * 1024  # bytes of a lesson file, also after a link's decompression
MAX_STEPS = 30
MAX_TEXT = 4000  # characters of one text; a lesson is read on a page, not a book
MAX_CHOICES = 6
# Lesson text is a teacher's, or a stranger's in a link: Streamlit's markdown already shows
# HTML as text, but a tag in a lesson is refused outright, and so is a Markdown image, which
# the student's browser would fetch from wherever it points.
HTML_TAG = re.compile(r"<\s*/?\s*[A-Za-z!?]")
IMAGE = re.compile(r"!\[")


class LessonError(ValueError):
    """A lesson that cannot be used; the message names the source, the line and the field."""


@dataclass(frozen=True)
class Question:
    """A prediction asked before the run; the answer and why, shown once it has run."""

    prompt_en: str
    prompt_zh: str
    choices_en: tuple[str, ...]
    choices_zh: tuple[str, ...]
    answer: int  # index into the choices, from 0
    explanation_en: str
    explanation_zh: str

    def text(self, name: str, lang: str) -> str:
        return _pick(self, name, lang)

    def choices(self, lang: str) -> tuple[str, ...]:
        return self.choices_zh if lang == "zh" else self.choices_en


@dataclass(frozen=True)
class Step:
    """One experiment: the settings it applies, what it says, what it hides and asks."""

    title_en: str
    title_zh: str
    text_en: str  # Markdown
    text_zh: str
    config: FitConfig  # the settings over the preset (or the defaults)
    speed: str = "normal"
    toggles: tuple[tuple[str, bool], ...] = ()  # (toggle, on), in TOGGLES order
    hide: tuple[str, ...] = ()  # controls hidden while the step is open
    question: Question | None = None
    notice_en: str = ""  # what to look at while it runs; "" for nothing
    notice_zh: str = ""

    def text(self, name: str, lang: str) -> str:
        """The step's `name` ("title", "text", "notice") in `lang`."""
        return _pick(self, name, lang)


@dataclass(frozen=True)
class Lesson:
    name: str  # [a-z0-9-]: the file's name, and ?lesson= in a link
    title_en: str
    title_zh: str
    steps: tuple[Step, ...]

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


def _pick(obj: object, name: str, lang: str) -> str:
    return getattr(obj, f"{name}_zh" if lang == "zh" else f"{name}_en")


# --- the schema ---------------------------------------------------------------------------------

TEXT, OPTIONAL_TEXT, TEXTS = "text", "optional text", "texts"
LESSON_FIELDS = {"name": "name", "title_en": TEXT, "title_zh": TEXT, "steps": "steps"}
STEP_FIELDS = {
    "title_en": TEXT,
    "title_zh": TEXT,
    "text_en": TEXT,
    "text_zh": TEXT,
    "notice_en": OPTIONAL_TEXT,
    "notice_zh": OPTIONAL_TEXT,
    "preset": "preset",
    "speed": "speed",
    "hide": "hide",
    "settings": "settings",
    "toggles": "toggles",
    "question": "question",
}
QUESTION_FIELDS = {
    "prompt_en": TEXT,
    "prompt_zh": TEXT,
    "choices_en": TEXTS,
    "choices_zh": TEXTS,
    "answer": "answer",
    "explanation_en": TEXT,
    "explanation_zh": TEXT,
}
REQUIRED = {
    "lesson": ("title_en", "title_zh", "steps"),
    "step": ("title_en", "title_zh", "text_en", "text_zh"),
    "question": tuple(QUESTION_FIELDS),
}


class _Reader:
    """Checks one parsed lesson; every error names `source`, the line of the key and its path."""

    def __init__(self, text: str, source: str):
        self.lines = text.splitlines()
        self.source = source

    def fail(self, path: tuple, problem: str) -> typing.NoReturn:
        field = "".join(f"[{p + 1}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        raise LessonError(f"{self.source}, line {self.line(path)}, {field or 'lesson'}: {problem}")

    def line(self, path: tuple) -> int:
        """The line of the key at `path` (steps counted from 0), or of the nearest table."""
        lines, start, end = self.lines, 0, len(self.lines)
        if path and path[0] == "steps" and len(path) > 1 and isinstance(path[1], int):
            headers = [
                i for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*steps\s*\]\]", line)
            ]
            if path[1] < len(headers):
                start = headers[path[1]]
                end = headers[path[1] + 1] if path[1] + 1 < len(headers) else len(lines)
            best = start
            for key in (k for k in path[2:] if isinstance(k, str)):
                for i in range(best, end):
                    if re.match(rf"\s*(\[\s*steps\.)?{re.escape(key)}\b", lines[i]):
                        best = i
                        break
            return best + 1
        top = next((k for k in path if isinstance(k, str)), None)
        for i in range(start, end):
            if re.match(r"\s*\[", lines[i]):
                break  # top-level keys come before the first table
            if top is not None and re.match(rf"\s*{re.escape(top)}\s*=", lines[i]):
                return i + 1
        return 1

    def table(self, value: object, path: tuple, fields: Mapping[str, object], required=()) -> dict:
        if not isinstance(value, dict):
            self.fail(path, "must be a table")
        for key in value:
            if key not in fields:
                self.fail((*path, key), f"unknown field (known: {', '.join(fields)})")
        for key in required:
            if key not in value:
                self.fail((*path, key), "missing (every text needs English and Chinese)")
        return value

    def text(self, value: object, path: tuple, *, optional: bool = False) -> str:
        if not isinstance(value, str):
            self.fail(path, "must be a string")
        if not value.strip() and not optional:
            self.fail(path, "must not be empty")
        if len(value) > MAX_TEXT:
            self.fail(path, f"is {len(value)} characters long; at most {MAX_TEXT}")
        if HTML_TAG.search(value):
            self.fail(path, "HTML tags are not allowed in lessons (write Markdown)")
        if IMAGE.search(value):
            self.fail(path, "images are not allowed in lessons (a link to one is)")
        return value.strip()  # a multi-line string ends with a line break

    def lesson(self, data: dict, name: str) -> Lesson:
        self.table(data, (), LESSON_FIELDS, REQUIRED["lesson"])
        if "name" in data:
            given = data["name"]
            if not isinstance(given, str) or not NAME.fullmatch(given):
                self.fail(("name",), "must be 1 to 40 of a-z, 0-9 and -")
            name = given
        steps = data["steps"]
        if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
            self.fail(("steps",), f"must be 1 to {MAX_STEPS} [[steps]] tables")
        return Lesson(
            name=name,
            title_en=self.text(data["title_en"], ("title_en",)),
            title_zh=self.text(data["title_zh"], ("title_zh",)),
            steps=tuple(self.step(s, ("steps", i)) for i, s in enumerate(steps)),
        )

    def step(self, data: object, path: tuple) -> Step:
        data = self.table(data, path, STEP_FIELDS, REQUIRED["step"])
        texts = {
            k: self.text(data.get(k, ""), (*path, k), optional=kind == OPTIONAL_TEXT)
            for k, kind in STEP_FIELDS.items()
            if kind in (TEXT, OPTIONAL_TEXT)
        }
        if ("notice_en" in data) != ("notice_zh" in data):
            missing = "notice_zh" if "notice_en" in data else "notice_en"
            self.fail((*path, missing), "missing (every text needs English and Chinese)")
        speed = data.get("speed", "normal")
        if speed not in SPEEDS:
            self.fail((*path, "speed"), f"must be one of {', '.join(SPEEDS)}")
        hide = data.get("hide", [])
        if not isinstance(hide, list) or not all(isinstance(h, str) for h in hide):
            self.fail((*path, "hide"), "must be a list of control names")
        for h in hide:
            if h not in HIDEABLE:
                self.fail((*path, "hide"), f"no control named {h!r} (known: {', '.join(HIDEABLE)})")
        toggles = self.table(data.get("toggles", {}), (*path, "toggles"), dict.fromkeys(TOGGLES))
        for key, on in toggles.items():
            if not isinstance(on, bool):
                self.fail((*path, "toggles", key), "must be true or false")
        question = data.get("question")
        return Step(
            **texts,
            config=self.config(data, path),
            speed=speed,
            toggles=tuple((k, toggles[k]) for k in TOGGLES if k in toggles),
            hide=tuple(dict.fromkeys(hide)),
            question=None if question is None else self.question(question, (*path, "question")),
        )

    def config(self, data: dict, path: tuple) -> FitConfig:
        preset = data.get("preset")
        if preset is not None and preset not in PRESETS:
            self.fail((*path, "preset"), f"must be one of {', '.join(PRESETS)}")
        base = PRESETS[preset] if preset is not None else FitConfig()
        where = (*path, "settings")
        fields = {f.name: f for f in dataclasses.fields(FitConfig)}
        settings = self.table(data.get("settings", {}), where, fields)
        values = {}
        for key, value in settings.items():
            if key == "hidden":
                if not isinstance(value, list):
                    self.fail((*where, key), "must be a list of layer widths, like [10]")
                value = tuple(value)
            try:
                values[key] = value
                dataclasses.replace(base, **{key: value})  # FitConfig's own checks
            except (TypeError, ValueError) as error:
                self.fail((*where, key), str(error))
        try:
            return dataclasses.replace(base, **values)
        except (TypeError, ValueError) as error:
            self.fail(where, str(error))

    def question(self, data: object, path: tuple) -> Question:
        data = self.table(data, path, QUESTION_FIELDS, REQUIRED["question"])
        choices = {}
        for lang in LANGS:
            key = f"choices_{lang}"
            items = data[key]
            if not isinstance(items, list) or not 2 <= len(items) <= MAX_CHOICES:
                self.fail((*path, key), f"must be a list of 2 to {MAX_CHOICES} choices")
            choices[key] = tuple(self.text(c, (*path, key)) for c in items)
        if len(choices["choices_en"]) != len(choices["choices_zh"]):
            self.fail((*path, "choices_zh"), "must have as many choices as choices_en")
        answer = data["answer"]
        if isinstance(answer, bool) or not isinstance(answer, int):
            self.fail((*path, "answer"), "must be a whole number: the right choice, from 0")
        if not 0 <= answer < len(choices["choices_en"]):
            self.fail((*path, "answer"), f"must be 0 to {len(choices['choices_en']) - 1}")
        texts = {
            k: self.text(data[k], (*path, k)) for k, kind in QUESTION_FIELDS.items() if kind == TEXT
        }
        return Question(
            prompt_en=texts["prompt_en"],
            prompt_zh=texts["prompt_zh"],
            choices_en=choices["choices_en"],
            choices_zh=choices["choices_zh"],
            answer=answer,
            explanation_en=texts["explanation_en"],
            explanation_zh=texts["explanation_zh"],
        )


def load_lesson(text: str, source: str, name: str = "custom") -> Lesson:
    """A lesson from TOML text; LessonError naming `source`, the line and the field.

    `name` is used unless the file names itself (`name = "..."`).
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TOML:
        raise LessonError(f"{source}: a lesson file may be at most {MAX_TOML // 1024} KB")
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as error:
        raise LessonError(f"{source}: not a valid TOML file: {error}") from None
    return _Reader(text, source).lesson(data, name)


def load_lesson_file(raw: bytes, source: str) -> Lesson:
    """A lesson from an uploaded file's bytes (UTF-8)."""
    if len(raw) > MAX_TOML:
        raise LessonError(f"{source}: a lesson file may be at most {MAX_TOML // 1024} KB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LessonError(f"{source}: a lesson file must be UTF-8 text") from None
    stem = Path(source).stem.lower()
    return load_lesson(text, source, stem if NAME.fullmatch(stem) else "custom")


def builtin_lessons(folder: Path = FOLDER) -> types.MappingProxyType[str, Lesson]:
    """Every lessons/<name>.toml, by name; a file whose name is not a lesson name is refused."""
    found = {}
    for path in sorted(folder.glob("*.toml")):
        if not NAME.fullmatch(path.stem):
            raise LessonError(f"{path.name}: a lesson's file name may use only a-z, 0-9 and -")
        lesson = load_lesson(path.read_text(encoding="utf-8"), path.name, path.stem)
        if lesson.name != path.stem:
            raise LessonError(f"{path.name}: names itself {lesson.name!r}, not {path.stem!r}")
        found[path.stem] = lesson
    return types.MappingProxyType(found)


def get_lesson(name: str) -> Lesson:
    """A built-in lesson by name; LessonError for a name that is not one (nothing else is read)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise LessonError(f"{name!r} is not a lesson name (a-z, 0-9 and - only)")
    if name not in LESSONS:
        raise LessonError(f"there is no lesson named {name!r}")
    return LESSONS[name]


# --- TOML out, and the compact link ------------------------------------------------------------


def lesson_to_toml(lesson: Lesson) -> str:
    """The lesson as a lesson file; load_lesson reads it back equal."""
    out = [f"name = {_toml(lesson.name)}", *_texts(lesson, ("title",))]
    default = FitConfig()
    for step in lesson.steps:
        out += ["", "[[steps]]", *_texts(step, ("title", "text"))]
        if step.notice_en or step.notice_zh:
            out += _texts(step, ("notice",))
        if step.speed != "normal":
            out.append(f"speed = {_toml(step.speed)}")
        if step.hide:
            out.append(f"hide = {_toml(list(step.hide))}")
        settings = [
            f"{f.name} = {_toml(getattr(step.config, f.name))}"
            for f in dataclasses.fields(FitConfig)
            if getattr(step.config, f.name) != getattr(default, f.name)
        ]
        if settings:
            out += ["[steps.settings]", *settings]
        if step.toggles:
            out += ["[steps.toggles]", *(f"{k} = {_toml(on)}" for k, on in step.toggles)]
        if (q := step.question) is not None:
            out += ["[steps.question]", *_texts(q, ("prompt",))]
            out += [f"choices_{lang} = {_toml(list(q.choices(lang)))}" for lang in LANGS]
            out += [f"answer = {q.answer}", *_texts(q, ("explanation",))]
    return "\n".join(out) + "\n"


def _texts(obj: object, names: tuple[str, ...]) -> list[str]:
    return [f"{n}_{lang} = {_toml(_pick(obj, n, lang))}" for n in names for lang in LANGS]


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):  # a JSON string is a TOML basic string, once DEL is escaped too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def lesson_to_link(lesson: Lesson) -> str:
    """The lesson as a `?lesson_data=` value: TOML, zlib, URL-safe base64; at most 8 KB."""
    packed = zlib.compress(lesson_to_toml(lesson).encode("utf-8"), 9)
    link = base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")
    if len(link) > MAX_LINK:
        raise LessonError(
            f"this lesson is {len(link) // 1024 + 1} KB as a link; a link carries at most "
            f"{MAX_LINK // 1024} KB (share the file instead, or shorten its texts)"
        )
    return link


def lesson_from_link(text: str) -> Lesson:
    """The lesson a `lesson_data` value carries; LessonError for anything else."""
    if not isinstance(text, str) or len(text) > MAX_LINK:
        raise LessonError(f"link: a lesson link carries at most {MAX_LINK // 1024} KB")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise LessonError("link: not a lesson link (its data is cut or changed)")
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        unzip = zlib.decompressobj()
        raw = unzip.decompress(packed, MAX_TOML + 1)
    except (binascii.Error, ValueError, zlib.error):
        raise LessonError("link: not a lesson link (its data is cut or changed)") from None
    if len(raw) > MAX_TOML or unzip.unconsumed_tail:
        raise LessonError(f"link: the lesson unpacks to more than {MAX_TOML // 1024} KB")
    if not unzip.eof:
        raise LessonError("link: not a lesson link (its data is cut or changed)")
    try:
        toml = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LessonError("link: not a lesson link (its data is not text)") from None
    return load_lesson(toml, "link")


LESSONS: types.MappingProxyType[str, Lesson] = builtin_lessons()
