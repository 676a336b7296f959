"""The worked example of docs/method.md runs over the loopback server and shows each step of the method."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "method_example.py"


async def test_the_worked_example_shows_every_step() -> None:
    spec = importlib.util.spec_from_file_location("method_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    trace = "\n".join(await example.run_example())
    assert (
        'code      text 1: [weakness] gushing tone: "Too gushing, and I still don\'t know where the button went."'
        in trace
    )
    assert "induce    core category: a busy customer learns at once what moved and where to find it" in trace
    assert "          probe: vague news" in trace  # theoretical sampling aims at the uncovered codes
    assert "discrimination ['plain-tone']" in trace  # the check sends the criterion back ...
    assert 'worst: effusive wording before the news (e.g. "Dear valued customer,")' in trace  # ... grounded in codes
    assert "critique  approved=True" in trace
    first, best = trace.split("draft 0 ")[1], trace.split("stop: ")[1]
    assert float(first.split("overall ")[1].split(",")[0]) < float(best.split("best overall ")[1].split("\n")[0])
