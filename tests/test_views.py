"""Perception's test-time views: the plan, the transforms, and the scorer's mean over them on real mp4s."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

import love_plugins
from love_plugins.synth import generate_suite
from love_plugins.video import read_video
from love_plugins.views import VIEW_TRANSFORMS, View, apply_view, samplings_needed, view_plan


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("views")
    generate_suite(root, num_videos=4, seed=5)
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    return [str(root / r["video"]) for r in rows], [r["prompt"] for r in rows], [r["question"] for r in rows]


def test_view_plan_cycles_transforms_then_samplings():
    assert view_plan(1) == [View(0, "identity")]
    plan = view_plan(6)
    assert [v.transform for v in plan] == list(VIEW_TRANSFORMS) + ["identity", "hflip"]
    assert [v.sampling for v in plan] == [0, 0, 0, 0, 1, 1]
    assert [samplings_needed(n) for n in (1, 4, 5, 8, 9)] == [1, 1, 2, 2, 3]
    for bad in (0, -1, 2.0, True, "8"):
        with pytest.raises(ValueError, match="views"):
            view_plan(bad)


def test_apply_view_flips_the_named_axis_of_both_streams():
    frames = torch.arange(2 * 3 * 4 * 5 * 3).reshape(2, 3, 4, 5, 3)  # (B, N, S_h, S_w, 3)
    fragments = torch.arange(2 * 1 * 3 * 4 * 5 * 3).reshape(2, 1, 3, 4, 5, 3)  # (B, C, T, M_h, M_w, 3)
    f, g = apply_view(frames, fragments, "identity")
    assert f is frames and g is fragments
    f, g = apply_view(frames, fragments, "hflip")
    assert torch.equal(f[:, :, :, 0], frames[:, :, :, -1]) and torch.equal(g[..., 0, :], fragments[..., -1, :])
    f, g = apply_view(frames, fragments, "vflip")
    assert torch.equal(f[:, :, 0], frames[:, :, -1]) and torch.equal(g[:, :, :, 0], fragments[:, :, :, -1])
    f, g = apply_view(frames, fragments, "reverse")  # frame order and each clip's time axis
    assert torch.equal(f[:, 0], frames[:, -1]) and torch.equal(g[:, :, 0], fragments[:, :, -1])
    assert torch.equal(apply_view(frames[0], fragments[0], "hflip")[0], frames[0].flip(-2))  # without a batch
    with pytest.raises(ValueError, match="unknown view transform"):
        apply_view(frames, fragments, "rotate")


def test_perception_is_the_mean_over_views(suite):
    """Two paths agree: the scorer's multi-view score equals the mean of single-view scores of the views
    built by hand (mirrored / reversed decoded samples, and a second fragment sampling decoded with seed + 1)."""
    videos, _, _ = suite
    single = love_plugins.load("tiny-random", perception_views=1)
    sampler = single.sampler
    own = [read_video(v, sampler) for v in videos]
    other = [read_video(v, dataclasses.replace(sampler, seed=sampler.seed + 1)) for v in videos]
    by_hand = []
    for view in view_plan(6):
        samples = [dataclasses.replace(s, **dict(zip(("frames", "fragments"),
                                                     apply_view(s.frames, s.fragments, view.transform))))
                   for s in (own if view.sampling == 0 else other)]
        by_hand.append([r.perception for r in single.score_samples(samples, tasks=("perception",))])
    expected = torch.tensor(by_hand, dtype=torch.float64).mean(0)
    multi = love_plugins.load("tiny-random", perception_views=6, batch_size=3)
    got = torch.tensor([r.perception for r in multi.score(videos, tasks=("perception",))], dtype=torch.float64)
    assert torch.allclose(got, expected, atol=1e-4)
    assert not torch.allclose(got, torch.tensor(by_hand[0], dtype=torch.float64), atol=1e-4)  # the views differ
    # the already-decoded path decodes the extra sampling from the sample's file
    from_samples = multi.score_samples(own, tasks=("perception",))
    assert [r.perception for r in from_samples] == pytest.approx(got.tolist(), abs=1e-4)


def test_views_touch_perception_only(suite):
    videos, prompts, questions = suite
    single = love_plugins.load("tiny-random").score(videos, prompts=prompts, questions=questions)
    multi_scorer = love_plugins.load("tiny-random", perception_views=4)
    multi = multi_scorer.score(videos, prompts=prompts, questions=questions)
    for a, b in zip(single, multi):
        assert a.correspondence == b.correspondence and a.qa_p_yes == b.qa_p_yes
        assert a.perception != b.perception
        assert b.perception_level in multi_scorer.model.config.level_words
    assert multi_scorer.describe()["perception_views"] == 4


def test_default_views_come_from_the_model_config_and_key_the_cache(suite, tmp_path):
    videos, _, _ = suite
    assert love_plugins.load("tiny-random").perception_views == 1
    nano = love_plugins.load("love-nano")
    assert nano.perception_views == nano.model.config.perception_views == 8
    assert love_plugins.load("love-nano", perception_views=1).perception_views == 1
    with pytest.raises(ValueError, match="views"):
        love_plugins.load("tiny-random", perception_views=0)
    one = love_plugins.load("tiny-random", cache_dir=tmp_path).score(videos[:1])[0]
    four = love_plugins.load("tiny-random", cache_dir=tmp_path, perception_views=4).score(videos[:1])[0]
    assert one.perception != four.perception  # another key: not the one-view score from the cache


def test_cli_refuses_a_bad_view_count(suite, tmp_path, capsys):
    from love_plugins.cli import main as cli_main

    videos, _, _ = suite
    out = tmp_path / "scores.jsonl"
    assert cli_main(["score", videos[0], "--model", "tiny-random", "--perception-views", "0", "--out", str(out)]) == 2
    assert "--perception-views: must be between 1 and 64" in capsys.readouterr().err and not out.exists()


def test_a_bad_file_fails_alone_with_views(suite, tmp_path):
    videos, _, _ = suite
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    results = love_plugins.load("tiny-random", perception_views=5).score([videos[0], str(broken)])
    assert results[0].ok and not results[1].ok and "broken.mp4" in results[1].error
