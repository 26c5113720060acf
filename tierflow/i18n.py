"""Interface language (Chinese / English) and the display of money, counts and rates.

Labels live in ``tierflow/labels/*.toml``, one file per area, each key with ``en`` and ``zh``;
`t(key)` looks one up in the session's language. Money is RMB, shown in 万 / 亿 in Chinese and
K / M / B in English. This module imports no Streamlit: pages pass the language in.
"""

from __future__ import annotations

import math
import tomllib
from functools import cache
from pathlib import Path

LANGS = {"zh": "中文", "en": "English"}
DEFAULT_LANG = "zh"
LABEL_DIR = Path(__file__).resolve().parent / "labels"


@cache
def labels() -> dict[str, dict[str, str]]:
    """Every label, by key: {"en": ..., "zh": ...}. A key defined twice is an error."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(LABEL_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            for key, value in tomllib.load(fh).items():
                if key in merged:
                    raise ValueError(f"label {key!r} is defined twice ({path.name})")
                merged[key] = value
    return merged


def t(key: str, lang: str, **values) -> str:
    """The label in a language, with {placeholders} filled."""
    text = labels()[key][lang]
    return text.format(**values) if values else text


def money(value: float | None, lang: str, digits: int = 2) -> str:
    """RMB amount: 1.23亿 / 456.8万 / 4,568万 in Chinese, 123.5M / 4.57K in English: at most
    `digits` decimals and about four significant digits, so a KPI fits its column."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    sign, amount = ("-" if value < 0 else ""), abs(value)
    if lang == "zh":
        steps = ((1e8, "亿"), (1e4, "万"))
    else:
        steps = ((1e9, "B"), (1e6, "M"), (1e3, "K"))
    for size, unit in steps:
        if amount >= size:
            scaled = amount / size
            shown = 0 if scaled >= 1000 else 1 if scaled >= 100 else digits
            return f"{sign}{scaled:,.{min(shown, digits)}f}{unit}"
    return f"{sign}{amount:,.0f}"


def count(value: float | None) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:,.0f}"


def percent(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.{digits}f}%"


def points(value: float | None, lang: str) -> str:
    """A change of a rate, in percentage points: +1.2pp / +1.2个百分点."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:+.1f}" + ("个百分点" if lang == "zh" else "pp")
