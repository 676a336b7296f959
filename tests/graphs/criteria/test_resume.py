"""Durable runs: a criteria build killed mid-way resumes from its SQLite checkpoint without redoing finished work."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from writer_r1.graphs.criteria import abuild_criteria

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL")

TASK = "Write a short story about a lighthouse keeper"
SAMPLES = [
    "The keeper climbed the iron stairs at dusk. Salt crusted the window of the lamp room.",
    "He talked to the gulls as if they were old friends. The supply boat was three weeks late.",
    "At midnight the fog swallowed the beam. The keeper wound the clockwork by hand.",
    "Morning came grey. He wrote the log in a careful hand and slept until noon.",
]
LIMITS = {"min_samples": 4, "max_rounds": 0, "max_critique_rounds": 1}

# Runs the build in a child process whose model hangs (asynchronously, like a slow server) on the calls
# `hang_on` selects, so the parent can kill it at a known point.
CHILD = r"""
import asyncio, importlib.util, json, sys
from pathlib import Path

roles_path, database, hang_on = sys.argv[1], sys.argv[2], sys.argv[3]
spec = importlib.util.spec_from_file_location("criteria_roles", roles_path)
roles = importlib.util.module_from_spec(spec)
spec.loader.exec_module(roles)
from writer_r1.testing import ScriptedChatModel
from writer_r1.graphs.criteria import abuild_criteria

SAMPLES = json.loads(sys.argv[4])

class Hanging(ScriptedChatModel):
    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):
        prompt = "\n".join(m.content for m in messages)
        role = roles.role_of(prompt)
        if role == hang_on == "inducer" or (hang_on == "late-texts" and role == "coder" and any(s in prompt for s in SAMPLES[2:])):
            await asyncio.sleep(600)
        return await super()._agenerate(messages, stop, run_manager, **kwargs)

model = Hanging(default=roles.RoleScript())
asyncio.run(abuild_criteria(sys.argv[5], model=model, samples=SAMPLES, checkpointer=database, thread_id="t1",
                            min_samples=4, max_rounds=0, max_critique_rounds=1))
"""


def _wait_for(condition, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the child exited early: {process.stderr.read() if process.stderr else ''}"
        assert time.monotonic() < deadline, "timed out waiting for the child"
        time.sleep(0.05)


def _query(database: Path, sql: str) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
        try:
            return int(connection.execute(sql).fetchone()[0] or 0)
        except sqlite3.OperationalError:  # tables not created yet
            return 0


def _run_child_until(tmp_path: Path, hang_on: str, condition_sql: str, expected: int) -> Path:
    import json

    database = tmp_path / "runs.sqlite"
    roles = Path(__file__).with_name("conftest.py")
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(roles), str(database), hang_on, json.dumps(SAMPLES), TASK],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: _query(database, condition_sql) >= expected, process)
        time.sleep(0.3)  # let the child finish committing what it was writing; what it has not committed is fair game
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    return database


async def test_killed_during_induction_resumes_without_recoding(tmp_path: Path, make_scripted) -> None:
    # The induce step has started once the checkpoint after the coding superstep (holding every code) exists.
    database = _run_child_until(
        tmp_path, "inducer", "SELECT COUNT(*) FROM checkpoints WHERE thread_id = 't1'", expected=3
    )
    model, script = make_scripted()
    criteria = await abuild_criteria(
        TASK, model=model, samples=SAMPLES, checkpointer=str(database), thread_id="t1", **LIMITS
    )
    assert script.counts["writer"] == script.counts["coder"] == script.counts["requirements"] == 0
    assert script.counts["inducer"] == 1 and script.counts["critic"] == 1
    assert criteria.provenance.codes == 4 and criteria.provenance.samples == 4


async def test_killed_mid_fan_out_recodes_only_unfinished_texts(tmp_path: Path, make_scripted) -> None:
    # Two coder branches (texts 0 and 1) and the task's requirements finish; texts 2 and 3 hang.
    database = _run_child_until(
        tmp_path,
        "late-texts",
        "SELECT COUNT(DISTINCT task_id) FROM writes WHERE thread_id = 't1' AND channel = 'tallies'",
        expected=3,
    )
    model, script = make_scripted()
    criteria = await abuild_criteria(
        TASK, model=model, samples=SAMPLES, checkpointer=str(database), thread_id="t1", **LIMITS
    )
    coded = sorted(
        next(i for i, sample in enumerate(SAMPLES) if sample in prompt) for prompt in script.prompts["coder"]
    )
    assert coded == [2, 3]
    assert script.counts["requirements"] == 0 and script.counts["writer"] == 0
    assert criteria.provenance.codes == 4


async def test_a_finished_thread_returns_its_result_and_state_round_trips(
    tmp_path: Path, make_scripted, caplog
) -> None:
    database = str(tmp_path / "done.sqlite")
    model, script = make_scripted()
    caplog.set_level(logging.WARNING)
    first = await abuild_criteria(TASK, model=model, samples=SAMPLES, checkpointer=database, thread_id="done", **LIMITS)
    calls = sum(script.counts.values())
    again = await abuild_criteria(TASK, model=model, samples=SAMPLES, checkpointer=database, thread_id="done", **LIMITS)
    assert again == first and sum(script.counts.values()) == calls

    assert not [r for r in caplog.records if "unregistered type" in r.getMessage() or "Blocked" in r.getMessage()]


STRICT_CHILD = r"""
import asyncio, sys
from writer_r1.graphs.criteria import abuild_criteria, build_graph
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

async def main():
    await abuild_criteria(sys.argv[2], model="fake", checkpointer=sys.argv[1], thread_id="s", max_rounds=1, max_critique_rounds=1)
    async with AsyncSqliteSaver.from_conn_string(sys.argv[1]) as saver:  # LangGraph's own serde, strict mode
        snapshot = await build_graph(checkpointer=saver).aget_state({"configurable": {"thread_id": "s"}})
    print(type(snapshot.values["criteria"]).__name__, {type(code).__name__ for code in snapshot.values["codes"]})

asyncio.run(main())
"""


def test_state_restores_in_langgraphs_strict_msgpack_mode(tmp_path: Path) -> None:
    env = {**os.environ, "LANGGRAPH_STRICT_MSGPACK": "true"}
    result = subprocess.run(
        [sys.executable, "-c", STRICT_CHILD, str(tmp_path / "strict.sqlite"), TASK],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "CriteriaSet {'Code'}"
    assert "Blocked" not in result.stderr
