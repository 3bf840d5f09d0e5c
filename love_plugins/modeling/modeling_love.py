"""LoveModel: LOVE's architecture on transformers' native InternVL vision tower and a causal LM.

    frames ──ViT──pixel-shuffle──projector[task]──┐
                                                   ├─▶ LLM (+ LoRA[task]) ─▶ hidden before the answer word
    fragments ──Swin3D (frozen)──mean──motion_projector[task]─┘         ├─▶ score_head[task] → MOS/100
                                                                          └─▶ lm_head → P(yes), P(no), level

One base (vision tower, LLM, motion encoder) is shared by the tasks; each task owns only what LOVE
trains for it: LoRA adapters on the vision tower and the LLM (peft, one named adapter per task), the
two projectors, and, for the score tasks, the regression head. `set_task` switches all of them.
The authors ship three full 9B checkpoints instead (27B parameters in memory for three outputs).
"""

from __future__ import annotations

import contextlib
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.tuners_utils import BaseTunerLayer
from safetensors import safe_open
from safetensors.torch import save_model
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM
from transformers.activations import ACT2FN
from transformers.models.internvl import InternVLVisionConfig, InternVLVisionModel

from ..errors import CheckpointError, first_line
from .configuration_love import LoveConfig
from .motion_encoder import MotionEncoder

CONFIG_NAME = "love_config.json"
WEIGHTS_NAME = "model.safetensors"
BUNDLE_FORMAT = "love-plugins/bundle-v1"

# LoRA targets, as in LOVE: every attention and MLP projection of the vision tower and the LLM
# (InternViT qkv/proj/fc1/fc2 and InternLM2 wqkv/wo/w1/w2/w3 in their unpacked native names).
LORA_TARGETS = (
    r".*vision_tower\.encoder\.layer\.\d+\.(attention\.(q_proj|k_proj|v_proj|projection_layer)|mlp\.(fc1|fc2))"
    r"|.*language_model\.model\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|o_proj)|mlp\.(gate_proj|up_proj|down_proj))"
)


class VisionProjector(nn.Module):
    """InternVL's `mlp1`: LayerNorm → Linear → GELU → Linear, from pixel-shuffled ViT features to the LLM."""

    def __init__(self, in_dim: int, out_dim: int, act: str = "gelu"):
        super().__init__()
        self.layer_norm = nn.LayerNorm(in_dim)
        self.linear_1 = nn.Linear(in_dim, out_dim)
        self.act = ACT2FN[act]
        self.linear_2 = nn.Linear(out_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(self.layer_norm(x))))


def _init_small_positive(module: nn.Module) -> None:
    """LOVE's initialisation of `fast_mlp` and the score MLP: weights uniform in [0, 0.01], zero bias.
    With positive weights the ReLU chain of the score head cannot start dead."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.uniform_(layer.weight, 0.0, 1e-2)
            nn.init.zeros_(layer.bias)


class MotionProjector(nn.Module):
    """LOVE's `fast_mlp`: one pooled motion feature per clip → one LLM token."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.layer_norm = nn.LayerNorm(in_dim)
        self.linear_1 = nn.Linear(in_dim, out_dim)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(out_dim, out_dim)
        _init_small_positive(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(self.layer_norm(x))))


class ScoreHead(nn.Module):
    """LOVE's regression MLP (4096→1024→256→64→16→1), ReLU after every layer, output ≈ MOS/100."""

    def __init__(self, in_dim: int, dims: tuple[int, ...]):
        super().__init__()
        sizes = (in_dim, *dims, 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        _init_small_positive(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x.squeeze(-1)


def pixel_shuffle(features: torch.Tensor, ratio: float) -> torch.Tensor:
    """InternVL's pixel shuffle (ps_version v2): (N, W, H, C) → (N, W·r, H·r, C/r²)."""
    n, w, h, c = features.shape
    x = features.reshape(n, w, int(h * ratio), int(c / ratio))
    x = x.permute(0, 2, 1, 3).reshape(n, int(h * ratio), int(w * ratio), int(c / ratio**2))
    return x.permute(0, 2, 1, 3).contiguous()


def frame_differences(frames: torch.Tensor) -> torch.Tensor:
    """(B, N, C, S, S) → each frame's change across the clip: the next frame minus the previous one (one-sided
    at the ends; zero for a single frame). Its sign says where an edge is going: where an object arrives the
    difference is its colour minus the background's, where it leaves the reverse."""
    n = frames.shape[1]
    later = torch.arange(n, device=frames.device).add(1).clamp(max=n - 1)
    earlier = torch.arange(n, device=frames.device).sub(1).clamp(min=0)
    return frames[:, later] - frames[:, earlier]


def _add_zero_input_channels(vision_tower: InternVLVisionModel, extra: int) -> None:
    """Widen the patch embedding by `extra` input channels that start at zero: the tower computes what it
    did without them, and no random number is drawn, so the rest of a seeded model starts as it would."""
    embeddings = vision_tower.embeddings.patch_embeddings
    conv = embeddings.projection
    with torch.no_grad():
        zeros = conv.weight.new_zeros(conv.out_channels, extra, *conv.kernel_size)
        conv.weight = nn.Parameter(torch.cat([conv.weight, zeros], dim=1))
    conv.in_channels += extra
    embeddings.num_channels += extra
    vision_tower.config.num_channels = embeddings.num_channels


@dataclass
class LoveOutput:
    """Per-sample outputs at the target position (the token before the answer word)."""

    hidden: torch.Tensor  # (B, H) last-layer hidden state
    score: torch.Tensor | None = None  # (B,) regression output ≈ MOS/100 (score tasks only)
    word_logits: torch.Tensor | None = None  # (B, V) next-token logits, i.e. the distribution of the word
    loss: torch.Tensor | None = None  # language-model loss on `labels`, when given
    layer_states: tuple[torch.Tensor, ...] | None = None  # (B, L, H) per LLM layer, 0 = embeddings; on request
    frame_tokens: torch.Tensor | None = None  # (B, frames × tokens, H) the projected frame tokens the LLM read


class LoveModel(nn.Module):
    """One shared base plus per-task adapters, projectors and heads (see module docstring)."""

    def __init__(self, config: LoveConfig):
        super().__init__()
        self.config = config
        vision_cfg = InternVLVisionConfig(**config.vision_config)
        text_kwargs = dict(config.text_config)
        text_cfg = AutoConfig.for_model(text_kwargs.pop("model_type"), **text_kwargs)
        self.vision_tower = InternVLVisionModel(vision_cfg)
        if config.frame_difference:
            _add_zero_input_channels(self.vision_tower, 3)
        self.language_model = AutoModelForCausalLM.from_config(text_cfg)
        self.motion_encoder = MotionEncoder(config.motion_encoder_config)
        self.motion_encoder.requires_grad_(False)

        vit_dim = vision_cfg.hidden_size * int(round(1 / config.downsample_ratio)) ** 2
        llm_dim = text_cfg.hidden_size
        motion_dim = config.motion_encoder_config.output_dim
        self.projectors = nn.ModuleDict(
            {t: VisionProjector(vit_dim, llm_dim, config.projector_hidden_act) for t in config.tasks}
        )
        self.motion_projectors = nn.ModuleDict({t: MotionProjector(motion_dim, llm_dim) for t in config.tasks})
        self.score_heads = nn.ModuleDict({t: ScoreHead(llm_dim, config.score_head_dims) for t in config.score_tasks})
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=LORA_TARGETS,
        )
        with warnings.catch_warnings():  # several named adapters on one model is exactly the intent
            warnings.filterwarnings("ignore", message=".*multiple adapters.*")
            for task in config.tasks:
                inject_adapter_in_model(lora, self, adapter_name=task)
        # peft makes the adapter it activates trainable; a model used as a frozen function (LOVE-Reward's
        # gradients to the pixels) keeps every weight frozen when it switches tasks.
        self.adapters_frozen = False
        self.packed_prefill = False  # see set_prefill
        self.task = config.tasks[0]
        self.set_task(self.task)
        self.eval()

    # -- task switching -----------------------------------------------------------------------------
    def set_task(self, task: str) -> None:
        """Activate one task's LoRA adapters; its projectors and head are picked by name in forward."""
        if task not in self.config.tasks:
            raise ValueError(f"this model has no task {task!r}; it has {self.config.tasks}")
        for module in self.modules():
            if isinstance(module, BaseTunerLayer):
                module.set_adapter(task, inference_mode=self.adapters_frozen)
        self.task = task

    def set_prefill(self, packed: bool | None = None, attention: str | None = None) -> None:
        """How the LLM's one prefill runs; every choice gives the same outputs up to the order of float sums.

        packed: the batch's rows are concatenated into one sequence without padding, each row attending only to
            itself (transformers reads the row boundaries from the position ids, which restart at 0 for every row):
            FlashAttention's variable-length kernel with `flash_attention_2`, a block-sparse mask with
            `flex_attention`, a dense block-diagonal mask with `sdpa` / `eager` (correct, but it computes every
            pair of tokens of the whole batch, so it is slower than padding). Per-task passes only.
        attention: the LLM's attention implementation, as transformers names it ("sdpa", the default; "eager",
            "flex_attention", "flash_attention_2", or a kernel from the `kernels` hub).
        """
        if attention is not None:
            self.language_model.set_attn_implementation(attention)
        if packed is not None:
            self.packed_prefill = bool(packed)

    def train(self, mode: bool = True):
        super().train(mode)
        self.motion_encoder.eval()  # frozen encoder: never in training mode
        return self

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.language_model.parameters()).dtype

    # -- encoders -----------------------------------------------------------------------------------
    def encode_motion(self, motion_values: torch.Tensor) -> torch.Tensor:
        """(B, C, 3, T, M, M) normalised fragments → (B, C, D) pooled clip features; task-independent. The
        encoder's weights are frozen; gradients reach the fragments when they require them (LOVE-Reward)."""
        b, c = motion_values.shape[:2]
        feats = self.motion_encoder(motion_values.flatten(0, 1).to(self.dtype))
        return feats.reshape(b, c, -1)

    def encode_frames(self, pixel_values: torch.Tensor, task: str) -> torch.Tensor:
        """(B, N, 3, S, S) normalised frames → (B, N·tokens_per_frame, H) LLM-space visual tokens."""
        b, n = pixel_values.shape[:2]
        tokens = self.projectors[task](self._vit_features(pixel_values))
        return tokens.reshape(b, n * tokens.shape[1], -1)

    def _vit_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, N, 3, S, S) normalised frames → (B·N, tokens_per_frame, C) pixel-shuffled ViT features (before the
        task's projector), with the frame-difference channels where the config has them."""
        if self.config.frame_difference:
            pixel_values = torch.cat([pixel_values, frame_differences(pixel_values)], dim=2)
        vit = self.vision_tower(pixel_values=pixel_values.flatten(0, 1).to(self.dtype)).last_hidden_state
        vit = vit[:, 1:]  # drop CLS
        side = int(math.isqrt(vit.shape[1]))
        vit = pixel_shuffle(vit.reshape(vit.shape[0], side, side, -1), self.config.downsample_ratio)
        return vit.reshape(vit.shape[0], -1, vit.shape[-1])

    def _language_states(self, embeds: torch.Tensor, attention_mask: torch.Tensor, output_layer_states: bool = False):
        """The LLM's one prefill over right-padded embeddings (never a decode step, so no KV cache); with
        `packed_prefill` over the rows' tokens alone, one sequence, the states put back in the padded layout."""
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        if not self.packed_prefill:
            return self.language_model.model(inputs_embeds=embeds, attention_mask=attention_mask,
                                             position_ids=position_ids, output_hidden_states=output_layer_states,
                                             use_cache=False)
        keep = attention_mask.bool()
        # No 2-D mask: transformers then finds the rows from the restarting position ids (block-diagonal causal).
        out = self.language_model.model(inputs_embeds=embeds[keep].unsqueeze(0), attention_mask=None,
                                        position_ids=position_ids[keep].unsqueeze(0),
                                        output_hidden_states=output_layer_states, use_cache=False)

        def unpack(states: torch.Tensor) -> torch.Tensor:
            return states.new_zeros(*keep.shape, states.shape[-1]).index_put((keep,), states[0])

        out.last_hidden_state = unpack(out.last_hidden_state)
        if output_layer_states:
            out.hidden_states = tuple(unpack(states) for states in out.hidden_states)
        return out

    def merge_visual_tokens(
        self, input_ids: torch.Tensor, frame_tokens: torch.Tensor, motion_tokens: torch.Tensor, context_id: int
    ) -> torch.Tensor:
        """Text embeddings with image-context slots filled: the last C slots of each row take the motion
        tokens, the others the frame tokens, in order. Done per row, so padding cannot shift them."""
        embeds = self.language_model.get_input_embeddings()(input_ids)
        is_context = input_ids == context_id
        slots_from_end = is_context.flip(1).cumsum(1).flip(1)  # 1 at the last context slot of a row
        is_motion = is_context & (slots_from_end <= motion_tokens.shape[1])
        is_frame = is_context & ~is_motion
        embeds = embeds.masked_scatter(is_frame.unsqueeze(-1), frame_tokens.to(embeds.dtype))
        return embeds.masked_scatter(is_motion.unsqueeze(-1), motion_tokens.to(embeds.dtype))

    # -- forward ------------------------------------------------------------------------------------
    def forward(
        self,
        task: str,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        target_positions: torch.Tensor,
        pixel_values: torch.Tensor,
        motion_features: torch.Tensor,
        context_id: int,
        labels: torch.Tensor | None = None,
        output_layer_states: bool = False,
    ) -> LoveOutput:
        """Run one task on a right-padded batch; `motion_features` come from `encode_motion`."""
        if task != self.task:
            self.set_task(task)
        frame_tokens = self.encode_frames(pixel_values, task)
        motion_tokens = self.motion_projectors[task](motion_features.to(self.dtype))
        embeds = self.merge_visual_tokens(input_ids, frame_tokens, motion_tokens, context_id)
        llm_out = self._language_states(embeds, attention_mask, output_layer_states)
        hidden_states = llm_out.last_hidden_state
        rows = torch.arange(input_ids.shape[0], device=input_ids.device)
        hidden = hidden_states[rows, target_positions]
        lm_head = self.language_model.get_output_embeddings()
        out = LoveOutput(hidden=hidden, word_logits=lm_head(hidden).float(),
                         layer_states=llm_out.hidden_states if output_layer_states else None,
                         frame_tokens=frame_tokens)
        if task in self.score_heads:  # in fp32 on the fp32-cast hidden state (the authors run it in bf16)
            out.score = self.score_heads[task](hidden.float())
        if labels is not None:
            # Next-token loss on answer tokens only: logits are computed where a label follows.
            shift_labels = labels[:, 1:]
            where = shift_labels != -100
            logits = lm_head(hidden_states[:, :-1][where]).float()
            out.loss = nn.functional.cross_entropy(logits, shift_labels[where])
        return out

    # -- several tasks in one pass ------------------------------------------------------------------
    @contextlib.contextmanager
    def _row_adapters(self, part: nn.Module, names: list[str]):
        """peft's mixed-adapter batches: inside, every LoRA layer of `part` applies adapter `names[i]` to row i
        of its input (inference only; peft refuses it while training)."""

        def with_names(module, args, kwargs):
            return args, {**kwargs, "adapter_names": names}

        handles = [m.register_forward_pre_hook(with_names, with_kwargs=True)
                   for m in part.modules() if isinstance(m, BaseTunerLayer)]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def forward_tasks(
        self,
        tasks: list[str],
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        target_positions: torch.Tensor,
        pixel_values: torch.Tensor,
        motion_features: torch.Tensor,
        context_id: int,
    ) -> LoveOutput:
        """Row i runs task `tasks[i]`: its LoRA in the vision tower and the LLM, its projectors and its head, in
        one forward pass over the whole batch (so the base weights' matrix products are as large as the batch,
        not one task's share). The same outputs as `forward` per task, up to the order of float sums; `score`
        is NaN in the rows of a task without a head. Inference only."""
        if self.packed_prefill:  # peft's mixed-adapter batches pick each adapter by row, and packing leaves one row
            raise ValueError("forward_tasks cannot run a packed prefill (set_prefill(packed=False) first)")
        unknown = sorted(set(tasks) - set(self.config.tasks))
        if unknown or len(tasks) != input_ids.shape[0]:
            raise ValueError(f"one task per row, of {self.config.tasks}; got {tasks!r} for {input_ids.shape[0]} rows")
        rows_of = {t: [i for i, task in enumerate(tasks) if task == t] for t in dict.fromkeys(tasks)}
        b, n = pixel_values.shape[:2]
        with self._row_adapters(self.vision_tower, [t for t in tasks for _ in range(n)]):
            vit = self._vit_features(pixel_values)
        vit = vit.reshape(b, n, -1, vit.shape[-1])
        llm_dim = self.language_model.config.hidden_size
        frame_tokens = vit.new_empty(b, n * vit.shape[2], llm_dim)
        motion_tokens = vit.new_empty(b, motion_features.shape[1], llm_dim)
        for task, rows in rows_of.items():
            projected = self.projectors[task](vit[rows].flatten(0, 1))
            frame_tokens[rows] = projected.reshape(len(rows), -1, llm_dim)
            motion_tokens[rows] = self.motion_projectors[task](motion_features[rows].to(self.dtype))
        embeds = self.merge_visual_tokens(input_ids, frame_tokens, motion_tokens, context_id)
        with self._row_adapters(self.language_model, list(tasks)):
            hidden_states = self._language_states(embeds, attention_mask).last_hidden_state
        hidden = hidden_states[torch.arange(b, device=input_ids.device), target_positions]
        score = torch.full((b,), float("nan"), device=hidden.device)
        for task, rows in rows_of.items():
            if task in self.score_heads:
                score[rows] = self.score_heads[task](hidden[rows].float())
        return LoveOutput(hidden=hidden, score=score, frame_tokens=frame_tokens,
                          word_logits=self.language_model.get_output_embeddings()(hidden).float())

    # -- parameter accounting -----------------------------------------------------------------------
    def parameter_counts(self) -> dict[str, int]:
        """Shared base vs. per-task parameters: what one-base-three-tasks saves over three checkpoints."""
        per_task = {t: 0 for t in self.config.tasks}
        shared = 0
        for name, param in self.named_parameters():
            owner = _task_owner(name, self.config.tasks)
            if owner is None:
                shared += param.numel()
            else:
                per_task[owner] += param.numel()
        total = shared + sum(per_task.values())
        # Three separate LOVE checkpoints = three copies of the base, each with one task's parts.
        separate = sum(shared + n for n in per_task.values())
        return {"shared": shared, **{f"task:{t}": n for t, n in per_task.items()}, "total": total,
                "three_separate_checkpoints": separate}

    # -- bundle I/O ---------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path, tokenizer=None, extra: dict | None = None) -> None:
        """Write `love_config.json` + `model.safetensors` (+ tokenizer files): a self-contained bundle."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        from .. import __version__

        data = {"format": BUNDLE_FORMAT, "love_plugins_version": __version__, **self.config.to_dict()}
        (directory / CONFIG_NAME).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        save_model(self, str(directory / WEIGHTS_NAME), metadata={"format": "pt", "bundle": BUNDLE_FORMAT})
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)
        if extra:
            (directory / "training_info.json").write_text(json.dumps(extra, indent=2) + "\n", encoding="utf-8")

    # -- dtypes -------------------------------------------------------------------------------------------
    # Parameters of these modules stay fp32 whatever the model's dtype: the score head reads the fp32-cast hidden
    # state (in bf16 its output between 50 and 100 would fall on a 0.39-point grid and tie in SRCC/KRCC).
    FP32_MODULES = ("score_heads.",)

    def dtype_of(self, name: str, dtype: torch.dtype) -> torch.dtype:
        """The dtype the floating tensor `name` takes in a model of `dtype`."""
        return torch.float32 if name.startswith(self.FP32_MODULES) else dtype

    def to_dtype(self, dtype: torch.dtype) -> LoveModel:
        """Cast the parameters and stored buffers to `dtype`, except the fp32 modules. Derived buffers (the LLM's
        rotary frequencies, the motion encoder's position index) keep theirs: `Module.to(dtype)` would round
        the frequencies to bf16 (an angle error of a radian at position 2,000 with LOVE's rope θ)."""
        stored = set(self.state_dict())
        with torch.no_grad():
            for name, tensor in [*self.named_parameters(), *self.named_buffers()]:
                if name in stored and tensor.is_floating_point():
                    tensor.data = tensor.data.to(self.dtype_of(name, dtype))
        return self

    @classmethod
    def from_config(cls, config: LoveConfig, device: str | torch.device | None = None,
                    dtype: torch.dtype | None = None) -> LoveModel:
        """Random weights built directly on `device` in `dtype`: a 9B model never passes through fp32 RAM."""
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype or previous)
        try:
            with torch.device(device) if device is not None else torch.device("cpu"):
                model = cls(config)
        finally:
            torch.set_default_dtype(previous)
        return model.to_dtype(dtype or previous)

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, dtype: torch.dtype | None = None, device: str | torch.device | None = None
    ) -> LoveModel:
        """Load a bundle strictly: any missing, unexpected or mis-shaped tensor is an error.

        The model is built without weights (on the meta device) and each stored tensor is then read once and
        put on `device` (default CPU) in `dtype` (default: the dtype stored in the file): peak device memory is
        the weights plus one tensor, and host memory holds one tensor at a time besides the memory-mapped file.
        """
        from accelerate import init_empty_weights
        from accelerate.utils import set_module_tensor_to_device

        directory = Path(directory)
        config_path = directory / CONFIG_NAME
        if not config_path.is_file():
            raise CheckpointError(directory, f"no {CONFIG_NAME}: not a love-plugins bundle (convert released "
                                             "LOVE weights with `love-eval convert`)")
        try:
            config = LoveConfig.load(config_path)
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            raise CheckpointError(config_path, f"invalid config: {exc}") from exc
        weights = directory / WEIGHTS_NAME
        if not weights.is_file():
            raise CheckpointError(directory, f"no {WEIGHTS_NAME}")
        device = torch.device(device) if device is not None else torch.device("cpu")
        header = _safetensors_header(weights)
        dtype = dtype or _stored_float_dtype(header)
        with init_empty_weights(include_buffers=False):  # parameters on "meta"; derived buffers computed
            model = cls(config)
        state = model.state_dict()
        misfit = [k for k, entry in header.items() if k in state and list(state[k].shape) != entry.get("shape")]
        if misfit:  # e.g. a config edited by hand (a motion encoder's input channels) over the stored weights
            name = sorted(misfit)[0]
            raise CheckpointError(weights, f"weights do not fit the config: {len(misfit)} tensor(s) of another "
                                           f"shape, first {name}: stored {header[name]['shape']}, config "
                                           f"{list(state[name].shape)}")
        missing, unexpected = sorted(set(state) - set(header)), sorted(set(header) - set(state))
        if missing or unexpected:
            raise CheckpointError(
                weights,
                f"{len(missing)} missing tensor(s) {missing[:5]}, {len(unexpected)} unexpected tensor(s) {unexpected[:5]}",
            )
        # Integer data in a floating parameter means a wrong file.
        wrong = [k for k, entry in header.items() if state[k].is_floating_point() and entry.get("dtype") not in _FLOAT_DTYPES]
        if wrong:
            raise CheckpointError(weights, f"non-floating dtype for floating tensor(s) {sorted(wrong)[:5]} "
                                           f"({header[wrong[0]]['dtype']})")
        try:
            with safe_open(str(weights), framework="pt", device="cpu") as f:
                for name in state:
                    tensor = f.get_tensor(name)
                    target = model.dtype_of(name, dtype) if tensor.is_floating_point() else None
                    set_module_tensor_to_device(model, name, device, value=tensor, dtype=target, clear_cache=False)
                    del tensor
        except Exception as exc:  # truncated data, bad offsets, ...
            raise CheckpointError(weights, f"unreadable safetensors file: {first_line(exc)}") from exc
        for name, buffer in list(model.named_buffers()):  # the derived ones, in the dtype they were computed in
            if buffer.device != device:
                kept = buffer.dtype if buffer.is_floating_point() else None
                set_module_tensor_to_device(model, name, device, value=buffer, dtype=kept, clear_cache=False)
        return model.eval()


_FLOAT_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "F64": torch.float64}


def _safetensors_header(weights: Path) -> dict:
    """Tensor names, dtypes and shapes of a safetensors file, read from its header alone."""
    import struct

    try:
        with open(weights, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
    except Exception as exc:
        raise CheckpointError(weights, f"unreadable safetensors file: {first_line(exc)}") from exc
    if not isinstance(header, dict):
        raise CheckpointError(weights, "unreadable safetensors file: its header is not a JSON object")
    header.pop("__metadata__", None)
    odd = [k for k, entry in header.items() if not (isinstance(entry, dict) and isinstance(entry.get("shape"), list))]
    if odd:  # the shape and dtype checks read every entry
        raise CheckpointError(weights, f"unreadable safetensors file: header entry {odd[0]!r} has no tensor shape")
    return header


def _stored_float_dtype(header: dict) -> torch.dtype:
    """The floating dtype a bundle was saved in (its first floating tensor's)."""
    for entry in header.values():
        if entry.get("dtype") in _FLOAT_DTYPES:
            return _FLOAT_DTYPES[entry["dtype"]]
    return torch.float32


def _task_owner(parameter_name: str, tasks: tuple[str, ...]) -> str | None:
    """Which task a parameter belongs to (LoRA weights carry the adapter name), or None if shared."""
    parts = parameter_name.split(".")
    for task in tasks:
        if parts[0] in ("projectors", "motion_projectors", "score_heads") and parts[1] == task:
            return task
        if ("lora_A" in parts or "lora_B" in parts) and task in parts:
            return task
    return None
