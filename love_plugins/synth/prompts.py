"""Prompt, correspondence and QA text of the synthetic suite, in LOVE's wording.

The prompt describes five attributes of a scene; a generator of lower quality is more likely to
have ignored some of them, i.e. the prompt then describes attributes the video does not show. The
correspondence target is a fixed function of how many of the five still match.
"""

from __future__ import annotations

import numpy as np

from love_plugins.synth.degrade import level_word
from love_plugins.synth.scene import BACKGROUNDS, COUNTS, MOTIONS, OBJECT_COLORS, SHAPES, Scene

ATTRIBUTES: tuple[str, ...] = ("count", "color", "shape", "motion", "background")
DIMENSIONS: tuple[str, ...] = ("object", "count", "color", "motion", "scene")
MATCHES: tuple[str, ...] = ("full", "partial", "none")

PERCEPTION_QUESTION = "How is the quality of the video?"
CORRESPONDENCE_QUESTION = (
    "How would you rate the correspondence of this video and its prompt? prompt:{prompt}"
)

_VALUES: dict[str, tuple] = {
    "count": COUNTS,
    "color": tuple(OBJECT_COLORS),
    "shape": SHAPES,
    "motion": MOTIONS,
    "background": tuple(BACKGROUNDS),
}
_NUMBERS = {1: "one", 2: "two", 3: "three"}
_MOTION_PHRASES = {
    "left": "moving left",
    "right": "moving right",
    "up": "moving up",
    "down": "moving down",
    "still": "standing still",
}

CORRESPONDENCE_BEST = 90.0
CORRESPONDENCE_WORST = 10.0


def scene_attributes(scene: Scene) -> dict:
    """The five prompt attributes of a scene."""
    return {name: getattr(scene, name) for name in ATTRIBUTES}


def describe(attributes: dict) -> str:
    """Prompt text, e.g. 'two red circles moving left on a gray background'."""
    return describe_with_spans(attributes)[0]


def describe_with_spans(attributes: dict) -> tuple[str, dict[str, tuple[int, int]]]:
    """`describe`'s text and, per attribute, the character span of the words that state it
    ("two", "red", "circles", "moving left", "gray"; "a" states a count of one)."""
    count = attributes["count"]
    pieces = [
        ("a" if count == 1 else _NUMBERS[count], "count"), (" ", None),
        (attributes["color"], "color"), (" ", None),
        (attributes["shape"] + ("" if count == 1 else "s"), "shape"), (" ", None),
        (_MOTION_PHRASES[attributes["motion"]], "motion"), (" on a ", None),
        (attributes["background"], "background"), (" background", None),
    ]
    text, spans = "", {}
    for piece, attribute in pieces:
        if attribute:
            spans[attribute] = (len(text), len(text) + len(piece))
        text += piece
    return text, spans


def correspondence_mos(matched: int, total: int = len(ATTRIBUTES)) -> float:
    """Correspondence MOS = 10 + 80 * matched / total: 90 for a faithful video, 10 for an unrelated one."""
    return round(CORRESPONDENCE_WORST + (CORRESPONDENCE_BEST - CORRESPONDENCE_WORST) * matched / total, 4)


def match_probabilities(quality: float) -> dict[str, float]:
    """P(full, partial, none) for a generator of quality q: full = 0.05 + 0.8q, none = 0.02 + 0.5(1-q)^2."""
    full = 0.05 + 0.8 * quality
    none = 0.02 + 0.5 * (1.0 - quality) ** 2
    return {"full": full, "partial": 1.0 - full - none, "none": none}


def sample_prompt(rng: np.random.Generator, scene: Scene, quality: float) -> dict:
    """Draw how well the video follows its prompt and write the prompt.

    Returns {"prompt", "spans" (character span of each attribute in the prompt, see
    `describe_with_spans`), "match" (full/partial/none), "changed" (attributes the video got wrong),
    "described" (the attributes as the prompt states them), "mos"}. Partial changes 1 or 2 of the
    five attributes; none changes all five.
    """
    probs = match_probabilities(quality)
    match = str(rng.choice(MATCHES, p=[probs[m] for m in MATCHES]))
    if match == "full":
        changed: list[str] = []
    elif match == "partial":
        k = int(rng.integers(1, 3))
        changed = sorted(rng.choice(ATTRIBUTES, size=k, replace=False).tolist(), key=ATTRIBUTES.index)
    else:
        changed = list(ATTRIBUTES)
    described = scene_attributes(scene)
    for name in changed:
        described[name] = _other(rng, name, described[name])
    prompt, spans = describe_with_spans(described)
    return {
        "prompt": prompt,
        "spans": spans,
        "match": match,
        "changed": changed,
        "described": described,
        "mos": correspondence_mos(len(ATTRIBUTES) - len(changed)),
    }


def _other(rng: np.random.Generator, attribute: str, value):
    """A value of the attribute different from `value` (native Python type for JSON)."""
    choices = [v for v in _VALUES[attribute] if v != value]
    picked = choices[int(rng.integers(len(choices)))]
    return int(picked) if attribute == "count" else str(picked)


# The scene attribute that each QA dimension asks about.
_DIMENSION_ATTRIBUTE = {"object": "shape", "count": "count", "color": "color", "motion": "motion", "scene": "background"}


def _value_words(dimension: str, value) -> str:
    """How a question or answer writes an attribute value: "two", "moving left", "red"."""
    return {"count": _NUMBERS, "motion": _MOTION_PHRASES}.get(dimension, {}).get(value, str(value))


def sample_question(rng: np.random.Generator, scene: Scene, answer_yes: bool, dimension: str | None = None) -> dict:
    """One yes/no question about the true scene with the requested answer, tagged with its dimension.

    The dimension is drawn uniformly unless given; a "no" question names a value the scene does not have.
    "span" is the character span of the value's words in the question ("red", "moving left").
    """
    dimension = dimension or str(rng.choice(DIMENSIONS))
    attribute = _DIMENSION_ATTRIBUTE[dimension]
    true_value = getattr(scene, attribute)
    value = true_value if answer_yes else _other(rng, attribute, true_value)
    words = _value_words(dimension, value)
    plural = scene.count > 1
    if dimension == "object":
        question = f"Is there a {words} in the video?"
    elif dimension == "count":
        question = (
            "Is there exactly one object in the video?"
            if value == 1
            else (f"Are there exactly {words} objects in the video?")
        )
    elif dimension == "color":
        question = f"Is there a {words} object in the video?"
    elif dimension == "motion":
        subject = "Are the objects" if plural else "Is the object"
        question = f"{subject} {words}?"
    else:
        question = f"Is the background {words}?"
    start = question.index(f" {words}") + 1
    return {"question": question, "answer": "Yes" if answer_yes else "No", "dimension": dimension,
            "span": (start, start + len(words))}


def sample_open_question(rng: np.random.Generator, scene: Scene, dimension: str | None = None) -> dict:
    """One open question about the true scene and its answer sentence, e.g. "What color is the
    background?" -> "The answer is gray." (`value`: "gray"); the dimension is drawn uniformly unless
    given, as for the yes/no questions. The value comes after a fixed lead-in, so it is written with its leading
    space and is one token for the nano tokenizer, as in the captions.

    Used in love-nano's stage 0 only, as the short-answer VQA data of VLM pre-training: naming the
    attribute a question asks for is the step a yes/no answer builds on, and gives the model more
    signal per clip than one yes/no bit.
    """
    dimension = dimension or str(rng.choice(DIMENSIONS))
    value = _value_words(dimension, getattr(scene, _DIMENSION_ATTRIBUTE[dimension]))
    objects = "the objects" if scene.count > 1 else "the object"
    verb = "are" if scene.count > 1 else "is"
    question = {
        "object": f"What shape {verb} {objects}?",
        "count": "How many objects are in the video?",
        "color": f"What color {verb} {objects}?",
        "motion": f"How {verb} {objects} moving?",
        "scene": "What color is the background?",
    }[dimension]
    return {"question": question, "answer": f"The answer is {value}.", "value": value, "dimension": dimension}


def perception_conversation(mos: float) -> list[dict]:
    """LOVE's perception question and level sentence."""
    return [
        {"from": "human", "value": PERCEPTION_QUESTION},
        {"from": "gpt", "value": f"The quality of the video is {level_word(mos)}."},
    ]


def correspondence_conversation(prompt: str, mos: float) -> list[dict]:
    """LOVE's correspondence question (prompt inlined) and level sentence."""
    return [
        {"from": "human", "value": CORRESPONDENCE_QUESTION.format(prompt=prompt)},
        {"from": "gpt", "value": f"The correspondence of the video and its prompt is {level_word(mos)}."},
    ]


def qa_conversation(question: str, answer: str) -> list[dict]:
    """A yes/no QA turn."""
    return [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
