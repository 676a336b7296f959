"""In-process vLLM chat model (spec `vllm:MODEL`, extra `[vllm]`, GPU machines).

Concurrent calls (the judge scores many texts at once) are gathered into one `LLM.chat` batch by a
single worker thread, which is how vLLM gets its throughput; JSON Schemas are enforced with
structured outputs (`StructuredOutputsParams(json=...)`).
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import PrivateAttr
from writer_r1.core.chat_backend import InProcessChatModel

logger = logging.getLogger(__name__)


@dataclass
class _Request:
    conversation: list[dict[str, str]]
    schema: dict[str, Any] | None
    future: concurrent.futures.Future[str] = field(default_factory=concurrent.futures.Future)


class VLLMChatModel(InProcessChatModel):
    """Chat with a model loaded in this process by vLLM; concurrent requests are batched.

    Example:
        >>> model = VLLMChatModel(model_id="Qwen/Qwen3-8B", engine_kwargs={"gpu_memory_utilization": 0.5})
        >>> model.model_id  # the engine starts on the first call
        'Qwen/Qwen3-8B'
    """

    supports_response_format: bool = True
    engine_kwargs: dict[str, Any] = {}
    max_batch_size: int = 256
    batch_window_s: float = 0.005
    _engine: Any = PrivateAttr(default=None)
    _queue: queue.Queue[_Request] | None = PrivateAttr(default=None)
    _worker: threading.Thread | None = PrivateAttr(default=None)
    _start_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "writer-r1-vllm"

    def _ensure_started(self) -> queue.Queue[_Request]:
        with self._start_lock:
            if self._queue is None:
                try:
                    import vllm
                except ImportError as error:
                    raise ImportError("spec 'vllm:' needs vLLM on a GPU machine: pip install 'writer-r1[vllm]'") from error
                logger.info("starting vLLM engine for %s", self.model_id)
                self._engine = vllm.LLM(model=self.model_id, **self.engine_kwargs)
                self._queue = queue.Queue()
                self._worker = threading.Thread(target=self._serve, name="writer-r1-vllm", daemon=True)
                self._worker.start()
            return self._queue

    def _sampling_params(self, schema: dict[str, Any] | None) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        structured = StructuredOutputsParams(json=schema) if schema is not None else None
        return SamplingParams(
            max_tokens=self.max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            structured_outputs=structured,
        )

    def _serve(self) -> None:
        assert self._queue is not None
        while True:
            batch = [self._queue.get()]
            try:
                while len(batch) < self.max_batch_size:
                    batch.append(self._queue.get(timeout=self.batch_window_s))
            except queue.Empty:
                pass
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Request]) -> None:
        # One engine call per distinct schema: a batch shares its sampling parameters' type, not values.
        groups: dict[str, list[_Request]] = {}
        for request in batch:
            groups.setdefault(json.dumps(request.schema, sort_keys=True), []).append(request)
        for requests in groups.values():
            try:
                params = self._sampling_params(requests[0].schema)
                outputs = self._engine.chat([r.conversation for r in requests], params, use_tqdm=False)
                for request, output in zip(requests, outputs, strict=True):
                    request.future.set_result(output.outputs[0].text)
            except Exception as error:  # noqa: BLE001 - every waiting caller must be released
                for request in requests:
                    if not request.future.done():
                        request.future.set_exception(error)

    def complete(self, conversations: list[list[dict[str, str]]], schema: dict[str, Any] | None) -> list[str]:
        work = self._ensure_started()
        requests = [_Request(conversation, schema) for conversation in conversations]
        for request in requests:
            work.put(request)
        return [request.future.result() for request in requests]
