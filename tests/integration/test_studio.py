"""LangGraph Studio's server: `langgraph dev` loads our graphs from langgraph.json and runs the criteria graph
through the SDK against a loopback OpenAI-compatible server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from writer_r1.core.criteria import CriteriaSet

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
LANGGRAPH = shutil.which("langgraph") or str(Path(sys.executable).with_name("langgraph"))


def _free_port() -> int:
    # `langgraph dev` cannot bind port 0; ask the OS for a free port and hand it over.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


@pytest.fixture(scope="module")
def studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(LANGGRAPH).is_file():
        pytest.skip("the langgraph CLI is not installed (pip install -e '.[studio]')")
    pytest.importorskip("langgraph_sdk")
    pytest.importorskip("langgraph_api")
    work = tmp_path_factory.mktemp("studio")
    config = REPO_ROOT / "langgraph.json"
    port = _free_port()
    log = work / "server.log"
    env = {
        **os.environ,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "OMP_NUM_THREADS": "1",
    }
    command = [LANGGRAPH, "dev", "--port", str(port), "--no-browser", "--no-reload", "--config", str(config)]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            assert process.poll() is None, f"langgraph dev exited:\n{_log_tail(log)}"
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"langgraph dev did not answer /ok:\n{_log_tail(log)}"
            time.sleep(0.25)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_both_graphs_are_served(studio_server: str) -> None:
    from langgraph_sdk import get_client

    async def graph_ids() -> set[str]:
        assistants = await get_client(url=studio_server).assistants.search(limit=20)
        return {assistant["graph_id"] for assistant in assistants}

    assert {"criteria", "reflection"} <= asyncio.run(graph_ids())


def test_criteria_graph_runs_through_the_sdk_against_a_loopback_server(studio_server: str, loopback) -> None:
    from langgraph_sdk import get_client

    async def run() -> dict:
        client = get_client(url=studio_server)
        assistant = (await client.assistants.search(graph_id="criteria", limit=1))[0]
        schemas = await client.assistants.get_schemas(assistant["assistant_id"])
        assert "max_rounds" in schemas["context_schema"]["properties"]
        return await client.runs.wait(
            None,
            "criteria",
            input={
                "task": "Write a short story about a lighthouse keeper",
                "samples": ["The keeper climbed the iron stairs at dusk."],
            },
            context={
                "model": "openai:loopback-model",
                "base_url": loopback.base_url,
                "max_rounds": 1,
                "max_critique_rounds": 1,
                "min_samples": 2,
            },
        )

    output = asyncio.run(run())
    criteria = CriteriaSet.model_validate(output["criteria"])
    assert criteria.task == "Write a short story about a lighthouse keeper"
    assert criteria.provenance.model == "openai:loopback-model" and criteria.provenance.samples >= 2
    assert len(loopback.requests) >= 5  # writer, coders, inducer, critic at least


def test_reflection_graph_runs_through_the_sdk_against_a_loopback_server(studio_server: str, loopback) -> None:
    from langgraph_sdk import get_client

    async def run() -> dict:
        client = get_client(url=studio_server)
        assistant = (await client.assistants.search(graph_id="reflection", limit=1))[0]
        schemas = await client.assistants.get_schemas(assistant["assistant_id"])
        assert {"max_iterations", "target_score", "patience", "min_gain"} <= set(
            schemas["context_schema"]["properties"]
        )
        return await client.runs.wait(
            None,
            "reflection",
            input={"task": "Write a four-line poem about the sea", "draft": "The sea is big.\nIt is blue."},
            context={"model": "openai:loopback-model", "base_url": loopback.base_url, "max_iterations": 1},
        )

    output = asyncio.run(run())
    assert output["best_draft"]
    assert output["stop_reason"]
    assert 1 <= len(output["history"]) <= 2
    assert any("response_format" in request for request in loopback.requests)


def test_the_store_has_the_semantic_index_that_langgraph_json_declares(studio_server: str) -> None:
    # Recall under `langgraph dev` goes through the platform's store: it must score by meaning.
    from langgraph_sdk import get_client

    # A namespace of its own: the graph runs above store their experiences in the shared server's store too.
    namespace = ["writer_r1_test", "index_check"]

    async def run() -> list[dict]:
        client = get_client(url=studio_server)
        await client.store.put_item(namespace, "ghost", {"recall_text": "A ghost story set in a lighthouse"})
        await client.store.put_item(namespace, "tax", {"recall_text": "A quarterly tax checklist for freelancers"})
        found = await client.store.search_items(namespace, query="A ghost story set in a lighthouse", limit=2)
        return found["items"]

    items = asyncio.run(run())
    assert [item["key"] for item in items] == ["ghost", "tax"]
    assert items[0]["score"] == pytest.approx(1.0, abs=1e-4) and items[1]["score"] < 0.5
