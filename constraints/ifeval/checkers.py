"""The 25 IFEval instruction types, with IFEval's ids and keyword arguments.

Verdicts match the official checker (google-research `instruction_following_eval`) on its data.
Where the official code fills a missing argument with a random draw, these checkers require the
argument instead. Keywords, forbidden words and postscript markers are matched as literal text
(the official code compiles them as regular expressions; the two agree on plain words).
"""

from __future__ import annotations

import json
import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator
from writer_r1.constraints.base import Args, Checker, NoArgs, Relation, Verdict, compare
from writer_r1.constraints.registry import register
from writer_r1.constraints.text import TextStats

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "es": "Spanish", "pt": "Portuguese", "ar": "Arabic", "hi": "Hindi", "fr": "French",
    "ru": "Russian", "de": "German", "ja": "Japanese", "it": "Italian", "bn": "Bengali", "uk": "Ukrainian",
    "th": "Thai", "ur": "Urdu", "ta": "Tamil", "te": "Telugu", "bg": "Bulgarian", "ko": "Korean",
    "pl": "Polish", "he": "Hebrew", "fa": "Persian", "vi": "Vietnamese", "ne": "Nepali", "sw": "Swahili",
    "kn": "Kannada", "mr": "Marathi", "gu": "Gujarati", "pa": "Punjabi", "ml": "Malayalam", "fi": "Finnish",
    "zh-cn": "Chinese", "zh-tw": "Chinese (traditional)",
}  # fmt: skip

CONSTRAINED_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")

Count = Field(ge=0)


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


NonBlank = Annotated[str, AfterValidator(_nonblank)]
Stripped = Annotated[str, AfterValidator(lambda value: _nonblank(value).strip())]


# --- keywords -------------------------------------------------------------------------------


def _contains(stats: TextStats, keyword: str) -> bool:
    """Whether `keyword` occurs in the text ignoring case, as `re.search(re.escape(k), text, re.I)` decides.

    Between ASCII strings that is a search in lower case; beyond ASCII the regex engine's case
    folding decides (it matches the Kelvin sign with "k", for one).
    """
    if stats.is_ascii and keyword.isascii():
        return keyword.lower() in stats.lower
    return re.search(re.escape(keyword), stats.text, re.IGNORECASE) is not None


class KeywordsArgs(Args):
    keywords: list[NonBlank] = Field(min_length=1)


@register
class KeywordExistence(Checker[KeywordsArgs]):
    """Every keyword appears (case-insensitive)."""

    id = "keywords:existence"
    Args = KeywordsArgs

    def describe(self) -> str:
        return f"Include keywords {sorted(self.args.keywords)} in the response."

    def measure(self, stats: TextStats) -> Verdict:
        missing = [k for k in self.args.keywords if not _contains(stats, k)]
        return Verdict(not missing, f"missing: {missing}" if missing else "all keywords present")


class KeywordFrequencyArgs(Args):
    keyword: Stripped
    frequency: int = Count
    relation: Relation


@register
class KeywordFrequency(Checker[KeywordFrequencyArgs]):
    """A keyword appears fewer than / at least N times (case-insensitive, non-overlapping)."""

    id = "keywords:frequency"
    Args = KeywordFrequencyArgs

    def describe(self) -> str:
        a = self.args
        return f"In your response, the word {a.keyword} should appear {a.relation} {a.frequency} times."

    def measure(self, stats: TextStats) -> Verdict:
        a = self.args
        if stats.is_ascii and a.keyword.isascii():  # ASCII case-insensitive matching is matching in lower case
            found = stats.lower.count(a.keyword.lower())
        else:
            found = len(re.findall(re.escape(a.keyword), stats.text, re.IGNORECASE))
        return Verdict(compare(found, a.relation, a.frequency), f"{a.keyword!r} appears {found} times")


class ForbiddenWordsArgs(Args):
    forbidden_words: list[NonBlank] = Field(min_length=1)


@register
class ForbiddenWords(Checker[ForbiddenWordsArgs]):
    """None of the words appears as a whole word (case-insensitive)."""

    id = "keywords:forbidden_words"
    Args = ForbiddenWordsArgs

    def describe(self) -> str:
        return f"Do not include keywords {sorted(set(self.args.forbidden_words))} in the response."

    def measure(self, stats: TextStats) -> Verdict:
        used = [
            w
            for w in self.args.forbidden_words
            if _contains(stats, w) and re.search(rf"\b{re.escape(w)}\b", stats.text, re.IGNORECASE)
        ]
        return Verdict(not used, f"used: {used}" if used else "no forbidden word used")


class LetterFrequencyArgs(Args):
    letter: str = Field(min_length=1, max_length=1)
    let_frequency: int = Count
    let_relation: Relation


@register
class LetterFrequency(Checker[LetterFrequencyArgs]):
    """A letter (case-insensitive) appears fewer than / at least N times."""

    id = "keywords:letter_frequency"
    Args = LetterFrequencyArgs

    def describe(self) -> str:
        a = self.args
        return (
            f"In your response, the letter {a.letter.lower()} should appear {a.let_relation} {a.let_frequency} times."
        )

    def measure(self, stats: TextStats) -> Verdict:
        a = self.args
        found = stats.lower.count(a.letter.lower())
        return Verdict(compare(found, a.let_relation, a.let_frequency), f"{a.letter.lower()!r} appears {found} times")


# --- language and case ----------------------------------------------------------------------


class LanguageArgs(Args):
    language: str = Field(min_length=2, description="ISO 639-1 code as langdetect reports it, e.g. 'en', 'de'")


@register
class ResponseLanguage(Checker[LanguageArgs]):
    """The whole response is in one language (langdetect; an undetectable text passes, as in IFEval)."""

    id = "language:response_language"
    Args = LanguageArgs

    def describe(self) -> str:
        name = LANGUAGE_NAMES.get(self.args.language, self.args.language)
        return f"Your ENTIRE response should be in {name} language, no other language is allowed."

    def needs_language(self, stats: TextStats) -> bool:
        return True

    def measure(self, stats: TextStats) -> Verdict:
        detected = stats.language
        if detected is None:
            return Verdict(True, "language could not be detected (counted as followed, as in IFEval)")
        return Verdict(detected == self.args.language, f"detected {detected!r}")


def _english_in_case(stats: TextStats, in_case: bool, case: str) -> Verdict:
    if not in_case:
        return Verdict(False, f"not all {case}")
    detected = stats.language
    if detected is None:
        return Verdict(True, f"all {case}; language undetectable (counted as followed, as in IFEval)")
    return Verdict(detected == "en", f"all {case}; detected {detected!r}")


@register
class EnglishCapital(Checker[NoArgs]):
    """English, and every cased character in capitals."""

    id = "change_case:english_capital"

    def describe(self) -> str:
        return "Your entire response should be in English, and in all capital letters."

    def needs_language(self, stats: TextStats) -> bool:
        return stats.text.isupper()

    def measure(self, stats: TextStats) -> Verdict:
        return _english_in_case(stats, stats.text.isupper(), "capitals")


@register
class EnglishLowercase(Checker[NoArgs]):
    """English, and every cased character in lowercase."""

    id = "change_case:english_lowercase"

    def describe(self) -> str:
        return (
            "Your entire response should be in English, and in all lowercase letters. No capital letters are allowed."
        )

    def needs_language(self, stats: TextStats) -> bool:
        return stats.text.islower()

    def measure(self, stats: TextStats) -> Verdict:
        return _english_in_case(stats, stats.text.islower(), "lowercase")


class CapitalFrequencyArgs(Args):
    capital_frequency: int = Count
    capital_relation: Relation


@register
class CapitalWordFrequency(Checker[CapitalFrequencyArgs]):
    """Words in all capitals (NLTK word tokens) appear fewer than / at least N times."""

    id = "change_case:capital_word_frequency"
    Args = CapitalFrequencyArgs

    def describe(self) -> str:
        a = self.args
        return (
            "In your response, words with all capital letters should appear "
            f"{a.capital_relation} {a.capital_frequency} times."
        )

    def measure(self, stats: TextStats) -> Verdict:
        a = self.args
        at_least, at_most = stats.capital_bounds
        if at_least >= a.capital_frequency or at_most < a.capital_frequency:
            found_text = f"{at_least}" if at_least >= a.capital_frequency else f"at most {at_most}"
            passed = compare(
                at_least if at_least >= a.capital_frequency else at_most, a.capital_relation, a.capital_frequency
            )
            return Verdict(passed, f"{found_text} all-capital words")
        found = stats.capital_words
        return Verdict(compare(found, a.capital_relation, a.capital_frequency), f"{found} all-capital words")


# --- length ---------------------------------------------------------------------------------


class SentencesArgs(Args):
    num_sentences: int = Count
    relation: Relation


@register
class NumberSentences(Checker[SentencesArgs]):
    """Sentence count (NLTK Punkt, English) fewer than / at least N."""

    id = "length_constraints:number_sentences"
    Args = SentencesArgs

    def describe(self) -> str:
        return f"Your response should contain {self.args.relation} {self.args.num_sentences} sentences."

    def measure(self, stats: TextStats) -> Verdict:
        a = self.args
        at_most = stats.sentence_bound
        if at_most < a.num_sentences:  # decided without splitting
            return Verdict(compare(at_most, a.relation, a.num_sentences), f"at most {at_most} sentences")
        found = stats.sentence_count
        return Verdict(compare(found, a.relation, a.num_sentences), f"found {found} sentences")


class WordsArgs(Args):
    num_words: int = Count
    relation: Relation


@register
class NumberWords(Checker[WordsArgs]):
    """Word count (runs of word characters) fewer than / at least N."""

    id = "length_constraints:number_words"
    Args = WordsArgs

    def describe(self) -> str:
        return f"Answer with {self.args.relation} {self.args.num_words} words."

    def measure(self, stats: TextStats) -> Verdict:
        a = self.args
        found = stats.word_count
        return Verdict(
            compare(found, a.relation, a.num_words), f"found {found} words; needed {a.relation} {a.num_words}"
        )


_DIVIDER = re.compile(r"\s?\*\*\*\s?")


class ParagraphsArgs(Args):
    num_paragraphs: int = Field(ge=1)


@register
class NumberParagraphs(Checker[ParagraphsArgs]):
    """Exactly N paragraphs separated by the markdown divider `***` (no empty paragraph inside)."""

    id = "length_constraints:number_paragraphs"
    Args = ParagraphsArgs

    def describe(self) -> str:
        return f"There should be {self.args.num_paragraphs} paragraphs. Paragraphs are separated with the markdown divider: ***"

    def measure(self, stats: TextStats) -> Verdict:
        parts = _DIVIDER.split(stats.text)
        last = len(parts) - 1
        count = 0
        for index, part in enumerate(parts):
            if part.strip():
                count += 1
            elif 0 < index < last:
                return Verdict(False, f"paragraph {index + 1} is empty")
        return Verdict(count == self.args.num_paragraphs, f"found {count} paragraphs")


class NthParagraphArgs(Args):
    num_paragraphs: int = Field(ge=1)
    nth_paragraph: int = Field(ge=1)
    first_word: NonBlank

    @model_validator(mode="after")
    def _nth_within_count(self) -> NthParagraphArgs:
        if self.nth_paragraph > self.num_paragraphs:
            raise ValueError(f"nth_paragraph ({self.nth_paragraph}) exceeds num_paragraphs ({self.num_paragraphs})")
        return self


_FIRST_WORD_STOP = frozenset(".,?!'\"")


def _first_word(paragraph: str) -> str:
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    letters = []
    for char in word:
        if char in _FIRST_WORD_STOP:
            break
        letters.append(char)
    return "".join(letters).lower()


@register
class NthParagraphFirstWord(Checker[NthParagraphArgs]):
    """Exactly N paragraphs separated by blank lines, and paragraph i starts with a given word."""

    id = "length_constraints:nth_paragraph_first_word"
    Args = NthParagraphArgs

    def describe(self) -> str:
        a = self.args
        return (
            f"There should be {a.num_paragraphs} paragraphs. Paragraphs and only paragraphs are separated with "
            f"each other by two new lines as if it was '\\n\\n' in python. Paragraph {a.nth_paragraph} must start "
            f"with word {a.first_word.lower()}."
        )

    def measure(self, stats: TextStats) -> Verdict:
        a = self.args
        chunks = stats.text.split("\n\n")
        count = sum(1 for chunk in chunks if chunk.strip())
        # As in IFEval, the n-th chunk is indexed among all chunks, empty ones included.
        if a.nth_paragraph > count:
            return Verdict(False, f"found {count} paragraphs; paragraph {a.nth_paragraph} is missing")
        paragraph = chunks[a.nth_paragraph - 1].strip()
        if not paragraph:
            return Verdict(False, f"paragraph {a.nth_paragraph} is empty")
        word = _first_word(paragraph)
        ok = count == a.num_paragraphs and word == a.first_word.lower()
        return Verdict(ok, f"found {count} paragraphs; paragraph {a.nth_paragraph} starts with {word!r}")


# --- detectable content and format ----------------------------------------------------------


class PlaceholdersArgs(Args):
    num_placeholders: int = Count


_PLACEHOLDER = re.compile(r"\[.*?\]")


@register
class NumberPlaceholders(Checker[PlaceholdersArgs]):
    """At least N placeholders in square brackets, like [address]."""

    id = "detectable_content:number_placeholders"
    Args = PlaceholdersArgs

    def describe(self) -> str:
        return (
            f"The response must contain at least {self.args.num_placeholders} placeholders represented by square "
            "brackets, such as [address]."
        )

    def measure(self, stats: TextStats) -> Verdict:
        found = len(_PLACEHOLDER.findall(stats.text))
        return Verdict(found >= self.args.num_placeholders, f"found {found} placeholders")


class PostscriptArgs(Args):
    postscript_marker: Stripped


@register
class Postscript(Checker[PostscriptArgs]):
    """A postscript starting with a marker such as P.S. (case-insensitive; P.S./P.P.S allow inner spaces)."""

    id = "detectable_content:postscript"
    Args = PostscriptArgs

    def __init__(self, **kwargs: object):
        super().__init__(**kwargs)
        marker = self.args.postscript_marker
        if marker == "P.P.S":
            pattern = r"p\.\s?p\.\s?s"
        elif marker == "P.S.":
            pattern = r"p\.\s?s\."
        else:
            pattern = re.escape(marker.lower())
        self._pattern = re.compile(pattern)

    def describe(self) -> str:
        return f"At the end of your response, please explicitly add a postscript starting with {self.args.postscript_marker}"

    def measure(self, stats: TextStats) -> Verdict:
        found = self._pattern.search(stats.lower) is not None
        return Verdict(found, "postscript found" if found else f"no {self.args.postscript_marker} found")


class BulletsArgs(Args):
    num_bullets: int = Count


_STAR_BULLET = re.compile(r"^\s*\*[^\*].*$", re.MULTILINE)
_DASH_BULLET = re.compile(r"^\s*-.*$", re.MULTILINE)


@register
class NumberBulletLists(Checker[BulletsArgs]):
    """Exactly N markdown bullet points (lines starting with `*` or `-`)."""

    id = "detectable_format:number_bullet_lists"
    Args = BulletsArgs

    def describe(self) -> str:
        return (
            f"Your answer must contain exactly {self.args.num_bullets} bullet points. Use the markdown bullet "
            "points such as:\n* This is point 1. \n* This is point 2"
        )

    def measure(self, stats: TextStats) -> Verdict:
        found = len(_STAR_BULLET.findall(stats.text)) + len(_DASH_BULLET.findall(stats.text))
        return Verdict(found == self.args.num_bullets, f"found {found} bullet points")


@register
class ConstrainedResponse(Checker[NoArgs]):
    """The response contains one of 'My answer is yes./no./maybe.'."""

    id = "detectable_format:constrained_response"

    def describe(self) -> str:
        return f"Answer with one of the following options: {CONSTRAINED_OPTIONS}"

    def measure(self, stats: TextStats) -> Verdict:
        text = stats.stripped
        for option in CONSTRAINED_OPTIONS:
            if option in text:
                return Verdict(True, f"contains {option!r}")
        return Verdict(False, "none of the options found")


class HighlightsArgs(Args):
    num_highlights: int = Count


_HIGHLIGHT = re.compile(r"\*[^\n\*]*\*")
_BOLD = re.compile(r"\*\*[^\n\*]*\*\*")


@register
class NumberHighlightedSections(Checker[HighlightsArgs]):
    """At least N non-empty markdown highlights (*italic*; **bold** counts as well)."""

    id = "detectable_format:number_highlighted_sections"
    Args = HighlightsArgs

    def describe(self) -> str:
        return (
            f"Highlight at least {self.args.num_highlights} sections in your answer with markdown, "
            "i.e. *highlighted section*."
        )

    def measure(self, stats: TextStats) -> Verdict:
        single = sum(1 for h in _HIGHLIGHT.findall(stats.text) if h.strip("*").strip())
        double = sum(1 for h in _BOLD.findall(stats.text) if h[2:-2].strip())
        found = single + double
        return Verdict(found >= self.args.num_highlights, f"found {found} highlighted sections")


class SectionsArgs(Args):
    section_spliter: Stripped
    num_sections: int = Count


@register
class MultipleSections(Checker[SectionsArgs]):
    """At least N sections, each opened by the splitter word and a number ('SECTION 1')."""

    id = "detectable_format:multiple_sections"
    Args = SectionsArgs

    def __init__(self, **kwargs: object):
        super().__init__(**kwargs)
        self._splitter = re.compile(r"\s?" + re.escape(self.args.section_spliter) + r"\s?\d+\s?")

    def describe(self) -> str:
        a = self.args
        s = a.section_spliter
        return (
            f"Your response must have {a.num_sections} sections. Mark the beginning of each section with {s} X, "
            f"such as:\n{s} 1\n[content of section 1]\n{s} 2\n[content of section 2]"
        )

    def measure(self, stats: TextStats) -> Verdict:
        found = sum(1 for _ in self._splitter.finditer(stats.text))
        return Verdict(found >= self.args.num_sections, f"found {found} sections")


_JSON_PREFIXES = ("```json", "```Json", "```JSON", "```")


@register
class JsonFormat(Checker[NoArgs]):
    """The whole response is one JSON value (markdown code fences allowed)."""

    id = "detectable_format:json_format"

    def describe(self) -> str:
        return "Entire output should be wrapped in JSON format. You can use markdown ticks such as ```."

    def measure(self, stats: TextStats) -> Verdict:
        body = stats.stripped
        for prefix in _JSON_PREFIXES:
            body = body.removeprefix(prefix)
        body = body.removesuffix("```").strip()
        try:
            json.loads(body)
        except ValueError as error:
            return Verdict(False, f"not JSON: {error}")
        return Verdict(True, "valid JSON")


_TITLE = re.compile(r"<<[^\n]+>>")


@register
class Title(Checker[NoArgs]):
    """A title wrapped in double angular brackets, like <<poem of joy>>."""

    id = "detectable_format:title"

    def describe(self) -> str:
        return "Your answer must contain a title, wrapped in double angular brackets, such as <<poem of joy>>."

    def measure(self, stats: TextStats) -> Verdict:
        for title in _TITLE.findall(stats.text):
            if title.lstrip("<").rstrip(">").strip():
                return Verdict(True, f"title {title}")
        return Verdict(False, "no <<title>> found")


# --- combination, start/end, punctuation ----------------------------------------------------


@register
class TwoResponses(Checker[NoArgs]):
    """Two different responses separated by six asterisks ******."""

    id = "combination:two_responses"

    def describe(self) -> str:
        return "Give two different responses. Responses and only responses should be separated by 6 asterisk symbols: ******."

    def measure(self, stats: TextStats) -> Verdict:
        parts = stats.text.split("******")
        last = len(parts) - 1
        answers = []
        for index, part in enumerate(parts):
            if part.strip():
                answers.append(part.strip())
            elif 0 < index < last:
                return Verdict(False, "an empty response between separators")
        if len(answers) != 2:
            return Verdict(False, f"found {len(answers)} responses")
        return Verdict(answers[0] != answers[1], "two responses" if answers[0] != answers[1] else "identical responses")


class RepeatPromptArgs(Args):
    prompt_to_repeat: NonBlank


@register
class RepeatPrompt(Checker[RepeatPromptArgs]):
    """The response starts by repeating the request word for word (case-insensitive)."""

    id = "combination:repeat_prompt"
    Args = RepeatPromptArgs

    def describe(self) -> str:
        return (
            "First repeat the request word for word without change, then give your answer (1. do not say any words "
            "or characters before repeating the request; 2. the request you need to repeat does not include this "
            "sentence)"
        )

    def measure(self, stats: TextStats) -> Verdict:
        ok = stats.stripped.lower().startswith(self.args.prompt_to_repeat.strip().lower())
        return Verdict(ok, "starts with the request" if ok else "does not start with the request")


class EndPhraseArgs(Args):
    end_phrase: Stripped


@register
class EndChecker(Checker[EndPhraseArgs]):
    """The response ends with an exact phrase (case-insensitive; surrounding double quotes ignored)."""

    id = "startend:end_checker"
    Args = EndPhraseArgs

    def describe(self) -> str:
        return f"Finish your response with this exact phrase {self.args.end_phrase}. No other words should follow this phrase."

    def measure(self, stats: TextStats) -> Verdict:
        ending = stats.stripped.strip('"').lower()
        ok = ending.endswith(self.args.end_phrase.lower())
        return Verdict(ok, "ends with the phrase" if ok else f"ends with {ending[-40:]!r}")


@register
class Quotation(Checker[NoArgs]):
    """The whole response is wrapped in double quotation marks."""

    id = "startend:quotation"

    def describe(self) -> str:
        return "Wrap your entire response with double quotation marks."

    def measure(self, stats: TextStats) -> Verdict:
        text = stats.stripped
        ok = len(text) > 1 and text[0] == '"' and text[-1] == '"'
        return Verdict(ok, "wrapped in double quotes" if ok else "not wrapped in double quotes")


@register
class NoComma(Checker[NoArgs]):
    """No comma anywhere."""

    id = "punctuation:no_comma"

    def describe(self) -> str:
        return "In your entire response, refrain from the use of any commas."

    def measure(self, stats: TextStats) -> Verdict:
        count = stats.text.count(",")
        return Verdict(count == 0, f"found {count} commas")


IFEVAL_IDS: tuple[str, ...] = (
    "keywords:existence", "keywords:frequency", "keywords:forbidden_words", "keywords:letter_frequency",
    "language:response_language", "length_constraints:number_sentences", "length_constraints:number_paragraphs",
    "length_constraints:number_words", "length_constraints:nth_paragraph_first_word",
    "detectable_content:number_placeholders", "detectable_content:postscript",
    "detectable_format:number_bullet_lists", "detectable_format:constrained_response",
    "detectable_format:number_highlighted_sections", "detectable_format:multiple_sections",
    "detectable_format:json_format", "detectable_format:title", "combination:two_responses",
    "combination:repeat_prompt", "startend:end_checker", "change_case:capital_word_frequency",
    "change_case:english_capital", "change_case:english_lowercase", "punctuation:no_comma", "startend:quotation",
)  # fmt: skip
