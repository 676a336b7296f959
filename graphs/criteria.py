"""The Grounded-Theory criteria graph: sample → code (fan-out) → induce → saturate → critique → finalize.

1. **sample** — the writer drafts diverse texts (varied approaches and temperatures) until there are
   `min_samples`; in a saturation round it drafts `samples_per_round` fresh ones.
2. **code** — one coder task per new text (`Send`, in parallel): codes with verbatim quotes (a quote that is
   not in its text is dropped). The task statement is coded once, into requirement codes.
3. **induce** — codes → criteria → dimensions, level anchors, weights; requirements → registry constraints.
4. **saturate** — the share of the fresh batch's codes that no criterion covers is the saturation gap;
   above `saturation_threshold` the criteria are induced again and, while rounds remain, a new batch is drawn.
5. **critique** — the critic's typed verdict; not approved and reviews remain → induce again with it.
6. **finalize** — weights normalised, provenance written, the set stored when the run has a store.

Coverage, simply: a code is covered by a criterion that lists the code's concept as evidence, or whose
name, description and anchors share enough vocabulary with the code's concept and observation (lexical
cosine ≥ `coverage_threshold`). Every loop has its own counter and limit; none relies on the recursion limit.

Example:
    >>> criteria = build_criteria("Write a short story about a lighthouse keeper", model="fake", max_rounds=1)
    >>> criteria.provenance.source
    'grounded-theory'
    >>> abs(sum(criteria.effective_weights().values()) - 1) < 1e-9
    True
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import fields
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.types import Send
from writer_r1.agents.coder import Coder
from writer_r1.agents.critic import Critic
from writer_r1.agents.inducer import Inducer, criteria_from_induction, validated_constraints
from writer_r1.agents.writer import Writer
from writer_r1.core.criteria import ConstraintSpec, CriteriaSet, Criterion, Provenance
from writer_r1.core.errors import StructuredOutputError, UserError, WriterR1Error
from writer_r1.core.records import Code
from writer_r1.graphs.context import CriteriaContext, ModelSpec, model_for, model_name
from writer_r1.graphs.state import (
    CodeTask,
    CodingTally,
    CriteriaInput,
    CriteriaOutput,
    CriteriaState,
    criteria_checkpoint_types,
)
from writer_r1.memory.embeddings import LexicalEmbeddings, cosine

logger = logging.getLogger(__name__)

SOURCE = "grounded-theory"

SAMPLE_APPROACHES: tuple[str, ...] = (
    "a conventional, competent take that does what most writers would do",
    "an unexpected angle or structure that still fits the task",
    "a restrained, minimal style: short sentences, understatement",
    "a rich, lyrical style with dense imagery",
    "a hurried first draft by a beginner, with the flaws such drafts have",
    "a voice-driven take with a strong, distinctive narrator or speaker",
)
"""Approaches of sample drafts: varied on purpose, weak drafts included, so coding sees strengths and flaws."""

SAMPLE_TEMPERATURES: tuple[float, ...] = (0.7, 1.0, 0.85, 1.1, 0.95, 0.8)
_COVERAGE_EMBEDDINGS = LexicalEmbeddings()


class CriteriaBuildError(WriterR1Error):
    """The criteria graph could not produce criteria (the inducer never returned a valid induction)."""


def _context(runtime: Runtime[CriteriaContext]) -> CriteriaContext:
    return runtime.context if runtime.context is not None else CriteriaContext()


# --- coverage ---------------------------------------------------------------------------------------


def _criterion_text(criterion: Criterion) -> str:
    return " ".join([criterion.name, criterion.description, *(level.anchor for level in criterion.levels)])


def uncovered_codes(codes: Sequence[Code], criteria: CriteriaSet, threshold: float) -> list[Code]:
    """The codes no criterion covers (see the module docstring for what "covers" means)."""
    evidence = {concept.casefold() for criterion in criteria.criteria for concept in criterion.evidence}
    candidates = [code for code in codes if code.concept.strip().casefold() not in evidence]
    if not candidates:
        return []
    criterion_vectors = _COVERAGE_EMBEDDINGS.embed_documents([_criterion_text(c) for c in criteria.criteria])
    code_vectors = _COVERAGE_EMBEDDINGS.embed_documents([f"{code.concept}. {code.observation}" for code in candidates])
    return [
        code
        for code, vector in zip(candidates, code_vectors, strict=True)
        if max((cosine(vector, other) for other in criterion_vectors), default=0.0) < threshold
    ]


# --- nodes ------------------------------------------------------------------------------------------


async def sample(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> dict[str, Any]:
    """Draft the texts this round needs; mark them as the batch to code."""
    context = _context(runtime)
    if not state.task.strip():
        raise UserError("the task is empty")
    first_round = state.draft is None
    texts = list(state.texts) if state.texts else [text for text in state.samples if text.strip()]
    wanted = max(0, context.min_samples - len(texts)) if first_round else context.samples_per_round
    writer = Writer(model_for(context, "writer"))
    limit = asyncio.Semaphore(context.max_concurrency)

    async def draft(number: int) -> str:
        async with limit:
            return await writer.adraft(
                state.task,
                temperature=SAMPLE_TEMPERATURES[number % len(SAMPLE_TEMPERATURES)],
                approach=SAMPLE_APPROACHES[number % len(SAMPLE_APPROACHES)],
            )

    results = await asyncio.gather(*(draft(len(texts) + i) for i in range(wanted)), return_exceptions=True)
    notes = list(state.notes)
    for result in results:
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            logger.warning("a sample draft failed: %s", result)
            notes.append(f"a sample draft failed: {type(result).__name__}: {result}")
        else:
            texts.append(result)
    return {"texts": texts, "batch_start": state.coded_upto, "coded_upto": len(texts), "notes": notes}


def dispatch_coding(state: CriteriaState) -> list[Send] | str:
    """One coder task per text of the batch (and, once, the task statement); straight on when none."""
    concepts = sorted({code.concept for code in state.codes}, key=str.casefold)[:60]
    sends = [
        Send("code", CodeTask(task=state.task, text=state.texts[index], source=index, concepts=concepts))
        for index in range(state.batch_start, state.coded_upto)
    ]
    if not any(tally.source == -1 for tally in state.tallies):
        sends.append(Send("code", CodeTask(task=state.task, text=state.task, source=-1)))
    return sends or after_coding(state)


async def code(task: CodeTask, runtime: Runtime[CriteriaContext]) -> dict[str, Any]:
    """Code one text (or the task statement). A failed coder call is tallied, not fatal."""
    coder = Coder(model_for(_context(runtime), "coder"))
    try:
        if task.source == -1:
            found = await coder.arequirements(task.task)
            return {
                "requirements": found.requirements,
                "tallies": [CodingTally(source=-1, kept=len(found.requirements), dropped_quotes=found.dropped)],
            }
        coded = await coder.acode(task.task, task.text, source=task.source, concepts=task.concepts)
    except StructuredOutputError as error:
        logger.warning("coding of source %d failed: %s", task.source, error)
        return {"tallies": [CodingTally(source=task.source, error=str(error).splitlines()[0])]}
    return {
        "codes": coded.codes,
        "tallies": [CodingTally(source=task.source, kept=len(coded.codes), dropped_quotes=coded.dropped)],
    }


def after_coding(state: CriteriaState) -> str:
    return "induce" if state.draft is None else "saturate"


def task_constraints(task: str, *groups: Sequence[ConstraintSpec]) -> list[ConstraintSpec]:
    """The task's constraints: those its wording states explicitly (found by rules, exact), then `groups` in
    order; a constraint whose id is already present is left out (an `llm:` requirement is kept per text)."""
    from writer_r1.agents.extractor import extract_rules

    merged: dict[str, ConstraintSpec] = {}
    for group in (extract_rules(task), *groups):
        for spec in group:
            merged.setdefault(spec.id if spec.id != "llm:requirement" else spec.key(), spec)
    return list(merged.values())


async def induce(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> dict[str, Any]:
    """Induce criteria from every code so far, revising the previous draft (and answering the critique)."""
    context = _context(runtime)
    inducer = Inducer(model_for(context, "inducer"))
    previous = state.draft or state.seed_criteria
    critique = state.critique if state.critique is not None and not state.critique.approved else None
    notes = list(state.notes)
    try:
        induction = await inducer.ainduce(
            state.task, state.codes, state.requirements, previous=previous, critique=critique
        )
    except StructuredOutputError as error:
        if state.draft is not None:
            notes.append(
                f"induction {state.inductions + 1} failed, kept the previous criteria: {str(error).splitlines()[0]}"
            )
            return {"inductions": state.inductions + 1, "notes": notes}
        if state.seed_criteria is not None:
            notes.append(f"the inducer failed, the seed criteria are used as given: {str(error).splitlines()[0]}")
            return {"draft": state.seed_criteria, "inductions": state.inductions + 1, "notes": notes}
        raise CriteriaBuildError(f"the inducer produced no valid criteria: {error}") from error
    induced_constraints, dropped = validated_constraints(induction.constraints)
    notes.extend(dropped)
    seed_constraints = state.seed_criteria.constraints if state.seed_criteria is not None else ()
    constraints = task_constraints(state.task, seed_constraints, induced_constraints)
    draft = criteria_from_induction(induction, task=state.task, constraints=constraints)
    return {"draft": draft, "inductions": state.inductions + 1, "notes": notes}


def after_induction(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> str:
    context = _context(runtime)
    if state.critique_rounds == 0 and state.rounds < context.max_rounds:
        return "sample"
    return _review_or_finalize(state, context)


def _review_or_finalize(state: CriteriaState, context: CriteriaContext) -> str:
    return "critique" if state.critique_rounds < context.max_critique_rounds else "finalize"


async def saturate(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> dict[str, Any]:
    """Measure the saturation gap of the fresh batch against the current criteria."""
    context = _context(runtime)
    assert state.draft is not None, "saturate runs after induce"
    fresh = [code for code in state.codes if code.source >= state.batch_start]
    notes = list(state.notes)
    if not fresh:
        notes.append(f"saturation round {state.rounds + 1}: no code of the fresh batch survived; sampling stopped")
        return {"rounds": state.rounds + 1, "saturation_gap": None, "notes": notes}
    gap = len(uncovered_codes(fresh, state.draft, context.coverage_threshold)) / len(fresh)
    logger.info("saturation round %d: gap %.2f over %d fresh codes", state.rounds + 1, gap, len(fresh))
    return {"rounds": state.rounds + 1, "saturation_gap": gap, "notes": notes}


def after_saturation(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> str:
    context = _context(runtime)
    if state.saturation_gap is not None and state.saturation_gap > context.saturation_threshold:
        return "induce"
    return _review_or_finalize(state, context)


async def critique(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> dict[str, Any]:
    """The critic reviews the draft; frequent uncovered codes are pointed out to it."""
    context = _context(runtime)
    assert state.draft is not None, "critique runs after induce"
    uncovered = Counter(code.concept for code in uncovered_codes(state.codes, state.draft, context.coverage_threshold))
    frequent = [(concept, count) for concept, count in uncovered.most_common(12) if count >= 2]
    try:
        verdict = await Critic(model_for(context, "critic")).acritique(state.draft, uncovered=frequent)
    except StructuredOutputError as error:
        notes = [
            *state.notes,
            f"the critic failed, review {state.critique_rounds + 1} skipped: {str(error).splitlines()[0]}",
        ]
        return {"critique": None, "critique_rounds": context.max_critique_rounds, "notes": notes}
    return {"critique": verdict, "critique_rounds": state.critique_rounds + 1}


def after_critique(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> str:
    context = _context(runtime)
    if state.critique is None or state.critique.approved or state.critique_rounds >= context.max_critique_rounds:
        return "finalize"
    return "induce"


def _coding_notes(state: CriteriaState) -> list[str]:
    texts = [tally for tally in state.tallies if tally.source >= 0]
    dropped = sum(tally.dropped_quotes for tally in texts)
    failed = [tally for tally in state.tallies if tally.error]
    notes = [f"{len(state.codes)} codes kept from {len(state.texts)} texts; {dropped} dropped (quote not in the text)"]
    notes += [f"coding of {'the task' if t.source == -1 else f'text {t.source}'} failed: {t.error}" for t in failed]
    if not state.codes:
        notes.append("no code survived quote verification: the criteria come from the task's requirements alone")
    return notes


async def finalize(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> dict[str, Any]:
    """Normalise weights, write the provenance, and store the set when the run has a store."""
    context = _context(runtime)
    assert state.draft is not None, "finalize runs after induce"
    notes = [*state.notes, *_coding_notes(state)]
    if state.critique is not None and not state.critique.approved:
        notes.append(
            f"the critic did not approve the last revision: {state.critique.summary or len(state.critique.issues)} issue(s)"
        )
    provenance = Provenance(
        source=SOURCE if state.seed_criteria is None else f"{SOURCE}+seed",
        model=model_name(context, "inducer"),
        samples=len(state.texts),
        rounds=state.rounds,
        critique_rounds=state.critique_rounds,
        saturation_gap=state.saturation_gap,
        codes=len(state.codes),
        notes=tuple(notes),
    )
    criteria = state.draft.normalized().model_copy(update={"provenance": provenance, "task": state.task})
    criteria = CriteriaSet.model_validate(criteria.model_dump())  # recompute the version of the final content
    if runtime.store is not None:
        from writer_r1.memory.library import CriteriaLibrary

        library = await asyncio.to_thread(CriteriaLibrary, runtime.store)  # may load an embedding model
        await library.aput(criteria)
    return {"criteria": criteria}


# --- the graph --------------------------------------------------------------------------------------


def build_graph(checkpointer: BaseCheckpointSaver | None = None, store: BaseStore | None = None) -> Any:
    """The compiled criteria graph (input `CriteriaInput`, output `CriteriaOutput`, context `CriteriaContext`)."""
    builder = StateGraph(
        CriteriaState, context_schema=CriteriaContext, input_schema=CriteriaInput, output_schema=CriteriaOutput
    )
    builder.add_node("sample", sample)
    builder.add_node("code", code)
    builder.add_node("induce", induce)
    builder.add_node("saturate", saturate)
    builder.add_node("critique", critique)
    builder.add_node("finalize", finalize)
    builder.add_edge(START, "sample")
    builder.add_conditional_edges("sample", dispatch_coding, ["code", "induce", "saturate"])
    builder.add_conditional_edges("code", after_coding, ["induce", "saturate"])
    builder.add_conditional_edges("induce", after_induction, ["sample", "critique", "finalize"])
    builder.add_conditional_edges("saturate", after_saturation, ["induce", "critique", "finalize"])
    builder.add_conditional_edges("critique", after_critique, ["induce", "finalize"])
    builder.add_edge("finalize", END)
    return builder.compile(checkpointer=checkpointer, store=store, name="criteria")


graph = build_graph()
"""The criteria graph without a checkpointer, for `langgraph dev` / Studio (which brings its own)."""


# --- Python API -------------------------------------------------------------------------------------

_LIMITS = {item.name for item in fields(CriteriaContext)} - {"model", "base_url"}


def criteria_context(model: ModelSpec = None, base_url: str | None = None, **limits: Any) -> CriteriaContext:
    """A `CriteriaContext` from keyword arguments; an unknown name is a `UserError` that lists the known ones."""
    unknown = sorted(set(limits) - _LIMITS)
    if unknown:
        raise UserError(f"unknown criteria settings {unknown}; known: {sorted(_LIMITS)}")
    try:
        return CriteriaContext(model=model, base_url=base_url, **limits)
    except ValueError as error:
        raise UserError(str(error)) from error


def _recursion_limit(context: CriteriaContext) -> int:
    # Supersteps: sample, code, induce; 4 per saturation round; 2 per critique round; finalize. Plus slack.
    return 10 + 4 * context.max_rounds + 2 * context.max_critique_rounds


async def _open_checkpointer(
    stack: AsyncExitStack, checkpointer: BaseCheckpointSaver | str | None
) -> BaseCheckpointSaver | None:
    if checkpointer is None or isinstance(checkpointer, BaseCheckpointSaver):
        from langgraph.checkpoint.sqlite import SqliteSaver

        if isinstance(checkpointer, SqliteSaver):
            raise UserError(
                "the criteria graph is async: pass an AsyncSqliteSaver or a database path, not a SqliteSaver"
            )
        return checkpointer
    import aiosqlite
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    if str(checkpointer).startswith(("postgres://", "postgresql://")):
        try:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        except ImportError as error:
            raise UserError(
                f"a postgres checkpointer needs the [postgres] extra: pip install 'writer-r1[postgres]' ({error})"
            ) from error
        serde = JsonPlusSerializer(allowed_msgpack_modules=criteria_checkpoint_types())
        saver = await stack.enter_async_context(AsyncPostgresSaver.from_conn_string(str(checkpointer), serde=serde))
        await saver.setup()
        return saver
    connection = await stack.enter_async_context(aiosqlite.connect(str(checkpointer)))
    # An explicit allowlist of our state's models: restoring them needs no "unregistered type" leniency.
    return AsyncSqliteSaver(connection, serde=JsonPlusSerializer(allowed_msgpack_modules=criteria_checkpoint_types()))


Update = Callable[[str, dict[str, Any]], None]


async def astream_criteria(
    task: str,
    *,
    model: ModelSpec = None,
    base_url: str | None = None,
    samples: Sequence[str] | None = None,
    seed_criteria: CriteriaSet | None = None,
    checkpointer: BaseCheckpointSaver | str | None = None,
    thread_id: str | None = None,
    store: BaseStore | None = None,
    **limits: Any,
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Run the criteria graph and yield `(node, update)` as each node finishes; the last one is `finalize`.

    With a checkpointer (an instance, an SQLite path or a `postgres://` URL) and a `thread_id`, an interrupted run resumes where it
    stopped: finished nodes (and finished coder branches) are not run again; a finished thread yields its result.
    """
    if not task.strip():
        raise UserError("the task is empty")
    context = criteria_context(model, base_url, **limits)
    async with AsyncExitStack() as stack:
        saver = await _open_checkpointer(stack, checkpointer)
        compiled = build_graph(checkpointer=saver, store=store)
        config: RunnableConfig = {
            "max_concurrency": context.max_concurrency,
            "recursion_limit": _recursion_limit(context),
        }
        run_input: dict[str, Any] | None = {
            "task": task,
            "samples": list(samples or []),
            "seed_criteria": seed_criteria,
        }
        if saver is not None:
            config["configurable"] = {"thread_id": thread_id or uuid.uuid4().hex}
            snapshot = await compiled.aget_state(config)
            if snapshot.values.get("criteria") is not None and not snapshot.next:
                yield "finalize", {"criteria": snapshot.values["criteria"]}
                return
            if snapshot.next:
                logger.info("resuming thread %s at %s", config["configurable"]["thread_id"], snapshot.next)
                run_input = None
        async for chunk in compiled.astream(run_input, config=config, context=context, stream_mode="updates"):
            for node, update in chunk.items():
                yield node, update or {}


async def abuild_criteria(
    task: str,
    *,
    model: ModelSpec = None,
    base_url: str | None = None,
    samples: Sequence[str] | None = None,
    seed_criteria: CriteriaSet | None = None,
    checkpointer: BaseCheckpointSaver | str | None = None,
    thread_id: str | None = None,
    store: BaseStore | None = None,
    on_update: Update | None = None,
    **limits: Any,
) -> CriteriaSet:
    """Build criteria for `task` with the Grounded-Theory graph (see `build_criteria`)."""
    criteria: CriteriaSet | None = None
    async for node, update in astream_criteria(
        task,
        model=model,
        base_url=base_url,
        samples=samples,
        seed_criteria=seed_criteria,
        checkpointer=checkpointer,
        thread_id=thread_id,
        store=store,
        **limits,
    ):
        if on_update is not None:
            on_update(node, update)
        if node == "finalize":
            criteria = update["criteria"]
    if criteria is None:  # pragma: no cover - the graph always ends in finalize
        raise CriteriaBuildError("the criteria graph ended without criteria")
    return criteria if isinstance(criteria, CriteriaSet) else CriteriaSet.model_validate(criteria)


def build_criteria(
    task: str,
    *,
    model: ModelSpec = None,
    base_url: str | None = None,
    samples: Sequence[str] | None = None,
    seed_criteria: CriteriaSet | None = None,
    checkpointer: BaseCheckpointSaver | str | None = None,
    thread_id: str | None = None,
    **limits: Any,
) -> CriteriaSet:
    """Build a `CriteriaSet` for `task` from sample texts (drafted when too few are given).

    Args:
        task: the writing task (a prompt or a genre).
        model: a model spec (`fake`, `openai:MODEL`, `hf:...`) or a chat model; None: the default model.
        base_url: an OpenAI-compatible server for `openai:` specs.
        samples: texts to ground the criteria in.
        seed_criteria: criteria to refine instead of starting from nothing.
        checkpointer: a checkpointer or a SQLite path, for runs that survive an interruption (with `thread_id`).
        **limits: `CriteriaContext` settings: `min_samples`, `max_rounds`, `max_critique_rounds`,
            `saturation_threshold`, `samples_per_round`, `coverage_threshold`, `<role>_model`, `max_concurrency`.

    Example:
        >>> criteria = build_criteria("A haiku about autumn", model="fake", max_rounds=0, max_critique_rounds=0)
        >>> len(criteria.criteria) > 0
        True
    """
    from writer_r1.core.asyncio_utils import run_sync

    return run_sync(
        abuild_criteria(
            task,
            model=model,
            base_url=base_url,
            samples=samples,
            seed_criteria=seed_criteria,
            checkpointer=checkpointer,
            thread_id=thread_id,
            **limits,
        )
    )
