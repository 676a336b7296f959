"""A tiny random Qwen2 model built offline (`writer_r1.testing.tiny_models`), saved once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ["HF_HUB_OFFLINE"] = "1"
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    from writer_r1.testing.tiny_models import tiny_qwen2

    return tiny_qwen2(tmp_path_factory.mktemp("tiny-qwen2"), head="causal")
