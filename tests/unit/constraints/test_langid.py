"""`langid` gives langdetect's exact answers: array path, plain-Python path and langdetect agree."""

from __future__ import annotations

import random

import pytest
from writer_r1.constraints import langid

EDGE_TEXTS = [
    "",
    " ",
    "  a  ",
    "1234 5678",
    "A",
    "YES",
    "OK!",
    "BIG BANG THEORY MIND, SHELL AND SON COMBINED, WHO AM I?",
    "1. PIXEL PRODIGY\n2. CODE CONSTRUCT\n3. DIGITAL DYNAMICS",
    "etchings",
    "AbC dEF gHi",
    "a  b   c",
    "http://example.com/path?x=1 and mail me at someone@example.org please",
    "Tiếng Việt có dấu và không dấu",
    "Tie\u0301ng Vie\u0323t with combining marks",
    "emoji 😀 text 𝐀𝐁𝐂 and more",
    "\ud800 a lone surrogate",
    "İstanbul ΣΊΣΥΦΟΣ ǅungla straße",
    "a\u2028b\u00a0c — “quoted” ‘text’ … done",
    "مرحبا بالعالم hello world",
    "日本語のテキストです。カタカナもあります。",
    "你好，世界。今天天气很好。",
    "Привет МИР, как дела?",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "中文 English mixed 中文中文中文中文中文中文",
    "x" * 12000,
    "The quick brown fox jumps over the lazy dog. " * 300,
    "Das ist ein kurzer deutscher Satz über das Wetter.",
    "Bonjour tout le monde, comment allez-vous ?",
]


def _langdetect(text: str) -> str | None:
    import langdetect
    from langdetect import DetectorFactory
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return langdetect.detect(text)
    except LangDetectException:
        return None


def _require_arrays() -> langid._Arrays:
    pytest.importorskip("numpy")
    arrays = langid._arrays()
    assert arrays is not None, "the random stream emulation should agree with random.Random here"
    return arrays


def test_array_features_equal_langdetect_ngrams():
    arrays = _require_arrays()
    profiles = langid._profiles()
    grams = list(profiles.word_probs)
    rng = random.Random(7)
    alphabet = "aAbBzZ  .,'-\n*éÉßΣσ中文😀İ\u0301"
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(40))) for _ in range(200)]
    for text in EDGE_TEXTS + randoms:
        expected = langid._ngrams(profiles, langid._prepare(profiles, text))
        assert [grams[row] for row in arrays.features(profiles, text).tolist()] == expected, text[:60]


def test_array_path_equals_plain_python_path_and_langdetect():
    _require_arrays()
    langid.clear_cache()
    fast = langid.detect_many(EDGE_TEXTS)
    plain = langid._detect_many_python(langid._profiles(), EDGE_TEXTS)
    assert fast == plain
    assert fast == [_langdetect(text) for text in EDGE_TEXTS]
    assert fast[0] is None and fast[3] is None  # nothing to detect in blank or digit-only text


def test_repeated_texts_reuse_the_answer_and_single_detect_agrees():
    langid.clear_cache()
    texts = ["The weather is lovely today.", "A", "The weather is lovely today.", "A"]
    assert langid.detect_many(texts) == [_langdetect(text) for text in texts]
    assert langid.detect("A") == _langdetect("A")
    with pytest.raises(langid.LanguageUndetectable):
        langid.detect("12 34")


def test_random_stream_emulation_agrees_with_random():
    pytest.importorskip("numpy")
    assert langid._stream().agrees_with_random()


def test_row_sums_are_pythons_sum():
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(3)
    rows = rng.random((200, 55)) ** 9 * 10.0 ** rng.integers(-40, 0, size=(200, 1))
    assert langid._row_sums(np, rows).tolist() == [sum(row) for row in rows.tolist()]


def test_every_text_the_evaluation_detects_equals_langdetect(ifeval_data, monkeypatch):
    from writer_r1.constraints import text
    from writer_r1.constraints.ifeval import evaluate

    inputs, responses, _ = ifeval_data
    seen: list[str] = []
    original = langid.detect_many

    def spy(texts: list[str]) -> list[str | None]:
        seen.extend(texts)
        return original(texts)

    monkeypatch.setattr(langid, "detect_many", spy)
    text.clear_cache()
    for mode in ("strict", "loose"):
        evaluate(inputs, responses, mode)
    assert len(seen) >= 90
    langid.clear_cache()
    assert original(seen) == [_langdetect(sample) for sample in seen]


@pytest.mark.parametrize("blocks", [1, 2, 3, 7])
def test_any_number_of_blocks_per_step_gives_langdetects_answers(blocks, monkeypatch):
    _require_arrays()
    step = 5 * blocks
    monkeypatch.setattr(langid, "_BLOCKS_PER_STEP", blocks)
    monkeypatch.setattr(langid, "_STEP_SLOTS", step)
    monkeypatch.setattr(langid, "_ROW_SLOTS", langid._MAX_DRAWS + 4 + step - 5)
    monkeypatch.setattr(langid, "_REFILL_MARGIN", step + 5)
    texts = EDGE_TEXTS + ["Ok", "Hi there, ok", "NO", "Ciao a tutti", "hola amigo mío", "YES I CAN"]
    langid.clear_cache()
    assert langid.detect_many(texts) == [_langdetect(text) for text in texts]
