"""The criteria judge: scores a text against a `CriteriaSet`, and compares two texts.

Each call asks for a verdict on some criteria (all of them, or `criteria_per_call` at a time) under
a JSON Schema generated from those criteria; calls run concurrently under one semaphore per Judge.
Valid verdicts are kept criterion by criterion; the judge re-asks only about the criteria whose
verdict was missing or invalid, and what is still not judged after the retries becomes an explicit
`UnscoredCriterion` — never a default score, never an exception for a bad reply or a down server.

The text is fenced between delimiter lines that occur nowhere in it, and the output contract is
restated after it, so a text that carries instructions, fake delimiters or a fake verdict gains
nothing; only the model's own reply is parsed.

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
import threading
import weakref
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from writer_r1.agents.judge_cache import JudgeCache, cache_key, resolve_cache
from writer_r1.agents.judge_schema import (
    pairwise_contract,
    parse_pairwise,
    parse_verdicts,
    verdict_contract,
)
from writer_r1.agents.pairwise_criteria import CriterionComparison, CriterionVerdict
from writer_r1.core.asyncio_utils import run_sync
from writer_r1.core.criteria import CriteriaSet, Criterion
from writer_r1.core.models import load_chat_model, model_identity
from writer_r1.core.scorecard import CriterionScore, Scorecard, UnscoredCriterion
from writer_r1.core.structured import JsonContract, response_format_for, supports_response_format
from writer_r1.prompts import make_delimiter, render, template_version

logger = logging.getLogger(__name__)

Choice = Literal["a", "b", "tie"]
_CACHED_SCORES = TypeAdapter(list[CriterionScore])


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
        retries: extra attempts per call; each re-asks only about the criteria still failing.
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
    ):
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
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._model_identity = model_identity(self.model)
        self._template_version = template_version("judge", self.template)
        self._pairwise_template_version = template_version("judge_pairwise", self.pairwise_template)
        self._enforced = supports_response_format(self.model)
        self._lock = threading.Lock()
        # An asyncio.Semaphore belongs to the loop it is first used in; TRL and run_sync call from
        # fresh loops, so each running loop gets its own.
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in {"_lock", "_semaphores"}}
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
        delimiter = make_delimiter(text, task, *_criteria_texts(criteria))
        return render(
            "judge",
            template=self.template,
            task=task,
            criteria=list(criteria),
            text=f"{delimiter}\n{text}\n{delimiter}",
            delimiter=delimiter,
            problems={},
        )

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
        )

    # --- scoring ---------------------------------------------------------------------------

    def score(self, text: str, criteria: CriteriaSet, task: str | None = None) -> Scorecard:
        """Synchronous `ascore` (safe inside a running event loop: it runs on a fresh one)."""
        return run_sync(self.ascore(text, criteria, task))

    async def ascore(self, text: str, criteria: CriteriaSet, task: str | None = None) -> Scorecard:
        """Score one text. `task` defaults to the criteria set's task."""
        task_text = criteria.task if task is None else task
        outcomes = await asyncio.gather(
            *(self._judge_chunk(text, criteria, chunk, task_text) for chunk in self._chunks(criteria))
        )
        scores = [score for chunk_scores, _ in outcomes for score in chunk_scores]
        unscored = [entry for _, chunk_unscored in outcomes for entry in chunk_unscored]
        return Scorecard.build(criteria, scores, unscored)

    def score_many(self, texts: Sequence[str], criteria: CriteriaSet, task: str | None = None) -> list[Scorecard]:
        """Synchronous `ascore_many`."""
        return run_sync(self.ascore_many(texts, criteria, task))

    async def ascore_many(self, texts: Sequence[str], criteria: CriteriaSet, task: str | None = None) -> list[Scorecard]:
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
        self, text: str, criteria: CriteriaSet, chunk: list[Criterion], task: str
    ) -> tuple[list[CriterionScore], list[UnscoredCriterion]]:
        key = self._chunk_key(text, criteria, chunk, task)
        if (hit := self._cached(key)) is not None:
            return hit, []
        accepted: dict[str, CriterionScore] = {}
        pending = list(chunk)
        problems: dict[str, str] = {}
        history: list[BaseMessage] = [HumanMessage(content=self.prompt(text, chunk, task))]
        for attempt in range(self.retries + 1):
            contract = verdict_contract(pending)
            reply = await self._call(history, contract)
            if isinstance(reply, Exception):
                problems = {c.id: f"the model call failed: {type(reply).__name__}: {reply}" for c in pending}
                if attempt < self.retries:
                    await asyncio.sleep(min(0.2 * 2**attempt, 2.0))
                continue
            parsed = parse_verdicts(reply, pending)
            if parsed.unknown_ids:
                logger.info("judge reply named unknown criteria %s; ignored", parsed.unknown_ids[:8])
            accepted.update(parsed.scores)
            problems = parsed.problems
            pending = [c for c in pending if c.id in problems]
            if not pending:
                break
            history = history + [
                AIMessage(content=reply),
                HumanMessage(content=self._retry_prompt(pending, problems, sorted(accepted))),
            ]
        scores = [accepted[c.id] for c in chunk if c.id in accepted]
        if not pending and self.cache is not None:
            self.cache.put(key, _CACHED_SCORES.dump_json(scores).decode())
        attempts = self.retries + 1
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

    async def _call(self, messages: list[BaseMessage], contract: JsonContract[Any]) -> str | Exception:
        """The model's reply text, or the exception the call raised (never raised further)."""
        kwargs = {"response_format": response_format_for(contract)} if self._enforced else {}
        try:
            async with self._semaphore():
                message = await self.model.ainvoke(messages, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a failed call is reported as unscored, never raised
            logger.warning("judge call failed: %s: %s", type(error).__name__, error)
            return error
        return message.text

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
            return Comparison(criteria_version=criteria.version, preferred=preferred, consistent=consistent,
                              verdicts=(first, second), criteria=combine_criteria(first, second, criteria))
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
        history: list[BaseMessage] = [HumanMessage(content=self.pairwise_prompt(shown_first, shown_second, criteria, task))]
        problem = "no attempt was made"
        for attempt in range(self.retries + 1):
            reply = await self._call(history, contract)
            if isinstance(reply, Exception):
                problem = f"the model call failed: {type(reply).__name__}: {reply}"
                if attempt < self.retries:
                    await asyncio.sleep(min(0.2 * 2**attempt, 2.0))
                continue
            outcome = parse_pairwise(reply)
            if isinstance(outcome, str):
                problem = outcome
                retry = render("judge_pairwise", template=self.pairwise_template, problem=outcome)
                history = history + [AIMessage(content=reply), HumanMessage(content=retry)]
                continue
            shown_winner, reason = outcome
            if self.cache is not None:
                self.cache.put(key, json.dumps({"reason": reason, "winner": shown_winner}, ensure_ascii=False))
            return PairwiseVerdict(order=order, winner=_unshow(shown_winner, order), reason=reason)
        logger.warning("pairwise judge gave no valid verdict (%s order): %s", order, problem)
        return PairwiseVerdict(
            order=order, winner=None, reason=f"no valid verdict after {self.retries + 1} attempts: {problem}"
        )


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
