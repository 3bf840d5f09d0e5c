"""Write evaluation results: results JSON, a flat CSV table, a markdown report and a self-contained HTML page.

All tables come from `table_rows`, so the CSV, markdown and HTML show the same numbers as the JSON
(which holds the metrics module's output unchanged). Plots (`plots.py`): PNG and SVG under ``plots/``,
the PNG base64-embedded in the HTML. The HTML opens with the zero-shot matrix (best scorer per row in
bold), its tables sort by a click on a column, and the scorers' settings sit in a collapsed section. Published figures are printed beside ours
in their own, labelled tables: they are the paper's numbers on AIGVE-60K, not computed here.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import time
from pathlib import Path
from typing import Any

from . import reference
from .plots import make_plots

CSV_COLUMNS = [
    "scorer", "dataset", "split", "label", "output", "level", "n",
    "srcc", "srcc_low", "srcc_high", "plcc", "plcc_low", "plcc_high", "plcc_logistic", "krcc",
    "krcc_low", "krcc_high", "rmse", "rmse_logistic", "accuracy", "accuracy_low", "accuracy_high", "error",
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
                row.update({k: inst.get(k) for k in ("srcc", "plcc", "plcc_logistic", "krcc", "rmse", "rmse_logistic")})
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


# --------------------------------------------------------------------------- writers


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _html_cell(text: str) -> str:
    if text.startswith("**") and text.endswith("**") and len(text) > 4:
        return f"<td><b>{html.escape(text[2:-2])}</b></td>"
    return f"<td>{html.escape(text)}</td>"


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th title='sort'>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_html_cell(c) for c in r) + "</tr>" for r in rows)
    return f"<table class='sortable'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# Click a column header to sort by it (numbers by value, the rest as text); again to reverse.
SORT_SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0], col = th.cellIndex;
    var up = th.dataset.order !== 'asc'; th.dataset.order = up ? 'asc' : 'desc';
    var key = function (row) { var t = row.cells[col].textContent.trim(), x = parseFloat(t);
                               return isNaN(x) ? t : x; };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      var c = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === 'number' ? -1 : 1);
      return up ? c : -c;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""


def _sections(results: list[dict], rows: list[dict]) -> list[tuple[str, list[tuple[str, list[str], list[list[str]], str]]]]:
    """(heading, [(table title, header, rows, note)]) — the content shared by markdown and HTML."""
    sections = []
    scorers = list(dict.fromkeys(r["scorer_name"] for r in results))
    datasets = list(dict.fromkeys(r["dataset"]["name"] for r in results))
    if len(datasets) > 1 or len(scorers) > 1:  # the zero-shot matrix
        keys = list(dict.fromkeys((r["dataset"], r["label"]) for r in rows
                                  if r["level"] == "instance" and not r["label"].startswith("qa")))
        lookup = {(r["scorer"], r["dataset"], r["label"]): r for r in rows if r["level"] == "instance"}
        body = [[d, lab] + _best_marked([lookup.get((s, d, lab), {}).get("srcc") for s in scorers])
                for d, lab in keys]
        qa_keys = [d for d in datasets if any(r["dataset"] == d and r["label"] == "qa" for r in rows)]
        body += [[d, "qa (accuracy)"] + _best_marked([lookup.get((s, d, "qa"), {}).get("accuracy") for s in scorers])
                 for d in qa_keys]
        sections.append(("Zero-shot matrix (instance-level SRCC; QA: accuracy; best per row in bold)",
                         [("", ["dataset", "label", *scorers], body, "")]))
    for ds in datasets:
        res_ds = [r for r in results if r["dataset"]["name"] == ds]
        info = res_ds[0]["dataset"]
        tables = []
        inst = [r for r in rows if r["dataset"] == ds and r["level"] == "instance" and r["output"] != "qa"]
        tables.append(("Instance level (PLCC raw; PLCC-logistic after a 4-parameter fit; [95% bootstrap CI])",
                       ["scorer", "label", "output", "n", "SRCC", "PLCC", "KRCC", "PLCC-logistic", "RMSE-logistic",
                        "RMSE (same scale)", "note"],
                       [[r["scorer"], r["label"], r["output"], fmt(r["n"]), _with_ci(r, "srcc"), _with_ci(r, "plcc"),
                         _with_ci(r, "krcc"), fmt(r.get("plcc_logistic")), fmt(r.get("rmse_logistic"), 2),
                         fmt(r.get("rmse"), 2), r.get("error") or ""]
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


def _best_marked(values: list) -> list[str]:
    """Cells of one matrix row, the best value in **bold** (markdown; the HTML renders it as <b>)."""
    known = [v for v in values if isinstance(v, float) and not math.isnan(v)]
    best = max(known) if known else None
    return [f"**{fmt(v)}**" if v is not None and v == best and len(known) > 1 else fmt(v) for v in values]


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
        for plot in images:
            (out / "plots" / f"{plot.name}.png").write_bytes(plot.png)
            (out / "plots" / f"{plot.name}.svg").write_bytes(plot.svg)
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
        md += ["## Plots", ""] + [f"![{p.caption}](plots/{p.name}.png) ([SVG](plots/{p.name}.svg))"
                                  for p in images] + [""]
    md += ["## Scorers (model, sampler, versions)", "", "```json",
           json.dumps(provenance, indent=2, default=str), "```", ""]
    paths["markdown"].write_text("\n".join(md), encoding="utf-8")

    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
             "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}th{background:#f3f3f3}"
             ".note{color:#7a4b00;font-style:italic}img{max-width:100%;border:1px solid #eee;margin:.5em 0}"
             "pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}"
             "code{white-space:pre-wrap;word-break:break-all}th{cursor:pointer}")
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
        for plot in images:
            parts.append(f"<figure><img alt='{html.escape(plot.caption)}' src='data:image/png;base64,"
                         f"{base64.b64encode(plot.png).decode()}'><figcaption>{html.escape(plot.caption)} "
                         f"(<a href='plots/{plot.name}.svg'>SVG</a>)</figcaption></figure>")
    if any(r["dataset"].get("adapter") == "aigve60k" for r in results):
        lb = reference.leaderboard()
        parts.append("<details><summary>Published AIGVE-60K T2V leaderboard (human results, LOVE paper)</summary>")
        parts.append(_html_table(list(lb[0]), [list(r.values()) for r in lb]) + "</details>")
    parts.append("<details><summary>Scorers (model, sampler, versions)</summary><pre>"
                 + html.escape(json.dumps(provenance, indent=2, default=str)) + "</pre></details>"
                 + f"<script>{SORT_SCRIPT}</script></body></html>")
    paths["html"].write_text("\n".join(parts), encoding="utf-8")
    return paths
