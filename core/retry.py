"""The one retry policy for model calls, on tenacity: `retries + 1` attempts at most, backoff only after a failed call.

What is retried: a transport failure that may pass (a connection error, a timeout, HTTP 408, 409, 429 or 5xx)
and an invalid reply (`InvalidReply`, re-asked at once with the problem fed back). A request the server
rejects as malformed (another 4xx) is not retried, and neither is a cancellation. The HTTP clients' own
retries are off where writer-r1 builds the client (the judge's `openai:` transport), so one attempt is one
request.

Example:
    >>> import asyncio
    >>> calls = []
    >>> async def flaky():
    ...     async for attempt in model_call_retrying(2, backoff_s=0):
    ...         with attempt:
    ...             calls.append(1)
    ...             if len(calls) < 3:
    ...                 raise ConnectionError("reset")
    ...     return len(calls)
    >>> asyncio.run(flaky())
    3
"""

from __future__ import annotations

import asyncio
import time

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt


class InvalidReply(Exception):
    """A reply that did not settle the call: it is re-asked at once (no backoff)."""


_RETRYABLE_STATUS = frozenset({408, 409, 429})


def is_retryable(error: BaseException) -> bool:
    """Whether another attempt may succeed: invalid replies and passing transport failures, not bad requests."""
    if isinstance(error, InvalidReply):
        return True
    if not isinstance(error, Exception) or isinstance(error, asyncio.CancelledError):
        return False
    status = getattr(error, "status_code", None) or getattr(error, "status", None)
    if isinstance(status, int) and 400 <= status < 500:
        return status in _RETRYABLE_STATUS
    return True


def _wait(backoff_s: float, max_backoff_s: float):
    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, InvalidReply):
            return 0.0
        return min(backoff_s * 2 ** (state.attempt_number - 1), max_backoff_s)

    return wait


def stop_after_deadline(deadline: float):
    """A tenacity stop: the deadline has passed, or the next backoff would end past it."""

    def stop(state: RetryCallState) -> bool:
        return time.monotonic() + (state.upcoming_sleep or 0.0) >= deadline

    return stop


def model_call_retrying(
    retries: int, *, backoff_s: float = 0.2, max_backoff_s: float = 2.0, deadline: float | None = None
) -> AsyncRetrying:
    """At most `retries + 1` attempts; exponential backoff after transport failures; the last error re-raised.

    `deadline` (a `time.monotonic()` instant): no attempt starts, and no backoff sleeps, past it.
    """
    stop = stop_after_attempt(retries + 1)
    return AsyncRetrying(
        stop=stop if deadline is None else stop | stop_after_deadline(deadline),
        wait=_wait(backoff_s, max_backoff_s),
        retry=retry_if_exception(is_retryable),
        reraise=True,
    )
