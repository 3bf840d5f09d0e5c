"""The synthetic AIGV suite: per-clip plans with known targets, rendered to real mp4 files.

Every random choice of clip i comes from `numpy.random.default_rng([seed, i, stream])`, one stream
per concern (scene, degradations, prompt, question, pixels), and its split from a seeded
golden-ratio sequence; so clip i is the same whatever the number of clips, and changing e.g. the
test fraction does not change any video.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from love_plugins.synth.config import SuiteConfig
from love_plugins.synth.degrade import apply_degradations, perception_mos, sample_severities
from love_plugins.synth.prompts import sample_prompt, sample_question
from love_plugins.synth.scene import Scene, render_frames, sample_scene
from love_plugins.synth.video import write_mp4
from love_plugins.synth.writer import write_suite_files

# Independent random streams of one clip.
_SCENE, _DEGRADE, _PROMPT, _QUESTION, _SPLIT, _PIXELS = range(6)
_GOLDEN = (5**0.5 - 1) / 2


@dataclass
class ClipPlan:
    """Everything known about clip `index` before rendering: content, artefacts and targets."""

    index: int
    model: str
    quality: float
    video: str  # path relative to the suite root
    split: str
    scene: Scene
    severities: dict[str, float]
    prompt: str
    prompt_info: dict  # match, changed, described
    perception_mos: float
    correspondence_mos: float
    question: str
    answer: str
    dimension: str

    def scene_record(self) -> dict:
        """The manifest's `scene` object: true scene, every severity and how the prompt deviates."""
        record = self.scene.to_dict()
        record["degradations"] = dict(self.severities)
        record["prompt_match"] = self.prompt_info["match"]
        record["prompt_changed"] = list(self.prompt_info["changed"])
        record["prompt_described"] = dict(self.prompt_info["described"])
        record["quality"] = self.quality
        return record


@dataclass
class SuiteInfo:
    """Where `generate_suite` wrote what, and how many clips of each split."""

    root: Path
    manifest_jsonl: Path
    manifest_csv: Path
    suite_json: Path
    meta: dict[str, Path]  # task -> meta json
    annotations: dict[str, Path]  # "<task>_<split>" -> jsonl
    num_videos: int
    num_train: int
    num_test: int
    seconds: float  # wall time of the generation


def _rng(seed: int, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, index, stream])


def _split_draw(seed: int, index: int) -> float:
    """Quasi-random u in [0, 1) for the split: a seeded golden-ratio sequence.

    Still one value per clip from the seed (independent of N), but every run of consecutive clips,
    and each model's share of them, gets close to the requested test fraction even for small N.
    """
    offset = np.random.default_rng([seed, _SPLIT]).random()
    return float((offset + index * _GOLDEN) % 1.0)


def plan_clip(index: int, seed: int, config: SuiteConfig | None = None) -> ClipPlan:
    """Sample clip `index` of the suite with `seed` (cheap: no pixels), including its targets."""
    config = config or SuiteConfig()
    names = list(config.models)
    model = names[index % len(names)]
    quality = float(config.models[model])
    scene = sample_scene(_rng(seed, index, _SCENE), config.width, config.height)
    severities = sample_severities(_rng(seed, index, _DEGRADE), quality, moving=scene.motion != "still")
    prompt = sample_prompt(_rng(seed, index, _PROMPT), scene, quality)
    # Yes/no is balanced exactly within each pair of consecutive clips; a coin decides which is "yes".
    pair_coin = int(_rng(seed, index // 2, _QUESTION).integers(2))
    question = sample_question(_rng(seed, index, _QUESTION), scene, answer_yes=(index % 2) == pair_coin)
    split = "test" if _split_draw(seed, index) < config.test_fraction else "train"
    return ClipPlan(
        index=index,
        model=model,
        quality=quality,
        video=f"videos/{model}/{model}_{index:05d}.mp4",
        split=split,
        scene=scene,
        severities=severities,
        prompt=prompt["prompt"],
        prompt_info={k: prompt[k] for k in ("match", "changed", "described")},
        perception_mos=perception_mos(severities),
        correspondence_mos=prompt["mos"],
        question=question["question"],
        answer=question["answer"],
        dimension=question["dimension"],
    )


def render_clip(plan: ClipPlan, seed: int, config: SuiteConfig | None = None) -> np.ndarray:
    """The degraded uint8 frames (T, H, W, 3) of a planned clip, before encoding."""
    config = config or SuiteConfig()
    frames = render_frames(plan.scene, config.width, config.height, config.num_frames)
    return apply_degradations(frames, plan.severities, _rng(seed, plan.index, _PIXELS))


def generate_suite(
    out_dir: str | Path,
    num_videos: int,
    seed: int,
    config: SuiteConfig | None = None,
    progress: bool = False,
    workers: int = 0,
) -> SuiteInfo:
    """Write `num_videos` mp4 clips plus LOVE-format annotations, meta files and manifests to out_dir.

    Each clip depends only on (seed, index), so `workers` > 0 processes write the same files, faster.

    Targets (see `degrade.perception_mos`, `prompts.correspondence_mos`):
      perception MOS     = 92 - 84 * (1 - prod_k (1 - w_k * s_k)) over the six severities s_k;
      correspondence MOS = 10 + 80 * (attributes of the prompt the video matches) / 5;
    level words from MOS in equal bins of 20 (bad, poor, fair, good, excellent).
    """
    config = config or SuiteConfig()
    config.validate()
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if num_videos < 1:
        raise ValueError(f"num_videos must be >= 1, got {num_videos}")
    if workers < 0:
        raise ValueError(f"workers must be >= 0 (0 = in-process), got {workers}")
    root = Path(out_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    jobs = [(index, seed, config, root) for index in range(num_videos)]
    if workers > 0:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            plans = list(tqdm(pool.map(_write_clip, jobs, chunksize=8), total=num_videos, desc="synth", unit="clip",
                              disable=not progress))
    else:
        plans = [_write_clip(job) for job in tqdm(jobs, desc="synth", unit="clip", disable=not progress)]
    paths = write_suite_files(root, [plan_record(p) for p in plans], seed, asdict(config))
    return SuiteInfo(
        root=root,
        num_videos=len(plans),
        num_train=sum(p.split == "train" for p in plans),
        num_test=sum(p.split == "test" for p in plans),
        seconds=round(time.perf_counter() - started, 3),
        **paths,
    )


def _write_clip(job: tuple[int, int, SuiteConfig, Path]) -> ClipPlan:
    """Plan, render and write clip `index` of the suite of `seed` (a worker's unit of work)."""
    index, seed, config, root = job
    plan = plan_clip(index, seed, config)
    write_mp4(root / plan.video, render_clip(plan, seed, config), config.fps)
    return plan


def plan_record(plan: ClipPlan) -> dict:
    """One manifest row of a planned clip (column order of the manifest)."""
    return {
        "video": plan.video,
        "prompt": plan.prompt,
        "perception_mos": plan.perception_mos,
        "correspondence_mos": plan.correspondence_mos,
        "question": plan.question,
        "answer": plan.answer,
        "dimension": plan.dimension,
        "model": plan.model,
        "split": plan.split,
        "scene": plan.scene_record(),
    }
