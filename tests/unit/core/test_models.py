"""Spec resolution, the fake model, and the in-process backends (lazily imported)."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
from langchain_core.messages import HumanMessage
from writer_r1.core.errors import ModelSpecError
from writer_r1.core.fake import FakeChatModel
from writer_r1.core.models import default_model_spec, load_chat_model, model_identity


def test_fake_is_deterministic_and_salted() -> None:
    first = load_chat_model("fake").invoke([HumanMessage("Write about the sea")]).content
    assert first == load_chat_model("fake").invoke([HumanMessage("Write about the sea")]).content
    assert first != load_chat_model("fake:other").invoke([HumanMessage("Write about the sea")]).content


def test_fake_streams_the_same_text() -> None:
    model = FakeChatModel()
    assert "".join(chunk.content for chunk in model.stream("a poem")) == model.invoke("a poem").content


def test_openai_spec_uses_chat_completions_and_a_dummy_key(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = load_chat_model("openai:Qwen/Qwen3-8B", base_url="http://127.0.0.1:9/v1")
    assert model.model_name == "Qwen/Qwen3-8B"
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.use_responses_api is False
    assert model.openai_api_key.get_secret_value() == "EMPTY"


def test_openai_base_url_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("WRITER_R1_BASE_URL", "http://127.0.0.1:9/v1")
    assert load_chat_model("openai:m").openai_api_base == "http://127.0.0.1:9/v1"


def test_bare_openai_spec_asks_the_server_for_its_model(loopback) -> None:
    assert load_chat_model("openai", base_url=loopback.base_url).model_name == "loopback-model"


def test_bare_openai_spec_with_a_server_down_is_a_clear_error() -> None:
    with pytest.raises(ModelSpecError, match="cannot list the models"):
        load_chat_model("openai", base_url="http://127.0.0.1:9/v1")


def test_default_spec_follows_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("WRITER_R1_MODEL", raising=False)
    monkeypatch.delenv("WRITER_R1_BASE_URL", raising=False)
    assert default_model_spec() == "hf:Qwen/Qwen3-0.6B"
    monkeypatch.setenv("WRITER_R1_BASE_URL", "http://127.0.0.1:8000/v1")
    assert default_model_spec() == "openai"
    monkeypatch.setenv("WRITER_R1_MODEL", "fake")
    assert default_model_spec() == "fake"


@pytest.mark.parametrize("spec", ["", "   ", "nonsense", "hf:", "vllm:"])
def test_bad_specs_are_clear_errors(spec: str) -> None:
    with pytest.raises(ModelSpecError):
        load_chat_model(spec if spec.strip() else spec or " ")


def test_unknown_provider_passes_through_to_init_chat_model() -> None:
    pytest.importorskip("langchain")
    with pytest.raises(ModelSpecError, match="cannot load"):
        load_chat_model("notaprovider:some-model")


def test_hf_spec_loads_nothing_until_used(tmp_path) -> None:
    code = (
        "import sys; from writer_r1.core.models import load_chat_model; "
        f"m = load_chat_model('hf:{tmp_path}'); "
        "print('transformers' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def _stand_in_vllm(
    monkeypatch,
    batches: list,
    seconds_per_batch: float = 0.0,
    templates: list | None = None,
    engines: list | None = None,
) -> None:
    """vLLM cannot run here: a stand-in with `vllm.LLM`'s interface records what the backend asks of it."""
    import time

    templates = [] if templates is None else templates
    engines = [] if engines is None else engines

    class StructuredOutputsParams:
        def __init__(self, json=None):
            self.json = json

    class SamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    class LLM:
        def __init__(self, model: str, **kwargs):
            self.model = model
            engines.append(self)

        def chat(self, conversations, sampling_params, use_tqdm=False, chat_template_kwargs=None):
            assert isinstance(sampling_params, list) and len(sampling_params) == len(conversations)
            batches.append((conversations, sampling_params))
            templates.append(chat_template_kwargs)
            time.sleep(seconds_per_batch)  # the GPU's time: requests keep arriving meanwhile
            replies = []
            for params in sampling_params:
                schema = params.kwargs["structured_outputs"]
                text = '{"ok": true}' if schema is not None else "prose. STOP and more"
                replies.append(types.SimpleNamespace(outputs=[types.SimpleNamespace(text=text)]))
            return replies

    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = LLM, SamplingParams
    sampling = types.ModuleType("vllm.sampling_params")
    sampling.StructuredOutputsParams = StructuredOutputsParams
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", sampling)


def test_vllm_backend_batches_concurrent_requests_and_enforces_schemas(monkeypatch) -> None:
    import asyncio

    batches: list = []
    _stand_in_vllm(monkeypatch, batches)
    model = load_chat_model("vllm:tiny", batch_window_s=0.05)

    async def many() -> list[str]:
        replies = await asyncio.gather(*(model.ainvoke([HumanMessage(f"q{i}")]) for i in range(8)))
        return [r.content for r in replies]

    assert asyncio.run(many()) == ["prose. STOP and more"] * 8
    assert max(len(conversations) for conversations, _ in batches) > 1, "concurrent requests share an engine call"
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    assert model.invoke("q", response_format=fmt).content == '{"ok": true}'
    conversations, params = batches[-1]
    assert conversations == [[{"role": "user", "content": "q"}]] and params[0].kwargs["structured_outputs"].json


def test_vllm_backend_gets_256_concurrent_calls_as_batches_of_at_least_128(monkeypatch) -> None:
    """No thread per call: the calls await the engine's futures, so the engine sees them together."""
    import asyncio

    batches: list = []
    _stand_in_vllm(monkeypatch, batches, seconds_per_batch=0.05)
    model = load_chat_model("vllm:tiny")

    async def many() -> list:
        return await asyncio.gather(*(model.ainvoke([HumanMessage(f"q{i}")]) for i in range(256)))

    assert len(asyncio.run(many())) == 256
    sizes = [len(conversations) for conversations, _ in batches]
    assert sum(sizes) == 256 and min(sizes) >= 128, sizes


def test_in_process_backends_honour_stop_and_content_blocks(monkeypatch) -> None:
    batches: list = []
    _stand_in_vllm(monkeypatch, batches)
    model = load_chat_model("vllm:tiny")
    blocks = [{"type": "text", "text": "Write "}, {"type": "text", "text": "a haiku"}]
    reply = model.invoke([HumanMessage(blocks)], stop=["STOP"])
    assert reply.content == "prose. "  # the reply ends before the stop sequence
    conversations, params = batches[-1]
    assert conversations == [[{"role": "user", "content": "Write a haiku"}]] and params[0].kwargs["stop"] == ["STOP"]


def test_model_identity_distinguishes_models() -> None:
    a = model_identity(load_chat_model("openai:a", base_url="http://127.0.0.1:9/v1"))
    b = model_identity(load_chat_model("openai:b", base_url="http://127.0.0.1:9/v1"))
    assert a != b and "openai" not in a.lower() or a != b


# --- the embedded default when it cannot be had: seconds, and what to do ------------------------------


def _says_what_to_do(message: str) -> None:
    assert "--model openai:MODEL" in message and "WRITER_R1_BASE_URL" in message and "--model fake" in message


def test_hf_model_not_cached_while_offline_fails_at_once(monkeypatch) -> None:
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(ModelSpecError, match="not in the local Hugging Face cache") as raised:
        load_chat_model("hf:writer-r1-tests/never-downloaded")
    assert time.monotonic() - started < 5
    _says_what_to_do(str(raised.value))


def test_hf_model_with_the_hub_unreachable_fails_fast_naming_it(monkeypatch) -> None:
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    started = time.monotonic()
    with pytest.raises(ModelSpecError, match=r"Hub \(http://127.0.0.1:9\) cannot be reached") as raised:
        load_chat_model("hf:writer-r1-tests/never-downloaded")
    assert time.monotonic() - started < 10
    _says_what_to_do(str(raised.value))


def test_base_install_without_torch_says_which_extra(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # what `import torch` meets in a base install
    with pytest.raises(ModelSpecError, match=r"needs torch.*pip install -e \"\.\[hf\]\"") as raised:
        load_chat_model(f"hf:{tmp_path}")
    _says_what_to_do(str(raised.value))


def test_default_model_without_anything_fails_in_seconds_from_the_cli(tmp_path) -> None:
    """No --model, no WRITER_R1_BASE_URL, no network: one line that says what to do, exit 2, in seconds."""
    import os
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("WRITER_R1_MODEL")}
    env.pop("WRITER_R1_BASE_URL", None)
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), WRITER_R1_HOME=str(tmp_path / "home"))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "writer_r1.cli", "reflect", "--task", "Write a haiku about frost"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 60
    assert "hf:Qwen/Qwen3-0.6B" in done.stderr and "--model fake" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_vllm_thinking_per_role_shares_one_engine_and_renders_each_setting(monkeypatch) -> None:
    """A per-role copy (`with_thinking`) keeps its original's engine; each setting reaches the chat template."""
    import asyncio

    from writer_r1.core.thinking import with_thinking

    batches: list = []
    templates: list = []
    engines: list = []
    _stand_in_vllm(monkeypatch, batches, seconds_per_batch=0.05, templates=templates, engines=engines)
    base = load_chat_model("vllm:tiny", batch_window_s=0.05)
    judge, inducer = with_thinking(base, False), with_thinking(base, True)

    async def mixed() -> list:
        calls = [judge.ainvoke([HumanMessage(f"j{i}")]) for i in range(4)]
        calls += [inducer.ainvoke([HumanMessage(f"i{i}")]) for i in range(4)]
        return await asyncio.gather(*calls)

    assert len(asyncio.run(mixed())) == 8
    assert len(engines) == 1, "a copy for another role must not start a second engine"
    by_setting = {}
    for (conversations, _), template in zip(batches, templates, strict=True):
        setting = (template or {}).get("enable_thinking")
        by_setting.setdefault(setting, []).extend(c[0]["content"] for c in conversations)
    assert sorted(by_setting[False]) == [f"j{i}" for i in range(4)]
    assert sorted(by_setting[True]) == [f"i{i}" for i in range(4)]
    assert base.invoke("plain").content and templates[-1] is None  # no setting: the template's default


def test_thinking_is_part_of_the_cache_identity() -> None:
    from writer_r1.core.models import model_identity
    from writer_r1.core.thinking import with_thinking

    chat = load_chat_model("openai:m", base_url="http://127.0.0.1:9/v1")
    on, off = with_thinking(chat, True), with_thinking(chat, False)
    assert len({model_identity(chat), model_identity(on), model_identity(off)}) == 3
    assert model_identity(chat) == model_identity(load_chat_model("openai:m", base_url="http://127.0.0.1:9/v1"))
