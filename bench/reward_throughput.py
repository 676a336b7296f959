"""Reward throughput: `MixedReward` over 128 completions against a loopback judge with 2 s latency, capacity 32.

Two scenarios:
1. a healthy server: wall time must be at most 1.25 × the queueing bound ⌈requests / capacity⌉ × latency;
2. a faulty server (20 % HTTP 500, 10 % garbage replies): at most 2 % of rewards may be None, and nothing
   may crash (retries with backoff, then None).

Run:
    python bench/reward_throughput.py
    python bench/reward_throughput.py --completions 64 --latency 0.5

Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from writer_r1.core.criteria import CriteriaSet  # noqa: E402
from writer_r1.core.models import load_chat_model  # noqa: E402
from writer_r1.rl.rewards import MixedReward  # noqa: E402
from writer_r1.testing import FaultPlan, OpenAICompatServer  # noqa: E402

CRITERIA = CriteriaSet.model_validate(
    {
        "task": "Write a short scene at a harbour.",
        "dimensions": [
            {
                "name": "Craft",
                "criteria": [
                    {
                        "id": f"criterion-{i}",
                        "name": f"Criterion {i}",
                        "description": "An observable quality.",
                        "levels": [{"anchor": a} for a in ("poor", "weak", "fair", "good", "excellent")],
                    }
                    for i in range(1, 6)
                ],
            },
        ],
    }
).model_dump_json()
CONSTRAINTS = '[{"id": "punctuation:no_comma"}]'


def run(completions: int, latency: float, capacity: int, rates: dict[str, float] | None, generations: int) -> dict:
    with OpenAICompatServer(latency_s=latency, capacity=capacity) as server:
        model = load_chat_model("openai:loopback-model", base_url=server.base_url, timeout=60)
        reward = MixedReward(judge_model=model, max_concurrency=64, cache=None)
        prompts = [f"Prompt {i // generations}: write a short scene at a harbour." for i in range(completions)]
        texts = [
            f"Completion {i}: the ferry left{',' if i % 3 == 0 else ''} and the gulls followed."
            for i in range(completions)
        ]
        reward.score(prompts[:1], texts[:1], criteria=[CRITERIA], constraints=[CONSTRAINTS])  # client warm-up, untimed
        server.requests.clear()
        server.max_in_flight = 0
        if rates:
            server.faults = FaultPlan(rates=rates, seed=0)  # faults for the timed run only, a fresh seeded stream
        start = time.perf_counter()
        rewards = asyncio.run(
            reward(
                prompts=prompts,
                completions=texts,
                criteria=[CRITERIA] * completions,
                constraints=[CONSTRAINTS] * completions,
            )
        )
        wall = time.perf_counter() - start
        return {
            "wall": wall,
            "requests": len(server.requests),
            "none": sum(r is None for r in rewards),
            "max_in_flight": server.max_in_flight,
            "count": len(rewards),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--completions", type=int, default=128)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--capacity", type=int, default=32)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # each failed judge call logs a warning; the counts are reported below

    healthy = run(args.completions, args.latency, args.capacity, None, args.generations)
    bound = math.ceil(healthy["requests"] / args.capacity) * args.latency
    ratio = healthy["wall"] / bound
    print(
        f"healthy: {healthy['count']} completions, {healthy['requests']} requests, wall {healthy['wall']:.2f} s, "
        f"bound {bound:.2f} s, ratio {ratio:.3f} (target <= 1.25), max in flight {healthy['max_in_flight']}, "
        f"None {healthy['none']}"
    )

    faulty = run(args.completions, args.latency, args.capacity, {"http500": 0.2, "garbage": 0.1}, args.generations)
    share = faulty["none"] / faulty["count"]
    print(
        f"faulty (20% HTTP 500, 10% garbage): {faulty['requests']} requests "
        f"({faulty['requests'] - faulty['count']} retries), wall {faulty['wall']:.2f} s, "
        f"None {faulty['none']}/{faulty['count']} = {share:.1%} (target <= 2%)"
    )
    ok = ratio <= 1.25 and healthy["none"] == 0 and share <= 0.02
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
