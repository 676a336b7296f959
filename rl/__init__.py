"""Training: TRL reward functions, RLMR mixing, MRPO replay, SFT data and training entry points.

The public names are imported lazily: `import writer_r1.rl` loads neither torch nor TRL nor a client;
each name loads its module on first use.

Example:
    >>> from writer_r1.rl import MixedReward, rlmr_rewards
    >>> MixedReward(judge_model="fake").__name__
    'rlmr'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from writer_r1._lazy import lazy_exports

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time `__getattr__` imports on first use
    from writer_r1.rl.classifier import ClassifierReward
    from writer_r1.rl.pairwise import PairwiseReward
    from writer_r1.rl.replay import ReplayRollout
    from writer_r1.rl.rewards import (
        ConstraintReward,
        CriteriaReward,
        MixedReward,
        call_reward,
        consecutive_groups,
        extract_constraints,
    )
    from writer_r1.rl.rlmr import GroupMix, compliance_flags, fixed_weight_rewards, rlmr_mix, rlmr_rewards
    from writer_r1.rl.train import TrainConfig, build_reward, grpo_trainer, sft_trainer, train

_EXPORTS = {
    "ClassifierReward": "writer_r1.rl.classifier",
    "PairwiseReward": "writer_r1.rl.pairwise",
    "ReplayRollout": "writer_r1.rl.replay",
    "ConstraintReward": "writer_r1.rl.rewards",
    "CriteriaReward": "writer_r1.rl.rewards",
    "MixedReward": "writer_r1.rl.rewards",
    "call_reward": "writer_r1.rl.rewards",
    "consecutive_groups": "writer_r1.rl.rewards",
    "extract_constraints": "writer_r1.rl.rewards",
    "GroupMix": "writer_r1.rl.rlmr",
    "compliance_flags": "writer_r1.rl.rlmr",
    "fixed_weight_rewards": "writer_r1.rl.rlmr",
    "rlmr_mix": "writer_r1.rl.rlmr",
    "rlmr_rewards": "writer_r1.rl.rlmr",
    "TrainConfig": "writer_r1.rl.train",
    "build_reward": "writer_r1.rl.train",
    "grpo_trainer": "writer_r1.rl.train",
    "sft_trainer": "writer_r1.rl.train",
    "train": "writer_r1.rl.train",
}

__all__ = [
    "ClassifierReward",
    "ConstraintReward",
    "CriteriaReward",
    "GroupMix",
    "MixedReward",
    "PairwiseReward",
    "ReplayRollout",
    "TrainConfig",
    "build_reward",
    "call_reward",
    "compliance_flags",
    "consecutive_groups",
    "extract_constraints",
    "fixed_weight_rewards",
    "grpo_trainer",
    "rlmr_mix",
    "rlmr_rewards",
    "sft_trainer",
    "train",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
