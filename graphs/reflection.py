"""The MRPO reflection graph: evaluate a draft against criteria, reflect, revise, keep the best.

prepare (criteria: given / library / built; constraints: given, else extracted from the task) → draft (when
none is given) → evaluate (judge and constraint checks, concurrently) → accept → remember → check (stop on
target, budget or patience) → recall (experience memory) → reflect (weakest criteria first) → revise →
evaluate → ... Revisions are always made from the best draft so far, and a revision replaces it only when
its overall score rises by at least `min_gain` and no constraint that passed now fails (optionally also a
position-swapped pairwise comparison must prefer it). An unscored or incomplete evaluation is never accepted
(scores are compared on the criteria scored in both), so the result is never worse than the first draft.

Use it as a LangGraph graph (`graph`, `build_graph`), from Python (`reflect`, `areflect`), from the CLI
(`writer-r1 reflect`), in Studio (`reflection` in langgraph.json), or as a chat model (`ReflectiveChatModel`).

Example:
    >>> from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
    >>> criteria = CriteriaSet(task="a haiku", dimensions=[Dimension(name="Craft", criteria=[
    ...     Criterion(id="imagery", name="Imagery", description="Concrete sensory images",
    ...               levels=[Level(anchor="abstract"), Level(anchor="some"), Level(anchor="vivid")])])])
    >>> result = reflect("Write a haiku about frost", model="fake", criteria=criteria, max_iterations=1)
    >>> result.best_scorecard.overall is not None and result.history[0].text == result.history[0].text
    True
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field
from writer_r1.agents.language import task_language
from writer_r1.agents.reflector import (
    Reflector,
    fallback_reflection,
    rank_weaknesses,
    strengths_of,
    weak_criteria_ids,
)
from writer_r1.agents.writer import Aim
from writer_r1.core.criteria import ConstraintSpec, CriteriaSet
from writer_r1.core.errors import StructuredOutputError, UserError
from writer_r1.core.lru import LRU
from writer_r1.core.records import Experience
from writer_r1.core.scorecard import ConstraintResult, Scorecard, UnscoredCriterion, shared_overall
from writer_r1.graphs.context import ReflectionContext, model_for
from writer_r1.graphs.state import HistoryEntry, ReflectionInput, ReflectionOutput, ReflectionState

logger = logging.getLogger(__name__)

MAX_TRIED_SHOWN = 4
"""How many of the latest rejected plans on the best draft the next reflection is shown."""

StopReason = Literal["target_reached", "max_iterations", "patience", "writer_failed"]


# --- acceptance: pure, so it can be tested and reused ------------------------------------------


def constraint_regressions(before: Scorecard, after: Scorecard) -> list[str]:
    """Ids of constraints that passed in `before` and do not pass in `after` (failed or no longer verified)."""
    passed_before = {_constraint_key(r) for r in before.constraints if r.passed is True}
    return [r.id for r in after.constraints if _constraint_key(r) in passed_before and r.passed is not True]


def _constraint_key(result: ConstraintResult) -> str:
    return ConstraintSpec(id=result.id, kwargs=result.kwargs).key()


def constraint_fixes(before: Scorecard, after: Scorecard) -> list[str]:
    """Ids of constraints that failed (or were unverified) in `before` and pass in `after`."""
    passed_before = {_constraint_key(r) for r in before.constraints if r.passed is True}
    return [r.id for r in after.constraints if r.passed is True and _constraint_key(r) not in passed_before]


def acceptance(
    best: Scorecard, candidate: Scorecard, *, min_gain: float, accept_constraint_fixes: bool = True
) -> tuple[bool, str]:
    """Whether `candidate` replaces `best` under controlled improvement, and why.

    Rejected when the candidate is incomplete (a criterion unscored: a partial card is not a score) or when a
    constraint that passed now fails. Otherwise accepted when the score rises by at least `min_gain`, or — with
    `accept_constraint_fixes` — when it fixes a failed constraint without lowering the score (a quality judge
    rarely rewards meeting a word limit, and a text that breaks a requirement is the worse text whatever its
    quality). Scores are compared only on the criteria scored in both cards (`shared_overall`); a complete
    candidate replaces an incomplete best unless it is worse on their shared criteria.

    Example:
        >>> from writer_r1.core.scorecard import Scorecard
        >>> acceptance(Scorecard(criteria_version="v", overall=0.5), Scorecard(criteria_version="v", overall=0.52),
        ...            min_gain=0.05)
        (False, 'gain +0.020 is below min_gain 0.050')
    """
    if candidate.overall is None or not candidate.complete:
        missing = len(candidate.unscored)
        return False, f"unscored: the judge left {missing} criteria unscored" if missing else "unscored: no score"
    regressions = constraint_regressions(best, candidate)
    if regressions:
        return False, f"constraint regression: {', '.join(regressions)}"
    if best.overall is not None and best.complete:
        gain = candidate.overall - best.overall
    else:
        shared = shared_overall(best, candidate)
        if shared is None:
            return True, "first scored evaluation"
        gain = shared[1] - shared[0]
        if gain >= -1e-12:
            return (
                True,
                f"complete evaluation replaces an incomplete one (gain {gain:+.3f} on {shared[2]} shared criteria)",
            )
    if gain + 1e-12 >= min_gain:
        return True, f"gain {gain:+.3f}"
    fixes = constraint_fixes(best, candidate)
    if accept_constraint_fixes and fixes and gain >= -1e-12:
        return True, f"fixes constraint {', '.join(fixes)} (gain {gain:+.3f})"
    return False, f"gain {gain:+.3f} is below min_gain {min_gain:.3f}"


def needs_pairwise(best: Scorecard, candidate: Scorecard, context: ReflectionContext) -> bool:
    """Whether an accepted candidate must also win a position-swapped pairwise comparison.

    Always with `pairwise_check`; otherwise when its overall gain is below `pairwise_margin` — a gain that small
    is within the judge's noise (one level on one light criterion), so the two texts are compared side by side,
    in both orders, before the best draft is replaced. A candidate accepted because it fixes a constraint (an
    exact check, not a judgement) is not compared.

    Example:
        >>> from writer_r1.core.scorecard import Scorecard
        >>> context = ReflectionContext(pairwise_margin=0.05)
        >>> needs_pairwise(Scorecard(criteria_version="v", overall=0.5), Scorecard(criteria_version="v", overall=0.53),
        ...                context)
        True
    """
    if best.overall is None or candidate.overall is None:
        return False
    if context.pairwise_check:
        return True
    gain = candidate.overall - best.overall
    fixes_only = bool(constraint_fixes(best, candidate)) and gain + 1e-12 < context.min_gain
    return not fixes_only and gain < context.pairwise_margin


def stop_reason(
    best: Scorecard, *, iterations: int, stale_rounds: int, context: ReflectionContext
) -> StopReason | None:
    """Why the loop stops now, or None to go on (an incomplete card never reaches the target)."""
    if best.overall is not None and best.complete and best.overall >= context.target_score and best.constraints_passed:
        return "target_reached"
    if iterations >= context.max_iterations:
        return "max_iterations"
    if stale_rounds >= context.patience:
        return "patience"
    return None


# --- agents and memory for a run ---------------------------------------------------------------

# Bounded: each Judge holds its model and its verdict cache, each memory its store.
_JUDGES: LRU[tuple[int, int | None, int], tuple[Any, Any]] = LRU(16)
_MEMORIES: LRU[str, Any] = LRU(16)
_SHARED_LOCK = threading.Lock()


def judge_for(context: ReflectionContext) -> Any:
    """The context's judge object, else one Judge per judge model (kept, so its cache serves the whole run)."""
    if context.judge is not None:
        return context.judge
    from writer_r1.agents.judge import Judge

    model = model_for(context, "judge")
    key = (id(model), context.criteria_per_call, context.max_concurrency)
    with _SHARED_LOCK:
        entry = _JUDGES.get(key)
        if entry is None or entry[0] is not model:  # the model is held in the entry, so its id stays unique
            entry = (
                model,
                Judge(model, criteria_per_call=context.criteria_per_call, max_concurrency=context.max_concurrency),
            )
            _JUDGES[key] = entry
        return entry[1]


def memory_for(context: ReflectionContext, runtime: Runtime[ReflectionContext]) -> Any:
    """The experience memory of a run: the context's object, else its `memory_path`, else the graph's store."""
    from writer_r1.memory.experience import ExperienceMemory

    if context.memory is not None:
        return context.memory
    if context.memory_path:
        with _SHARED_LOCK:
            if context.memory_path not in _MEMORIES:
                _MEMORIES[context.memory_path] = ExperienceMemory(context.memory_path)
            return _MEMORIES[context.memory_path]
    if runtime.store is not None:
        return ExperienceMemory(runtime.store)
    return None


def _best(state: ReflectionState) -> HistoryEntry:
    assert state.best_index is not None, "the best draft is set by the first evaluation"
    return state.history[state.best_index]


# --- nodes ---------------------------------------------------------------------------------------


async def prepare(state: ReflectionState, runtime: Runtime[ReflectionContext]) -> dict[str, Any]:
    """Resolve the criteria and the constraints; validate the input."""
    context = runtime.context or ReflectionContext()
    task = state.task.strip()
    if not task:
        raise UserError("the task is empty: say what to write")
    # Loads langdetect's profiles once (file reads) off the event loop; later detections are pure computation.
    await asyncio.to_thread(task_language, task)
    criteria = state.criteria or await _criteria_for(task, context)
    constraints = (
        list(state.constraints) if state.constraints is not None else await _extract_constraints(task, context)
    )
    constraints = _validated(_merged(constraints, criteria.constraints))
    return {"task": task, "criteria": criteria, "constraints": constraints}


async def _criteria_for(task: str, context: ReflectionContext) -> CriteriaSet:
    """Criteria from the library (the stored set for this task, or the nearest adapted), else built and stored.

    What was decided (which stored set, its similarity, the model that built it) is logged at INFO and sent on
    the graph's custom stream (`{"criteria_choice": ...}`), which the CLI's progress shows.
    """
    from writer_r1.graphs.library_reuse import DEFAULT_LIBRARY, aresolve_criteria

    roles = ("writer", "coder", "inducer", "critic")
    overrides = {
        f"{r}_model": getattr(context, f"{r}_model") for r in roles if getattr(context, f"{r}_model") is not None
    }
    library = (context.criteria_library or DEFAULT_LIBRARY) if context.use_library else None
    choice = await aresolve_criteria(
        task,
        library=library,
        model=context.model,
        base_url=context.base_url,
        max_concurrency=context.max_concurrency,
        thinking=context.thinking,
        **overrides,
    )
    _emit({"criteria_choice": choice.describe(), "criteria_action": choice.action})
    return choice.criteria


def _emit(event: dict[str, Any]) -> None:
    """Send `event` on the graph's custom stream (dropped when nobody streams "custom")."""
    from langgraph.config import get_stream_writer

    try:
        get_stream_writer()(event)
    except RuntimeError:  # called outside a running graph
        pass


async def _extract_constraints(task: str, context: ReflectionContext) -> list[ConstraintSpec]:
    from writer_r1.agents.extractor import ConstraintExtractor, extract_rules

    if not (context.extract_constraints and context.model is not None):
        return extract_rules(task)
    try:
        return await ConstraintExtractor(model_for(context, "judge")).aextract(task)
    except (StructuredOutputError, ValueError) as error:
        logger.warning("constraint extraction by model failed (%s); using the rule-found constraints", error)
        return extract_rules(task)


def _merged(first: Sequence[ConstraintSpec], second: Sequence[ConstraintSpec]) -> list[ConstraintSpec]:
    seen: set[str] = set()
    merged = []
    for spec in [*first, *second]:
        if spec.key() not in seen:
            seen.add(spec.key())
            merged.append(spec)
    return merged


def _validated(constraints: list[ConstraintSpec]) -> list[ConstraintSpec]:
    from writer_r1.constraints.registry import checker_for

    for spec in constraints:
        try:
            checker_for(spec)
        except ValueError as error:
            raise UserError(f"invalid constraint {spec.id} {spec.kwargs}: {error}") from error
    return constraints


async def draft(state: ReflectionState, runtime: Runtime[ReflectionContext]) -> dict[str, Any]:
    """The writer's first draft (only when the input gave none)."""
    from writer_r1.agents.writer import Writer

    context = runtime.context or ReflectionContext()
    writer = Writer(model_for(context, "writer"), language=task_language(state.task))
    text = await writer.adraft(state.task, temperature=context.draft_temperature)
    return {"draft": text, "pending": text}


async def evaluate(state: ReflectionState, runtime: Runtime[ReflectionContext]) -> dict[str, Any]:
    """Judge the pending draft and check its constraints, concurrently."""
    from writer_r1.constraints import averify

    context = runtime.context or ReflectionContext()
    text = state.pending if state.pending is not None else (state.draft or "")
    criteria = state.criteria
    assert criteria is not None
    verifier = model_for(context, "judge") if any(c.is_llm_verified for c in state.constraints or []) else None
    card, report = await asyncio.gather(
        _score(judge_for(context), text, criteria, state.task),
        averify(text, state.constraints or [], llm_verifier=verifier),
    )
    return {"pending": text, "pending_scorecard": card.with_constraints(list(report.results))}


async def _score(judge: Any, text: str, criteria: CriteriaSet, task: str) -> Scorecard:
    try:
        return await judge.ascore(text, criteria, task=task)
    except asyncio.CancelledError:
        raise
    except Exception as error:  # noqa: BLE001 - a judge failure is unscored, never a score and never a crash
        logger.warning("the judge failed: %s", error)
        unscored = [UnscoredCriterion(criterion_id=c.id, reason=f"judge failed: {error}") for c in criteria.criteria]
        return Scorecard.build(criteria, [], unscored)


async def accept(state: ReflectionState, runtime: Runtime[ReflectionContext]) -> dict[str, Any]:
    """Record the evaluated draft; a revision replaces the best only under controlled improvement."""
    context = runtime.context or ReflectionContext()
    card = state.pending_scorecard
    assert card is not None and state.pending is not None
    if state.best_index is None:
        accepted, verdict = True, "first draft"
    else:
        best = _best(state)
        accepted, verdict = acceptance(
            best.scorecard, card, min_gain=context.min_gain, accept_constraint_fixes=context.accept_constraint_fixes
        )
        if accepted and needs_pairwise(best.scorecard, card, context):
            accepted, verdict = await _pairwise(context, state, best.text, state.pending, verdict)
    entry = HistoryEntry(
        index=len(state.history),
        text=state.pending,
        scorecard=card,
        accepted=accepted,
        verdict=verdict,
        reflection=state.pending_reflection,
        base_index=state.best_index,
    )
    logger.info(
        "draft %d: overall %s, %s (%s)", entry.index, card.overall, "accepted" if accepted else "rejected", verdict
    )
    update: dict[str, Any] = {"history": [*state.history, entry], "pending": None, "pending_scorecard": None}
    if accepted:
        update |= {"best_index": entry.index, "best_draft": entry.text, "best_scorecard": card}
    if state.best_index is not None:
        update["stale_rounds"] = 0 if accepted else state.stale_rounds + 1
    return update


async def _pairwise(
    context: ReflectionContext, state: ReflectionState, best_text: str, candidate: str, verdict: str
) -> tuple[bool, str]:
    assert state.criteria is not None
    comparison = await judge_for(context).acompare(best_text, candidate, state.criteria, task=state.task)
    if comparison.preferred == "b" and comparison.consistent:
        return True, f"{verdict}; pairwise: revision preferred in both orders"
    return False, f"pairwise check: preferred={comparison.preferred}, consistent={comparison.consistent}"


async def remember(state: ReflectionState, runtime: Runtime[ReflectionContext]) -> dict[str, Any]:
    """Store the last revision's reflection with its outcome in experience memory."""
    entry = state.history[-1]
    if entry.reflection is None or entry.base_index is None:
        return {}
    # Opening a store or loading an embedding model blocks: keep it off the event loop (Studio enforces this).
    memory = await asyncio.to_thread(memory_for, runtime.context or ReflectionContext(), runtime)
    if memory is None:
        return {}
    experience = _experience_of(state, entry)
    try:
        await memory.aremember(experience)
    except Exception as error:  # noqa: BLE001 - a memory outage must not cost the user the run
        logger.error("could not store the experience: %s", error)
    return {}


def _experience_of(state: ReflectionState, entry: HistoryEntry) -> Experience:
    """A revision in the trajectory as an experience: the reflection behind it and how it scored."""
    from writer_r1.memory.experience import lesson_of

    assert entry.reflection is not None and entry.base_index is not None
    base = state.history[entry.base_index]
    experience = Experience(
        task=state.task,
        criteria_version=state.criteria.version if state.criteria else "",
        weak_criteria=weak_criteria_ids(state.weaknesses),
        failed_constraints=[r.id for r in base.scorecard.failed_constraints],
        reflection=entry.reflection,
        draft=base.text,
        revision=entry.text,
        score_before=base.scorecard.overall,
        score_after=entry.scorecard.overall,
        accepted=entry.accepted,
    )
    return experience.model_copy(update={"lesson": lesson_of(experience)})


async def check(state: ReflectionState, runtime: Runtime[ReflectionContext]) -> dict[str, Any]:
    """Decide whether the loop stops (the reason goes into the output)."""
    context = runtime.context or ReflectionContext()
    reason = stop_reason(
        _best(state).scorecard, iterations=state.iterations, stale_rounds=state.stale_rounds, context=context
    )
    return {"stop_reason": reason}


async def recall(state: ReflectionState, runtime: Runtime[ReflectionContext]) -> dict[str, Any]:
    """Rank the best draft's weaknesses and recall experiences of similar tasks with the same weak criteria."""
    context = runtime.context or ReflectionContext()
    assert state.criteria is not None
    weaknesses = rank_weaknesses(state.criteria, _best(state).scorecard)
    memory = await asyncio.to_thread(memory_for, context, runtime)
    recalled: list[Experience] = []
    if memory is not None and context.recall_k > 0:
        try:
            recalled = await memory.arecall(state.task, weak_criteria_ids(weaknesses), context.recall_k)
        except Exception as error:  # noqa: BLE001 - reflecting without lessons beats failing the run
            logger.error("could not recall experiences: %s", error)
    return {"weaknesses": weaknesses, "recalled": recalled}


async def reflect_node(state: ReflectionState, runtime: Runtime[ReflectionContext]) -> dict[str, Any]:
    """The reflector's diagnosis and plan for the best draft (a plan from the ranking if it gives none).

    Plans already tried on this draft and rejected are listed with the recalled lessons, so the reflector does not
    propose them again.
    """
    context = runtime.context or ReflectionContext()
    assert state.criteria is not None
    best = _best(state)
    rejected = [
        entry
        for entry in state.history
        if entry.base_index == state.best_index and entry.reflection is not None and not entry.accepted
    ]
    tried = [_experience_of(state, entry) for entry in rejected[-MAX_TRIED_SHOWN:]]
    reflector = Reflector(model_for(context, "reflector"), language=task_language(state.task))
    try:
        reflection = await reflector.areflect(
            state.task,
            best.text,
            state.criteria,
            best.scorecard,
            weaknesses=state.weaknesses,
            experiences=[*state.recalled, *tried],
        )
    except StructuredOutputError as error:
        logger.warning("the reflector gave no valid reflection (%s); planning from the ranking", error)
        reflection = fallback_reflection(state.weaknesses, strengths_of(state.criteria, best.scorecard))
    return {"reflection": reflection}


async def revise(state: ReflectionState, runtime: Runtime[ReflectionContext]) -> dict[str, Any]:
    """The writer's revision of the best draft, following the reflection."""
    from writer_r1.agents.writer import Writer

    context = runtime.context or ReflectionContext()
    assert state.reflection is not None
    writer = Writer(model_for(context, "writer"), language=task_language(state.task))
    assert state.criteria is not None
    try:
        text = await writer.arevise(
            state.task,
            _best(state).text,
            state.reflection,
            constraints=state.constraints or [],
            aims=aims_of(state.criteria, _best(state).scorecard, state.reflection.targets),
            temperature=context.revise_temperature,
        )
    except asyncio.CancelledError:
        raise
    except Exception as error:  # noqa: BLE001 - keep the best draft so far rather than lose the run
        logger.error("the writer failed to revise: %s", error)
        return {"stop_reason": "writer_failed", "iterations": state.iterations + 1}
    return {"pending": text, "pending_reflection": state.reflection, "iterations": state.iterations + 1}


def aims_of(criteria: CriteriaSet, scorecard: Scorecard, targets: Sequence[str], limit: int = 3) -> list[Aim]:
    """The anchor of the next level up for each targeted criterion (the top weaknesses when none is named), and the
    best level's anchor when that is further up."""
    known = {criterion.id for criterion in criteria.criteria}
    chosen = [t for t in dict.fromkeys(targets) if t in known]
    if not chosen:
        chosen = [w.id for w in rank_weaknesses(criteria, scorecard) if w.kind == "criterion"]
    aims = []
    for criterion_id in chosen[:limit]:
        criterion = criteria.criterion(criterion_id)
        score = scorecard.score_of(criterion_id)
        if score is None or score.level >= criterion.max_level:
            continue
        anchor = f"level {score.level + 1}: {criterion.levels[score.level].anchor}"  # levels are 1-based
        if score.level + 1 < criterion.max_level:  # the best anchor too: it carries the grounded example
            anchor += f"; best (level {criterion.max_level}): {criterion.levels[-1].anchor}"
        aims.append(Aim(criterion_id=criterion_id, name=criterion.name, anchor=anchor))
    return aims


# --- routing and assembly --------------------------------------------------------------------------


def _after_prepare(state: ReflectionState) -> str:
    return "evaluate" if state.draft else "draft"


def _after_check(state: ReflectionState) -> str:
    return END if state.stop_reason else "recall"


def _after_revise(state: ReflectionState) -> str:
    return END if state.stop_reason else "evaluate"


def build_graph(checkpointer: Any = None, store: Any = None):
    """Compile the reflection graph (with a checkpointer for resumable runs, a store for experience memory)."""
    builder = StateGraph(
        ReflectionState, context_schema=ReflectionContext, input_schema=ReflectionInput, output_schema=ReflectionOutput
    )
    builder.add_node("prepare", prepare)
    builder.add_node("draft", draft)
    builder.add_node("evaluate", evaluate)
    builder.add_node("accept", accept)
    builder.add_node("remember", remember)
    builder.add_node("check", check)
    builder.add_node("recall", recall)
    builder.add_node("reflect", reflect_node)
    builder.add_node("revise", revise)
    builder.add_edge(START, "prepare")
    builder.add_conditional_edges("prepare", _after_prepare, ["draft", "evaluate"])
    builder.add_edge("draft", "evaluate")
    builder.add_edge("evaluate", "accept")
    builder.add_edge("accept", "remember")
    builder.add_edge("remember", "check")
    builder.add_conditional_edges("check", _after_check, ["recall", END])
    builder.add_edge("recall", "reflect")
    builder.add_edge("reflect", "revise")
    builder.add_conditional_edges("revise", _after_revise, ["evaluate", END])
    return builder.compile(checkpointer=checkpointer, store=store, name="reflection")


graph = build_graph()
"""The reflection graph without a checkpointer, for `langgraph dev` / Studio."""


# --- Python API ------------------------------------------------------------------------------------


class ReflectionResult(BaseModel):
    """What a reflection run returns: the best draft, its scorecard and the whole trajectory."""

    best_draft: str
    best_scorecard: Scorecard
    history: list[HistoryEntry]
    criteria: CriteriaSet
    stop_reason: str
    iterations: int = Field(description="Revisions made (evaluated or not).")

    @classmethod
    def from_output(cls, output: dict[str, Any]) -> ReflectionResult:
        history = list(output["history"])
        return cls(
            best_draft=output["best_draft"],
            best_scorecard=output["best_scorecard"],
            history=history,
            criteria=output["criteria"],
            stop_reason=output["stop_reason"],
            iterations=sum(1 for entry in history if entry.reflection is not None)
            + (1 if output["stop_reason"] == "writer_failed" else 0),
        )


def make_context(
    *,
    model: Any = None,
    base_url: str | None = None,
    judge_model: Any = None,
    memory: Any = None,
    **limits: Any,
) -> ReflectionContext:
    """A `ReflectionContext` from `reflect`'s arguments (`memory`: an ExperienceMemory, a path, or None)."""
    from writer_r1.memory.experience import ExperienceMemory

    memory_object = memory if isinstance(memory, ExperienceMemory) else None
    memory_path = str(memory) if memory is not None and memory_object is None else None
    try:
        return ReflectionContext(
            model=model,
            base_url=base_url,
            judge_model=judge_model,
            memory=memory_object,
            memory_path=memory_path,
            **limits,
        )
    except TypeError as error:
        raise UserError(f"unknown reflection setting: {error}") from error


def make_input(
    task: str,
    *,
    draft: str | None = None,
    criteria: CriteriaSet | None = None,
    constraints: Sequence[ConstraintSpec] | None = None,
) -> dict[str, Any]:
    return {
        "task": task,
        "draft": draft,
        "criteria": criteria,
        "constraints": list(constraints) if constraints is not None else None,
    }


async def areflect(
    task: str,
    *,
    model: Any = None,
    base_url: str | None = None,
    draft: str | None = None,
    criteria: CriteriaSet | None = None,
    constraints: Sequence[ConstraintSpec] | None = None,
    memory: Any = None,
    judge_model: Any = None,
    config: dict[str, Any] | None = None,
    **limits: Any,
) -> ReflectionResult:
    """Run the reflection loop on `task` and return the best draft with its trajectory.

    `model` / `judge_model`: spec strings or chat models; `memory`: an `ExperienceMemory` or a path; `limits`:
    any `ReflectionContext` field (`max_iterations`, `target_score`, `patience`, `min_gain`, `pairwise_check`,
    `recall_k`, `reflector_model`, `writer_model`, ...).
    """
    context = make_context(model=model, base_url=base_url, judge_model=judge_model, memory=memory, **limits)
    output = await graph.ainvoke(
        make_input(task, draft=draft, criteria=criteria, constraints=constraints), config=config, context=context
    )
    return ReflectionResult.from_output(output)


def reflect(
    task: str,
    *,
    model: Any = None,
    base_url: str | None = None,
    draft: str | None = None,
    criteria: CriteriaSet | None = None,
    constraints: Sequence[ConstraintSpec] | None = None,
    memory: Any = None,
    judge_model: Any = None,
    **limits: Any,
) -> ReflectionResult:
    """Synchronous `areflect` (works inside a running event loop too)."""
    from writer_r1.core.asyncio_utils import run_sync

    return run_sync(
        areflect(
            task,
            model=model,
            base_url=base_url,
            draft=draft,
            criteria=criteria,
            constraints=constraints,
            memory=memory,
            judge_model=judge_model,
            **limits,
        )
    )


__all__ = [
    "ReflectionResult",
    "acceptance",
    "areflect",
    "build_graph",
    "constraint_fixes",
    "constraint_regressions",
    "graph",
    "reflect",
    "stop_reason",
]
