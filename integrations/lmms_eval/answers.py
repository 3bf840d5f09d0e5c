"""How a model's free-text answer becomes a number or a yes/no (pure Python, no heavy imports).

Answers are read as real LMMs write them: with markdown (`**Good**`), JSON-ish fields (`{"rating": 4}`),
reasoning before the verdict, counts and years in the description, negation and hedging. Markdown,
case and surrounding punctuation are ignored throughout.

Rating answers -> a score on the 0-100 MOS scale (`parse_rating`); the first rule that applies wins:

1. **A number given as a rating**: with a scale, ``x/N`` or ``x out of N`` for N in 5, 10, 100
   (``"4/5"`` -> 80, ``"3.5/5"`` -> 70, ``"7 out of 10"`` -> 70, ``"72.5/100"`` -> 72.5); or named,
   ``Rating: 4``, ``"score": 72``, ``a score of 72``, ``I'd rate it 3``, ``I would give it a 4``
   (read on the smallest usual scale that holds it: 0-5 is a level, below 1 counting as 1, mapped as
   in rule 3; 5-10 is a 0-10 rating, times 10; 10-100 is already on the 0-100 scale). Several named or
   scaled ratings that disagree are read from the one marked ``overall``/``final``, else unparsed.
2. **The answer is only a number** (``"4"``, ``"**72**"``): read as in rule 1.
   Any other number is not a rating: a count, a duration, a year or a frame number is ignored.
3. **LOVE's level words**, ``bad, poor, fair, good, excellent`` = levels 1-5, mapped to the centre of
   their band of 20 on the MOS scale, ``20 * L - 10`` (bad 10, poor 30, fair 50, good 70, excellent 90).
   A level in a verdict (``the quality is good``, ``overall: fair``, ``Answer: poor``, ``I would rate
   it excellent``) wins over levels elsewhere in the answer. Otherwise:
   - negated levels have fixed readings that never flip the meaning: ``not bad`` and ``not poor`` ->
     fair, ``not fair`` and ``not good`` -> poor, ``not excellent`` -> good (also ``isn't``, ``not very``,
     ``hardly``, ``far from``); ``neither X nor Y`` -> fair;
   - a negated level beside a plain one bounds it: ``good, though not excellent`` -> good, ``not bad,
     rather good`` -> good;
   - a range, ``between fair and good``, ``fair to good``, ``fair-good``, ``fair or good`` -> the mean of
     the two (60);
   - distinct plain levels otherwise (``the colours are excellent but the motion is bad``) contradict
     each other: unparsed.
   Chinese level words are read too: 很差/极差 bad, 差/较差 poor, 一般/中等 fair, 好/很好/较好/良好 good,
   优秀/非常好/极好 excellent; 不好 -> poor.
4. Otherwise the answer is **unparsed**: `parse_rating` returns None; the task counts it in ``parse_rate``
   and scores it as the scale midpoint (50), so every answered video stays in the correlation.

Yes/no answers (`parse_yes_no`): the answer's verdict, not the first occurrence of the word. A "yes" or
"no" counts as an answer where it stands alone (``Yes.``, ``**No**``, ``No, the cat is not drinking``,
``the answer is yes``), not where "no" is a determiner (``no doubt``, ``no cat``); ``yes or no`` is not
an answer. A verdict (``Answer: no``, ``the answer is yes``, ``so, yes``) wins; otherwise all answers
in the text must agree, else (``Yes. No.``) it is unparsed; so is a text with none (``Maybe``). Chinese
是/是的/对/有 and 否/不是/不/没有/不对 are read when they are the whole answer. Unparsed counts as wrong.

Correlations (SRCC/KRCC) do not depend on the affine band-centre choice; PLCC on raw scores sees the
level-band centres as a step function.
"""

from __future__ import annotations

import math
import re

LEVELS: tuple[str, ...] = ("bad", "poor", "fair", "good", "excellent")
UNPARSED_SCORE = 50.0
# How a model class of this package answers a request it failed on (unreadable video, out of memory, ...):
# the tasks count such answers in n_failed and keep them out of every metric; they are never read as answers.
FAILURE_PREFIX = "[failed] "
SCALES = (5.0, 10.0, 100.0)

_NUMBER = r"[-+]?\d+(?:\.\d+)?"
# Readings of negated levels ("not bad" is fair): never the level itself nor its side of the scale.
NEGATED = {"bad": "fair", "poor": "fair", "fair": "poor", "good": "poor", "excellent": "good"}
_CHINESE_LEVELS = (("非常好", "excellent"), ("极好", "excellent"), ("优秀", "excellent"), ("很好", "good"),
                   ("很差", "bad"), ("极差", "bad"), ("不好", "not good"), ("较差", "poor"), ("良好", "good"),
                   ("较好", "good"), ("一般", "fair"), ("中等", "fair"), ("差", "poor"), ("好", "good"))

_SCALED_RE = re.compile(rf"(?<![\w.])({_NUMBER})\s*(?:/|out\s+of)\s*({_NUMBER})(?![\w.]*\d)")
# A number named as a rating: a rating word, at most a few filler words, then the number.
_NAMED_RE = re.compile(
    r"(?P<mark>\b(?:overall|final)\b[\w\s]{0,20}?)?"
    r"\b(?:rating|rated|rate|score|scored|grade|graded|give|gave|assign|quality)\b"
    rf"[\s\"':=*-]*(?:(?:it|this|the|video|a|an|of|is|as|would|be|at|to|with|score|rating)\b[\s\"':=*-]*){{0,5}}"
    rf"(?P<value>{_NUMBER})(?![\d.]*\s*(?:/|out\s+of)\s*\d)(?!\s*(?:%|seconds?|s\b|fps|frames?|x\d))"
)
_LEVEL_WORD = "|".join(LEVELS)
_NEGATION = r"(?:not(?:\s+(?:very|so|too|that|particularly|really|quite))?|isn't|is\s+not|wasn't|hardly|never|far\s+from)"
_NEGATED_RE = re.compile(rf"\b{_NEGATION}\s+(?:an?\s+)?({_LEVEL_WORD})\b")
_NEITHER_RE = re.compile(rf"\bneither\s+({_LEVEL_WORD})\s+nor\s+({_LEVEL_WORD})\b")
_RANGE_RE = re.compile(rf"\b(?:between\s+)?({_LEVEL_WORD})\s*(?:and|to|-|–|or|/)\s*({_LEVEL_WORD})\b")
_LEVEL_RE = re.compile(rf"\b({_LEVEL_WORD})\b")
_VERDICT_RE = re.compile(
    r"(?:\b(?:quality|correspondence|alignment|consistency)\s+(?:of\s+[\w\s]{1,40}?\s+)?(?:is|was|as|:)"
    r"|\b(?:overall|in\s+summary|in\s+conclusion|verdict|answer|final\s+answer|conclusion|level|rating|rate\s+it"
    r"|rate\s+this\s+video|would\s+say|would\s+rate\s+it|would\s+call\s+it|i\s+rate\s+it)\b)"
    rf"[\s:=*\-\"',]*(?:(?:is|was|as|be|it|a|an|very|quite|rather|fairly|overall|the)\b[\s\"',]*){{0,3}}"
    rf"({_LEVEL_WORD})\b"
)
_MARKDOWN_RE = re.compile(r"[*_`#>~|]+")


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", _MARKDOWN_RE.sub(" ", text)).strip().lower()


def level_to_score(level: float) -> float:
    """Level on the 1-5 scale (may be fractional) -> MOS-scale score ``20 * L - 10``."""
    level = min(max(float(level), 1.0), 5.0)
    return 20.0 * level - 10.0


def score_to_level(score: float) -> str:
    """MOS-scale score -> LOVE level word (equal bands of 20)."""
    index = int(min(max(float(score), 0.0), 99.999) // 20)
    return LEVELS[index]


def _word_score(word: str) -> float:
    return level_to_score(LEVELS.index(word) + 1)


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


def _agreed(values: list[float], marked: list[float]) -> float | None:
    """One reading of several: the marked (overall/final) one, else the one they all agree on, else None."""
    for pool in (marked, values):
        if pool and max(pool) - min(pool) < 1e-9:
            return pool[-1]
    return None


def _number_rating(text: str) -> float | None:
    values, marked = [], []
    for match in _SCALED_RE.finditer(text):
        value, scale = float(match.group(1)), float(match.group(2))
        if scale in SCALES and 0 <= value <= scale:
            values.append(100.0 * value / scale)
            if re.search(r"\b(?:overall|final)\b[^.;\n]{0,30}$", text[: match.start()]):
                marked.append(values[-1])
    for match in _NAMED_RE.finditer(text):
        score = _bare_number_score(float(match.group("value")))
        if score is not None:
            values.append(score)
            if match.group("mark"):
                marked.append(score)
    return _agreed(values, marked)


def _chinese(text: str) -> str:
    """Chinese level words as English ones (longest first), so the rules below read them too."""
    if not re.search(r"[\u4e00-\u9fff]", text):
        return text
    for chinese, english in _CHINESE_LEVELS:
        text = text.replace(chinese, f" {english} ")
    return text


def _level_rating(text: str) -> float | None:
    text = _chinese(text)
    verdicts = [_word_score(m.group(1)) for m in _VERDICT_RE.finditer(text)]
    if verdicts:
        return _agreed(verdicts, [])
    # Idioms first, each read and taken out of the text: "neither X nor Y", ranges, negated levels.
    idioms = [_word_score("fair") for _ in _NEITHER_RE.finditer(text)]
    text = _NEITHER_RE.sub(" ", text)
    idioms += [(_word_score(a) + _word_score(b)) / 2 for a, b in _RANGE_RE.findall(text) if a != b]
    text = _RANGE_RE.sub(lambda m: m.group(1) if m.group(1) == m.group(2) else " ", text)
    negated = [_word_score(NEGATED[m.group(1)]) for m in _NEGATED_RE.finditer(text)]
    plain = set(_LEVEL_RE.findall(_NEGATED_RE.sub(" ", text)))
    if plain:  # beside a plain level, a negated one only bounds it; anything else contradicts it
        return _word_score(plain.pop()) if len(plain) == 1 and not idioms else None
    return _agreed(idioms, []) if idioms else _agreed(negated, [])


def parse_rating(text: object) -> float | None:
    """Free-text rating answer -> score on the 0-100 scale, or None (rules in the module docstring)."""
    if not isinstance(text, str):
        if isinstance(text, (int, float)) and not isinstance(text, bool) and math.isfinite(text):
            return _bare_number_score(float(text))
        return None
    clean = _clean(text)
    score = _number_rating(clean)
    if score is not None:
        return score
    alone = re.fullmatch(rf"[\s\"'({{\[]*({_NUMBER})[\s\"'.!)}}\]]*", clean)
    if alone:
        return _bare_number_score(float(alone.group(1)))
    return _level_rating(clean)


_VERDICT_YES_NO_RE = re.compile(
    r"\b(?:answer|final\s+answer|verdict|conclusion|so|therefore|thus|hence|overall|in\s+short)\b"
    r"[\s:=\-\"',]*(?:(?:is|would\s+be|be)\b[\s:\"']*)?(yes|no)\b"
)
_CHINESE_YES = {"是", "是的", "对", "有", "对的"}
_CHINESE_NO = {"否", "不是", "不", "没有", "不对"}


def parse_yes_no(text: object) -> str | None:
    """Free-text answer -> "yes" / "no" (the answer's verdict), or None (rules in the module docstring)."""
    if isinstance(text, bool):
        return "yes" if text else "no"
    if not isinstance(text, str):
        return None
    clean = _clean(text)
    bare = clean.strip(" .。!！?？,，\"'")
    if bare in _CHINESE_YES:
        return "yes"
    if bare in _CHINESE_NO:
        return "no"
    clean = re.sub(r"\b(?:yes\s*(?:or|/)\s*no|no\s*(?:or|/)\s*yes|no\s+doubt)\b", " ", clean).strip(" \"'([{")
    verdicts = [m.group(1) for m in _VERDICT_YES_NO_RE.finditer(clean)]
    if verdicts:
        return verdicts[-1] if len(set(verdicts)) == 1 else None
    # "yes" anywhere; "no" only where it answers (first word, or before punctuation), not as a determiner.
    answers = [m.group(1) for m in re.finditer(r"\b(yes|no)\b", clean)
               if m.group(1) == "yes" or m.start() == 0 or re.match(r"\s*(?:$|[.,!?;:)\]\"'—-])", clean[m.end():])]
    return answers[0] if answers and len(set(answers)) == 1 else None
