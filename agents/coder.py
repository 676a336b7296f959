"""The coder: open coding of a text into grounded codes, and of a task statement into requirement codes.

Every code carries a quote from the text as evidence, and a quote that is not in the text is dropped:
the comparison forgives whitespace, letter case, typographic quotes and dashes and an ellipsis between
fragments that appear in order, never a word that is not there.

Example:
    >>> quote_in_text("the  LAMP burned…", "At night the lamp burned until dawn.")
    True
    >>> quote_in_text("the lamp glowed", "At night the lamp burned until dawn.")
    False
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel
from writer_r1.core.records import Code, Codes, RequirementCode, RequirementCodes

logger = logging.getLogger(__name__)

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u300c": '"', "\u300d": '"', "\u300e": '"', "\u300f": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
        "\u00a0": " ", "\u2026": "...",
    }
)  # fmt: skip
_SPACES = re.compile(r"\s+")
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|\[\.\.\.\]|\[…\])\s*")
_EDGE = " \"'.,;:!?-()[]。，、；：！？"
_MIN_FRAGMENT = 3


def normalise_for_quote(text: str) -> str:
    """Unicode-normalised, case-folded text with typographic quotes and dashes unified and whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).casefold()
    return _SPACES.sub(" ", text).strip()


def quote_in_text(quote: str, text: str) -> bool:
    """Whether `quote` is verbatim in `text` (up to normalisation); fragments split by an ellipsis must appear in order."""
    haystack = normalise_for_quote(text)
    fragments = [fragment.strip(_EDGE) for fragment in _ELLIPSIS.split(normalise_for_quote(quote))]
    fragments = [fragment for fragment in fragments if fragment]
    if not fragments or sum(len(fragment) for fragment in fragments) < _MIN_FRAGMENT:
        return False
    position = 0
    for fragment in fragments:
        found = haystack.find(fragment, position)
        if found < 0:
            return False
        position = found + len(fragment)
    return True


class CodingResult(BaseModel):
    """Codes that survived quote verification, and how many were dropped."""

    codes: list[Code]
    dropped: int = 0


class RequirementResult(BaseModel):
    requirements: list[RequirementCode]
    dropped: int = 0


class Coder:
    """Open coding with one structured model call per text.

    Args:
        model: the chat model that codes.
        min_codes, max_codes: how many codes to ask for per text.
        retries: structured-output retries for malformed replies.
        language: the task's language code ("zh" ...); labels and observations are written in it (None: detected from
            the task).
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        min_codes: int = 4,
        max_codes: int = 10,
        retries: int = 2,
        language: str | None = None,
    ) -> None:
        self.model = model
        self.min_codes = min_codes
        self.max_codes = max_codes
        self.retries = retries
        self.language = language

    def coding_prompt(self, task: str, text: str, concepts: Iterable[str] = (), comment: str | None = None) -> str:
        """The open-coding prompt for one text, with the human `comment` on it when there is one."""
        from writer_r1.agents.language import language_for
        from writer_r1.prompts import fence, render

        fenced, delimiter = fence(text)
        fenced_comment, comment_delimiter = fence(comment, stem="COMMENT") if comment and comment.strip() else ("", "")
        return render(
            "coder",
            task=task,
            text=fenced,
            delimiter=delimiter,
            comment=fenced_comment,
            comment_delimiter=comment_delimiter,
            concepts=list(concepts),
            min_codes=self.min_codes,
            max_codes=self.max_codes,
            language=language_for(self.language, task),
        )

    def requirements_prompt(self, task: str) -> str:
        from writer_r1.agents.language import language_for
        from writer_r1.prompts import fence, render

        fenced, delimiter = fence(task, stem="TASK")
        return render("requirements", task=fenced, delimiter=delimiter, language=language_for(self.language, task))

    async def acode(
        self, task: str, text: str, *, source: int, concepts: Iterable[str] = (), comment: str | None = None
    ) -> CodingResult:
        """Code `text` (index `source`); codes whose quote is in neither the text nor its comment are dropped."""
        from writer_r1.core.structured import ainvoke_structured

        prompt = self.coding_prompt(task, text, concepts, comment)
        answer: Codes = await ainvoke_structured(
            self.model, [HumanMessage(content=prompt)], Codes, retries=self.retries
        )
        kept = []
        for code in answer.codes:
            grounded = quote_in_text(code.quote, text) or bool(comment and quote_in_text(code.quote, comment))
            if code.concept.strip() and code.observation.strip() and grounded:
                kept.append(code.model_copy(update={"source": source, "concept": code.concept.strip()}))
            else:
                logger.info("dropping a code of text %d: quote not in the text: %r", source, code.quote[:80])
        return CodingResult(codes=kept, dropped=len(answer.codes) - len(kept))

    async def arequirements(self, task: str) -> RequirementResult:
        """The task statement's explicit requirements; ones whose quote is not in the task are dropped."""
        from writer_r1.core.structured import ainvoke_structured

        prompt = self.requirements_prompt(task)
        answer: RequirementCodes = await ainvoke_structured(
            self.model, [HumanMessage(content=prompt)], RequirementCodes, retries=self.retries
        )
        kept = [r for r in answer.requirements if r.requirement.strip() and quote_in_text(r.quote, task)]
        return RequirementResult(requirements=kept, dropped=len(answer.requirements) - len(kept))
