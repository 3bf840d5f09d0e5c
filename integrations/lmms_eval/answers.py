"""How a model's free-text answer becomes a number or a yes/no (pure Python, no heavy imports).

Rating answers -> a score on the 0-100 MOS scale (`parse_rating`), first rule that applies wins:

1. A number with an explicit scale: ``"x/N"`` or ``"x out of N"`` -> ``100 * x / N``
   (``"4/5"`` -> 80, ``"72.5/100"`` -> 72.5, ``"7 out of 10"`` -> 70).
2. A bare number, read on the smallest usual scale that holds it: ``0 <= x <= 5`` is a level on the
   1-5 scale (values below 1 count as 1) and maps like a level word (rule 3); ``5 < x <= 10`` is a
   0-10 rating (``x * 10``); ``10 < x <= 100`` is already on the 0-100 scale. Larger numbers are
   not ratings (rule 3 is tried, then the answer is unparsed).
3. LOVE's level words, ``bad, poor, fair, good, excellent`` = levels 1-5 (the last one named in
   the answer wins, so "not bad, rather good" reads as good); a level L maps to the centre of its
   band of 20 on the MOS scale, ``20 * L - 10`` (bad 10, poor 30, fair 50, good 70, excellent 90).
   Level ``L`` given as a number in rule 2 maps the same way, with linear interpolation between.
4. Otherwise the answer is unparsed: `parse_rating` returns None; the task counts it in
   ``parse_rate`` and scores it as the scale midpoint (50) so every video stays in the correlation.

Yes/no answers (`parse_yes_no`): the first word "yes" or "no" of the answer (case-insensitive,
punctuation ignored); anything else is None and counts as wrong.

Correlations (SRCC/KRCC) do not depend on this affine choice; PLCC on raw scores is unaffected by
the linear parts and only sees the level-band centres as a step function.
"""

from __future__ import annotations

import math
import re

LEVELS: tuple[str, ...] = ("bad", "poor", "fair", "good", "excellent")
UNPARSED_SCORE = 50.0

_LEVEL_RE = re.compile(r"\b(" + "|".join(LEVELS) + r")\b", re.IGNORECASE)
_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_SCALED_RE = re.compile(rf"({_NUMBER})\s*(?:/|out\s+of)\s*({_NUMBER})", re.IGNORECASE)
_NUMBER_RE = re.compile(rf"(?<![\w.])({_NUMBER})(?![\w])")
_YES_NO_RE = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def level_to_score(level: float) -> float:
    """Level on the 1-5 scale (may be fractional) -> MOS-scale score ``20 * L - 10``."""
    level = min(max(float(level), 1.0), 5.0)
    return 20.0 * level - 10.0


def score_to_level(score: float) -> str:
    """MOS-scale score -> LOVE level word (equal bands of 20)."""
    index = int(min(max(float(score), 0.0), 99.999) // 20)
    return LEVELS[index]


def _bare_number_score(value: float) -> float | None:
    if value < 0:
        return None
    if value <= 5:
        return level_to_score(max(value, 1.0))
    if value <= 10:
        return value * 10.0
    if value <= 100:
        return value
    return None


def parse_rating(text: object) -> float | None:
    """Free-text rating answer -> score on the 0-100 scale, or None (rules in the module docstring)."""
    if not isinstance(text, str):
        if isinstance(text, (int, float)) and not isinstance(text, bool) and math.isfinite(text):
            return _bare_number_score(float(text))
        return None
    scaled = _SCALED_RE.search(text)
    if scaled:
        value, scale = float(scaled.group(1)), float(scaled.group(2))
        if scale > 0 and 0 <= value <= scale:
            return 100.0 * value / scale
    for match in _NUMBER_RE.finditer(text):
        score = _bare_number_score(float(match.group(1)))
        if score is not None:
            return score
    words = _LEVEL_RE.findall(text)
    if words:
        return level_to_score(LEVELS.index(words[-1].lower()) + 1)
    return None


def parse_yes_no(text: object) -> str | None:
    """Free-text answer -> "yes" / "no" (first such word), or None."""
    if isinstance(text, bool):
        return "yes" if text else "no"
    if not isinstance(text, str):
        return None
    match = _YES_NO_RE.search(text)
    return match.group(1).lower() if match else None
