"""Shared fixtures: the IFEval reference data, shipped in tests/data/ifeval."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
IFEVAL = DATA / "ifeval"

# The rewriter beside this file imports by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def ifeval_data():  # type: ignore[no-untyped-def]
    if not (IFEVAL / "official_labels_gpt4.jsonl").is_file():
        raise FileNotFoundError(f"IFEval test data missing at {IFEVAL} (it ships with the repository)")
    from writer_r1.constraints.ifeval import read_inputs, read_responses

    inputs = read_inputs(IFEVAL / "input_data.jsonl")
    responses = read_responses(IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl")
    labels = {
        row["key"]: row for row in map(json.loads, (IFEVAL / "official_labels_gpt4.jsonl").open(encoding="utf-8"))
    }
    return inputs, responses, labels
