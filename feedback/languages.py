"""Which language a short text is written in (English or Spanish), by its function words.

Survey answers carry the customer's language; staff notes and case comments do not, so they
are told apart by counting common words of each language (the stop-word lists that ship with
YAKE). Anything that is not clearly Spanish is read as English.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yake

WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
SUPPORTED = ("en", "es")


@cache
def stopwords(language: str) -> frozenset[str]:
    folder = Path(yake.__file__).parent / "core" / "StopwordsList"
    text = (folder / f"stopwords_{language}.txt").read_text(encoding="utf-8", errors="ignore")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def detect(text: str) -> str:
    """'es' when the text has more Spanish function words than English ones, else 'en'."""
    tokens = words(text)
    spanish = sum(t in stopwords("es") for t in tokens)
    english = sum(t in stopwords("en") for t in tokens)
    return "es" if spanish > english else "en"
