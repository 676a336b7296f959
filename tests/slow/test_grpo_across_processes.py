"""GRPO across two CPU processes (`torchrun --nproc_per_node 2`, gloo) with `MixedReward`.

Each process scores its own slice of the generation batch, so RLMR is only right when every group lies whole in
one process. The ranks run `grpo_two_processes.py`; here we check what each rank's reward function saw: whole
groups, RLMR's guarantee within each process's batch, a judge cache shared by both processes that holds exactly
the verdicts they used, an experience memory both replayed from unchanged, and the misconfiguration refused.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from writer_r1.core.criteria import CriteriaSet

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
CRITERIA = CriteriaSet.model_validate(
    {
        "dimensions": [
            {
                "name": "Wonder",
                "criteria": [
                    {
                        "id": "fantasy",
                        "name": "Fantasy vocabulary",
                        "description": "How much of the text is fantasy words",
                        "levels": [{"anchor": f"{10 * i} %"} for i in range(11)],
                    }
                ],
            }
        ],
    }
)
# Replayed revisions: compliant (they hold "river"), so every group has a compliant member to rank violators
# against, and short enough to fit max_completion_length (12 tokens) whole.
TASKS = {"Tell a tale.": "Magic river.", "Describe a storm.": "The river storm."}


def _world(tmp_path: Path) -> tuple[Path, Path]:
    from writer_r1.core.records import Experience, Reflection
    from writer_r1.memory.embeddings import LexicalEmbeddings
    from writer_r1.memory.experience import ExperienceMemory

    river = json.dumps([{"id": "keywords:existence", "kwargs": {"keywords": ["river"]}}])
    rows = [
        {"prompt": [{"role": "user", "content": task}], "criteria": CRITERIA.model_dump_json(), "constraints": river}
        for task in TASKS
        for _ in range(8)
    ]
    data = tmp_path / "grpo.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    memory_path = tmp_path / "memory.sqlite"
    with ExperienceMemory(str(memory_path), embeddings=LexicalEmbeddings()) as memory:
        for task, revision in TASKS.items():
            memory.remember(
                Experience(
                    task=task,
                    reflection=Reflection(diagnosis="flat"),
                    draft="draft",
                    revision=revision,
                    score_before=0.1,
                    score_after=0.9,
                    accepted=True,
                )
            )
    return data, memory_path


def _groups(batch: dict, size: int) -> list[range]:
    return [range(start, start + size) for start in range(0, len(batch["texts"]), size)]


def test_two_processes_score_whole_groups_with_rlmr_and_share_judge_cache_and_memory(
    tiny_model_dir, make_loopback, tmp_path
) -> None:
    pytest.importorskip("trl")
    from writer_r1.agents.judge_cache import SqliteJudgeCache
    from writer_r1.memory.embeddings import LexicalEmbeddings
    from writer_r1.memory.experience import ExperienceMemory
    from writer_r1.rl.rewards import CriteriaReward
    from writer_r1.testing.scoring_judge import FANTASY_WORDS, LexicalShare, scoring_rule_responder

    rule = LexicalShare(FANTASY_WORDS)
    judge = make_loopback(responder=scoring_rule_responder(rule))
    data, memory_path = _world(tmp_path)
    cache = tmp_path / "judge-cache.sqlite"
    out = tmp_path / "ranks"
    out.mkdir()
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(HERE / "grpo_two_processes.py"),
        "--model",
        str(tiny_model_dir),
        "--data",
        str(data),
        "--judge-url",
        judge.base_url,
        "--cache",
        str(cache),
        "--memory",
        str(memory_path),
        "--out",
        str(out),
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    ranks = [json.loads((out / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    violators = 0

    for rank in ranks:
        assert rank["processes"] == 2 and rank["backend"] == "gloo" and rank["steps"] == 2
        # The misconfiguration (6 completions per process, groups of 4) was refused before training, clearly.
        assert rank["refused"] and "groups would be split across processes" in rank["refused"]
        assert len(rank["batches"]) == 2  # one generation batch per step
        for batch in rank["batches"]:
            assert len(batch["texts"]) == 8  # this process's slice: two groups of num_generations=4
            for group in _groups(batch, 4):
                tasks = {batch["tasks"][i] for i in group}
                assert len(tasks) == 1  # a group lies whole in this process: one prompt, four completions
                task = tasks.pop()
                # MRPO replay from the shared memory: the last slot is the memory's revision for this very task.
                assert [batch["replayed"][i] for i in group] == [False, False, False, True]
                assert batch["texts"][group[-1]].strip() == TASKS[task]
                # RLMR's guarantee within this process's batch: every violator below its group's mean reward.
                assert batch["passed"][group[-1]]
                rewards = [batch["rewards"][i] for i in group]
                mean = statistics.fmean(r for r in rewards if r is not None)
                for i in group:
                    if not batch["passed"][i]:
                        assert batch["rewards"][i] < mean
                    else:
                        assert batch["rewards"][i] == batch["quality"][i]  # compliant members keep their quality
                violators += sum(not batch["passed"][i] for i in group)
                # The judge's quality is the scoring rule's, on the criterion's 11 levels.
                for i in group:
                    assert batch["quality"][i] == pytest.approx(round(rule(batch["texts"][i]) * 10) / 10)

    assert violators  # the guarantee was exercised (the random policy rarely writes "river")
    # The two processes saw different completions (they split the generation batch, they did not duplicate it).
    seen = [
        {(t, x) for batch in rank["batches"] for t, x in zip(batch["tasks"], batch["texts"], strict=True)}
        for rank in ranks
    ]
    assert seen[0] != seen[1]
    # One shared SQLite judge cache: both processes wrote into it, and it holds each judged text's verdict. A fresh
    # reader with the judge gone (the server is stopped) scores every text from the cache, identically.
    judged = seen[0] | seen[1]
    assert len(SqliteJudgeCache(cache)) == len(judged)
    judge.stop()
    reader = CriteriaReward("openai:loopback-model", base_url=judge.base_url, cache=str(cache), retries=0)
    pairs = sorted(judged)
    again = reader.score(
        [[{"role": "user", "content": t}] for t, _ in pairs],
        [x for _, x in pairs],
        criteria=[CRITERIA.model_dump_json()] * len(pairs),
    )
    used = {
        (t, x): q
        for rank in ranks
        for batch in rank["batches"]
        for t, x, q in zip(batch["tasks"], batch["texts"], batch["quality"], strict=True)
    }
    assert again == [used[pair] for pair in pairs]
    # The experience memory both processes replayed from is intact and unchanged.
    with ExperienceMemory(str(memory_path), embeddings=LexicalEmbeddings()) as memory:
        assert len(memory) == len(TASKS)
        assert {task: memory.best_revision(task).revision for task in TASKS} == TASKS
