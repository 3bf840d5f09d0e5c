"""A demonstration of LOVE-Reward's differentiable mode (the API, not a recipe): a learnable video tensor,
started from a degraded synthetic clip, is optimised with Adam against love-nano's reward for a few dozen
steps; the reward curve is written as curve.csv and reward_curve.png, the clip before and after as mp4.

The "generator" here is the video itself (pixels = sigmoid(logits)): gradient ascent on a learned metric's
pixels finds what the metric rewards, which is not the same thing as a better video. The after-clip is also
scored by the default (file-exact) path, on its 8-bit frames, to show whether the gain survives quantisation.
In a real reward-gradient method (DRaFT, VADER) the gradient goes on into the generator's weights."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from . import options

LABEL = "demonstration of the LoveReward API (differentiable=True) on love-nano; not a T2V fine-tuning result"


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", "-o", type=options.output_dir, default="love-reward-demo",
                        help="output folder (default: %(default)s)")
    parser.add_argument("--steps", type=options.int_at_least(1, 10_000), default=40,
                        help="optimisation steps (default: %(default)s)")
    parser.add_argument("--lr", type=options.float_in(0.0, 10.0, low_open=True), default=0.1,
                        help="Adam learning rate on the video's logits (default: %(default)s)")
    parser.add_argument("--perception-weight", type=options.float_in(0.0, 100.0), default=1.0,
                        help="weight of the perception reward (default: %(default)s)")
    parser.add_argument("--correspondence-weight", type=options.float_in(0.0, 100.0), default=1.0,
                        help="weight of the correspondence reward (default: %(default)s)")
    parser.add_argument("--seed", type=options.seed, default=11,
                        help="synthetic suite the start clip comes from (default: %(default)s)")
    parser.add_argument("--model", default="love-nano", help="bundle giving the reward (default: %(default)s)")
    parser.add_argument("--device", type=options.device, help="cpu, cuda, ... (default: GPU if available)")
    parser.add_argument("--no-plots", dest="plots", action="store_false", help="skip reward_curve.png")


def start_clip(seed: int, candidates: int = 16):
    """The lowest-perception clip among the first `candidates` of the synthetic suite with `seed`."""
    from love_plugins.synth.suite import plan_clip, render_clip

    plan = min((plan_clip(i, seed) for i in range(candidates)), key=lambda p: p.perception_mos)
    return plan, render_clip(plan, seed)


def run(args: argparse.Namespace) -> int:
    import torch

    from love_plugins.errors import LoveError
    from love_plugins.reward import LoveReward
    from love_plugins.synth.video import write_mp4

    weights = {"perception": args.perception_weight, "correspondence": args.correspondence_weight}
    if not any(weights.values()):
        print("love-eval reward-demo: error: at least one reward weight must be > 0", file=sys.stderr)
        return 2
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    try:
        reward = LoveReward(args.model, weights=weights, device=args.device, differentiable=True)
        exact = LoveReward(reward.scorer, weights=weights)  # the default path, on the same weights
    except (LoveError, ValueError) as exc:
        print(f"love-eval reward-demo: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plan, frames = start_clip(args.seed)
    prompts = [plan.prompt]
    device = reward.scorer.device
    start = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255).to(device)  # (T, 3, H, W)
    logits = torch.logit(start.clamp(1 / 255, 254 / 255)).requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=args.lr)

    rows = []
    from tqdm.auto import tqdm

    for step in tqdm(range(args.steps + 1), desc="reward-demo", unit="step"):
        result = reward(torch.sigmoid(logits)[None], prompts)
        rows.append({"step": step, "reward": result.rewards.item(),
                     **{task: value.item() for task, value in result.details.items()}})
        if step == args.steps:  # the last row is the reward of the final video: no update after it
            break
        optimiser.zero_grad()
        (-result.rewards.sum()).backward()
        optimiser.step()

    final = torch.sigmoid(logits.detach()).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
    before, after = exact(torch.from_numpy(frames)[None], prompts), exact(final[None], prompts)
    fps = 8
    write_mp4(out / "before.mp4", frames, fps)
    write_mp4(out / "after.mp4", final.numpy(), fps)
    with (out / "curve.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = {
        "label": LABEL,
        "model": reward.describe(),
        "start_clip": {"seed": args.seed, "index": plan.index, "prompt": plan.prompt,
                       "target_perception_mos": plan.perception_mos, "severities": plan.severities},
        "steps": args.steps, "lr": args.lr, "weights": weights,
        "reward_first": rows[0]["reward"], "reward_last": rows[-1]["reward"],
        "exact_path_uint8": {"before": _row(before), "after": _row(after)},
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.plots:
        summary["plot"] = str(_plot(out / "reward_curve.png", rows, summary).relative_to(out))
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"{LABEL}\nreward {rows[0]['reward']:.3f} -> {rows[-1]['reward']:.3f} in {args.steps} steps "
          f"(default path on the 8-bit clips: {summary['exact_path_uint8']['before']['reward']:.3f} -> "
          f"{summary['exact_path_uint8']['after']['reward']:.3f}); {out / 'summary.json'}")
    return 0


def _row(result) -> dict:
    return {"reward": result.rewards.item(), **{task: value.item() for task, value in result.details.items()}}


def _plot(path: Path, rows: list[dict], summary: dict) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r["reward"] for r in rows], label="reward", linewidth=2)
    for task in summary["weights"]:
        if task in rows[0]:
            ax.plot(steps, [r[task] for r in rows], label=f"{task} (MOS / 100)", linestyle="--")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("LoveReward")
    ax.set_title("LOVE-Reward API demonstration: love-nano, a learnable video tensor", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
