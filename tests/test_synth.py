"""The synthetic AIGV suite: determinism, file formats, targets that follow the known truth, CLI."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from love_plugins.cli import main
from love_plugins.synth import (
    ATTRIBUTES,
    DEGRADATIONS,
    DIMENSIONS,
    GENERATOR_MODELS,
    SuiteConfig,
    combined_severity,
    correspondence_mos,
    generate_suite,
    level_word,
    perception_mos,
    plan_clip,
    read_frames,
    read_manifest,
    render_clip,
    write_mp4,
)
from love_plugins.synth.scene import BACKGROUNDS, OBJECT_COLORS, Scene, object_mask, sample_scene

SEED = 11
N = 60


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """One moderate suite shared by the format, QA and colour tests."""
    return generate_suite(tmp_path_factory.mktemp("suite"), N, SEED)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The first 8 clips of the same seed, generated on their own."""
    return generate_suite(tmp_path_factory.mktemp("small"), 8, SEED)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _drop_root(files: dict[str, bytes]) -> dict[str, bytes]:
    """meta_*.json name the absolute root, which differs between two output folders."""
    return {k: v for k, v in files.items() if not k.startswith("meta_")}


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_frames(small, tmp_path):
    again = generate_suite(tmp_path / "again", 8, SEED)
    first, second = _files(small.root), _files(again.root)
    assert _drop_root(first) == _drop_root(second)  # manifests, annotations, suite.json, mp4 bytes
    for row in read_manifest(small.root)[:3]:
        assert np.array_equal(read_frames(small.root / row["video"]), read_frames(again.root / row["video"]))


def test_worker_processes_write_the_same_files(small, tmp_path):
    parallel = generate_suite(tmp_path / "parallel", 8, SEED, workers=2)
    assert parallel.num_videos == 8
    assert _drop_root(_files(parallel.root)) == _drop_root(_files(small.root))


def test_clip_i_does_not_depend_on_number_of_clips(suite, small):
    rows_small, rows_big = read_manifest(small.root), read_manifest(suite.root)
    assert rows_small == rows_big[: len(rows_small)]
    for row in rows_small:
        assert (small.root / row["video"]).read_bytes() == (suite.root / row["video"]).read_bytes()


def test_other_seed_gives_other_clips():
    a = [plan_clip(i, 1) for i in range(10)]
    b = [plan_clip(i, 2) for i in range(10)]
    assert [p.scene for p in a] != [p.scene for p in b]
    assert [p.scene for p in a] == [plan_clip(i, 1).scene for i in range(10)]


# --- formats ------------------------------------------------------------------------------------


def test_manifests_parse_back_identically(suite):
    rows = read_manifest(suite.manifest_jsonl)
    assert rows == read_manifest(suite.manifest_csv)
    assert len(rows) == N
    with suite.manifest_csv.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert header == [
        "video",
        "prompt",
        "perception_mos",
        "correspondence_mos",
        "question",
        "answer",
        "dimension",
        "model",
        "split",
        "scene",
    ]
    for i, row in enumerate(rows):
        model = list(GENERATOR_MODELS)[i % len(GENERATOR_MODELS)]  # round-robin
        assert row["model"] == model
        assert row["video"] == f"videos/{model}/{model}_{i:05d}.mp4"
        assert row["split"] in ("train", "test")
        assert set(row["scene"]["degradations"]) == set(DEGRADATIONS)
        assert 0 <= row["perception_mos"] <= 100 and 0 <= row["correspondence_mos"] <= 100


def test_splits_are_deterministic_and_near_the_fraction(suite):
    rows = read_manifest(suite.root)
    test_share = sum(r["split"] == "test" for r in rows) / len(rows)
    assert 0.12 <= test_share <= 0.28
    assert (suite.num_train, suite.num_test) == (
        len(rows) - sum(r["split"] == "test" for r in rows),
        sum(r["split"] == "test" for r in rows),
    )
    config = SuiteConfig(test_fraction=0.5)
    assert [plan_clip(i, SEED).scene for i in range(5)] == [
        plan_clip(i, SEED, config).scene for i in range(5)
    ]


def test_love_annotations_and_meta(suite):
    rows = {r["video"]: r for r in read_manifest(suite.root)}
    for task in ("perception", "correspondence", "qa"):
        meta = json.loads(suite.meta[task].read_text())
        entry = meta[f"synthetic_{task}"]
        assert entry["data_augment"] is False and entry["repeat_time"] == 1
        assert Path(entry["root"]).is_absolute() and Path(entry["root"]) == suite.root
        seen = 0
        for split in ("train", "test"):
            lines = [json.loads(t) for t in Path(entry[f"annotation_{split}"]).read_text().splitlines()]
            seen += len(lines)
            for line in lines:
                row = rows[line["video"]]
                assert row["split"] == split and (suite.root / line["video"]).is_file()
                human, gpt = line["conversations"]
                assert human["from"] == "human" and gpt["from"] == "gpt"
                if task == "perception":
                    assert line["mos"] == row["perception_mos"]
                    assert human["value"] == "How is the quality of the video?"
                    assert gpt["value"] == f"The quality of the video is {level_word(line['mos'])}."
                elif task == "correspondence":
                    assert line["mos"] == row["correspondence_mos"]
                    assert human["value"] == (
                        "How would you rate the correspondence of this video and its "
                        f"prompt? prompt:{row['prompt']}"
                    )
                    assert (
                        gpt["value"]
                        == f"The correspondence of the video and its prompt is {level_word(line['mos'])}."
                    )
                else:
                    assert "mos" not in line
                    assert (human["value"], gpt["value"]) == (row["question"], row["answer"])
                    assert line["dimension"] == row["dimension"] and line["model"] == row["model"]
                    assert line["prompt"] == row["prompt"]
        assert seen == N
    info = json.loads(suite.suite_json.read_text())
    assert info["seed"] == SEED and info["counts"]["videos"] == N
    assert {m["name"]: m["quality"] for m in info["generator_models"]} == GENERATOR_MODELS
    assert info["config"]["width"] == 128 and "package_version" in info


def test_videos_are_real_mp4_of_the_configured_shape(suite):
    for row in read_manifest(suite.root)[:5]:
        frames = read_frames(suite.root / row["video"])
        assert frames.shape == (24, 96, 128, 3) and frames.dtype == np.uint8


# --- targets ------------------------------------------------------------------------------------


def test_level_words_use_equal_bins():
    assert [level_word(m) for m in (0, 19.9, 20, 39.9, 40, 59.9, 60, 79.9, 80, 100)] == [
        "bad",
        "bad",
        "poor",
        "poor",
        "fair",
        "fair",
        "good",
        "good",
        "excellent",
        "excellent",
    ]


def test_perception_mos_decreases_with_every_severity():
    clean = {name: 0.0 for name in DEGRADATIONS}
    assert perception_mos(clean) == 92.0
    assert perception_mos({name: 1.0 for name in DEGRADATIONS}) > 5
    rng = np.random.default_rng(0)
    for _ in range(50):
        base = {name: float(rng.uniform(0, 0.9)) for name in DEGRADATIONS}
        for name in DEGRADATIONS:
            worse = {**base, name: base[name] + 0.1}
            assert perception_mos(worse) < perception_mos(base)
            assert combined_severity(worse) > combined_severity(base)


def test_suite_perception_mos_is_the_formula_of_its_severities(suite):
    rows = read_manifest(suite.root)
    for row in rows:
        assert row["perception_mos"] == perception_mos(row["scene"]["degradations"])
    order = sorted(rows, key=lambda r: combined_severity(r["scene"]["degradations"]))
    mos = [r["perception_mos"] for r in order]
    assert mos == sorted(mos, reverse=True)
    assert len({level_word(m) for m in mos}) >= 4  # targets spread over the scale


def _clean_plan(index: int, **severities):
    plan = plan_clip(index, SEED)
    return dataclasses.replace(plan, severities={**{n: 0.0 for n in DEGRADATIONS}, **severities})


def _moving_index() -> int:
    return next(i for i in range(100) if plan_clip(i, SEED).scene.motion != "still")


def test_rendered_artefacts_grow_with_severity():
    index = _moving_index()

    def sharpness(frames):
        return float(np.abs(np.diff(frames.astype(np.float32), axis=2)).mean())

    def roughness(frames):  # pixel noise: difference from a 3x3-smoothed copy
        f = frames.astype(np.float32)
        return float(np.abs(f[:, 1:-1, 1:-1] - (f[:, :-2, 1:-1] + f[:, 2:, 1:-1]) / 2).mean())

    def brightness_spread(frames):
        return float(frames.reshape(len(frames), -1).mean(axis=1).std())

    def repeats(frames):
        return int(sum(np.array_equal(a, b) for a, b in zip(frames[:-1], frames[1:])))

    levels = (0.0, 0.5, 1.0)
    blur = [sharpness(render_clip(_clean_plan(index, blur=s), SEED)) for s in levels]
    noise = [roughness(render_clip(_clean_plan(index, noise=s), SEED)) for s in levels]
    flicker = [brightness_spread(render_clip(_clean_plan(index, flicker=s), SEED)) for s in levels]
    stutter = [repeats(render_clip(_clean_plan(index, stutter=s), SEED)) for s in levels]
    block = [
        np.abs(
            render_clip(_clean_plan(index, blockiness=s), SEED).astype(int)
            - render_clip(_clean_plan(index), SEED)
        ).mean()
        for s in levels
    ]
    assert blur[0] > blur[1] > blur[2]
    assert noise[0] < noise[1] < noise[2]
    assert flicker[0] < flicker[1] < flicker[2]
    assert stutter[0] == 0 and stutter[2] > 0
    assert block[0] == 0 < block[1] < block[2]


def test_correspondence_full_beats_partial_beats_none():
    plans = [plan_clip(i, SEED) for i in range(300)]
    by_match = {
        m: [p.correspondence_mos for p in plans if p.prompt_info["match"] == m]
        for m in ("full", "partial", "none")
    }
    assert all(by_match.values())
    assert (
        min(by_match["full"]) > max(by_match["partial"]) >= min(by_match["partial"]) > max(by_match["none"])
    )
    for p in plans:
        changed = p.prompt_info["changed"]
        truth = {name: getattr(p.scene, name) for name in ATTRIBUTES}
        described = p.prompt_info["described"]
        assert [a for a in ATTRIBUTES if described[a] != truth[a]] == changed
        assert p.correspondence_mos == correspondence_mos(len(ATTRIBUTES) - len(changed))
        assert (p.prompt_info["match"] == "partial") == (1 <= len(changed) <= 2)
    assert correspondence_mos(5) == 90.0 and correspondence_mos(0) == 10.0


def test_spans_mark_the_words_that_state_each_attribute():
    from love_plugins.synth.prompts import sample_prompt, sample_question

    words = {"count": {1: "a", 2: "two", 3: "three"}, "motion": {"still": "standing still"}}
    for i in range(200):
        scene = sample_scene(np.random.default_rng(i), 128, 96)
        p = sample_prompt(np.random.default_rng(i), scene, quality=0.5)
        for name, (start, end) in p["spans"].items():
            value = p["described"][name]
            expected = words.get(name, {}).get(value, f"moving {value}" if name == "motion" else str(value))
            if name == "shape" and p["described"]["count"] > 1:
                expected += "s"
            assert p["prompt"][start:end] == expected, (name, p["prompt"])
        # a question's span holds the value it asks about: the scene's own exactly when the answer is yes
        q = sample_question(np.random.default_rng(i), scene, answer_yes=bool(i % 2))
        marked = q["question"][slice(*q["span"])]
        truth = {"object": scene.shape, "count": {1: "one", 2: "two", 3: "three"}[scene.count],
                 "color": scene.color, "scene": scene.background,
                 "motion": "standing still" if scene.motion == "still" else f"moving {scene.motion}"}
        assert (marked == truth[q["dimension"]]) == (q["answer"] == "Yes"), q
        assert q["question"][q["span"][0] - 1] == " " and q["question"][q["span"][1]] in " ?", q


def test_per_model_means_are_ordered_by_quality():
    plans = [plan_clip(i, SEED) for i in range(500)]
    by_q = sorted(GENERATOR_MODELS, key=GENERATOR_MODELS.get, reverse=True)
    for target in ("perception_mos", "correspondence_mos"):
        means = [np.mean([getattr(p, target) for p in plans if p.model == m]) for m in by_q]
        assert all(a > b for a, b in zip(means, means[1:])), (target, means)
    assert (
        np.mean([p.perception_mos for p in plans if p.model == by_q[0]])
        - np.mean([p.perception_mos for p in plans if p.model == by_q[-1]])
        > 30
    )


# --- QA -----------------------------------------------------------------------------------------

_NUMBERS = {"one": 1, "two": 2, "three": 3}


def _truth(question: str, scene: dict) -> bool:
    """Answer a suite question from the scene, independently of the generator's code."""
    if m := re.fullmatch(r"Is there a (\w+) object in the video\?", question):
        return m[1] == scene["color"]
    if m := re.fullmatch(r"Is there a (\w+) in the video\?", question):
        return m[1] == scene["shape"]
    if m := re.fullmatch(r"(?:Is|Are) there exactly (\w+) objects? in the video\?", question):
        return _NUMBERS[m[1]] == scene["count"]
    if m := re.fullmatch(r"(?:Is the object|Are the objects) (?:moving (\w+)|standing (still))\?", question):
        return (m[1] or m[2]) == scene["motion"]
    if m := re.fullmatch(r"Is the background ([\w ]+)\?", question):
        return m[1] == scene["background"]
    raise AssertionError(f"unexpected question {question!r}")


def test_qa_is_balanced_and_true_to_the_scene(suite):
    rows = read_manifest(suite.root)
    yes = sum(r["answer"] == "Yes" for r in rows) / len(rows)
    assert 0.35 <= yes <= 0.65
    assert {r["dimension"] for r in rows} == set(DIMENSIONS)
    for row in rows:
        assert row["answer"] in ("Yes", "No")
        assert _truth(row["question"], row["scene"]) == (row["answer"] == "Yes"), row


def test_open_questions_name_the_true_attribute(suite):
    from love_plugins.synth.prompts import sample_open_question

    rows = read_manifest(suite.root)
    seen = set()
    for i, row in enumerate(rows):
        scene = Scene.from_dict(row["scene"])
        q = sample_open_question(np.random.default_rng(i), scene)
        seen.add(q["dimension"])
        # the value the answer names is the scene's own, in the words of the captions
        truth = {"object": scene.shape, "count": {1: "one", 2: "two", 3: "three"}[scene.count],
                 "color": scene.color, "scene": scene.background}
        if q["dimension"] == "motion":
            assert q["value"].endswith(scene.motion) or (scene.motion == "still" and q["value"] == "standing still")
        else:
            assert q["value"] == truth[q["dimension"]], (q, row["scene"])
        assert q["answer"] == f"The answer is {q['value']}."
        assert q["question"].endswith("?") and q["value"] not in q["question"]
    assert seen == set(DIMENSIONS)


# --- pixels -------------------------------------------------------------------------------------


def _assert_colours(frames: np.ndarray, scene: Scene, width: int, height: int) -> None:
    for i in (0, len(frames) - 1):
        t = i / (len(frames) - 1)
        inside = object_mask(scene, width, height, t, shrink=3)
        outside = ~object_mask(scene, width, height, t, shrink=-3)
        assert inside.sum() > 50
        obj = frames[i][inside].mean(axis=0)
        bg = frames[i][outside].mean(axis=0)
        assert np.abs(obj - OBJECT_COLORS[scene.color]).max() < 20, (scene.color, obj)
        assert np.abs(bg - BACKGROUNDS[scene.background]).max() < 20, (scene.background, bg)


def test_decoded_frames_show_the_scene_colours(suite, tmp_path):
    rows = [r for r in read_manifest(suite.root) if not any(r["scene"]["degradations"].values())]
    for row in rows[:3]:  # undegraded clips of the suite itself
        scene = Scene.from_dict(row["scene"])
        _assert_colours(read_frames(suite.root / row["video"]), scene, 128, 96)
    for index in range(4):  # and clean renders of arbitrary scenes
        plan = _clean_plan(index)
        write_mp4(tmp_path / f"{index}.mp4", render_clip(plan, SEED), fps=8)
        _assert_colours(read_frames(tmp_path / f"{index}.mp4"), plan.scene, 128, 96)


def test_scenes_are_large_and_inside_the_frame():
    for config in (SuiteConfig(), SuiteConfig(width=64, height=64), SuiteConfig(width=96, height=128)):
        for i in range(150):
            plan = plan_clip(i, 5, config)
            scene = plan.scene
            assert scene.size >= min(config.width, config.height) / 4
            for t in (0.0, 1.0):
                mask = object_mask(scene, config.width, config.height, t)
                assert mask.sum() > 0
                for cx, cy in scene.centers(t):
                    assert scene.size / 2 - 1e-3 <= cx <= config.width - scene.size / 2 + 1e-3
                    assert scene.size / 2 - 1e-3 <= cy <= config.height - scene.size / 2 + 1e-3
            centres = np.array(scene.starts)
            gaps = [np.abs(a - b).max() for k, a in enumerate(centres) for b in centres[k + 1 :]]
            assert all(g >= scene.size for g in gaps)  # objects never overlap
            if scene.motion == "still":
                assert scene.starts == scene.ends and plan.severities["stutter"] == 0.0
            assert all(0.0 <= v <= 1.0 for v in plan.severities.values())


def test_config_is_validated(tmp_path):
    with pytest.raises(ValueError, match="even"):
        generate_suite(tmp_path, 2, 0, SuiteConfig(width=101))
    with pytest.raises(ValueError, match="quality"):
        generate_suite(tmp_path, 2, 0, SuiteConfig(models={"x": 1.5}))
    with pytest.raises(ValueError, match="num_videos"):
        generate_suite(tmp_path, 0, 0)
    with pytest.raises(ValueError, match="workers must be >= 0"):
        generate_suite(tmp_path, 2, 0, workers=-1)


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_writes_a_small_suite(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(
        [
            "synth",
            str(out),
            "--videos",
            "6",
            "--seed",
            "3",
            "--width",
            "64",
            "--height",
            "48",
            "--fps",
            "4",
            "--seconds",
            "2",
            "--test-fraction",
            "0.5",
            "--models",
            "aurora-v2",
            "mine=0.3",
            "--workers",
            "2",
        ]
    )
    assert code == 0
    assert "wrote 6 clips" in capsys.readouterr().out
    rows = read_manifest(out / "manifest.csv")
    assert [r["model"] for r in rows] == ["aurora-v2", "mine"] * 3
    assert read_frames(out / rows[1]["video"]).shape == (8, 48, 64, 3)
    info = json.loads((out / "suite.json").read_text())
    assert info["config"]["models"] == {"aurora-v2": GENERATOR_MODELS["aurora-v2"], "mine": 0.3}
    assert 1 <= info["counts"]["split"].get("test", 0) <= 5


def test_cli_rejects_bad_arguments(tmp_path, capsys):
    assert main(["synth", str(tmp_path), "--models", "no-such-model"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
    assert main(["synth", str(tmp_path), "--videos", "1", "--width", "65"]) == 2
    assert "even" in capsys.readouterr().err
    assert main(["synth", str(tmp_path), "--videos", "1", "--workers", "-2"]) == 2
    assert "argument --workers: must be between 0 and 256, got '-2'" in capsys.readouterr().err
