"""Edge cases per IFEval checker (semantics of the official checker), strict and loose."""

from __future__ import annotations

import pytest
from writer_r1.constraints import ConstraintArgumentError, get_checker
from writer_r1.constraints.ifeval import evaluate, loose_variants

CASES = [
    # (id, kwargs, text, expected)
    ("keywords:existence", {"keywords": ["tide", "moon"]}, "The TIDE follows the Moon.", True),
    ("keywords:existence", {"keywords": ["tide", "moon"]}, "The tide turns.", False),
    ("keywords:existence", {"keywords": ["C++"]}, "I write C++ daily.", True),  # literal, not a regex
    ("keywords:frequency", {"keyword": "sea", "frequency": 2, "relation": "at least"}, "sea Sea", True),
    ("keywords:frequency", {"keyword": "sea", "frequency": 2, "relation": "less than"}, "seaside sea", False),
    ("keywords:forbidden_words", {"forbidden_words": ["art"]}, "Start the party.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["art"]}, "Modern Art.", False),
    ("keywords:letter_frequency", {"letter": "a", "let_frequency": 3, "let_relation": "at least"}, "AaA", True),
    ("keywords:letter_frequency", {"letter": "!", "let_frequency": 2, "let_relation": "less than"}, "Hi!!", False),
    ("length_constraints:number_words", {"num_words": 3, "relation": "at least"}, "don't stop", True),  # don, t, stop
    ("length_constraints:number_words", {"num_words": 3, "relation": "less than"}, "one two three", False),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "less than"}, "Dr. Smith left.", True),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "at least"}, "Go. Now!", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "a\n***\nb", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "***\na\n***\nb\n***", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "a\n***\n\n***\nb", False),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "Then"},
     "First.\n\n\"Then, he left.", True),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "First.\n\n\n\nThen he left.", False),  # the 2nd chunk is empty, as in the official indexing
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[name] at [address]", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[name]", False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Bye.\np. s. see you", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Bye.\nPS see you", False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Bye.\nP.S. see you", True),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Bye.\nP. P. S more", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n- b\n**bold**", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a", False),
    ("detectable_format:constrained_response", {}, "  My answer is maybe.  ", True),
    ("detectable_format:constrained_response", {}, "My answer is perhaps.", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* and **two**", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "** ** and * *", False),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\na\nSection 2\nb", True),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2}, "SECTION 1 only", False),
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', True),
    ("detectable_format:json_format", {}, "{'a': 1}", False),
    ("detectable_format:title", {}, "<<Harbour Lights>>\ntext", True),
    ("detectable_format:title", {}, "<< >> text", False),
    ("combination:two_responses", {}, "one\n******\ntwo", True),
    ("combination:two_responses", {}, "one\n******\none", False),
    ("combination:two_responses", {}, "one\n******\n\n******\ntwo", False),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem."}, "  write a POEM. Here it is", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem."}, "Sure! Write a poem.", False),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, 'Done. "Any other questions?"', True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Any other questions? Bye.", False),
    ("startend:quotation", {}, ' "wrapped" ', True),
    ("startend:quotation", {}, '"', False),
    ("punctuation:no_comma", {}, "No commas here.", True),
    ("punctuation:no_comma", {}, "One, two", False),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"},
     "I'M HAPPY today", True),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "less than"},
     "CANNOT stop", False),  # word_tokenize splits CANNOT into CAN + NOT
    ("change_case:english_capital", {}, "THIS IS AN ENGLISH SENTENCE ABOUT THE WEATHER TODAY.", True),
    ("change_case:english_capital", {}, "THIS IS Not all capitals.", False),
    ("change_case:english_lowercase", {}, "this is an english sentence about the weather today.", True),
    ("change_case:english_lowercase", {}, "dies ist ein deutscher satz über das wetter heute.", False),
    ("language:response_language", {"language": "de"}, "Dies ist ein deutscher Satz über das Wetter heute.", True),
    ("language:response_language", {"language": "en"}, "Dies ist ein deutscher Satz über das Wetter heute.", False),
    ("language:response_language", {"language": "en"}, "1234 5678", True),  # undetectable counts as followed
]  # fmt: skip


@pytest.mark.parametrize(("constraint_id", "kwargs", "text", "expected"), CASES)
def test_checker_edge_cases(constraint_id, kwargs, text, expected):
    checker = get_checker(constraint_id, **kwargs)
    assert checker.check(text) is expected
    assert checker.describe()


def test_every_ifeval_id_has_a_case():
    from writer_r1.constraints.ifeval.checkers import IFEVAL_IDS

    assert len(IFEVAL_IDS) == 25
    assert {c[0] for c in CASES} == set(IFEVAL_IDS)


@pytest.mark.parametrize(
    ("constraint_id", "kwargs"),
    [
        ("keywords:frequency", {"keyword": "sea", "frequency": 2}),  # relation missing: no random default
        ("keywords:frequency", {"keyword": "sea", "frequency": 2, "relation": "at most"}),
        ("keywords:letter_frequency", {"letter": "ab", "let_frequency": 1, "let_relation": "at least"}),
        ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "a"}),
        ("detectable_format:title", {"extra": 1}),
        ("startend:end_checker", {"end_phrase": "  "}),
        ("length_constraints:number_words", {"num_words": -1, "relation": "at least"}),
    ],
)
def test_bad_kwargs_are_clear_errors(constraint_id, kwargs):
    with pytest.raises(ConstraintArgumentError, match=constraint_id):
        get_checker(constraint_id, **kwargs)


def test_loose_variants_in_official_order():
    variants = loose_variants("Sure!\n*Body*\nBye")
    assert variants == ["Sure!\n*Body*\nBye", "Sure!\nBody\nBye", "*Body*\nBye", "Sure!\n*Body*", "*Body*",
                        "Body\nBye", "Sure!\nBody", "Body"]  # fmt: skip


def test_loose_passes_when_a_variant_passes_and_blank_fails():
    row = {"prompt": "p", "instruction_id_list": ["startend:quotation", "punctuation:no_comma"], "kwargs": [{}, {}]}
    response = 'Here you go:\n"All wrapped up"'
    assert evaluate([row], {"p": response}, "strict")[0].follow_instruction_list == [False, True]
    assert evaluate([row], {"p": response}, "loose")[0].follow_instruction_list == [True, True]
    assert evaluate([row], {"p": "   "}, "loose")[0].follow_instruction_list == [False, False]


def test_missing_response_is_an_error():
    from writer_r1.constraints import ConstraintError

    with pytest.raises(ConstraintError, match="no response"):
        evaluate([{"key": 7, "prompt": "p", "instruction_id_list": [], "kwargs": []}], {}, "strict")


def test_null_kwargs_are_treated_as_absent():
    row = {"prompt": "p", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{"num_words": None}]}
    assert evaluate([row], {"p": "ok"})[0].follow_all_instructions


@pytest.mark.parametrize(
    ("instruction_id", "kwargs", "response"),
    [
        ("keywords:existence", {"keywords": ["kelvin"]}, "\u212aelvin scale"),  # Kelvin sign folds to k
        ("keywords:existence", {"keywords": ["\u212aelvin"]}, "kelvin scale"),
        ("keywords:existence", {"keywords": ["Tide"]}, "the TIDE turned"),
        ("keywords:frequency", {"keyword": "aa", "frequency": 2, "relation": "at least"}, "AAAA aa"),
        ("keywords:frequency", {"keyword": "ſun", "frequency": 1, "relation": "at least"}, "SUN sun"),
        ("keywords:forbidden_words", {"forbidden_words": ["tide"]}, "the tides turned"),
        ("keywords:forbidden_words", {"forbidden_words": ["tide"]}, "the TIDE turned"),
        ("keywords:forbidden_words", {"forbidden_words": ["straße"]}, "STRASSE and Straße"),
    ],
)
def test_keyword_checks_equal_the_regular_expressions(instruction_id, kwargs, response):
    import re

    checker = get_checker(instruction_id, **kwargs)
    if instruction_id == "keywords:existence":
        expected = all(re.search(re.escape(k), response, re.IGNORECASE) for k in kwargs["keywords"])
    elif instruction_id == "keywords:frequency":
        found = len(re.findall(re.escape(kwargs["keyword"]), response, re.IGNORECASE))
        expected = found >= kwargs["frequency"]
    else:
        expected = not any(
            re.search(rf"\b{re.escape(w)}\b", response, re.IGNORECASE) for w in kwargs["forbidden_words"]
        )
    assert checker.check(response) is expected
