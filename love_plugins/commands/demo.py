"""Generate a small synthetic AIGV suite, score it with love-nano (perception, correspondence, QA),
evaluate against the known targets at instance and model level, and write a report
(report.json, report.md, scores.jsonl and plots). Offline, CPU, a few minutes.

love-nano is a demonstration model trained on synthetic clips only; real evaluation uses the
released LOVE weights (`love-eval convert`, then `love-eval score --model BUNDLE`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import options


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", "-o", type=options.output_dir, default="love-demo", help="report folder (default: %(default)s)")
    parser.add_argument("--videos", type=options.clip_count, default=60, help="clips to generate (default: %(default)s)")
    parser.add_argument("--seed", type=options.seed, default=7,
                        help="suite seed; love-nano was trained on seed 0 (default: %(default)s)")
    parser.add_argument("--model", default="love-nano", help="bundle to score with (default: %(default)s)")
    parser.add_argument("--batch-size", type=options.batch_size, default=16,
                        help="videos per model batch (default: %(default)s)")
    parser.add_argument("--perception-views", type=options.views, default=None,
                        help="test-time views averaged for the perception score (default: the model's own; "
                             "love-nano: 8, 1 = its single-view score)")
    parser.add_argument("--device", type=options.device, help="cpu, cuda, ... (default: GPU if available)")
    parser.add_argument("--no-plots", dest="plots", action="store_false", help="skip the PNG plots")


def run(args: argparse.Namespace) -> int:
    import love_plugins
    from love_plugins.errors import LoveError
    from love_plugins.nano.suite_eval import CI_RESAMPLES, evaluate_suite
    from love_plugins.synth import generate_suite

    started = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        info = generate_suite(out / "suite", args.videos, args.seed, progress=True)
        scorer = love_plugins.load(args.model, device=args.device, batch_size=args.batch_size,
                                   perception_views=args.perception_views)
        metrics, results, rows = evaluate_suite(scorer, info.root, progress=True, n_resamples=CI_RESAMPLES)
    except (LoveError, ValueError) as exc:
        print(f"love-eval demo: error: {exc}", file=sys.stderr)
        return 2
    with (out / "scores.jsonl").open("w", encoding="utf-8") as handle:
        for row, res in zip(rows, results):
            record = {**res.to_dict(), "target_perception": row["perception_mos"],
                      "target_correspondence": row["correspondence_mos"], "target_answer": row["answer"],
                      "dimension": row["dimension"], "model": row["model"]}
            handle.write(json.dumps(record) + "\n")
    report = {
        "model": scorer.describe(),
        "suite": {"root": str(info.root), "videos": info.num_videos, "seed": args.seed},
        "metrics": metrics,
        "seconds": round(time.perf_counter() - started, 1),
        "note": "love-nano is a demonstration model trained on synthetic clips; it says nothing about real "
                "AIGV quality. Use the released LOVE weights for real evaluation.",
    }
    plots = write_plots(out / "plots", rows, results, metrics) if args.plots else []
    report["plots"] = [str(p.relative_to(out)) for p in plots]
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown_report(report), encoding="utf-8")
    print(summary_lines(report))
    print(f"report: {out / 'report.md'} (+ report.json, scores.jsonl, plots/)")
    return 0


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _fmt_ci(interval) -> str:
    """A 95 % interval as "[low, high]", or "n/a" when none could be computed."""
    return "n/a" if not interval else f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def summary_lines(report: dict) -> str:
    m = report["metrics"]
    lines = [f"model: {report['model']['model']}", f"clips: {m['videos']} scored: {m['scored']}"]
    for task in ("perception", "correspondence"):
        if task in m and "srcc" in m[task]:
            ml = m[task].get("model_level", {})
            lines.append(f"{task:>14}: SRCC {_fmt(m[task]['srcc'])} {_fmt_ci(m[task].get('srcc_ci'))}  "
                         f"PLCC {_fmt(m[task]['plcc'])}  "
                         f"KRCC {_fmt(m[task]['krcc'])}  | model-level SRCC {_fmt(ml.get('srcc'))}")
    if "qa" in m:
        lines.append(f"{'qa':>14}: accuracy {_fmt(m['qa']['accuracy'])} {_fmt_ci(m['qa'].get('accuracy_ci'))} "
                     f"(n={m['qa']['n']})")
    return "\n".join(lines)


def markdown_report(report: dict) -> str:
    m = report["metrics"]
    lines = [
        "# LOVE demo report",
        "",
        f"Model: **{report['model']['model']}** — {report['note']}",
        "",
        f"Suite: {report['suite']['videos']} synthetic clips (seed {report['suite']['seed']}); "
        f"scored {m['scored']}, failed {m['failed']}; {report['seconds']} s.",
        "",
        "## Instance level",
        "",
        "Intervals: 95 % BCa bootstrap over the clips (1,000 resamples, seed 0): how far a figure could move "
        "on another suite of the same size.",
        "",
        "| task | SRCC | SRCC 95 % CI | PLCC | KRCC | RMSE (MOS) | n |",
        "|---|---|---|---|---|---|---|",
    ]
    for task in ("perception", "correspondence"):
        if task in m and "srcc" in m[task]:
            e = m[task]
            lines.append(f"| {task} | {_fmt(e['srcc'])} | {_fmt_ci(e.get('srcc_ci'))} | {_fmt(e['plcc'])} | "
                         f"{_fmt(e['krcc'])} | "
                         f"{_fmt(e['rmse'])} | {e['n']} |")
    if "qa" in m:
        qa = m["qa"]
        lines += ["", f"QA accuracy: **{_fmt(qa['accuracy'])}**, 95 % CI {_fmt_ci(qa.get('accuracy_ci'))} "
                      f"(n={qa['n']})", "",
                  "| dimension | accuracy | n |", "|---|---|---|"]
        for dim, e in sorted(qa["per_dimension"].items()):
            lines.append(f"| {dim} | {_fmt(e['accuracy'])} | {e['n']} |")
    lines += ["", "## Model level (ranking of the synthetic T2V generators)", ""]
    for task in ("perception", "correspondence"):
        ml = m.get(task, {}).get("model_level", {})
        if "models" in ml:
            lines += [f"**{task}** — SRCC {_fmt(ml['srcc'])}, PLCC {_fmt(ml['plcc'])}", "",
                      "| generator | predicted mean | target mean | n |", "|---|---|---|---|"]
            for r in sorted(ml["models"], key=lambda r: -r["target_mean"]):
                lines.append(f"| {r['model']} | {r['pred_mean']:.1f} | {r['target_mean']:.1f} | {r['n']} |")
            lines.append("")
    if "qa" in m:
        lines += ["**qa** — accuracy per generator", "", "| generator | accuracy | n |", "|---|---|---|"]
        for r in m["qa"]["model_level"]["models"]:
            lines.append(f"| {r['model']} | {_fmt(r['accuracy'])} | {r['n']} |")
        lines.append("")
    if report.get("plots"):
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in report["plots"]]
    return "\n".join(lines) + "\n"


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(directory: Path, rows: list[dict], results: list, metrics: dict) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    tasks = [t for t in ("perception", "correspondence") if t in metrics and "srcc" in metrics[t]]
    if tasks:
        fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4.5), squeeze=False)
        for ax, task in zip(axes[0], tasks):
            pairs = [(row[f"{task}_mos"], getattr(res, task)) for row, res in zip(rows, results)
                     if res.ok and getattr(res, task) is not None]
            ax.scatter([p[0] for p in pairs], [p[1] for p in pairs], s=14, alpha=0.7)
            ax.plot([0, 100], [0, 100], color="gray", lw=1, ls="--")
            ax.set_xlabel("target MOS")
            ax.set_ylabel("predicted MOS")
            ax.set_title(f"{task}: SRCC {metrics[task]['srcc']:.3f}")
        written.append(_save(fig, directory / "scatter.png"))
    if "qa" in metrics:
        dims = sorted(metrics["qa"]["per_dimension"].items())
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.bar([d for d, _ in dims], [e["accuracy"] for _, e in dims], color="tab:green")
        ax.axhline(0.5, color="gray", ls="--", lw=1)
        ax.set_ylim(0, 1)
        ax.set_ylabel("accuracy")
        ax.set_title(f"QA accuracy per dimension (overall {metrics['qa']['accuracy']:.3f})")
        written.append(_save(fig, directory / "qa_per_dimension.png"))
    ranked = [t for t in tasks if "models" in metrics[t].get("model_level", {})]
    if ranked or "qa" in metrics:
        panels = ranked + (["qa"] if "qa" in metrics else [])
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
        for ax, task in zip(axes[0], panels):
            if task == "qa":
                models = metrics["qa"]["model_level"]["models"]
                ax.barh([r["model"] for r in models], [r["accuracy"] for r in models], color="tab:green")
                ax.set_xlim(0, 1)
                ax.set_title("QA accuracy per generator")
                continue
            models = sorted(metrics[task]["model_level"]["models"], key=lambda r: r["target_mean"])
            y = range(len(models))
            ax.barh([i - 0.2 for i in y], [r["target_mean"] for r in models], height=0.4, label="target")
            ax.barh([i + 0.2 for i in y], [r["pred_mean"] for r in models], height=0.4, label="predicted")
            ax.set_yticks(list(y), [r["model"] for r in models])
            ax.set_xlim(0, 100)
            ax.set_title(f"{task} ranking (SRCC {_fmt(metrics[task]['model_level'].get('srcc'))})")
            ax.legend(loc="lower right", fontsize=8)
        written.append(_save(fig, directory / "model_ranking.png"))
    return written
