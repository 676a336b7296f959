"""RLMR's pluggable quality sources: ClassifierReward throughput on a CPU, PairwiseReward against its queueing bound.

1. `ClassifierReward` in process, a tiny random Qwen2ForSequenceClassification built offline, on a CPU:
   completions per second with batches padded by length buckets and without (batches in order, each padded
   to its longest member), measured side by side (alternating, median of the repeats), with the share of
   padding tokens each one computes. Target: buckets at least as fast (reported; the ratio is the figure).
2. `PairwiseReward` over 256 completions (groups of 8) against a loopback judge with 2 s latency and a
   capacity of 32 requests: wall time at most 1.2 × the queueing bound ⌈requests / capacity⌉ × latency
   for the default `random` reference (all comparisons at once). The judge client keeps 1.5 × the server's
   capacity in flight (enough to keep it saturated; more only queues connections in front of it). The `best`
   reference (a group's comparisons in turn, G − 1 rounds) is reported beside it, without a target: its
   rounds leave the server idle at the tail of the batch.

Run:
    python bench/quality_sources.py
    python bench/quality_sources.py --latency 0.5 --completions 128

Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from writer_r1.core.models import load_chat_model  # noqa: E402
from writer_r1.rl.classifier import ClassifierReward, conversation, length_buckets  # noqa: E402
from writer_r1.rl.pairwise import PairwiseReward  # noqa: E402
from writer_r1.testing import OpenAICompatServer  # noqa: E402

WORDS = "the keeper climbed lighthouse stairs at dusk and lit lamp storm rolled over harbour boats grey water".split()
SHOWN = re.compile(r"Text ([AB]) is between the two (\S+) lines:\n\2\n(.*?)\n\2", re.S)


def prefer_longer(request: dict) -> str:
    prompt = request["messages"][0]["content"]
    texts = {label: text for label, _, text in SHOWN.findall(prompt)}
    a, b = len(texts.get("A", "")), len(texts.get("B", ""))
    return json.dumps({"reason": f"lengths {a} and {b}", "winner": "A" if a > b else "B" if b > a else "tie"})


def completions(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)  # lengths spread like sampled completions: mostly short, a long tail
    return [
        " ".join(rng.choice(WORDS) for _ in range(min(120, int(rng.expovariate(1 / 30)) + 3))) for _ in range(count)
    ]


def classifier_throughput(count: int, batch_size: int, repeats: int) -> dict[str, float]:
    from writer_r1.testing.tiny_models import tiny_qwen2

    path = tiny_qwen2(tempfile.mkdtemp(prefix="bench-reward-"), head="classifier", max_position_embeddings=512)
    texts = completions(count)
    prompts = ["Describe a storm over the harbour."] * count
    rewards = {
        bucket: ClassifierReward(str(path), batch_size=batch_size, bucket=bucket, device="cpu")
        for bucket in (True, False)
    }
    for reward in rewards.values():
        reward.score(prompts[:batch_size], texts[:batch_size])  # load the model, warm up
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeats):
        for bucket, reward in rewards.items():
            start = time.perf_counter()
            reward.score(prompts, texts)
            times[bucket].append(time.perf_counter() - start)
    sequences, _ = rewards[True].backend.encode([conversation(p, t) for p, t in zip(prompts, texts, strict=True)])
    lengths = [len(s) for s in sequences]
    padded = {
        bucket: sum(len(b) * max(lengths[i] for i in b) for b in length_buckets(lengths, batch_size, bucket=bucket))
        for bucket in (True, False)
    }
    real = sum(lengths)
    return {
        "bucket_s": statistics.median(times[True]),
        "plain_s": statistics.median(times[False]),
        "bucket_pad": 1 - real / padded[True],
        "plain_pad": 1 - real / padded[False],
        "tokens": real,
    }


def pairwise_wall(
    count: int, generations: int, latency: float, capacity: int, reference: str, concurrency: int
) -> dict[str, float]:
    with OpenAICompatServer(responder=prefer_longer, latency_s=latency, capacity=capacity) as server:
        judge = load_chat_model("openai:loopback-model", base_url=server.base_url, timeout=120)
        reward = PairwiseReward(
            judge_model=judge, reference=reference, num_generations=generations, max_concurrency=concurrency, cache=None
        )
        texts = completions(count, seed=1)
        prompts = [f"Prompt {i // generations}: describe a storm." for i in range(count)]
        reward.score(prompts[:2], ["warm up", "warm up the client"])  # client warm-up, untimed
        server.requests.clear()
        start = time.perf_counter()
        rewards = asyncio.run(reward(prompts=prompts, completions=texts))
        wall = time.perf_counter() - start
        requests = len(server.requests)
    bound = math.ceil(requests / capacity) * latency
    return {
        "wall": wall,
        "requests": requests,
        "bound": bound,
        "ratio": wall / bound,
        "none": sum(r is None for r in rewards),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classifier-completions", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--completions", type=int, default=256)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--capacity", type=int, default=32)
    parser.add_argument("--judge-concurrency", type=int, default=None, help="default: 1.5 × capacity")
    args = parser.parse_args()
    concurrency = args.judge_concurrency or math.ceil(1.5 * args.capacity)
    logging.basicConfig(level=logging.ERROR)

    c = classifier_throughput(args.classifier_completions, args.batch_size, args.repeats)
    n = args.classifier_completions
    print(
        f"classifier (CPU, tiny Qwen2, {n} completions, {c['tokens']} tokens, batch {args.batch_size}): "
        f"buckets {n / c['bucket_s']:.0f}/s ({c['bucket_pad']:.0%} padding), in order {n / c['plain_s']:.0f}/s "
        f"({c['plain_pad']:.0%} padding); buckets take {c['bucket_s'] / c['plain_s']:.2f}× the time"
    )
    ok = c["bucket_s"] <= c["plain_s"] * 1.05
    for reference in ("random", "best"):
        p = pairwise_wall(args.completions, args.generations, args.latency, args.capacity, reference, concurrency)
        target = " (target <= 1.2)" if reference == "random" else ""
        print(
            f"pairwise ({reference}): {args.completions} completions, {p['requests']} requests, wall {p['wall']:.2f} s, "
            f"bound {p['bound']:.2f} s, ratio {p['ratio']:.3f}{target}, None {p['none']}"
        )
        ok = ok and p["none"] == 0 and (reference != "random" or p["ratio"] <= 1.2)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
