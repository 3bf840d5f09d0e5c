"""Analytic FLOPs of LOVE per video, and a GPU throughput / model-FLOP-utilisation measurement.

    python benchmarks/gpu_throughput.py --flops-only          # the table, no model built
    python benchmarks/gpu_throughput.py --config 9b --batch-size 1 8 --videos 64   # on a GPU (random weights)
    python benchmarks/gpu_throughput.py --config tiny         # the same code path on a CPU
    # end to end: real mp4 files decoded by the Scorer (workers, pinned transfers), all three tasks
    python benchmarks/gpu_throughput.py --config 9b --end-to-end --clips 64 --resolution 1280x720 --workers 4
    # loading: save the random 9B bundle to disk, load it on the GPU, record time and peak GPU memory
    python benchmarks/gpu_throughput.py --config 9b --load-bundle /tmp/love9b --batch-size 8 --end-to-end
    # the levers of issue 45, one row each, all three tasks, outputs checked against the plain path
    python benchmarks/gpu_throughput.py --config 9b --batch-size 8 --ablation --json benchmarks/results/levers.json

FLOPs count 2 per multiply-add of every matrix product (linear layers, convolutions, attention
scores and values, causal attention halved); norms, activations and softmax are ignored (<1 %).
MFU = achieved FLOP/s / the device's dense bf16 peak (H100 SXM 989 TFLOP/s, H200 the same core).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from love_plugins.errors import first_line
from love_plugins.modeling import LoveConfig, LoveModel, LoveProcessor, TextRequest
from love_plugins.modeling.tiny import build_tokenizer, tiny_config
from love_plugins.scorer import run_tasks

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def analytic_flops(config: LoveConfig, text_tokens: int = 90) -> dict[str, float]:
    """FLOPs for one video: the shared motion encoder once, and each task's vision tower + LLM pass."""
    s = config.sampler_config
    v = config.vision_config
    t = config.text_config
    patch = v["patch_size"] if isinstance(v["patch_size"], int) else v["patch_size"][0]
    vit_tokens = (s.frame_size // patch) ** 2 + 1
    d, ff, layers = v["hidden_size"], v["intermediate_size"], v["num_hidden_layers"]
    vit_per_frame = layers * (2 * vit_tokens * (4 * d * d + 2 * d * ff) + 4 * vit_tokens**2 * d)
    vit_per_frame += 2 * (s.frame_size // patch) ** 2 * 3 * patch * patch * d  # patch embedding
    proj_in = d * int(round(1 / config.downsample_ratio)) ** 2
    h = t["hidden_size"]
    projector = 2 * config.tokens_per_frame * s.num_frames * (proj_in * h + h * h)
    seq = config.tokens_per_frame * s.num_frames + 3 * config.num_motion_tokens + 2 * s.num_frames + text_tokens
    kv = t["num_key_value_heads"] * (h // t["num_attention_heads"])
    per_layer = 2 * seq * (h * h + 2 * h * kv + h * h + 3 * h * t["intermediate_size"])
    per_layer += 2 * seq * seq * h  # causal QK^T and AV (half of 4·L²·d)
    llm = t["num_hidden_layers"] * per_layer + 2 * h * t["vocab_size"]  # lm_head at one position
    motion = _swin_flops(config) * s.num_clips
    per_task = vit_per_frame * s.num_frames + projector + llm
    return {"motion_encoder": motion, "vision_tower": vit_per_frame * s.num_frames, "projector": projector,
            "llm": llm, "per_task": per_task, "three_tasks": motion + 3 * per_task, "sequence_length": seq}


def _swin_flops(config: LoveConfig) -> float:
    """Video Swin 3D on one (clip_len, M, M) clip, windowed attention included."""
    m = config.motion_encoder_config
    s = config.sampler_config
    pt, ph, pw = m.patch_size
    tokens = [(s.clip_len // pt) * (s.mosaic_size // ph) * (s.mosaic_size // pw)]
    dims = [m.embed_dim * 2**i for i in range(len(m.depths))]
    for _ in m.depths[1:]:
        tokens.append(tokens[-1] // 4)
    window = math.prod(m.window_size)
    flops = 2 * tokens[0] * 3 * pt * ph * pw * m.embed_dim
    for i, depth in enumerate(m.depths):
        n, c = tokens[i], dims[i]
        flops += depth * (2 * n * (4 * c * c + 2 * c * int(c * m.mlp_ratio)) + 4 * n * min(window, n) * c)
        if i < len(m.depths) - 1:
            flops += 2 * (n // 4) * 4 * c * 2 * c  # patch merging
    return float(flops)


def _random_inputs(config: LoveConfig, batch_size: int, device: torch.device, dtype: torch.dtype):
    """Normalised frames and fragment clips of the configured shapes (what decoding would hand over)."""
    s = config.sampler_config
    frames = torch.randn(batch_size, s.num_frames, 3, s.frame_size, s.frame_size, device=device, dtype=dtype)
    frags = torch.randn(batch_size, s.num_clips, 3, s.clip_len, s.mosaic_size, s.mosaic_size, device=device,
                        dtype=dtype)
    return frames, frags


def measure(model: LoveModel, tokenizer, tasks: tuple[str, ...], batch_size: int, videos: int) -> dict:
    """videos/s of `tasks` on random inputs of the configured shapes (motion encoder once per batch)."""
    config, device, dtype = model.config, model.device, model.dtype
    processor = LoveProcessor(tokenizer, config)
    frames, frags = _random_inputs(config, batch_size, device, dtype)
    requests = [TextRequest(prompt="a red ball rolling left on a wooden table", question="Is the ball red?")]

    def step():
        with torch.inference_mode():
            motion = model.encode_motion(frags)
            for task in tasks:
                batch = {k: v.to(device) for k, v in processor(task, requests * batch_size).items()}
                model(task, pixel_values=frames, motion_features=motion, context_id=processor.image_context_id,
                      **batch)

    _, rate = _timed_rate(step, device, batch_size, videos)
    return {"tasks": list(tasks), "batch_size": batch_size, "videos": max(1, videos // batch_size) * batch_size,
            **_throughput(config, len(tasks), rate, device)}


def _timed_rate(step, device: torch.device, batch_size: int, videos: int):
    """(the warm-up step's output, videos/s over `videos // batch_size` more steps), peak memory counted from them."""
    first = step()  # warm-up (and compilation)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    steps = max(1, videos // batch_size)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return first, steps * batch_size / (time.perf_counter() - start)


def _throughput(config: LoveConfig, num_tasks: int, rate: float, device: torch.device) -> dict:
    """videos/s, analytic TFLOP/s and, on a GPU, MFU and peak memory."""
    flops = analytic_flops(config)
    total = flops["motion_encoder"] + num_tasks * flops["per_task"]
    out = {"videos_per_s": round(rate, 3), "tflops_per_s": round(rate * total / 1e12, 1)}
    if device.type == "cuda":
        name = torch.cuda.get_device_name()
        peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
        out["device"] = name
        out["mfu"] = round(out["tflops_per_s"] / peak, 3) if peak else None
        out["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
    return out


@dataclass(frozen=True)
class Lever:
    """One way of running the same batch (issue 45); every field left at its default is the plain path."""

    name: str
    key: str = "plain"  # its name on the command line (--levers)
    one_pass: bool = False  # the tasks in one mixed-adapter forward (LoveModel.forward_tasks)
    packed: bool = False  # the rows' tokens in one sequence without padding (LoveModel.set_prefill)
    attention: str | None = None  # the LLM's attention implementation (None: as built, SDPA)
    compile_mode: str | None = None  # torch.compile of the LLM: "default", or "reduce-overhead" (CUDA graphs)
    compile_encoders: bool = False  # torch.compile of the vision tower and the motion encoder (fused norms)
    fused: bool = False  # liger-kernel's RMSNorm, RoPE and SwiGLU kernels in the LLM

    def unavailable(self, device: torch.device) -> str | None:
        """Why this lever cannot run here, or None."""
        if self.compile_mode == "reduce-overhead" and device.type != "cuda":
            return "CUDA graphs need a GPU"
        if self.attention == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
            return "flash-attn is not installed"
        if self.fused and (device.type != "cuda" or importlib.util.find_spec("liger_kernel") is None):
            return "liger-kernel needs a GPU and the liger-kernel package"
        return None

    @classmethod
    def together(cls, levers: list[Lever]) -> Lever:
        """All of `levers` at once (their switches do not overlap: one per group)."""
        switches = {f: getattr(lever, f) for lever in levers
                    for f in ("one_pass", "packed", "attention", "compile_mode", "compile_encoders", "fused")
                    if getattr(lever, f)}
        return cls(" + ".join(lever.name for lever in levers) or "per-task passes (plain)",
                   "+".join(lever.key for lever in levers) or "plain", **switches)


LEVERS = (
    Lever("per-task passes (plain)"),
    Lever("one pass, mixed adapters", "one-pass", one_pass=True),
    Lever("FlashAttention-2 (padded rows unpadded inside)", "fa2", attention="flash_attention_2"),
    Lever("packed prefill, flex_attention block mask", "packed-flex", packed=True, attention="flex_attention"),
    Lever("packed prefill, FlashAttention-2 varlen", "packed-fa2", packed=True, attention="flash_attention_2"),
    Lever("torch.compile of the LLM", "compile", compile_mode="default"),
    Lever("CUDA graphs (torch.compile reduce-overhead)", "cuda-graphs", compile_mode="reduce-overhead"),
    Lever("torch.compile of the vision tower and motion encoder", "compile-encoders", compile_encoders=True),
    Lever("fused RMSNorm/RoPE/SwiGLU (liger-kernel)", "liger", fused=True),
)
# levers of one group exclude each other; the best of each group that helps goes into the combination
LEVER_GROUPS = {"layout": lambda lever: lever.one_pass or lever.packed or lever.attention is not None,
                "compile": lambda lever: lever.compile_mode is not None,
                "encoders": lambda lever: lever.compile_encoders, "fused": lambda lever: lever.fused}


@contextlib.contextmanager
def applied(model: LoveModel, lever: Lever):
    """`model` runs with `lever` inside, as built after."""
    llm = model.language_model
    eager, attention = llm.model, llm.config._attn_implementation
    encoders = {"vision_tower": model.vision_tower, "motion_encoder": model.motion_encoder}
    restore = _fuse_llm_kernels(llm) if lever.fused else (lambda: None)
    try:
        model.set_prefill(packed=lever.packed, attention=lever.attention)
        if lever.compile_mode:
            llm.model = torch.compile(eager, mode=lever.compile_mode)
        if lever.compile_encoders:
            for name, module in encoders.items():
                setattr(model, name, torch.compile(module))
        yield
    finally:
        llm.model = eager
        for name, module in encoders.items():
            setattr(model, name, module)
        model.set_prefill(packed=False, attention=attention)
        restore()


def _fuse_llm_kernels(llm):
    """liger-kernel's RMSNorm, RoPE and SwiGLU in this LLM (a llama-layout model); returns the undo."""
    from liger_kernel.transformers import apply_liger_kernel_to_llama
    from transformers.models.llama import modeling_llama

    saved = {k: getattr(modeling_llama, k) for k in ("apply_rotary_pos_emb", "LlamaRMSNorm", "LlamaMLP")}
    before = {module: dict(module.__dict__) for module in llm.modules()}
    apply_liger_kernel_to_llama(rope=True, rms_norm=True, swiglu=True, cross_entropy=False,
                                fused_linear_cross_entropy=False, model=llm)
    absent = object()
    # what liger set on the instances (their forwards and settings), with what was there before
    patched = {module: {key: before[module].get(key, absent) for key, value in module.__dict__.items()
                        if before[module].get(key, absent) is not value} for module in before}

    def restore():
        for name, value in saved.items():
            setattr(modeling_llama, name, value)
        for module, attributes in patched.items():
            for key, value in attributes.items():
                if value is absent:
                    del module.__dict__[key]
                else:
                    module.__dict__[key] = value

    return restore


def _task_step(model: LoveModel, processor: LoveProcessor, frames, frags, batch_size: int, tasks: tuple[str, ...],
               one_pass: bool):
    """One batch of `tasks` as the Scorer runs it (`run_tasks`): a pass per task, or one mixed-adapter pass;
    returns the answer-word logits of every row, task by task."""
    requests = [TextRequest(prompt="a red ball rolling left on a wooden table", question="Is the ball red?")]
    batches = {task: {k: v.to(model.device) for k, v in processor(task, requests * batch_size).items()}
               for task in tasks}

    def step() -> torch.Tensor:
        with torch.inference_mode():
            outputs = run_tasks(model, processor, batches, frames, model.encode_motion(frags), one_pass)
            return torch.cat([out.word_logits for out in outputs.values()])

    return step


def ablation(model: LoveModel, tokenizer, batch_size: int, videos: int, report=print,
             keys: Sequence[str] | None = None) -> list[dict]:
    """videos/s of all three tasks with each lever on its own, then with the best lever of each group that helps
    (faster than the plain path, its answer-word logits within bf16 rounding of the plain path's: at most 2 % of
    their largest magnitude), for all three tasks and for one; one row each, in one run, each row handed to
    `report` as it is measured. `keys`: only these levers (and the plain path); default all."""
    config = model.config
    processor = LoveProcessor(tokenizer, config)
    frames, frags = _random_inputs(config, batch_size, model.device, model.dtype)
    all_tasks, one_task = tuple(config.tasks), (config.tasks[0],)
    references = {tasks: _task_step(model, processor, frames, frags, batch_size, tasks, one_pass=False)()
                  for tasks in (all_tasks, one_task)}

    def run(lever: Lever, tasks: tuple[str, ...], final: bool = False) -> dict:
        row = {"lever": lever.name, "key": lever.key, "tasks": list(tasks), "batch_size": batch_size, "final": final}
        reason = lever.unavailable(model.device)
        if reason:
            row["not_measured"] = reason
        else:
            try:
                with applied(model, lever):
                    step = _task_step(model, processor, frames, frags, batch_size, tasks, lever.one_pass)
                    got, rate = _timed_rate(step, model.device, batch_size, videos)
            except Exception as exc:  # a lever that does not run with this stack is a finding, not the end
                row["failed"] = f"{type(exc).__name__}: {first_line(exc)[:300]}"
            else:
                reference = references[tasks].float()
                difference = float((got.float() - reference).abs().max())
                row.update(_throughput(config, len(tasks), rate, model.device),
                           max_logit_difference=round(difference, 4),
                           within_tolerance=difference <= 0.02 * float(reference.abs().max()))
        report(row)
        return row

    levers = [lever for lever in LEVERS if keys is None or lever.key in ("plain", *keys)]
    rows = [run(lever, all_tasks) for lever in levers]
    plain = rows[0].get("videos_per_s", 0.0)
    chosen = []
    for member in LEVER_GROUPS.values():
        helping = [(row["videos_per_s"], lever) for lever, row in zip(levers, rows)
                   if member(lever) and row.get("within_tolerance") and row["videos_per_s"] > plain]
        if helping:
            chosen.append(max(helping, key=lambda pair: pair[0])[1])
    return [*rows, run(Lever.together(chosen), all_tasks, final=True),  # one task: no tasks to mix in one pass
            run(Lever.together([lever for lever in chosen if not lever.one_pass]), one_task, final=True),
            run(LEVERS[0], one_task)]


def breakdown(model: LoveModel, tokenizer, batch_size: int, repeats: int = 5) -> dict:
    """Seconds per video of each part of one task's pass (motion encoder, vision tower + projector, the
    rest: merging and the LLM), to see where the time goes."""
    config, device, dtype = model.config, model.device, model.dtype
    processor = LoveProcessor(tokenizer, config)
    frames, frags = _random_inputs(config, batch_size, device, dtype)
    task = config.tasks[0]
    batch = {k: v.to(device) for k, v in processor(task, [TextRequest(prompt="a red ball")] * batch_size).items()}
    motion = model.encode_motion(frags)
    parts = {
        "motion_encoder": lambda: model.encode_motion(frags),
        "vision_tower_and_projector": lambda: model.encode_frames(frames, task),
        "whole_task_pass": lambda: model(task, pixel_values=frames, motion_features=motion,
                                         context_id=processor.image_context_id, **batch),
    }
    out = {}
    with torch.inference_mode():
        for name, fn in parts.items():
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            out[name] = (time.perf_counter() - start) / repeats / batch_size
    out["llm_and_merge"] = out["whole_task_pass"] - out["vision_tower_and_projector"]
    flops = analytic_flops(config)
    achieved = {"motion_encoder": flops["motion_encoder"], "vision_tower_and_projector": flops["vision_tower"]
                + flops["projector"], "llm_and_merge": flops["llm"], "whole_task_pass": flops["per_task"]}
    return {name: {"ms_per_video": round(sec * 1e3, 2), "tflops_per_s": round(achieved[name] / sec / 1e12, 1)}
            for name, sec in out.items()}


def write_clips(folder: Path, count: int, width: int, height: int, frames: int = 64, fps: int = 24) -> list[str]:
    """`count` real H.264 mp4 files of moving, noisy content at the given resolution (written once)."""
    import av
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        path = folder / f"clip{i:04d}_{width}x{height}.mp4"
        paths.append(str(path))
        if path.is_file():
            continue
        base = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            for t in range(frames):
                frame = np.roll(base, shift=(t * 3, t * 5), axis=(0, 1))
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    return paths


def measure_end_to_end(model: LoveModel, tokenizer, clips: list[str], tasks: tuple[str, ...], batch_size: int,
                       workers: int) -> dict:
    """videos/s of the Scorer on real files: decoding (in `workers` processes), transfer and the model."""
    from love_plugins.scorer import Scorer

    scorer = Scorer(model, tokenizer, device=model.device, batch_size=batch_size, num_workers=workers)
    prompts = ["a red ball rolling left on a wooden table"] * len(clips)
    questions = ["Is the ball red?"] * len(clips)
    scorer.score(clips[:batch_size], prompts[:batch_size], questions[:batch_size], tasks=tasks)  # warm-up
    if model.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    results = scorer.score(clips, prompts, questions, tasks=tasks)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    out = {"mode": "end-to-end", "tasks": list(tasks), "batch_size": batch_size, "workers": workers,
           "videos": len(clips), "failed": sum(not r.ok for r in results),
           "videos_per_s": round(len(clips) / seconds, 3)}
    if model.device.type == "cuda":
        out["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
    return out


def measure_load(directory: Path, device: torch.device, dtype: torch.dtype) -> tuple[LoveModel, dict]:
    """Load a bundle from disk onto `device`: seconds and peak device memory against the weights' size."""
    weights = directory / "model.safetensors"
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    model = LoveModel.from_pretrained(directory, dtype=dtype, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    out = {"mode": "load", "seconds": round(time.perf_counter() - start, 1),
           "weights_gib": round(weights.stat().st_size / 2**30, 2)}
    if device.type == "cuda":
        out["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return model, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=["9b", "tiny"], default="9b")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[8], help="one or more batch sizes")
    parser.add_argument("--videos", type=int, default=64)
    parser.add_argument("--flops-only", action="store_true")
    parser.add_argument("--json", help="also write the measurements to this JSON file")
    parser.add_argument("--breakdown", action="store_true", help="also time each part of one task's pass")
    parser.add_argument("--end-to-end", action="store_true",
                        help="also score real mp4 files through the Scorer (decoding included)")
    parser.add_argument("--clips", type=int, default=64, help="end to end: number of clips (default: %(default)s)")
    parser.add_argument("--resolution", default="1280x720", help="end to end: clip size WxH (default: %(default)s)")
    parser.add_argument("--clip-dir", type=Path, default=Path("/tmp/love_bench_clips"),
                        help="end to end: where the clips are written once (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None,
                        help="end to end: decoding workers (default: the Scorer's, up to 4 per GPU)")
    parser.add_argument("--ablation", action="store_true",
                        help="all three tasks with each lever of issue 45 on its own (one mixed-adapter pass, packed prefill, "
                             "FlashAttention-2, torch.compile of the LLM or the encoders, CUDA graphs, liger-kernel), then the best "
                             "together")
    parser.add_argument("--levers", nargs="+", choices=[lever.key for lever in LEVERS[1:]], default=None,
                        help="with --ablation: only these levers beside the plain path (default: all), to split "
                             "the ablation over runs of limited length")
    parser.add_argument("--load-bundle", type=Path, default=None,
                        help="save the random model as a bundle in this folder (once), then load it from disk "
                             "on the device and record the time and peak memory")
    args = parser.parse_args()
    tokenizer = build_tokenizer()
    if args.config == "9b":
        config = LoveConfig()
        config.text_config = {**config.text_config, "vocab_size": max(len(tokenizer), 128142)}
    else:
        config = tiny_config(vocab_size=len(tokenizer))
    flops = analytic_flops(config)
    print(f"sequence length {flops['sequence_length']} tokens")
    for key in ("motion_encoder", "vision_tower", "projector", "llm", "per_task", "three_tasks"):
        print(f"{key:>15}: {flops[key] / 1e12:8.3f} TFLOPs per video")
    for gpu, peak in PEAK_BF16_TFLOPS.items():
        print(f"ceiling on one {gpu} (bf16 dense {peak:.0f} TFLOP/s): "
              f"{peak * 1e12 / flops['per_task']:.1f} videos/s per task, "
              f"{peak * 1e12 / flops['three_tasks']:.1f} videos/s for all three")
    if args.flops_only:
        return
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if args.config == "9b" and device.type == "cpu":
        raise SystemExit("the 9B measurement needs a GPU; use --config tiny on a CPU")
    torch.manual_seed(0)
    started = time.perf_counter()
    loaded = None
    if args.load_bundle is not None:
        if not (args.load_bundle / "model.safetensors").is_file():
            LoveModel.from_config(config, device=device, dtype=dtype).save_pretrained(args.load_bundle, tokenizer)
            if device.type == "cuda":
                torch.cuda.empty_cache()
        model, loaded = measure_load(args.load_bundle, device, dtype)
        print(json.dumps(loaded), flush=True)
    else:
        model = LoveModel.from_config(config, device=device, dtype=dtype).eval()
    print(f"built in {time.perf_counter() - started:.0f} s; attention: "
          f"{model.language_model.config._attn_implementation} (LLM), "
          f"{model.vision_tower.config._attn_implementation} (ViT); torch {torch.__version__}")
    results = [loaded] if loaded else []

    def record(result: dict | None = None) -> None:
        """Print a measurement and rewrite the JSON file with everything so far (a stopped run keeps it)."""
        if result is not None:
            print(json.dumps(result), flush=True)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps({"config": args.config, "environment": environment(device),
                                                   "results": results}, indent=2) + "\n")

    if args.end_to_end:
        from love_plugins.scorer import default_num_workers

        width, height = (int(x) for x in args.resolution.lower().split("x"))
        clips = write_clips(args.clip_dir, args.clips, width, height)
        workers = default_num_workers(device) if args.workers is None else args.workers
        for batch_size in args.batch_size:
            for tasks in (("perception",), tuple(config.tasks)):
                results.append(measure_end_to_end(model, tokenizer, clips, tasks, batch_size, workers))
                record(results[-1])
    for batch_size in args.batch_size:
        for tasks in (("perception",), tuple(config.tasks)):
            results.append(measure(model, tokenizer, tasks, batch_size, args.videos))
            record(results[-1])
        if args.breakdown:
            results[-1]["breakdown"] = breakdown(model, tokenizer, batch_size)
            record(results[-1]["breakdown"])
        if args.ablation:
            results.append({"ablation": []})
            ablation(model, tokenizer, batch_size, args.videos, keys=args.levers,
                     report=lambda row, rows=results[-1]["ablation"]: (rows.append(row), record(row)))


def environment(device: torch.device) -> dict:
    """The device and the versions a measurement ran with."""
    import platform

    import transformers

    return {"device": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine(),
            "torch": torch.__version__, "transformers": transformers.__version__, "cuda": torch.version.cuda,
            "python": platform.python_version()}


if __name__ == "__main__":
    main()
