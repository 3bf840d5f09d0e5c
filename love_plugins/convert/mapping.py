"""Tensor names: the LOVE authors' layout (InternVLChatModel + peft) → this project's `LoveModel`.

Authors' names, after peft's wrapping is peeled off (`vision_model.base_model.model.X` → `vision_model.X`,
`language_model.base_model.model.X` → `language_model.X`, `M.base_layer.weight` → `M.weight`,
`M.lora_A.<adapter>.weight` → a LoRA factor of module `M`):

| authors (InternViT / InternLM2 / LOVE)              | ours (`LoveModel.state_dict()`)                                   |
|-----------------------------------------------------|-------------------------------------------------------------------|
| vision_model.embeddings.class_embedding             | vision_tower.embeddings.cls_token                                 |
| vision_model.embeddings.patch_embedding.{w,b}       | vision_tower.embeddings.patch_embeddings.projection.{w,b}         |
| vision_model.embeddings.position_embedding          | vision_tower.embeddings.position_embeddings                       |
| vision_model.encoder.layers.N.attn.qkv.{w,b}  *     | vision_tower.encoder.layer.N.attention.{q,k,v}_proj.{w,b} (rows 3×C) |
| vision_model.encoder.layers.N.attn.proj  *          | vision_tower.encoder.layer.N.attention.projection_layer           |
| vision_model.encoder.layers.N.mlp.fc1/fc2  *        | vision_tower.encoder.layer.N.mlp.fc1/fc2                          |
| vision_model.encoder.layers.N.norm1/norm2           | vision_tower.encoder.layer.N.layernorm_before/layernorm_after     |
| vision_model.encoder.layers.N.ls1/ls2               | vision_tower.encoder.layer.N.lambda_1/lambda_2                    |
| language_model.model.tok_embeddings                 | language_model.model.embed_tokens                                 |
| language_model.model.layers.N.attention.wqkv  *     | language_model.model.layers.N.self_attn.{q,k,v}_proj (grouped GQA rows) |
| language_model.model.layers.N.attention.wo  *       | language_model.model.layers.N.self_attn.o_proj                    |
| language_model.model.layers.N.feed_forward.w1/w3/w2 * | language_model.model.layers.N.mlp.gate_proj/up_proj/down_proj   |
| language_model.model.layers.N.attention_norm/ffn_norm | language_model.model.layers.N.input_layernorm/post_attention_layernorm |
| language_model.model.norm / language_model.output   | language_model.model.norm / language_model.lm_head                |
| mlp1.0 / mlp1.1 / mlp1.3                (per task)  | projectors.<task>.layer_norm / linear_1 / linear_2                |
| fast_mlp.0 / fast_mlp.1 / fast_mlp.3    (per task)  | motion_projectors.<task>.layer_norm / linear_1 / linear_2         |
| mlpscore.fc1 … fc5          (perception, corresp.)  | score_heads.<task>.layers.0 … 4 (dropped for qa: never trained)   |
| evaluator.fragments_backbone.X  (= temporal.pth)    | motion_encoder.X (relative_position_index: checked, not stored)   |

`*` = LoRA target: the weight is the shared base (`…base_layer.weight`), `lora_A/B.<adapter>` become
our `lora_A/B.<task>` on each unpacked projection. A LoRA on a packed matrix is exact on the unpacked
ones: the three projections share A and take B's rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

VISION = "vision_model."
LLM = "language_model."

_PEFT_WRAP = re.compile(r"^(vision_model|language_model)\.base_model\.model\.")
_LORA = re.compile(r"^(?P<module>.+)\.lora_(?P<ab>[AB])\.(?P<adapter>[^.]+)\.weight$")

# LoRA-target modules of the authors' model and how each unpacks into ours.
_TARGETS: list[tuple[re.Pattern, str, tuple[str, ...]]] = [
    (re.compile(r"^vision_model\.encoder\.layers\.(\d+)\.attn\.qkv$"), "vit_qkv",
     ("vision_tower.encoder.layer.{0}.attention.q_proj", "vision_tower.encoder.layer.{0}.attention.k_proj",
      "vision_tower.encoder.layer.{0}.attention.v_proj")),
    (re.compile(r"^vision_model\.encoder\.layers\.(\d+)\.attn\.proj$"), "plain",
     ("vision_tower.encoder.layer.{0}.attention.projection_layer",)),
    (re.compile(r"^vision_model\.encoder\.layers\.(\d+)\.mlp\.(fc1|fc2)$"), "plain",
     ("vision_tower.encoder.layer.{0}.mlp.{1}",)),
    (re.compile(r"^language_model\.model\.layers\.(\d+)\.attention\.wqkv$"), "gqa_qkv",
     ("language_model.model.layers.{0}.self_attn.q_proj", "language_model.model.layers.{0}.self_attn.k_proj",
      "language_model.model.layers.{0}.self_attn.v_proj")),
    (re.compile(r"^language_model\.model\.layers\.(\d+)\.attention\.wo$"), "plain",
     ("language_model.model.layers.{0}.self_attn.o_proj",)),
    (re.compile(r"^language_model\.model\.layers\.(\d+)\.feed_forward\.w1$"), "plain",
     ("language_model.model.layers.{0}.mlp.gate_proj",)),
    (re.compile(r"^language_model\.model\.layers\.(\d+)\.feed_forward\.w3$"), "plain",
     ("language_model.model.layers.{0}.mlp.up_proj",)),
    (re.compile(r"^language_model\.model\.layers\.(\d+)\.feed_forward\.w2$"), "plain",
     ("language_model.model.layers.{0}.mlp.down_proj",)),
]

# Plain (non-LoRA) shared tensors: authors' full name → ours.
_SHARED: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^vision_model\.embeddings\.class_embedding$"), "vision_tower.embeddings.cls_token"),
    (re.compile(r"^vision_model\.embeddings\.patch_embedding\.(weight|bias)$"),
     "vision_tower.embeddings.patch_embeddings.projection.{0}"),
    (re.compile(r"^vision_model\.embeddings\.position_embedding$"), "vision_tower.embeddings.position_embeddings"),
    (re.compile(r"^vision_model\.encoder\.layers\.(\d+)\.norm1\.(weight|bias)$"),
     "vision_tower.encoder.layer.{0}.layernorm_before.{1}"),
    (re.compile(r"^vision_model\.encoder\.layers\.(\d+)\.norm2\.(weight|bias)$"),
     "vision_tower.encoder.layer.{0}.layernorm_after.{1}"),
    (re.compile(r"^vision_model\.encoder\.layers\.(\d+)\.ls1$"), "vision_tower.encoder.layer.{0}.lambda_1"),
    (re.compile(r"^vision_model\.encoder\.layers\.(\d+)\.ls2$"), "vision_tower.encoder.layer.{0}.lambda_2"),
    (re.compile(r"^language_model\.model\.tok_embeddings\.weight$"), "language_model.model.embed_tokens.weight"),
    (re.compile(r"^language_model\.model\.layers\.(\d+)\.attention_norm\.weight$"),
     "language_model.model.layers.{0}.input_layernorm.weight"),
    (re.compile(r"^language_model\.model\.layers\.(\d+)\.ffn_norm\.weight$"),
     "language_model.model.layers.{0}.post_attention_layernorm.weight"),
    (re.compile(r"^language_model\.model\.norm\.weight$"), "language_model.model.norm.weight"),
    (re.compile(r"^language_model\.output\.weight$"), "language_model.lm_head.weight"),
]

# Per-task tensors: authors' name → ours with a `{task}` slot.
_SEQ = {"0": "layer_norm", "1": "linear_1", "3": "linear_2"}
_TASK: list[tuple[re.Pattern, callable]] = [
    (re.compile(r"^mlp1\.([013])\.(weight|bias)$"), lambda m: f"projectors.{{task}}.{_SEQ[m[1]]}.{m[2]}"),
    (re.compile(r"^fast_mlp\.([013])\.(weight|bias)$"), lambda m: f"motion_projectors.{{task}}.{_SEQ[m[1]]}.{m[2]}"),
]
_SCORE = re.compile(r"^mlpscore\.fc([1-5])\.(weight|bias)$")
MOTION_PREFIX = "evaluator.fragments_backbone."
TEMPORAL_PREFIX = "fragments_backbone."


@dataclass(frozen=True)
class SourceName:
    """One authors' tensor name, with peft's wrapping peeled off."""

    key: str  # as stored
    name: str  # unwrapped full name (module + ".weight"/".bias"/...), or the module for a LoRA factor
    role: str  # "plain", "base" (peft base_layer), "lora_A", "lora_B"
    adapter: str | None = None


def unwrap(key: str) -> SourceName:
    name = _PEFT_WRAP.sub(r"\1.", key)
    lora = _LORA.match(name)
    if lora:
        return SourceName(key, lora["module"], f"lora_{lora['ab']}", lora["adapter"])
    if ".base_layer." in name:
        return SourceName(key, name.replace(".base_layer.", "."), "base")
    return SourceName(key, name, "plain")


@dataclass(frozen=True)
class Target:
    """A LoRA-target module of the authors' model and the module(s) of ours it becomes."""

    module: str  # authors' module path, e.g. language_model.model.layers.3.attention.wqkv
    split: str  # "plain", "vit_qkv", "gqa_qkv"
    ours: tuple[str, ...]  # our module paths (three for packed qkv)


def match_target(module: str) -> Target | None:
    for pattern, split, templates in _TARGETS:
        m = pattern.match(module)
        if m:
            return Target(module, split, tuple(t.format(*m.groups()) for t in templates))
    return None


def match_shared(name: str) -> str | None:
    for pattern, template in _SHARED:
        m = pattern.match(name)
        if m:
            return template.format(*m.groups())
    return None


def match_task(name: str, task: str, score_tasks: tuple[str, ...]) -> str | None:
    """Our name of a per-task tensor; "" for one that is deliberately dropped; None if not per-task."""
    for pattern, build in _TASK:
        m = pattern.match(name)
        if m:
            return build(m).format(task=task)
    m = _SCORE.match(name)
    if m:
        if task not in score_tasks:
            return ""  # the QA model carries an untrained score head: not part of the task
        return f"score_heads.{task}.layers.{int(m[1]) - 1}.{m[2]}"
    return None


def split_rows(tensor: torch.Tensor, split: str, *, num_heads: int = 0, num_kv_heads: int = 0) -> list[torch.Tensor]:
    """Rows of a packed projection (weight, bias or LoRA B) → q, k, v rows (or [tensor] for "plain").

    InternViT `attn.qkv`: rows are [q (C) | k (C) | v (C)].
    InternLM2 `attention.wqkv`: rows are grouped per KV head: for each of the `num_kv_heads` heads,
    [its `num_heads / num_kv_heads` query heads…, its key head, its value head], each `head_dim`
    rows — the authors' `rearrange('b q (h gs d) -> b q h gs d', gs=2 + groups)`. Query head
    `h·groups + g` is the g-th query of KV group h, which is the order `repeat_kv` assumes.
    """
    if split == "plain":
        return [tensor]
    if split == "vit_qkv":
        if tensor.shape[0] % 3:
            raise ValueError(f"packed qkv has {tensor.shape[0]} rows, not a multiple of 3")
        return [t.contiguous() for t in tensor.chunk(3, dim=0)]
    if split == "gqa_qkv":
        groups = num_heads // num_kv_heads
        rows = tensor.shape[0]
        per_kv = rows // num_kv_heads
        if rows % num_kv_heads or per_kv % (groups + 2):
            raise ValueError(f"packed wqkv has {rows} rows: not {num_kv_heads} KV groups of ({groups}+2) heads")
        head_dim = per_kv // (groups + 2)
        packed = tensor.reshape(num_kv_heads, groups + 2, head_dim, *tensor.shape[1:])
        q = packed[:, :groups].reshape(num_kv_heads * groups * head_dim, *tensor.shape[1:])
        k = packed[:, groups].reshape(num_kv_heads * head_dim, *tensor.shape[1:])
        v = packed[:, groups + 1].reshape(num_kv_heads * head_dim, *tensor.shape[1:])
        return [q.contiguous(), k.contiguous(), v.contiguous()]
    raise ValueError(f"unknown split {split!r}")


def split_sizes(rows: int, split: str, *, num_heads: int = 0, num_kv_heads: int = 0) -> list[int]:
    """Row counts `split_rows` produces, computed from shapes only."""
    if split == "plain":
        return [rows]
    if split == "vit_qkv":
        return [rows // 3] * 3
    groups = num_heads // num_kv_heads
    head_dim = rows // num_kv_heads // (groups + 2)
    return [num_heads * head_dim, num_kv_heads * head_dim, num_kv_heads * head_dim]
