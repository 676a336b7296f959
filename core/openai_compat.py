"""Chat model for OpenAI-compatible servers (`vllm serve`, SGLang, llama.cpp, OpenAI itself).

`ChatOpenAI` shares one cached async HTTP client across the process; its pooled connections belong
to the event loop that opened them, so a second `asyncio.run(...)` fails on a closed loop. The
transport here keeps one connection pool per running loop instead.

The model `load_chat_model("openai:...")` returns is an `OpenAICompatChat`: a `ChatOpenAI` for every
LangChain use, plus `DirectChatTransport`, which the judge uses for its many small structured calls. It
POSTs the request straight to `/chat/completions` over aiohttp (one session per event loop, closed when
that loop shuts down), without the SDK's request transformation, response models or retries: at 512
concurrent calls it costs about a tenth of the CPU of `openai.AsyncOpenAI` on httpx
(`bench/judge_client_cost.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

import httpx
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

logger = logging.getLogger(__name__)

DUMMY_API_KEY = "EMPTY"  # what `vllm serve` accepts when started without --api-key


class LoopLocalAsyncTransport(httpx.AsyncBaseTransport):
    """An async transport with one connection pool per event loop, closed with its loop's lifetime."""

    def __init__(self, **transport_kwargs: Any):
        self._kwargs = transport_kwargs
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncHTTPTransport] = (
            weakref.WeakKeyDictionary()
        )

    def _pool(self) -> httpx.AsyncHTTPTransport:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = httpx.AsyncHTTPTransport(**self._kwargs)
            self._pools[loop] = pool
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool().handle_async_request(request)

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        pool = self._pools.pop(loop, None)
        if pool is not None:
            await pool.aclose()


def loop_safe_async_client(timeout: float | None, max_connections: int = 512) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=min(max_connections, 128))
    return httpx.AsyncClient(transport=LoopLocalAsyncTransport(limits=limits), timeout=timeout)


MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""The largest response body the direct transport reads (a verdict is a few kilobytes)."""


class ChatHTTPError(Exception):
    """A chat-completions request the server answered with an error status."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status_code = status


async def _close_with_loop(session: Any) -> AsyncIterator[None]:
    # Started once and left suspended: the loop's async-generator hooks close it when the loop shuts down
    # (`asyncio.run` calls `shutdown_asyncgens`), and that closes the session on its own loop.
    try:
        yield
    finally:
        await session.close()


class DirectChatTransport:
    """POST chat completions to an OpenAI-compatible server over aiohttp: one session per event loop, no retries.

    Connections are pooled per loop without a cap of their own (the caller's semaphore bounds what is in
    flight); a session is closed when its loop shuts down. Safe to use from several loops in turn
    (two `asyncio.run` calls, sync after async) and from several threads.

    Example:
        >>> from writer_r1.testing import OpenAICompatServer
        >>> with OpenAICompatServer() as server:
        ...     transport = DirectChatTransport(server.base_url, "EMPTY")
        ...     body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
        ...     [asyncio.run(transport.complete(body, timeout=10)) != "" for _ in range(2)]
        [True, True]
    """

    def __init__(self, base_url: str, api_key: str | None, headers: dict[str, str] | None = None):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    async def _session(self) -> Any:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is not None and not session.closed:
            return session
        import aiohttp

        with self._lock:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0), trust_env=True, headers=self.headers
            )
            self._sessions[loop] = session
            closer = _close_with_loop(session)
            self._closers[loop] = closer
        await closer.__anext__()
        return session

    async def complete(self, payload: dict[str, Any], *, timeout: float | None) -> str:
        """The text of the first choice of a chat completion. Raises on a transport failure or an error status."""
        import aiohttp

        session = await self._session()
        body = json.dumps(payload, ensure_ascii=False).encode()
        async with session.post(self.url, data=body, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            if response.content_length is not None and response.content_length > MAX_RESPONSE_BYTES:
                raise ChatHTTPError(response.status, f"response of {response.content_length} bytes is too large")
            raw = await response.read()
        if response.status >= 400:
            raise ChatHTTPError(response.status, raw[:300].decode("utf-8", "replace"))
        try:
            data = json.loads(raw)
            content = data["choices"][0]["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
            raise ChatHTTPError(response.status, f"not a chat completion: {raw[:200]!r}") from error
        return content if isinstance(content, str) else ""

    async def aclose(self) -> None:
        """Close this loop's session now (it is closed at the loop's shutdown anyway)."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()


_TRANSPORTS: OrderedDict[tuple[str, str, str], DirectChatTransport] = OrderedDict()
_TRANSPORTS_LOCK = threading.Lock()
_MAX_TRANSPORTS = 32


def direct_transport(base_url: str, api_key: str | None, headers: dict[str, str] | None = None) -> DirectChatTransport:
    """The process's transport for one server and key (a bounded LRU, so models built per call share pools)."""
    key = (base_url, api_key or "", json.dumps(headers or {}, sort_keys=True))
    with _TRANSPORTS_LOCK:
        transport = _TRANSPORTS.get(key)
        if transport is None:
            transport = _TRANSPORTS[key] = DirectChatTransport(base_url, api_key, headers)
            while len(_TRANSPORTS) > _MAX_TRANSPORTS:
                _TRANSPORTS.popitem(last=False)
        _TRANSPORTS.move_to_end(key)
        return transport


class OpenAICompatChat(ChatOpenAI):
    """A `ChatOpenAI` built from an `openai:` spec; the judge calls it through `direct_transport()`.

    Every LangChain use (invoke, stream, callbacks, tracing) is `ChatOpenAI`'s own. `direct_payload()` is
    the request body its settings imply (model, max tokens, extra body ...), without messages.
    `direct_judge=False` makes the judge call it through LangChain instead (callbacks and usage see the
    calls; `ReflectiveChatModel` does this so tracers and its token budget see every inner call).
    """

    direct_judge: bool = True

    def direct_transport(self) -> DirectChatTransport:
        if not self.openai_api_base:
            raise ValueError("the direct transport needs a base URL")
        api_key = self.openai_api_key
        if api_key is not None and not isinstance(api_key, SecretStr):
            raise TypeError("the direct transport needs a fixed API key, not a callable that returns one")
        key = api_key.get_secret_value() if api_key is not None else None
        return direct_transport(self.openai_api_base, key, dict(self.default_headers or {}))

    def direct_payload(self) -> dict[str, Any]:
        params = dict(self._default_params)
        params.pop("stream", None)
        extra = params.pop("extra_body", None) or {}
        return {**params, **extra}


def make_openai_chat(
    model: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float | None = 120.0,
    max_retries: int = 2,
    **kwargs: Any,
) -> OpenAICompatChat:
    """A `ChatOpenAI` (an `OpenAICompatChat`) on the chat-completions API of any OpenAI-compatible server.

    `max_retries` is the SDK's own retries for LangChain calls (the writer's drafts); the judge's calls
    go through the direct transport, which never retries by itself (its retries are the judge's).

    `base_url` defaults to `WRITER_R1_BASE_URL`, then `OPENAI_BASE_URL`; `api_key` to
    `WRITER_R1_API_KEY`, then `OPENAI_API_KEY`, then a dummy key for local servers.

    Example:
        >>> chat = make_openai_chat("Qwen/Qwen3-8B", base_url="http://127.0.0.1:8000/v1")
        >>> chat.model_name
        'Qwen/Qwen3-8B'
    """
    base_url = base_url or os.environ.get("WRITER_R1_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    key = api_key or os.environ.get("WRITER_R1_API_KEY") or os.environ.get("OPENAI_API_KEY")
    if key is None and base_url is None:
        logger.warning("openai spec without a base URL or an API key: requests go to api.openai.com and will fail")
    return OpenAICompatChat(
        model=model,
        base_url=base_url,
        api_key=SecretStr(key or DUMMY_API_KEY),
        timeout=timeout,
        max_retries=max_retries,
        use_responses_api=False,
        http_async_client=loop_safe_async_client(timeout),
        **kwargs,
    )
