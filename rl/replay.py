"""MRPO replay: the experience memory's best accepted revision joins a GRPO group as an off-policy member.

`ReplayRollout` is a `rollout_func` for TRL's `GRPOTrainer`. It generates the group as TRL would, then,
with probability `probability` per group, puts the memory's best accepted revision for that prompt into
the group's last slot. GRPO then compares fresh samples with a known-good answer: the replayed member
usually has a high reward, so its tokens get a positive advantage and the fresh samples are measured
against it.

Log-probabilities: with vLLM generation TRL corrects for the sampler/trainer mismatch with the sampling
log-probs; for the replayed member those are computed here under the current policy (a forward pass of
the training model), so its importance ratio starts at 1. Without vLLM, TRL uses the policy's own
log-probs for every member, the replayed one included.

The dataset rows' prompts must be the tasks the memory was filled with (`writer-r1 reflect --memory`).
This uses two of `GRPOTrainer`'s internal methods (`_tokenize_prompts`, `_generate_single_turn`), so it
is tied to TRL 1.x (the `[train]` extra pins `trl<2`); TRL marks `rollout_func` itself as experimental.

Example (config):
    trainer = grpo_trainer(config, rollout_func=ReplayRollout("memory.sqlite", probability=0.5))
"""

from __future__ import annotations

import logging
import random
from typing import Any

from writer_r1.rl.rewards import consecutive_groups, task_text

logger = logging.getLogger(__name__)


def policy_logprobs(trainer: Any, prompt_ids: list[int], completion_ids: list[int]) -> list[float]:
    """Per-token log-probs of `completion_ids` after `prompt_ids` under the trainer's current model."""
    import torch

    model = trainer.accelerator.unwrap_model(trainer.model)
    ids = torch.tensor([list(prompt_ids) + list(completion_ids)], device=model.device)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1 : -1].float()
    logits = logits / max(float(getattr(trainer, "temperature", 1.0) or 1.0), 1e-6)
    targets = torch.tensor(completion_ids, device=logits.device).unsqueeze(-1)
    return torch.log_softmax(logits, dim=-1).gather(-1, targets).squeeze(-1).tolist()


class ReplayRollout:
    """A `rollout_func` that replays the memory's best accepted revision into one slot per group.

    Args:
        memory: an `ExperienceMemory` or its SQLite path.
        probability: chance that a group gets a replayed member (when the memory has one for its prompt).
        seed: seeds the per-group draw, for reproducible runs.
    """

    def __init__(self, memory: Any, *, probability: float = 1.0, seed: int = 0):
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {probability}")
        self.memory = memory
        self.probability = probability
        self._rng = random.Random(seed)
        self.replayed = 0

    def _memory(self) -> Any:
        if isinstance(self.memory, str):
            from writer_r1.memory.experience import ExperienceMemory

            self.memory = ExperienceMemory(self.memory)
        return self.memory

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, Any]:
        prompt_ids, images, multimodal_fields = trainer._tokenize_prompts(prompts)
        num_generations = trainer.num_generations if trainer.model.training else trainer.num_generations_eval
        completion_ids, logprobs = trainer._generate_single_turn(prompt_ids, images, multimodal_fields, num_generations)
        completion_ids = [list(ids) for ids in completion_ids]
        replayed = [False] * len(prompts)
        tokenizer = trainer.processing_class
        limit = trainer.max_completion_length
        for group in consecutive_groups(prompts):
            if len(group) < 2 or self._rng.random() >= self.probability:
                continue
            experience = self._memory().best_revision(task_text(prompts[group[0]]))
            if experience is None or not experience.revision.strip():
                continue
            slot = group[-1]
            ids = tokenizer(experience.revision, add_special_tokens=False)["input_ids"][: max(1, limit - 1)]
            ids = ids + [tokenizer.eos_token_id]
            completion_ids[slot] = ids
            if logprobs is not None:
                logprobs[slot] = policy_logprobs(trainer, prompt_ids[slot], ids)
            replayed[slot] = True
            self.replayed += 1
        logger.debug("replayed %d revisions into %d prompts", sum(replayed), len(prompts))
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": logprobs, "replayed": replayed}
