"""The functions the task YAMLs name (through each task folder's `utils.py`): prompts, results, metrics.

Rating tasks (`love_task` perception / correspondence) ask LOVE's question, map the answer to a
0-100 score with `answers.parse_rating`, and aggregate over the split:

    instance_srcc / instance_plcc / instance_krcc   scipy correlations of the scores with the MOS
    instance_plcc_logistic                          PLCC after a monotonically increasing 4-parameter logistic
                                                    fit (VQA convention; at least 10 pairs)
    model_srcc / model_plcc                         the same on per-generator means (T2V model ranking)
    parse_rate                                      share of answers the mapping rule could read
    n_failed                                        requests the model failed on (left out of the others)
    nan_reasons                                     {metric: why it is NaN} for the metrics that are NaN

QA tasks ask the yes/no question and report ``qa_accuracy`` (overall, unparsed answers count as
wrong), ``qa_accuracy_by_dimension`` (a dict, dimension -> accuracy), ``parse_rate``, ``n_failed`` and
``nan_reasons``. A metric that cannot be computed (no answered requests, too few pairs or generators,
constant predictions) is NaN, and `nan_reasons` and the log say why.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict

from integrations.lmms_eval import taskdata
from integrations.lmms_eval.answers import (
    FAILURE_PREFIX,
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
# A request the model failed on (its answer starts with FAILURE_PREFIX: an unreadable video, out of memory, an
# exception) is not an answer: it is counted in n_failed, named in the log, kept in the samples file with its
# reason, and left out of every other metric. An unparsed answer is an answer: see `answers`.


def _response(results) -> str:
    value = results[0] if isinstance(results, (list, tuple)) and results else results
    return value if isinstance(value, str) else ""


def _failure(doc, response: str) -> str | None:
    if not response.startswith(FAILURE_PREFIX):
        return None
    reason = response[len(FAILURE_PREFIX):]
    logger.warning("%s: the model failed on this video; left out of the metrics: %s", doc["video"], reason)
    return reason


RATING_METRICS = ("instance_srcc", "instance_plcc", "instance_krcc", "instance_plcc_logistic",
                  "model_srcc", "model_plcc", "parse_rate", "n_failed", "nan_reasons")
QA_METRICS = ("qa_accuracy", "qa_accuracy_by_dimension", "parse_rate", "n_failed", "nan_reasons")


def _rating_results(doc, score: float | None, parsed: bool, failed: str | None = None, **details) -> dict:
    """One rated video, handed to every rating metric (each aggregates the same items)."""
    item = {
        "video": doc["video_id"],
        "model": doc["model"],
        "mos": doc["mos"],
        # not named "score": lmms-eval would report a meaningless CLT stderr over that key
        "prediction": None if failed else (score if score is not None else UNPARSED_SCORE),
        "parsed": parsed,
        "failed": failed,
        **details,
    }
    return {name: item for name in RATING_METRICS}


def rating_process_results(doc, results):
    response = _response(results)
    failed = _failure(doc, response)
    score = None if failed else parse_rating(response)
    return _rating_results(doc, score, score is not None, failed, response=response)


def qa_process_results(doc, results, failed: str | None = None):
    response = _response(results)
    failed = failed or _failure(doc, response)
    item = {
        "video": doc["video_id"],
        "model": doc["model"],
        "dimension": doc["dimension"],
        "reference": parse_yes_no(doc["answer"]),
        "prediction": None if failed else parse_yes_no(response),
        "failed": failed,
        "response": response,
    }
    # "score" (0/1) lets lmms-eval report its CLT stderr for the accuracy, and only there
    scored = {**item, "score": float(item["prediction"] is not None and item["prediction"] == item["reference"])}
    return {"qa_accuracy": scored, **{name: item for name in QA_METRICS[1:]}}


# ----------------------------------------------------------------------------------- likelihood variants
# The *_ll tasks (output_type multiple_choice) read the model's log-likelihood of each level word after the
# question instead of parsing generated text: the score is the expected band centre,
# sum_L softmax(ll)_L * (20 L - 10); QA takes the likelier of "yes" and "no". Models that implement
# `loglikelihood` on video: `--model love` (LOVE's own next-token log-probabilities), `--model hf_video_ll`
# (any transformers video LMM). A NaN log-likelihood is a failed request.


def doc_to_choice(doc):
    _check(doc)
    return ["yes", "no"] if doc["love_task"] == "qa" else list(LEVELS)


def doc_to_choice_target(doc):
    _check(doc)
    if doc["love_task"] == "qa":
        return parse_yes_no(doc["answer"]) or ""
    return score_to_level(doc["mos"]) if not math.isnan(doc["mos"]) else ""


def _ll(result) -> float:
    """The log-likelihood of one (ll, is_greedy) result (NaN: the model failed on the request).

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
        return float(result)
    except (TypeError, ValueError):
        return -math.inf


def _lls(doc, results) -> tuple[list[float], str | None]:
    lls = [_ll(result) for result in results]
    if any(math.isnan(v) for v in lls):
        return lls, _failure(doc, f"{FAILURE_PREFIX}{doc['video']}: the model gave no likelihood (see its log)")
    return lls, None


def expected_level_score(lls: list[float]) -> float | None:
    """Probability-weighted band centre from per-level log-likelihoods (None if all are -inf)."""
    top = max(lls)
    if top == -math.inf:
        return None
    weights = [math.exp(v - top) for v in lls]
    return sum(w * level_to_score(i + 1) for i, w in enumerate(weights)) / sum(weights)


def rating_ll_process_results(doc, results):
    lls, failed = _lls(doc, results)
    score = None if failed else expected_level_score(lls)
    return _rating_results(doc, score, score is not None and len(set(lls)) > 1, failed,
                           loglikelihoods=dict(zip(LEVELS, lls)))


def qa_ll_process_results(doc, results):
    (ll_yes, ll_no), failed = _lls(doc, results)
    prediction = None if failed or ll_yes == ll_no else ("yes" if ll_yes > ll_no else "no")
    return qa_process_results(doc, [prediction or ""], failed=failed)


# ----------------------------------------------------------------------------------- aggregations
# Every metric is computed by `_metric`, which also says why a value is NaN (no scored videos, too few pairs
# or generators, constant predictions, a failed fit); `nan_reasons` reports those reasons in the results
# next to the numbers, and each NaN is logged with its reason.


def _answered(items) -> list[dict]:
    return [i for i in items if isinstance(i, dict) and not i.get("failed")]


def _metric(name: str, items) -> tuple[float | dict, str | None]:
    """(value, why it is NaN or None) of one aggregation over the items of a task."""
    from love_plugins import metrics

    items = [i for i in items if isinstance(i, dict)]
    if name == "n_failed":
        return sum(bool(i.get("failed")) for i in items), None
    answered = _answered(items)
    if not answered:
        return math.nan, f"no answered requests ({len(items)} failed)" if items else "no requests"
    if name == "parse_rate":
        ok = sum(bool(i["parsed"]) if "parsed" in i else i.get("prediction") is not None for i in answered)
        return ok / len(answered), None
    if name in ("qa_accuracy", "qa_accuracy_by_dimension"):
        rows = [i for i in answered if i["reference"] is not None]
        if not rows:
            return math.nan, "no reference answers"
        if name == "qa_accuracy":
            return sum(i["prediction"] == i["reference"] for i in rows) / len(rows), None
        groups = defaultdict(list)
        for i in rows:
            groups[i["dimension"]].append(i["prediction"] == i["reference"])
        return {dim: sum(hits) / len(hits) for dim, hits in sorted(groups.items())}, None
    rows = [i for i in answered if not math.isnan(float(i["mos"]))]
    pred, mos, models = [r["prediction"] for r in rows], [float(r["mos"]) for r in rows], [r["model"] for r in rows]
    try:
        if name.startswith("model_"):
            return float(metrics.model_level(pred, mos, models)[name.removeprefix("model_")]), None
        fn = {"instance_srcc": metrics.srcc, "instance_plcc": metrics.plcc, "instance_krcc": metrics.krcc,
              "instance_plcc_logistic": metrics.plcc_logistic}[name]
        return float(fn(pred, mos)), None
    except metrics.MetricError as exc:
        return math.nan, str(exc)


def _aggregate(name: str, items):
    value, reason = _metric(name, items)
    if reason:
        logger.warning("%s is NaN: %s", name, reason)
    return value


def instance_srcc(items):
    return _aggregate("instance_srcc", items)


def instance_plcc(items):
    return _aggregate("instance_plcc", items)


def instance_krcc(items):
    return _aggregate("instance_krcc", items)


def instance_plcc_logistic(items):
    return _aggregate("instance_plcc_logistic", items)


def model_srcc(items):
    return _aggregate("model_srcc", items)


def model_plcc(items):
    return _aggregate("model_plcc", items)


def parse_rate(items):
    return _aggregate("parse_rate", items)


def qa_accuracy(items):
    return _aggregate("qa_accuracy", items)


def qa_accuracy_by_dimension(items):
    return _aggregate("qa_accuracy_by_dimension", items)


def n_failed(items):
    """Requests the model failed on; each is named in the log (and with its reason in the samples file)."""
    failed = [i for i in items if isinstance(i, dict) and i.get("failed")]
    if failed:
        logger.warning("%d request(s) failed and were left out of the metrics: %s", len(failed),
                       "; ".join(str(i["failed"]) for i in failed[:20]))
    return len(failed)


def nan_reasons(items):
    """{metric: why it is NaN} for the task's metrics that are NaN; empty when none is."""
    names = RATING_METRICS if any(isinstance(i, dict) and "mos" in i for i in items) else QA_METRICS
    reasons = {}
    for name in names[:-2]:
        value, reason = _metric(name, items)
        if reason and isinstance(value, float) and math.isnan(value):
            reasons[name] = reason
    return reasons


def load_and_wrap(dataset: str, task: str, split: str = "test"):
    """Build the process_docs callable for (dataset, task); used by the utils.py of each folder."""
    if dataset in ("aigve60k", "aigve60k_sample"):
        return make_process_docs(taskdata.load_aigve60k, task, split, dataset=dataset)
    if dataset == "aigvqa_db":
        return make_process_docs(taskdata.load_aigvqa_db, task, split)
    if dataset == "t2vqa_db":
        return make_process_docs(taskdata.load_t2vqa_db, split)
    raise ValueError(f"unknown dataset {dataset!r}")
