"""LangChain's standard chat-model suite (`langchain-tests`) on `ReflectiveChatModel` around a `ChatOpenAI`.

The base model talks to the loopback OpenAI-compatible server (answers like the `fake` model), so every
standard call goes through a real HTTP client, several event loops included. Features the wrapper does not
offer are turned off: tool calling (tools bypass reflection: `bind_tools` returns the base model),
structured output (it raises, see `test_reflective_model.py`), multimodal inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_openai import ChatOpenAI

pytest.importorskip("langchain_tests", reason="langchain-tests is not installed (pip install -e '.[dev]')")
from langchain_tests.integration_tests import ChatModelIntegrationTests  # noqa: E402
from langchain_tests.unit_tests import ChatModelUnitTests  # noqa: E402
from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level  # noqa: E402
from writer_r1.graphs.reflective_model import ReflectiveChatModel  # noqa: E402
from writer_r1.testing import OpenAICompatServer  # noqa: E402

CRITERIA = CriteriaSet(
    task="a reply",
    dimensions=[
        Dimension(
            name="Craft",
            criteria=[
                Criterion(
                    id="clarity",
                    name="Clarity",
                    description="Easy to follow",
                    levels=[Level(anchor="muddled"), Level(anchor="clear"), Level(anchor="crystal clear")],
                )
            ],
        )
    ],
)

_SERVER: dict[str, OpenAICompatServer] = {}


@pytest.fixture(scope="module", autouse=True)
def _loopback_server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as server:
        _SERVER["server"] = server
        yield server
    _SERVER.clear()


def _params() -> dict[str, Any]:
    # Before the module fixture runs (collection) a dead URL stands in: nothing is sent at construction.
    server = _SERVER.get("server")
    base_url = server.base_url if server else "http://127.0.0.1:9/v1"
    base = ChatOpenAI(model="loopback-model", base_url=base_url, api_key="EMPTY")
    return {"base": base, "criteria": CRITERIA, "constraints": [], "max_iterations": 1}


class _Features:
    @property
    def chat_model_class(self) -> type[ReflectiveChatModel]:
        return ReflectiveChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return _params()

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def supports_anthropic_inputs(self) -> bool:
        return False


class TestReflectiveChatModelUnit(_Features, ChatModelUnitTests):
    pass


class TestReflectiveChatModelIntegration(_Features, ChatModelIntegrationTests):
    pass
