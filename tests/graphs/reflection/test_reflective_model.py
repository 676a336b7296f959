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


# --- around a ChatOpenAI on the loopback server: loops, callbacks, budgets ----------------------------


def loopback_wrapper(server, criteria, **kwargs):
    from langchain_openai import ChatOpenAI

    base = ChatOpenAI(model="loopback-model", base_url=server.base_url, api_key="EMPTY")
    return ReflectiveChatModel(base=base, judge=base, criteria=criteria, constraints=[], **kwargs)


def test_repeated_use_from_several_event_loops(loopback, criteria) -> None:
    import asyncio

    model = loopback_wrapper(loopback, criteria, max_iterations=1)
    assert model.invoke("Write a toast").content
    assert model.invoke("Write a toast").content  # a second asyncio.run inside: the pooled connection is per loop
    assert "".join(c.content for c in model.stream("Write a toast"))
    for _ in range(2):
        assert asyncio.run(model.ainvoke("Write a toast")).response_metadata["stop_reason"] in {
            "max_iterations",
            "target_reached",
        }
    assert [r.content for r in model.batch(["Write a toast", "Write a poem"])][0]

    async def both() -> list:
        return await model.abatch(["Write a toast", "Write a poem"])

    assert len(asyncio.run(both())) == 2


def test_structured_output_is_a_clear_error(loopback, criteria) -> None:
    with pytest.raises(NotImplementedError, match="with_structured_output on the base model"):
        loopback_wrapper(loopback, criteria).with_structured_output({"type": "object"})


def test_langsmith_params_name_the_base_model(loopback, criteria) -> None:
    params = loopback_wrapper(loopback, criteria, stop=["END"])._get_ls_params()
    assert params["ls_model_name"] == "loopback-model" and params["ls_stop"] == ["END"]
    assert params["ls_model_type"] == "chat"


def test_inner_calls_are_child_runs_tagged_nostream(loopback, criteria) -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    class Recorder(BaseCallbackHandler):
        def __init__(self) -> None:
            self.parents: dict = {}
            self.chat: list = []

        def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, **kwargs) -> None:
            self.parents[run_id] = parent_run_id

        def on_chat_model_start(self, serialized, messages, *, run_id, parent_run_id=None, tags=None, **kwargs) -> None:
            self.parents[run_id] = parent_run_id
            self.chat.append((run_id, parent_run_id, tags or []))

    recorder = Recorder()
    # target 1.0: the loop must reflect and revise once, whatever the first verdict
    loopback_wrapper(loopback, criteria, max_iterations=1, target_score=1.0).invoke(
        "Write a toast", config={"callbacks": [recorder]}
    )
    outer = [run for run, parent, _ in recorder.chat if parent is None]
    assert len(outer) == 1
    inner = [(run, tags) for run, parent, tags in recorder.chat if parent is not None]
    assert len(inner) >= 3  # draft, judge, reflector, revision, judge
    for run, tags in inner:
        assert "nostream" in tags
        while recorder.parents.get(run) is not None:
            run = recorder.parents[run]
        assert run == outer[0]  # every inner call nests under the wrapper's run


def test_usage_is_summed_over_every_inner_call(make_loopback, criteria) -> None:
    from writer_r1.testing import fake_responder

    replies: list[str] = []

    def recording(request):
        replies.append(fake_responder(request))
        return replies[-1]

    server = make_loopback(responder=recording)
    reply = loopback_wrapper(server, criteria, max_iterations=1, target_score=1.0).invoke("Write a toast")
    assert len(replies) >= 4
    assert reply.usage_metadata["output_tokens"] == sum(len(text.split()) for text in replies)


def test_deadline_returns_the_best_draft_so_far(make_loopback, criteria) -> None:
    import time

    server = make_loopback(latency_s=0.3)
    model = loopback_wrapper(server, criteria, max_iterations=5, target_score=1.0, timeout=1.0)
    started = time.monotonic()
    reply = model.invoke("Write a toast")
    assert time.monotonic() - started < 2.0
    assert reply.response_metadata["stop_reason"] == "deadline"
    assert reply.content  # the first draft, judged or not


def test_token_budget_returns_the_best_draft_so_far(make_loopback, criteria) -> None:
    unbounded = make_loopback()
    loopback_wrapper(unbounded, criteria, max_iterations=3, target_score=1.0, patience=3).invoke("Write a toast")
    bounded = make_loopback()
    reply = loopback_wrapper(bounded, criteria, max_iterations=3, target_score=1.0, patience=3, token_budget=1).invoke(
        "Write a toast"
    )
    assert reply.response_metadata["stop_reason"] == "token_budget" and reply.content
    assert reply.usage_metadata["total_tokens"] >= 1
    assert len(bounded.requests) < len(unbounded.requests)


def test_never_building_criteria_uses_the_library_or_answers_unreflected(loopback, criteria, tmp_path) -> None:
    from writer_r1.memory.library import CriteriaLibrary

    path = str(tmp_path / "library.sqlite")
    model = ReflectiveChatModel(
        base=loopback_wrapper(loopback, criteria).base, build_criteria=False, criteria_library=path, constraints=[]
    )
    reply = model.invoke("Write a short story about a lighthouse")
    assert reply.response_metadata["stop_reason"] == "no_criteria" and len(loopback.requests) == 1
    CriteriaLibrary(path).put(criteria.model_copy(update={"task": "Write a short story about a lighthouse"}))
    reply = model.invoke("Write a short story about a lighthouse")
    assert reply.response_metadata["stop_reason"] != "no_criteria" and reply.response_metadata["overall"] is not None


def test_stop_sequences_end_the_answer(roles, criteria) -> None:
    reply = wrapper(scripted(roles), criteria).invoke("Write a lighthouse story", stop=["improved"])
    assert reply.content == "«R1» the "


def test_named_messages_and_multi_turn_reach_the_task() -> None:
    task = conversation_task([HumanMessage("A poem", name="ana"), AIMessage("Rain."), HumanMessage("Longer")])
    assert task.startswith("User (ana): A poem\nAssistant: Rain.\nUser: Longer")


def test_empty_conversation_is_an_error(roles, criteria) -> None:
    from writer_r1.core.errors import UserError

    with pytest.raises(UserError, match="no text"):
        wrapper(scripted(roles), criteria).invoke([HumanMessage("   ")])


def test_a_spec_built_model_is_judged_where_callbacks_and_usage_see_it(make_loopback, criteria) -> None:
    # `load_chat_model("openai:...")` is judged over a direct transport elsewhere; inside the wrapper the judge's
    # calls must count in the summed usage (the token budget) like every other inner call.
    from writer_r1.core.models import load_chat_model
    from writer_r1.testing import fake_responder

    replies: list[str] = []

    def recording(request):
        replies.append(fake_responder(request))
        return replies[-1]

    server = make_loopback(responder=recording)
    base = load_chat_model("openai:loopback-model", base_url=server.base_url)
    wrapper = ReflectiveChatModel(base=base, criteria=criteria, constraints=[], max_iterations=1, target_score=1.0)
    reply = wrapper.invoke("Write a toast")
    judged = [r for r in server.requests if "response_format" in r]
    assert judged, "the judge's calls reached the server"
    assert reply.usage_metadata["output_tokens"] == sum(len(text.split()) for text in replies)
    assert base.direct_judge  # the caller's model is untouched
