"""Chat model for OpenAI-compatible servers (`vllm serve`, SGLang, llama.cpp, OpenAI itself).

`ChatOpenAI` shares one cached async HTTP client across the process; its pooled connections belong
to the event loop that opened them, so a second `asyncio.run(...)` fails on a closed loop. The
transport here keeps one connection pool per running loop instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from typing import Any

import httpx
from langchain_openai import ChatOpenAI

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


def make_openai_chat(
    model: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float | None = 120.0,
    max_retries: int = 2,
    **kwargs: Any,
) -> ChatOpenAI:
    """A `ChatOpenAI` on the chat-completions API of any OpenAI-compatible server.

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
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=key or DUMMY_API_KEY,
        timeout=timeout,
        max_retries=max_retries,
        use_responses_api=False,
        http_async_client=loop_safe_async_client(timeout),
        **kwargs,
    )
