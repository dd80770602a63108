"""Every user-facing string, one catalog file per language: fitcore/catalogs/<lang>.toml.

Each file has two tables with the same keys in every language: [page], the page's strings
(`catalog`), and [script], the exported script's comments and messages (`script_catalog`).
A file is read once per process and handed out read-only: one server serves every student.

Keys the code builds at run time (`T[f"ds_{name}"]`, `T[f"{field}_help"]`, ...) belong to the
families `key_families` lists, each enumerated from the table its names come from;
tests/test_i18n.py checks that the code asks only for catalog keys and declared families.
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
import types
from collections.abc import Mapping
from importlib.resources import files

LANGS = ("en", "zh")  # a catalogs/<lang>.toml each; the first is used for any other language
TABLES = ("page", "script")


@functools.cache
def _tables(lang: str) -> Mapping[str, Mapping[str, str]]:
    """Both tables of catalogs/<lang>.toml, read-only; read once per process."""
    text = (files("fitcore") / "catalogs" / f"{lang}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return types.MappingProxyType({name: types.MappingProxyType(data[name]) for name in TABLES})


def catalog(lang: str) -> Mapping[str, str]:
    """The page's strings for `lang` ('en' or 'zh'); English for anything else."""
    return _tables(lang if lang in LANGS else LANGS[0])["page"]


def script_catalog(lang: str) -> Mapping[str, str]:
    """The exported script's comments and messages for `lang`; English for anything else."""
    return _tables(lang if lang in LANGS else LANGS[0])["script"]


def pick_language(requested: str | None, browser_locale: str | None) -> str:
    """The link's lang if given, else Chinese for a zh-* browser, else English."""
    if requested in LANGS:
        return requested
    if browser_locale and browser_locale.lower().startswith("zh"):
        return "zh"
    return "en"


def key_families(table: str = "page") -> dict[str, frozenset[str]]:
    """The keys of `table` ("page" or "script") that the code builds at run time, by family.

    A family is named by its pattern, the key with `{}` where the code fills in a name:
    `T[f"ds_{d}"]` asks for a key of family "ds_{}", `T[field]` (a variable) one of "{}".
    Each family's keys come from the table of names the code fills in, so a new dataset,
    optimizer, preset, speed, chart label or upload error needs its strings, and nothing more.
    """
    # imported here: upload imports this module, and charts pulls in altair
    from fitcore import charts, race, registry, sweeps, upload
    from fitcore.config import HIDEABLE, PRESETS, SPEEDS, FitConfig

    if table == "script":
        return {
            "opt_{}": frozenset(f"opt_{name}" for name in registry.names("optimizer")),
            "loss_{}": frozenset(f"loss_{name}" for name in registry.names("loss")),
            # a schedule's comment; "constant" has none (the script builds no scheduler)
            "sch_{}": frozenset(
                f"sch_{name}"
                for name in registry.names("schedule")
                if registry.get("schedule", name).torch_class is not None
            ),
        }
    if table != "page":
        raise ValueError(f"table must be one of {', '.join(TABLES)}, not {table!r}")
    fields = [f.name for f in dataclasses.fields(FitConfig)]
    families = {
        # each choice's label: ds_linear, m_mlp, act_relu, opt_adam, l_mse
        f"{prefix}{{}}": frozenset(
            registry.label_key(field, name) for name in registry.names(field)
        )
        for field, (_, prefix) in registry.FIELDS.items()
    }
    return {
        **families,
        "dsd_{}": frozenset(f"dsd_{name}" for name in registry.names("dataset")),
        "preset_{}": frozenset(f"preset_{name}" for name in (*PRESETS, "custom")),
        "sp_{}": frozenset(f"sp_{speed}" for speed in SPEEDS),
        "chart_{}": frozenset(f"chart_{key}" for key in charts.DEFAULT_LABELS),
        "upload_{}": frozenset(f"upload_{code}" for code in upload.CODES),
        "race_{}": frozenset(f"race_{kind}" for kind in race.KINDS),
        # a sweep's fields and the codes of its errors; the choices of what an ensemble varies
        "sweep_{}": frozenset(f"sweep_{name}" for name in (*sweeps.LADDERS, *sweeps.CODES)),
        "sweep_vary_{}": frozenset(f"sweep_vary_{name}" for name in sweeps.VARY_CHOICES),
        # a control's label by its name: every setting a teacher can hide (the language
        # control's label is "language"), and the help of each sidebar control that has one
        "{}": frozenset({*fields, *(name for name in HIDEABLE if name != "lang")}),
        "{}_help": frozenset(f"{name}_help" for name in (*fields, "speed")),
    }


def dynamic_keys(table: str = "page") -> set[str]:
    """Every key of `table` that the code may build at run time: all of key_families'."""
    return set().union(*key_families(table).values())
