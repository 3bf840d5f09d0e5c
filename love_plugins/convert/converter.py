"""Released LOVE checkpoints (one full InternVL model per task) → one love-plugins bundle.

    convert({"perception": dir1, "correspondence": dir2, "qa": dir3}, out_dir, temporal="temporal.pth")

Every tensor of every source is mapped (see `mapping`), or conversion stops with a `CheckpointError`
naming the file and the key; nothing is loaded partially. Tensors the tasks share must be identical
across the checkpoints. LoRA may be stored unmerged (peft `base_layer` + `lora_A/B`) or merged into the
weights; merged LoRA needs the base model (`base=`) and is recovered by a checked rank-r SVD.

Memory: sources are memory-mapped and the output is streamed (see `writer`), so the process holds a
few tensors at a time, never a whole model.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..modeling.configuration_love import TASKS, LoveConfig
from . import mapping
from .lowrank import LowRankError, factorize_delta
from .sources import DictSource, OverlaySource, TensorSource, load_pickled_weights
from .writer import StreamingSafetensorsWriter

logger = logging.getLogger(__name__)

# The authors wrap LoRA with lora_alpha = 2·r (`wrap_backbone_lora` / `wrap_llm_lora`): scaling 2.
AUTHORS_LORA_SCALING = 2.0

# The authors' trainers save the LoRA of each new best evaluation here, beside `model.safetensors`; the final
# `trainer.save_model()` then overwrites `model.safetensors` with the last step's weights, and their
# inference scripts load this file over the checkpoint. A released folder can hold two different LoRAs.
LORA_WEIGHTS_NAME = "lora_weights.pth"
LORA_WEIGHTS_MODES = ("apply", "ignore")


@dataclass
class ConversionReport:
    out_dir: str
    tasks: list[str]
    tensors: int = 0
    bytes: int = 0
    lora: dict[str, str] = field(default_factory=dict)  # task -> "unmerged" / "merged (...)"
    max_residual_ratio: dict[str, float] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # task -> what became of the checkpoint's `lora_weights.pth` (see `apply_lora_weights`)
    lora_weights: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return self.__dict__.copy()


# -- the authors' config.json → LoveConfig ---------------------------------------------------------------
def love_config_from_authors(authors: dict, template: LoveConfig, path: Path) -> LoveConfig:
    """Architecture from an InternVLChatConfig dict; sampling, prompts and motion encoder from `template`."""
    data = template.to_dict()
    try:
        vis, llm = authors["vision_config"], authors["llm_config"]
        if authors.get("select_layer", -1) != -1:
            raise CheckpointError(path, f"select_layer {authors['select_layer']} is not supported (LOVE uses -1)")
        if authors.get("ps_version", "v2") != "v2":
            raise CheckpointError(path, f"ps_version {authors['ps_version']} is not supported (LOVE uses v2)")
        arch = (llm.get("architectures") or ["InternLM2ForCausalLM"])[0]
        if arch != "InternLM2ForCausalLM":
            raise CheckpointError(path, f"language model {arch} is not supported (LOVE uses InternLM2ForCausalLM)")
        patch = vis["patch_size"]
        image = authors.get("force_image_size") or vis["image_size"]
        data["vision_config"] = dict(
            hidden_size=vis["hidden_size"],
            num_hidden_layers=vis["num_hidden_layers"],
            num_attention_heads=vis["num_attention_heads"],
            intermediate_size=vis["intermediate_size"],
            attention_bias=bool(vis.get("qkv_bias", True)),
            use_qk_norm=bool(vis.get("qk_normalization", False)),
            norm_type=vis.get("norm_type", "layer_norm"),
            layer_norm_eps=vis.get("layer_norm_eps", 1e-6),
            image_size=image,
            patch_size=patch,
            hidden_act=vis.get("hidden_act", "gelu"),
            layer_scale_init_value=vis.get("initializer_factor", 0.1),
            use_mean_pooling=True,
        )
        scaling = llm.get("rope_scaling")
        rope = {"rope_type": "default", "rope_theta": float(llm.get("rope_theta", 10000.0))}
        if scaling:
            rope = {"rope_type": scaling.get("type", scaling.get("rope_type")), "factor": float(scaling["factor"]),
                    "rope_theta": float(llm.get("rope_theta", 10000.0))}
        data["text_config"] = dict(
            model_type="llama",
            vocab_size=llm["vocab_size"],
            hidden_size=llm["hidden_size"],
            intermediate_size=llm["intermediate_size"],
            num_hidden_layers=llm["num_hidden_layers"],
            num_attention_heads=llm["num_attention_heads"],
            num_key_value_heads=llm.get("num_key_value_heads", llm["num_attention_heads"]),
            hidden_act=llm.get("hidden_act", "silu"),
            max_position_embeddings=llm.get("max_position_embeddings", 32768),
            rms_norm_eps=llm.get("rms_norm_eps", 1e-5),
            rope_parameters=rope,
            bos_token_id=llm.get("bos_token_id", 1),
            eos_token_id=llm.get("eos_token_id", 2),
            pad_token_id=llm.get("pad_token_id", 2),
            tie_word_embeddings=bool(llm.get("tie_word_embeddings", False)),
            attention_bias=bool(llm.get("bias", False)),
        )
        if "downsample_ratio" in authors:
            data["downsample_ratio"] = authors["downsample_ratio"]
    except KeyError as exc:
        raise CheckpointError(path, f"config.json lacks {exc}") from exc
    return LoveConfig.from_dict(data)


def _architecture(authors: dict) -> dict:
    keep = ("hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size",
            "vocab_size", "patch_size", "image_size")
    return {part: {k: authors.get(part, {}).get(k) for k in keep} for part in ("vision_config", "llm_config")}


# -- classification of one checkpoint's tensors ----------------------------------------------------------
@dataclass
class _TargetSource:
    target: mapping.Target
    weight: str | None = None  # merged weight, or peft base_layer.weight
    bias: str | None = None
    lora_a: str | None = None
    lora_b: str | None = None
    unmerged: bool = False


@dataclass
class _Checkpoint:
    task: str | None  # None for the base model
    source: TensorSource
    shared: dict[str, str] = field(default_factory=dict)  # our name -> source key
    targets: dict[str, _TargetSource] = field(default_factory=dict)  # authors' module -> tensors
    task_parts: dict[str, str] = field(default_factory=dict)  # our name -> source key
    motion: dict[str, str] = field(default_factory=dict)  # encoder-relative name -> source key
    dropped: list[str] = field(default_factory=list)
    adapters: set[str] = field(default_factory=set)


def _classify(source: TensorSource, task: str | None, score_tasks: tuple[str, ...]) -> _Checkpoint:
    ck = _Checkpoint(task, source)
    for key in source.keys():
        n = mapping.unwrap(key)
        if n.role in ("lora_A", "lora_B"):
            target = mapping.match_target(n.name)
            if target is None:
                raise CheckpointError(source.file_of(key), f"LoRA on a module LOVE does not adapt: {key}")
            ts = ck.targets.setdefault(n.name, _TargetSource(target))
            ck.adapters.add(n.adapter)
            setattr(ts, "lora_a" if n.role == "lora_A" else "lora_b", key)
            continue
        module, _, leaf = n.name.rpartition(".")
        target = mapping.match_target(module) if leaf in ("weight", "bias") else None
        if target is not None:
            ts = ck.targets.setdefault(module, _TargetSource(target))
            if getattr(ts, leaf) is not None:
                raise CheckpointError(source.file_of(key), f"{key} duplicates {getattr(ts, leaf)}")
            setattr(ts, leaf, key)
            ts.unmerged = ts.unmerged or n.role == "base"
            continue
        if n.role == "base":
            raise CheckpointError(source.file_of(key), f"peft base_layer on a module LOVE does not adapt: {key}")
        if n.name.endswith(".rotary_emb.inv_freq"):  # a cache some transformers versions saved; recomputed
            ck.dropped.append(f"{source.file_of(key)}: {key} (rotary cache, recomputed from the config)")
            continue
        ours = mapping.match_shared(n.name)
        if ours is not None:
            ck.shared[ours] = key
            continue
        if n.name.startswith(mapping.MOTION_PREFIX):
            ck.motion[n.name[len(mapping.MOTION_PREFIX):]] = key
            continue
        if task is None:  # the base InternVL model: its own projector is replaced by each task's
            if n.name.startswith("mlp1."):
                ck.dropped.append(f"{source.file_of(key)}: {key} (base projector; each task ships its own mlp1)")
                continue
        else:
            ours = mapping.match_task(n.name, task, score_tasks)
            if ours == "":
                ck.dropped.append(f"{source.file_of(key)}: {key} (untrained score head of the {task} model)")
                continue
            if ours is not None:
                ck.task_parts[ours] = key
                continue
        raise CheckpointError(source.file_of(key), f"unmapped tensor {key}: no rule maps it into LoveModel")
    if len(ck.adapters) > 1:
        raise CheckpointError(source.path, f"several LoRA adapters {sorted(ck.adapters)}: cannot tell which is LOVE's")
    for module, ts in ck.targets.items():
        file = source.path
        if ts.weight is None:
            raise CheckpointError(file, f"missing tensor {module}.weight (or its peft base_layer.weight)")
        if (ts.lora_a is None) != (ts.lora_b is None):
            have, lack = ("lora_A", "lora_B") if ts.lora_a else ("lora_B", "lora_A")
            raise CheckpointError(file, f"missing tensor: {module} has {have} but no {lack}")
        if ts.lora_a is not None and not ts.unmerged:
            raise CheckpointError(file, f"{module} has LoRA factors but its weight is not a peft base_layer "
                                        "(merged weights with LoRA on top would apply the update twice)")
        if ts.unmerged and ts.lora_a is None:
            raise CheckpointError(file, f"missing tensor: {module} is peft-wrapped but has no lora_A/lora_B")
    return ck


def apply_lora_weights(ck: _Checkpoint, folder: Path, mode: str) -> dict:
    """Put the LoRA of `folder/lora_weights.pth` over the checkpoint's own, as the authors' inference does
    (`model.load_state_dict(torch.load(...), strict=False)` right after `from_pretrained`), and say what it did.

    The file's keys are the peft-wrapped parameter names the authors' trainer saved; they go through the
    same mapping as the checkpoint's. Stricter than `strict=False`: a key that is not a LoRA factor, or that
    maps to no LoRA tensor of the checkpoint, or a tensor of another shape, is a `CheckpointError`.
    """
    file = folder / LORA_WEIGHTS_NAME
    mode_done = {"apply": "applied", "ignore": "ignored"}[mode] if file.is_file() else "absent"
    record = {"file": str(file) if file.is_file() else None, "mode": mode_done,
              "replaced": 0, "lora_tensors": sum(2 for ts in ck.targets.values() if ts.lora_a),
              "max_abs_change": 0.0}
    if not file.is_file() or mode == "ignore":
        return record
    state = load_pickled_weights(file)
    if not state:
        raise CheckpointError(file, "holds no tensors")
    replacements: dict[str, torch.Tensor] = {}
    max_change = 0.0
    for key, tensor in state.items():
        n = mapping.unwrap(key)
        if n.role not in ("lora_A", "lora_B"):
            raise CheckpointError(file, f"{key} is not a LoRA factor (the authors' {LORA_WEIGHTS_NAME} holds only "
                                        "lora_A/lora_B tensors)")
        ts = ck.targets.get(n.name)
        own = None if ts is None else (ts.lora_a if n.role == "lora_A" else ts.lora_b)
        if own is None or n.adapter not in ck.adapters:
            raise CheckpointError(file, f"{key} maps to no LoRA tensor of {ck.source.path} (the checkpoint has "
                                        f"no {n.role} of {n.name} in adapter {n.adapter!r})")
        if own in replacements:
            raise CheckpointError(file, f"{key} maps onto {own}, which another key of this file already replaces")
        if tuple(tensor.shape) != ck.source.shape(own):
            raise CheckpointError(file, f"wrong shape for {key}: {tuple(tensor.shape)}, the checkpoint's {own} "
                                        f"has {ck.source.shape(own)}")
        original = ck.source.get(own)
        max_change = max(max_change, (tensor.float() - original.float()).abs().max().item())
        replacements[own] = tensor
    ck.source = OverlaySource(ck.source, file, replacements)
    record.update(replaced=len(replacements), max_abs_change=max_change)
    return record


# -- the conversion ---------------------------------------------------------------------------------------
def _read_authors_config(path: Path) -> dict | None:
    config = path / "config.json" if path.is_dir() else path.parent / "config.json"
    if not config.is_file():
        return None
    try:
        return json.loads(config.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckpointError(config, f"invalid JSON: {exc}") from exc


def _tokenizer_fingerprint(directory: Path) -> str | None:
    digest = hashlib.sha256()
    found = False
    for name in ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"):
        file = directory / name
        if file.is_file():
            digest.update(name.encode() + file.read_bytes())
            found = True
    return digest.hexdigest() if found else None


def convert(
    checkpoints: dict[str, str | Path],
    out_dir: str | Path,
    *,
    temporal: str | Path | None = None,
    base: str | Path | None = None,
    template: LoveConfig | None = None,
    tokenizer_dir: str | Path | None = None,
    overwrite: bool = False,
    name: str | None = None,
    progress: bool = False,
    lora_weights: str = "apply",
) -> ConversionReport:
    """Convert released per-task LOVE checkpoints into one bundle in `out_dir` (see module docstring).

    `lora_weights`: "apply" (default) loads a checkpoint folder's `lora_weights.pth` over its LoRA, as the
    authors' inference does; "ignore" keeps the LoRA of `model.safetensors`. Either is recorded in the report.
    """
    if lora_weights not in LORA_WEIGHTS_MODES:
        raise ValueError(f"lora_weights must be one of {LORA_WEIGHTS_MODES}, not {lora_weights!r}")
    tasks = tuple(t for t in TASKS if t in checkpoints)
    unknown = set(checkpoints) - set(TASKS)
    if unknown or not tasks:
        raise ValueError(f"checkpoints must be keyed by task names {TASKS}; got {sorted(checkpoints)}")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise CheckpointError(out_dir, "output directory is not empty (pass overwrite=True / --overwrite)")
    template = template or LoveConfig()

    # Architecture: from the authors' config.json (all three must agree), else the template.
    authors_configs = {t: _read_authors_config(Path(checkpoints[t])) for t in tasks}
    found = {t: c for t, c in authors_configs.items() if c is not None}
    if found:
        first_task, first = next(iter(found.items()))
        for t, c in found.items():
            if _architecture(c) != _architecture(first):
                raise CheckpointError(Path(checkpoints[t]) / "config.json",
                                      f"architecture differs from the {first_task} checkpoint's")
        config = love_config_from_authors(first, template, Path(checkpoints[first_task]) / "config.json")
    else:
        config = template
    score_tasks = tuple(t for t in tasks if t in ("perception", "correspondence"))

    sources = {t: _classify(TensorSource(checkpoints[t], label=t), t, score_tasks) for t in tasks}
    lora_overlays = {t: apply_lora_weights(sources[t], Path(checkpoints[t]), lora_weights) for t in tasks}
    base_ck = _classify(TensorSource(base, label="base"), None, score_tasks) if base is not None else None
    temporal_src = None
    if temporal is not None:
        state = load_pickled_weights(temporal)
        temporal_src = DictSource(temporal, state, label="temporal")

    # LoRA rank: what the checkpoints carry (or config.json says); alpha = 2r as the authors train.
    ranks = {sources[t].source.shape(ts.lora_a)[0] for t in tasks for ts in sources[t].targets.values() if ts.lora_a}
    declared = [c.get(k) for c in found.values() for k in ("use_llm_lora", "use_backbone_lora") if c.get(k)]
    rank = max(ranks | set(declared)) if (ranks or declared) else template.lora_r
    data = config.to_dict()
    data.update(tasks=list(tasks), lora_r=rank, lora_alpha=2 * rank,
                name=name or f"love (converted from the released {'/'.join(tasks)} checkpoints)")
    config = LoveConfig.from_dict(data)
    ours_scaling = config.lora_alpha / config.lora_r

    from ..modeling.modeling_love import BUNDLE_FORMAT, CONFIG_NAME, WEIGHTS_NAME, LoveModel

    with torch.device("meta"):
        expected_model = LoveModel(config)
    expected = {k: tuple(v.shape) for k, v in expected_model.state_dict().items()}
    del expected_model
    text = config.text_config
    heads = dict(num_heads=text["num_attention_heads"], num_kv_heads=text["num_key_value_heads"])

    report = ConversionReport(out_dir=str(out_dir), tasks=list(tasks), lora_weights=lora_overlays)
    plan: list[tuple[list[tuple[str, tuple, torch.dtype]], Callable[[], dict[str, torch.Tensor]]]] = []
    planned_shapes: dict[str, tuple[tuple, str]] = {}  # our key -> (shape, where from)

    def add(outputs: list[tuple[str, tuple, torch.dtype, str]], fn: Callable[[], dict[str, torch.Tensor]]):
        for key, shape, _, where in outputs:
            if key in planned_shapes:
                raise CheckpointError(where.split(": ")[0], f"{where} maps onto {key}, which is already provided")
            planned_shapes[key] = (tuple(shape), where)
        plan.append(([(k, tuple(s), d) for k, s, d, _ in outputs], fn))

    cks = [sources[t] for t in tasks]

    # 1. Shared plain tensors: identical in every task checkpoint (and the base, if given).
    shared_names = sorted(set().union(*(ck.shared for ck in cks)))
    for ours in shared_names:
        holders = [ck for ck in cks if ours in ck.shared]
        lacking = [ck for ck in cks if ours not in ck.shared]
        if ours not in expected:
            raise CheckpointError(holders[0].source.file_of(holders[0].shared[ours]),
                                  f"tensor {holders[0].shared[ours]} → {ours} does not exist in this architecture")
        if lacking:
            key = holders[0].shared[ours]
            raise CheckpointError(lacking[0].source.path, f"missing tensor {key} (present in {holders[0].source.path})")
        first = holders[0]
        src_key = first.shared[ours]
        also = [(ck.source, ck.shared[ours]) for ck in cks[1:]]
        if base_ck is not None and ours in base_ck.shared:
            also.append((base_ck.source, base_ck.shared[ours]))

        def shared_fn(ours=ours, first=first, src_key=src_key, also=also):
            tensor = first.source.get(src_key)
            for other, key in also:
                if not torch.equal(tensor, other.get(key).to(tensor.dtype)):
                    raise CheckpointError(other.file_of(key), f"{key} differs from {first.source.where(src_key)}: "
                                          "the checkpoints do not share one base model")
            return {ours: tensor}

        add([(ours, first.source.shape(src_key), first.source.dtype(src_key), first.source.where(src_key))], shared_fn)

    # 2. LoRA-target modules: shared base weight/bias + per-task LoRA, unpacked.
    modules = sorted(set().union(*(ck.targets for ck in cks)))
    for module in modules:
        holder = next(c for c in cks if module in c.targets)
        target = holder.targets[module].target
        if f"{target.ours[0]}.base_layer.weight" not in expected:
            raise CheckpointError(holder.source.file_of(holder.targets[module].weight),
                                  f"tensor {holder.targets[module].weight} → {target.ours[0]} does not exist in "
                                  "this architecture")
        for ck in cks:
            if module not in ck.targets:
                other = next(c for c in cks if module in c.targets)
                raise CheckpointError(ck.source.path, f"missing tensor {other.targets[module].weight} "
                                                      f"(present in {other.source.path})")
        plan_target(module, cks, base_ck, config, heads, rank, ours_scaling, expected, report, add)

    # 3. Per-task parts.
    for ck in cks:
        for ours, key in sorted(ck.task_parts.items()):
            add([(ours, ck.source.shape(key), ck.source.dtype(key), ck.source.where(key))],
                lambda src=ck.source, key=key, ours=ours: {ours: src.get(key)})
        report.dropped += ck.dropped
    if base_ck is not None:
        report.dropped += base_ck.dropped

    # 4. Motion encoder: the checkpoints' `evaluator.*` and/or temporal.pth, all identical.
    plan_motion(cks, temporal_src, config, add, report)

    # Completeness and shapes, before a single byte is written.
    missing = sorted(set(expected) - set(planned_shapes))
    if missing:
        raise CheckpointError(cks[0].source.path, f"{len(missing)} tensor(s) of LoveModel have no source: "
                                                  f"{missing[:5]} (truncated or incompatible checkpoint)")
    extra = sorted(set(planned_shapes) - set(expected))
    if extra:
        where = planned_shapes[extra[0]][1]
        raise CheckpointError(where.split(": ")[0], f"tensor {where.split(': ', 1)[-1]} → {extra[0]} does not exist "
                                                    f"in this architecture ({len(extra)} such tensor(s))")
    for key, (shape, where) in planned_shapes.items():
        if shape != expected[key]:
            file, _, src_key = where.partition(": ")
            raise CheckpointError(file, f"wrong shape for {src_key}: {shape} → {key}, expected {expected[key]}")

    # Write: config, weights (streamed), tokenizer, report.
    out_dir.mkdir(parents=True, exist_ok=True)
    flat = [item for outputs, _ in plan for item in outputs]
    from .. import __version__

    metadata = {"format": "pt", "bundle": BUNDLE_FORMAT, "converted_from": json.dumps({t: str(p) for t, p in checkpoints.items()})}
    try:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(flat), desc="converting", unit="tensor", disable=not progress)
        with StreamingSafetensorsWriter(out_dir / WEIGHTS_NAME, flat, metadata) as writer:
            for outputs, fn in plan:
                produced = fn()
                for key, _, dtype in outputs:
                    writer.write(key, produced.pop(key).to(dtype))
                bar.update(len(outputs))
                del produced
        bar.close()
        report.bytes = writer.total_bytes
        report.tensors = len(flat)
        (out_dir / CONFIG_NAME).write_text(
            json.dumps({"format": BUNDLE_FORMAT, "love_plugins_version": __version__, **config.to_dict()},
                       indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        write_tokenizer(checkpoints, tasks, base, tokenizer_dir, out_dir, report)
        (out_dir / "conversion_report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    except BaseException:
        for leftover in (CONFIG_NAME, WEIGHTS_NAME, "conversion_report.json"):
            (out_dir / leftover).unlink(missing_ok=True)
        raise
    return report


def write_tokenizer(checkpoints, tasks, base, tokenizer_dir, out_dir: Path, report: ConversionReport) -> None:
    from .tokenizer import load_authors_tokenizer

    candidates = [Path(tokenizer_dir)] if tokenizer_dir else []
    candidates += [Path(checkpoints[t]) for t in tasks if Path(checkpoints[t]).is_dir()]
    if base is not None and Path(base).is_dir():
        candidates.append(Path(base))
    prints = {str(c): _tokenizer_fingerprint(c) for c in candidates}
    with_tok = [c for c in candidates if prints[str(c)]]
    if not with_tok:
        raise CheckpointError(candidates[0] if candidates else out_dir,
                              "no tokenizer files (tokenizer.json / tokenizer.model) next to the checkpoints")
    distinct = {prints[str(c)] for c in with_tok if not tokenizer_dir or c != Path(tokenizer_dir)}
    if len(distinct) > 1:
        report.notes.append("tokenizer files differ between the checkpoints; used those of " + str(with_tok[0]))
    tokenizer = load_authors_tokenizer(with_tok[0])
    tokenizer.save_pretrained(out_dir)


def plan_target(module, cks, base_ck, config, heads, rank, ours_scaling, expected, report, add) -> None:
    tss = {ck.task: ck.targets[module] for ck in cks}
    srcs = {ck.task: ck.source for ck in cks}
    target = next(iter(tss.values())).target
    base_ts = base_ck.targets.get(module) if base_ck is not None else None
    if base_ck is not None and base_ts is None:
        raise CheckpointError(base_ck.source.path, f"missing tensor {module}.weight")
    first_task = cks[0].task
    first_ts, first_src = tss[first_task], srcs[first_task]
    w_shape = first_src.shape(first_ts.weight)
    sizes = mapping.split_sizes(w_shape[0], target.split, **heads)
    unmerged = [t for t, ts in tss.items() if ts.unmerged]
    # Where the shared base weight comes from.
    if unmerged:
        base_src, base_key = srcs[unmerged[0]], tss[unmerged[0]].weight
    elif base_ts is not None:
        base_src, base_key = base_ck.source, base_ts.weight
    else:
        base_src, base_key = first_src, first_ts.weight  # only valid if all tasks hold the same weight
    base_dtype = base_src.dtype(base_key)
    has_bias = first_ts.bias is not None
    outputs = []
    where_w = base_src.where(base_key)
    for ours, rows in zip(target.ours, sizes):
        outputs.append((f"{ours}.base_layer.weight", (rows, *w_shape[1:]), base_dtype, where_w))
        if has_bias:
            outputs.append((f"{ours}.base_layer.bias", (rows,), first_src.dtype(first_ts.bias),
                            first_src.where(first_ts.bias)))
    for task, ts in tss.items():
        src = srcs[task]
        lora_dtype = src.dtype(ts.lora_a) if ts.lora_a else src.dtype(ts.weight)
        where = src.where(ts.lora_a or ts.weight)
        for ours, rows in zip(target.ours, sizes):
            outputs.append((f"{ours}.lora_A.{task}.weight", (rank, w_shape[1]), lora_dtype, where))
            outputs.append((f"{ours}.lora_B.{task}.weight", (rows, rank), lora_dtype, where))
        if ts.lora_a:  # shape checks that the unpacked outputs cannot show
            a_shape, b_shape = src.shape(ts.lora_a), src.shape(ts.lora_b)
            if len(a_shape) != 2 or a_shape[1] != w_shape[1] or b_shape != (w_shape[0], a_shape[0]) or a_shape[0] > rank:
                raise CheckpointError(src.file_of(ts.lora_b), f"wrong shape for {ts.lora_a} {a_shape} / {ts.lora_b} "
                                                              f"{b_shape} (weight {w_shape})")
        if src.shape(ts.weight) != w_shape:
            raise CheckpointError(src.file_of(ts.weight), f"wrong shape for {ts.weight}: {src.shape(ts.weight)}, "
                                                          f"the {first_task} checkpoint has {w_shape}")

    def fn():
        base_w = base_src.get(base_key)
        for task in unmerged:
            key = tss[task].weight
            if key != base_key or srcs[task] is not base_src:
                if not torch.equal(srcs[task].get(key).to(base_w.dtype), base_w):
                    raise CheckpointError(srcs[task].file_of(key), f"{key} differs from {base_src.where(base_key)}: "
                                                                    "the checkpoints do not share one base model")
        if base_ts is not None and (base_src is not base_ck.source):
            if not torch.equal(base_ck.source.get(base_ts.weight).to(base_w.dtype), base_w):
                raise CheckpointError(base_ck.source.file_of(base_ts.weight),
                                      f"{base_ts.weight} differs from the LOVE checkpoints' base weight "
                                      f"{base_src.where(base_key)}: wrong base model")
        out: dict[str, torch.Tensor] = {}
        bias = None
        if has_bias:
            bias = first_src.get(first_ts.bias)
            others = [(srcs[t], tss[t].bias) for t in tss if t != first_task]
            if base_ts is not None and base_ts.bias is not None:
                others.append((base_ck.source, base_ts.bias))
            for src, key in others:
                if key is None or not torch.equal(src.get(key).to(bias.dtype), bias):
                    raise CheckpointError(src.path if key is None else src.file_of(key),
                                          f"bias of {module} differs from {first_src.where(first_ts.bias)}")
        for ours, part in zip(target.ours, mapping.split_rows(base_w, target.split, **heads)):
            out[f"{ours}.base_layer.weight"] = part
        if bias is not None:
            for ours, part in zip(target.ours, mapping.split_rows(bias, target.split, **heads)):
                out[f"{ours}.base_layer.bias"] = part
        for task, ts in tss.items():
            src = srcs[task]
            if ts.lora_a:
                a, b = src.get(ts.lora_a), src.get(ts.lora_b)
                ratio = AUTHORS_LORA_SCALING / ours_scaling
                if ratio != 1.0:
                    b = (b.double() * ratio).to(b.dtype)
                if a.shape[0] < rank:  # zero-pad: extra rank-one terms that add nothing
                    a = torch.cat([a, a.new_zeros(rank - a.shape[0], a.shape[1])])
                    b = torch.cat([b, b.new_zeros(b.shape[0], rank - b.shape[1])], dim=1)
            else:
                w = src.get(ts.weight)
                if base_ts is None and not unmerged:
                    same = all(torch.equal(srcs[t].get(tss[t].weight), w) for t in tss)
                    if not same:
                        raise CheckpointError(src.file_of(ts.weight),
                                              f"{ts.weight}: LoRA merged into the weights and no base model given; "
                                              "pass the base (OpenGVLab/InternVL3-9B) with --base to recover it")
                    a = w.new_zeros(rank, w.shape[1])
                    b = w.new_zeros(w.shape[0], rank)
                else:
                    try:
                        fit = factorize_delta(w, base_w, rank, ours_scaling)
                    except LowRankError as exc:
                        raise CheckpointError(src.file_of(ts.weight), f"{ts.weight}: {exc}") from exc
                    a, b = fit.lora_A, fit.lora_B
                    report.max_residual_ratio[task] = max(report.max_residual_ratio.get(task, 0.0), fit.ratio)
            for ours, part in zip(target.ours, mapping.split_rows(b, target.split, **heads)):
                out[f"{ours}.lora_A.{task}.weight"] = a
                out[f"{ours}.lora_B.{task}.weight"] = part
        return out

    add(outputs, fn)
    for task in tss:
        mode = "unmerged" if task in unmerged else ("merged" if base_ts is not None else "no LoRA (weights equal)")
        previous = report.lora.get(task)
        report.lora[task] = mode if previous in (None, mode) else "mixed"


def plan_motion(cks, temporal_src, config, add, report) -> None:
    from ..modeling.motion_encoder import MotionEncoder

    reference = MotionEncoder(config.motion_encoder_config)
    state = reference.state_dict()
    buffers = dict(reference.named_buffers())
    holders: list[tuple[TensorSource, dict[str, str]]] = []
    with_motion = [ck for ck in cks if ck.motion]
    if with_motion and len(with_motion) != len(cks):
        lacking = next(ck for ck in cks if not ck.motion)
        raise CheckpointError(lacking.source.path, f"missing tensors {mapping.MOTION_PREFIX}* (the other checkpoints "
                                                   "carry the motion encoder)")
    holders += [(ck.source, ck.motion) for ck in with_motion]
    if temporal_src is not None:
        names = {}
        for key in temporal_src.keys():
            if key.startswith(mapping.TEMPORAL_PREFIX):
                names[key[len(mapping.TEMPORAL_PREFIX):]] = key
            else:
                report.dropped.append(f"{temporal_src.path}: {key} (FAST-VQA quality head; LOVE uses the backbone only)")
        if not names:
            raise CheckpointError(temporal_src.path, f"no {mapping.TEMPORAL_PREFIX}* tensors: not FAST-VQA weights")
        holders.append((temporal_src, names))
    if not holders:
        raise CheckpointError(cks[0].source.path, "no motion encoder weights: the checkpoints carry no "
                                                  f"{mapping.MOTION_PREFIX}* tensors; pass temporal.pth")
    for src, names in holders:
        for name, key in names.items():
            if name.endswith("relative_position_index"):
                if name not in buffers or not torch.equal(src.get(key).to(buffers[name].dtype), buffers[name]):
                    raise CheckpointError(src.file_of(key), f"{key} does not match this encoder's window layout")
            elif name not in state:
                raise CheckpointError(src.file_of(key), f"unexpected tensor {key}: not part of the motion encoder")
        lacking = sorted(set(state) - set(names))
        if lacking:
            prefix = mapping.TEMPORAL_PREFIX if src is temporal_src else mapping.MOTION_PREFIX
            raise CheckpointError(src.path, f"missing tensor {prefix}{lacking[0]} ({len(lacking)} motion-encoder "
                                            "tensor(s) missing)")
    first_src, first_names = holders[0]
    for name in sorted(state):
        key = first_names[name]

        def fn(name=name, key=key):
            tensor = first_src.get(key)
            for src, names in holders[1:]:
                if not torch.equal(src.get(names[name]).to(tensor.dtype), tensor):
                    hint = (" (the released model runs with the checkpoints' own copy: leave temporal.pth out "
                            "to use it)" if src is temporal_src else "")
                    raise CheckpointError(src.file_of(names[name]), f"{names[name]} differs from "
                                                                    f"{first_src.where(key)}{hint}")
            return {f"motion_encoder.{name}": tensor}

        add([(f"motion_encoder.{name}", first_src.shape(key), first_src.dtype(key), first_src.where(key))], fn)
