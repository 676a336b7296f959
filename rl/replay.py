"""MRPO replay: the experience memory's best accepted revision joins a GRPO group as an off-policy member.

`ReplayRollout` is a `rollout_func` for TRL's `GRPOTrainer`. It generates the group as TRL would, then,
with probability `probability` per group, puts the memory's best accepted revision for that prompt into
the group's last slot. GRPO then compares fresh samples with a known-good answer: the replayed member
usually has a high reward, so its tokens get a positive advantage and the fresh samples are measured
against it.

Log-probabilities: the returned `logprobs` are TRL's *sampling* log-probs. TRL uses them only with vLLM
generation, for the importance-sampling correction `exp(old_logps − sampling_logps)` of the sampler/trainer
mismatch (without vLLM `_generate_single_turn` returns None and TRL computes every log-prob from the
policy itself). The replayed member was not sampled, so it has no sampling log-probs; it gets the current
policy's own (`policy_logprobs`, the trainer's routine), which makes its correction ratio 1: it is then
treated exactly like an on-policy sample of the same tokens, and the PPO-style ratio against `old_logps`
does the rest. The tokens are the memory's text, not a draw from the policy: that is the point of replay.

The replayed revision is the memory's best accepted one for exactly the row's task (`best_revision(task)`),
so the dataset rows' prompts must be the tasks the memory was filled with (`writer-r1 reflect --memory`).
With several processes keep whole groups per process (see `MixedReward`); the slot is a group's last.
This uses two of `GRPOTrainer`'s internal methods (`_tokenize_prompts`, `_generate_single_turn`), so it
is tied to TRL 1.x (the `[train]` extra pins `trl<2`); TRL marks `rollout_func` itself as experimental.

Example (config):
    trainer = grpo_trainer(config, rollout_func=ReplayRollout("memory.sqlite", probability=0.5))
"""

from __future__ import annotations

import logging
import random
from typing import Any

from writer_r1.core.errors import UserError
from writer_r1.rl.rewards import consecutive_groups, task_text

logger = logging.getLogger(__name__)


def policy_logprobs(trainer: Any, prompt_ids: list[int], completion_ids: list[int]) -> list[float]:
    """Per-token log-probs of `completion_ids` after `prompt_ids` under the trainer's current policy.

    Computed with the trainer's own routine (`_get_per_token_logps_and_entropies`: its temperature, its
    fused LM head), so they equal the `old_per_token_logps` TRL computes for the same sequence, up to the
    padding of TRL's batch.
    """
    import torch

    device = trainer.accelerator.device
    ids = torch.tensor([list(prompt_ids) + list(completion_ids)], device=device)
    with torch.no_grad():
        logps, _, _ = trainer._get_per_token_logps_and_entropies(
            trainer.model, ids, torch.ones_like(ids), len(completion_ids)
        )
    return logps[0].float().tolist()


def revision_ids(tokenizer: Any, text: str, limit: int) -> list[int]:
    """Token ids of a replayed revision as a completion: ended by EOS when it fits in `limit` tokens, else
    cut at `limit` without EOS (so TRL sees it as truncated, exactly like a sampled completion)."""
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    if len(ids) < limit:
        return ids + [tokenizer.eos_token_id]
    return ids[:limit]


class ReplayRollout:
    """A `rollout_func` that replays the memory's best accepted revision into one slot per group.

    Args:
        memory: an `ExperienceMemory` or its SQLite path.
        probability: chance that a group gets a replayed member (when the memory has one for its prompt).
        seed: seeds the per-group draw, for reproducible runs.
    """

    def __init__(self, memory: Any, *, probability: float = 1.0, seed: int = 0):
        if not 0.0 <= probability <= 1.0:
            raise UserError(f"replay probability must be in [0, 1], got {probability}")
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
        training = trainer.model.training
        prompt_ids, images, multimodal_fields = trainer._tokenize_prompts(prompts)
        num_generations = trainer.num_generations if training else trainer.num_generations_eval
        completion_ids, logprobs = trainer._generate_single_turn(prompt_ids, images, multimodal_fields, num_generations)
        completion_ids = [list(ids) for ids in completion_ids]
        replayed = [False] * len(prompts)
        if not training:  # evaluation measures the policy alone
            return {
                "prompt_ids": prompt_ids,
                "completion_ids": completion_ids,
                "logprobs": logprobs,
                "replayed": replayed,
            }
        tokenizer = trainer.processing_class
        limit = trainer.max_completion_length
        for group in consecutive_groups(prompts, num_generations):
            if len(group) < 2 or self._rng.random() >= self.probability:
                continue
            experience = self._memory().best_revision(task_text(prompts[group[0]]))
            if experience is None or not experience.revision.strip():
                continue
            slot = group[-1]
            ids = revision_ids(tokenizer, experience.revision, limit)
            completion_ids[slot] = ids
            if logprobs is not None:  # vLLM's sampling log-probs: see the module docstring
                logprobs[slot] = policy_logprobs(trainer, prompt_ids[slot], ids)
            replayed[slot] = True
            self.replayed += 1
        logger.debug("replayed %d revisions into %d prompts", sum(replayed), len(prompts))
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": logprobs, "replayed": replayed}
