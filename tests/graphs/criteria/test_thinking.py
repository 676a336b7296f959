"""Per-role thinking reaches the request body of an OpenAI-compatible server (`chat_template_kwargs`)."""

from __future__ import annotations

import pytest
from writer_r1.core.errors import UserError
from writer_r1.core.fake import FakeChatModel
from writer_r1.core.openai_compat import make_openai_chat
from writer_r1.core.thinking import with_thinking
from writer_r1.graphs.context import CriteriaContext, model_for
from writer_r1.graphs.criteria import abuild_criteria
from writer_r1.testing import OpenAICompatServer

ROLE_OPENINGS = {
    "writer": "You are a skilled writer.",
    "coder": "You are a qualitative researcher",
    "inducer": "You build criteria for judging writing",
    "critic": "You review a draft set of criteria",
    "judge": "You are a careful writing judge",
}


def _role(request: dict) -> str | None:
    first = str(request["messages"][0]["content"])
    return next((role for role, opening in ROLE_OPENINGS.items() if first.startswith(opening)), None)


async def test_each_role_sends_its_own_enable_thinking() -> None:
    thinking = {"inducer": True, "critic": True, "judge": False}
    with OpenAICompatServer() as server:
        await abuild_criteria(
            "Write a short story about a lighthouse keeper",
            model="openai:loopback-model",
            base_url=server.base_url,
            samples=["The keeper climbed the stairs. Salt crusted the glass.", "Fog. The beam. He waited."],
            min_samples=2,
            max_rounds=0,
            max_critique_rounds=1,
            thinking=thinking,
        )
        seen: dict[str, set] = {}
        for request in server.requests:
            role = _role(request)
            if role is not None:
                value = (request.get("chat_template_kwargs") or {}).get("enable_thinking")
                seen.setdefault(role, set()).add(value)
    assert seen["inducer"] == {True} and seen["critic"] == {True}
    assert seen["coder"] == {None}  # a role not named keeps the model's default: nothing is sent


def test_other_body_keys_are_kept_and_the_role_model_is_built_once() -> None:
    chat = make_openai_chat("m", base_url="http://127.0.0.1:9/v1", extra_body={"top_k": 20})
    assert with_thinking(chat, True).extra_body == {"top_k": 20, "chat_template_kwargs": {"enable_thinking": True}}
    assert chat.extra_body == {"top_k": 20}  # the original is untouched
    context = CriteriaContext(model=chat, thinking={"judge": False})
    assert model_for(context, "judge") is model_for(context, "judge") is not chat
    assert model_for(context, "coder") is chat


def test_a_model_without_a_switch_is_returned_unchanged_and_unknown_roles_are_errors() -> None:
    fake = FakeChatModel()
    assert with_thinking(fake, True) is fake
    with pytest.raises(ValueError, match="unknown roles"):
        CriteriaContext(thinking={"narrator": True})
    from writer_r1.graphs.criteria import criteria_context

    with pytest.raises(UserError, match="unknown roles"):
        criteria_context("fake", thinking={"narrator": True})


def test_an_in_process_hf_model_gets_the_template_switch_without_loading() -> None:
    from writer_r1.core.hf_backend import HuggingFaceChatModel

    model = HuggingFaceChatModel(model_id="Qwen/Qwen3-0.6B")  # nothing is loaded
    thinking = with_thinking(model, True)
    assert isinstance(thinking, HuggingFaceChatModel) and thinking.enable_thinking is True
    assert model.enable_thinking is False


async def test_the_judge_direct_transport_and_the_writer_carry_their_switch_in_a_reflection_run() -> None:
    from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
    from writer_r1.graphs.reflection import areflect

    criteria = CriteriaSet(task="a haiku", dimensions=[Dimension(name="Craft", criteria=[Criterion(
        id="imagery", name="Imagery", description="Concrete images",
        levels=[Level(anchor="none"), Level(anchor="some"), Level(anchor="vivid")])])])  # fmt: skip
    with OpenAICompatServer() as server:
        await areflect("Write a haiku about frost", model="openai:loopback-model", base_url=server.base_url,
                       criteria=criteria, constraints=[], max_iterations=1,
                       thinking={"judge": False, "writer": True})  # fmt: skip
        seen: dict[str, set] = {}
        for request in server.requests:
            role = _role(request)
            if role is not None:
                seen.setdefault(role, set()).add((request.get("chat_template_kwargs") or {}).get("enable_thinking"))
    assert seen["judge"] == {False} and seen["writer"] == {True}
