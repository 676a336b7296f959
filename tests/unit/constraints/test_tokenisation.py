"""Our fast measurements equal the libraries the official checker calls (NLTK, langdetect)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from writer_r1.constraints import langid, text
from writer_r1.constraints.ifeval import loose_variants


def _nltk_punkt():
    return text.nltk_punkt()


@pytest.fixture(scope="module")
def sample_texts(ifeval_data):
    inputs, responses, _ = ifeval_data
    texts = sorted({v for row in inputs[::9] for v in loose_variants(responses[row.prompt])})
    return texts


def test_sentences_and_tokens_equal_nltk(sample_texts):
    from nltk.tokenize.destructive import NLTKWordTokenizer

    reference_punkt = _nltk_punkt()
    reference_words = NLTKWordTokenizer()
    for sample in sample_texts[:120]:
        sentences = reference_punkt.tokenize(sample)
        assert text.split_sentences(sample) == sentences
        tokens = [t for s in sentences for t in reference_words.tokenize(s)]
        assert text.word_tokenize(sample) == tokens
        expected_capitals = sum(1 for t in tokens if t.isupper())
        assert text.count_capital_words(sample) == expected_capitals
        low, high = text.capital_word_bounds(sample)
        assert low <= expected_capitals <= high


def test_language_detection_equals_langdetect(sample_texts):
    import langdetect
    from langdetect import DetectorFactory
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    chosen = sample_texts[::3][:40] + [
        "",
        "1234",
        "Bonjour tout le monde, comment allez-vous ?",
        "你好，世界。今天天气很好。",
    ]

    def reference(sample):
        try:
            return langdetect.detect(sample)
        except LangDetectException:
            return None

    expected = [reference(sample) for sample in chosen]
    assert langid.detect_many(chosen) == expected
    assert [text.detect_language(sample) for sample in chosen[:10]] == expected[:10]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(list("ABCab .,!?'\"-()\n*") + ["CANNOT", "I'M", "N'T", "Dr.", " "]), max_size=40))
def test_capital_bounds_hold(pieces):
    sample = "".join(pieces)
    count = text.count_capital_words(sample)
    low, high = text.capital_word_bounds(sample)
    assert low <= count <= high
    tokens = text.word_tokenize(sample)
    assert count == sum(1 for t in tokens if t.isupper())


@pytest.mark.parametrize(
    ("sample", "words", "cjk_words", "characters"),
    [
        ("Hello world", 2, 2, 10),
        ("我爱北京", 1, 4, 4),
        ("我爱 Paris 和 London", 4, 5, 14),
        ("It's a well-known fact.", 6, 4, 20),
        ("不少于800字。", 1, 5, 8),
        ("こんにちは世界", 1, 7, 7),
        ("", 0, 0, 0),
    ],
)
def test_cjk_aware_counting(sample, words, cjk_words, characters):
    assert text.count_words(sample) == words
    assert text.cjk_word_count(sample) == cjk_words
    assert text.character_count(sample) == characters


def test_writing_sentences_split_chinese_and_english():
    assert text.writing_sentences("他来了。她笑了！真的吗？Dr. Smith left. Then he came back.") == [
        "他来了。",
        "她笑了！",
        "真的吗？",
        "Dr. Smith left.",
        "Then he came back.",
    ]


_PUNCTUATION_HEAVY = st.lists(
    st.sampled_from(
        list("ab .?!-\n'\")") + ["Dr.", "...", ". . .", "--", "e.g.", "U.S.", "Mr. X", " Then", "!!!", "?!"]
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(_PUNCTUATION_HEAVY)
def test_punkt_memo_and_pattern_split_like_nltk(pieces):
    sample = "".join(pieces)
    text.clear_cache()
    expected = _nltk_punkt().tokenize(sample)
    assert text.split_sentences(sample) == expected
    assert text.split_sentences(sample) == expected  # again, from the memoised decisions
    assert len(expected) <= text.sentence_upper_bound(sample)


def test_sentence_bound_holds_on_ifeval_texts(sample_texts):
    for sample in sample_texts:
        assert len(text.split_sentences(sample)) <= text.sentence_upper_bound(sample)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZ9_ -.\n'’éßΣ中😀\u0301\u00a0\u2028")), max_size=60))
def test_fast_word_and_capital_counts_equal_the_definitions(sample):
    assert text.count_words(sample) == _nltk_word_count(sample)
    low, high = text.capital_word_bounds(sample)
    assert high == sum(1 for char in sample if char.isupper())
    assert low == sum(1 for chunk in sample.split() if chunk.isupper())


def test_sentences_equal_nltk_on_every_response_and_variant(ifeval_data):
    inputs, responses, _ = ifeval_data
    reference = _nltk_punkt()
    text.clear_cache()
    samples = {variant for row in inputs for variant in loose_variants(responses[row.prompt])}
    mismatched = [sample[:60] for sample in samples if text.split_sentences(sample) != reference.tokenize(sample)]
    assert mismatched == []


def _nltk_capital_words(sample: str) -> int:
    from nltk.tokenize.destructive import NLTKWordTokenizer

    tokenizer = NLTKWordTokenizer()
    return sum(1 for s in _nltk_punkt().tokenize(sample) for t in tokenizer.tokenize(s) if t.isupper())


@pytest.mark.parametrize(
    "sentence",
    ["ISn't it?", "'Tis so.", "And 'Tis so.", "Xn't go", "It wasn't Xn't here", "Or 'Twas X", "'TIS so.", "CANnot go", "GIMme that", "WANna go now", "MOre'n that", "D'ye see",
     "A cat.", "Ab cD eF.", "Ünter Öl", "ÜNTER", "Mr. Smith", "\u212aelvin", "I am", "Ok I", "Aé Bß", "Ǆx ǅx"],
)  # fmt: skip
def test_skipped_sentences_hold_no_capital_word(sentence):
    from nltk.tokenize.destructive import NLTKWordTokenizer

    tokens = NLTKWordTokenizer().tokenize(sentence)
    if not text.may_hold_capital_word(sentence):
        assert not any(token.isupper() for token in tokens)
    assert text.count_capital_words(sentence) == _nltk_capital_words(sentence)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            list("ABab .'’\n") + ["CAN", "not", "NOT", "gim", "ME", "me", "n't", "N'T", "'t", "IS", "is", "Ü", "ü", "é"]
        ),
        max_size=30,
    )
)
def test_capital_words_equal_nltk_with_contractions(pieces):
    sample = "".join(pieces)
    assert text.count_capital_words(sample) == _nltk_capital_words(sample)


def test_capital_words_equal_nltk_on_every_response_and_variant(ifeval_data):
    inputs, responses, _ = ifeval_data
    samples = sorted({variant for row in inputs[::3] for variant in loose_variants(responses[row.prompt])})
    mismatched = [s[:60] for s in samples if text.count_capital_words(s) != _nltk_capital_words(s)]
    assert mismatched == []


def _nltk_word_count(sample: str) -> int:
    from nltk.tokenize import RegexpTokenizer

    return len(RegexpTokenizer(r"\w+").tokenize(sample))


def test_word_characters_equal_nltk_on_every_code_point():
    """`\\w` as NLTK's tokenizer reads it (combining marks in, '²' out), over all of Unicode."""
    code_points = [chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000]
    sample = "\x00".join(code_points)  # NUL separates, so every word is one character
    assert text.count_words(sample) == _nltk_word_count(sample)
    assert text.count_words(sample) > 150_000


@pytest.mark.parametrize(
    "sample",
    [
        "यह हिंदी में एक छोटा अनुच्छेद है।",
        "ภาษาไทย เป็น ภาษา",
        "Tie\u0301ng Vie\u0323t",
        "x² + y½ = z‿w",
        "a\u200db\u200cc",
        "क्षत्रिय",
    ],
)
def test_word_count_equals_nltk_on_marks_and_numeric_symbols(sample):
    assert text.count_words(sample) == _nltk_word_count(sample)


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60))
def test_word_count_equals_nltk_on_any_text(sample):
    assert text.count_words(sample) == _nltk_word_count(sample)


# Pieces on which the standard library's `re` and NLTK's `regex` engine read `\w`, `\s` or `\d`
# differently (marks, '²', '½', '‿', \x1c-\x1f), mixed with abbreviations, quotes and contractions.
_ENGINE_PIECES = list("ab .?!'\"\n,:") + [
    "Dr.", "U.S.", "यह", "हिंदी", "है।", "\u0301", "²", "½", "e.g.", "Ā.", "ก.", "ไทย.", "…", "‿", "_",
    " A", "3.", "\x1c", "\x1f", "IS", "CAN'T", "n't", " ’", "É", "«", "»", "\u00a0", "\u2028", "\u3000",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_ENGINE_PIECES), max_size=25))
def test_sentences_and_capitals_equal_nltk_where_regex_engines_differ(pieces):
    sample = "".join(pieces)
    assert text.split_sentences(sample) == _nltk_punkt().tokenize(sample)
    assert text.count_capital_words(sample) == _nltk_capital_words(sample)
    assert text.count_words(sample) == _nltk_word_count(sample)
