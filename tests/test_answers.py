"""Reading the answers real LMMs write (integrations.lmms_eval.answers): one table of rating answers and one of
yes/no answers, in the styles of GPT-4o, Gemini, Qwen-VL, InternVL, LLaVA and VideoLLaMA outputs, each with
the reading the README documents. None = unparsed."""

from __future__ import annotations

import pytest

from integrations.lmms_eval.answers import parse_rating, parse_yes_no

RATINGS = [
    # -- one word or one number, as LLaVA / VideoLLaMA often answer
    ("good", 70), ("Good.", 70), ("**Good**", 70), ("Excellent!", 90), ("bad", 10), ("Poor", 30), ("fair", 50),
    ("`fair`", 50), ("4", 70), ("**4**", 70), ("72", 72), ("8", 80), ("1", 10), ("0.5", 10), ("5", 90),
    ("(3)", 50), ("4.", 70), ("100", 100), ("1000", None), ("-3", None),
    # -- scales
    ("4/5", 80), ("3.5/5", 70), ("7 out of 10", 70), ("72.5/100", 72.5), ("8/10", 80), ("9 / 10", 90),
    ("The quality of the video is good. Score: 72.41/100", 72.41), ("I would rate it 4 out of 5.", 80),
    ("Rating: 3/5 (fair).", 60), ("12/24 frames are blurry, overall good", 70),
    # -- named numbers (GPT-4o, Gemini, JSON-ish outputs)
    ("Rating: 4", 70), ("rating: 2", 30), ("Score: 85", 85), ("a score of 72", 72), ("I'd rate it 3", 50),
    ("I would give it a 4.", 70), ('{"rating": 4}', 70), ('{"score": 72, "reason": "sharp and smooth"}', 72),
    ("```json\n{\"quality_score\": 6}\n```", 60), ('{"quality": 4}', 70), ("Quality: 5", 90),
    ("**Rating:** 4", 70), ("Overall score: 8", 80),
    ("Visual quality: 4, motion: 2, overall score: 3", 50), ("Visual quality: 4, motion quality: 2", None), ("Sharpness: 4, motion: 2", None),
    ("Score: 3. Score: 5.", None),
    # -- level words in sentences (InternVL, Qwen-VL)
    ("The quality of the video is good.", 70), ("The quality of the video is excellent.", 90),
    ("The correspondence of the video and its prompt is poor.", 30), ("The video quality is fair.", 50),
    ("Overall, the video quality is bad due to heavy artifacts.", 10),
    ("The video's quality is excellent, with sharp details.", 90),
    # -- incidental numbers are not ratings; a level word beats them
    ("The video shows 2 people riding bikes; the quality is good.", 70),
    ("The video depicts 12 birds over 3 houses", None),
    ("The video is 10 seconds long, shot in 2023 at 24 fps. It looks fair.", 50),
    ("In frame 5 the car disappears; the quality is poor.", 30), ("There are 3 cats.", None),
    ("The clip is 1280x720 at 30fps.", None), ("2 dogs run across a field. Quality: excellent.", 90),
    # -- negation and hedging: never flipped
    ("not good", 30), ("Not bad", 50), ("not poor", 50), ("not fair", 30), ("not excellent", 70),
    ("The quality is not good.", 30), ("It isn't bad.", 50), ("not very good", 30), ("far from excellent", 70),
    ("hardly good", 30), ("neither good nor bad", 50), ("It is neither excellent nor poor.", 50),
    ("good, though not excellent", 70), ("not bad, rather good", 70), ("Good but not excellent.", 70),
    # -- ranges
    ("between fair and good", 60), ("fair to good", 60), ("good-excellent", 80), ("poor or fair", 40),
    # -- reasoning before the verdict (GPT-4o / Gemini style)
    ("The colors are vivid but there is flickering. Overall: fair.", 50),
    ("Although the motion is poor, overall the quality is good.", 70),
    ("Final answer: excellent", 90), ("Answer: poor", 30), ("In summary, the video is good.", 70),
    ("I would rate it excellent.", 90), ("Level: good", 70),
    ("The colors are excellent but the motion is bad.", None),
    ("The quality is good. The quality is bad.", None),
    # -- Chinese
    ("好", 70), ("一般", 50), ("优秀", 90), ("很差", 10), ("较差", 30), ("视频质量良好。", 70), ("不好", 30),
    ("非常好", 90),
    # -- nothing to read
    ("", None), ("I cannot evaluate this video.", None), ("The video shows a cat drinking water.", None),
]

YES_NO = [
    ("Yes", "yes"), ("yes", "yes"), ("Yes.", "yes"), ("**Yes**", "yes"), ("YES!", "yes"), ("No", "no"),
    ("no.", "no"), ("**No**", "no"), ("No, the cat is not drinking.", "no"), ("Yes, the ball is red.", "yes"),
    ("Yes, there are no dogs in the video.", "yes"), ("There is no doubt: yes.", "yes"),
    ("No doubt, the cat is drinking. Yes.", "yes"), ("The answer is yes.", "yes"), ("The answer is no.", "no"),
    ("Answer: no", "no"), ("**Answer:** Yes", "yes"), ("Final answer: No", "no"),
    ("The cat is drinking from a bowl, so yes.", "yes"), ("No cat appears in the video. So, no.", "no"),
    ("There is no cat in the video; therefore, no.", "no"),
    ("I can't say yes or no.", None), ("Yes. No.", None), ("Maybe", None), ("A", None), ("", None),
    ("The cat is drinking.", None), ('{"answer": "yes"}', "yes"), ("```\nNo\n```", "no"), ("是", "yes"),
    ("是的", "yes"), ("否", "no"), ("不是。", "no"), ("no, no.", "no"), ("Yes - the dog is running.", "yes"),
    ("There is no visible ball.", None),
]


def test_the_tables_are_large():
    assert len(RATINGS) + len(YES_NO) >= 100


@pytest.mark.parametrize("text, expected", RATINGS, ids=[f"r{i}" for i in range(len(RATINGS))])
def test_rating_answers(text, expected):
    got = parse_rating(text)
    assert got == (None if expected is None else pytest.approx(expected)), text


@pytest.mark.parametrize("text, expected", YES_NO, ids=[f"y{i}" for i in range(len(YES_NO))])
def test_yes_no_answers(text, expected):
    assert parse_yes_no(text) == expected, text


def test_negation_never_flips_the_meaning():
    """A negated level is never read as that level or as one on its side of the scale."""
    for level, score in (("bad", 10), ("poor", 30), ("fair", 50), ("good", 70), ("excellent", 90)):
        negated = parse_rating(f"not {level}")
        assert negated != score
        if level in ("bad", "poor"):
            assert negated > score
        if level in ("good", "excellent"):
            assert negated < score
