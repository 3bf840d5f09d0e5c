"""Task functions of the aigve60k and aigve60k_sample tasks (loaded by lmms-eval from the YAMLs).

lmms-eval loads this file as a fresh module, so it only re-exports the shared functions of
`integrations.lmms_eval.taskutils` and binds one `process_docs` per task (see that module).
"""

from integrations.lmms_eval.taskutils import (  # noqa: F401
    doc_to_choice,
    doc_to_choice_target,
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
    qa_ll_process_results,
    qa_process_results,
    rating_ll_process_results,
    rating_process_results,
)

process_perception = load_and_wrap("aigve60k", "perception")
process_correspondence = load_and_wrap("aigve60k", "correspondence")
process_qa = load_and_wrap("aigve60k", "qa")
process_sample_perception = load_and_wrap("aigve60k_sample", "perception")
process_sample_correspondence = load_and_wrap("aigve60k_sample", "correspondence")
process_sample_qa = load_and_wrap("aigve60k_sample", "qa")
