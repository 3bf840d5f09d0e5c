"""Test-wide settings shared by every test file."""

from __future__ import annotations

import os

# Tiny models gain nothing from intra-op threads, and OpenMP threads spinning against DataLoader
# workers or a busy machine make them orders of magnitude slower. One thread also keeps float
# reductions in one order, so "same input, same output" checks are exact.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

torch.set_num_threads(1)

# CI must pass or fail the same way on every run: property tests draw the same examples there
# (locally they keep exploring; a case they find becomes an @example).
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# The training tests' synthetic suite and decoded-video cache (test_training.py, test_nano_training.py); a test
# file with a `suite` fixture of its own uses that one.
import pytest  # noqa: E402

from love_plugins.synth import SuiteConfig, generate_suite  # noqa: E402


@pytest.fixture(scope="session")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_suite")
    generate_suite(root, num_videos=48, seed=11, config=SuiteConfig(test_fraction=0.33))
    return root


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("video_cache")
