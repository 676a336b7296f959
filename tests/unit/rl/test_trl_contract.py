"""The private `GRPOTrainer` methods that replay (rl/replay.py) calls exist with the parameters it passes.

pyproject caps TRL to the minor these were read from; this test fails loudly when a TRL install differs.
"""

from __future__ import annotations

import inspect

import pytest

EXPECTED = {
    "_get_per_token_logps_and_entropies": ["model", "input_ids", "attention_mask", "logits_to_keep"],
    "_tokenize_prompts": ["prompts"],
    "_generate_single_turn": ["prompt_ids", "images", "multimodal_fields", "num_generations"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_replay_finds_the_private_trainer_methods_it_calls(name: str) -> None:
    trl = pytest.importorskip("trl", reason="the [train] extra is not installed")
    method = getattr(trl.GRPOTrainer, name, None)
    assert method is not None, f"TRL {trl.__version__} has no GRPOTrainer.{name}: rl/replay.py needs updating"
    parameters = list(inspect.signature(method).parameters)[1:]
    assert parameters[: len(EXPECTED[name])] == EXPECTED[name], (trl.__version__, parameters)
