"""Write evaluation results: results JSON, a flat CSV table, a markdown report and a self-contained HTML page.

All tables come from `table_rows`, so the CSV, markdown and HTML show the same numbers as the JSON
(which holds the metrics module's output unchanged). Plots (matplotlib, Agg backend): prediction vs
label scatter per dataset, QA accuracy per dimension, model-level ranking; PNG files under
``plots/`` for the markdown, base64-embedded in the HTML. Published figures are printed beside ours
in their own, labelled tables: they are the paper's numbers on AIGVE-60K, not computed here.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import re
import time
from pathlib import Path
from typing import Any

from . import reference

CSV_COLUMNS = [
    "scorer", "dataset", "split", "label", "output", "level", "n",
    "srcc", "srcc_low", "srcc_high", "plcc", "plcc_low", "plcc_high", "plcc_logistic", "krcc",
    "krcc_low", "krcc_high", "rmse", "accuracy", "accuracy_low", "accuracy_high", "error",
]
PUBLISHED_NOTE = ("Published figures (LOVE paper, AIGVE-60K test split; not computed here). "
                  "Ours above are on the dataset named in each section.")


def _ci(entry: dict | None, key: str) -> tuple[Any, Any]:
    ci = (entry or {}).get(key) or [None, None]
    return ci[0], ci[1]


def table_rows(results: list[dict]) -> list[dict]:
    """One row per scorer × dataset × label × level (instance/model), plus QA rows."""
    rows = []
    for res in results:
        base = {"scorer": res["scorer_name"], "dataset": res["dataset"]["name"], "split": res["dataset"]["split"]}
        for label, entry in res["labels"].items():
            if entry.get("skipped"):  # the scorer has no such output (a perception-only baseline)
                continue
            inst = entry.get("instance")
            row = {**base, "label": label, "output": entry["output"], "level": "instance", "n": entry.get("n"),
                   "error": entry.get("error")}
            if inst:
                row.update({k: inst.get(k) for k in ("srcc", "plcc", "plcc_logistic", "krcc", "rmse")})
                for m in ("srcc", "plcc", "krcc"):
                    row[f"{m}_low"], row[f"{m}_high"] = _ci(inst, f"{m}_ci")
            rows.append(row)
            ml = entry.get("model_level")
            if ml:
                rows.append({**base, "label": label, "output": entry["output"], "level": "model",
                             "n": ml.get("n_models"), "srcc": ml.get("srcc"), "plcc": ml.get("plcc"),
                             "krcc": ml.get("krcc"), "error": ml.get("error")})
        qa = res.get("qa")
        if qa:
            low, high = _ci(qa, "accuracy_ci")
            rows.append({**base, "label": "qa", "output": "qa", "level": "instance", "n": qa.get("n"),
                         "accuracy": qa.get("accuracy"), "accuracy_low": low, "accuracy_high": high,
                         "error": qa.get("error")})
            for dim, d in sorted((qa.get("per_dimension") or {}).items()):
                rows.append({**base, "label": f"qa:{dim}", "output": "qa", "level": "instance", "n": d["n"],
                             "accuracy": d["accuracy"]})
            ml = qa.get("model_level")
            if ml:
                rows.append({**base, "label": "qa", "output": "qa", "level": "model", "n": ml.get("n_models"),
                             "srcc": ml.get("srcc"), "plcc": ml.get("plcc"), "krcc": ml.get("krcc"),
                             "error": ml.get("error")})
    return rows


def fmt(value: Any, digits: int = 4) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _with_ci(row: dict, key: str) -> str:
    text = fmt(row.get(key))
    if row.get(f"{key}_low") is not None:
        text += f" [{fmt(row[f'{key}_low'], 3)}, {fmt(row[f'{key}_high'], 3)}]"
    return text


# --------------------------------------------------------------------------- plots


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:80]


def make_plots(results: list[dict]) -> list[tuple[str, str, bytes]]:
    """(file name, caption, PNG bytes) of every plot."""
    plt = _plt()
    plots = []
    datasets = list(dict.fromkeys(r["dataset"]["name"] for r in results))
    for ds in datasets:
        res_ds = [r for r in results if r["dataset"]["name"] == ds]
        cells = [(r, label) for r in res_ds for label, pts in r["points"].items() if pts["pred"]]
        if cells:
            cols = min(4, len(cells))
            nrows = math.ceil(len(cells) / cols)
            fig, axes = plt.subplots(nrows, cols, figsize=(3.4 * cols, 3.0 * nrows), squeeze=False)
            for ax, (r, label) in zip(axes.flat, cells):
                pts = r["points"][label]
                ax.scatter(pts["target"][:5000], pts["pred"][:5000], s=8, alpha=0.6)
                srcc = (r["labels"][label].get("instance") or {}).get("srcc")
                ax.set_title(f"{r['scorer_name']}\n{label} (SRCC {fmt(srcc, 3)})", fontsize=8)
                ax.set_xlabel(f"label: {label}", fontsize=7)
                ax.set_ylabel(f"predicted {r['labels'][label]['output']}", fontsize=7)
                ax.tick_params(labelsize=6)
            for ax in list(axes.flat)[len(cells):]:
                ax.axis("off")
            fig.tight_layout()
            fig.suptitle(f"{ds}: prediction vs label", fontsize=10, y=1.03)
            plots.append((f"scatter_{_slug(ds)}.png", f"{ds}: prediction vs label", _png(fig)))
        qa_res = [r for r in res_ds if (r.get("qa") or {}).get("per_dimension")]
        if qa_res:
            dims = sorted({d for r in qa_res for d in r["qa"]["per_dimension"]})
            fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(dims) * len(qa_res)), 3.2))
            width = 0.8 / len(qa_res)
            for k, r in enumerate(qa_res):
                per = r["qa"]["per_dimension"]
                ax.bar([i + k * width for i in range(len(dims))],
                       [per.get(d, {}).get("accuracy", 0.0) for d in dims], width, label=r["scorer_name"])
            ax.set_xticks([i + 0.4 - width / 2 for i in range(len(dims))], dims, rotation=30, fontsize=7)
            ax.set_ylim(0, 1)
            ax.set_ylabel("QA accuracy")
            ax.legend(fontsize=7)
            ax.set_title(f"{ds}: QA accuracy per dimension", fontsize=10)
            plots.append((f"qa_dimensions_{_slug(ds)}.png", f"{ds}: QA accuracy per dimension", _png(fig)))
        ranked = [(r, label, e["model_level"]) for r in res_ds for label, e in r["labels"].items()
                  if (e.get("model_level") or {}).get("models")]
        if ranked:
            cols = min(4, len(ranked))
            nrows = math.ceil(len(ranked) / cols)
            fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols, 3.2 * nrows), squeeze=False)
            for ax, (r, label, ml) in zip(axes.flat, ranked):
                models = sorted(ml["models"], key=lambda m: -m["target_mean"])
                by_pred = sorted(models, key=lambda m: -m["pred_mean"])
                pred_rank = {m["model"]: i + 1 for i, m in enumerate(by_pred)}
                xs = list(range(1, len(models) + 1))
                ax.plot(xs, xs, color="gray", lw=0.8, label="human ranking")
                ax.scatter(xs, [pred_rank[m["model"]] for m in models], s=14, color="C1", label="predicted")
                ax.set_xticks(xs, [m["model"] for m in models], rotation=60, fontsize=6)
                ax.set_ylabel("predicted rank", fontsize=7)
                ax.set_title(f"{r['scorer_name']}\n{label}: model SRCC {fmt(ml.get('srcc'), 3)}", fontsize=8)
                ax.invert_yaxis()
                ax.legend(fontsize=6)
            for ax in list(axes.flat)[len(ranked):]:
                ax.axis("off")
            fig.tight_layout()
            fig.suptitle(f"{ds}: model-level ranking (human order on x)", fontsize=10, y=1.03)
            plots.append((f"model_ranking_{_slug(ds)}.png", f"{ds}: model-level ranking", _png(fig)))
    return plots


# --------------------------------------------------------------------------- writers


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _sections(results: list[dict], rows: list[dict]) -> list[tuple[str, list[tuple[str, list[str], list[list[str]], str]]]]:
    """(heading, [(table title, header, rows, note)]) — the content shared by markdown and HTML."""
    sections = []
    scorers = list(dict.fromkeys(r["scorer_name"] for r in results))
    datasets = list(dict.fromkeys(r["dataset"]["name"] for r in results))
    if len(datasets) > 1 or len(scorers) > 1:  # the zero-shot matrix
        keys = list(dict.fromkeys((r["dataset"], r["label"]) for r in rows
                                  if r["level"] == "instance" and not r["label"].startswith("qa")))
        lookup = {(r["scorer"], r["dataset"], r["label"]): r for r in rows if r["level"] == "instance"}
        body = [[d, lab] + [fmt(lookup.get((s, d, lab), {}).get("srcc")) for s in scorers] for d, lab in keys]
        qa_keys = [d for d in datasets if any(r["dataset"] == d and r["label"] == "qa" for r in rows)]
        body += [[d, "qa (accuracy)"] + [fmt(lookup.get((s, d, "qa"), {}).get("accuracy")) for s in scorers]
                 for d in qa_keys]
        sections.append(("Zero-shot matrix (instance-level SRCC; QA: accuracy)",
                         [("", ["dataset", "label", *scorers], body, "")]))
    for ds in datasets:
        res_ds = [r for r in results if r["dataset"]["name"] == ds]
        info = res_ds[0]["dataset"]
        tables = []
        inst = [r for r in rows if r["dataset"] == ds and r["level"] == "instance" and r["output"] != "qa"]
        tables.append(("Instance level (PLCC raw; PLCC-logistic after a 4-parameter fit; [95% bootstrap CI])",
                       ["scorer", "label", "output", "n", "SRCC", "PLCC", "KRCC", "PLCC-logistic", "RMSE", "note"],
                       [[r["scorer"], r["label"], r["output"], fmt(r["n"]), _with_ci(r, "srcc"), _with_ci(r, "plcc"),
                         _with_ci(r, "krcc"), fmt(r.get("plcc_logistic")), fmt(r.get("rmse"), 2), r.get("error") or ""]
                        for r in inst], ""))
        mod = [r for r in rows if r["dataset"] == ds and r["level"] == "model"]
        if mod:
            tables.append(("Model level (per-generator means; QA: per-model yes-rate)",
                           ["scorer", "label", "models", "SRCC", "PLCC", "KRCC", "note"],
                           [[r["scorer"], r["label"], fmt(r["n"]), fmt(r.get("srcc")), fmt(r.get("plcc")),
                             fmt(r.get("krcc")), r.get("error") or ""] for r in mod], ""))
        qa = [r for r in rows if r["dataset"] == ds and r["output"] == "qa" and r["level"] == "instance"]
        if qa:
            tables.append(("QA accuracy (overall and per dimension)", ["scorer", "dimension", "n", "accuracy"],
                           [[r["scorer"], "all" if r["label"] == "qa" else r["label"][3:], fmt(r["n"]),
                             _with_ci(r, "accuracy")] for r in qa], ""))
        run = [[r["scorer_name"], fmt(r["counts"]["scored"]), fmt(r["counts"]["failed"]),
                fmt(r["counts"]["seconds"], 1), ", ".join(f"{k}→{v}" for k, v in r["mapping"].items())]
               for r in res_ds]
        tables.append(("Run", ["scorer", "scored", "failed", "seconds", "label → output"], run, ""))
        adapter = info.get("adapter", ds)
        if adapter == "aigve60k" or ds.startswith(("aigve", "synthetic")):
            pub = reference.v2t_rows(scorers)
            tables.append(("Published figures — " + reference.SOURCE,
                           ["method (published)", "perception SRCC", "correspondence SRCC", "QA acc. %",
                            "model-level perception", "model-level correspondence", "model-level QA",
                            "our comparable scorer"],
                           [[p["method"], fmt(p["perception_srcc"]), fmt(p["correspondence_srcc"]),
                             fmt(p["qa_accuracy_pct"], 2), fmt(p["model_perception_srcc"]),
                             fmt(p["model_correspondence_srcc"]), fmt(p["model_qa"], 2), ", ".join(p["ours"])]
                            for p in pub], PUBLISHED_NOTE))
        other = reference.published_for(adapter)
        if other:
            tables.append((f"Published figures — {adapter} (not computed here)",
                           ["method (published)", "label", "SRCC", "PLCC", "note"],
                           [[p["method"], p["label"], fmt(p["srcc"]), fmt(p["plcc"]), p["note"]] for p in other],
                           "Published same-dataset-trained results, for context only."))
        heading = f"Dataset `{ds}` ({adapter}, split {info.get('split') or 'all'}, {info['evaluated_records']} records)"
        sections.append((heading, tables))
    return sections


def _provenance(results: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in results:
        key = json.dumps(r["scorer"], sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(r["scorer"])
    return out


def write_report(results: list[dict], out_dir: str | Path, title: str = "LOVE evaluation",
                 command: str | None = None, plots: bool = True) -> dict[str, Path]:
    """Write results.json, results.csv, report.md, report.html (+ plots/*.png) into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = table_rows(results)
    created = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    payload = {"title": title, "created": created, "command": command, "results": results, "table": rows,
               "published": {"aigve60k": reference.v2t_rows([r["scorer_name"] for r in results]),
                             "note": PUBLISHED_NOTE}}
    paths = {"json": out / "results.json", "csv": out / "results.csv", "markdown": out / "report.md",
             "html": out / "report.html"}
    paths["json"].write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    with paths["csv"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_COLUMNS})

    images = make_plots(results) if plots else []
    if images:
        (out / "plots").mkdir(exist_ok=True)
        for name, _, data in images:
            (out / "plots" / name).write_bytes(data)
    sections = _sections(results, rows)
    provenance = _provenance(results)

    md = [f"# {title}", "", f"Created {created}." + (f" Command: `{command}`" if command else ""), ""]
    for heading, tables in sections:
        md += [f"## {heading}", ""]
        for name, header, body, note in tables:
            if name:
                md += [f"**{name}**", ""]
            if note:
                md += [f"_{note}_", ""]
            md += [_md_table(header, body), ""]
    if images:
        md += ["## Plots", ""] + [f"![{cap}](plots/{name})" for name, cap, _ in images] + [""]
    md += ["## Scorers (model, sampler, versions)", "", "```json",
           json.dumps(provenance, indent=2, default=str), "```", ""]
    paths["markdown"].write_text("\n".join(md), encoding="utf-8")

    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
             "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}th{background:#f3f3f3}"
             ".note{color:#7a4b00;font-style:italic}img{max-width:100%;border:1px solid #eee;margin:.5em 0}"
             "pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}")
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p>Created {html.escape(created)}." + (f" Command: <code>{html.escape(command)}</code>" if command else "")
             + "</p>"]
    for heading, tables in sections:
        parts.append(f"<h2>{html.escape(heading.replace('`', ''))}</h2>")
        for name, header, body, note in tables:
            if name:
                parts.append(f"<h3>{html.escape(name)}</h3>")
            if note:
                parts.append(f"<p class='note'>{html.escape(note)}</p>")
            parts.append(_html_table(header, body))
    if images:
        parts.append("<h2>Plots</h2>")
        for _, cap, data in images:
            parts.append(f"<figure><img alt='{html.escape(cap)}' src='data:image/png;base64,"
                         f"{base64.b64encode(data).decode()}'><figcaption>{html.escape(cap)}</figcaption></figure>")
    if any(r["dataset"].get("adapter") == "aigve60k" for r in results):
        lb = reference.leaderboard()
        parts.append("<details><summary>Published AIGVE-60K T2V leaderboard (human results, LOVE paper)</summary>")
        parts.append(_html_table(list(lb[0]), [list(r.values()) for r in lb]) + "</details>")
    parts.append("<h2>Scorers (model, sampler, versions)</h2><pre>"
                 + html.escape(json.dumps(provenance, indent=2, default=str)) + "</pre></body></html>")
    paths["html"].write_text("\n".join(parts), encoding="utf-8")
    return paths
