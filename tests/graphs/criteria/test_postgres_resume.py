"""A criteria build killed mid-way resumes from its PostgreSQL checkpoint without redoing finished work."""

from __future__ import annotations

import json
import os
import signal
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

# The child builds with a model that hangs (asynchronously, like a slow server) at the inducer, so the parent
# can kill it once every text is coded and checkpointed.
CHILD = r"""
import asyncio, importlib.util, json, sys

roles_path, url, samples, task = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
spec = importlib.util.spec_from_file_location("criteria_roles", roles_path)
roles = importlib.util.module_from_spec(spec)
spec.loader.exec_module(roles)
from writer_r1.testing import ScriptedChatModel
from writer_r1.graphs.criteria import abuild_criteria

class Hanging(ScriptedChatModel):
    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):
        if roles.role_of("\n".join(m.content for m in messages)) == "inducer":
            await asyncio.sleep(600)
        return await super()._agenerate(messages, stop, run_manager, **kwargs)

asyncio.run(abuild_criteria(task, model=Hanging(default=roles.RoleScript()), samples=samples, checkpointer=url,
                            thread_id="t1", min_samples=4, max_rounds=0, max_critique_rounds=1))
"""


def _checkpoints(url: str) -> int:
    import psycopg

    try:
        with psycopg.connect(url) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = 't1'").fetchone()[0])
    except psycopg.errors.UndefinedTable:
        return 0


async def test_postgres_killed_criteria_build_resumes_without_recoding(postgres_url: str, make_scripted) -> None:
    roles = Path(__file__).with_name("conftest.py")
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(roles), postgres_url, json.dumps(SAMPLES), TASK],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        # The induce step has started once the checkpoint after the coding superstep (holding every code) exists.
        while _checkpoints(postgres_url) < 3:
            assert process.poll() is None, f"the child exited early: {process.stderr.read() if process.stderr else ''}"
            assert time.monotonic() < deadline, "timed out waiting for the child's checkpoints"
            time.sleep(0.1)
        time.sleep(0.3)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    model, script = make_scripted()
    criteria = await abuild_criteria(
        TASK, model=model, samples=SAMPLES, checkpointer=postgres_url, thread_id="t1", **LIMITS
    )
    assert script.counts["writer"] == script.counts["coder"] == script.counts["requirements"] == 0
    assert script.counts["inducer"] == 1 and script.counts["critic"] == 1
    assert criteria.provenance.codes == 4 and criteria.provenance.samples == 4
