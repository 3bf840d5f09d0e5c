"""Task functions of the t2vqa_db_mos task (loaded by lmms-eval from the YAMLs).

lmms-eval loads this file as a fresh module, so it only re-exports the shared functions of
`integrations.lmms_eval.taskutils` and binds one `process_docs` per task (see that module).
"""

from integrations.lmms_eval.taskutils import (  # noqa: F401
    doc_to_messages,
    doc_to_target,
    doc_to_text,
    doc_to_visual,
    instance_krcc,
    instance_plcc,
    instance_plcc_logistic,
    instance_srcc,
    load_and_wrap,
    model_plcc,
    model_srcc,
    n_failed,
    nan_reasons,
    parse_rate,
    qa_accuracy,
    qa_accuracy_by_dimension,
    qa_process_results,
    rating_process_results,
)

process_mos = load_and_wrap("t2vqa_db", "perception")
