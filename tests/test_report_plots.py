"""Report figures and HTML: every plot rendered from a small fixed result (PNG and SVG, pixel size, number of
axes), RMSE only where it means something, and report.html opened in a real headless Chromium (every image
loads, the matrix marks the best scorer, a click on a column header sorts the table)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from love_plugins import metrics
from love_plugins.evaluation.plots import make_plots
from love_plugins.evaluation.report import write_report

GENERATORS = ["aurora", "lumen", "pixel", "reel"]


def _label_entry(pred, target, models, output, same_scale):
    inst = metrics.correlations(pred, target)
    for key in ("srcc", "plcc", "krcc"):
        inst[f"{key}_ci"] = [inst[key] - 0.1, min(1.0, inst[key] + 0.05)]
    if not same_scale:
        inst["rmse"] = None
    return {"output": output, "n": len(pred), "instance": inst, "error": None,
            "model_level": metrics.model_level(pred, target, models)}


def fixed_result(scorer: str, noise: float, scale: float, same_scale: bool) -> dict:
    rng = np.random.default_rng(int(noise * 100))
    target = np.linspace(10, 90, 40)
    models = [GENERATORS[i % 4] for i in range(40)]
    pred = (target + rng.normal(0, noise, 40)) * scale
    per_dim = {"count": {"n": 12, "accuracy": 0.75}, "color": {"n": 15, "accuracy": 0.6}, "motion": {"n": 13,
                                                                                                     "accuracy": 0.9}}
    return {
        "scorer_name": scorer, "scorer": {"model": scorer},
        "dataset": {"name": "fixed", "split": "test", "adapter": "manifest", "evaluated_records": 40},
        "mapping": {"mos": "perception"}, "counts": {"scored": 40, "failed": 0, "seconds": 1.0},
        "labels": {"mos": _label_entry(pred.tolist(), target.tolist(), models, "perception", same_scale)},
        "points": {"mos": {"pred": pred.tolist(), "target": target.tolist(), "model": models}},
        "qa": {"accuracy": 0.75, "accuracy_ci": [0.6, 0.86], "n": 40, "per_dimension": per_dim, "model_level": None},
    }


@pytest.fixture(scope="module")
def results():
    return [fixed_result("love-x", 8.0, 1.0, True), fixed_result("baseline:metric", 20.0, 0.01, False)]


def test_every_plot_is_drawn_as_png_and_svg_with_its_panels(results):
    plots = {p.name: p for p in make_plots(results)}
    assert set(plots) == {"scatter_fixed", "qa_dimensions_fixed", "model_ranking_fixed"}
    expected = {"scatter_fixed": (2, (920, 400)), "qa_dimensions_fixed": (2, (920, 400)),
                "model_ranking_fixed": (4, (920, 400))}  # model bars: a twin axis per panel for the label
    for name, (axes, size) in expected.items():
        plot = plots[name]
        assert plot.axes == axes and plot.size == size
        image = Image.open(__import__("io").BytesIO(plot.png))
        assert image.size == size and np.unique(np.asarray(image.convert("L"))).size > 50  # drawn, not blank
        assert plot.svg.startswith(b"<?xml") and b"<svg" in plot.svg and len(plot.svg) > 10_000


def test_raw_rmse_only_on_the_labels_scale(results, tmp_path):
    write_report(results, tmp_path, plots=False)
    rows = {r["scorer"]: r for r in json.loads((tmp_path / "results.json").read_text())["table"]
            if r["label"] == "mos" and r["level"] == "instance"}
    assert rows["love-x"]["rmse"] is not None and rows["baseline:metric"]["rmse"] is None
    assert all(rows[s]["rmse_logistic"] > 0 for s in rows)  # comparable across scales
    assert rows["baseline:metric"]["rmse_logistic"] < 30  # on the label's scale, not the 0.01x one


def test_the_matrix_marks_the_best_scorer_in_markdown(results, tmp_path):
    write_report(results, tmp_path, plots=False)
    matrix = (tmp_path / "report.md").read_text().split("## Dataset")[0]
    best = f"**{results[0]['labels']['mos']['instance']['srcc']:.4f}**"
    assert best in matrix


CHECK = """
<script>
window.addEventListener('load', function () {
  var images = Array.from(document.images).map(function (i) { return i.complete && i.naturalWidth > 0; });
  var table = document.querySelectorAll('table.sortable')[1];
  var header = table.tHead.rows[0].cells[4];  // SRCC
  header.click();
  var first = table.tBodies[0].rows[0].cells[4].textContent;
  header.click();
  var last = table.tBodies[0].rows[0].cells[4].textContent;
  document.body.setAttribute('data-check', JSON.stringify({images: images, first: first, last: last,
    bold: document.querySelectorAll('td b').length, details: document.querySelectorAll('details').length}));
});
</script>
"""


def test_report_html_in_headless_chromium(results, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium; .ci/run installs it where it can)")
    paths = write_report(results, tmp_path)
    page = tmp_path / "check.html"
    page.write_text(paths["html"].read_text().replace("</body>", CHECK + "</body>"))
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r"data-check=\"([^\"]*)\"", done.stdout)
    assert found, done.stderr[-2000:]
    check = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(check["images"]) == 3 and all(check["images"])
    assert check["bold"] >= 1 and check["details"] >= 1
    assert float(check["first"].split()[0]) < float(check["last"].split()[0])  # ascending, then descending
