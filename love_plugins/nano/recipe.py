"""love-nano: a tiny LOVE-architecture model trained on the synthetic AIGV suite with this package's
training code. A demonstration model — it has only ever seen synthetic clips; real evaluation uses
the released LOVE weights (`love-eval convert`).

Recipe (`build_love_nano`), all through `train(TrainConfig(...))`, the pre-training stages registered by
`love_plugins.nano.stages`:

M. the motion stage (stands in for FAST-VQA's quality pre-training of `temporal.pth`, which a base
   built from config lacks): the motion encoder alone learns the MOS, the six degradation severities,
   eleven hand-made quality statistics of each clip (distillation targets, `fragment_statistics`) and
   the direction of motion through small discarded heads; it stays frozen from here on, as LOVE keeps
   `temporal.pth` frozen;
0. stage 0 (stands in for the pre-training of InternVL3): full fine-tuning of the vision tower, LLM,
   one projector pair and both score heads on all three tasks at once, each clip drawn once for
   perception and twice each for correspondence and QA per epoch (next-token loss on the level
   sentence / Yes-No answer / scene caption / open-question answer + L1 on MOS/100 + five discarded
   linear probes: the true scene attributes on the visual tokens; the frame-motion probe, the direction
   of motion off the mean and maximum of the frame tokens (love-nano's ViT also sees each frame's change
   across the clip, `LoveConfig.frame_difference`, so that one token at a moving edge can show which way
   it moves); the frame-scene probe, the objects' shape and count off the same pooled tokens (the two
   attributes that ViT read worst); the word-match probe, which
   asks at each attribute word of a question or prompt whether the video shows it; and the match span
   probe, which asks a yes/no question's verdict at every position from its attribute word to the answer,
   so that the answer learns to read it off the word). QA questions and
   correspondence prompts are redrawn from each clip's true scene at every draw
   (`SceneAugmentedDataset`) so they cannot be memorised from text. Then every task's projectors
   are seeded from that pair, as LOVE's tasks all start from InternVL3's one `mlp1`.
   Optional (`stage0_motion_encoder=True`, with or without the motion stage; the previous bundle): stage 0
   trains the motion encoder too.
   Optional (`encoders_epochs` > 0; not in the shipped recipe): an encoders stage first, in which the
   vision tower, the perception projector and the motion encoder alone learn the MOS, the six
   degradation severities and the scene attributes through small discarded heads, and a stage 0 that
   keeps them frozen (`stage0_vision_tower`, `stage0_motion_encoder`), which runs 2.3x faster.
   Optional (`vision_patch_init="dct"`; not shipped): the ViT's patch embedding starts as a DCT filter bank;
   Optional (`vision_epochs` > 0; not shipped): a vision stage before stage 0, in which the ViT and the
   perception projector alone learn each frame's scene attributes;
1. LOVE stage 1 per score task: projectors with cross-entropy on the level sentence;
2. LOVE stage 2 per score task: LoRA (vision + LLM) + score head with L1 on MOS/100;
3. LOVE QA: LoRA with next-token loss on Yes/No.

Then the held-out suite (another seed) is scored through the public `Scorer` (perception over the
bundle's eight test-time views, `love_plugins.views`, and once more over its single view) and the
figures are recorded in the bundle's training_info.json.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..modeling.tiny import build_tokenizer, tiny_config

logger = logging.getLogger(__name__)

NANO_NAME = "love-nano (demonstration model, trained on synthetic clips)"
# Suites, decoded-video cache and stage bundles; shared by the training and probe scripts.
DEFAULT_WORK_DIR = Path.home() / ".cache" / "love-plugins" / "love-nano-work"
VISION_PATCH_INITS = ("random", "dct")  # how the ViT's patch embedding starts (`build_nano_model`)
# Written into each stage's folder when it finishes: its TrainConfig, the architecture and thread count; a
# rerun in the same work folder reuses the stage when they match (and every stage before it was reused).
STAGE_MARKER = "nano_stage.json"
# The recipe fields that decide the random base model (not part of any stage's TrainConfig).
ARCHITECTURE_FIELDS = ("seed", "vision_layer_scale", "motion_embed_dim", "motion_patch_norm",
                       "motion_local_contrast", "vision_patch_init", "fragments", "fragment_size",
                       "vision_frame_difference")
BUNDLE_FILES = ("love_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "training_info.json")


def nano_config(vocab_size: int, vision_layer_scale: float = 0.1, motion_embed_dim: int = 8,
                motion_patch_norm: bool = True, fragments: int = 4, fragment_size: int = 16,
                motion_local_contrast: bool = False, frame_difference: bool = False):
    """4 frames of 64×64 (patch 8 → 16 tokens/frame), 2 clips × 8 frames of `fragments`² fragments of
    `fragment_size`² (mosaic 64: 4 × 16 or 2 × 32), ViT hidden 64 × 2 layers, LLM hidden 128 × 3 layers;
    Swin3D stages of `motion_embed_dim` × 1, 2, 4, 8, with or without the LayerNorm after its patch
    embedding (`motion_patch_norm`), with or without the local-contrast input channel
    (`motion_local_contrast`, `MotionEncoderConfig.local_contrast`); with or without the frame-difference
    channels of the ViT (`frame_difference`, `LoveConfig.frame_difference`)."""
    config = tiny_config(
        vocab_size=vocab_size,
        hidden_size=128,
        num_layers=3,
        vision_hidden=64,
        vision_layers=2,
        frame_size=64,
        patch_size=8,
        num_frames=4,
        num_clips=2,
        clip_len=8,
        fragments=fragments,
        fragment_size=fragment_size,
        name=NANO_NAME,
    )
    config.score_head_dims = (64, 32, 16, 8)
    config.vision_config = {**config.vision_config, "layer_scale_init_value": vision_layer_scale}
    motion = dict(config.motion_config)
    motion["embed_dim"] = motion_embed_dim
    motion["patch_norm"] = motion_patch_norm
    motion["local_contrast"] = motion_local_contrast
    config.motion_config = motion
    config.frame_difference = frame_difference
    config.lora_r, config.lora_alpha = 8, 16
    config.set_qa_prompt("training")  # love-nano answers QA with the prompt its QA stages train on
    # The scorer averages perception over 8 test-time views (love_plugins.views): held-out SRCC 0.855
    # instead of 0.819 (the previous bundles: 0.853 / 0.816 and 0.857 / 0.828; docs/love-nano.md).
    config.perception_views = 8
    return config


def dct_patch_embedding_(conv: torch.nn.Conv2d) -> None:
    """Start a ViT patch embedding as a filter bank: per-channel means, then the 2-D DCT-II bases of
    the luma from low to high frequency (the rest of the channels keep their random start).

    Stands in for the early filters a pretrained ViT brings. From a random start, gradient descent is
    slow to find high-pass filters (a patch's colours and edges dominate its energy), and love-nano's
    encoders learnt how bad a clip looks overall rather than which artefact it shows; with this start
    its ViT features read blur and noise far better, and stage 0 reaches a higher perception SRCC
    (docs/love-nano.md).
    """
    import numpy as np
    from scipy.fft import idctn

    channels, in_channels, size, width = conv.weight.shape
    if size != width or in_channels not in (3, 6) or channels < 4:
        raise ValueError(f"need a square RGB patch embedding with at least 4 channels, got {tuple(conv.weight.shape)}")
    by_frequency = sorted(((u, v) for u in range(size) for v in range(size)), key=lambda uv: (sum(uv), uv[0]))[1:]
    with torch.no_grad():
        weight = conv.weight[:, :3]  # the colours; frame-difference channels, if any, keep their zero start
        weight[:3] = 0.0
        for c in range(3):
            weight[c, c] = 1.0 / size  # the patch mean of channel c
        for k, (u, v) in enumerate(by_frequency[: channels - 3]):
            impulse = np.zeros((size, size))
            impulse[u, v] = 1.0
            basis = torch.from_numpy(idctn(impulse, norm="ortho")).to(weight.dtype)
            weight[3 + k] = basis / 3.0  # the same basis on R, G and B: a luma filter
        if conv.bias is not None:
            conv.bias.zero_()


def _check_vision_patch_init(value: str) -> None:
    if value not in VISION_PATCH_INITS:
        raise ValueError(f"vision_patch_init must be one of {VISION_PATCH_INITS}, got {value!r}")


def build_nano_model(seed: int = 0, vision_patch_init: str = "random", **config_options):
    """love-nano's base with random weights (seeded); `vision_patch_init="dct"` starts the ViT's patch
    embedding as a DCT filter bank (`dct_patch_embedding_`)."""
    from ..modeling.modeling_love import LoveModel

    _check_vision_patch_init(vision_patch_init)
    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    model = LoveModel(nano_config(len(tokenizer), **config_options))
    if vision_patch_init == "dct":
        dct_patch_embedding_(model.vision_tower.embeddings.patch_embeddings.projection)
    return model, tokenizer


@dataclass
class NanoRecipe:
    """Sizes and schedules of the love-nano run (the defaults are what the shipped model used)."""

    train_videos: int = 1000
    heldout_videos: int = 1000
    train_seed: int = 0
    heldout_seed: int = 1
    batch_size: int = 8
    # The motion stage before stage 0 (0 epochs: none). With the distillation targets the encoder alone reads
    # the MOS at 0.69-0.76 (0.62 without them); frozen, it lifted held-out perception from 0.65 to 0.72-0.74
    # and freed stage 0 from training it. 36 epochs rather than 24: the encoder's test-split MOS SRCC rose
    # from 0.717 to 0.78 (it was still rising), held-out perception from 0.74 to 0.775 (docs/love-nano.md).
    motion_epochs: float = 36.0
    motion_lr: float = 2e-3
    motion_batch_size: int = 32
    motion_warmup_ratio: float = 0.3
    motion_distill_weight: float = 1.0
    # A discarded direction-of-motion probe in the motion stage (0: none). At weight 1 it puts the direction
    # into the motion features (linear probe on 200 test clips: 0.64 -> 0.89) and keeps their quality reading
    # (ridge SRCC 0.77 -> 0.76); stage 0's comparison then formed sooner, and held-out correspondence rose
    # from 0.68 to 0.76 (docs/love-nano.md).
    motion_direction_weight: float = 1.0
    # The motion stage's training clips take their fragments from this many samplings, one picked per draw
    # (`FragmentResampledDataset`; 1: the model's own only, as shipped). With one, every clip shows the encoder
    # the same patches in every epoch; with 4 or 8 its clip features read the held-out MOS at 0.84 instead of
    # 0.82 (ridge), and the whole recipe with 4 reached held-out perception 0.841 (shipped: 0.828) but
    # correspondence only 0.676, in 29.1 minutes (docs/love-nano.md). Each extra sampling costs about 16 s.
    motion_fragment_draws: int = 1
    # The vision stage before stage 0 (0 epochs: none, as shipped): the ViT and its projector alone learn each
    # frame's background, colour, shape and count, one mirrored-at-random frame at a time (stands in for
    # InternViT's pre-training). 12 epochs: 92 % of the attributes in 84 s; stage 0 then formed the comparison
    # only with the match span probe, and no run with it beat the shipped bundle (docs/love-nano.md).
    vision_epochs: float = 0.0
    vision_lr: float = 2e-3
    vision_batch_size: int = 8
    vision_warmup_ratio: float = 0.1
    # The encoders stage before stage 0 (0 epochs: none, as shipped). With it and both encoders frozen in
    # stage 0 (2.3x the steps per second), held-out perception stayed within the shipped recipe's spread
    # and the comparison formed no more reliably (docs/love-nano.md).
    encoders_epochs: float = 0.0
    encoders_lr: float = 3e-3
    encoders_batch_size: int = 32
    encoders_warmup_ratio: float = 0.3
    # 14 epochs: with the local-contrast motion encoder the comparison formed at epoch 5-8 and went on improving
    # (held-out after the whole recipe: 10 epochs 0.826 / 0.715 / 78.8 %, 14 epochs 0.828 / 0.796 / 83.1 %).
    stage0_epochs: float = 14.0
    stage0_lr: float = 3e-4
    stage0_aux_weight: float = 1.0
    stage0_l1_weight: float = 1.0  # weight of the L1 score terms against the next-token and probe losses
    stage0_augment: bool = True
    stage0_caption_share: float = 0.2
    stage0_open_share: float = 0.4  # open questions: "What color is the background?" -> "The answer is gray."
    stage0_match_weight: float = 1.0  # word-match probe: does the video show each attribute word asked about?
    stage0_match_layer: int = 1
    # The match span probe: a yes/no question's verdict, read at every position from its attribute word to the
    # answer. Without it, stage 0 of this recipe formed the comparison only partly (QA 57.5 % on the test split at
    # its end; held out 75.6 %); with it, from epoch 6 (82 % at its end; held out 82.8 %; docs/love-nano.md).
    stage0_match_span_weight: float = 1.0
    # How much likelier a stage-0 question asks about motion than about each other dimension (1: uniform, as
    # shipped). At 3 the comparison did not form in stage 0, with or without the span probe (docs/love-nano.md).
    stage0_motion_question_weight: float = 1.0
    stage0_motion_aux_weight: float = 0.0  # direction-of-motion probe on the motion encoder's clip features
    # The frame-motion probe: the direction of motion read off the mean and maximum of the frame tokens in stage 0
    # (0: none). With the frame-difference channels the pooled tokens then read the direction at 98 % (RGB alone:
    # 53 %), and held-out motion questions went from chance to 96.7 % (docs/love-nano.md).
    stage0_frame_motion_weight: float = 1.0
    # The frame-scene probe: scene attributes off the same pooled tokens (0: none), here shape and count alone
    # (`stage0_frame_scene_attributes`, comma-separated; any of background, color, shape, count), the two the ViT
    # read worst once it carried the direction. Held-out shape rose from 58 % to 79 % and QA from 84.8 % to
    # 89.4 %; asking background and colour too, correspondence leant on the background and formed only partly
    # (held-out 0.61; docs/love-nano.md).
    stage0_frame_scene_weight: float = 1.0
    stage0_frame_scene_attributes: str = "shape,count"
    stage0_motion_encoder: bool = False  # True: stage 0 trains the motion encoder too (the previous bundle)
    stage0_vision_tower: bool = True  # False: stage 0 keeps the vision tower as the encoders stage left it
    # How many times stage 0 draws each clip for QA and for correspondence per epoch (perception: once). With the
    # frame-difference channels, correspondence formed only partly when drawn once (QA three times): 0.57 held
    # out; drawn twice (QA twice, the same epoch length), 0.827 (docs/love-nano.md).
    stage0_qa_repeat: int = 2
    stage0_correspondence_repeat: int = 2
    stage1_epochs: float = 0.5
    stage1_lr: float = 3e-4
    # Perception's stage 2 keeps improving for longer than correspondence's: on the shipped stage 0,
    # held-out perception SRCC 0.561 after 2 epochs, 0.61 after 6 (0.61-0.63 up to 12); correspondence
    # 0.686 after 2, 0.656 after 4 (docs/love-nano.md).
    stage2_perception_epochs: float = 6.0
    stage2_correspondence_epochs: float = 2.0
    stage2_lr: float = 1e-3
    qa_epochs: float = 3.0
    qa_lr: float = 5e-4
    decode_workers: int = 2  # processes that write the suites and decode the videos
    # The encoders stage and stage 0 run on this many torch threads (the motion stage on `motion_threads`),
    # the LOVE stages after them on the caller's. The thread count changes the order of float sums, and
    # stage 0's outcome is sensitive to that (when the comparison forms varies more between such runs than
    # between recipe variants; docs/love-nano.md). Two threads run stage 0 1.4x faster than one (760 s against
    # 1,055 s), which the shipped bundle was trained with.
    stage0_threads: int = 2
    # The motion stage's own thread count. Two threads run it 1.9x faster than one (304 s against 573 s for 36
    # epochs) and keep the regeneration under 30 minutes; which encoder a run learns depends on the order of float
    # sums, i.e. on the thread count and the CPU (test-split MOS SRCC 0.72-0.78 across runs; docs/love-nano.md).
    motion_threads: int = 2
    seed: int = 0
    vision_layer_scale: float = 0.1  # architecture (nano_config)
    motion_embed_dim: int = 16
    # The Swin3D's LayerNorm after its patch embedding, as in LOVE (True). Over a few channels it erases the
    # tubelet energy that noise and blockiness show up as (the encoder trained alone on the severities:
    # held-out MOS SRCC 0.41 without it, 0.19 with it; docs/love-nano.md).
    motion_patch_norm: bool = False
    # The Swin3D sees the luma's local contrast (MSCN) as a fourth input channel (architecture;
    # `MotionEncoderConfig.local_contrast`). The motion stage then reads the test-split MOS at 0.84 (two threads;
    # 0.86 in a one-thread run) instead of 0.72: noise and blur show in the map at the scale of the network
    # (docs/love-nano.md).
    motion_local_contrast: bool = True
    # "dct": the ViT's patch embedding starts as a DCT filter bank (`dct_patch_embedding_`). Stage 0's
    # perception rose from 0.47 to 0.70-0.72 on the test split, held-out only from 0.648 to 0.66-0.67, and
    # the comparison formed no more reliably (docs/love-nano.md), so the shipped bundle starts from random.
    vision_patch_init: str = "random"
    # The fragment layout (architecture, nano_config): `fragments`² fragments of `fragment_size`² pixels per
    # frame of the motion encoder's 64² mosaic. 2 × 32 read the MOS better in one motion-stage harness run
    # (0.791 against 0.740) and worse in the whole recipe (0.700 against 0.777; docs/love-nano.md).
    fragments: int = 4
    fragment_size: int = 16
    # The ViT also sees each frame's change across the clip as three more input channels (architecture;
    # `LoveConfig.frame_difference`; they start at zero), so that the direction of motion can be a feature of one
    # token, which a question's word finds as it finds a colour (docs/love-nano.md).
    vision_frame_difference: bool = True

    def __post_init__(self):  # fail before the suites are written
        _check_vision_patch_init(self.vision_patch_init)
        for name in ("stage0_qa_repeat", "stage0_correspondence_repeat"):
            if getattr(self, name) < 0:  # a negative count would silently drop the task from stage 0
                raise ValueError(f"{name} must be >= 0 (0: the task is not drawn in stage 0), got {getattr(self, name)}")
        from .module import frame_scene_classes

        frame_scene_classes(self.frame_scene_attributes())  # an unknown name fails here, not after the motion stage

    def frame_scene_attributes(self) -> tuple[str, ...]:
        """`stage0_frame_scene_attributes` as TrainConfig takes it ("shape, count" -> ("shape", "count"))."""
        return tuple(name.strip() for name in self.stage0_frame_scene_attributes.split(","))


def _generate(root: Path, videos: int, seed: int, workers: int = 0) -> Path:
    from ..synth import generate_suite

    if (root / "manifest.jsonl").is_file() and json.loads((root / "suite.json").read_text())["counts"]["videos"] == videos:
        return root  # already there (a re-run after an interruption)
    generate_suite(root, videos, seed, progress=True, workers=workers)
    return root


def nano_suites(work_dir: str | Path, recipe: NanoRecipe | None = None) -> tuple[Path, Path]:
    """The training (seed 0) and held-out (seed 1) synthetic suites of the recipe, written on first use."""
    recipe = recipe or NanoRecipe()
    work = Path(work_dir)
    return (_generate(work / "suite_train", recipe.train_videos, recipe.train_seed, recipe.decode_workers),
            _generate(work / "suite_heldout", recipe.heldout_videos, recipe.heldout_seed, recipe.decode_workers))


def evaluate_bundle(bundle: str | Path, suite: str | Path, batch_size: int = 16, perception_views: int | None = None,
                    tasks: tuple[str, ...] | None = None) -> dict:
    """Score every clip of a suite with the bundle through the public Scorer (its own perception views unless
    given); metrics vs. its targets."""
    from .. import scorer as scorer_module
    from .suite_eval import evaluate_suite

    scorer = scorer_module.load(str(bundle), device="cpu", batch_size=batch_size, perception_views=perception_views)
    metrics, _, _ = evaluate_suite(scorer, suite, tasks=tasks)
    return metrics


def _read_marker(marker: Path) -> dict | None:
    """A stage's recorded settings; None when missing or unreadable (the stage is then trained again)."""
    try:
        return json.loads(marker.read_text())
    except (OSError, ValueError):
        return None


def build_love_nano(work_dir: str | Path, out_dir: str | Path, recipe: NanoRecipe | None = None) -> dict:
    """Regenerate love-nano from scratch into `out_dir` (a bundle); returns its training_info."""
    from ..modeling.modeling_love import LoveModel
    from ..training import TrainConfig, copy_projectors, read_training_info, train
    from . import stages  # noqa: F401  (registers the pre-training stages)

    recipe = recipe or NanoRecipe()
    started = time.perf_counter()
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        timings[name] = round(time.perf_counter() - since, 1)
        logger.info("%s done in %.1f s", name, timings[name])
        return time.perf_counter()

    t = time.perf_counter()
    train_suite, heldout_suite = nano_suites(work, recipe)
    t = lap("synth", t)

    common = dict(
        data=str(train_suite / "manifest.jsonl"),  # the manifest also carries the true scenes
        per_device_train_batch_size=recipe.batch_size,
        per_device_eval_batch_size=32,
        gradient_checkpointing=False,  # tiny model on a CPU: recomputation would only cost time
        cache_dir=str(work / "video_cache"),
        decode_workers=recipe.decode_workers,
        keep_checkpoints=False,
        save_total_limit=1,
        seed=recipe.seed,
        logging_steps=20,
    )
    architecture = {name: getattr(recipe, name) for name in ARCHITECTURE_FIELDS}
    caller_threads = torch.get_num_threads()
    reused: list[str] = []  # stages taken from an earlier run in this work folder
    chain_intact = True  # every stage so far was reused, so the next one starts where it did then

    def run_stage(cfg: TrainConfig, threads: int, lap_name: str, **in_memory) -> None:
        """Train one stage on `threads` threads, or reuse its bundle from an earlier run in the same work
        folder when that run trained it with the same settings and every stage before it was reused too."""
        nonlocal t, chain_intact
        marker = Path(cfg.output_dir) / STAGE_MARKER
        settings = json.loads(json.dumps({"config": dataclasses.asdict(cfg), "architecture": architecture,
                                          "threads": threads}))
        chain_intact = chain_intact and _read_marker(marker) == settings
        if chain_intact:
            logger.info("%s: reusing %s (trained with the same settings by an earlier run)", lap_name, cfg.output_dir)
            reused.append(lap_name)
        else:
            marker.unlink(missing_ok=True)
            torch.set_num_threads(threads)
            try:
                train(cfg, **in_memory)
            finally:
                torch.set_num_threads(caller_threads)
            marker.write_text(json.dumps(settings, indent=1) + "\n")
        t = lap(lap_name, t)

    model, tokenizer = build_nano_model(recipe.seed, vision_layer_scale=recipe.vision_layer_scale,
                                        motion_embed_dim=recipe.motion_embed_dim,
                                        motion_patch_norm=recipe.motion_patch_norm,
                                        motion_local_contrast=recipe.motion_local_contrast,
                                        vision_patch_init=recipe.vision_patch_init, fragments=recipe.fragments,
                                        fragment_size=recipe.fragment_size,
                                        frame_difference=recipe.vision_frame_difference)
    in_memory = dict(model=model, tokenizer=tokenizer)  # where the next stage starts: in memory or a bundle
    start = {}
    pretraining = [
        ("motion", recipe.motion_epochs, recipe.motion_threads,
         dict(num_train_epochs=recipe.motion_epochs, learning_rate=recipe.motion_lr,
              warmup_ratio=recipe.motion_warmup_ratio, per_device_train_batch_size=recipe.motion_batch_size),
         dict(distill_weight=recipe.motion_distill_weight, motion_aux_weight=recipe.motion_direction_weight,
              fragment_draws=recipe.motion_fragment_draws)),
        ("vision", recipe.vision_epochs, recipe.stage0_threads,
         dict(num_train_epochs=recipe.vision_epochs, learning_rate=recipe.vision_lr,
              warmup_ratio=recipe.vision_warmup_ratio, per_device_train_batch_size=recipe.vision_batch_size), {}),
        ("encoders", recipe.encoders_epochs, recipe.stage0_threads,
         dict(num_train_epochs=recipe.encoders_epochs, learning_rate=recipe.encoders_lr,
              warmup_ratio=recipe.encoders_warmup_ratio, per_device_train_batch_size=recipe.encoders_batch_size),
         dict(aux_weight=1.0)),
    ]
    for stage, epochs, threads, options, stage_options in pretraining:
        if epochs <= 0:
            continue
        run_stage(TrainConfig(task="perception", stage=stage, output_dir=str(work / stage), name=NANO_NAME,
                              stage_options=stage_options, **{**common, **options}, **start), threads, stage,
                  **in_memory)
        in_memory, start = {}, {"model": str(work / stage)}  # its bundle keeps its history
    stage0 = work / "stage0"
    stage0_options = dict(
        aux_weight=recipe.stage0_aux_weight, l1_weight=recipe.stage0_l1_weight, augment_scenes=recipe.stage0_augment,
        **(dict(caption_share=recipe.stage0_caption_share, open_share=recipe.stage0_open_share,
                motion_question_weight=recipe.stage0_motion_question_weight) if recipe.stage0_augment else {}),
        match_weight=recipe.stage0_match_weight, match_layer=recipe.stage0_match_layer,
        match_span_weight=recipe.stage0_match_span_weight, train_motion_encoder=recipe.stage0_motion_encoder,
        train_vision_tower=recipe.stage0_vision_tower, motion_aux_weight=recipe.stage0_motion_aux_weight,
        frame_motion_weight=recipe.stage0_frame_motion_weight, frame_scene_weight=recipe.stage0_frame_scene_weight,
        frame_scene_attributes=recipe.frame_scene_attributes(),
        tasks=("perception",) + ("correspondence",) * recipe.stage0_correspondence_repeat
        + ("qa",) * recipe.stage0_qa_repeat)
    run_stage(TrainConfig(task="perception", stage="0", output_dir=str(stage0), num_train_epochs=recipe.stage0_epochs,
                          learning_rate=recipe.stage0_lr, stage_options=stage0_options, name=NANO_NAME, **start,
                          **common), recipe.stage0_threads, "stage0", **in_memory)
    model = LoveModel.from_pretrained(stage0)
    copy_projectors(model, "perception")
    seeded = work / "stage0_seeded"
    model.save_pretrained(seeded, tokenizer, extra=read_training_info(stage0))

    previous = seeded
    steps = [
        ("perception", "1", recipe.stage1_epochs, recipe.stage1_lr),
        ("perception", "2", recipe.stage2_perception_epochs, recipe.stage2_lr),
        ("correspondence", "1", recipe.stage1_epochs, recipe.stage1_lr),
        ("correspondence", "2", recipe.stage2_correspondence_epochs, recipe.stage2_lr),
        ("qa", "qa", recipe.qa_epochs, recipe.qa_lr),
    ]
    for task, stage, epochs, lr in steps:
        if epochs <= 0:
            continue
        target = work / f"{task}_stage{stage}"
        run_stage(TrainConfig(task=task, stage=stage, model=str(previous), output_dir=str(target),
                              num_train_epochs=epochs, learning_rate=lr, **common), caller_threads,
                  f"{task}_stage{stage}")
        previous = target

    heldout = evaluate_bundle(previous, heldout_suite)  # perception over the bundle's test-time views
    single_view = evaluate_bundle(previous, heldout_suite, perception_views=1, tasks=("perception",))
    t = lap("heldout_eval", t)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in BUNDLE_FILES:
        if (Path(previous) / name).is_file():
            shutil.copy2(Path(previous) / name, out / name)
    info = read_training_info(previous)
    info.update({
        "name": NANO_NAME,
        "note": "Demonstration model trained on synthetic clips only; use the released LOVE weights for real "
                "evaluation.",
        "recipe": recipe.__dict__,
        "heldout": heldout,
        "heldout_single_view": {"perception": single_view["perception"]},  # the model's own view only
        "timings_seconds": timings,
        "total_seconds": round(time.perf_counter() - started, 1),
        "reused_stages": reused,  # taken from an earlier run in the work folder: not in total_seconds
        "torch_threads": torch.get_num_threads(),
    })
    for run in info.get("history", []):  # the bundle is small: keep the figures, drop per-step logs
        run["log_history"] = [e for e in run.get("log_history", []) if any(k.startswith("eval_") for k in e)]
    (out / "training_info.json").write_text(json.dumps(info, indent=2) + "\n")
    return info
