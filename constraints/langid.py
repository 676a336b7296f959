"""Language identification with langdetect's profiles and langdetect's exact answers, faster.

langdetect (seeded with 0) extracts the 1-, 2- and 3-grams of a cleaned, normalised text, then runs
seven trials: each draws n-grams at random (`random.Random(0).choice`) and multiplies a 55-wide
probability vector by each drawn n-gram's profile row (plus a smoothing weight drawn with
`gauss`), normalising every fifth draw until one language passes 0.99999 or 1000 draws are done.
This module runs the same algorithm on the same profiles and returns the same code:

- the same random stream: the seeded Mersenne Twister's 32-bit outputs are read in bulk
  (`getrandbits`) and turned into `choice` and `gauss` results with CPython's formulas, so the
  draws of a whole trial are known before it starts (a self-check against `random.Random` at
  start-up falls back to the pure-Python path if they ever differ);
- the same floating-point operations in the same order: `p * (weight + q)` per draw, the
  left-to-right sum that Python's `sum` computes, `p / total`, `t + p / 7`. With numpy the
  texts advance together, five draws and one normalisation per block, several blocks per array step; without numpy each
  text runs in plain Python;
- n-grams found with array lookups (numpy) or word by word with a per-word memo (plain Python);
- a text whose n-gram list equals one already decided gets the same answer (same input, same
  seeded algorithm);
- trials stop early once the leader is out of reach: each remaining trial adds at most 1/7 to any
  language, so when the leader's margin exceeds what is left, the answer cannot change.

A test compares it with `langdetect.detect` on every text the IFEval evaluation detects, on the
sampled loose variants, and on edge cases.

Example:
    >>> detect("Das ist ein kurzer deutscher Satz über das Wetter.")
    'de'
"""

from __future__ import annotations

import logging
import math
import operator
import random
import re
import sys
import threading
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)

_N_TRIAL = 7
_ALPHA_DEFAULT = 0.5
_ALPHA_WIDTH = 0.05
_ITERATION_LIMIT = 1000
_PROB_THRESHOLD = 0.1
_CONV_THRESHOLD = 0.99999
_BASE_FREQ = 10000
_MAX_TEXT_LENGTH = 10000
_SEED = 0
_MARGIN_SLACK = 1e-9
_MAX_DRAWS = _ITERATION_LIMIT + 1  # draws 0..1000: the check at i = 1000 always ends a trial
_LAST_BLOCK = _ITERATION_LIMIT // 5  # block 0 is draw 0; block b >= 1 is draws 5b-4 .. 5b
_CODE_BITS = 21  # every code point fits in 21 bits, so a 3-gram packs into 63
_ANSWER_MEMO_LIMIT = 4096
# Python's `sum` over floats adds left to right up to 3.11; 3.12 switched to compensated summation.
_SEQUENTIAL_SUM = sys.version_info < (3, 12)

_LATIN = re.compile("[A-z]")
_NON_LATIN = re.compile("[\u0300-\U0010ffff]")
_LATIN_EXTENDED_ADDITIONAL = re.compile("[\u1e00-\u1eff]")
_SPACES = re.compile(" {2,}")


class _Profiles:
    """langdetect's profiles (its own factory, seeded 0), plus per-character and per-word caches."""

    def __init__(self) -> None:
        from langdetect.detector import Detector
        from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
        from langdetect.utils.ngram import NGram

        factory = DetectorFactory()
        factory.load_profile(PROFILES_DIRECTORY)
        self.langlist: list[str] = list(factory.langlist)
        self.word_probs: dict[str, list[float]] = factory.word_lang_prob_map
        self.url_re = Detector.URL_RE
        self.mail_re = Detector.MAIL_RE
        self.normalize_vi = NGram.normalize_vi
        self.normalize_char = NGram.normalize
        self.char_map: dict[str, str] = {}
        self.word_ngrams: dict[str, tuple[str, ...]] = {}
        self.answers: dict[bytes, str] = {}
        self.lock = threading.Lock()

    def normalized(self, text: str) -> str:
        table = self.char_map
        missing = set(text).difference(table)
        for char in missing:
            table[char] = self.normalize_char(char)
        return "".join([table[char] for char in text])

    def ngrams_of_word(self, word: str, trailing_space: bool) -> tuple[str, ...]:
        """The n-grams langdetect extracts while reading `word` (and the space after it)."""
        key = word + (" " if trailing_space else "")
        cached = self.word_ngrams.get(key)
        if cached is not None:
            return cached
        known = self.word_probs
        padded = " " + key
        size = len(padded)
        if sum(1 for char in key if char.isupper()) >= 2:
            # inside a capitalised word (an upper-case letter after another) langdetect skips the n-grams
            positions = [k for k in range(1, size) if not (padded[k].isupper() and padded[k - 1].isupper())]
        else:
            positions = list(range(1, size))
        found = [
            gram
            for k in positions
            for gram in (padded[k], padded[k - 1 : k + 1], padded[k - 2 : k + 1] if k >= 2 else "")
            if gram and gram != " " and gram in known
        ]
        result = tuple(found)
        self.word_ngrams[key] = result
        return result


@lru_cache(maxsize=1)
def _profiles() -> _Profiles:
    return _Profiles()


def _prepare(profiles: _Profiles, text: str) -> str:
    """`Detector.append` then `Detector.cleaning_text`, skipping the steps that cannot change `text`."""
    if "http" in text:  # the URL pattern starts with a literal "http"
        text = profiles.url_re.sub(" ", text)
    if "@" in text:  # the e-mail pattern needs an "@"
        text = profiles.mail_re.sub(" ", text)
    ascii_only = text.isascii()
    if not ascii_only:  # the Vietnamese marks are not ASCII
        text = profiles.normalize_vi(text)
    text = _SPACES.sub(" ", text[:_MAX_TEXT_LENGTH])
    if not ascii_only:  # ASCII text has nothing at or above U+0300, so no Latin is dropped
        latin = len(_LATIN.findall(text))
        non_latin = len(_NON_LATIN.findall(text)) - len(_LATIN_EXTENDED_ADDITIONAL.findall(text))
        if latin * 2 < non_latin:
            text = _LATIN.sub("", text)
    return text


def _ngrams(profiles: _Profiles, text: str) -> list[str]:
    words = profiles.normalized(text).split(" ")
    result: list[str] = []
    last = len(words) - 1
    for index, word in enumerate(words):
        if word:
            result.extend(profiles.ngrams_of_word(word, trailing_space=index < last))
    return result


def _leader_is_settled(totals: list[float], remaining: int) -> bool:
    if not remaining:
        return True
    ranked = sorted(totals, reverse=True)
    return ranked[0] > _PROB_THRESHOLD and ranked[0] - ranked[1] > remaining / _N_TRIAL + _MARGIN_SLACK


def _trials(profiles: _Profiles, ngrams: list[str]) -> list[float]:
    """langdetect's trials in plain Python (used where numpy is missing)."""
    size = len(profiles.langlist)
    word_probs = profiles.word_probs
    rand = random.Random()
    rand.seed(_SEED)
    choice = rand.choice
    totals = [0.0] * size
    for trial in range(_N_TRIAL):
        prob = [1.0 / size] * size
        alpha = _ALPHA_DEFAULT + rand.gauss(0.0, 1.0) * _ALPHA_WIDTH
        weight = alpha / _BASE_FREQ
        shifted: dict[str, list[float]] = {}
        i = 0
        while True:
            gram = choice(ngrams)
            row = shifted.get(gram)
            if row is None:
                row = shifted[gram] = [weight + q for q in word_probs[gram]]
            prob = list(map(operator.mul, prob, row))
            if i % 5 == 0:
                total = sum(prob)
                prob = [p / total for p in prob]
                if max(prob) > _CONV_THRESHOLD or i >= _ITERATION_LIMIT:
                    break
            i += 1
        totals = [t + p / _N_TRIAL for t, p in zip(totals, prob, strict=True)]
        if _leader_is_settled(totals, _N_TRIAL - trial - 1):
            break
    return totals


class LanguageUndetectable(ValueError):
    """The text has no feature langdetect can use (langdetect raises `LangDetectException`)."""


def _answer(profiles: _Profiles, totals: list[float]) -> str:
    best: tuple[float, str] | None = None
    for lang, p in zip(profiles.langlist, totals, strict=True):
        if p > _PROB_THRESHOLD and (best is None or p > best[0]):
            best = (p, lang)
    return best[1] if best is not None else "unknown"


def detect(text: str) -> str:
    """The language code `langdetect.detect(text)` returns with `DetectorFactory.seed = 0`.

    Raises `LanguageUndetectable` where langdetect raises. Returns 'unknown' where it does.
    """
    code = detect_many([text])[0]
    if code is None:
        raise LanguageUndetectable("no features in text")
    return code


def detect_many(texts: list[str]) -> list[str | None]:
    """`detect` for many texts at once (None where undetectable); the same answers, batched.

    >>> detect_many(["The weather is lovely today.", "12 34"])
    ['en', None]
    """
    profiles = _profiles()
    arrays = _arrays()
    if arrays is None:
        return _detect_many_python(profiles, texts)
    features = [arrays.features(profiles, text) for text in texts]
    results: list[str | None] = [None] * len(texts)
    pending: dict[bytes, list[int]] = {}
    for index, rows in enumerate(features):
        if not rows.size:
            continue
        key = rows.tobytes()
        known = profiles.answers.get(key)
        if known is not None:
            results[index] = known
        else:
            pending.setdefault(key, []).append(index)
    if not pending:
        return results
    keys = list(pending)
    all_totals = _trials_numpy(arrays, _stream(), [features[pending[key][0]] for key in keys])
    with profiles.lock:
        if len(profiles.answers) > _ANSWER_MEMO_LIMIT:
            profiles.answers.clear()
        for key, totals in zip(keys, all_totals, strict=True):
            code = profiles.answers[key] = _answer(profiles, totals)
            for index in pending[key]:
                results[index] = code
    return results


def _detect_many_python(profiles: _Profiles, texts: list[str]) -> list[str | None]:
    results: list[str | None] = []
    for text in texts:
        prepared = _prepare(profiles, text)
        with profiles.lock:
            ngrams = _ngrams(profiles, prepared)
        results.append(_answer(profiles, _trials(profiles, ngrams)) if ngrams else None)
    return results


# --- the numpy path -----------------------------------------------------------------------------


def _gram_code(gram: str) -> int:
    code = 0
    for char in gram:
        code = (code << _CODE_BITS) | ord(char)
    return code


_ALPHABET = " ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # what ASCII normalises to
_BMP = 0x10000


class _Arrays:
    """The profiles as arrays, for the numpy path.

    - `table`: one probability row per n-gram (the profiles' lists, as floats);
    - n-gram codes (code points packed 21 bits each), sorted, with their rows;
    - dense n-gram tables over the 53 symbols ASCII text normalises to (space and letters);
    - langdetect's per-character normalisation and `str.isupper` for every BMP character.
    """

    def __init__(self, profiles: _Profiles):
        import numpy as np

        self.np = np
        grams = list(profiles.word_probs)
        self.languages = len(profiles.langlist)
        # one row per n-gram, then a row of 1.0 (the padding of a trial's first block)
        self.table = np.array([*(profiles.word_probs[gram] for gram in grams), [1.0] * self.languages])
        self.keys: list[Any] = []
        self.rows: list[Any] = []
        for length in (1, 2, 3):
            ids = np.array([i for i, gram in enumerate(grams) if len(gram) == length], dtype=np.int64)
            codes = np.array([_gram_code(grams[i]) for i in ids.tolist()], dtype=np.uint64)
            order = np.argsort(codes, kind="stable")
            self.keys.append(codes[order])
            self.rows.append(ids[order])
        self.width = width = len(_ALPHABET)
        symbol = {char: index for index, char in enumerate(_ALPHABET)}
        self.dense = [np.full(width**length, -1, dtype=np.int64) for length in (1, 2, 3)]
        for row, gram in enumerate(grams):
            if all(char in symbol for char in gram):
                index = 0
                for char in gram:
                    index = index * width + symbol[char]
                self.dense[len(gram) - 1][index] = row
        self.normalize_char = profiles.normalize_char
        self.normal_bmp = np.array([ord(profiles.normalize_char(chr(c))) for c in range(_BMP)], dtype=np.uint32)
        self.upper_bmp = np.array([chr(c).isupper() for c in range(_BMP)], dtype=bool)
        self.symbol_of = np.zeros(128, dtype=np.int64)
        self.symbol_of[[ord(char) for char in _ALPHABET]] = np.arange(width)

    def _lookup(self, length: int, codes: Any) -> Any:
        """Profile row of each n-gram code, -1 where the profiles do not have it."""
        np = self.np
        keys = self.keys[length - 1]
        at = np.searchsorted(keys, codes)
        at[at == len(keys)] = 0
        return np.where(keys[at] == codes, self.rows[length - 1][at], -1)

    def _normalized(self, codes: Any) -> tuple[Any, Any]:
        """`NGram.normalize` of every character, and which normalised characters are upper case."""
        np = self.np
        astral = codes >= _BMP
        if not astral.any():
            normal = self.normal_bmp.take(codes)
        else:
            normal = self.normal_bmp.take(np.where(astral, 0, codes))
            for code in np.unique(codes[astral]).tolist():
                normal[codes == code] = ord(self.normalize_char(chr(code)))
        if normal.max(initial=0) < _BMP:
            return normal, self.upper_bmp.take(normal)
        upper = np.zeros(normal.size, dtype=bool)
        small = normal < _BMP
        upper[small] = self.upper_bmp.take(normal[small])
        for code in np.unique(normal[~small]).tolist():
            upper[normal == code] = chr(code).isupper()
        return normal, upper

    def features(self, profiles: _Profiles, text: str) -> Any:
        """The profile rows of the n-grams langdetect extracts from `text`, in its order.

        `Detector.append` and `cleaning_text` first (on code points); then, at each position k of
        the normalised text after an initial space, langdetect emits the 1-gram (not a space),
        the 2-gram (not two spaces) and the 3-gram (when the buffer was not reset by a space at
        k-1), each if the profiles know it, and nothing inside a capitalised word (an upper-case
        character after another).
        """
        np = self.np
        if "http" in text:  # the URL pattern starts with a literal "http"
            text = profiles.url_re.sub(" ", text)
        if "@" in text:  # the e-mail pattern needs an "@"
            text = profiles.mail_re.sub(" ", text)
        ascii_only = text.isascii()
        if not ascii_only:  # the Vietnamese marks are not ASCII
            text = profiles.normalize_vi(text)
        text = " " + text[:_MAX_TEXT_LENGTH]  # the n-gram buffer starts as a space
        if ascii_only:
            codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        else:
            codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        space = codes == 32
        doubled = space[1:] & space[:-1]
        if doubled.any():  # `append` keeps a space only after something else
            codes = codes[np.concatenate(([True], ~doubled))]
        if ascii_only:
            return self._ascii_rows(self.symbol_of.take(self.normal_bmp.take(codes)))
        latin = (codes >= 65) & (codes <= 122)  # 'A' <= ch <= 'z'
        non_latin = int(np.count_nonzero(codes >= 0x300)) - int(np.count_nonzero((codes >= 0x1E00) & (codes <= 0x1EFF)))
        if 2 * int(np.count_nonzero(latin)) < non_latin:
            codes = codes[~latin]
        normal, upper = self._normalized(codes)
        if normal.max(initial=0) < 128:
            return self._ascii_rows(self.symbol_of.take(normal))
        return self._unicode_rows(normal.astype(np.uint64), upper)

    def _ascii_rows(self, symbols: Any) -> Any:
        """n-gram rows of a normalised text of the 53 ASCII symbols (0 is the space)."""
        np = self.np
        size = len(symbols)
        if size < 2:
            return np.empty(0, dtype=np.int64)
        width = self.width
        before, current = symbols[:-1], symbols[1:]
        space_before, space = before == 0, current == 0
        rows = np.empty((size - 1, 3), dtype=np.int64)
        rows[:, 0] = self.dense[0].take(current)
        rows[space, 0] = -1
        pair = before * width + current
        rows[:, 1] = self.dense[1].take(pair)
        rows[space & space_before, 1] = -1
        rows[0, 2] = -1
        if size >= 3:
            rows[1:, 2] = self.dense[2].take(symbols[:-2] * (width * width) + pair[1:])
            rows[1:, 2][space_before[1:]] = -1
        upper = (symbols >= 1) & (symbols <= 26)  # the capitals follow the space
        rows[upper[1:] & upper[:-1]] = -1
        return rows[rows >= 0]

    def _unicode_rows(self, codes: Any, upper: Any) -> Any:
        """n-gram rows of a normalised text beyond ASCII, looked up among the sorted n-gram codes."""
        np = self.np
        size = len(codes)
        if size < 2:
            return np.empty(0, dtype=np.int64)
        before, current = codes[:-1], codes[1:]
        space_before, space = before == 32, current == 32
        rows = np.empty((size - 1, 3), dtype=np.int64)
        rows[:, 0] = np.where(space, -1, self._lookup(1, current))
        pair = (before << np.uint64(_CODE_BITS)) | current
        rows[:, 1] = np.where(space & space_before, -1, self._lookup(2, pair))
        rows[0, 2] = -1
        if size >= 3:
            triple = (codes[:-2] << np.uint64(2 * _CODE_BITS)) | pair[1:]
            rows[1:, 2] = np.where(space_before[1:], -1, self._lookup(3, triple))
        rows[upper[1:] & upper[:-1]] = -1
        return rows[rows >= 0]


@lru_cache(maxsize=1)
def _arrays() -> _Arrays | None:
    """The array form of the profiles, or None where numpy is missing or the random stream differs."""
    try:
        import numpy  # noqa: F401 - optional: the arrays need it, the answers do not
    except ImportError:  # pragma: no cover - exercised where numpy is absent
        return None
    if not _stream().agrees_with_random():
        logger.warning("random stream emulation differs from random.Random here; using the pure-Python path")
        return None
    return _Arrays(_profiles())


class _Stream:
    """The 32-bit outputs of the Mersenne Twister seeded like langdetect's detector, read in bulk."""

    def __init__(self, length: int = 1 << 15):
        self.lock = threading.Lock()
        self.raw = self._generate(length)

    @staticmethod
    def _generate(length: int) -> Any:
        import numpy as np

        bits = random.Random(_SEED).getrandbits(32 * length)  # the outputs in order, least significant first
        return np.frombuffer(bits.to_bytes(4 * length, "little"), dtype="<u4")

    def covering(self, end: int) -> Any:
        """The outputs, at least `end` of them."""
        with self.lock:
            while len(self.raw) < end:
                self.raw = self._generate(2 * len(self.raw))
            return self.raw

    def choices(self, n: int, start: int, end: int) -> tuple[Any, Any]:
        """For `choice` over n items: the stream positions in [start, end) where a draw is accepted, and its value.

        `choice` takes `getrandbits(k)` (the top k bits of one output, k = n.bit_length()) until
        the value is below n.
        """
        values = self.covering(end)[start:end] >> (32 - n.bit_length())
        accepted = (values < n).nonzero()[0]
        return accepted + start, values[accepted].astype("int64")

    def agrees_with_random(self) -> bool:
        """Whether `choice` and `gauss` computed from the outputs equal `random.Random`'s own."""
        reference = random.Random()
        reference.seed(_SEED)
        state = _RandomState()
        for n in (7, 1, 2, 3, 1000, 2**20 + 3, 55, 660):
            for _ in range(3):
                if state.gauss(self) != reference.gauss(0.0, 1.0):
                    return False
            positions, values = self.choices(n, state.position, state.position + 400)
            expected = [reference.choice(range(n)) for _ in range(50)]
            if values[:50].tolist() != expected:
                return False
            state.position = int(positions[49]) + 1
        return True


@lru_cache(maxsize=1)
def _stream() -> _Stream:
    return _Stream()


class _RandomState:
    """Where one text's seeded `random.Random` is in the stream, and its cached second gaussian."""

    __slots__ = ("position", "gauss_next")

    def __init__(self, position: int = 0, gauss_next: float | None = None) -> None:
        self.position = position
        self.gauss_next = gauss_next

    def _random(self, raw: Any) -> float:
        # CPython's random(): 53 bits from two outputs
        a, b = int(raw[self.position]) >> 5, int(raw[self.position + 1]) >> 6
        self.position += 2
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)

    def gauss(self, stream: _Stream) -> float:
        """`random.Random.gauss(0.0, 1.0)`, with its formula and its cached second value."""
        z = self.gauss_next
        self.gauss_next = None
        if z is None:
            raw = stream.covering(self.position + 4)
            x2pi = self._random(raw) * (2.0 * math.pi)
            g2rad = math.sqrt(-2.0 * math.log(1.0 - self._random(raw)))
            z = math.cos(x2pi) * g2rad
            self.gauss_next = math.sin(x2pi) * g2rad
        return 0.0 + z * 1.0


class _Job:
    """One text: its n-gram rows, its accepted draws along the stream, and its trials' results.

    Every trial of a text reads the same seeded stream, so the positions where `choice` accepts
    a value (and the n-gram it picks) are found once per text; a trial's draws are the accepted
    ones after its start.
    """

    __slots__ = ("rows", "positions", "picks", "covered", "totals", "applied", "results", "done")

    def __init__(self, rows: Any, languages: int):
        self.rows = rows
        self.positions: Any = rows[:0]
        self.picks: Any = rows[:0]
        self.covered = 0
        self.totals = [0.0] * languages
        self.applied = 0
        self.results: dict[int, list[float]] = {}
        self.done = False

    def cover(self, stream: _Stream, draws: int, position: int = 0) -> None:
        """Find accepted draws until `draws` of them lie at or after `position` (or 1001 past the last)."""
        import numpy as np

        while len(self.positions) < draws or int(self.positions[-draws]) < position:
            end = max(2 * self.covered, 1024, position + 2 * draws + 64)
            found, values = stream.choices(len(self.rows), self.covered, end)
            self.positions = np.concatenate((self.positions, found))
            self.picks = np.concatenate((self.picks, self.rows[values]))
            self.covered = end

    def first_draw(self, stream: _Stream, position: int, draws: int) -> int:
        """Index (among accepted draws) of the first draw at or after `position`, with `draws` covered."""
        import numpy as np

        self.cover(stream, draws, position)
        return int(np.searchsorted(self.positions, position))

    def record(self, trial: int, prob: list[float]) -> None:
        """Keep a trial's final vector; apply every result now in order; settle when the leader is out of reach."""
        self.results[trial] = prob
        while not self.done and self.applied in self.results:
            prob = self.results.pop(self.applied)
            self.totals = [t + p / _N_TRIAL for t, p in zip(self.totals, prob, strict=True)]
            self.applied += 1
            self.done = _leader_is_settled(self.totals, _N_TRIAL - self.applied)

    def forget_after(self, trial: int) -> None:
        for later in [t for t in self.results if t > trial]:
            del self.results[later]


class _Lane:
    """One trial of one text: its random state, weight, first draw and successor.

    A trial that has run long without converging gets a successor started speculatively, on
    the assumption that it runs all 1001 draws (so the successor's stream position is known);
    if the trial converges earlier after all, the successor is discarded.
    """

    __slots__ = ("job", "trial", "state", "weight", "first", "successor", "alive", "spawned")

    def __init__(self, job: int, trial: int, state: _RandomState):
        self.job = job
        self.trial = trial
        self.state = state
        self.weight = 0.0
        self.first = 0
        self.successor: _Lane | None = None
        self.alive = True
        self.spawned = False

    def state_after(self, job: _Job, last_draw: int) -> _RandomState:
        return _RandomState(int(job.positions[self.first + last_draw]) + 1, self.state.gauss_next)


_FIRST_DRAWS = 100
_BLOCKS_PER_STEP = 4
_STEP_SLOTS = 5 * _BLOCKS_PER_STEP
_ROW_SLOTS = _MAX_DRAWS + 4 + _STEP_SLOTS - 5  # a trial's slots, then padding read by a step that ends early
# A row is attended when the step's last block starts at or after `filled - _REFILL_MARGIN`, so a
# step never reads past the filled slots (except the padding after draw 1000).
_REFILL_MARGIN = _STEP_SLOTS + 5
_SPECULATE_AFTER = 100  # draws without converging before the next trial is started speculatively


class _Batch:
    """The array state of the running trials, one row per lane; finished rows are reused or dropped.

    A row's slots hold the trial's draw 0, four padding slots (the table's row of 1.0 with
    weight 0.0: the first block is one draw), then draws 1, 2, ...; block b reads slots
    5b .. 5b+4 and ends with draw 5b. An array step computes `_BLOCKS_PER_STEP` blocks (each
    normalised); a row whose trial ends at one of them (it converged, or reached draw 1000)
    takes that block's vector and discards the later ones.
    """

    def __init__(self, arrays: _Arrays, stream: _Stream, jobs: list[_Job]):
        np = arrays.np
        self.np, self.arrays, self.stream, self.jobs = np, arrays, stream, jobs
        self.size = arrays.languages
        self.pad = len(arrays.table) - 1
        count = len(jobs)
        self.lanes: list[_Lane | None] = [None] * count
        self.free: list[int] = []
        self.prob = np.empty((count, self.size))
        self.slots = np.full((count, _ROW_SLOTS), self.pad, dtype=np.int64)
        self.weights = np.empty((count, _STEP_SLOTS))
        self.lane_weight = np.empty(count)
        self.slot = np.empty(count, dtype=np.int64)
        self.attention = np.empty(count, dtype=np.int64)
        self.filled = np.empty(count, dtype=np.int64)
        self.base = np.arange(count) * _ROW_SLOTS  # where each row starts in the flattened slots
        self.opened = False
        for index in range(count):
            self.place(index, _Lane(index, 0, _RandomState()))

    def place(self, k: int, lane: _Lane) -> None:
        """Start `lane` in row k: weight (langdetect draws it first), draws, uniform probabilities."""
        job = self.jobs[lane.job]
        lane.weight = (_ALPHA_DEFAULT + lane.state.gauss(self.stream) * _ALPHA_WIDTH) / _BASE_FREQ
        lane.first = job.first_draw(self.stream, lane.state.position, _FIRST_DRAWS)
        self.lanes[k] = lane
        self.slots[k, :5] = self.pad
        self._fill(k, lane, job)
        self.prob[k] = 1.0 / self.size
        self.weights[k] = lane.weight
        self.weights[k, 1:5] = 0.0  # padding: 1.0 + 0.0
        self.lane_weight[k] = lane.weight
        self.opened = True
        self.slot[k] = 0
        self.attention[k] = min(_SPECULATE_AFTER, int(self.filled[k]) - _REFILL_MARGIN)

    def _fill(self, k: int, lane: _Lane, job: _Job) -> None:
        available = min(len(job.picks) - lane.first, _MAX_DRAWS)
        drawn = job.picks[lane.first : lane.first + available]
        self.slots[k, 0] = drawn[0]
        self.slots[k, 5 : 4 + available] = drawn[1:]
        self.filled[k] = 4 + available

    def _free(self, k: int) -> None:
        """Park row k until it is reused or dropped: it multiplies by 1.0 from slot 0, every step."""
        self.lanes[k] = None
        self.free.append(k)
        self.slots[k] = self.pad
        self.weights[k] = 0.0
        self.lane_weight[k] = 0.0
        self.prob[k] = 1.0 / self.size
        self.slot[k] = 0
        self.attention[k] = _ITERATION_LIMIT  # then back to slot 0

    def _add_row(self) -> int:
        if self.free:
            return self.free.pop()
        np = self.np
        self.lanes.append(None)
        self.prob = np.concatenate((self.prob, self.prob[:1]))
        self.slots = np.concatenate((self.slots, self.slots[:1]))
        self.weights = np.concatenate((self.weights, self.weights[:1]))
        self.lane_weight = np.concatenate((self.lane_weight, self.lane_weight[:1]))
        self.base = np.arange(len(self.lanes)) * _ROW_SLOTS
        self.slot = np.concatenate((self.slot, self.slot[:1]))
        self.attention = np.concatenate((self.attention, self.attention[:1]))
        self.filled = np.concatenate((self.filled, self.filled[:1]))
        return len(self.lanes) - 1

    def _compact(self) -> None:
        """Drop the free rows (they would still be computed)."""
        keep = [k for k, lane in enumerate(self.lanes) if lane is not None]
        self.prob, self.slots, self.weights = self.prob[keep], self.slots[keep], self.weights[keep]
        self.lane_weight = self.lane_weight[keep]
        self.slot, self.attention, self.filled = self.slot[keep], self.attention[keep], self.filled[keep]
        self.lanes = [self.lanes[k] for k in keep]
        self.free = []

    def run(self) -> None:
        np = self.np
        width = np.arange(_STEP_SLOTS)
        block_starts = np.arange(0, _STEP_SLOTS, 5)[:, None]
        table = self.arrays.table
        while len(self.lanes) > len(self.free):
            count = len(self.lanes)
            rows = np.arange(count)
            drawn = self.slots.reshape(-1).take((self.base[:count] + self.slot)[:, None] + width)
            factors = table.take(drawn, axis=0)
            factors += self.weights[:, :, None]  # weight + q, as langdetect adds them
            probs = np.empty((_BLOCKS_PER_STEP, count, self.size))
            prob = self.prob
            for block in range(_BLOCKS_PER_STEP):
                # ((p * f1) * f2) ... left to right: a ufunc reduction over a leading axis applies
                # the slices in index order (as `subtract.reduce` must), one product at a time
                part = factors[:, 5 * block : 5 * block + 5]
                np.multiply(prob, part[:, 0], out=part[:, 0])
                prob = np.multiply.reduce(part, axis=1, out=probs[block])
                prob /= _row_sums(np, prob)[:, None]
            # where each row's trial ends this step: a block that converged, or the one ending at draw 1000
            ends = (probs.max(axis=2) > _CONV_THRESHOLD) | (self.slot + block_starts >= _ITERATION_LIMIT)
            ending = ends.any(axis=0)
            last_block = np.where(ending, ends.argmax(axis=0), _BLOCKS_PER_STEP - 1)
            self.prob = probs[last_block, rows]
            events = (ending | (self.slot + (_STEP_SLOTS - 5) >= self.attention)).nonzero()[0].tolist()
            opened = self.opened and (self.slot == 0).nonzero()[0]
            self.slot += 5 * last_block + 5
            if self.opened:  # rows past their first block: no more padding
                self.weights[opened, :5] = self.lane_weight[opened, None]
                self.opened = False
            for k in events:
                self._attend(k, bool(ending[k]))
            if len(self.free) > max(2, (count - len(self.free)) // 4):
                self._compact()

    def _attend(self, k: int, converged: bool) -> None:
        lane = self.lanes[k]
        if lane is None:
            self.slot[k] = 0
            return
        if not self.slot[k]:  # placed during this step's events: its first block is still to come
            return
        last_draw = int(self.slot[k]) - 5  # block b ended with draw 5b
        if not lane.alive:  # a discarded speculation
            self._free(k)
            return
        job = self.jobs[lane.job]
        if converged or last_draw >= _ITERATION_LIMIT:
            self._finish(k, lane, job, last_draw)
            return
        if last_draw + 2 * _REFILL_MARGIN > self.filled[k]:
            job.cover(self.stream, lane.first + 2 * int(self.filled[k]))
            self._fill(k, lane, job)
        if last_draw >= _SPECULATE_AFTER and not lane.spawned:
            lane.spawned = True
            if lane.successor is None and lane.trial + 1 < _N_TRIAL:
                job.cover(self.stream, lane.first + _MAX_DRAWS)
                self._fill(k, lane, job)
                lane.successor = _Lane(lane.job, lane.trial + 1, lane.state_after(job, _ITERATION_LIMIT))
                self.place(self._add_row(), lane.successor)
        spawn_at = _ITERATION_LIMIT if lane.spawned else _SPECULATE_AFTER
        self.attention[k] = min(spawn_at, int(self.filled[k]) - _REFILL_MARGIN)

    def _finish(self, k: int, lane: _Lane, job: _Job, last_draw: int) -> None:
        lane.alive = False
        if last_draw < _ITERATION_LIMIT and lane.successor is not None:
            _discard(lane.successor)
            job.forget_after(lane.trial)
            lane.successor = None
        job.record(lane.trial, self.prob[k].tolist())
        if job.done:
            _discard(lane.successor)
            self._free(k)
        elif lane.successor is None and lane.trial + 1 < _N_TRIAL:
            lane.successor = _Lane(lane.job, lane.trial + 1, lane.state_after(job, last_draw))
            self.place(k, lane.successor)
        else:
            self._free(k)


def _trials_numpy(arrays: _Arrays, stream: _Stream, batch: list[Any]) -> list[list[float]]:
    """langdetect's trials for many texts, every running trial advancing one block per array step.

    A block is 1 draw (the first of a trial) or 5, then a normalisation. Elementwise these are
    langdetect's operations in its order: `p * (weight + q)` per draw, multiplied left to right
    (the first block's padding multiplies by exactly 1.0 + 0.0), then `p / total` with the
    left-to-right total.
    """
    jobs = [_Job(rows, arrays.languages) for rows in batch]
    _Batch(arrays, stream, jobs).run()
    return [job.totals for job in jobs]


def _discard(lane: _Lane | None) -> None:
    """Stop a speculative lane and its own successors."""
    while lane is not None:
        lane.alive = False
        lane = lane.successor


def _row_sums(np: Any, prob: Any) -> Any:
    """Each row's `sum(row)` exactly as Python computes it."""
    if _SEQUENTIAL_SUM:
        return np.add.accumulate(prob, axis=1)[:, -1]  # accumulate adds strictly left to right
    return np.array([sum(row) for row in prob.tolist()], dtype=np.float64)


def warm_up() -> None:
    """Load the profiles (and their array form) now: about a second, once per process."""
    _profiles()
    _arrays()


def clear_cache() -> None:
    """Forget the per-word n-grams, per-character normalisations and decided answers (profiles stay)."""
    profiles = _profiles()
    with profiles.lock:
        profiles.word_ngrams.clear()
        profiles.char_map.clear()
        profiles.answers.clear()
