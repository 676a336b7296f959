"""In-process vLLM chat model (spec `vllm:MODEL`, extra `[vllm]`, GPU machines).

Concurrent calls (the judge scores many texts at once) are gathered into one `LLM.chat` batch by a single
engine thread, which is how vLLM gets its throughput. An async call puts its request on the engine's queue
and awaits the request's future on the event loop: no thread per call, so 256 concurrent calls reach the
engine together (a thread pool would cap the batch at its size). Each request carries its own sampling
parameters in the batch (vLLM pairs a list of them with the prompts): JSON Schemas are enforced with
structured outputs (`StructuredOutputsParams(json=...)`), stop sequences with `stop`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import PrivateAttr
from writer_r1.core.chat_backend import InProcessChatModel, Request

logger = logging.getLogger(__name__)


@dataclass
class _Pending:
    request: Request
    enable_thinking: bool | None = None
    future: concurrent.futures.Future[str] = field(default_factory=concurrent.futures.Future)


@dataclass
class _Engine:
    """The engine, its queue and its thread: one per model object and every copy of it (`model_copy` keeps
    the same `_Engine`), so a per-role copy with another thinking setting never starts a second engine."""

    llm: Any = None
    queue: queue.Queue[_Pending] | None = None
    worker: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class VLLMChatModel(InProcessChatModel):
    """Chat with a model loaded in this process by vLLM; concurrent requests are batched.

    Args:
        engine_kwargs: passed to `vllm.LLM` (e.g. `gpu_memory_utilization`, `max_model_len`).
        max_batch_size: most requests in one engine call.
        batch_window_s: after a request arrives, how long the engine thread waits for more before it runs
            the batch (each new arrival restarts the wait, until `max_batch_size`).
        enable_thinking: the chat template's `enable_thinking` (Qwen3-style models) for this object's
            requests; None leaves the template's default. Copies made for other roles share the engine, and
            a batch holding both settings is run as one engine call per setting.

    Example:
        >>> model = VLLMChatModel(model_id="Qwen/Qwen3-8B", engine_kwargs={"gpu_memory_utilization": 0.5})
        >>> model.model_id  # the engine starts on the first call
        'Qwen/Qwen3-8B'
    """

    supports_response_format: bool = True
    engine_kwargs: dict[str, Any] = {}
    max_batch_size: int = 512
    batch_window_s: float = 0.005
    enable_thinking: bool | None = None
    _shared: _Engine = PrivateAttr(default_factory=_Engine)

    @property
    def _llm_type(self) -> str:
        return "writer-r1-vllm"

    def _ensure_started(self) -> queue.Queue[_Pending]:
        shared = self._shared
        with shared.lock:
            if shared.queue is None:
                try:
                    import vllm
                except ImportError as error:
                    raise ImportError(
                        "spec 'vllm:' needs vLLM on a GPU machine: pip install 'writer-r1[vllm]'"
                    ) from error
                logger.info("starting vLLM engine for %s", self.model_id)
                shared.llm = vllm.LLM(model=self.model_id, **self.engine_kwargs)
                shared.queue = queue.Queue()
                shared.worker = threading.Thread(target=self._serve, name="writer-r1-vllm", daemon=True)
                shared.worker.start()
            return shared.queue

    def _sampling_params(self, request: Request) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        structured = StructuredOutputsParams(json=request.schema) if request.schema is not None else None
        return SamplingParams(
            max_tokens=self.max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=list(request.stop) or None,
            structured_outputs=structured,
        )

    def _serve(self) -> None:
        work = self._shared.queue
        assert work is not None
        while True:
            batch = [work.get()]
            try:
                while len(batch) < self.max_batch_size:
                    batch.append(work.get(timeout=self.batch_window_s))
            except queue.Empty:
                pass
            # `LLM.chat` takes one set of chat-template arguments per call: one call per thinking setting.
            by_thinking: dict[bool | None, list[_Pending]] = {}
            for pending in batch:
                by_thinking.setdefault(pending.enable_thinking, []).append(pending)
            for thinking, group in by_thinking.items():
                self._run_batch(group, thinking)

    def _run_batch(self, batch: list[_Pending], enable_thinking: bool | None = None) -> None:
        try:
            params = [self._sampling_params(pending.request) for pending in batch]
            conversations = [pending.request.conversation for pending in batch]
            template = (
                {"chat_template_kwargs": {"enable_thinking": enable_thinking}} if enable_thinking is not None else {}
            )
            outputs = self._shared.llm.chat(conversations, params, use_tqdm=False, **template)
            for pending, output in zip(batch, outputs, strict=True):
                pending.future.set_result(output.outputs[0].text)
        except Exception as error:  # noqa: BLE001 - every waiting caller must be released
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)

    def _submit(self, requests: list[Request]) -> list[concurrent.futures.Future[str]]:
        work = self._ensure_started()
        pending = [_Pending(request, self.enable_thinking) for request in requests]
        for item in pending:
            work.put(item)
        return [item.future for item in pending]

    def complete(self, requests: list[Request]) -> list[str]:
        return [future.result() for future in self._submit(requests)]

    async def acomplete(self, requests: list[Request]) -> list[str]:
        if self._shared.queue is None:  # starting the engine blocks for a while: not on the event loop
            await asyncio.to_thread(self._ensure_started)
        return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in self._submit(requests))))
