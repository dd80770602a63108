"""The string catalogs: same keys and placeholders in every language, Chinese without English."""

import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from fitcore import PRESETS, config
from fitcore.i18n import CATALOGS, EN, ZH, catalog, pick_language

# Names a Chinese student meets as they are, in textbooks and in the code: tools, file formats,
# the names of losses, optimizers and activations, keys and special values. Anything else in
# Latin letters (3 or more in a row) in a Chinese string is English of FitLab's own.
TECHNICAL_NAMES = {
    *("FitLab", "PyTorch", "CSV", "UTF", "GBK", "Excel", "Shift"),
    *("MSE", "Huber", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"),
    *("ReLU", "Leaky", "tanh", "sigmoid", "GELU", "ELU", "SiLU"),
    *("NaN", "inf"),
    *("sin", "exp"),  # in the datasets' formulas
}
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


def _placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _english_words(text):
    text = re.sub(r"`[^`]*`", "", text)  # code
    text = re.sub(r"\{\w*\}", "", text)  # placeholders
    return set(ENGLISH_WORD.findall(text)) - TECHNICAL_NAMES


def test_every_language_has_the_same_keys():
    for lang, strings in CATALOGS.items():
        assert set(strings) == set(EN), lang


@pytest.mark.parametrize("key", sorted(EN))
def test_every_language_has_the_same_placeholders(key):
    for lang, strings in CATALOGS.items():
        assert _placeholders(strings[key]) == _placeholders(EN[key]), lang


@pytest.mark.parametrize("key", sorted(ZH))
def test_chinese_strings_have_no_english_words(key):
    assert _english_words(ZH[key]) == set()


def test_the_english_word_check_finds_english():
    assert _english_words("用 python 运行 `python x.py`，{name} 用 ReLU") == {"python"}


CHOICE_KEYS = {
    "ds": config.DATASET_KEYS,
    "dsd": config.DATASET_KEYS,
    "m": config.MODELS,
    "act": config.ACTIVATIONS,
    "opt": config.OPTIMIZERS,
    "l": config.LOSSES,
    "sp": config.SPEEDS,
    "preset": (*PRESETS, "custom"),
}


@pytest.mark.parametrize("prefix", CHOICE_KEYS)
def test_every_choice_has_a_name_in_every_language(prefix):
    for lang, strings in CATALOGS.items():
        missing = [c for c in CHOICE_KEYS[prefix] if f"{prefix}_{c}" not in strings]
        assert missing == [], lang


def test_choice_keys_cover_every_choice_list():
    assert {*config.CHOICES.values(), config.SPEEDS} <= set(CHOICE_KEYS.values())


def test_catalog_and_language_choice():
    assert catalog("zh") is ZH and catalog("fr") is EN
    assert set(CATALOGS) == set(config.LANGS)
    assert pick_language("en", "zh-CN") == "en"
    assert pick_language(None, "zh-TW") == "zh"
    assert pick_language("xx", None) == "en"


# config imports the catalog only when it needs it: i18n imports upload, which imports config
@pytest.mark.parametrize("first", ["fitcore.config", "fitcore.i18n", "fitcore.upload"])
def test_modules_import_in_any_order(first):
    code = (
        f"import {first}\n"
        "from fitcore.config import FitConfig\n"
        "assert FitConfig.from_query({'lr': 'x'}, lang='zh')[1][0].startswith('lr=')\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], check=True
    )
