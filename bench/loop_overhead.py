"""Framework overhead of the reflection loop: wall time per iteration with an instant model, minus model time.

One iteration = recall → reflect → revise → evaluate (judge + constraint checks) → accept → remember → check.
The model answers every role instantly (a canned verdict, reflection or revision built in microseconds); the
time spent inside it is measured and subtracted, so what remains is our own cost: LangGraph scheduling and
state validation, prompt rendering, structured-output parsing, scorecards, constraint checks, memory I/O.

Target: under 20 ms per iteration.

    python bench/loop_overhead.py --iterations 50 --repeats 3
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr
from writer_r1.core.criteria import ConstraintSpec, CriteriaSet, Criterion, Dimension, Level
from writer_r1.graphs.reflection import areflect
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.experience import ExperienceMemory

TARGET_MS = 20.0

CRITERIA = CriteriaSet(
    task="a short story",
    dimensions=[
        Dimension(
            name=f"Dimension {d}",
            criteria=[
                Criterion(
                    id=f"c{d}-{i}",
                    name=f"Criterion {d}.{i}",
                    description="An observable quality",
                    levels=[Level(anchor=f"level {level}") for level in range(1, 6)],
                )
                for i in range(3)
            ],
        )
        for d in range(3)
    ],
)
CONSTRAINTS = [
    ConstraintSpec(id="writing:word_count_range", kwargs={"min": 5, "max": 400}),
    ConstraintSpec(id="writing:must_include", kwargs={"terms": ["lantern"]}),
]
REFLECTION = json.dumps(
    {"diagnosis": "Imagery is thin.", "targets": ["c0-0"], "plan": ["Add a concrete detail."], "keep": ["the ending"]}
)


class InstantModel(BaseChatModel):
    """Answers every role at once and adds up the time spent answering."""

    _revisions: Any = PrivateAttr(default_factory=itertools.count)
    _levels: Any = PrivateAttr(default_factory=lambda: itertools.cycle([2, 3, 2, 4, 3, 1]))
    model_seconds: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "instant"

    def _reply(self, messages: list[BaseMessage]) -> str:
        first = messages[0].content
        if first.startswith("You are a careful writing judge"):
            level = next(self._levels)
            return json.dumps({c.id: {"reason": "ok", "level": level} for c in CRITERIA.criteria})
        if first.startswith("You are a writing coach"):
            return REFLECTION
        return f"Revision {next(self._revisions)}: the lantern burned on through the long night."

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        started = time.perf_counter()
        text = self._reply(messages)
        self.model_seconds += time.perf_counter() - started
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)


async def measure(iterations: int, *, with_memory: bool) -> tuple[float, float, int]:
    """(framework wall ms per iteration, framework CPU ms per iteration, iterations run) for one reflection run.

    CPU time (this process, all threads) is reported beside wall time because other processes on a busy machine
    inflate wall time but not CPU time.
    """
    model = InstantModel()
    memory = ExperienceMemory(":memory:", embeddings=LexicalEmbeddings(256)) if with_memory else None
    started, started_cpu = time.perf_counter(), time.process_time()
    result = await areflect(
        "Write a short story about a lighthouse keeper",
        model=model,
        draft="The lantern was lit at dusk, as every night.",
        criteria=CRITERIA,
        constraints=CONSTRAINTS,
        memory=memory,
        max_iterations=iterations,
        patience=iterations + 1,
        target_score=1.0,
    )
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    if memory is not None:
        memory.close()
    done = max(result.iterations, 1)
    return (wall - model.model_seconds) * 1000 / done, (cpu - model.model_seconds) * 1000 / done, result.iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(measure(3, with_memory=True))  # warm up imports and caches
    for with_memory in (False, True):
        runs = [asyncio.run(measure(args.iterations, with_memory=with_memory)) for _ in range(args.repeats)]
        wall = [ms for ms, _, _ in runs]
        cpu = [ms for _, ms, _ in runs]
        label = "with experience memory (SQLite, lexical index)" if with_memory else "without memory"
        median = statistics.median(wall)
        verdict = "OK" if median < TARGET_MS else "OVER TARGET"
        print(
            f"{label}: {median:.2f} ms/iteration wall (min {min(wall):.2f}, max {max(wall):.2f}), "
            f"{statistics.median(cpu):.2f} ms CPU; median of {args.repeats} runs of {runs[0][2]} iterations "
            f"— target < {TARGET_MS:.0f} ms: {verdict}"
        )


if __name__ == "__main__":
    main()
