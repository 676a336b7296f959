"""A real HTTP server on loopback that speaks vLLM's pooling APIs for a one-label classifier (a reward model).

What `vllm serve MODEL --runner pooling` answers for a `*ForSequenceClassification` checkpoint, reduced to
what a reward client uses:

- `POST /classify` — a `ClassificationCompletionRequest` (`input`: a string, a list of strings, or token
  ids) or a `ClassificationChatRequest` (`messages`, rendered with the model's chat template); optional
  `use_activation` (None/true: the default activation, a sigmoid for one label; false: the raw logit),
  `truncate_prompt_tokens` (-1: the model's length; k: keep k tokens) and `truncation_side` ("left" keeps
  the last k tokens, "right" — the default — the first k). Answer: `{"id", "object": "list", "created",
  "model", "data": [{"index", "label", "probs": [score], "num_classes": 1}], "usage": {"prompt_tokens",
  "total_tokens", "completion_tokens": 0, "prompt_tokens_details": null}}`.
- `POST /pooling` — the same inputs; `data: [{"index", "object": "pooling", "data": [score]}]`.
- `GET /v1/models`, `GET /health`.

An input longer than `max_model_len` without truncation is refused with HTTP 400, and the removed
`normalize` parameter is refused, as vLLM does. Latency, a concurrency cap and `FaultPlan` faults
(http500, garbage, truncated, hang) work as in `OpenAICompatServer`.

The default model is lexical (whitespace tokens; score = 0.5 × distinct words − 3, an unbounded raw
logit), so tests need no weights; `PoolingServer.from_pretrained(path)` serves a real local checkpoint
(its tokenizer's chat template, its float32 logits) for an exact comparison with in-process scoring.

Example:
    >>> import httpx
    >>> with PoolingServer() as server:
    ...     body = httpx.post(server.url + "/classify", json={"input": "grey sea grey sky", "use_activation": False}).json()
    >>> body["data"][0]["probs"], body["usage"]["prompt_tokens"]
    ([-1.5], 4)
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

from writer_r1.testing.openai_server import FaultPlan, _Server

logger = logging.getLogger(__name__)

Render = Callable[[list[dict[str, Any]]], str]
Tokenize = Callable[[str], list[Any]]
Scorer = Callable[[list[Any]], float]


def chatml(messages: list[dict[str, Any]]) -> str:
    """The default chat template (ChatML, as Qwen's): one `<|im_start|>role ... <|im_end|>` block per message."""
    return "".join(f"<|im_start|>{m.get('role', 'user')}\n{_content(m.get('content'))}<|im_end|>\n" for m in messages)


def lexical_score(tokens: list[Any]) -> float:
    """0.5 × the number of distinct word tokens − 3: richer texts score higher, on an unbounded scale."""
    words = {str(t).lower().strip(".,;:!?\"'") for t in tokens if "<|" not in str(t)} - {""}
    return 0.5 * len(words) - 3.0


def _content(content: Any) -> str:
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type", "text") == "text"
        )
    return "" if content is None else str(content)


class PoolingServer:
    """Loopback server of vLLM's `/classify` and `/pooling` for a one-label classifier; a context manager."""

    def __init__(
        self,
        *,
        model: str = "loopback-reward",
        render: Render = chatml,
        tokenize: Tokenize = str.split,
        scorer: Scorer = lexical_score,
        max_model_len: int = 4096,
        latency_s: float = 0.0,
        capacity: int = 64,
        faults: FaultPlan | None = None,
        hang_s: float = 30.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.model = model
        self.render = render
        self.tokenize = tokenize
        self.scorer = scorer
        self.max_model_len = max_model_len
        self.latency_s = latency_s
        self.faults = faults or FaultPlan()
        self.hang_s = hang_s
        self.requests: list[dict[str, Any]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._capacity = threading.BoundedSemaphore(capacity)
        self._lock = threading.Lock()
        self._score_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), self._handler_class())

    @classmethod
    def from_pretrained(cls, path: str, **kwargs: Any) -> PoolingServer:
        """Serve a local `AutoModelForSequenceClassification` checkpoint (float32, CPU): its chat template,
        its tokenizer, its first logit — what vLLM computes for it, without vLLM."""
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32).eval()

        def render(messages: list[dict[str, Any]]) -> str:
            plain = [{"role": m.get("role", "user"), "content": _content(m.get("content"))} for m in messages]
            return str(tokenizer.apply_chat_template(plain, tokenize=False))

        def tokenize(text: str) -> list[Any]:
            return list(tokenizer(text, add_special_tokens=False)["input_ids"])

        def scorer(ids: list[Any]) -> float:
            with torch.inference_mode():
                return float(model(input_ids=torch.tensor([ids], dtype=torch.long)).logits[0, 0])

        kwargs.setdefault("model", str(path))
        kwargs.setdefault("max_model_len", int(getattr(model.config, "max_position_embeddings", 4096)))
        return cls(render=render, tokenize=tokenize, scorer=scorer, **kwargs)

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The server's root URL (vLLM serves `/classify` and `/pooling` at the root, beside `/v1`)."""
        host = self._httpd.server_address[0]
        assert isinstance(host, str)  # a TCP server's address: (host, port)
        return f"http://{host}:{self.port}"

    def start(self) -> PoolingServer:
        threading.Thread(target=self._httpd.serve_forever, name="pooling-loopback", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> PoolingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the protocol ----------------------------------------------------------------------

    def _prompts(self, request: dict[str, Any]) -> list[list[Any]]:
        """Token sequences of the request's inputs (ValueError: a 400 in vLLM's words)."""
        if "normalize" in request:
            raise ValueError("Parameter `normalize` was removed; use `use_activation` instead.")
        has_input, has_messages = "input" in request, "messages" in request
        if has_input == has_messages:
            raise ValueError("exactly one of `input` or `messages` is required")
        if has_messages:
            messages = request["messages"]
            if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
                raise ValueError("`messages` must be a list of chat messages")
            return [self.tokenize(self.render(messages))]
        value = request["input"]
        if isinstance(value, str):
            return [self.tokenize(value)]
        if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
            return [list(value)]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [self.tokenize(v) for v in value]
        if isinstance(value, list) and all(isinstance(v, list) and all(isinstance(t, int) for t in v) for v in value):
            return [list(v) for v in value]
        raise ValueError("`input` must be a string, a list of strings, or token ids")

    def _truncate(self, tokens: list[Any], request: dict[str, Any]) -> list[Any]:
        limit = request.get("truncate_prompt_tokens")
        side = request.get("truncation_side") or "right"
        if side not in ("left", "right"):
            raise ValueError("`truncation_side` must be 'left' or 'right'")
        if limit is not None:
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < -1 or limit == 0:
                raise ValueError("`truncate_prompt_tokens` must be a positive integer, -1, or null")
            keep = self.max_model_len if limit == -1 else min(limit, self.max_model_len)
            if len(tokens) > keep:
                tokens = tokens[-keep:] if side == "left" else tokens[:keep]
        if len(tokens) > self.max_model_len:
            raise ValueError(
                f"This model's maximum context length is {self.max_model_len} tokens. However, your request has "
                f"{len(tokens)} input tokens. Please reduce the length of the input messages."
            )
        return tokens

    def handle(self, path: str, request: dict[str, Any]) -> tuple[int, bytes]:
        """Status and body for one request to `path` (`/classify` or `/pooling`)."""
        with self._lock:
            self.requests.append(request)
        fault = self.faults.next()
        with self._capacity:
            with self._lock:
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
            try:
                if self.latency_s:
                    time.sleep(self.latency_s)
                if fault == "hang":
                    self._stopping.wait(self.hang_s)
                if fault == "http500":
                    return 500, _error("injected fault", "InternalServerError", 500)
                if fault == "garbage":
                    return 200, b"<html>upstream error</html>"
                try:
                    use_activation = request.get("use_activation")
                    if use_activation is not None and not isinstance(use_activation, bool):
                        raise ValueError("`use_activation` must be a boolean")
                    sequences = [self._truncate(tokens, request) for tokens in self._prompts(request)]
                except ValueError as error:
                    return 400, _error(str(error), "BadRequestError", 400)
                with self._score_lock:
                    raw = [self.scorer(tokens) for tokens in sequences]
            finally:
                with self._lock:
                    self._in_flight -= 1
        scores = [1.0 / (1.0 + math.exp(-r)) if use_activation in (None, True) else r for r in raw]
        tokens = sum(len(s) for s in sequences)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0, "prompt_tokens_details": None}
        model = request.get("model") or self.model
        if path == "/pooling":
            data: list[dict[str, Any]] = [{"index": i, "object": "pooling", "data": [s]} for i, s in enumerate(scores)]
            prefix = "pool"
        else:
            data = [{"index": i, "label": "LABEL_0", "probs": [s], "num_classes": 1} for i, s in enumerate(scores)]
            prefix = "classify"
        body = {
            "id": f"{prefix}-{uuid.uuid4().hex}",
            "object": "list",
            "created": int(time.time()),
            "model": model,
            "data": data,
            "usage": usage,
        }
        encoded = json.dumps(body).encode()
        if fault == "truncated":
            encoded = encoded[: max(1, len(encoded) // 2)]
        return 200, encoded

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            _headers_buffer: list[bytes]  # the stdlib handler's pending header lines (not in its type stubs)

            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                logger.debug("pooling loopback: " + format, *args)

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self._headers_buffer.append(b"\r\n")
                self._headers_buffer.append(body)
                self.flush_headers()

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                path = self.path.rstrip("/")
                if path == "/health":
                    self._send(200, b"")
                elif path == "/v1/models":
                    body = {"object": "list", "data": [{"id": server.model, "object": "model", "owned_by": "vllm"}]}
                    self._send(200, json.dumps(body).encode())
                else:
                    self._send(404, _error("Not Found", "NotFoundError", 404))

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path = self.path.rstrip("/")
                if path not in ("/classify", "/pooling"):
                    self._send(404, _error("Not Found", "NotFoundError", 404))
                    return
                try:
                    request = json.loads(raw)
                    if not isinstance(request, dict):
                        raise ValueError("the body must be a JSON object")
                except ValueError as error:
                    self._send(400, _error(f"invalid request body: {error}", "BadRequestError", 400))
                    return
                self._send(*server.handle(path, request))

        return Handler


def _error(message: str, kind: str, code: int) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()


def scores_of(body: dict[str, Any]) -> Sequence[float]:
    """The scores in a `/classify` or `/pooling` answer, in input order."""
    return [
        float((item.get("probs") or item.get("data"))[0]) for item in sorted(body["data"], key=lambda d: d["index"])
    ]
