"""Themes in what customers say: key phrases found offline with YAKE, in English and Spanish.

YAKE (a statistical keyword extractor, no model and nothing downloaded) reads the recent notes
of each language as one corpus and proposes key phrases of one to three words; those used in at
least `MIN_MENTIONS` notes become the theme vocabulary, except a phrase that is nearly always
part of a longer one ("driver" when it is "friendly driver" in `SUBSUMED` of its notes). Every
note (a survey comment is its answer's note) is then matched against the vocabulary: a theme is mentioned when its words
appear in the note in a row, whatever the case. Figures per theme are plain SQL over the
mentions (feedback/queries.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

import yake
from django.db import transaction
from django.utils import timezone

from experiences.models import Experience
from scoring.services import mark_for_rescore

from . import languages
from .models import ExperienceTheme, Theme, ThemeScan

MAX_WORDS = 3
CANDIDATES = 60  # key phrases YAKE proposes per language
MIN_MENTIONS = 3  # a phrase becomes a theme when this many notes use it
SUBSUMED = 0.8  # ...unless a longer theme holds this share of its mentions
VOCABULARY_DAYS = 90  # the notes the vocabulary is learnt from
SCAN_BATCH = 5000


def key_phrases(texts: Sequence[str], *, language: str) -> list[str]:
    """The phrases that YAKE ranks highest in `texts` and enough notes use, most used first."""
    if not texts:
        return []
    extractor = yake.KeywordExtractor(lan=language, n=MAX_WORDS, top=CANDIDATES, dedupLim=0.9)
    corpus = "\n".join(t.strip().rstrip(".!?") + "." for t in texts)
    candidates = {" ".join(languages.words(phrase)) for phrase, _ in extractor.extract_keywords(corpus)} - {""}
    tokenised = [languages.words(t) for t in texts]
    counts = {phrase: sum(_mentions(phrase.split(), words) for words in tokenised) for phrase in candidates}
    kept = {phrase for phrase, n in counts.items() if n >= MIN_MENTIONS}

    def subsumed(phrase: str) -> bool:
        return any(
            len(longer) > len(phrase)
            and _mentions(phrase.split(), longer.split())
            and counts[longer] >= SUBSUMED * counts[phrase]
            for longer in kept
        )

    return sorted((p for p in kept if not subsumed(p)), key=lambda p: (-counts[p], p))


def _mentions(phrase: list[str], words: list[str]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def themes_in(text: str, vocabulary: Iterable[tuple[int, str]]) -> list[int]:
    """The ids of the themes whose phrase the text uses."""
    words = languages.words(text)
    return [pk for pk, phrase in vocabulary if _mentions(phrase.split(), words)]


def _vocabulary() -> dict[str, list[tuple[int, str]]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for pk, language, phrase in Theme.objects.values_list("pk", "language", "phrase"):
        found.setdefault(language, []).append((pk, phrase))
    return found


def match_notes(notes: Iterable[tuple[int, date, str, str | None]]) -> int:
    """Record the themes of (experience id, its day, note, language or None to guess); returns the mentions added.

    The days of the experiences a theme was found in are marked for rescoring, which recomputes
    their theme rollups (feedback/rollups.py).
    """
    vocabulary = _vocabulary()
    mentions, days = [], set()
    for pk, day, note, language in notes:
        for theme_id in themes_in(note, vocabulary.get(language or languages.detect(note), [])):
            mentions.append(ExperienceTheme(experience_id=pk, theme_id=theme_id))
            days.add(day)
    added = len(ExperienceTheme.objects.bulk_create(mentions, ignore_conflicts=True))
    mark_for_rescore(customer_ids=[], days=days)
    return added


def match_new_notes() -> int:
    """Beat, every few minutes: match the notes of experiences stored since the last run."""
    with transaction.atomic():
        scan, _ = ThemeScan.objects.select_for_update().get_or_create(pk=1)
        rows = list(
            Experience.objects.filter(pk__gt=scan.last_experience_id)
            .order_by("pk")
            .values_list("pk", "occurred_on", "note", "survey_response__language")[:SCAN_BATCH]
        )
        if not rows:
            return 0
        added = match_notes((pk, day, note, language or None) for pk, day, note, language in rows if note)
        ThemeScan.objects.filter(pk=1).update(last_experience_id=rows[-1][0])
    return added


def refresh_themes(*, now: datetime | None = None) -> dict[str, int]:
    """Nightly: learn the vocabulary from the last `VOCABULARY_DAYS` of notes and match those notes again.

    Themes are only added, never removed, so a theme's history stays comparable over time.
    Returns the number of themes per language.
    """
    now = now or timezone.now()
    notes = list(
        Experience.objects.filter(occurred_at__gte=now - timedelta(days=VOCABULARY_DAYS))
        .exclude(note="")
        .values_list("pk", "occurred_on", "note", "survey_response__language")
    )
    by_language: dict[str, list[tuple[int, date, str]]] = {}
    for pk, day, note, language in notes:
        by_language.setdefault(language or languages.detect(note), []).append((pk, day, note))
    with transaction.atomic():
        for language, rows in by_language.items():
            if language not in languages.SUPPORTED:
                continue
            phrases = key_phrases([note for _, _, note in rows], language=language)
            Theme.objects.bulk_create(
                [Theme(phrase=p, language=language, created_at=now) for p in phrases], ignore_conflicts=True
            )
        for language, rows in by_language.items():
            match_notes((pk, day, note, language) for pk, day, note in rows)
    return dict(Counter(Theme.objects.values_list("language", flat=True)))
