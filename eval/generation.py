"""Generate a system's responses for prompts, cached in an append-only log (resumable).

Each line of the log is `{"id", "prompt", "response"}` or `{"id", "prompt", "failed": reason}`; on a
re-run the prompts with a response are not generated again, and failed ones are retried.

Example:
    >>> import asyncio, tempfile, pathlib
    >>> from writer_r1.eval.io import PromptItem
    >>> from writer_r1.eval.systems import ModelSystem
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "responses.jsonl"
    >>> cache = ResponseCache(log)
    >>> items = [PromptItem(id="1", prompt="Write a haiku.")]
    >>> done = asyncio.run(generate_all(ModelSystem("fake"), items, cache, concurrency=2))
    >>> sorted(done), cache.response(items[0]) == done["1"]
    (['1'], True)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from writer_r1.eval.io import JsonlLog, PromptItem
from writer_r1.eval.systems import GenerationFailed, ResponsesSystem, System


class ResponseCache:
    """The generations of one system in an output folder.

    Rows are keyed by prompt id, or with `official=True` by prompt text in IFEval's `input_response_data`
    format (`prompt`, `response` only); failures then stay out of the file (`failures()` lists them).
    The last line for a key wins.
    """

    def __init__(self, path: Path, *, official: bool = False):
        self.log = JsonlLog(path)
        self.official = official
        self._key = "prompt" if official else "id"
        self._rows: dict[str, dict[str, Any]] = {}
        self._failed: dict[str, str] = {}
        for row in self.log.rows():
            key = row.get(self._key)
            if key is not None:
                self._rows[str(key)] = row

    def _key_of(self, item: PromptItem) -> str:
        return item.prompt if self.official else item.id

    def response(self, item: PromptItem) -> str | None:
        row = self._rows.get(self._key_of(item))
        return row["response"] if row is not None and isinstance(row.get("response"), str) else None

    def failures(self) -> dict[str, str]:
        """Failure reasons by prompt id (this run's, plus earlier runs' that were not retried yet)."""
        earlier = (
            {} if self.official else {key: str(row["failed"]) for key, row in self._rows.items() if "failed" in row}
        )
        return {**earlier, **self._failed}

    def record_response(self, item: PromptItem, text: str) -> None:
        row = (
            {"prompt": item.prompt, "response": text}
            if self.official
            else {"id": item.id, "prompt": item.prompt, "response": text}
        )
        self._rows[self._key_of(item)] = row
        self._failed.pop(item.id, None)
        self.log.append(row)

    def record_failure(self, item: PromptItem, reason: str) -> None:
        self._failed[item.id] = reason
        if not self.official:
            row = {"id": item.id, "prompt": item.prompt, "failed": reason}
            self._rows[item.id] = row
            self.log.append(row)


async def generate_one(
    system: System, item: PromptItem, cache: ResponseCache, semaphore: asyncio.Semaphore
) -> str | None:
    """The cached response, or a fresh one (recorded); None when the system failed (recorded as failed)."""
    if (known := cache.response(item)) is not None:
        return known
    async with semaphore:
        try:
            text = await system.agenerate(item)
        except GenerationFailed as error:
            cache.record_failure(item, str(error))
            return None
    cache.record_response(item, text)
    return text


async def generate_all(
    system: System,
    items: Sequence[PromptItem],
    cache: ResponseCache,
    *,
    concurrency: int = 8,
    on_done: Callable[[PromptItem, str | None], None] | None = None,
) -> dict[str, str]:
    """Responses by prompt id for every prompt the system answered (failures are in the cache's log)."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(item: PromptItem) -> tuple[str, str | None]:
        text = await generate_one(system, item, cache, semaphore)
        if on_done is not None:
            on_done(item, text)
        return item.id, text

    results = await asyncio.gather(*(one(item) for item in items))
    return {key: text for key, text in results if text is not None}


class SystemSide:
    """One system in a run: a responses file answers from memory; a model generates, cached in `cache_path`,
    with at most `concurrency` calls in flight."""

    def __init__(self, system: System, cache_path: Path, concurrency: int):
        self.system = system
        self.cache = ResponseCache(cache_path) if system.is_model else None
        self.semaphore = asyncio.Semaphore(concurrency)

    def known(self, item: PromptItem) -> str | None:
        """The response already at hand (file or cache), without generating."""
        if isinstance(self.system, ResponsesSystem):
            return self.system.responses.get(item.prompt)
        return self.cache.response(item) if self.cache is not None else None

    async def response(self, item: PromptItem) -> tuple[str | None, str | None]:
        """(response, None) or (None, why it failed)."""
        if isinstance(self.system, ResponsesSystem):
            text = self.system.responses.get(item.prompt)
            return (text, None) if text is not None else (None, "no response in the file")
        assert self.cache is not None
        text = await generate_one(self.system, item, self.cache, self.semaphore)
        return (text, None) if text is not None else (None, self.cache.failures().get(item.id, "failed"))
