"""Two real training steps of TRL's GRPOTrainer and SFTTrainer on a tiny random Qwen2, judged by a loopback server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from writer_r1.core.criteria import CriteriaSet

pytestmark = pytest.mark.slow

# Where the trainers run: `cpu` (the default) or `cuda` (the GPU check: `WRITER_R1_TEST_DEVICE=cuda`, in bf16).
DEVICE = os.environ.get("WRITER_R1_TEST_DEVICE", "cpu")
if DEVICE not in {"cpu", "cuda"}:
    raise ValueError(f"WRITER_R1_TEST_DEVICE must be cpu or cuda, got {DEVICE!r}")
DEVICE_SETTINGS = {"use_cpu": True} if DEVICE == "cpu" else {"use_cpu": False, "bf16": True}


@pytest.fixture(autouse=True)
def _requested_device_is_there() -> None:
    if DEVICE == "cuda":
        torch = pytest.importorskip("torch")
        assert torch.cuda.is_available(), "WRITER_R1_TEST_DEVICE=cuda but torch sees no GPU"


CRITERIA = CriteriaSet.model_validate(
    {
        "task": "Write about the sea",
        "dimensions": [
            {
                "name": "Craft",
                "criteria": [
                    {
                        "id": "imagery",
                        "name": "Imagery",
                        "description": "Concrete images",
                        "levels": [{"anchor": "none"}, {"anchor": "some"}, {"anchor": "vivid"}],
                    },
                    {
                        "id": "rhythm",
                        "name": "Rhythm",
                        "description": "Varied sentences",
                        "levels": [{"anchor": "flat"}, {"anchor": "varied"}],
                    },
                ],
            },
        ],
    }
)


def _grpo_rows(path: Path) -> Path:
    rows = [
        {
            "prompt": [{"role": "user", "content": "Write a short poem about the sea without commas."}],
            "criteria": CRITERIA.model_dump_json(),
            "constraints": json.dumps([{"id": "punctuation:no_comma"}]),
        },
        {
            "prompt": [{"role": "user", "content": "Describe a storm over the harbour."}],
            "criteria": CRITERIA.model_dump_json(),
            "constraints": None,
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _trainer_settings(tmp_path: Path, **extra) -> dict:
    return {
        "output_dir": str(tmp_path / "out"),
        **DEVICE_SETTINGS,
        "report_to": "none",
        "max_steps": 2,
        "logging_steps": 1,
        "save_strategy": "no",
        "learning_rate": 1e-4,
        "seed": 0,
        **extra,
    }


def test_grpo_trains_two_steps_with_mixed_reward_and_logs_reward_metrics(
    tiny_model_dir, make_loopback, tmp_path
) -> None:
    from writer_r1.rl.train import TrainConfig, grpo_trainer

    judge = make_loopback()
    config = TrainConfig(
        model=str(tiny_model_dir),
        dataset=str(_grpo_rows(tmp_path / "grpo.jsonl")),
        reward={"type": "mixed", "judge_model": "openai:loopback-model", "judge_base_url": judge.base_url},
        trainer=_trainer_settings(
            tmp_path, per_device_train_batch_size=4, num_generations=4, max_completion_length=12, temperature=1.0
        ),
    )
    trainer = grpo_trainer(config)
    trainer.train()
    logged = {key for entry in trainer.state.log_history for key in entry}
    assert trainer.model.device.type == DEVICE
    assert trainer.state.global_step == 2
    assert "rewards/rlmr/mean" in logged
    assert {"rlmr/constraint_pass_rate", "rlmr/all_violating_groups", "quality/dimension/Craft"} <= logged
    assert len(judge.requests) >= 8  # every completion went to the judge
    assert all("response_format" in request for request in judge.requests)


def test_sft_trains_two_steps_from_the_cli_config(tiny_model_dir, tmp_path) -> None:
    from writer_r1.cli import main

    rows = [
        {
            "messages": [
                {"role": "user", "content": "Write about the sea."},
                {"role": "assistant", "content": "The grey water rocked the boats."},
            ]
        }
    ] * 8
    data = tmp_path / "sft.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    config = tmp_path / "sft.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": str(tiny_model_dir),
                "dataset": str(data),
                **_trainer_settings(tmp_path, per_device_train_batch_size=4, max_length=64),
            }
        )
    )
    main(["train", "sft", "--config", str(config)])  # an error would exit with status 2
    assert (tmp_path / "out" / "config.json").is_file()


def test_grpo_from_the_cli_config_with_replay(tiny_model_dir, make_loopback, tmp_path) -> None:
    from writer_r1.cli import main
    from writer_r1.core.records import Experience, Reflection
    from writer_r1.memory.embeddings import LexicalEmbeddings
    from writer_r1.memory.experience import ExperienceMemory

    revision = "Salt wind"  # short enough to fit max_completion_length whole
    with ExperienceMemory(str(tmp_path / "memory.sqlite"), embeddings=LexicalEmbeddings()) as memory:
        memory.remember(
            Experience(
                task="Describe a storm over the harbour.",
                reflection=Reflection(diagnosis="flat"),
                draft="storm",
                revision=revision,
                score_before=0.1,
                score_after=0.9,
                accepted=True,
            )
        )
    judge = make_loopback()
    config = tmp_path / "grpo.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": str(tiny_model_dir),
                "dataset": str(_grpo_rows(tmp_path / "grpo.jsonl")),
                "reward": {"type": "mixed", "judge_model": "openai:loopback-model", "judge_base_url": judge.base_url},
                "replay": {"memory": str(tmp_path / "memory.sqlite"), "probability": 1.0},
                **_trainer_settings(
                    tmp_path, per_device_train_batch_size=4, num_generations=4, max_completion_length=8
                ),
            }
        )
    )
    main(["train", "grpo", "--config", str(config)])
    assert len(judge.requests) >= 8
    # Two steps of one group each over a two-row dataset: the storm prompt's group carried the revision to the judge.
    assert any(revision in json.dumps(request) for request in judge.requests)


def test_replay_puts_the_memorys_best_revision_into_a_group(tiny_model_dir, tmp_path) -> None:
    from writer_r1.core.records import Experience, Reflection
    from writer_r1.memory.embeddings import LexicalEmbeddings
    from writer_r1.memory.experience import ExperienceMemory
    from writer_r1.rl.replay import ReplayRollout
    from writer_r1.rl.train import TrainConfig, grpo_trainer

    task = "Write a short poem about the sea without commas."
    revision = "The grey sea rocks the boats at dusk"
    memory = ExperienceMemory(str(tmp_path / "memory.sqlite"), embeddings=LexicalEmbeddings())
    memory.remember(
        Experience(
            task=task,
            reflection=Reflection(diagnosis="flat"),
            draft="sea",
            revision=revision,
            score_before=0.1,
            score_after=0.9,
            accepted=True,
        )
    )
    seen: list[tuple[str, bool]] = []

    def recording_reward(prompts, completions, replayed, **kwargs):
        seen.extend(
            (c if isinstance(c, str) else c[-1]["content"], r) for c, r in zip(completions, replayed, strict=True)
        )
        return [1.0 if r else 0.0 for r in replayed]

    recording_reward.__name__ = "recording"
    config = TrainConfig(
        model=str(tiny_model_dir),
        dataset=str(_grpo_rows(tmp_path / "grpo.jsonl")),
        reward={"type": "constraints"},
        trainer=_trainer_settings(tmp_path, per_device_train_batch_size=4, num_generations=4, max_completion_length=16),
    )
    rollout = ReplayRollout(memory, probability=1.0)
    trainer = grpo_trainer(config, reward=recording_reward, rollout_func=rollout)
    trainer.train()
    replayed = [text for text, flag in seen if flag]
    assert replayed and all(text.strip() == revision for text in replayed)
    assert rollout.replayed == len(replayed)
    assert len(seen) == 8 and sum(flag for _, flag in seen) < len(seen)


def test_a_replayed_member_gets_the_policys_log_probs_where_vllm_would_give_sampling_ones(
    tiny_model_dir, tmp_path
) -> None:
    import torch
    from writer_r1.core.records import Experience, Reflection
    from writer_r1.memory.embeddings import LexicalEmbeddings
    from writer_r1.memory.experience import ExperienceMemory
    from writer_r1.rl.replay import ReplayRollout, revision_ids
    from writer_r1.rl.train import TrainConfig, grpo_trainer

    task = "Write a short poem about the sea without commas."
    revision = "The grey sea rocks the boats"
    memory = ExperienceMemory(str(tmp_path / "memory.sqlite"), embeddings=LexicalEmbeddings())
    memory.remember(
        Experience(
            task=task,
            reflection=Reflection(diagnosis="flat"),
            draft="sea",
            revision=revision,
            score_before=0.1,
            score_after=0.9,
            accepted=True,
        )
    )
    config = TrainConfig(
        model=str(tiny_model_dir),
        dataset=str(_grpo_rows(tmp_path / "grpo.jsonl")),
        reward={"type": "constraints"},
        trainer=_trainer_settings(
            tmp_path, per_device_train_batch_size=4, num_generations=4, max_completion_length=16, temperature=0.7
        ),
    )
    trainer = grpo_trainer(config)
    original = trainer._generate_single_turn

    def like_vllm(*args, **kwargs):  # vLLM returns per-token sampling log-probs; here a recognisable stand-in
        completion_ids, _ = original(*args, **kwargs)
        return completion_ids, [[-9.0] * len(ids) for ids in completion_ids]

    trainer._generate_single_turn = like_vllm
    trainer.model.train()
    prompts = [[{"role": "user", "content": task}]] * 4
    output = ReplayRollout(memory, probability=1.0)(prompts, trainer)
    assert output["replayed"] == [False, False, False, True]
    ids = output["completion_ids"][3]
    assert (
        ids == revision_ids(trainer.processing_class, revision, 16) and ids[-1] == trainer.processing_class.eos_token_id
    )
    assert all(
        lp == [-9.0] * len(c) for lp, c in zip(output["logprobs"][:3], output["completion_ids"][:3], strict=True)
    )
    # The replayed member's log-probs are the policy's: log_softmax(logits / temperature) at each completion token.
    device = trainer.model.device
    sequence = torch.tensor([output["prompt_ids"][3] + ids], device=device)
    with torch.no_grad():
        logits = trainer.model(input_ids=sequence).logits[0, -len(ids) - 1 : -1] / 0.7
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    expected = log_probs.gather(-1, torch.tensor(ids, device=device).unsqueeze(-1)).squeeze(-1)
    shifted = log_probs[1:].gather(-1, torch.tensor(ids[:-1], device=device).unsqueeze(-1)).squeeze(-1)  # off by one
    replayed = torch.tensor(output["logprobs"][3], device=device)
    assert torch.allclose(replayed, expected, atol=2e-3)  # the trainer's fused head tiles differently
    assert not torch.allclose(replayed[:-1], shifted, atol=2e-3)
    trainer.model.eval()
    assert not any(ReplayRollout(memory, probability=1.0)(prompts, trainer)["replayed"])  # evaluation: policy only


def test_hf_spec_chats_with_a_local_model_on_the_available_device(tiny_model_dir) -> None:
    import torch
    from langchain_core.messages import HumanMessage
    from writer_r1.core.models import load_chat_model

    model = load_chat_model(f"hf:{tiny_model_dir}", max_new_tokens=8, temperature=0.0)
    replies = model.batch([[HumanMessage("Write about the sea.")], [HumanMessage("Describe a storm.")]])
    assert all(isinstance(reply.content, str) for reply in replies)
    _, loaded = model._load()
    assert loaded.device.type == ("cuda" if torch.cuda.is_available() else "cpu") == DEVICE
