"""Which constraint ids cannot be combined in one task, by what they require.

Written from the checkers' semantics (not copied from IFEval's table): two ids conflict when no
text can satisfy both, or when one makes the other's check meaningless.

Example:
    >>> conflicts_between("change_case:english_capital", "change_case:english_lowercase")
    True
    >>> find_conflicts([{"id": "punctuation:no_comma"}, {"id": "detectable_format:title"}])
    []
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from writer_r1.core.criteria import ConstraintSpec

# The whole response is one fixed sentence: nothing else can be asked of it.
_EXCLUSIVE = {"detectable_format:constrained_response"}

# A JSON document has no prose structure, casing or framing of its own.
_JSON_CONFLICTS = {
    "length_constraints:number_paragraphs", "length_constraints:nth_paragraph_first_word",
    "length_constraints:number_sentences", "detectable_format:multiple_sections", "detectable_format:title",
    "detectable_format:number_bullet_lists", "detectable_format:number_highlighted_sections",
    "detectable_content:postscript", "startend:quotation", "startend:end_checker", "combination:two_responses",
    "combination:repeat_prompt", "change_case:english_capital", "change_case:english_lowercase",
    "change_case:capital_word_frequency", "writing:title", "writing:sections", "writing:section_names",
    "writing:starts_with", "writing:ends_with", "writing:dialogue", "writing:paragraph_count_range",
}  # fmt: skip

_PAIRS: set[frozenset[str]] = {
    frozenset(p)
    for p in [
        # all capitals vs all lowercase; lowercase leaves no capital word to count
        ("change_case:english_capital", "change_case:english_lowercase"),
        ("change_case:english_lowercase", "change_case:capital_word_frequency"),
        ("change_case:english_capital", "change_case:capital_word_frequency"),
        # English-only casing vs a required language (they agree only for English, which makes one redundant)
        ("language:response_language", "change_case:english_capital"),
        ("language:response_language", "change_case:english_lowercase"),
        # two paragraph separators (*** vs blank lines) cannot both define the paragraphs
        ("length_constraints:number_paragraphs", "length_constraints:nth_paragraph_first_word"),
        # '******' between two responses splits into an empty '***' paragraph
        ("length_constraints:number_paragraphs", "combination:two_responses"),
        ("length_constraints:nth_paragraph_first_word", "combination:two_responses"),
        # the response must open with the prompt, not a quote mark, title or chosen phrase
        ("combination:repeat_prompt", "startend:quotation"),
        ("combination:repeat_prompt", "writing:starts_with"),
        ("combination:repeat_prompt", "writing:title"),
        ("combination:two_responses", "startend:quotation"),
        # a closing postscript vs a required last phrase or closing quote
        ("detectable_content:postscript", "startend:quotation"),
        # exact bullet count vs no bullets
        ("detectable_format:number_bullet_lists", "writing:no_bullet_lists"),
        # one narrative voice
        ("writing:point_of_view", "writing:point_of_view"),
        # an exact end phrase twice
        ("startend:end_checker", "writing:ends_with"),
    ]
}

# Ids whose arguments set one target for the whole text: asking twice is contradictory or redundant.
_SINGLETONS = {
    "keywords:letter_frequency", "language:response_language", "length_constraints:number_sentences",
    "length_constraints:number_paragraphs", "length_constraints:number_words",
    "length_constraints:nth_paragraph_first_word", "detectable_content:number_placeholders",
    "detectable_content:postscript", "detectable_format:number_bullet_lists",
    "detectable_format:number_highlighted_sections", "detectable_format:multiple_sections",
    "startend:end_checker", "change_case:capital_word_frequency", "writing:word_count_range",
    "writing:character_count_range", "writing:paragraph_count_range", "writing:sentence_count_range",
    "writing:sections", "writing:starts_with", "writing:ends_with", "writing:point_of_view", "writing:title",
}  # fmt: skip


def conflicts_between(first: str, second: str) -> bool:
    """Whether constraints with these two ids cannot both be asked of one text."""
    if first == second:
        return first in _SINGLETONS or first in _EXCLUSIVE
    if first in _EXCLUSIVE or second in _EXCLUSIVE:
        return not (first.startswith("llm:") or second.startswith("llm:"))
    if "detectable_format:json_format" in (first, second):
        other = second if first == "detectable_format:json_format" else first
        return other in _JSON_CONFLICTS
    return frozenset((first, second)) in _PAIRS


def conflicts_with(constraint_id: str) -> frozenset[str]:
    """Every registered id that conflicts with `constraint_id`."""
    from writer_r1.constraints.registry import registered_ids

    return frozenset(other for other in registered_ids() if conflicts_between(constraint_id, other))


def find_conflicts(specs: Iterable[ConstraintSpec | Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The conflicting pairs of ids among `specs` (in order of appearance)."""
    ids = [s.id if isinstance(s, ConstraintSpec) else str(s["id"]) for s in specs]
    return [
        (ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids)) if conflicts_between(ids[i], ids[j])
    ]
