"""LoveConfig: everything that defines a LOVE model, in one JSON-serialisable object.

LOVE (arXiv 2505.12098) = an InternVL vision tower + pixel-shuffle projector + chat LLM, a frozen
FAST-VQA motion encoder whose pooled clip features become motion tokens, per-task LoRA adapters and
a regression head. The paper ships one full checkpoint per task; this config describes one shared
base with per-task parts (see `LoveModel`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..video import SamplerConfig
from .motion_encoder import MotionEncoderConfig

TASKS = ("perception", "correspondence", "qa")
SCORE_TASKS = ("perception", "correspondence")
LEVEL_WORDS = ("bad", "poor", "fair", "good", "excellent")

# The InternVL chat template's default system message, used verbatim when LOVE was trained.
INTERNVL_SYSTEM_MESSAGE = (
    "你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, 是一个有用无害的人工智能助手。"
)


@dataclass(frozen=True)
class TaskPrompt:
    """How LOVE phrases one task. `answer` holds a `{word}` slot: the score is read just before it."""

    question: str
    answer: str
    # LOVE's stage-2 score prompts, their inference scripts and the QA evaluation (eval_qa.py) end the visual
    # block with a literal "\nMotion Feature2: <image>" line that is never expanded into tokens; QA training
    # (train_qa.py) and stage 1 do not.
    motion_suffix: bool = False


# The two QA prompts of the authors' code, by the `motion_suffix` they give the QA task: "inference" is
# eval_qa.py's, which produced the published QA accuracy (78.69 %) and is the default; "training" is
# train_qa.py's, which the QA LoRA was trained with.
QA_PROMPTS = {"inference": True, "training": False}

DEFAULT_TASK_PROMPTS: dict[str, TaskPrompt] = {
    "perception": TaskPrompt(
        question="How is the quality of the video?",
        answer="The quality of the video is {word}.",
        motion_suffix=True,
    ),
    "correspondence": TaskPrompt(
        question="How would you rate the correspondence of this video and its prompt? prompt:{prompt}",
        answer="The correspondence of the video and its prompt is {word}.",
        motion_suffix=True,
    ),
    "qa": TaskPrompt(question="{question}", answer="{word}", motion_suffix=QA_PROMPTS["inference"]),
}


def internvl3_9b_vision_config() -> dict:
    """InternViT-300M-448px as used by InternVL3-9B, in transformers' native InternVL layout."""
    return dict(
        hidden_size=1024,
        num_hidden_layers=24,
        num_attention_heads=16,
        intermediate_size=4096,
        attention_bias=True,
        use_qk_norm=False,
        norm_type="layer_norm",
        layer_norm_eps=1e-6,
        image_size=448,
        patch_size=14,
        hidden_act="gelu",
        layer_scale_init_value=0.1,
        use_mean_pooling=True,
    )


def internvl3_9b_text_config() -> dict:
    """InternLM3-8B (stored by InternVL3-9B in InternLM2 layout) expressed as a Llama config."""
    return dict(
        model_type="llama",
        vocab_size=128142,
        hidden_size=4096,
        intermediate_size=10240,
        num_hidden_layers=48,
        num_attention_heads=32,
        num_key_value_heads=2,
        hidden_act="silu",
        max_position_embeddings=32768,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "dynamic", "factor": 2.0, "rope_theta": 50000000.0},
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        tie_word_embeddings=False,
        attention_bias=False,
    )


@dataclass
class LoveConfig:
    """Architecture, input sampling, prompts and per-task layout of a LOVE model."""

    vision_config: dict = field(default_factory=internvl3_9b_vision_config)
    text_config: dict = field(default_factory=internvl3_9b_text_config)
    motion_config: dict = field(default_factory=lambda: MotionEncoderConfig().to_dict())
    sampler: dict = field(default_factory=lambda: SamplerConfig().to_dict())
    downsample_ratio: float = 0.5
    projector_hidden_act: str = "gelu"
    tasks: tuple[str, ...] = TASKS
    score_head_dims: tuple[int, ...] = (1024, 256, 64, 16)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    system_message: str = INTERNVL_SYSTEM_MESSAGE
    task_prompts: dict = field(default_factory=lambda: {k: dataclasses.asdict(v) for k, v in DEFAULT_TASK_PROMPTS.items()})
    level_words: tuple[str, ...] = LEVEL_WORDS
    yes_word: str = "Yes"
    no_word: str = "No"
    image_context_token: str = "<IMG_CONTEXT>"
    image_start_token: str = "<img>"
    image_end_token: str = "</img>"
    # A human-readable label recorded in every output ("love-nano (demonstration model)", ...).
    name: str = "love"
    # Test-time views the scorer averages for the perception score by default (love_plugins.views): 1, the
    # model's own view, as LOVE scores; love-nano ships with 8.
    perception_views: int = 1
    # love-nano only (False for LOVE): the ViT also sees each frame's change across the clip (the next sampled
    # frame minus the previous one) as three more input channels, so that a moving edge, and which way it
    # moves, is a feature of one patch like its colour, instead of a comparison between frames' tokens.
    frame_difference: bool = False

    def __post_init__(self):
        self.tasks = tuple(self.tasks)
        self.score_head_dims = tuple(self.score_head_dims)
        self.level_words = tuple(self.level_words)
        unknown = set(self.tasks) - set(TASKS)
        if unknown:
            raise ValueError(f"unknown task(s) {sorted(unknown)}; known: {TASKS}")

    # -- derived quantities -------------------------------------------------------------------------
    @property
    def sampler_config(self) -> SamplerConfig:
        return SamplerConfig.from_dict(self.sampler)

    @property
    def motion_encoder_config(self) -> MotionEncoderConfig:
        return MotionEncoderConfig.from_dict(self.motion_config)

    @property
    def tokens_per_frame(self) -> int:
        """Visual tokens one frame becomes after the ViT and pixel shuffle (256 for InternVL3 at 448)."""
        image = self.sampler_config.frame_size
        patch = self.vision_config["patch_size"]
        patch = patch[0] if isinstance(patch, (list, tuple)) else patch
        return int((image // patch) ** 2 * self.downsample_ratio**2)

    @property
    def num_motion_tokens(self) -> int:
        return self.sampler_config.num_clips

    @property
    def score_tasks(self) -> tuple[str, ...]:
        return tuple(t for t in self.tasks if t in SCORE_TASKS)

    def task_prompt(self, task: str) -> TaskPrompt:
        return TaskPrompt(**self.task_prompts[task])

    @property
    def qa_prompt(self) -> str:
        """Which of the authors' QA prompts this config uses: "inference" or "training" (see `QA_PROMPTS`)."""
        return "inference" if self.task_prompt("qa").motion_suffix else "training"

    def set_qa_prompt(self, kind: str) -> None:
        """Switch the QA task to the authors' "inference" or "training" prompt."""
        if kind not in QA_PROMPTS:
            raise ValueError(f"qa prompt must be one of {sorted(QA_PROMPTS)}, not {kind!r}")
        self.task_prompts = {**self.task_prompts,
                             "qa": {**self.task_prompts["qa"], "motion_suffix": QA_PROMPTS[kind]}}

    # -- serialisation ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        for key in ("tasks", "score_head_dims", "level_words"):
            out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict) -> LoveConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known - {"format", "love_plugins_version"}
        if unknown:
            raise ValueError(f"unknown LoveConfig field(s): {sorted(unknown)}")
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> LoveConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
