"""One rank of GRPO across processes (run by `torchrun --nproc_per_node 2`; see test_grpo_across_processes.py).

Each rank first builds a misconfigured trainer (groups would be split across processes) and records the error,
then trains two steps with `MixedReward` judged over HTTP (a shared SQLite judge cache) and MRPO replay from a
shared experience memory, recording every batch its reward function saw. Writes `rank<N>.json` into `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from writer_r1.core.errors import UserError
from writer_r1.rl.replay import ReplayRollout
from writer_r1.rl.rewards import MixedReward, message_text, task_text
from writer_r1.rl.train import TrainConfig, grpo_trainer


class RecordingMixedReward(MixedReward):
    """`MixedReward` that keeps what each call saw and returned (this process's slice of the batch)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.batches: list[dict[str, Any]] = []

    async def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        rewards = await super().__call__(prompts, completions, **kwargs)
        quality = await self._quality(prompts, completions, kwargs)  # the judge cache answers: no new request
        results = await self.compliance.results(prompts, completions, kwargs)
        self.batches.append(
            {
                "tasks": [task_text(p) for p in prompts],
                "texts": [message_text(c) for c in completions],
                "rewards": rewards,
                "quality": quality,
                "passed": [all(r.passed is not False for r in row) for row in results],
                "replayed": list(kwargs.get("replayed") or [False] * len(prompts)),
            }
        )
        return rewards


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--model", "--data", "--judge-url", "--cache", "--memory", "--out"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    rank = int(os.environ["RANK"])
    settings = {
        "output_dir": str(Path(args.out) / "trainer"),
        "use_cpu": True,
        "report_to": "none",
        "seed": 0,
        "save_strategy": "no",
        "logging_steps": 1,
        "disable_tqdm": True,
        "max_steps": 2,
        "learning_rate": 1e-4,
        "num_generations": 4,
        "max_completion_length": 12,
        "temperature": 1.0,
    }
    reward = {
        "judge_model": "openai:loopback-model",
        "base_url": args.judge_url,
        "cache": args.cache,
        "num_generations": 4,
    }

    # 6 completions per process: TRL accepts it (12 in all, a multiple of 4), but groups would straddle processes.
    refused = None
    try:
        bad = TrainConfig(model=args.model, dataset=args.data, trainer={**settings, "per_device_train_batch_size": 6})
        grpo_trainer(bad, reward=RecordingMixedReward(**reward))
    except UserError as error:
        refused = str(error)

    config = TrainConfig(model=args.model, dataset=args.data, trainer={**settings, "per_device_train_batch_size": 8})
    recording = RecordingMixedReward(**reward)
    rollout = ReplayRollout(args.memory, probability=1.0)
    trainer = grpo_trainer(config, reward=recording, rollout_func=rollout)
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "rlmr/constraint_pass_rate" in entry]
    Path(args.out, f"rank{rank}.json").write_text(
        json.dumps(
            {
                "rank": rank,
                "processes": trainer.accelerator.num_processes,
                "backend": str(trainer.accelerator.state.backend),
                "refused": refused,
                "batches": recording.batches,
                "replayed": rollout.replayed,
                "steps": len(logged),
            }
        )
    )


if __name__ == "__main__":
    main()
