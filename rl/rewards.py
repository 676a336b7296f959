"""Reward functions for TRL's `GRPOTrainer`: criteria quality, constraint compliance, and RLMR's mix of both.

They follow TRL's contract: called with keywords over the whole batch (`prompts`, `completions`,
`completion_ids`, every dataset column, `trainer_state`, `log_metric`, `log_extra`), return one
`float | None` per completion, work with plain-text and conversational data, pickle (clients are
rebuilt lazily in each worker), and expose `__name__`. `__call__` is async: TRL 1.16 runs async
reward functions concurrently on its own event loop; outside a trainer use `score(...)`.

Dataset columns:
    criteria     a `CriteriaSet` as JSON (or a dict), or an id in the criteria library
    constraints  a JSON list of `{"id": registry id, "kwargs": {...}}`; absent or None → extracted from
                 the prompt with the rule extractor, cached per prompt
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from writer_r1.core.asyncio_utils import run_sync
from writer_r1.core.criteria import ConstraintSpec, CriteriaSet
from writer_r1.core.errors import UserError
from writer_r1.core.scorecard import ConstraintResult, Scorecard
from writer_r1.rl.rlmr import MixMode, check_mixing, rlmr_mix

logger = logging.getLogger(__name__)

LogMetric = Callable[[str, float], None]
LogExtra = Callable[[str, list[Any]], None]


def content_text(content: Any) -> str:
    """A message's content as text: a string, or the text blocks of a content list (`{"type": "text", ...}`)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            block.get("text", "") if isinstance(block, dict) else str(block)
            for block in content
            if not isinstance(block, dict) or block.get("type", "text") == "text"
        )
    return "" if content is None else str(content)


def message_text(value: Any) -> str:
    """The text of a prompt or completion in standard (str) or conversational (list of messages) format.

    Example:
        >>> message_text([{"role": "assistant", "content": [{"type": "text", "text": "Grey sea."}]}])
        'Grey sea.'
    """
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(content_text(m.get("content")) if isinstance(m, dict) else str(m) for m in value)
    if isinstance(value, dict):
        return content_text(value.get("content"))
    return str(value)


def task_text(prompt: Any) -> str:
    """The task a prompt asks for: in conversational format, the last user turn."""
    if isinstance(prompt, list):
        users = [m.get("content") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        if users:
            return content_text(users[-1])
    return message_text(prompt)


def _column(kwargs: dict[str, Any], name: str, size: int) -> list[Any]:
    values = kwargs.get(name)
    if values is None:
        return [None] * size
    if len(values) != size:
        raise UserError(f"dataset column {name!r} has {len(values)} values for {size} completions")
    return list(values)


async def extract_constraints(task: str, model: Any = None) -> list[ConstraintSpec]:
    """A task's constraints: the LLM extractor's when a model is given, else (or when it fails) the rules'.

    Example:
        >>> [spec.id for spec in run_sync(extract_constraints("Do not use bullet points."))]
        ['writing:no_bullet_lists']
    """
    from writer_r1.agents.extractor import ConstraintExtractor, extract_rules

    if model is None:
        return extract_rules(task)
    try:
        return await ConstraintExtractor(model).aextract(task)
    except Exception as error:  # noqa: BLE001 - a failed extraction falls back to the rules, never crashes training
        logger.warning("constraint extraction failed (%s: %s); using the rule extractor", type(error).__name__, error)
        return extract_rules(task)


class _Reward:
    """Shared plumbing: a name for TRL, lazy state dropped on pickling, a sync entry point.

    Attributes named in `_transient` hold clients built on first use; pickling drops them and the
    copy rebuilds them where it runs (TRL may pickle reward functions into other processes).
    """

    __name__ = "writer_r1_reward"
    _transient: tuple[str, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for key in self._transient:
            state[key] = None
        return state

    def score(self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float | None]:
        """Score a batch outside a trainer (works inside a running event loop too)."""
        return run_sync(self(prompts=list(prompts), completions=list(completions), **columns))

    async def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        raise NotImplementedError


class ConstraintReward(_Reward):
    """Share of a row's constraints that a completion satisfies, checked deterministically.

    A row with no constraints scores 1.0 (nothing was asked, so nothing was broken). Constraints that
    cannot be verified (an `llm:` requirement without a verifier, or a verifier call that failed) are
    left out of the share; a completion whose constraints are all unverifiable gets None.

    Args:
        verifier_model: verifies `llm:` requirements (a spec string such as `openai:MODEL`, or a chat
            model); None leaves them unverified.
        extractor_model: when a row has no `constraints`, the LLM extractor's model (spec or chat model);
            None extracts with the deterministic rules only. Extraction is cached per prompt.
        base_url: the OpenAI-compatible server for spec strings.
        extract: False treats a row without a `constraints` column as having no constraints.

    Example:
        >>> reward = ConstraintReward()
        >>> reward.score(["Answer without commas."], ["No commas here"],
        ...              constraints=['[{"id": "punctuation:no_comma"}]'])
        [1.0]
    """

    __name__ = "constraints"
    _transient = ("_models",)

    def __init__(
        self,
        *,
        verifier_model: Any = None,
        extractor_model: Any = None,
        base_url: str | None = None,
        extract: bool = True,
    ):
        self.verifier_model = verifier_model
        self.extractor_model = extractor_model
        self.base_url = base_url
        self.extract = extract
        self._parsed: dict[str, list[ConstraintSpec]] = {}
        self._extracted: dict[str, list[ConstraintSpec]] = {}
        self._models: dict[str, Any] | None = None

    def _model(self, role: str) -> Any:
        """The verifier or extractor model, built from its spec on first use (never pickled)."""
        spec = self.verifier_model if role == "verifier" else self.extractor_model
        if spec is None or not isinstance(spec, str):
            return spec
        if self._models is None:
            self._models = {}
        if role not in self._models:
            from writer_r1.core.models import load_chat_model

            self._models[role] = load_chat_model(spec, base_url=self.base_url)
        return self._models[role]

    def parse_column(self, column: Any) -> list[ConstraintSpec]:
        """A row's `constraints` value (JSON text or a list) as validated specs, parsed once per value."""
        key = column if isinstance(column, str) else json.dumps(column, sort_keys=True, ensure_ascii=False)
        if key not in self._parsed:
            from writer_r1.constraints.registry import checker_for

            try:
                raw = json.loads(column) if isinstance(column, str) else column
            except ValueError as error:
                raise UserError(f"the constraints column holds invalid JSON ({error}): {key[:120]}") from error
            if not isinstance(raw, list):
                raise UserError(
                    f"the constraints column must be a JSON list of {{id, kwargs}} objects, got {key[:120]}"
                )
            try:
                specs = [ConstraintSpec.model_validate(item) for item in raw]
            except ValueError as error:
                raise UserError(f"the constraints column holds an invalid constraint: {error}") from error
            for spec in specs:
                checker_for(spec)  # an unknown id or bad kwargs is a UserError naming it
            self._parsed[key] = specs
        return self._parsed[key]

    async def _extract(self, task: str) -> list[ConstraintSpec]:
        return await extract_constraints(task, self._model("extractor"))

    async def specs_for(self, prompts: list[Any], column: list[Any]) -> list[list[ConstraintSpec]]:
        """Each row's constraints: its column value, else extracted from its prompt (once per distinct prompt)."""
        tasks = [task_text(p) if c is None else None for p, c in zip(prompts, column, strict=True)]
        if self.extract:
            missing = list(dict.fromkeys(t for t in tasks if t is not None and t not in self._extracted))
            for task, specs in zip(missing, await asyncio.gather(*(self._extract(t) for t in missing)), strict=True):
                self._extracted[task] = specs
        return [
            self.parse_column(c) if c is not None else (self._extracted[t] if self.extract and t is not None else [])
            for c, t in zip(column, tasks, strict=True)
        ]

    async def results(
        self, prompts: list[Any], completions: list[Any], kwargs: dict[str, Any]
    ) -> list[list[ConstraintResult]]:
        """The constraint results of every completion against its row's constraints."""
        from writer_r1.constraints import averify

        specs = await self.specs_for(prompts, _column(kwargs, "constraints", len(completions)))
        verifier = self._model("verifier")
        reports = await asyncio.gather(
            *(
                averify(message_text(text), spec, llm_verifier=verifier)
                for text, spec in zip(completions, specs, strict=True)
            )
        )
        return [list(report.results) for report in reports]

    async def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        results = await self.results(prompts, completions, kwargs)
        log_metric: LogMetric | None = kwargs.get("log_metric")
        if log_metric is not None:
            _log_constraint_rates(log_metric, results)
        log_extra: LogExtra | None = kwargs.get("log_extra")
        if log_extra is not None:
            log_extra(f"{self.__name__}/failed", [failed_constraints(row) for row in results])
        return [_pass_share(r) for r in results]


def _pass_share(results: list[ConstraintResult]) -> float | None:
    if not results:
        return 1.0
    verified = [r for r in results if r.passed is not None]
    if not verified:
        return None
    return sum(1 for r in verified if r.passed) / len(verified)


def failed_constraints(results: Sequence[ConstraintResult]) -> str:
    """The ids of the constraints a completion failed, for TRL's completions table ("" when none failed).

    Example:
        >>> failed_constraints([ConstraintResult(id="punctuation:no_comma", passed=False),
        ...                     ConstraintResult(id="length:words", passed=True)])
        'punctuation:no_comma'
    """
    return ", ".join(r.id for r in results if r.passed is False)


def weakest_criterion(card: Scorecard, criteria: CriteriaSet, limit: int = 300) -> str:
    """The criterion that costs a completion most (largest weight × (1 − score)) and the judge's reason,
    for TRL's completions table; what could not be judged says so.

    Example:
        >>> from writer_r1.core.scorecard import CriterionScore
        >>> criteria = CriteriaSet.model_validate({"dimensions": [{"name": "Craft", "criteria": [
        ...     {"id": "imagery", "name": "Imagery", "description": "d", "levels": [{"anchor": "a"}, {"anchor": "b"}]},
        ...     {"id": "rhythm", "name": "Rhythm", "description": "d", "levels": [{"anchor": "a"}, {"anchor": "b"}]}]}]})
        >>> card = Scorecard.build(criteria, [CriterionScore(criterion_id="imagery", reason="vivid", level=2, score=1.0),
        ...     CriterionScore(criterion_id="rhythm", reason="monotonous", level=1, score=0.0)], [])
        >>> weakest_criterion(card, criteria)
        'rhythm (0.00): monotonous'
    """
    weights = criteria.effective_weights()
    if not card.scores:
        reason = card.unscored[0].reason if card.unscored else "no verdict"
        return f"unscored: {reason}"[:limit]
    weakest = max(card.scores, key=lambda s: weights.get(s.criterion_id, 0.0) * (1.0 - s.score))
    return f"{weakest.criterion_id} ({weakest.score:.2f}): {weakest.reason}"[:limit]


def _log_constraint_rates(log_metric: LogMetric, results: list[list[ConstraintResult]]) -> None:
    by_id: dict[str, list[float]] = defaultdict(list)
    for row in results:
        for result in row:
            if result.passed is not None:
                by_id[result.id].append(1.0 if result.passed else 0.0)
    for constraint_id, values in by_id.items():
        log_metric(f"constraints/{constraint_id}", sum(values) / len(values))


class CriteriaReward(_Reward):
    """The judge's weighted `overall` score of each completion against its row's criteria.

    A completion whose judging failed after retries gets None (TRL leaves it out of the group
    baseline and gives it no advantage), never 0; so does one with a criterion left unscored (a partial
    scorecard has no `overall` unless `min_coverage` < 1). Failures are counted in `log_metric`.
    `timeout` bounds each completion's whole judgement (see `Judge`).

    Example:
        >>> reward = CriteriaReward(judge_model="fake")
        >>> criteria = '{"dimensions": [{"name": "Craft", "criteria": [{"id": "imagery", "name": "Imagery",' \\
        ...     ' "description": "Concrete images", "levels": [{"anchor": "none"}, {"anchor": "vivid"}]}]}]}'
        >>> [0.0 <= r <= 1.0 for r in reward.score(["Write a haiku"], ["frost on the window"], criteria=[criteria])]
        [True]
    """

    __name__ = "criteria"
    _transient = ("_judge", "_criteria_cache", "_library")

    def __init__(
        self,
        judge_model: Any = None,
        *,
        base_url: str | None = None,
        max_concurrency: int = 64,
        criteria_per_call: int | None = None,
        retries: int = 2,
        cache: str | None = "memory",
        library: str | None = None,
        timeout: float | None = None,
        min_coverage: float = 1.0,
    ):
        self.judge_model = judge_model
        self.base_url = base_url
        self.max_concurrency = max_concurrency
        self.criteria_per_call = criteria_per_call
        self.retries = retries
        self.cache = cache
        self.library = library
        self.timeout = timeout
        self.min_coverage = min_coverage
        self._judge: Any = None
        self._criteria_cache: dict[str, CriteriaSet] | None = None
        self._library: Any = None

    @property
    def judge(self) -> Any:
        if self._judge is None:
            from writer_r1.agents.judge import Judge

            self._judge = Judge(
                self.judge_model if self.judge_model is not None else _default_spec(),
                base_url=self.base_url,
                max_concurrency=self.max_concurrency,
                criteria_per_call=self.criteria_per_call,
                retries=self.retries,
                cache=self.cache,
                timeout=getattr(self, "timeout", None),
                min_coverage=getattr(self, "min_coverage", 1.0),
            )
        return self._judge

    def criteria_of(self, value: Any) -> CriteriaSet:
        """Parse a row's criteria (JSON, dict or library id) once per distinct value."""
        if value is None:
            raise UserError("the dataset has no 'criteria' column (a CriteriaSet as JSON, or a library id)")
        if self._criteria_cache is None:
            self._criteria_cache = {}
        key = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        if key not in self._criteria_cache:
            if isinstance(value, CriteriaSet):
                parsed = value
            elif isinstance(value, dict):
                parsed = CriteriaSet.model_validate(value)
            elif value.lstrip().startswith("{"):
                parsed = CriteriaSet.model_validate_json(value)
            else:
                if self._library is None:  # opened once: it holds an SQLite store and an embeddings model
                    from writer_r1.memory.library import CriteriaLibrary

                    self._library = CriteriaLibrary(self.library)
                parsed = self._library.get(value)
                if parsed is None:
                    raise UserError(f"no criteria with id {value!r} in the criteria library")
            self._criteria_cache[key] = parsed
        return self._criteria_cache[key]

    async def scorecards(self, prompts: list[Any], completions: list[Any], kwargs: dict[str, Any]) -> list[Scorecard]:
        """One scorecard per completion; identical (text, criteria, task) triples are judged once."""
        column = _column(kwargs, "criteria", len(completions))
        judge = self.judge
        requests = [
            (message_text(text), self.criteria_of(criteria), task_text(prompt))
            for prompt, text, criteria in zip(prompts, completions, column, strict=True)
        ]
        keys = [(text, criteria.version, task) for text, criteria, task in requests]
        first = {key: index for index, key in reversed(list(enumerate(keys)))}
        unique = sorted(first.values())
        cards = await asyncio.gather(*(judge.ascore(*requests[index]) for index in unique))
        by_key = {keys[index]: card for index, card in zip(unique, cards, strict=True)}
        return [by_key[key] for key in keys]

    async def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        cards = await self.scorecards(prompts, completions, kwargs)
        log_metric: LogMetric | None = kwargs.get("log_metric")
        if log_metric is not None:
            _log_scorecards(log_metric, cards)
        self._log_weakest(kwargs, cards)
        return [card.overall for card in cards]

    def _log_weakest(self, kwargs: dict[str, Any], cards: list[Scorecard], name: str | None = None) -> None:
        """Each completion's weakest criterion and the judge's reason, as a column of TRL's completions table."""
        log_extra: LogExtra | None = kwargs.get("log_extra")
        if log_extra is None:
            return
        column = _column(kwargs, "criteria", len(cards))
        log_extra(
            f"{name or self.__name__}/weakest_criterion",
            [weakest_criterion(card, self.criteria_of(value)) for card, value in zip(cards, column, strict=True)],
        )


def _default_spec() -> str:
    from writer_r1.core.models import default_model_spec

    return default_model_spec()


def _log_scorecards(log_metric: LogMetric, cards: list[Scorecard]) -> None:
    dimensions: dict[str, list[float]] = defaultdict(list)
    criteria: dict[str, list[float]] = defaultdict(list)
    failed = 0
    for card in cards:
        if card.overall is None:
            failed += 1
        for dimension in card.dimensions:
            if dimension.score is not None:
                dimensions[dimension.name].append(dimension.score)
        for score in card.scores:
            criteria[score.criterion_id].append(score.score)
    for name, values in dimensions.items():
        log_metric(f"quality/dimension/{name}", sum(values) / len(values))
    for name, values in criteria.items():
        log_metric(f"quality/criterion/{name}", sum(values) / len(values))
    log_metric("quality/unscored_fraction", failed / len(cards) if cards else 0.0)
    if failed:
        logger.warning("%d of %d completions could not be judged; their quality reward is None", failed, len(cards))


def consecutive_groups(prompts: list[Any], num_generations: int | None = None) -> list[list[int]]:
    """Indices of the completions of each prompt group, in batch order.

    TRL repeats each prompt `num_generations` times in a row, so a group is a run of consecutive
    completions with the same prompt. A run that is a multiple of `num_generations` (the same prompt
    drawn twice in a row) is cut into groups of that size, as TRL's own advantage computation does.

    Example:
        >>> consecutive_groups(["a", "a", "b", "b", "b", "b"], num_generations=2)
        [[0, 1], [2, 3], [4, 5]]
    """
    runs: list[list[int]] = []
    previous: str | None = None
    for index, prompt in enumerate(prompts):
        key = prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, ensure_ascii=False)
        if runs and key == previous:
            runs[-1].append(index)
        else:
            runs.append([index])
        previous = key
    if not num_generations:
        return runs
    groups: list[list[int]] = []
    for run in runs:
        if len(run) % num_generations:
            groups.append(run)
        else:
            groups.extend(run[start : start + num_generations] for start in range(0, len(run), num_generations))
    return groups


async def call_reward(
    func: Any, prompts: list[Any], completions: list[Any], kwargs: dict[str, Any]
) -> list[float | None]:
    """Call any TRL reward function the way TRL does (keywords over the batch) and check what it returns.

    An async function (or a callable class with an async `__call__`) is awaited; a sync one runs in a
    worker thread, so it does not hold up the rest of the batch's scoring. The result must hold one
    value per completion: a real number, or None (NaN counts as None: TRL reads both as "unscored").

    Example:
        >>> def length(prompts, completions, **kwargs):
        ...     return [float(len(c)) for c in completions]
        >>> run_sync(call_reward(length, ["p", "p"], ["ab", "abc"], {}))
        [2.0, 3.0]
    """
    import inspect

    target = func.__call__ if not inspect.isfunction(func) and not inspect.ismethod(func) else func
    if inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(target):
        values = await func(prompts=prompts, completions=completions, **kwargs)
    else:
        values = await asyncio.to_thread(lambda: func(prompts=prompts, completions=completions, **kwargs))
        if inspect.isawaitable(values):
            values = await values
    name = getattr(func, "__name__", type(func).__name__)
    values = list(values)
    if len(values) != len(completions):
        raise UserError(f"the quality reward {name!r} returned {len(values)} values for {len(completions)} completions")
    out: list[float | None] = []
    for value in values:
        if value is None:
            out.append(None)
        elif isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
            raise UserError(f"the quality reward {name!r} returned {value!r}; expected a number or None")
        else:
            number = float(value)
            out.append(number if math.isfinite(number) else None)
    return out


class MixedReward(_Reward):
    """RLMR: a quality reward and constraint compliance mixed per group with a dynamic λ (see `rlmr`).

    The quality half is pluggable: `quality` is any TRL reward function (sync or async, called with
    our keyword contract), on any real-valued scale — a trained reward model (`ClassifierReward`), a
    group-relative pairwise judge (`PairwiseReward`), your own function. Without one it is our criteria
    judge (`CriteriaReward`, built from the judge settings below). λ, the margin and the penalties are
    measured in each group's quality spread, so no scale needs rescaling first.

    Use it as the only (or dominant) reward function with TRL's default `sum_then_normalize`
    aggregation: then every completion that breaks a constraint gets a negative advantage whatever
    its quality (and, with `mode="below_compliant"`, ranks below every compliant one). TRL computes
    rewards per process on that process's slice of the generation batch, so each process must see whole
    groups: with several processes keep `per_device_train_batch_size × steps_per_generation` (and
    `per_device_eval_batch_size`) a multiple of `num_generations` — `writer-r1 train grpo` checks this.
    Groups are runs of consecutive completions with the same prompt, cut at `num_generations` when it
    is given.

    Args:
        judge_model, base_url, max_concurrency, criteria_per_call, retries, cache, library: the
            criteria judge's settings (see `CriteriaReward`), used when `quality` is None.
        quality: the quality reward function; None builds `CriteriaReward` from the judge settings.
        verifier_model, extractor_model: see `ConstraintReward`.
        margin, severity_weight, fallback_penalty, mode: RLMR's δ, severity term, fallback penalty (all in
            units of the group's quality spread) and rule (`below_mean` | `below_compliant`); see `rlmr_rewards`.
        num_generations: TRL's group size, to cut a run of one prompt drawn twice in a row into groups.

    Example:
        >>> reward = MixedReward(judge_model="fake")
        >>> criteria = '{"dimensions": [{"name": "Craft", "criteria": [{"id": "imagery", "name": "Imagery",' \\
        ...     ' "description": "Concrete images", "levels": [{"anchor": "none"}, {"anchor": "vivid"}]}]}]}'
        >>> rewards = reward.score(["No commas please."] * 2, ["a, b", "a b"], criteria=[criteria] * 2,
        ...                        constraints=['[{"id": "punctuation:no_comma"}]'] * 2)
        >>> rewards[0] < sum(rewards) / 2
        True
        >>> def longer(prompts, completions, **kwargs):  # any TRL reward function, on any scale
        ...     return [100.0 * len(c) for c in completions]
        >>> strict = MixedReward(quality=longer, mode="below_compliant").score(
        ...     ["No commas please."] * 3, ["a, b, c, d", "a b", "a"],
        ...     constraints=['[{"id": "punctuation:no_comma"}]'] * 3)
        >>> strict[1:], strict[0] < 100.0
        ([300.0, 100.0], True)
    """

    __name__ = "rlmr"

    def __init__(
        self,
        judge_model: Any = None,
        *,
        quality: Any = None,
        base_url: str | None = None,
        max_concurrency: int = 64,
        criteria_per_call: int | None = None,
        retries: int = 2,
        cache: str | None = "memory",
        library: str | None = None,
        verifier_model: Any = None,
        extractor_model: Any = None,
        margin: float = 0.05,
        severity_weight: float = 0.01,
        fallback_penalty: float = 0.5,
        mode: MixMode = "below_mean",
        num_generations: int | None = None,
    ):
        check_mixing(margin=margin, severity_weight=severity_weight, fallback_penalty=fallback_penalty, mode=mode)
        if quality is not None and judge_model is not None:
            raise UserError("give MixedReward either quality=... or the criteria judge's judge_model, not both")
        if quality is not None and not callable(quality):
            raise UserError(f"quality must be a TRL reward function (a callable), got {type(quality).__name__}")
        self.quality = (
            quality
            if quality is not None
            else CriteriaReward(
                judge_model,
                base_url=base_url,
                max_concurrency=max_concurrency,
                criteria_per_call=criteria_per_call,
                retries=retries,
                cache=cache,
                library=library,
            )
        )
        self.compliance = ConstraintReward(
            verifier_model=verifier_model, extractor_model=extractor_model, base_url=base_url
        )
        self.margin = margin
        self.severity_weight = severity_weight
        self.fallback_penalty = fallback_penalty
        self.mode = mode
        self.num_generations = num_generations

    async def _quality(self, prompts: list[Any], completions: list[Any], kwargs: dict[str, Any]) -> list[float | None]:
        if isinstance(self.quality, CriteriaReward):  # our judge: its scorecards carry the per-criterion metrics
            cards = await self.quality.scorecards(prompts, completions, kwargs)
            log_metric: LogMetric | None = kwargs.get("log_metric")
            if log_metric is not None:
                _log_scorecards(log_metric, cards)
            self.quality._log_weakest(kwargs, cards, name=self.__name__)
            return [card.overall for card in cards]
        return await call_reward(self.quality, prompts, completions, kwargs)

    async def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        quality, results = await asyncio.gather(
            self._quality(prompts, completions, kwargs),
            self.compliance.results(prompts, completions, kwargs),
        )
        passed = [all(r.passed is not False for r in row) for row in results]
        failures = [sum(1 for r in row if r.passed is False) for row in results]
        known = [q for q in quality if q is not None]
        batch_spread = max(known) - min(known) if known else 0.0
        rewards: list[float | None] = [None] * len(completions)
        lambdas: list[float] = []
        all_violating = 0
        groups = consecutive_groups(prompts, self.num_generations)
        for group in groups:
            mixed, [mix] = rlmr_mix(
                [quality[i] for i in group],
                [passed[i] for i in group],
                len(group),
                failures=[failures[i] for i in group],
                margin=self.margin,
                severity_weight=self.severity_weight,
                fallback_penalty=self.fallback_penalty,
                mode=self.mode,
                batch_spread=batch_spread,
            )
            for index, value in zip(group, mixed, strict=True):
                rewards[index] = value
            if mix.lam is not None:
                lambdas.append(mix.lam)
            all_violating += mix.all_violating
        log_metric: LogMetric | None = kwargs.get("log_metric")
        if log_metric is not None:
            _log_constraint_rates(log_metric, results)
            if known:
                log_metric("rlmr/quality_mean", sum(known) / len(known))
            log_metric("rlmr/quality_unscored_fraction", (len(quality) - len(known)) / len(quality) if quality else 0.0)
            log_metric("rlmr/constraint_pass_rate", sum(passed) / len(passed) if passed else 1.0)
            if lambdas:
                log_metric("rlmr/lambda_mean", sum(lambdas) / len(lambdas))
            log_metric("rlmr/all_violating_groups", all_violating / len(groups) if groups else 0.0)
        log_extra: LogExtra | None = kwargs.get("log_extra")
        if log_extra is not None:
            log_extra(f"{self.__name__}/failed_constraints", [failed_constraints(row) for row in results])
        return rewards
