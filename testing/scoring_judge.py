"""A deterministic judge for the loopback server: a scoring rule answers the criteria judge's requests.

The loopback server (`OpenAICompatServer`) answers with a responder. `scoring_rule_responder(rule)` reads a
pointwise judge request the way a model would — the text between the judge prompt's delimiter lines, the
criteria and their level ranges from the `response_format` JSON Schema (or, without one, from the prompt's
output contract) — and answers every criterion with the level `1 + round(rule(text) × (max_level − 1))`, a
valid verdict object. Any other request (pairwise, writer, critic ...) goes to a fallback responder.

So a training run or a test exercises the real path — `CriteriaReward` → `Judge` → HTTP → verdict parsing →
scorecard → RLMR — with a quality signal that is known exactly. `LexicalShare` is the rule the learning
benchmark uses: the share of a text's words that belong to a word list.

Example:
    >>> from writer_r1.agents.judge import Judge
    >>> from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
    >>> from writer_r1.testing import OpenAICompatServer
    >>> criteria = CriteriaSet(dimensions=[Dimension(name="Style", criteria=[Criterion(
    ...     id="wonder", name="Wonder", description="Fantasy vocabulary",
    ...     levels=[Level(anchor=str(i)) for i in range(11)])])])
    >>> rule = LexicalShare(["dragon", "elf"])
    >>> with OpenAICompatServer(responder=scoring_rule_responder(rule)) as server:
    ...     Judge("openai:loopback-model", base_url=server.base_url).score("a dragon, an elf", criteria).overall
    0.5
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from writer_r1.testing.openai_server import Responder, fake_responder
from writer_r1.testing.tiny_models import CORPUS

ScoringRule = Callable[[str], float]

# The lexical quality proxy of the learning test and `bench/rlmr_learning.py`, and a tokenizer corpus in which
# these words and "river" (their constraint) are whole tokens, as a real model's vocabulary holds them
# (`tiny_qwen2(directory, head="causal", corpus=FANTASY_CORPUS)`).
FANTASY_WORDS = ("dragon", "elf", "magic", "wizard", "castle")
FANTASY_CORPUS = [*CORPUS, *["The dragon and the elf found magic in the castle of the wizard by the river."] * 60]

_FENCE = re.compile(r"The text to judge is between the two (\S+) lines:\n")
_CONTRACT_LINE = re.compile(r'^- "([^"]+)": level 1 to (\d+)\s*$', re.MULTILINE)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class LexicalShare:
    """Share of a text's words (`\\w+`, case-insensitive) that are in `words`; 0 for a text with no words.

    Example:
        >>> LexicalShare(["dragon", "elf"])("Dragon, river, elf, elf!")
        0.75
    """

    words: frozenset[str]

    def __init__(self, words: Iterable[str]):
        object.__setattr__(self, "words", frozenset(word.lower() for word in words))
        if not self.words:
            raise ValueError("LexicalShare needs at least one word")

    def __call__(self, text: str) -> float:
        tokens = _WORD.findall(text.lower())
        return sum(token in self.words for token in tokens) / len(tokens) if tokens else 0.0


def judged_text(prompt: str) -> str | None:
    """The text a pointwise judge prompt fences (between its delimiter lines), or None for another prompt."""
    match = _FENCE.search(prompt)
    if match is None:
        return None
    delimiter = match.group(1)
    start = match.end()
    opening = f"{delimiter}\n"
    if not prompt.startswith(opening, start):
        return None
    start += len(opening)
    # The closing line follows the text's last line; searching from the opening's newline finds it for "" too.
    end = prompt.find(f"\n{delimiter}\n", start - 1)
    if end < 0:
        return None
    return prompt[start : max(start, end)]


def criteria_levels(request: Mapping[str, Any], prompt: str) -> dict[str, int]:
    """Criterion id → its highest level, from the request's JSON Schema, else from the prompt's contract lines."""
    response_format = request.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema") if isinstance(response_format, dict) else None
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        levels = {}
        for criterion_id, spec in schema["properties"].items():
            level = ((spec or {}).get("properties") or {}).get("level") or {}
            if "maximum" in level:
                levels[criterion_id] = int(level["maximum"])
        if levels:
            return levels
    return {criterion_id: int(top) for criterion_id, top in _CONTRACT_LINE.findall(prompt)}


def scoring_rule_responder(
    rule: ScoringRule | Mapping[str, ScoringRule], *, fallback: Responder = fake_responder
) -> Responder:
    """A responder that judges with `rule` (one rule for every criterion, or one per criterion id).

    A rule maps the judged text to a score in [0, 1] (clipped); a criterion with levels 1..n gets the
    level `1 + round(score × (n − 1))`. A criterion a mapping does not name is a `KeyError` (the server
    answers HTTP 500, which the judge reports as a failure, never a score).
    """

    def respond(request: dict[str, Any]) -> str:
        messages = request.get("messages") or []
        prompt = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        text = judged_text(prompt)
        levels = criteria_levels(request, prompt) if text is not None else {}
        if text is None or not levels:
            return fallback(request)
        verdicts = {}
        for criterion_id, top in levels.items():
            score_of = rule[criterion_id] if isinstance(rule, Mapping) else rule
            score = min(1.0, max(0.0, float(score_of(text))))
            verdicts[criterion_id] = {"reason": f"scoring rule: {score:.3f}", "level": 1 + round(score * (top - 1))}
        return json.dumps(verdicts)

    return respond
