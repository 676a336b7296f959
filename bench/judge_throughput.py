"""Judge throughput against a loopback OpenAI-compatible server with fixed latency and a capacity cap.

The server answers each request after `--latency` seconds and serves at most `--capacity` at once
(the rest queue, as in front of `vllm serve --max-num-seqs`), so no client can beat the queueing bound
⌈requests / capacity⌉ × latency. The judge should come within `--max-ratio` of it, both with every
criterion in one call and with `criteria_per_call=1`.

Run:
    python bench/judge_throughput.py                    # 128 texts × 5 criteria, 2 s latency, capacity 32
    python bench/judge_throughput.py --texts 64 --latency 0.5

Exit status 1 when a scenario misses the target or leaves a criterion unscored.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")

from writer_r1.agents.judge import Judge  # noqa: E402
from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level  # noqa: E402
from writer_r1.core.models import load_chat_model  # noqa: E402
from writer_r1.testing import OpenAICompatServer  # noqa: E402


@dataclass
class Outcome:
    label: str
    requests: int
    wall_s: float
    bound_s: float
    max_in_flight: int
    unscored: int

    @property
    def ratio(self) -> float:
        return self.wall_s / self.bound_s


def bench_criteria(count: int) -> CriteriaSet:
    criteria = [
        Criterion(
            id=f"criterion-{i}",
            name=f"Criterion {i}",
            description=f"An observable aspect number {i} of the text",
            levels=[Level(anchor=f"level {j} of criterion {i}") for j in range(1, 6)],
        )
        for i in range(1, count + 1)
    ]
    return CriteriaSet(task="Write a short scene.", dimensions=[Dimension(name="Quality", criteria=criteria)])


def bench_texts(count: int) -> list[str]:
    return [f"Text {i}: the harbour woke slowly, and ferry number {i} coughed into life at dawn." for i in range(count)]


def run_scenario(
    label: str,
    criteria: CriteriaSet,
    texts: list[str],
    *,
    latency: float,
    capacity: int,
    criteria_per_call: int | None,
    max_concurrency: int,
    warm_up: bool,
) -> Outcome:
    with OpenAICompatServer(latency_s=latency, capacity=capacity) as server:
        model = load_chat_model("openai:loopback-model", base_url=server.base_url, timeout=600)
        judge = Judge(model, criteria_per_call=criteria_per_call, max_concurrency=max_concurrency, cache=None)
        if warm_up:  # the client stack's one-time lazy imports, not throughput; excluded from the figures
            judge.score("Warm-up.", criteria.subset([criteria.criteria[0].id]))
            server.requests.clear()
            server.max_in_flight = 0
        start = time.perf_counter()
        cards = asyncio.run(judge.ascore_many(texts, criteria))
        wall = time.perf_counter() - start
        requests = len(server.requests)
        bound = math.ceil(requests / capacity) * latency
        unscored = sum(len(card.unscored) for card in cards)
        return Outcome(label, requests, wall, bound, server.max_in_flight, unscored)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=128)
    parser.add_argument("--criteria", type=int, default=5)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--capacity", type=int, default=32)
    parser.add_argument("--max-concurrency", type=int, default=32)
    parser.add_argument("--max-ratio", type=float, default=1.25)
    parser.add_argument("--no-warm-up", action="store_true", help="time the client's first request too")
    args = parser.parse_args()

    criteria, texts = bench_criteria(args.criteria), bench_texts(args.texts)
    outcomes = [
        run_scenario(
            label,
            criteria,
            texts,
            latency=args.latency,
            capacity=args.capacity,
            criteria_per_call=per_call,
            max_concurrency=args.max_concurrency,
            warm_up=not args.no_warm_up,
        )
        for label, per_call in (("all criteria per call", None), ("criteria_per_call=1", 1))
    ]
    print(
        f"{args.texts} texts x {args.criteria} criteria, latency {args.latency}s, capacity {args.capacity}, "
        f"judge max_concurrency {args.max_concurrency}, "
        f"warm-up {'off' if args.no_warm_up else 'one request, untimed'}"
    )
    print(
        f"{'scenario':<24}{'requests':>10}{'wall s':>10}{'bound s':>10}{'ratio':>8}{'max in flight':>15}{'unscored':>10}"
    )
    failed = False
    for o in outcomes:
        print(
            f"{o.label:<24}{o.requests:>10}{o.wall_s:>10.2f}{o.bound_s:>10.2f}{o.ratio:>8.3f}"
            f"{o.max_in_flight:>15}{o.unscored:>10}"
        )
        failed |= o.ratio > args.max_ratio or o.unscored > 0
    print("PASS" if not failed else f"FAIL (target: ratio <= {args.max_ratio}, nothing unscored)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
