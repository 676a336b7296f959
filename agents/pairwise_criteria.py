"""Per-criterion pairwise verdicts: the contract, its prompt, its strict parse, and how two orders combine.

`Judge.acompare(..., per_criterion=True)` asks, in each order, for an A/B/tie verdict on every criterion
with one line of evidence, plus the overall verdict. The reply must hold an object
`{"criteria": {id: {"evidence": str, "winner": "A"|"B"|"tie"}}, "reason": str, "winner": "A"|"B"|"tie"}`
(a JSON Schema with every criterion id required is sent as `response_format` where the server enforces
it). It is validated per criterion: a bad or missing criterion verdict is re-asked and, if still bad,
left without a winner (never guessed); a bad overall verdict makes the whole order fail. The prompt
(`prompts/judge_pairwise_criteria.j2`) states importance in words rather than decimals, warns against
preferring length, and fences both texts like the overall pairwise prompt.

The two orders combine per criterion exactly as the overall verdict does (`combine_orders`): opposite
winners — a verdict that flips with the order — are a tie, marked `inconsistent`.

Example:
    >>> from writer_r1.core.criteria import Criterion, Level
    >>> c = Criterion(id="imagery", name="Imagery", description="Concrete images",
    ...               levels=[Level(anchor="abstract"), Level(anchor="vivid")])
    >>> parsed = parse_pairwise_criteria('{"criteria": {"imagery": {"evidence": "B: frost on glass", '
    ...                                  '"winner": "B"}}, "reason": "B is concrete.", "winner": "B"}', [c])
    >>> parsed.winner, parsed.verdicts["imagery"], parsed.problems
    ('B', ('B', 'B: frost on glass'), {})
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict
from writer_r1.agents.judge_schema import iter_reply_objects
from writer_r1.agents.language import task_language_label
from writer_r1.core.criteria import CriteriaSet, Criterion
from writer_r1.core.structured import JsonContract

if TYPE_CHECKING:
    from writer_r1.agents.judge import Judge, PairwiseVerdict

logger = logging.getLogger(__name__)

SCHEMA_NAME = "pairwise_criteria_verdict"
Shown = Literal["A", "B", "tie"]
Choice = Literal["a", "b", "tie"]
_WINNERS = ("A", "B", "tie")


class CriterionVerdict(BaseModel):
    """One order's verdict on one criterion, in the caller's terms (`winner` None: no valid verdict)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    winner: Choice | None
    evidence: str


class CriterionComparison(BaseModel):
    """One criterion judged in both orders: `preferred` as `combine_orders` decides (None when an order gave
    no valid verdict on it), `inconsistent` when the orders named opposite winners, the evidence of both."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    preferred: Choice | None
    consistent: bool
    inconsistent: bool
    evidence: tuple[str, ...]


def importance_words(criteria: CriteriaSet) -> dict[str, str]:
    """Each criterion's weight relative to the average, in words (a judge reads words better than decimals).

    >>> from writer_r1.core.criteria import Criterion, Dimension, Level
    >>> lv = [Level(anchor="bad"), Level(anchor="good")]
    >>> cs = CriteriaSet(dimensions=[Dimension(name="D", criteria=[
    ...     Criterion(id="a", name="A", description="a", levels=lv, weight=3),
    ...     Criterion(id="b", name="B", description="b", levels=lv, weight=1)])])
    >>> importance_words(cs)
    {'a': 'very important', 'b': 'minor'}
    """
    weights = criteria.effective_weights()
    average = 1.0 / len(weights)
    words = {}
    for cid, weight in weights.items():
        ratio = weight / average
        words[cid] = (
            "essential"
            if ratio >= 2.5
            else "very important"
            if ratio >= 1.4
            else "important"
            if ratio >= 0.8
            else "secondary"
            if ratio >= 0.55
            else "minor"
        )
    return words


def pairwise_criteria_schema(criteria: Sequence[Criterion]) -> dict[str, Any]:
    """The JSON Schema: every criterion id required with evidence and winner; then reason and winner."""
    verdict = {
        "type": "object",
        "properties": {"evidence": {"type": "string"}, "winner": {"type": "string", "enum": list(_WINNERS)}},
        "required": ["evidence", "winner"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "criteria": {
                "type": "object",
                "properties": {criterion.id: verdict for criterion in criteria},
                "required": [criterion.id for criterion in criteria],
                "additionalProperties": False,
            },
            "reason": {"type": "string"},
            "winner": {"type": "string", "enum": list(_WINNERS)},
        },
        "required": ["criteria", "reason", "winner"],
        "additionalProperties": False,
    }


@dataclass
class ParsedCriteriaPairwise:
    """One reply: the overall winner and reason as shown, per-criterion (winner, evidence) as shown, and a
    problem for each criterion without a valid verdict."""

    winner: Shown
    reason: str
    verdicts: dict[str, tuple[Shown, str]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def _criterion_verdict(value: Any) -> tuple[Shown, str] | str:
    if not isinstance(value, dict):
        return "the verdict must be an object with evidence and winner"
    if getattr(value, "duplicates", set()) & {"evidence", "winner"}:
        return "the verdict gives evidence or winner more than once"
    winner, evidence = value.get("winner"), value.get("evidence")
    if winner not in _WINNERS:
        return f'winner must be "A", "B" or "tie", got {json.dumps(winner)}'
    if not isinstance(evidence, str) or not evidence.strip():
        return "the verdict needs one non-empty line of evidence"
    return winner, " ".join(evidence.split())


def parse_pairwise_criteria(reply: str, criteria: Sequence[Criterion]) -> ParsedCriteriaPairwise | str:
    """The reply's verdicts, or the problem with its overall verdict (a string).

    Every JSON object with `criteria`, `reason` and `winner` is a candidate; the one with a valid overall
    verdict settling the most criteria wins (the later on a tie). Candidates are never merged.
    """
    problem = "the reply holds no JSON object with criteria, reason and winner"
    best: ParsedCriteriaPairwise | None = None
    for candidate in iter_reply_objects(reply):
        if not {"criteria", "reason", "winner"} <= candidate.keys():
            continue
        winner, reason, per = candidate["winner"], candidate["reason"], candidate["criteria"]
        if candidate.duplicates & {"criteria", "reason", "winner"}:
            problem = "the verdict gives criteria, reason or winner more than once"
            continue
        if winner not in _WINNERS:
            problem = f'winner must be "A", "B" or "tie", got {json.dumps(winner)}'
            continue
        if not isinstance(reason, str) or not reason.strip():
            problem = "the verdict needs a non-empty reason (a string)"
            continue
        if not isinstance(per, dict):
            problem = "criteria must be an object with one verdict per criterion id"
            continue
        parsed = ParsedCriteriaPairwise(winner=winner, reason=reason.strip())
        for criterion in criteria:
            if criterion.id not in per:
                parsed.problems[criterion.id] = "no verdict was given"
            elif criterion.id in getattr(per, "duplicates", set()):
                parsed.problems[criterion.id] = "the verdict was given more than once"
            else:
                outcome = _criterion_verdict(per[criterion.id])
                if isinstance(outcome, str):
                    parsed.problems[criterion.id] = outcome
                else:
                    parsed.verdicts[criterion.id] = outcome
        if best is None or len(parsed.verdicts) >= len(best.verdicts):
            best = parsed
    return best if best is not None else problem


def pairwise_criteria_contract(criteria: Sequence[Criterion]) -> JsonContract[ParsedCriteriaPairwise]:
    """The strict contract sent as `response_format` (its own `parse` is all-or-nothing)."""

    def parse_complete(obj: dict[str, Any]) -> ParsedCriteriaPairwise:
        parsed = parse_pairwise_criteria(json.dumps(obj), criteria)
        if isinstance(parsed, str):
            raise ValueError(parsed)
        if parsed.problems:
            raise ValueError("; ".join(f"{key}: {problem}" for key, problem in parsed.problems.items()))
        return parsed

    return JsonContract(
        name=SCHEMA_NAME,
        schema=pairwise_criteria_schema(criteria),
        parse=parse_complete,
        required_keys=frozenset({"criteria", "reason", "winner"}),
        strict=True,
    )


def combine_criteria(
    first: PairwiseVerdict, second: PairwiseVerdict, criteria: CriteriaSet
) -> dict[str, CriterionComparison]:
    """Per criterion, the two orders' verdicts combined like the overall one (see `combine_orders`)."""
    from writer_r1.agents.judge import combine_orders

    combined = {}
    for criterion in criteria.criteria:
        verdicts = [(order.criteria or {}).get(criterion.id) for order in (first, second)]
        winners = [v.winner if v is not None else None for v in verdicts]
        preferred, consistent = combine_orders(winners[0], winners[1])
        combined[criterion.id] = CriterionComparison(
            preferred=preferred,
            consistent=consistent,
            inconsistent=set(winners) == {"a", "b"},
            evidence=tuple(v.evidence for v in verdicts if v is not None),
        )
    return combined


def pairwise_criteria_prompt(
    shown_first: str, shown_second: str, criteria: CriteriaSet, task: str, template: str | None = None
) -> str:
    """The per-criterion comparison prompt with `shown_first` as text A, both texts fenced."""
    from writer_r1.agents.judge import _criteria_texts
    from writer_r1.prompts import make_delimiter, render

    others = (task, *_criteria_texts(criteria.criteria))
    delimiter_a = make_delimiter(shown_first, shown_second, *others, stem="TEXT-A")
    delimiter_b = make_delimiter(shown_first, shown_second, *others, stem="TEXT-B")
    return render(
        "judge_pairwise_criteria",
        template=template,
        task=task,
        criteria=criteria.criteria,
        importance=importance_words(criteria),
        text_a=f"{delimiter_a}\n{shown_first}\n{delimiter_a}",
        text_b=f"{delimiter_b}\n{shown_second}\n{delimiter_b}",
        delimiter_a=delimiter_a,
        delimiter_b=delimiter_b,
        problem="",
        language=task_language_label(task),
    )


async def pairwise_order_criteria(
    judge: Judge, order: Literal["ab", "ba"], shown_first: str, shown_second: str, criteria: CriteriaSet, task: str
) -> PairwiseVerdict:
    """One order of a per-criterion comparison, through the judge's model, cache, semaphore and retries."""
    from writer_r1.agents.judge import PairwiseVerdict, _unshow
    from writer_r1.agents.judge_cache import cache_key
    from writer_r1.prompts import render, template_version

    template = getattr(judge, "pairwise_criteria_template", None)
    key = cache_key(
        kind="pairwise_criteria",
        model=judge._model_identity,
        template=template_version("judge_pairwise_criteria", template),
        criteria_version=criteria.version,
        task=task,
        texts=[shown_first, shown_second],
    )

    def verdict(parsed: ParsedCriteriaPairwise) -> PairwiseVerdict:
        per = {
            c.id: CriterionVerdict(winner=_unshow(parsed.verdicts[c.id][0], order), evidence=parsed.verdicts[c.id][1])
            if c.id in parsed.verdicts
            else CriterionVerdict(winner=None, evidence=parsed.problems.get(c.id, "no verdict"))
            for c in criteria.criteria
        }
        return PairwiseVerdict(order=order, winner=_unshow(parsed.winner, order), reason=parsed.reason, criteria=per)

    if judge.cache is not None and (cached := judge.cache.get(key)) is not None:
        outcome = parse_pairwise_criteria(cached, criteria.criteria)
        if not isinstance(outcome, str) and not outcome.problems:
            return verdict(outcome)
    from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

    prompt = pairwise_criteria_prompt(shown_first, shown_second, criteria, task, template)
    history: list[BaseMessage] = [HumanMessage(content=prompt)]
    contract = pairwise_criteria_contract(criteria.criteria)
    best: ParsedCriteriaPairwise | None = None
    problem = "no attempt was made"
    for _attempt in range(judge.retries + 1):
        reply = await judge._call(history, contract)
        if isinstance(reply, Exception):
            problem = f"the model call failed: {type(reply).__name__}: {reply}"
            continue
        outcome = parse_pairwise_criteria(reply, criteria.criteria)
        if isinstance(outcome, str):
            problem = outcome
        else:
            if best is not None:  # keep criterion verdicts already settled; the latest overall verdict stands
                for cid, value in best.verdicts.items():
                    if cid in outcome.problems:
                        outcome.verdicts[cid] = value
                        del outcome.problems[cid]
            best = outcome
            if not outcome.problems:
                break
            problem = "; ".join(f"{cid}: {why}" for cid, why in outcome.problems.items())
        retry = render("judge_pairwise_criteria", template=template, problem=problem)
        history = history + [AIMessage(content=reply), HumanMessage(content=retry)]
    if best is None:
        logger.warning("per-criterion pairwise judge gave no valid verdict (%s order): %s", order, problem)
        return PairwiseVerdict(
            order=order, winner=None, reason=f"no valid verdict after {judge.retries + 1} attempts: {problem}"
        )
    if not best.problems and judge.cache is not None:
        judge.cache.put(
            key,
            json.dumps(
                {
                    "criteria": {cid: {"evidence": e, "winner": w} for cid, (w, e) in best.verdicts.items()},
                    "reason": best.reason,
                    "winner": best.winner,
                },
                ensure_ascii=False,
            ),
        )
    return verdict(best)
