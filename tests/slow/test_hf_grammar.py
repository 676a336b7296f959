"""The embedded `hf:` backend enforces JSON Schemas while decoding (xgrammar), so even the tiny random model
returns schema-valid structured replies, and a reflection run on it completes with a scored scorecard."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import BaseModel, Field

pytestmark = pytest.mark.slow


class Verdict(BaseModel):
    reason: str = Field(max_length=40)
    level: int = Field(ge=1, le=5)


def test_structured_calls_on_the_tiny_model_are_schema_valid(tiny_model_dir) -> None:
    pytest.importorskip("xgrammar", reason="xgrammar is not installed (it comes with the [hf] extra)")
    from langchain_core.messages import HumanMessage
    from writer_r1.core.models import load_chat_model
    from writer_r1.core.structured import invoke_structured

    model = load_chat_model(f"hf:{tiny_model_dir}", max_new_tokens=128, temperature=1.0)
    assert model.supports_response_format
    verdicts = [invoke_structured(model, [HumanMessage(f"Judge text {i}")], Verdict, retries=0) for i in range(5)]
    assert all(1 <= v.level <= 5 for v in verdicts)


def test_a_reflection_run_on_the_tiny_model_ends_with_a_scored_scorecard(tiny_model_dir, tmp_path) -> None:
    pytest.importorskip("xgrammar", reason="xgrammar is not installed (it comes with the [hf] extra)")
    criteria = {
        "task": "a sea story",
        "dimensions": [
            {
                "name": "Craft",
                "criteria": [
                    {
                        "id": "imagery",
                        "name": "Imagery",
                        "description": "Concrete images",
                        "levels": [{"anchor": "none"}, {"anchor": "some"}, {"anchor": "vivid"}],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "criteria.json"
    path.write_text(json.dumps(criteria), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "writer_r1.cli",
            "reflect",
            "--model",
            f"hf:{tiny_model_dir}",
            "--criteria",
            str(path),
            "--task",
            "Write about the sea.",
            "--max-iterations",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["best_scorecard"]["overall"] is not None and not result["best_scorecard"]["unscored"]
