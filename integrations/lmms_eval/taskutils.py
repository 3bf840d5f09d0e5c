"""The functions the task YAMLs name (through each task folder's `utils.py`): prompts, results, metrics.

Rating tasks (`love_task` perception / correspondence) ask LOVE's question, map the answer to a
0-100 score with `answers.parse_rating`, and aggregate over the split:

    instance_srcc / instance_plcc / instance_krcc   scipy correlations of the scores with the MOS
    instance_plcc_logistic                          PLCC after a 4-parameter logistic fit (VQA convention)
    model_srcc / model_plcc                         the same on per-generator means (T2V model ranking)
    parse_rate                                      share of answers the mapping rule could read

QA tasks ask the yes/no question and report ``qa_accuracy`` (overall, unparsed answers count as
wrong), ``qa_accuracy_by_dimension`` (a dict, dimension -> accuracy) and ``parse_rate``.
A metric that cannot be computed (fewer than 3 pairs or generators, constant predictions) is NaN.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict

from integrations.lmms_eval import taskdata
from integrations.lmms_eval.answers import (
    LEVELS,
    UNPARSED_SCORE,
    level_to_score,
    parse_rating,
    parse_yes_no,
    score_to_level,
)

logger = logging.getLogger(__name__)

RATING_POST_PROMPT = "\nAnswer with one word: bad, poor, fair, good or excellent."
QA_POST_PROMPT = "\nAnswer yes or no."


def _as_dataset(docs: list[dict]):
    import datasets

    return datasets.Dataset.from_list(docs)


def make_process_docs(loader, *args, **kwargs):
    """A `process_docs` that ignores lmms-eval's stub rows and returns the loader's documents.

    lmms-eval calls `process_docs` inside a retry loop (5 attempts, 2 s apart) that turns any
    exception into an opaque `tenacity.RetryError`. So missing or malformed data does not raise here: it
    yields one placeholder document carrying the message, and the first prompt function lmms-eval
    calls on it (while building requests, outside any retry) raises `DatasetNotFound` with it.
    """

    def process_docs(dataset):
        try:
            docs = loader(*args, **kwargs)
        except (OSError, ValueError) as exc:  # DatasetNotFound, unreadable or malformed annotations
            logger.error("%s", exc)
            missing = isinstance(exc, taskdata.DatasetNotFound)
            docs = [{**PLACEHOLDER_DOC, "load_error": str(exc), "load_error_missing": missing}]
        return _as_dataset(docs)

    return process_docs


PLACEHOLDER_DOC = {
    "video": "", "video_id": "", "love_task": "perception", "question": "", "answer": "", "prompt": "",
    "mos": math.nan, "model": "", "dimension": "", "dataset": "",
}


def _check(doc) -> None:
    if isinstance(doc, dict) and doc.get("load_error"):
        if doc.get("load_error_missing"):
            raise taskdata.DatasetNotFound(doc["load_error"])
        raise ValueError(doc["load_error"])


# ----------------------------------------------------------------------------------- prompts


def doc_to_visual(doc, lmms_eval_specific_kwargs=None):
    _check(doc)
    return [doc["video"]]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    _check(doc)
    kwargs = lmms_eval_specific_kwargs or {}
    default_post = QA_POST_PROMPT if doc["love_task"] == "qa" else RATING_POST_PROMPT
    post = kwargs.get("qa_post_prompt" if doc["love_task"] == "qa" else "post_prompt", default_post)
    return f"{kwargs.get('pre_prompt', '')}{doc['question']}{post}"


def doc_to_messages(doc, lmms_eval_specific_kwargs=None):
    return [
        {
            "role": "user",
            "content": [
                {"type": "video", "url": doc["video"]},
                {"type": "text", "text": doc_to_text(doc, lmms_eval_specific_kwargs)},
            ],
        }
    ]


def doc_to_target(doc):
    _check(doc)
    return doc["answer"] if doc["love_task"] == "qa" else str(doc["mos"])


# ----------------------------------------------------------------------------------- results


def _response(results) -> str:
    value = results[0] if isinstance(results, (list, tuple)) and results else results
    return value if isinstance(value, str) else ""


RATING_METRICS = ("instance_srcc", "instance_plcc", "instance_krcc", "instance_plcc_logistic",
                  "model_srcc", "model_plcc", "parse_rate")


def _rating_results(doc, score: float | None, parsed: bool, **details) -> dict:
    """One rated video, handed to every rating metric (each aggregates the same items)."""
    item = {
        "video": doc["video_id"],
        "model": doc["model"],
        "mos": doc["mos"],
        # not named "score": lmms-eval would report a meaningless CLT stderr over that key
        "prediction": score if score is not None else UNPARSED_SCORE,
        "parsed": parsed,
        **details,
    }
    return {name: item for name in RATING_METRICS}


def rating_process_results(doc, results):
    response = _response(results)
    score = parse_rating(response)
    return _rating_results(doc, score, score is not None, response=response)


def qa_process_results(doc, results):
    response = _response(results)
    item = {
        "video": doc["video_id"],
        "model": doc["model"],
        "dimension": doc["dimension"],
        "reference": parse_yes_no(doc["answer"]),
        "prediction": parse_yes_no(response),
        "response": response,
    }
    # "score" (0/1) lets lmms-eval report its CLT stderr for the accuracy, and only there
    scored = {**item, "score": float(item["prediction"] is not None and item["prediction"] == item["reference"])}
    return {"qa_accuracy": scored, "qa_accuracy_by_dimension": item, "parse_rate": item}


# ----------------------------------------------------------------------------------- likelihood variants
# The *_ll tasks (output_type multiple_choice, for models that implement `loglikelihood`; in lmms-eval
# those are the simple models, e.g. `--model love --force_simple`) read the model's log-likelihood of
# each level word after the question instead of parsing generated text: the score is the expected
# band centre, sum_L softmax(ll)_L * (20 L - 10); QA takes the likelier of "yes" and "no".


def doc_to_choice(doc):
    _check(doc)
    return ["yes", "no"] if doc["love_task"] == "qa" else list(LEVELS)


def doc_to_choice_target(doc):
    _check(doc)
    if doc["love_task"] == "qa":
        return parse_yes_no(doc["answer"]) or ""
    return score_to_level(doc["mos"]) if not math.isnan(doc["mos"]) else ""


def _ll(result) -> float:
    """The log-likelihood of one (ll, is_greedy) result.

    lmms-eval 0.7.3 stringifies non-text model outputs (`unwrap_generation_output` ends in
    `str(output)`), so the pair arrives as the text "(-1.23, True)"; both forms are read here.
    """
    if isinstance(result, (list, tuple)) and result:
        result = result[0]
    if isinstance(result, str):
        text = result.strip().lstrip("([").split(",")[0].strip()
        try:
            result = float(text)
        except ValueError:
            return -math.inf
    try:
        value = float(result)
    except (TypeError, ValueError):
        return -math.inf
    return -math.inf if math.isnan(value) else value


def _lls(results) -> list[float]:
    return [_ll(result) for result in results]


def expected_level_score(lls: list[float]) -> float | None:
    """Probability-weighted band centre from per-level log-likelihoods (None if all are -inf)."""
    top = max(lls)
    if top == -math.inf:
        return None
    weights = [math.exp(v - top) for v in lls]
    return sum(w * level_to_score(i + 1) for i, w in enumerate(weights)) / sum(weights)


def rating_ll_process_results(doc, results):
    lls = _lls(results)
    score = expected_level_score(lls)
    return _rating_results(doc, score, score is not None and len(set(lls)) > 1,
                           loglikelihoods=dict(zip(LEVELS, lls)))


def qa_ll_process_results(doc, results):
    ll_yes, ll_no = _lls(results)
    prediction = None if ll_yes == ll_no else ("yes" if ll_yes > ll_no else "no")
    return qa_process_results(doc, [prediction or ""])


# ----------------------------------------------------------------------------------- aggregations


def _pairs(items):
    rows = [i for i in items if isinstance(i, dict) and not math.isnan(float(i["mos"]))]
    return [r["prediction"] for r in rows], [float(r["mos"]) for r in rows], [r["model"] for r in rows]


def _safe(fn, *args):
    try:
        value = fn(*args)
    except Exception:  # MetricError (too few pairs, constant input) or a failed fit
        return math.nan
    return float(value) if value is not None else math.nan


def instance_srcc(items):
    from love_plugins import metrics

    return _safe(metrics.srcc, *_pairs(items)[:2])


def instance_plcc(items):
    from love_plugins import metrics

    return _safe(metrics.plcc, *_pairs(items)[:2])


def instance_krcc(items):
    from love_plugins import metrics

    return _safe(metrics.krcc, *_pairs(items)[:2])


def instance_plcc_logistic(items):
    from love_plugins import metrics

    return _safe(metrics.plcc_logistic, *_pairs(items)[:2])


def _model_level(items, key):
    from love_plugins import metrics

    pred, mos, models = _pairs(items)
    return _safe(lambda: metrics.model_level(pred, mos, models)[key])


def model_srcc(items):
    return _model_level(items, "srcc")


def model_plcc(items):
    return _model_level(items, "plcc")


def parse_rate(items):
    items = [i for i in items if isinstance(i, dict)]
    if not items:
        return math.nan
    ok = sum(bool(i["parsed"]) if "parsed" in i else i.get("prediction") is not None for i in items)
    return ok / len(items)


def qa_accuracy(items):
    items = [i for i in items if isinstance(i, dict) and i["reference"] is not None]
    if not items:
        return math.nan
    return sum(i["prediction"] == i["reference"] for i in items) / len(items)


def qa_accuracy_by_dimension(items):
    groups = defaultdict(list)
    for item in items:
        if isinstance(item, dict) and item["reference"] is not None:
            groups[item["dimension"]].append(item["prediction"] == item["reference"])
    return {dim: sum(hits) / len(hits) for dim, hits in sorted(groups.items())}


def load_and_wrap(dataset: str, task: str, split: str = "test"):
    """Build the process_docs callable for (dataset, task); used by the utils.py of each folder."""
    if dataset in ("aigve60k", "aigve60k_sample"):
        return make_process_docs(taskdata.load_aigve60k, task, split, dataset=dataset)
    if dataset == "aigvqa_db":
        return make_process_docs(taskdata.load_aigvqa_db, task, split)
    if dataset == "t2vqa_db":
        return make_process_docs(taskdata.load_t2vqa_db, split)
    raise ValueError(f"unknown dataset {dataset!r}")
