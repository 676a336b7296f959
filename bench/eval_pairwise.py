"""Pairwise evaluation throughput: 500 prompts against a loopback judge with 0.5 s latency and capacity 64.

Two responses files (no generation) and a loopback judge that answers after `--latency` seconds, at most
`--capacity` at once (the rest queue, as in front of `vllm serve --max-num-seqs`). Each prompt takes two
judge calls (both orders), so no client can beat the queueing bound ⌈2·prompts / capacity⌉ × latency.
`run_pairwise` (progress bars off, caches on, a fresh output folder, `report=False`) should come within
`--max-ratio` (1.2) of it. `report.html` is a constant cost after the judging (plots of the summary; the
plotting imports are done in a worker thread while the judge calls wait); it is timed on its own by a
re-run over the finished folder, which reads every verdict from the caches. The server is started in a separate process, so its threads do not compete with the
harness for the interpreter lock (as a real judge server would not).

Side by side in the same run, the bare judge (`Judge.acompare` over the same pairs, no cache, no files)
shows what the harness itself adds: on a busy machine both miss the bound by the same factor (the
client's CPU per call, not the harness), and `harness / bare judge` stays near 1.

Run:
    python bench/eval_pairwise.py                          # 500 prompts, 0.5 s, capacity 64
    python bench/eval_pairwise.py --prompts 200 --latency 1.0

Exit status 1 when the run misses the target or leaves a prompt unscored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from writer_r1.agents.judge import Judge  # noqa: E402
from writer_r1.eval.criteria import generic_criteria  # noqa: E402
from writer_r1.eval.pairwise import run_pairwise  # noqa: E402

SERVER = (
    "import sys, json; from writer_r1.testing import OpenAICompatServer\n"
    "reply = json.dumps({'reason': 'A reads better.', 'winner': 'A'})\n"
    "server = OpenAICompatServer(responder=lambda request: reply, latency_s=float(sys.argv[1]),"
    " capacity=int(sys.argv[2]))\n"
    "print(server.base_url, flush=True); server._httpd.serve_forever()\n"
)


async def bare_judge(base_url: str, pairs: list[tuple[str, str, str]], concurrency: int) -> int:
    judge = Judge("openai:loopback-model", base_url=base_url, max_concurrency=concurrency, cache=None)
    criteria = generic_criteria()
    results = await asyncio.gather(*(judge.acompare(a, b, criteria, task=task) for task, a, b in pairs))
    return sum(result.preferred is None for result in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--capacity", type=int, default=64)
    parser.add_argument("--max-ratio", type=float, default=1.2)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="eval-pairwise-bench-"))
    prompts = [f"Write a short scene about subject number {i}." for i in range(args.prompts)]
    (folder / "prompts.jsonl").write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
    for name in ("a", "b"):
        body = " ".join(["The harbour lights flickered as the boats came in."] * 8)
        (folder / f"{name}.jsonl").write_text(
            "".join(json.dumps({"prompt": p, "response": f"({name}) {body}"}) + "\n" for p in prompts)
        )
    body = " ".join(["The harbour lights flickered as the boats came in."] * 8)
    pairs = [(p, f"(a) {body}", f"(b) {body}") for p in prompts]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.latency), str(args.capacity)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        asyncio.run(bare_judge(base_url, pairs[:2], 2))  # warm-up: imports, first connection
        start = time.perf_counter()
        bare_unscored = asyncio.run(bare_judge(base_url, pairs, args.capacity))
        bare = time.perf_counter() - start
        start = time.perf_counter()
        summary = run_pairwise(
            folder / "prompts.jsonl",
            str(folder / "a.jsonl"),
            str(folder / "b.jsonl"),
            judge="openai:loopback-model",
            judge_base_url=base_url,
            output_dir=folder / "out",
            concurrency=args.capacity,
            progress=False,
            report=False,
        )
        wall = time.perf_counter() - start
        # The report is a constant cost after the judging (plots of the summary), timed on its own: a re-run
        # over the finished folder reads every verdict from its caches and only writes report.html.
        start = time.perf_counter()
        run_pairwise(
            folder / "prompts.jsonl",
            str(folder / "a.jsonl"),
            str(folder / "b.jsonl"),
            judge="openai:loopback-model",
            judge_base_url=base_url,
            output_dir=folder / "out",
            concurrency=args.capacity,
            progress=False,
        )
        with_report = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait()
    calls = 2 * args.prompts
    bound = math.ceil(calls / args.capacity) * args.latency
    ratio = wall / bound
    print(f"{args.prompts} prompts, {calls} judge calls, latency {args.latency}s, capacity {args.capacity}")
    print(f"bare judge  wall {bare:.2f}s  ratio to bound {bare / bound:.3f}  (unscored {bare_unscored})")
    print(f"run_pairwise wall {wall:.2f}s  queueing bound {bound:.2f}s  ratio {ratio:.3f} (target ≤ {args.max_ratio})")
    print(f"harness / bare judge: {wall / bare:.3f}")
    print(f"re-run over the finished folder (caches only) + report.html: {with_report:.2f}s")
    print(f"scored {summary.n}, unscored {summary.unscored}, win rate {summary.win_rate}")
    ok = ratio <= args.max_ratio and summary.unscored == 0 and summary.n == args.prompts
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
