"""Sentiment of free text in English and Spanish with VADER's rules (nothing downloaded).

The compound score runs from -1 (very negative) to +1 (very positive); ±0.05 are VADER's own
bounds of neutral text. VADER's lexicon is English. Spanish is read by the same rules with a
second, Spanish lexicon (`SPANISH_LEXICON`, customer-experience words on VADER's -4..+4 scale),
after Spanish negations, contrast and intensifiers are mapped onto the English words VADER's
rules know ("no" → "not", "pero" → "but", "muy" → "very"). docs/feedback.md says what it misses.
"""

from __future__ import annotations

import re
from functools import cache

from django.conf import settings
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from . import languages

NEUTRAL_BOUND = 0.05

# Customer-experience words VADER's general lexicon misreads: an "agreed date" or a "promised"
# call is a reference point, not praise, and lateness or waiting is a complaint. Valences on
# VADER's own scale (-4 .. +4).
CX_LEXICON = {
    "agreed": 0.0,
    "promised": 0.0,
    "late": -1.5,
    "overdue": -1.5,
    "overcharged": -2.0,
    "unanswered": -1.5,
    "waited": -0.8,
    "waiting": -0.6,
}


# Spanish words and their valence on VADER's scale; accented and unaccented spellings both.
SPANISH_LEXICON = {
    **dict.fromkeys(["excelente", "perfecto", "perfecta", "genial", "estupendo", "estupenda", "maravilloso"], 3.0),
    **dict.fromkeys(["encantado", "encantada", "fantástico", "fantastico", "impecable", "increíble"], 3.0),
    **dict.fromkeys(["bueno", "buena", "buen", "bien", "amable", "amables", "rápido", "rapido", "rápida"], 1.9),
    **dict.fromkeys(["rapida", "puntual", "puntuales", "claro", "clara", "claras", "fácil", "facil"], 1.8),
    **dict.fromkeys(["gracias", "agradecido", "agradecida", "contento", "contenta", "satisfecho"], 2.0),
    **dict.fromkeys(["satisfecha", "recomiendo", "atento", "atenta", "atentos", "eficaz", "útil", "util"], 2.0),
    **dict.fromkeys(["resuelto", "resolvieron", "solucionaron", "ayudaron", "profesional", "correcto"], 1.6),
    **dict.fromkeys(["malo", "mala", "mal", "tarde", "lento", "lenta", "confuso", "confusa", "difícil"], -1.9),
    **dict.fromkeys(["dificil", "roto", "rota", "rotos", "dañado", "dañada", "error", "errores", "retraso"], -1.9),
    **dict.fromkeys(["retrasos", "esperando", "esperé", "espere", "caro", "cara", "sucio", "sucia"], -1.2),
    **dict.fromkeys(["pésimo", "pesimo", "pésima", "pesima", "horrible", "terrible", "fatal", "vergüenza"], -3.0),
    **dict.fromkeys(["enfadado", "enfadada", "molesto", "molesta", "decepcionado", "decepcionada", "grosero"], -2.3),
    **dict.fromkeys(["grosera", "queja", "reclamación", "reclamacion", "cobraron", "incompleto", "incompleta"], -1.6),
    **dict.fromkeys(["nadie", "perdido", "perdida", "falta", "faltaba", "faltan", "problema", "problemas"], -1.3),
}
# Spanish words that play the part of English words VADER's rules look for.
SPANISH_FUNCTION_WORDS = {
    "no": "not",
    "nunca": "never",
    "jamás": "never",
    "jamas": "never",
    "ni": "nor",
    "sin": "without",
    "pero": "but",
    "aunque": "but",
    "muy": "very",
    "bastante": "quite",
    "super": "very",
    "súper": "very",
    "demasiado": "too",
    "poco": "slightly",
    "algo": "somewhat",
}
SPANISH_WORD = re.compile(r"\b(" + "|".join(map(re.escape, SPANISH_FUNCTION_WORDS)) + r")\b", re.IGNORECASE)


@cache
def _analyzer(language: str = "en") -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    if language == "es":
        analyzer.lexicon = dict(SPANISH_LEXICON)
    else:
        analyzer.lexicon.update(CX_LEXICON)
    return analyzer


def compound(text: str, *, language: str | None = None) -> float | None:
    """The compound score of `text` in `language` ('en' or 'es'; guessed when not given), None for no text."""
    if not text or not text.strip():
        return None
    language = language if language in languages.SUPPORTED else languages.detect(text)
    if language == "es":
        text = SPANISH_WORD.sub(lambda m: SPANISH_FUNCTION_WORDS[m.group(1).lower()], text)
    return round(_analyzer(language).polarity_scores(text)["compound"], 3)


def label(score: float | None) -> str:
    """'positive', 'neutral' or 'negative' (empty for no text), the words the colour classes use."""
    if score is None:
        return ""
    if score >= NEUTRAL_BOUND:
        return "positive"
    if score <= -NEUTRAL_BOUND:
        return "negative"
    return "neutral"


def contradicts(valence: int, score: float | None) -> bool:
    """True when the text clearly says the opposite of the rating (e.g. 10 out of 10, "awful")."""
    if score is None or valence == 0:
        return False
    return valence * score <= -settings.CXM_SENTIMENT_CONTRADICTION
