"""Shared fixtures: the loopback OpenAI-compatible server, scripted models, the shared data folder."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("LANGSMITH_TRACING", "false")
# The criteria library and memory default to ~/.cache/writer-r1; tests keep theirs in a throwaway folder.
os.environ["WRITER_R1_HOME"] = tempfile.mkdtemp(prefix="writer-r1-tests-")
for _variable in ("WRITER_R1_MODEL", "WRITER_R1_BASE_URL", "WRITER_R1_API_KEY", "OPENAI_BASE_URL"):
    os.environ.pop(_variable, None)

from writer_r1.testing import FaultPlan, OpenAICompatServer  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT.parent / "shared" / "data").resolve()
TEST_DATA = Path(__file__).resolve().parent / "data"
"""Third-party data shipped with the tests (small, licences beside it): see tests/data/README.md."""


@pytest.fixture
def test_data() -> Path:
    """`tests/data`: IFEval, WritingBench and HelloBench files that every clone has."""
    return TEST_DATA


@pytest.fixture
def shared_data() -> Path:
    """`../shared/data` beside the checkout; tests that need it skip when it is absent (a user's clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def loopback() -> Iterator[OpenAICompatServer]:
    """A loopback OpenAI-compatible server answering like the `fake` model, no latency."""
    with OpenAICompatServer() as server:
        yield server


@pytest.fixture
def make_loopback() -> Iterator:
    """Factory for loopback servers with custom latency, capacity, faults or responder."""
    servers: list[OpenAICompatServer] = []

    def factory(**kwargs) -> OpenAICompatServer:
        server = OpenAICompatServer(**kwargs).start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl, unprivileged, free port) for the whole session.

    Skips only where this machine has no server binaries or the `[postgres]` extra is not installed.
    """
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("the [postgres] extra is not installed: pip install -e '.[postgres]'")
    from writer_r1.testing.postgres import PostgresCluster, server_binaries

    if server_binaries() is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine: apt-get install postgresql")
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster) -> str:
    """The URL of a fresh, empty database in the session's PostgreSQL cluster."""
    return postgres_cluster.create_database()


__all__ = ["FaultPlan", "REPO_ROOT", "SHARED_DATA", "TEST_DATA"]
