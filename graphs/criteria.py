"""The Grounded-Theory criteria graph: sample → code (fan-out) → induce → saturate → critique → finalize.

1. **sample** — the writer drafts diverse texts (varied approaches and temperatures) until there are
   `min_samples`; a saturation round is theoretical sampling: `samples_per_round` fresh texts, each asked to
   probe a gap of the current criteria (uncovered codes, criteria without a weak or a strong example).
2. **code** — one coder task per new text (`Send`, in parallel): open codes with verbatim quotes (a quote that
   is in neither the text nor its human comment is dropped). The task statement is coded once, into requirement
   codes, and the extractor maps its checkable requirements to registry constraints.
3. **induce** — axial coding (codes → categories), selective coding (a core category, dimensions around it),
   criteria whose level anchors are grounded in quoted codes; the previous criteria are shown in full.
4. **saturate** — the share of the fresh batch's codes that are new in content (`novel_codes`) is the saturation
   gap; above `saturation_threshold` the criteria are induced again and, while rounds remain, a new batch is drawn.
5. **critique** — the discrimination check (each criterion judged on the texts of its strength and of its weakness
   codes; one that scores them alike is an issue), then the critic's typed verdict; not approved and reviews
   remain → induce again with it.
6. **finalize** — weights normalised, provenance written, the set stored when the run has a store.

docs/method.md explains the method as implemented, with a worked example.

Coverage, simply (the critic's uncovered codes, the probes): a code is covered by a criterion that lists the
code's concept as evidence, or whose name, description and anchors share enough vocabulary with the code's
concept and observation (lexical cosine ≥ `coverage_threshold`); saturation reads content only (`novel_codes`). Every loop has its own counter and limit; none relies on the recursion limit.

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
from pydantic import BaseModel
from writer_r1.agents.coder import Coder
from writer_r1.agents.critic import Critic
from writer_r1.agents.extractor import ConstraintExtractor, extract_rules
from writer_r1.agents.inducer import (
    Inducer,
    categories_of,
    code_table,
    criteria_from_induction,
    validated_constraints,
)
from writer_r1.agents.judge import Judge
from writer_r1.agents.language import task_language
from writer_r1.agents.writer import Writer
from writer_r1.core.criteria import ConstraintSpec, CriteriaSet, Criterion, Provenance
from writer_r1.core.errors import StructuredOutputError, UserError, WriterR1Error
from writer_r1.core.records import Code, Critique, CritiqueIssue
from writer_r1.graphs.context import CriteriaContext, ModelSpec, model_for, model_name
from writer_r1.graphs.state import (
    CodeTask,
    CodingTally,
    CriteriaInput,
    CriteriaOutput,
    CriteriaState,
    Sample,
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


def _content(code: Code) -> str:
    """What a code observed, without its label (the label is a name, not the content)."""
    return code.observation.strip() or code.concept


def novel_codes(fresh: Sequence[Code], earlier: Sequence[Code], criteria: CriteriaSet, threshold: float) -> list[Code]:
    """The fresh codes that are new in content: like neither a criterion nor a code that grounds one.

    Coverage is read on content, not on labels: a fresh code (its observation) is covered when it is
    lexically close (cosine ≥ `threshold`) to a criterion's name, description and anchors, or to one of the earlier
    codes that ground a criterion (those whose concept the criterion lists as evidence). A fresh code that reuses a
    known label for something new counts as new; one that coins a new label for a known observation does not.

    Example:
        >>> from writer_r1.core.criteria import Dimension, Level
        >>> criteria = CriteriaSet(dimensions=[Dimension(name="Use", criteria=[Criterion(id="where", name="Location",
        ...     description="Says where the button is", levels=[Level(anchor="no place"), Level(anchor="exact menu path")],
        ...     evidence=("location",))])])
        >>> known = Code(concept="location", observation="Names the settings menu path", quote="q", polarity="strength")
        >>> same = Code(concept="where it lives", observation="Names the settings menu path", quote="q", polarity="strength")
        >>> new = Code(concept="location", observation="Apologises for the quarterly price rise", quote="q",
        ...            polarity="weakness")
        >>> [code.concept for code in novel_codes([same, new], [known], criteria, threshold=0.3)]
        ['location']
    """
    if not fresh:
        return []
    evidence = {label.strip().casefold() for criterion in criteria.criteria for label in criterion.evidence}
    grounding = {_content(code) for code in earlier if code.concept.strip().casefold() in evidence}
    references = _COVERAGE_EMBEDDINGS.embed_documents(
        [_criterion_text(criterion) for criterion in criteria.criteria] + sorted(grounding)
    )
    code_vectors = _COVERAGE_EMBEDDINGS.embed_documents([_content(code) for code in fresh])
    return [
        code
        for code, vector in zip(fresh, code_vectors, strict=True)
        if max((cosine(vector, other) for other in references), default=0.0) < threshold
    ]


# --- nodes ------------------------------------------------------------------------------------------


def _given_samples(state: CriteriaState) -> tuple[list[str], list[str | None]]:
    texts: list[str] = []
    comments: list[str | None] = []
    for item in state.samples:
        text, comment = (item, None) if isinstance(item, str) else (item.text, item.comment)
        if text.strip():
            texts.append(text)
            comments.append(comment.strip() if comment and comment.strip() else None)
    return texts, comments


def theoretical_probes(
    codes: Sequence[Code], criteria: CriteriaSet, threshold: float, wanted: int, limit: int = 3
) -> list[str]:
    """What fresh samples should probe: concepts no criterion covers (most frequent first), then criteria whose
    grounding lacks a polarity (no weak example, or no strong one, so they cannot be told apart from the data).

    One probe per text wanted; each names up to `limit` gaps. Empty when there is no gap.
    """
    gaps: list[str] = []
    uncovered = Counter(code.concept for code in uncovered_codes(codes, criteria, threshold))
    first: dict[str, Code] = {}
    for code in codes:
        first.setdefault(code.concept, code)
    for concept, _ in uncovered.most_common():
        gaps.append(f"{concept} ({first[concept].observation.rstrip('.')}) — done clearly well or clearly badly")
    for criterion in criteria.criteria:
        polarities = {example.polarity for example in criterion.examples}
        if criterion.kind != "quality":
            continue
        if "weakness" not in polarities:
            gaps.append(f"{criterion.name} done badly: {criterion.levels[0].anchor}")
        elif "strength" not in polarities:
            gaps.append(f"{criterion.name} done well: {criterion.levels[-1].anchor}")
    if not gaps:
        return []
    return ["; ".join(gaps[(i * limit) % len(gaps) :][:limit]) for i in range(wanted)]


async def sample(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> dict[str, Any]:
    """Draft the texts this round needs; mark them as the batch to code.

    The first round grounds the theory in varied texts (`SAMPLE_APPROACHES`); a saturation round is theoretical
    sampling: each fresh text is asked to probe a gap of the current criteria (`theoretical_probes`).
    """
    context = _context(runtime)
    if not state.task.strip():
        raise UserError("the task is empty")
    first_round = state.draft is None
    if state.texts:
        texts, comments = list(state.texts), list(state.comments)
    else:
        texts, comments = _given_samples(state)
    comments += [None] * (len(texts) - len(comments))
    # The first detection loads langdetect's profiles (file reads): off the event loop (Studio forbids blocking).
    language = state.language if state.texts else await asyncio.to_thread(task_language, state.task)
    wanted = max(0, context.min_samples - len(texts)) if first_round else context.samples_per_round
    probes: list[str] = []
    if not first_round and state.draft is not None:
        probes = theoretical_probes(state.codes, state.draft, context.coverage_threshold, wanted)
    writer = Writer(model_for(context, "writer"), language=language)
    limit = asyncio.Semaphore(context.max_concurrency)

    async def draft(number: int, probe: str | None) -> str:
        async with limit:
            return await writer.adraft(
                state.task,
                temperature=SAMPLE_TEMPERATURES[number % len(SAMPLE_TEMPERATURES)],
                approach=SAMPLE_APPROACHES[number % len(SAMPLE_APPROACHES)],
                probe=probe,
            )

    results = await asyncio.gather(
        *(draft(len(texts) + i, probes[i] if probes else None) for i in range(wanted)), return_exceptions=True
    )
    notes = list(state.notes)
    for result in results:
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            logger.warning("a sample draft failed: %s", result)
            notes.append(f"a sample draft failed: {type(result).__name__}: {result}")
        else:
            texts.append(result)
            comments.append(None)
    return {
        "texts": texts,
        "comments": comments,
        "language": language,
        "probes": probes,
        "batch_start": state.coded_upto,
        "coded_upto": len(texts),
        "notes": notes,
    }


def dispatch_coding(state: CriteriaState) -> list[Send] | str:
    """One coder task per text of the batch (and, once, the task statement); straight on when none."""
    concepts = sorted({code.concept for code in state.codes}, key=str.casefold)[:60]
    comments = state.comments + [None] * (len(state.texts) - len(state.comments))
    sends = [
        Send(
            "code",
            CodeTask(
                task=state.task,
                text=state.texts[index],
                source=index,
                concepts=concepts,
                comment=comments[index],
                language=state.language,
            ),
        )
        for index in range(state.batch_start, state.coded_upto)
    ]
    if not any(tally.source == -1 for tally in state.tallies):
        sends.append(Send("code", CodeTask(task=state.task, text=state.task, source=-1, language=state.language)))
    return sends or after_coding(state)


async def code(state: CodeTask, runtime: Runtime[CriteriaContext]) -> dict[str, Any]:
    """Code one text (or the task statement: its requirements, and its checkable constraints by the extractor).

    A failed coder call is tallied, not fatal."""
    context = _context(runtime)
    coder = Coder(model_for(context, "coder"), language=state.language)
    try:
        if state.source == -1:
            found, extracted = await asyncio.gather(coder.arequirements(state.task), _extract(state.task, context))
            return {
                "requirements": found.requirements,
                "extracted": extracted,
                "tallies": [CodingTally(source=-1, kept=len(found.requirements), dropped_quotes=found.dropped)],
            }
        coded = await coder.acode(
            state.task, state.text, source=state.source, concepts=state.concepts, comment=state.comment
        )
    except StructuredOutputError as error:
        logger.warning("coding of source %d failed: %s", state.source, error)
        return {"tallies": [CodingTally(source=state.source, error=str(error).splitlines()[0])]}
    return {
        "codes": coded.codes,
        "tallies": [CodingTally(source=state.source, kept=len(coded.codes), dropped_quotes=coded.dropped)],
    }


async def _extract(task: str, context: CriteriaContext) -> list[ConstraintSpec]:
    """The task's checkable constraints (the extractor maps requirements to checks; the inducer no longer does).

    Requirements no checker expresses (`llm:`) are left to the inducer's constraint criteria."""
    try:
        found = await ConstraintExtractor(model_for(context, "coder")).aextract(task)
    except (StructuredOutputError, ValueError) as error:
        logger.warning("constraint extraction failed (%s); using the rule-found constraints", error)
        found = extract_rules(task)
    return [spec for spec in found if not spec.is_llm_verified]


def after_coding(state: CriteriaState) -> str:
    return "induce" if state.draft is None else "saturate"


def task_constraints(task: str, *groups: Sequence[ConstraintSpec]) -> list[ConstraintSpec]:
    """The task's constraints: those its wording states explicitly (found by rules, exact), then `groups` in
    order; a constraint whose id is already present is left out (an `llm:` requirement is kept per text)."""
    merged: dict[str, ConstraintSpec] = {}
    for group in (extract_rules(task), *groups):
        for spec in group:
            merged.setdefault(spec.id if spec.id != "llm:requirement" else spec.key(), spec)
    return list(merged.values())


async def induce(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> dict[str, Any]:
    """Induce criteria from every code so far, revising the previous draft (and answering the critique)."""
    context = _context(runtime)
    inducer = Inducer(model_for(context, "inducer"), language=state.language)
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
    constraints = task_constraints(state.task, seed_constraints, state.extracted, induced_constraints)
    table = code_table(state.codes)
    draft = criteria_from_induction(
        induction, task=state.task, constraints=constraints, codes=table, language=state.language
    )
    return {
        "draft": draft,
        "categories": categories_of(induction, table),
        "inductions": state.inductions + 1,
        "notes": notes,
    }


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
    earlier = [code for code in state.codes if code.source < state.batch_start]
    gap = len(novel_codes(fresh, earlier, state.draft, context.coverage_threshold)) / len(fresh)
    logger.info("saturation round %d: gap %.2f over %d fresh codes", state.rounds + 1, gap, len(fresh))
    return {"rounds": state.rounds + 1, "saturation_gap": gap, "notes": notes}


def after_saturation(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> str:
    context = _context(runtime)
    if state.saturation_gap is not None and state.saturation_gap > context.saturation_threshold:
        return "induce"
    return _review_or_finalize(state, context)


class Discrimination(BaseModel):
    """How a criterion scored the sample texts its strength codes came from against those of its weakness codes."""

    criterion_id: str
    strong_level: float
    weak_level: float

    @property
    def separates(self) -> bool:
        return self.strong_level > self.weak_level


def discrimination_sources(criterion: Criterion, codes: Sequence[Code]) -> tuple[set[int], set[int]]:
    """(strong, weak): the texts the criterion's strength codes and weakness codes came from, overlap removed."""
    labels = {label.strip().casefold() for label in criterion.evidence}
    grounding = [code for code in codes if code.source >= 0 and code.concept.strip().casefold() in labels]
    grounding += [
        Code(concept=e.concept, observation="", quote=e.quote, polarity=e.polarity, source=e.source)
        for e in criterion.examples
        if e.source >= 0
    ]
    strong = {code.source for code in grounding if code.polarity == "strength"}
    weak = {code.source for code in grounding if code.polarity == "weakness"}
    return strong - weak, weak - strong


async def discrimination_check(
    criteria: CriteriaSet, texts: Sequence[str], codes: Sequence[Code], judge: Any, task: str
) -> list[Discrimination]:
    """Judge each quality criterion on the texts of its strength codes and of its weakness codes (one judge call
    per text, for all the criteria it tests); the mean levels of both groups, per criterion that has both.

    A criterion that scores its strong texts no higher than its weak ones does not discriminate: it is vague, or
    it measures something other than what its codes observed (OpenRubrics drops rubrics that disagree with known
    preferences). Unscored verdicts are left out; a criterion without both groups is not tested.
    """
    groups = {
        criterion.id: discrimination_sources(criterion, codes)
        for criterion in criteria.criteria
        if criterion.kind == "quality"
    }
    groups = {cid: (strong, weak) for cid, (strong, weak) in groups.items() if strong and weak}
    sources = sorted({source for strong, weak in groups.values() for source in strong | weak if source < len(texts)})
    if not groups or not sources:
        return []

    async def levels_of(source: int) -> tuple[int, dict[str, int]]:
        wanted = [cid for cid, (strong, weak) in groups.items() if source in strong | weak]
        card = await judge.ascore(texts[source], criteria.subset(wanted), task=task)
        return source, {cid: score.level for cid in wanted if (score := card.score_of(cid)) is not None}

    levels = dict(await asyncio.gather(*(levels_of(source) for source in sources)))
    results = []
    for cid, (strong, weak) in groups.items():
        strong_levels = [levels[s][cid] for s in strong if cid in levels.get(s, {})]
        weak_levels = [levels[s][cid] for s in weak if cid in levels.get(s, {})]
        if strong_levels and weak_levels:
            results.append(
                Discrimination(
                    criterion_id=cid,
                    strong_level=sum(strong_levels) / len(strong_levels),
                    weak_level=sum(weak_levels) / len(weak_levels),
                )
            )
    return results


def discrimination_issues(results: Sequence[Discrimination]) -> list[CritiqueIssue]:
    """A critique issue for each criterion that does not separate its strong texts from its weak ones."""
    return [
        CritiqueIssue(
            kind="discrimination",
            criterion_ids=[result.criterion_id],
            detail=(
                f"it scores the texts its strength codes came from at level {result.strong_level:.1f} on average, no "
                f"higher than the texts its weakness codes came from ({result.weak_level:.1f}): it is vague or measures "
                "something else; rewrite its anchors so they separate those texts, or merge it into another criterion"
            ),
        )
        for result in results
        if not result.separates
    ]


async def critique(state: CriteriaState, runtime: Runtime[CriteriaContext]) -> dict[str, Any]:
    """The critic reviews the draft; frequent uncovered codes and the discrimination check are shown to it, and a
    criterion that does not discriminate is an issue whatever the critic says."""
    context = _context(runtime)
    assert state.draft is not None, "critique runs after induce"
    uncovered = Counter(code.concept for code in uncovered_codes(state.codes, state.draft, context.coverage_threshold))
    frequent = [(concept, count) for concept, count in uncovered.most_common(12) if count >= 2]
    checked: list[Discrimination] = []
    notes = list(state.notes)
    if context.discrimination_check:
        judge = Judge(model_for(context, "judge"), max_concurrency=context.max_concurrency, cache=None)
        try:
            checked = await discrimination_check(state.draft, state.texts, state.codes, judge, state.task)
        except StructuredOutputError as error:  # pragma: no cover - the judge reports failures as unscored
            notes.append(f"the discrimination check failed: {error}")
    flagged = discrimination_issues(checked)
    critic = Critic(model_for(context, "critic"), language=state.language)
    try:
        verdict = await critic.acritique(state.draft, uncovered=frequent, discrimination=checked)
    except StructuredOutputError as error:
        notes.append(f"the critic failed, review {state.critique_rounds + 1} skipped: {str(error).splitlines()[0]}")
        if not flagged:
            return {"critique": None, "critique_rounds": context.max_critique_rounds, "notes": notes}
        verdict = Critique(approved=False, issues=[], summary="the critic failed; the discrimination check did not")
    if flagged:
        known = {tuple(issue.criterion_ids) for issue in verdict.issues if issue.kind == "discrimination"}
        extra = [issue for issue in flagged if tuple(issue.criterion_ids) not in known]
        verdict = verdict.model_copy(update={"approved": False, "issues": [*verdict.issues, *extra]})
        notes.append(f"discrimination check: {', '.join(i.criterion_ids[0] for i in flagged)} did not separate")
    return {"critique": verdict, "critique_rounds": state.critique_rounds + 1, "notes": notes}


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
        core_category=state.draft.provenance.core_category,
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
    samples: Sequence[str | Sample] | None = None,
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
    samples: Sequence[str | Sample] | None = None,
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
    samples: Sequence[str | Sample] | None = None,
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
        samples: texts to ground the criteria in: strings, or `Sample(text=..., comment=...)` where a human
            comment on a text is evidence for its coder.
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
