"""LOVE for lmms-eval: `--model love` and the aigve60k / t2vqa_db / aigvqa_db tasks.

Registered through the `lmms_eval.models` entry point (`plugin.manifests`); nothing to import by hand.
"""
