"""Part of the lmms-eval integration of LOVE (see integrations/lmms_eval/plugin.py)."""
