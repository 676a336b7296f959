"""A real HTTP server on loopback that speaks OpenAI chat completions, for tests and benchmarks.

It answers `/v1/chat/completions` (plain, `response_format` json_schema, and `stream`) and
`/v1/models`, with a configurable latency, a concurrency cap (requests beyond it queue, as they
do in front of `vllm serve --max-num-seqs`), and fault injection: HTTP 500, HTTP 400, garbage text,
truncated JSON, and hangs. It binds port 0 unless told otherwise and reports the port it got.

Example:
    >>> with OpenAICompatServer(latency_s=0.0) as server:
    ...     server.base_url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

logger = logging.getLogger(__name__)

Fault = Literal["ok", "http500", "http400", "garbage", "truncated", "hang"]
Responder = Callable[[dict[str, Any]], str]


def fake_responder(request: dict[str, Any]) -> str:
    """Answer like the `fake` model: a valid instance of a requested schema, else prose."""
    from writer_r1.core.fake import FakeChatModel

    kinds = {"system": SystemMessage, "assistant": AIMessage}
    messages = [kinds.get(m.get("role"), HumanMessage)(content=str(m.get("content", ""))) for m in request["messages"]]
    kwargs = {"response_format": request["response_format"]} if "response_format" in request else {}
    return str(FakeChatModel(salt=request.get("model", "")).invoke(messages, **kwargs).content)


@dataclass
class FaultPlan:
    """Which fault each request gets: a fixed script first, then random draws at the given rates."""

    script: list[Fault] = field(default_factory=list)
    rates: dict[Fault, float] = field(default_factory=dict)
    seed: int = 0
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def next(self) -> Fault:
        with self._lock:
            if self.script:
                return self.script.pop(0)
            draw = self._rng.random()
            for fault, rate in self.rates.items():
                if draw < rate:
                    return fault
                draw -= rate
            return "ok"


class _Server(ThreadingHTTPServer):
    # The stdlib backlog of 5 drops connections when dozens open at once (a judge batch does);
    # `vllm serve` (uvicorn) listens with 2048.
    request_queue_size = 2048
    daemon_threads = True


class OpenAICompatServer:
    """Loopback OpenAI-compatible server; use as a context manager or `start()` / `stop()`."""

    def __init__(
        self,
        *,
        model: str = "loopback-model",
        responder: Responder = fake_responder,
        latency_s: float = 0.0,
        capacity: int = 64,
        faults: FaultPlan | None = None,
        hang_s: float = 30.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.model = model
        self.responder = responder
        self.latency_s = latency_s
        self.faults = faults or FaultPlan()
        self.hang_s = hang_s
        self.requests: list[dict[str, Any]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._capacity = threading.BoundedSemaphore(capacity)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        host = self._httpd.server_address[0]
        assert isinstance(host, str)  # a TCP server's address: (host, port)
        return f"http://{host}:{self.port}/v1"

    def start(self) -> OpenAICompatServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-loopback", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OpenAICompatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- request handling ------------------------------------------------------------------

    def _complete(self, request: dict[str, Any]) -> tuple[int, str, dict[str, Any] | None]:
        """Status, the completion text (or an error body), and the response object."""
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
                    return 500, json.dumps({"error": {"message": "injected fault", "type": "server_error"}}), None
                if fault == "http400":
                    return (
                        400,
                        json.dumps({"error": {"message": "injected bad request", "type": "invalid_request"}}),
                        None,
                    )
                text = self.responder(request)
                if fault == "garbage":
                    text = "I cannot comply. ~~~ <<garbage>> {not json"
                elif fault == "truncated":
                    text = text[: max(1, len(text) // 2)]
            finally:
                with self._lock:
                    self._in_flight -= 1
        return 200, text, _completion(request.get("model", self.model), text)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            _headers_buffer: list[bytes]  # the stdlib handler's pending header lines (not in its type stubs)

            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                logger.debug("loopback: " + format, *args)

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                # Headers and body in one write: two small writes meet Nagle + delayed ACK (~40 ms each).
                self._headers_buffer.append(b"\r\n")
                self._headers_buffer.append(body)
                self.flush_headers()

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                if self.path.rstrip("/").endswith("/models"):
                    body = {"object": "list", "data": [{"id": server.model, "object": "model", "owned_by": "loopback"}]}
                    self._send(200, json.dumps(body).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                try:
                    request = json.loads(raw)
                    assert isinstance(request.get("messages"), list)
                except (ValueError, AssertionError):
                    self._send(400, b'{"error": {"message": "invalid request body"}}')
                    return
                status, text, completion = server._complete(request)
                if status != 200 or completion is None:
                    self._send(status, text.encode())
                elif request.get("stream"):
                    self._send(200, _sse(request.get("model", server.model), text), "text/event-stream")
                else:
                    self._send(200, json.dumps(completion).encode())

        return Handler


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": len(text.split()), "total_tokens": len(text.split())},
    }


def _sse(model: str, text: str) -> bytes:
    chunk_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
    events = []
    pieces = [text[i : i + 16] for i in range(0, len(text), 16)] or [""]
    for index, piece in enumerate(pieces):
        delta: dict[str, Any] = {"content": piece}
        if index == 0:
            delta["role"] = "assistant"
        events.append(
            {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }
        )
    events.append(
        {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    body = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
    return body.encode()


def main() -> None:
    """Run the loopback server in the foreground (used by tests that need it in another process).

    `--score-words a,b,c` makes it a scoring-rule judge (`testing.scoring_judge`): verdict levels follow the
    share of those words in the judged text.
    """
    parser = argparse.ArgumentParser(description="Loopback OpenAI-compatible test server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model", default="loopback-model")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--capacity", type=int, default=64)
    parser.add_argument(
        "--score-words",
        default=None,
        help="scoring-rule judge: comma-separated words; the judge's level follows their share of the text",
    )
    args = parser.parse_args()
    responder: Callable[[dict[str, Any]], str] = fake_responder
    if args.score_words:
        from writer_r1.testing.scoring_judge import LexicalShare, scoring_rule_responder

        responder = scoring_rule_responder(LexicalShare(args.score_words.split(",")))
    server = OpenAICompatServer(
        model=args.model, responder=responder, latency_s=args.latency, capacity=args.capacity, port=args.port
    )
    sys.stdout.write(server.base_url + "\n")  # the parent process reads the URL from stdout
    sys.stdout.flush()
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
