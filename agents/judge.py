"""The criteria judge: scores a text against a `CriteriaSet`, and compares two texts.

Each call asks for a verdict on some criteria (all of them, or `criteria_per_call` at a time) under
a JSON Schema generated from those criteria; calls run concurrently under one semaphore per Judge.
Valid verdicts are kept criterion by criterion; the judge re-asks only about the criteria whose
verdict was missing or invalid, and what is still not judged after the retries becomes an explicit
`UnscoredCriterion` — never a default score, never an exception for a bad reply or a down server.

The text is fenced between delimiter lines that occur nowhere in it, and the output contract is
restated after it, so a text that carries instructions, fake delimiters or a fake verdict gains
nothing; only the model's own reply is parsed.

At RL scale (hundreds of judgements at once) the judge is built to cost less than the server: calls to
a model from an `openai:` spec go straight to the server over `DirectChatTransport` (no LangChain or SDK
layers; any other `BaseChatModel` is called through LangChain), prompts are filled into a template
rendered once per criteria chunk, and schemas are built once. Calls run at temperature 0 unless the
model's temperature (or the judge's `temperature`) is set; one retry policy (`core.retry`) makes at
most `retries + 1` requests per chunk; `timeout` bounds a whole judgement; a reply is scanned in
linear time (off the event loop when it is long) and never crashes the caller.

Example:
    >>> from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
    >>> criteria = CriteriaSet(task="a haiku", dimensions=[Dimension(name="Craft", criteria=[
    ...     Criterion(id="imagery", name="Imagery", description="Concrete sensory images",
    ...               levels=[Level(anchor="abstract"), Level(anchor="some images"), Level(anchor="vivid")])])])
    >>> card = Judge("fake").score("Frost on the window; a kettle starts to sing.", criteria)
    >>> [s.criterion_id for s in card.scores], card.unscored, card.overall is not None
    (['imagery'], (), True)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from writer_r1.agents.judge_cache import JudgeCache, cache_key, resolve_cache
from writer_r1.agents.judge_schema import (
    Winner,
    pairwise_contract,
    parse_pairwise,
    parse_verdicts,
    verdict_contract,
)
from writer_r1.agents.language import task_language_label
from writer_r1.agents.pairwise_criteria import CriterionComparison, CriterionVerdict
from writer_r1.core.asyncio_utils import run_sync
from writer_r1.core.criteria import CriteriaSet, Criterion
from writer_r1.core.models import load_chat_model, model_identity
from writer_r1.core.retry import InvalidReply, model_call_retrying
from writer_r1.core.scorecard import CriterionScore, Scorecard, UnscoredCriterion
from writer_r1.core.structured import JsonContract, _reply_text, response_format_for, supports_response_format
from writer_r1.prompts import make_delimiter, render, template_version

logger = logging.getLogger(__name__)

Choice = Literal["a", "b", "tie"]
_CACHED_SCORES = TypeAdapter(list[CriterionScore])
_OFF_LOOP_CHARS = 16_384
"""Replies longer than this are parsed in a worker thread, so a long reply does not stall other calls."""
_MAX_PREPARED = 256
"""Prompt templates and schemas kept per Judge (one per criteria chunk and task)."""
_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


@dataclass(frozen=True)
class _Prepared:
    """What a judge call on one criteria chunk needs, built once: the prompt around the text, the schema."""

    pieces: tuple[str, ...]  # the rendered prompt split at the text and delimiter placeholders
    slots: tuple[str, ...]  # which placeholder follows each piece: "text" or "delimiter"
    others: str  # the task and criteria texts, joined, that a delimiter must avoid too
    others_parts: tuple[str, ...]
    contract: JsonContract[Any]
    response_format: dict[str, Any]

    def prompt(self, text: str) -> str:
        delimiter = "<<<TEXT>>>"
        if delimiter in text or delimiter in self.others:
            delimiter = make_delimiter(text, *self.others_parts)
        fenced = f"{delimiter}\n{text}\n{delimiter}"
        out = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:], strict=True):
            out.append(fenced if slot == "text" else delimiter)
            out.append(piece)
        return "".join(out)


class PairwiseVerdict(BaseModel):
    """The verdict of one order of a pairwise comparison, in terms of the caller's texts.

    `order` "ab" showed `text_a` first (as "A"), "ba" showed `text_b` first. `winner` is None when
    this order produced no valid verdict; `reason` then says why.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    order: Literal["ab", "ba"]
    winner: Choice | None
    reason: str
    criteria: dict[str, CriterionVerdict] | None = None  # per_criterion=True: each criterion's verdict


class Comparison(BaseModel):
    """Which of two texts is better, judged in both orders to cancel position bias.

    `preferred` combines the two orders (a=+1, b=-1, tie=0; the sign of the sum): both orders for
    the same text prefer it; a preference against a tie still prefers it; opposite preferences —
    the signature of position bias — are a tie. `consistent` is True when both orders agree exactly.
    When either order has no valid verdict the bias cannot be cancelled, so `preferred` is None.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    criteria_version: str
    preferred: Choice | None
    consistent: bool
    verdicts: tuple[PairwiseVerdict, PairwiseVerdict]
    criteria: dict[str, CriterionComparison] | None = None  # per_criterion=True: each criterion, both orders

    @property
    def reasons(self) -> list[str]:
        return [verdict.reason for verdict in self.verdicts]


def combine_orders(first: Choice | None, second: Choice | None) -> tuple[Choice | None, bool]:
    """(preferred, consistent) from the verdicts of the two orders (see `Comparison`)."""
    if first is None or second is None:
        return None, False
    value = {"a": 1, "b": -1, "tie": 0}
    total = value[first] + value[second]
    preferred: Choice = "a" if total > 0 else "b" if total < 0 else "tie"
    return preferred, first == second


class Judge:
    """Scores texts against criteria with an LLM, and compares two texts.

    Args:
        model: a LangChain chat model, or a spec string (`openai:MODEL`, `fake`, `hf:...`).
        base_url: the OpenAI-compatible server for a spec string (default `WRITER_R1_BASE_URL`).
        criteria_per_call: None judges every criterion in one call; k splits the criteria into
            concurrent calls of k criteria each (smaller prompts and replies, more requests).
        max_concurrency: model calls in flight at once, shared by every call on this Judge.
        retries: extra attempts per call; each re-asks only about the criteria still failing. A chunk
            makes at most `retries + 1` requests (the judge's own transport never retries by itself).
        timeout: seconds for a whole judgement (every chunk, retry and wait for a slot); what is not
            judged by then is unscored. None: no deadline beyond each request's own timeout.
        temperature: the judge's sampling temperature; None uses the model's when it was set
            explicitly, else 0. It is sent with every request.
        min_coverage: the share of criteria that must be scored for a scorecard to carry an `overall`
            (1.0: every criterion; see `Scorecard`).
        cache: "memory" (default), a path to an SQLite file, a `JudgeCache`, or None for no cache.
            Keys: model identity, template version, criteria version, the criteria in the call,
            task and text. Only complete verdicts are stored.
        template / pairwise_template: paths overriding `prompts/judge.j2` / `prompts/judge_pairwise.j2`.

    Example:
        >>> from writer_r1.testing import ScriptedChatModel
        >>> from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
        >>> criteria = CriteriaSet(dimensions=[Dimension(name="Style", criteria=[Criterion(
        ...     id="clarity", name="Clarity", description="Easy to follow",
        ...     levels=[Level(anchor="muddled"), Level(anchor="clear")])])])
        >>> judge = Judge(ScriptedChatModel(replies=['{"clarity": {"reason": "Plain.", "level": 2}}']))
        >>> judge.score("Short and plain.", criteria).overall
        1.0
    """

    def __init__(
        self,
        model: BaseChatModel | str,
        *,
        base_url: str | None = None,
        criteria_per_call: int | None = None,
        max_concurrency: int = 32,
        retries: int = 2,
        cache: JudgeCache | str | os.PathLike[str] | None = "memory",
        template: str | os.PathLike[str] | None = None,
        pairwise_template: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        temperature: float | None = None,
        min_coverage: float = 1.0,
    ):
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be None or > 0 seconds, got {timeout}")
        if not 0.0 < min_coverage <= 1.0:
            raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage}")
        if criteria_per_call is not None and criteria_per_call < 1:
            raise ValueError(f"criteria_per_call must be None or >= 1, got {criteria_per_call}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self._spec = (model, base_url) if isinstance(model, str) else None
        self.model: BaseChatModel = load_chat_model(model, base_url=base_url) if isinstance(model, str) else model
        self.criteria_per_call = criteria_per_call
        self.max_concurrency = max_concurrency
        self.retries = retries
        self.cache = resolve_cache(cache)
        self.template = template
        self.pairwise_template = pairwise_template
        self.timeout = timeout
        self.temperature = temperature
        self.min_coverage = min_coverage
        self._init_runtime()

    def _init_runtime(self) -> None:
        from writer_r1.core.openai_compat import OpenAICompatChat

        self._model_identity = model_identity(self.model)
        self._template_version = template_version("judge", self.template)
        self._pairwise_template_version = template_version("judge_pairwise", self.pairwise_template)
        self._enforced = supports_response_format(self.model)
        self._temperature = _judge_temperature(self.model, self.temperature)
        model = self.model
        direct = isinstance(model, OpenAICompatChat) and model.direct_judge and bool(model.openai_api_base)
        self._direct: OpenAICompatChat | None = model if direct and isinstance(model, OpenAICompatChat) else None
        self._direct_payload = self._direct.direct_payload() if self._direct is not None else {}
        self._request_timeout = getattr(self.model, "request_timeout", None)
        if not isinstance(self._request_timeout, (int, float)):
            self._request_timeout = None
        self._prepared: OrderedDict[tuple[Any, ...], _Prepared] = OrderedDict()
        self._lock = threading.Lock()
        # An asyncio.Semaphore belongs to the loop it is first used in; TRL and run_sync call from
        # fresh loops, so each running loop gets its own.
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in {"_lock", "_semaphores", "_prepared", "_direct"}}
        if self._spec is not None:  # rebuilt from its spec where it is unpickled (no client to pickle)
            state["model"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.model is None and self._spec is not None:
            self.model = load_chat_model(self._spec[0], base_url=self._spec[1])
        self._init_runtime()

    # --- prompts ---------------------------------------------------------------------------

    def prompt(self, text: str, criteria: Sequence[Criterion], task: str = "") -> str:
        """The judging prompt for `criteria`: task, criteria with level anchors, fenced text, contract."""
        return self._prepare(criteria, task).prompt(text)

    def _prepare(self, criteria: Sequence[Criterion], task: str, version: str = "") -> _Prepared:
        """The chunk's prompt template and schema, rendered once per (task, criteria) and kept (bounded)."""
        key = (version, task, tuple(c.id for c in criteria)) if version else (task, tuple(criteria))
        with self._lock:
            prepared = self._prepared.get(key)
            if prepared is not None:
                self._prepared.move_to_end(key)
                return prepared
        others_parts = (task, *_criteria_texts(criteria))
        # Placeholders that occur nowhere in the template's inputs mark where the text and delimiter go.
        marker = f"\x00{secrets.token_hex(8)}"
        text_slot, delimiter_slot = f"{marker}T\x00", f"{marker}D\x00"
        rendered = render(
            "judge",
            template=self.template,
            task=task,
            criteria=list(criteria),
            text=text_slot,
            delimiter=delimiter_slot,
            problems={},
            language=task_language_label(task),
        )
        pieces, slots, rest = [], [], rendered
        while True:
            positions = [
                (rest.find(slot), name, slot) for name, slot in (("text", text_slot), ("delimiter", delimiter_slot))
            ]
            found = [p for p in positions if p[0] >= 0]
            if not found:
                pieces.append(rest)
                break
            index, name, slot = min(found)
            pieces.append(rest[:index])
            slots.append(name)
            rest = rest[index + len(slot) :]
        contract = verdict_contract(criteria)
        prepared = _Prepared(
            pieces=tuple(pieces),
            slots=tuple(slots),
            others="\n".join(others_parts),
            others_parts=others_parts,
            contract=contract,
            response_format=response_format_for(contract),
        )
        with self._lock:
            self._prepared[key] = prepared
            while len(self._prepared) > _MAX_PREPARED:
                self._prepared.popitem(last=False)
        return prepared

    def _retry_prompt(self, criteria: Sequence[Criterion], problems: dict[str, str], accepted: list[str]) -> str:
        return render("judge", template=self.template, criteria=list(criteria), problems=problems, accepted=accepted)

    def pairwise_prompt(self, first: str, second: str, criteria: CriteriaSet, task: str = "") -> str:
        """The comparison prompt with `first` shown as text A and `second` as text B."""
        others = (task, *_criteria_texts(criteria.criteria))
        delimiter_a = make_delimiter(first, second, *others, stem="TEXT-A")
        delimiter_b = make_delimiter(first, second, *others, stem="TEXT-B")
        return render(
            "judge_pairwise",
            template=self.pairwise_template,
            task=task,
            criteria=criteria.criteria,
            weights=criteria.effective_weights(),
            text_a=f"{delimiter_a}\n{first}\n{delimiter_a}",
            text_b=f"{delimiter_b}\n{second}\n{delimiter_b}",
            delimiter_a=delimiter_a,
            delimiter_b=delimiter_b,
            problem="",
            language=task_language_label(task),
        )

    # --- scoring ---------------------------------------------------------------------------

    def score(self, text: str, criteria: CriteriaSet, task: str | None = None) -> Scorecard:
        """Synchronous `ascore` (safe inside a running event loop: it runs on a fresh one)."""
        return run_sync(self.ascore(text, criteria, task))

    async def ascore(self, text: str, criteria: CriteriaSet, task: str | None = None) -> Scorecard:
        """Score one text. `task` defaults to the criteria set's task."""
        task_text = criteria.task if task is None else task
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        outcomes = await asyncio.gather(
            *(self._judge_chunk(text, criteria, chunk, task_text, deadline) for chunk in self._chunks(criteria))
        )
        scores = [score for chunk_scores, _ in outcomes for score in chunk_scores]
        unscored = [entry for _, chunk_unscored in outcomes for entry in chunk_unscored]
        return Scorecard.build(criteria, scores, unscored, min_coverage=self.min_coverage)

    def score_many(self, texts: Sequence[str], criteria: CriteriaSet, task: str | None = None) -> list[Scorecard]:
        """Synchronous `ascore_many`."""
        return run_sync(self.ascore_many(texts, criteria, task))

    async def ascore_many(
        self, texts: Sequence[str], criteria: CriteriaSet, task: str | None = None
    ) -> list[Scorecard]:
        """Score many texts concurrently (one scorecard per text, in order; repeated texts judged once)."""
        unique = list(dict.fromkeys(texts))
        cards = await asyncio.gather(*(self.ascore(text, criteria, task) for text in unique))
        by_text = dict(zip(unique, cards, strict=True))
        return [by_text[text] for text in texts]

    def _chunks(self, criteria: CriteriaSet) -> list[list[Criterion]]:
        items = criteria.criteria
        size = self.criteria_per_call or len(items)
        return [items[start : start + size] for start in range(0, len(items), size)]

    def _chunk_key(self, text: str, criteria: CriteriaSet, chunk: Sequence[Criterion], task: str) -> str:
        return cache_key(
            kind="score",
            model=self._model_identity,
            template=self._template_version,
            criteria_version=criteria.version,
            chunk=[criterion.id for criterion in chunk],
            task=task,
            text=text,
        )

    def _cached(self, key: str) -> list[CriterionScore] | None:
        if self.cache is None:
            return None
        value = self.cache.get(key)
        if value is None:
            return None
        try:
            return _CACHED_SCORES.validate_json(value)
        except ValidationError as error:
            logger.warning("ignoring an unreadable judge cache entry: %s", error)
            return None

    async def _judge_chunk(
        self, text: str, criteria: CriteriaSet, chunk: list[Criterion], task: str, deadline: float | None = None
    ) -> tuple[list[CriterionScore], list[UnscoredCriterion]]:
        key = self._chunk_key(text, criteria, chunk, task)
        if (hit := self._cached(key)) is not None:
            return hit, []
        prepared = self._prepare(chunk, task, criteria.version)
        accepted: dict[str, CriterionScore] = {}
        pending = list(chunk)
        problems: dict[str, str] = {c.id: "no attempt was made" for c in chunk}
        history: list[BaseMessage] = [HumanMessage(content=prepared.prompt(text))]
        attempts = 0
        try:
            async with _deadline(deadline):
                async for attempt in model_call_retrying(self.retries, deadline=deadline):
                    with attempt:
                        attempts += 1
                        first = len(pending) == len(chunk)
                        contract = prepared.contract if first else verdict_contract(pending)
                        response_format = prepared.response_format if first else None
                        reply = await self._call(history, contract, deadline, response_format)
                        if isinstance(reply, Exception):
                            problems = {
                                c.id: f"the model call failed: {type(reply).__name__}: {reply}" for c in pending
                            }
                            raise reply
                        parsed = await _off_loop_if_long(parse_verdicts, reply, pending)
                        if parsed.unknown_ids:
                            logger.info("judge reply named unknown criteria %s; ignored", parsed.unknown_ids[:8])
                        accepted.update(parsed.scores)
                        problems = parsed.problems
                        pending = [c for c in pending if c.id in problems]
                        if pending:
                            history = history + [
                                AIMessage(content=reply),
                                HumanMessage(content=self._retry_prompt(pending, problems, sorted(accepted))),
                            ]
                            raise InvalidReply(f"{len(pending)} criteria not settled")
        except Exception as error:  # noqa: BLE001 - the last failure is in `problems`; it becomes unscored, never raised
            if _expired(error, deadline):
                problems = {
                    c.id: f"the judgement's deadline of {self.timeout:g} s passed ({problems[c.id]})" for c in pending
                }
        scores = [accepted[c.id] for c in chunk if c.id in accepted]
        if not pending and self.cache is not None:
            self.cache.put(key, _CACHED_SCORES.dump_json(scores).decode())
        unscored = [
            UnscoredCriterion(criterion_id=c.id, reason=f"no valid verdict after {attempts} attempts: {problems[c.id]}")
            for c in pending
        ]
        if unscored:
            logger.warning("judge left %d of %d criteria unscored: %s", len(unscored), len(chunk), unscored[0].reason)
        return scores, unscored

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            semaphore = self._semaphores.get(loop)
            if semaphore is None:
                semaphore = asyncio.Semaphore(self.max_concurrency)
                self._semaphores[loop] = semaphore
            return semaphore

    async def _call(
        self,
        messages: list[BaseMessage],
        contract: JsonContract[Any],
        deadline: float | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> str | Exception:
        """The model's reply text, or the exception the call raised (never raised further)."""
        response_format = response_format or response_format_for(contract)
        try:
            async with self._semaphore():
                if self._direct is not None:
                    return await self._direct_call(messages, response_format, deadline)
                kwargs: dict[str, Any] = {"response_format": response_format} if self._enforced else {}
                if self._temperature is not None:
                    kwargs["temperature"] = self._temperature
                message = await self.model.ainvoke(messages, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a failed call is reported as unscored, never raised
            logger.warning("judge call failed: %s: %s", type(error).__name__, error)
            return error
        return _reply_text(message)

    async def _direct_call(
        self, messages: list[BaseMessage], response_format: dict[str, Any], deadline: float | None
    ) -> str:
        assert self._direct is not None
        payload = dict(self._direct_payload)
        payload["messages"] = [
            {"role": _ROLES.get(m.type, "user"), "content": m.content if isinstance(m.content, str) else _reply_text(m)}
            for m in messages
        ]
        payload["temperature"] = self._temperature
        if self._enforced:  # as on the LangChain path: no schema for a server known not to take one
            payload["response_format"] = response_format
        timeout = self._request_timeout
        if deadline is not None:
            remaining = max(0.001, deadline - time.monotonic())
            timeout = remaining if timeout is None else min(timeout, remaining)
        return await self._direct.direct_transport().complete(payload, timeout=timeout)

    # --- pairwise --------------------------------------------------------------------------

    def compare(
        self, text_a: str, text_b: str, criteria: CriteriaSet, task: str | None = None, *, per_criterion: bool = False
    ) -> Comparison:
        """Synchronous `acompare`."""
        return run_sync(self.acompare(text_a, text_b, criteria, task, per_criterion=per_criterion))

    async def acompare(
        self, text_a: str, text_b: str, criteria: CriteriaSet, task: str | None = None, *, per_criterion: bool = False
    ) -> Comparison:
        """Compare two texts in both orders (A/B, then B/A) and combine the verdicts (see `Comparison`).

        `per_criterion=True` also asks for an A/B/tie verdict with one line of evidence on every criterion
        (`writer_r1.agents.pairwise_criteria`), combined across the orders in `Comparison.criteria`.
        """
        task_text = criteria.task if task is None else task
        if per_criterion:
            from writer_r1.agents.pairwise_criteria import combine_criteria, pairwise_order_criteria

            first, second = await asyncio.gather(
                pairwise_order_criteria(self, "ab", text_a, text_b, criteria, task_text),
                pairwise_order_criteria(self, "ba", text_b, text_a, criteria, task_text),
            )
            preferred, consistent = combine_orders(first.winner, second.winner)
            return Comparison(
                criteria_version=criteria.version,
                preferred=preferred,
                consistent=consistent,
                verdicts=(first, second),
                criteria=combine_criteria(first, second, criteria),
            )
        first, second = await asyncio.gather(
            self._pairwise_order("ab", text_a, text_b, criteria, task_text),
            self._pairwise_order("ba", text_b, text_a, criteria, task_text),
        )
        preferred, consistent = combine_orders(first.winner, second.winner)
        return Comparison(
            criteria_version=criteria.version, preferred=preferred, consistent=consistent, verdicts=(first, second)
        )

    async def _pairwise_order(
        self, order: Literal["ab", "ba"], shown_first: str, shown_second: str, criteria: CriteriaSet, task: str
    ) -> PairwiseVerdict:
        # Cached as shown ("A" = the first text shown), so the entry serves any caller's order.
        key = cache_key(
            kind="pairwise",
            model=self._model_identity,
            template=self._pairwise_template_version,
            criteria_version=criteria.version,
            task=task,
            texts=[shown_first, shown_second],
        )
        if self.cache is not None and (value := self.cache.get(key)) is not None:
            outcome = parse_pairwise(value)
            if not isinstance(outcome, str):
                return PairwiseVerdict(order=order, winner=_unshow(outcome[0], order), reason=outcome[1])
            logger.warning("ignoring an unreadable judge cache entry: %s", outcome)
        contract = pairwise_contract()
        history: list[BaseMessage] = [
            HumanMessage(content=self.pairwise_prompt(shown_first, shown_second, criteria, task))
        ]
        problem = "no attempt was made"
        attempts = 0
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        try:
            async with _deadline(deadline):
                async for attempt in model_call_retrying(self.retries, deadline=deadline):
                    with attempt:
                        attempts += 1
                        reply = await self._call(history, contract, deadline)
                        if isinstance(reply, Exception):
                            problem = f"the model call failed: {type(reply).__name__}: {reply}"
                            raise reply
                        outcome = await _off_loop_if_long(parse_pairwise, reply)
                        if isinstance(outcome, str):
                            problem = outcome
                            retry = render("judge_pairwise", template=self.pairwise_template, problem=outcome)
                            history = history + [AIMessage(content=reply), HumanMessage(content=retry)]
                            raise InvalidReply(outcome)
        except Exception as error:  # noqa: BLE001 - the last failure is in `problem`; no verdict, never raised
            if _expired(error, deadline):
                problem = f"the judgement's deadline of {self.timeout:g} s passed ({problem})"
        else:
            # the retries end without an error only after a reply that parsed: `outcome` is (winner, reason)
            shown_winner, reason = cast("tuple[Winner, str]", outcome)
            if self.cache is not None:
                self.cache.put(key, json.dumps({"reason": reason, "winner": shown_winner}, ensure_ascii=False))
            return PairwiseVerdict(order=order, winner=_unshow(shown_winner, order), reason=reason)
        logger.warning("pairwise judge gave no valid verdict (%s order): %s", order, problem)
        return PairwiseVerdict(
            order=order, winner=None, reason=f"no valid verdict after {attempts} attempts: {problem}"
        )


def _judge_temperature(model: BaseChatModel, explicit: float | None) -> float | None:
    """The temperature judge calls send: the explicit one, else the model's when set by its user, else 0.

    None for models without a `temperature` setting (nothing is sent to those).
    """
    if explicit is not None:
        return explicit
    fields = getattr(type(model), "model_fields", {})
    if "temperature" not in fields:
        return None
    value = getattr(model, "temperature", None)
    if "temperature" in getattr(model, "model_fields_set", set()) and isinstance(value, (int, float)):
        return float(value)
    return 0.0


def _deadline(deadline: float | None) -> asyncio.Timeout:
    """`asyncio.timeout` until a `time.monotonic()` deadline (None: no deadline)."""
    return asyncio.timeout(None if deadline is None else max(0.0, deadline - time.monotonic()))


def _expired(error: BaseException, deadline: float | None) -> bool:
    return isinstance(error, TimeoutError) and deadline is not None and time.monotonic() >= deadline - 0.01


async def _off_loop_if_long(parse: Any, reply: str, *args: Any) -> Any:
    """Parse a reply; a long one in a worker thread, so other calls on the loop go on meanwhile."""
    if len(reply) > _OFF_LOOP_CHARS:
        return await asyncio.to_thread(parse, reply, *args)
    return parse(reply, *args)


def _unshow(shown: Literal["A", "B", "tie"], order: Literal["ab", "ba"]) -> Choice:
    """Map the winner as shown ("A" = first shown) back to the caller's texts."""
    if shown == "tie":
        return "tie"
    first_is_a = order == "ab"
    return "a" if (shown == "A") == first_is_a else "b"


def _criteria_texts(criteria: Sequence[Criterion]) -> list[str]:
    """Every string of the criteria that the prompt shows, so a delimiter can avoid them all."""
    texts: list[str] = []
    for criterion in criteria:
        texts += [criterion.id, criterion.name, criterion.description]
        texts += [part for level in criterion.levels for part in (level.anchor, level.label or "")]
    return texts
