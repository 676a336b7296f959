"""Judge client cost and concurrency, side by side in one run: plain `openai`, LangChain, and writer-r1.

Every client makes the same structured judge call (5 criteria, the judge's JSON Schema as
`response_format`) against one loopback OpenAI-compatible server that runs in a separate process,
so this process's CPU time is the client's alone.

1. **CPU per call** on an instant server (no latency, room for every request at once): process CPU
   time over `--calls` concurrent calls, divided by the number of calls.
2. **Wall time at high concurrency** against a server with a latency and a capacity (requests beyond
   it queue, as in front of `vllm serve --max-num-seqs`): wall time over the queueing bound
   ⌈requests / capacity⌉ × latency, for 128/32/2 s, 256/64/0.5 s and 512/128/0.5 s
   (completions / capacity / latency). Every client has all completions in flight at once.

Clients:
    openai       `openai.AsyncOpenAI().chat.completions.create(..., response_format=...)`, then `json.loads`
    langchain    `ChatOpenAI(...).with_structured_output(schema, method="json_schema")`
    Judge        `Judge(load_chat_model("openai:..."))`, one `ascore` per text
    Judge(spec)  `Judge("openai:...")` (the spec string)
    Criteria     `CriteriaReward(judge_model=load_chat_model("openai:..."))` over the batch
    Mixed        `MixedReward(...)` over the batch (groups of 8; the constraint checks are included)

Targets: writer-r1's clients at most 1.5 × the plain client's CPU per call, and at most 1.1 × its wall
time in every concurrency scenario. Exit status 1 when one is missed.

Run:
    python bench/judge_client_cost.py
    python bench/judge_client_cost.py --calls 256 --scenarios 128/32/2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LANGSMITH_TRACING", "false")

from writer_r1.agents.judge import Judge  # noqa: E402
from writer_r1.agents.judge_schema import verdict_contract  # noqa: E402
from writer_r1.core.criteria import CriteriaSet  # noqa: E402
from writer_r1.core.models import load_chat_model  # noqa: E402
from writer_r1.core.structured import response_format_for  # noqa: E402
from writer_r1.rl.rewards import CriteriaReward, MixedReward  # noqa: E402

MODEL = "loopback-model"
GENERATIONS = 8
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
)
CRITERIA_JSON = CRITERIA.model_dump_json()
CONSTRAINTS = '[{"id": "punctuation:no_comma"}]'
OURS = ("Judge", "Judge(spec)", "Criteria", "Mixed")
CLIENTS = ("openai", "langchain", *OURS)

Batch = Callable[[list[str], list[str]], Awaitable[int]]  # (prompts, texts) -> completed calls


class LoopbackProcess:
    """The loopback server in a child process, so its CPU time is not the client's."""

    def __init__(self, latency: float, capacity: int):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "writer_r1.testing.openai_server",
                "--latency",
                str(latency),
                "--capacity",
                str(capacity),
                "--model",
                MODEL,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,  # its connection-reset noise
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            raise RuntimeError(f"the loopback server did not start: {self.base_url!r}")

    def __enter__(self) -> LoopbackProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def texts_for(count: int, salt: str) -> tuple[list[str], list[str]]:
    prompts = [f"Prompt {i // GENERATIONS}: write a short scene at a harbour." for i in range(count)]
    texts = [
        f"Completion {salt}-{i}: the ferry left and the gulls followed it out past the breakwater."
        for i in range(count)
    ]
    return prompts, texts


def make_batch(client: str, base_url: str, concurrency: int) -> Batch:
    """An async function that makes one structured judge call per text, all at once."""
    judge_for_prompts = Judge("fake", cache=None)  # renders the same prompt the plain clients send
    contract = verdict_contract(CRITERIA.criteria)
    response_format = response_format_for(contract)
    ids = [c.id for c in CRITERIA.criteria]

    if client == "openai":

        async def plain(prompts: list[str], texts: list[str]) -> int:
            import openai

            messages = [
                [{"role": "user", "content": judge_for_prompts.prompt(t, CRITERIA.criteria, CRITERIA.task)}]
                for t in texts
            ]
            api = openai.AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0, timeout=600)

            async def one(message: list[dict[str, str]]) -> bool:
                reply = await api.chat.completions.create(
                    model=MODEL,
                    messages=message,
                    response_format=response_format,
                    temperature=0,  # type: ignore[arg-type]
                )
                verdict = json.loads(reply.choices[0].message.content or "")
                return all(key in verdict for key in ids)

            try:
                return sum(await asyncio.gather(*(one(m) for m in messages)))
            finally:
                await api.close()

        return plain
    if client == "langchain":

        async def langchain(prompts: list[str], texts: list[str]) -> int:
            import openai
            from langchain_openai import ChatOpenAI

            messages = [judge_for_prompts.prompt(t, CRITERIA.criteria, CRITERIA.task) for t in texts]
            # its own HTTP client: LangChain's process-wide default is bound to the first event loop
            chat = ChatOpenAI(
                model=MODEL,
                base_url=base_url,
                api_key="EMPTY",
                max_retries=0,
                timeout=600,
                temperature=0,
                http_async_client=openai.DefaultAsyncHttpxClient(),
            )
            structured = chat.with_structured_output(
                {"title": contract.name, **contract.schema}, method="json_schema", strict=True
            )
            verdicts = await asyncio.gather(*(structured.ainvoke(m) for m in messages))
            return sum(all(key in v for key in ids) for v in verdicts)

        return langchain
    spec = f"openai:{MODEL}"
    if client in ("Judge", "Judge(spec)"):
        model = spec if client == "Judge(spec)" else load_chat_model(spec, base_url=base_url, timeout=600)
        judge = Judge(model, base_url=base_url, cache=None, max_concurrency=concurrency)

        async def ours(prompts: list[str], texts: list[str]) -> int:
            cards = await asyncio.gather(*(judge.ascore(t, CRITERIA) for t in texts))
            return sum(card.complete for card in cards)

        return ours
    model = load_chat_model(spec, base_url=base_url, timeout=600)
    reward = (CriteriaReward if client == "Criteria" else MixedReward)(
        judge_model=model, max_concurrency=concurrency, cache=None
    )
    if client == "Mixed":
        reward.num_generations = GENERATIONS  # type: ignore[attr-defined]

    async def rewards(prompts: list[str], texts: list[str]) -> int:
        values = await reward(
            prompts=prompts,
            completions=texts,
            criteria=[CRITERIA_JSON] * len(texts),
            constraints=[CONSTRAINTS] * len(texts),
        )
        return sum(value is not None for value in values)

    return rewards


@dataclass
class Run:
    client: str
    calls: int
    complete: int
    wall_s: float
    cpu_s: float


def timed(client: str, base_url: str, count: int, concurrency: int, salt: str) -> Run:
    batch = make_batch(client, base_url, concurrency)
    asyncio.run(batch(*texts_for(GENERATIONS, f"warm-{salt}")))  # one-time lazy imports and client set-up, untimed
    prompts, texts = texts_for(count, salt)
    cpu, wall = time.process_time(), time.perf_counter()
    complete = asyncio.run(batch(prompts, texts))
    return Run(client, count, complete, time.perf_counter() - wall, time.process_time() - cpu)


def parse_scenario(value: str) -> tuple[int, int, float]:
    completions, capacity, latency = value.split("/")
    return int(completions), int(capacity), float(latency.rstrip("s"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=512, help="calls for the CPU measurement")
    parser.add_argument(
        "--scenarios",
        nargs="*",
        default=["128/32/2", "256/64/0.5", "512/128/0.5"],
        help="completions/capacity/latency_s",
    )
    parser.add_argument("--clients", nargs="*", default=list(CLIENTS), choices=CLIENTS)
    parser.add_argument("--repeats", type=int, default=2, help="CPU runs per client (the lowest is kept)")
    parser.add_argument("--max-cpu-ratio", type=float, default=1.5)
    parser.add_argument("--max-wall-ratio", type=float, default=1.1)
    args = parser.parse_args()

    failed = False
    print(
        f"client CPU per structured judge call: {args.calls} concurrent calls, instant server, "
        f"5 criteria per call (lowest of {args.repeats} runs)"
    )
    cpu: dict[str, Run] = {}
    with LoopbackProcess(latency=0.0, capacity=args.calls) as server:
        for repeat in range(args.repeats):
            for client in args.clients:  # interleaved, so background load hits every client alike
                run = timed(client, server.base_url, args.calls, args.calls, f"cpu{repeat}")
                if client not in cpu or run.cpu_s < cpu[client].cpu_s:
                    cpu[client] = run
    base = cpu.get("openai")
    print(f"{'client':<14}{'CPU ms/call':>12}{'x openai':>10}{'complete':>10}")
    for client, run in cpu.items():
        per_call = 1000 * run.cpu_s / run.calls
        ratio = run.cpu_s / base.cpu_s if base else float("nan")
        flag = " <- over target" if client in OURS and ratio > args.max_cpu_ratio else ""
        failed |= bool(flag) or run.complete != run.calls
        print(f"{client:<14}{per_call:>12.2f}{ratio:>10.2f}{run.complete:>10}{flag}")

    print("\nwall time / queueing bound (all completions in flight at once)")
    header = f"{'scenario':<16}" + "".join(f"{client:>13}" for client in args.clients)
    print(header)
    for scenario in args.scenarios:
        completions, capacity, latency = parse_scenario(scenario)
        bound = math.ceil(completions / capacity) * latency
        with LoopbackProcess(latency=latency, capacity=capacity) as server:
            runs = {c: timed(c, server.base_url, completions, completions, scenario) for c in args.clients}
        plain = runs.get("openai")
        cells = []
        for client, run in runs.items():
            ratio = run.wall_s / bound
            over = plain is not None and client in OURS and run.wall_s > args.max_wall_ratio * plain.wall_s
            failed |= over or run.complete != run.calls
            cells.append(f"{ratio:>12.2f}{'!' if over else ' '}")
        print(f"{scenario + 's':<16}" + "".join(cells))
    print(f"(bound = ceil(completions / capacity) x latency; '!' = over {args.max_wall_ratio} x the openai client)")
    print(
        "PASS"
        if not failed
        else f"FAIL (targets: CPU <= {args.max_cpu_ratio} x openai, "
        f"wall <= {args.max_wall_ratio} x openai, every call complete)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
