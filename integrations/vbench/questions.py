"""Yes/no questions for `love_task_accuracy`, built from a prompt and what is known about it.

Every template asks whether the video shows something the prompt asked for, so the expected answer
is always "yes"; a video's task accuracy is the share of its questions LOVE's QA head answers "yes".
Entries that carry their own QA pairs (`love_qa`, e.g. the AIGVE-60K suite) are asked those instead,
with their own reference answers.

Templates (``{a}`` is "a" or "an"; one question per line of this table):

| source | key(s) | question |
|---|---|---|
| VBench `object_class` | object | Is there {a} {object} in the video? (Are there {object} in the video? for scissors, skis) |
| VBench `multiple_objects` | object = "A and B" | Is there {a} {A} in the video? / ... {B} ... (one per object) |
| VBench `color` | color (+ object read off the prompt) | Is there {a} {color} {object} in the video? |
| VBench `scene` | scene.scene | Does the video take place in {a} {scene}? |
| VBench `spatial_relationship` | object_a, relationship, object_b | Is the {object_a} {relationship} the {object_b}? |
| VBench `appearance_style` | appearance_style | Is the video in the style "{style}"? |
| VBench `human_action` | action read off "A person is {action}" (a Kinetics label) | Does the video show a person doing "{action}"? |
| VBench `temporal_style` | style = prompt text after its last comma | Does the video show the camera or motion effect "{style}"? |
| generic `count` | count (+ object, else "object") | Is there exactly one {object} in the video? / Are there exactly {n} {object}s in the video? |
| generic `color` | color (no object) | Is there {a} {color} object in the video? |
| generic `shape` / `object` | shape or object | Is there {a} {shape} in the video? |
| generic `motion` | motion (left/right/up/down/still) | Is the object moving {motion}? (Are the objects ... when count > 1) |
| generic `action` | action | Does the video show {action}? |
| generic `background` | background | Is the background {background}? |
| none of the above | prompt | Does the video match the description "{prompt}"? (can be switched off) |

The generic keys match the synthetic suite's wording (`love_plugins.synth.prompts`), on which the
demonstration model love-nano was trained.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = [
    "QUESTION_TEMPLATES",
    "article",
    "questions_for_entry",
    "questions_from_attributes",
    "questions_from_auxiliary",
]

QUESTION_TEMPLATES: dict[str, str] = {
    "object_class": "Is there {a} {object} in the video?",
    "object_class_plural": "Are there {object} in the video?",
    "color": "Is there {a} {color} {object} in the video?",
    "scene": "Does the video take place in {a} {scene}?",
    "spatial_relationship": "Is the {object_a} {relationship} the {object_b}?",
    "appearance_style": 'Is the video in the style "{style}"?',
    "human_action": 'Does the video show a person doing "{action}"?',
    "temporal_style": 'Does the video show the camera or motion effect "{style}"?',
    "count_one": "Is there exactly one {object} in the video?",
    "count_many": "Are there exactly {number} {objects} in the video?",
    "motion_one": "Is the {object} {motion}?",
    "motion_many": "Are the {objects} {motion}?",
    "action": "Does the video show {action}?",
    "background": "Is the background {background}?",
    "fallback": 'Does the video match the description "{prompt}"?',
}

_NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
            9: "nine", 10: "ten"}
_MOTIONS = {"left": "moving left", "right": "moving right", "up": "moving up", "down": "moving down",
            "still": "standing still"}
_ARTICLES = re.compile(r"^(a|an|the|one)\s+", re.IGNORECASE)


def article(word: str) -> str:
    """'a' or 'an' by the first letter (good enough for object and scene names)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _clean(text: str) -> str:
    return " ".join(str(text).split()).strip().rstrip(".")


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _q(kind: str, dimension: str, **fields) -> dict:
    return {"question": QUESTION_TEMPLATES[kind].format(**fields), "answer": "yes", "dimension": dimension}


# Nouns that are plural only (COCO's, as in VBench's object list): "Are there scissors", not "Is there a".
PLURAL_ONLY = {"scissors", "skis", "glasses", "pants", "trousers", "binoculars", "tongs"}


def _there_is(thing: str, dimension: str) -> dict:
    thing = _ARTICLES.sub("", _clean(thing))
    if thing.lower() in PLURAL_ONLY:
        return _q("object_class_plural", dimension, object=thing)
    return _q("object_class", dimension, a=article(thing), object="TV" if thing == "tv" else thing)


def _object_of_color_prompt(prompt: str, color: str) -> str:
    """'a red bicycle' + 'red' -> 'bicycle' (what VBench's colour prompts name besides the colour)."""
    text = _ARTICLES.sub("", _clean(prompt))
    text = re.sub(rf"\b{re.escape(color)}\b", "", text, count=1, flags=re.IGNORECASE)
    return " ".join(text.split()) or "object"


def questions_from_auxiliary(prompt: str, auxiliary_info: Mapping, dimensions: Sequence[str] = ()) -> list[dict]:
    """Questions from one VBench full-info entry: `auxiliary_info` keyed by VBench dimension.

    `dimensions` (the entry's `dimension` list) adds the two dimensions VBench keeps in the prompt
    text itself: `human_action` ("A person is ...") and `temporal_style` (", zoom in").
    """
    out: list[dict] = []
    aux = dict(auxiliary_info or {})
    if "object_class" in aux:
        out.append(_there_is(aux["object_class"]["object"], "object_class"))
    if "multiple_objects" in aux:
        for thing in re.split(r"\s+and\s+", _clean(aux["multiple_objects"]["object"])):
            if thing:
                out.append(_there_is(thing, "multiple_objects"))
    if "color" in aux:
        color = _clean(aux["color"]["color"])
        thing = _object_of_color_prompt(prompt, color)
        out.append(_q("color", "color", a=article(color), color=color, object=thing))
    if "scene" in aux:
        scene = aux["scene"].get("scene", aux["scene"])
        scene = _clean(scene["scene"] if isinstance(scene, Mapping) else scene)
        out.append(_q("scene", "scene", a=article(scene), scene=scene))
    if "spatial_relationship" in aux:
        rel = aux["spatial_relationship"].get("spatial_relationship", aux["spatial_relationship"])
        out.append(_q("spatial_relationship", "spatial_relationship", object_a=_clean(rel["object_a"]),
                      relationship=_clean(rel["relationship"]), object_b=_clean(rel["object_b"])))
    if "appearance_style" in aux:
        style = aux["appearance_style"].get("appearance_style", "")
        if style:
            out.append(_q("appearance_style", "appearance_style", style=_clean(style)))
    dims = {d.lower() for d in dimensions}
    if "human_action" in dims:
        match = re.search(r"\bperson is\s+(.+)$", _clean(prompt), flags=re.IGNORECASE)
        if match:
            out.append(_q("human_action", "human_action", action=match.group(1)))
    if "temporal_style" in dims and "," in prompt:
        style = _clean(prompt.rsplit(",", 1)[1])
        if style:
            out.append(_q("temporal_style", "temporal_style", style=style))
    return out


def questions_from_attributes(attributes: Mapping) -> list[dict]:
    """Questions from generic attributes: count, color, shape/object, motion, action, background.

    E.g. the synthetic suite's `prompt_described` {count: 2, color: red, shape: circle, motion: left,
    background: gray} gives five questions in the synthetic suite's own wording.
    """
    out: list[dict] = []
    count = attributes.get("count")
    count = int(count) if count not in (None, "") else None
    thing = attributes.get("object") or attributes.get("shape")
    if count is not None:  # counts an explicit `object` noun, else "objects" (a shape is asked on its own)
        noun = _clean(attributes["object"]) if attributes.get("object") else "object"
        if count == 1:
            out.append(_q("count_one", "count", object=noun))
        else:
            out.append(_q("count_many", "count", number=_NUMBERS.get(count, str(count)), objects=_plural(noun)))
    if attributes.get("color"):
        color = _clean(attributes["color"])
        out.append(_q("color", "color", a=article(color), color=color, object="object"))
    if thing:
        out.append(_there_is(thing, "object"))
    if attributes.get("motion"):
        motion = _clean(attributes["motion"])
        motion = _MOTIONS.get(motion, motion)
        if count is not None and count > 1:
            out.append(_q("motion_many", "motion", objects="objects", motion=motion))
        else:
            out.append(_q("motion_one", "motion", object="object", motion=motion))
    if attributes.get("action"):
        out.append(_q("action", "action", action=_clean(attributes["action"])))
    if attributes.get("background"):
        out.append(_q("background", "scene", background=_clean(attributes["background"])))
    return out


def fallback_question(prompt: str) -> dict:
    """The prompt quoted whole: a prompt is a phrase or a sentence ("A raccoon is playing the guitar."), which
    no "Does the video show ...?" frame reads as English for both."""
    return _q("fallback", "overall", prompt=_clean(prompt).replace('"', "'"))


def questions_for_entry(entry: Mapping, fallback: bool = True) -> list[dict]:
    """The QA pairs `love_task_accuracy` asks about the videos of one full-info entry.

    Order of precedence: the entry's own `love_qa` list ({question, answer, dimension?}); else
    templates from `auxiliary_info`, the prompt-borne dimensions and `attributes`; else (when
    `fallback`) "Does the video show {prompt}?". Answers are normalised to "yes"/"no".
    """
    prompt = entry.get("prompt_en") or entry.get("prompt") or ""
    own = entry.get("love_qa")
    if own:
        pairs = []
        for qa in own:
            answer = str(qa.get("answer", "yes")).strip().lower().rstrip(".")
            if answer not in ("yes", "no"):
                raise ValueError(f"QA answer must be yes or no, got {qa.get('answer')!r} for {qa.get('question')!r}")
            pairs.append({"question": str(qa["question"]), "answer": answer,
                          "dimension": str(qa.get("dimension") or "qa")})
        return pairs
    dims = entry.get("dimension") or []
    dims = [dims] if isinstance(dims, str) else list(dims)
    out = questions_from_auxiliary(prompt, entry.get("auxiliary_info") or {}, dims)
    if entry.get("attributes"):
        out += questions_from_attributes(entry["attributes"])
    if not out and fallback and prompt.strip():
        out.append(fallback_question(prompt))
    return out
