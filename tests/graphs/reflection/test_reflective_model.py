"""ReflectiveChatModel: sync, async and streaming answers are the loop's best draft, and nothing inner leaks."""

from __future__ import annotations

import functools
import operator
from typing import Annotated, TypedDict

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langchain_core.tools import tool
from langgraph.graph import START, StateGraph
from writer_r1.graphs.reflective_model import ReflectiveChatModel, conversation_task


def scripted(roles, **kwargs):
    return roles(
        draft="«D0» first draft of the answer",
        revisions=["«R1» the improved answer, chosen", "«R2» a worse answer"],
        levels={"D0": {"imagery": 2, "pace": 2}, "R1": {"imagery": 4, "pace": 3}, "R2": {"imagery": 1, "pace": 1}},
        **kwargs,
    )


def wrapper(script, criteria, **kwargs):
    return ReflectiveChatModel(base=script.model(), criteria=criteria, max_iterations=2, target_score=0.99, **kwargs)


async def test_async_answer_is_the_best_draft_with_scores_in_metadata(roles, criteria) -> None:
    script = scripted(roles)
    reply = await wrapper(script, criteria).ainvoke([HumanMessage("Write a lighthouse story")])
    assert reply.content == "«R1» the improved answer, chosen"
    meta = reply.response_metadata
    assert meta["overall"] == pytest.approx((3 * 0.75 + 0.5) / 4)
    assert meta["dimensions"] == {"Craft": pytest.approx(meta["overall"])}
    assert meta["iterations"] == 2 and meta["stop_reason"] == "max_iterations"
    assert script.prompts["draft"][0].endswith("Write a lighthouse story")  # the base model saw the conversation


def test_sync_invoke_and_sync_stream(roles, criteria) -> None:
    model = wrapper(scripted(roles), criteria)
    assert model.invoke("Write a lighthouse story").content == "«R1» the improved answer, chosen"
    chunks = list(wrapper(scripted(roles), criteria).stream("Write a lighthouse story"))
    assert "".join(c.content for c in chunks) == "«R1» the improved answer, chosen" and len(chunks) > 1
    whole = functools.reduce(operator.add, chunks)
    assert whole.response_metadata["stop_reason"] == "max_iterations" and whole.response_metadata["overall"] > 0.5


async def test_a_separate_judge_model_judges(roles, criteria) -> None:
    writer_script = scripted(roles)
    judge_script = scripted(roles)
    model = wrapper(writer_script, criteria, judge=judge_script.model())
    reply = await model.ainvoke("Write a lighthouse story")
    assert reply.content.startswith("«R1»")
    assert "judge" not in writer_script.prompts and len(judge_script.prompts["judge"]) == 3


async def test_inside_a_langgraph_graph_only_the_answer_streams(roles, criteria) -> None:
    script = scripted(roles)
    model = wrapper(script, criteria)

    class State(TypedDict):
        messages: Annotated[list[AnyMessage], operator.add]

    async def answer(state: State) -> dict:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(State)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    graph = builder.compile()

    streamed = []
    async for message, metadata in graph.astream(
        {"messages": [HumanMessage("Write a lighthouse story")]}, stream_mode="messages"
    ):
        streamed.append((message, metadata))
    texts = [m.content for m, _ in streamed]
    assert "".join(texts) == "«R1» the improved answer, chosen"
    assert len(streamed) > 1 and all(meta["langgraph_node"] == "answer" for _, meta in streamed)
    joined = "".join(texts)
    assert "«D0»" not in joined and "«R2»" not in joined and "reason" not in joined and "diagnosis" not in joined
    # the inner calls did happen
    assert {"draft", "judge", "reflector", "revise"} <= set(script.prompts)


def test_bind_tools_delegates_to_the_base_model(roles, criteria) -> None:
    from langchain_openai import ChatOpenAI

    @tool
    def lookup(query: str) -> str:
        """Look something up."""
        return query

    base = ChatOpenAI(model="m", base_url="http://127.0.0.1:9/v1", api_key="x")
    bound = ReflectiveChatModel(base=base, criteria=criteria).bind_tools([lookup])
    assert bound.bound is base and bound.kwargs["tools"][0]["function"]["name"] == "lookup"


def test_conversation_task_keeps_the_whole_conversation() -> None:
    task = conversation_task(
        [SystemMessage("Be brief."), HumanMessage("A poem"), AIMessage("Rain."), HumanMessage("Longer")]
    )
    assert task.splitlines()[:4] == ["System: Be brief.", "User: A poem", "Assistant: Rain.", "User: Longer"]
