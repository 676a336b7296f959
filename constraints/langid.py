"""Language identification with langdetect's profiles and langdetect's exact answers, faster.

`langdetect.detect` spends its time in two pure-Python loops: n-gram extraction (one method call
per character) and the probability update (an indexed loop over 55 languages per sampled
n-gram). This module runs the same algorithm on the same profiles with the same seeded random
stream and the same floating-point operations in the same order, so it returns the same code:

- n-grams are extracted word by word (the n-gram buffer restarts at every space, so a word's
  n-grams do not depend on its neighbours) and memoised per word;
- each trial shifts a profile row by its smoothing weight once (`weight + q`, as langdetect
  computes it on every draw) and multiplies with `map` (same products, same left-to-right `sum`);
- trials stop early once the leader is out of reach: each remaining trial adds at most 1/7 to any
  language, so when the leader's margin exceeds what is left, the answer cannot change.

A test compares it with `langdetect.detect` on every IFEval response and loose variant.

Example:
    >>> detect("Das ist ein kurzer deutscher Satz über das Wetter.")
    'de'
"""

from __future__ import annotations

import operator
import random
import re
import threading
from functools import lru_cache

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
_BATCH_MIN = 6  # below this many unfinished texts, array calls cost more than they save

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
        self._normalize_char = NGram.normalize
        self.char_map: dict[str, str] = {}
        self.word_ngrams: dict[str, tuple[str, ...]] = {}
        self.lock = threading.Lock()

    def normalized(self, text: str) -> str:
        table = self.char_map
        missing = set(text).difference(table)
        for char in missing:
            table[char] = self._normalize_char(char)
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
    """`Detector.append` then `Detector.cleaning_text`."""
    text = profiles.url_re.sub(" ", text)
    text = profiles.mail_re.sub(" ", text)
    text = profiles.normalize_vi(text)
    text = _SPACES.sub(" ", text[:_MAX_TEXT_LENGTH])
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


def _features(profiles: _Profiles, text: str) -> list[str]:
    prepared = _prepare(profiles, text)
    with profiles.lock:
        return _ngrams(profiles, prepared)


def detect(text: str) -> str:
    """The language code `langdetect.detect(text)` returns with `DetectorFactory.seed = 0`.

    Raises `LanguageUndetectable` where langdetect raises. Returns 'unknown' where it does.
    """
    profiles = _profiles()
    ngrams = _features(profiles, text)
    if not ngrams:
        raise LanguageUndetectable("no features in text")
    return _answer(profiles, _trials(profiles, ngrams))


def detect_many(texts: list[str]) -> list[str | None]:
    """`detect` for many texts at once (None where undetectable); the same answers, batched.

    With numpy installed the 55-wide products of all texts advance together, one array
    operation per step, each text keeping its own seeded random stream; element by element
    these are the same IEEE operations in the same order. Without numpy it loops over `detect`.

    >>> detect_many(["The weather is lovely today.", "12 34"])
    ['en', None]
    """
    profiles = _profiles()
    features = [_features(profiles, text) for text in texts]
    results: list[str | None] = [None] * len(texts)
    jobs = [index for index, ngrams in enumerate(features) if ngrams]
    try:
        import numpy  # noqa: F401 - optional: batching needs it, the answers do not
    except ImportError:  # pragma: no cover - exercised where numpy is absent
        numpy = None  # type: ignore[assignment]
    if numpy is None or len(jobs) < 2:
        for index in jobs:
            results[index] = _answer(profiles, _trials(profiles, features[index]))
        return results
    for index, totals in zip(jobs, _trials_batch(profiles, [features[index] for index in jobs]), strict=True):
        results[index] = _answer(profiles, totals)
    return results


class _Job:
    __slots__ = ("ngrams", "rand", "trial", "i", "totals")

    def __init__(self, ngrams: list[str], size: int):
        self.ngrams = ngrams
        self.rand = random.Random()
        self.rand.seed(_SEED)
        self.trial = 0
        self.i = 0
        self.totals = [0.0] * size

    def weight(self) -> float:
        alpha = _ALPHA_DEFAULT + self.rand.gauss(0.0, 1.0) * _ALPHA_WIDTH
        return alpha / _BASE_FREQ


class _RowTable:
    """Profile rows as one numpy array, filled on first use of each n-gram."""

    def __init__(self, profiles: _Profiles):
        import numpy as np

        self.np = np
        self.word_probs = profiles.word_probs
        self.index: dict[str, int] = {}
        self.array = np.empty((1024, len(profiles.langlist)), dtype=np.float64)

    def rows(self, grams: list[str]) -> list[int]:
        index = self.index
        missing = [gram for gram in dict.fromkeys(grams) if gram not in index]
        if missing:
            start = len(index)
            needed = start + len(missing)
            if needed > len(self.array):
                grown = self.np.empty((max(needed, 2 * len(self.array)), self.array.shape[1]), dtype=self.np.float64)
                grown[:start] = self.array[:start]
                self.array = grown
            self.array[start:needed] = [self.word_probs[gram] for gram in missing]
            for offset, gram in enumerate(missing):
                index[gram] = start + offset
        return [index[gram] for gram in grams]


def _trials_batch(profiles: _Profiles, batch: list[list[str]]) -> list[list[float]]:
    import numpy as np

    size = len(profiles.langlist)
    table = _RowTable(profiles)
    jobs = [_Job(ngrams, size) for ngrams in batch]
    prob = np.full((len(jobs), size), 1.0 / size)
    weights = np.array([job.weight() for job in jobs], dtype=np.float64)
    active = list(range(len(jobs)))
    while len(active) > _BATCH_MIN:
        draws = table.rows([jobs[k].rand.choice(jobs[k].ngrams) for k in active])
        index = np.array(active)
        factors = table.array[draws]
        factors += weights[index][:, None]  # weight + q, as langdetect adds them (addition commutes exactly)
        prob[index] *= factors
        still = []
        for k in active:
            job = jobs[k]
            if job.i % 5 == 0:
                row = prob[k]
                row /= sum(row.tolist())  # Python's sum, as in langdetect
                if float(row.max()) > _CONV_THRESHOLD or job.i >= _ITERATION_LIMIT:
                    job.totals = [t + p / _N_TRIAL for t, p in zip(job.totals, row.tolist(), strict=True)]
                    job.trial += 1
                    if _leader_is_settled(job.totals, _N_TRIAL - job.trial):
                        continue
                    row[:] = 1.0 / size
                    weights[k] = job.weight()
                    job.i = 0
                    still.append(k)
                    continue
            job.i += 1
            still.append(k)
        active = still
    for k in active:  # stragglers (slow to converge): one array call per step no longer pays
        _finish_python(profiles, jobs[k], prob[k].tolist(), float(weights[k]))
    return [job.totals for job in jobs]


def _finish_python(profiles: _Profiles, job: _Job, prob: list[float], weight: float) -> None:
    """Continue a job's trials in pure Python from its current state (the same operations)."""
    size = len(prob)
    word_probs = profiles.word_probs
    choice = job.rand.choice
    while True:
        shifted: dict[str, list[float]] = {}
        while True:
            gram = choice(job.ngrams)
            row = shifted.get(gram)
            if row is None:
                row = shifted[gram] = [weight + q for q in word_probs[gram]]
            prob = list(map(operator.mul, prob, row))
            if job.i % 5 == 0:
                total = sum(prob)
                prob = [p / total for p in prob]
                if max(prob) > _CONV_THRESHOLD or job.i >= _ITERATION_LIMIT:
                    break
            job.i += 1
        job.totals = [t + p / _N_TRIAL for t, p in zip(job.totals, prob, strict=True)]
        job.trial += 1
        if _leader_is_settled(job.totals, _N_TRIAL - job.trial):
            return
        prob = [1.0 / size] * size
        weight = job.weight()
        job.i = 0


def warm_up() -> None:
    """Load the profiles now (about a third of a second, once per process)."""
    _profiles()


def clear_cache() -> None:
    """Forget the per-word n-gram memo (profiles stay loaded)."""
    profiles = _profiles()
    with profiles.lock:
        profiles.word_ngrams.clear()
