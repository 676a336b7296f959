"""The constraint extractor: a free-form writing task → registry constraints.

Two paths:

- `extract_rules(task)` — deterministic, no model: regular expressions for the common explicit
  requirements in English and Chinese (length in words / characters / 字, point of view, no
  bullet points, start / end phrases, quoted terms to include or avoid, a title, a number of
  sections or paragraphs, dialogue).
- `ConstraintExtractor(model).extract(task)` / `aextract(task)` — one structured LLM call
  (`ExtractedConstraints`) whose prompt lists the registry; each returned spec is validated
  against the registry, invalid ones are sent back once for correction and then dropped with a
  warning; requirements no checker expresses become `llm:requirement` specs. The rule path
  cross-checks the model: a rule-found constraint whose id the model missed is added.

Example:
    >>> [(s.id, s.kwargs) for s in extract_rules("写一篇不少于800字的散文，以第一人称叙述。")]
    [('writing:word_count_range', {'min': 800}), ('writing:point_of_view', {'person': 'first'})]
    >>> from writer_r1.testing import ScriptedChatModel
    >>> model = ScriptedChatModel(replies=['{"constraints": [{"id": "punctuation:no_comma", "kwargs": {}}],'
    ...                                    ' "unverifiable": ["a hopeful tone"]}'])
    >>> [s.id for s in ConstraintExtractor(model, cross_check=False).extract("No commas; a hopeful tone.")]
    ['punctuation:no_comma', 'llm:requirement']
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import ValidationError
from writer_r1.constraints.errors import ConstraintError
from writer_r1.constraints.registry import catalog, checker_for
from writer_r1.core.criteria import ConstraintSpec
from writer_r1.core.errors import StructuredOutputError
from writer_r1.core.fake import register_fake_reply
from writer_r1.core.records import ExtractedConstraints

logger = logging.getLogger(__name__)

# --- deterministic rules ----------------------------------------------------------------------

_NUM = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k|K|千|万)?"
_ZH_DIGITS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _number(digits: str, scale: str | None = None) -> int:
    value = float(digits.replace(",", ""))
    value *= {"k": 1000, "K": 1000, "千": 1000, "万": 10000}.get(scale or "", 1)
    return int(round(value))


def _zh_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if len(text) == 2 and text[0] == "十":
        return 10 + _ZH_DIGITS.get(text[1], 0)
    if len(text) == 2 and text[1] == "十":
        return _ZH_DIGITS.get(text[0], 0) * 10
    if len(text) == 1:
        return _ZH_DIGITS.get(text)
    return None


_EN_UNIT = r"(words?|characters?|chars?)"
_RANGE_EN = re.compile(rf"(?:between\s+)?{_NUM}\s*(?:-|–|—|~|to|and)\s*{_NUM}[\s-]*{_EN_UNIT}", re.IGNORECASE)
_MIN_EN = re.compile(
    rf"(?:at\s+least|no\s+(?:less|fewer)\s+than|not\s+(?:less|fewer)\s+than|minimum\s+(?:of\s+)?|more\s+than|over)\s+{_NUM}[\s-]*{_EN_UNIT}",
    re.IGNORECASE,
)
_MAX_EN = re.compile(
    rf"(?:at\s+most|no\s+more\s+than|not\s+(?:more|exceed(?:ing)?)\s+(?:than\s+)?|within|under|less\s+than|fewer\s+than|"
    rf"maximum\s+(?:of\s+)?|up\s+to|not\s+to\s+exceed|does\s+not\s+exceed|limit(?:ed)?\s+(?:of|to)\s+)\s*{_NUM}[\s-]*{_EN_UNIT}",
    re.IGNORECASE,
)
_ABOUT_EN = re.compile(
    rf"(?:about|around|approximately|roughly|circa|~)\s*{_NUM}[\s-]*{_EN_UNIT}|{_NUM}[\s-]*{_EN_UNIT}\s*(?:or\s+so|give\s+or\s+take)",
    re.IGNORECASE,
)
_BARE_EN = re.compile(rf"(?<![\d,.]){_NUM}[\s-]*{_EN_UNIT}\b", re.IGNORECASE)

_ZH_NUM = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(千|万)?"
_RANGE_ZH = re.compile(rf"{_ZH_NUM}\s*(?:-|–|—|~|～|至|到)\s*{_ZH_NUM}\s*(?:个)?字")
_MIN_ZH = re.compile(
    rf"(?:不少于|不低于|至少|最少|不得少于|不能少于|超过)\s*{_ZH_NUM}\s*(?:个)?字|{_ZH_NUM}\s*(?:个)?字以上"
)
_MAX_ZH = re.compile(
    rf"(?:不超过|不多于|不得超过|最多|少于|控制在)\s*{_ZH_NUM}\s*(?:个)?字(?:以内|之内)?|{_ZH_NUM}\s*(?:个)?字(?:以内|之内|以下)"
)
_ABOUT_ZH = re.compile(rf"(?:约|大约|大概|左右)\s*{_ZH_NUM}\s*(?:个)?字|{_ZH_NUM}\s*(?:个)?字(?:左右|上下)")
_BARE_ZH = re.compile(rf"{_ZH_NUM}\s*字")

_POV = [
    (re.compile(r"first[\s-]person|第一人称|以“?我”?的(?:口吻|视角)", re.IGNORECASE), "first"),
    (re.compile(r"second[\s-]person|第二人称", re.IGNORECASE), "second"),
    (re.compile(r"third[\s-]person|第三人称", re.IGNORECASE), "third"),
]
_NO_BULLETS = re.compile(
    r"(?:no|not?\s+use|without|avoid(?:ing)?|don'?t\s+use|do\s+not\s+use)\s+(?:any\s+)?(?:bullet(?:ed)?[\s-]*(?:points?|lists?)|bullets|lists)"
    r"|不(?:要|得|能)?使用(?:项目符号|列表|要点)|不要(?:用)?列表|不分点",
    re.IGNORECASE,
)
_QUOTE = r"[\"“”'‘’「」『』]"
_QUOTED = rf"{_QUOTE}([^\"“”'‘’「」『』\n]{{1,200}}?){_QUOTE}"
_END_WITH = re.compile(
    rf"(?:end|ending|finish|conclude|close)\s+(?:it\s+|the\s+\w+\s+|your\s+\w+\s+)?with\s+(?:the\s+)?(?:exact\s+)?(?:phrase|sentence|line|words?)?\s*:?\s*{_QUOTED}"
    rf"|以{_QUOTED}(?:这句话|一句)?(?:结尾|结束|收尾)|结尾(?:是|为|处写上?)\s*{_QUOTED}",
    re.IGNORECASE,
)
_START_WITH = re.compile(
    rf"(?:start|begin|open)\s+(?:it\s+|the\s+\w+\s+|your\s+\w+\s+)?with\s+(?:the\s+)?(?:exact\s+)?(?:phrase|sentence|line|words?)?\s*:?\s*{_QUOTED}"
    rf"|以{_QUOTED}(?:这句话|一句)?(?:开头|开始|开篇)|开头(?:是|为)\s*{_QUOTED}",
    re.IGNORECASE,
)
_INCLUDE = re.compile(
    r"(?:include|use|mention|contain)s?\s+(?:the\s+)?(?:key)?(?:words?|phrases?|terms?)\s*:?\s*((?:"
    + _QUOTED
    + r"(?:\s*(?:,|and|or|、|，)\s*)?)+)"
    r"|(?:包含|包括|使用|提到)(?:关键词|词语|以下词语)?\s*[:：]?\s*((?:" + _QUOTED + r"\s*[、，,和]?\s*)+)",
    re.IGNORECASE,
)
_AVOID = re.compile(
    r"(?:do\s+not|don'?t|never|avoid|without)\s+(?:use|using|mention|mentioning|say|saying|include|including)?\s*(?:the\s+)?(?:words?|phrases?|terms?)\s*:?\s*((?:"
    + _QUOTED
    + r"(?:\s*(?:,|and|or|、|，)\s*)?)+)"
    r"|(?:不要|不得|不能|避免)(?:使用|出现|提到)(?:词语|字眼)?\s*[:：]?\s*((?:" + _QUOTED + r"\s*[、，,和或]?\s*)+)",
    re.IGNORECASE,
)
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bavoid|\bwithout|不要|不得|不能|避免)\W*$", re.IGNORECASE)
_TITLE = re.compile(
    r"\b(?:with|include|give\s+it|add|has|have)\s+(?:a|an)\s+(?:\w+\s+)?title\b|(?:加上|拟|起|附上|包含|需要有?)(?:一个)?(?:\S{0,4})?标题",
    re.IGNORECASE,
)
_SECTIONS_EN = re.compile(r"\b(\d+|two|three|four|five|six|seven|eight|nine|ten)\s+(?:sections|parts)\b", re.IGNORECASE)
_SECTIONS_ZH = re.compile(
    r"(?:分为|分成|包括|包含)[^。；;\n]{0,40}?([一二两三四五六七八九十\d]{1,3})\s*(?:个)?(?:部分|章节|节)"
)
_PARAGRAPHS_EN = re.compile(r"\b(\d+|two|three|four|five|six|seven|eight|nine|ten)\s+paragraphs\b", re.IGNORECASE)
_DIALOGUE = re.compile(
    r"\b(?:include|with|contain|use)s?\s+(?:some\s+)?dialogues?\b|(?:包含|加入|穿插|要有)(?:人物)?对话", re.IGNORECASE
)
# Whole-text requirements that IFEval's own checkers verify: (checker id, how a task states it).
_WHOLE_TEXT_RULES = [
    ("punctuation:no_comma", r"(?:\bno|\bwithout|\bavoid(?:ing)?|(?:\bdo\s+not|\bdon'?t|\bnever|\bnot)\s+(?:use|using|include))"
     r"\s+(?:any\s+)?commas?\b|不(?:要|得|能)?(?:使用|用|出现)逗号"),
    ("change_case:english_lowercase", r"\b(?:all|entirely|only|everything)\s+(?:in\s+)?lower[\s-]?case\b"
     r"|\blower[\s-]?case\s+letters\s+only\b|\bno\s+(?:capital|upper[\s-]?case)\s+letters\b"),
    ("change_case:english_capital", r"\b(?:all|entirely|only|everything)\s+(?:in\s+)?(?:capital\s+letters|upper[\s-]?case|caps)\b"
     r"|\ball[\s-]caps\b"),
]  # fmt: skip
_WHOLE_TEXT = [(constraint_id, re.compile(pattern, re.IGNORECASE)) for constraint_id, pattern in _WHOLE_TEXT_RULES]
_EN_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def _unit_id(unit: str) -> str:
    return "writing:word_count_range" if unit.lower().startswith("word") else "writing:character_count_range"


def _length_specs(task: str) -> Iterator[tuple[int, ConstraintSpec]]:
    """Length requirements with their position, most specific pattern first; spans are not reused."""
    taken: list[tuple[int, int]] = []

    def free(match: re.Match[str]) -> bool:
        return all(match.end() <= a or match.start() >= b for a, b in taken)

    def found(match: re.Match[str], constraint_id: str, kwargs: dict[str, int]) -> tuple[int, ConstraintSpec]:
        taken.append(match.span())
        return match.start(), ConstraintSpec(id=constraint_id, kwargs=kwargs)

    rules: list[tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str, dict[str, int]]]]] = [
        (_RANGE_EN, lambda m: (_unit_id(m[5]), {"min": _number(m[1], m[2]), "max": _number(m[3], m[4])})),
        (_RANGE_ZH, lambda m: ("writing:word_count_range", {"min": _number(m[1], m[2]), "max": _number(m[3], m[4])})),
        (_MIN_EN, lambda m: (_unit_id(m[3]), {"min": _number(m[1], m[2])})),
        (_MAX_EN, lambda m: (_unit_id(m[3]), {"max": _number(m[1], m[2])})),
        (_MIN_ZH, lambda m: ("writing:word_count_range", {"min": _number(m[1] or m[3], m[2] or m[4])})),
        (_MAX_ZH, lambda m: ("writing:word_count_range", {"max": _number(m[1] or m[3], m[2] or m[4])})),
        (_ABOUT_EN, lambda m: (_unit_id(m[3] or m[6]), {"target": _number(m[1] or m[4], m[2] or m[5])})),
        (_ABOUT_ZH, lambda m: ("writing:word_count_range", {"target": _number(m[1] or m[3], m[2] or m[4])})),
        (_BARE_EN, lambda m: (_unit_id(m[3]), {"target": _number(m[1], m[2])})),
        (_BARE_ZH, lambda m: ("writing:word_count_range", {"target": _number(m[1], m[2])})),
    ]
    for pattern, build in rules:
        for match in pattern.finditer(task):
            if free(match):
                constraint_id, kwargs = build(match)
                if all(v > 0 for v in kwargs.values()):
                    yield found(match, constraint_id, kwargs)


def _quoted_terms(blob: str) -> list[str]:
    return [t.strip() for t in re.findall(_QUOTED, blob) if t.strip()]


def extract_rules(task: str) -> list[ConstraintSpec]:
    """Constraints stated explicitly in `task`, found by regular expressions (no model).

    Example:
        >>> [(s.id, s.kwargs) for s in extract_rules('Write around 2,000 words in the first person. '
        ...                                           'No bullet points. End with "See you soon."')]  # doctest: +NORMALIZE_WHITESPACE
        [('writing:word_count_range', {'target': 2000}), ('writing:point_of_view', {'person': 'first'}),
         ('writing:no_bullet_lists', {}), ('writing:ends_with', {'phrase': 'See you soon.'})]
    """
    found: list[tuple[int, ConstraintSpec]] = []
    lengths = sorted(_length_specs(task), key=lambda item: item[0])
    seen_length_ids = set()
    for position, spec in lengths:  # one range per unit: the first stated wins
        if spec.id not in seen_length_ids:
            seen_length_ids.add(spec.id)
            found.append((position, spec))
    for pattern, person in _POV:
        match = pattern.search(task)
        if match:
            found.append((match.start(), ConstraintSpec(id="writing:point_of_view", kwargs={"person": person})))
            break
    if match := _NO_BULLETS.search(task):
        found.append((match.start(), ConstraintSpec(id="writing:no_bullet_lists", kwargs={})))
    for pattern, constraint_id in ((_START_WITH, "writing:starts_with"), (_END_WITH, "writing:ends_with")):
        if match := pattern.search(task):
            phrase = next(g for g in match.groups() if g)
            found.append((match.start(), ConstraintSpec(id=constraint_id, kwargs={"phrase": phrase.strip()})))
    for pattern, constraint_id in ((_INCLUDE, "writing:must_include"), (_AVOID, "writing:must_avoid")):
        for match in pattern.finditer(task):
            if pattern is _INCLUDE and _NEGATED.search(task[max(0, match.start() - 12) : match.start()]):
                continue
            blob = next((g for g in (match.group(1), match.groups()[-1]) if g), "")
            terms = _quoted_terms(blob)
            if terms:
                found.append((match.start(), ConstraintSpec(id=constraint_id, kwargs={"terms": terms})))
    if match := _TITLE.search(task):
        found.append((match.start(), ConstraintSpec(id="writing:title", kwargs={})))
    if match := (_SECTIONS_EN.search(task) or _SECTIONS_ZH.search(task)):
        raw = match.group(1)
        count = _EN_WORDS.get(raw.lower()) or _zh_number(raw)
        if count:
            found.append((match.start(), ConstraintSpec(id="writing:sections", kwargs={"min": count, "max": count})))
    if match := _PARAGRAPHS_EN.search(task):
        raw = match.group(1)
        count = _EN_WORDS.get(raw.lower()) or (int(raw) if raw.isdigit() else None)
        if count:
            found.append(
                (match.start(), ConstraintSpec(id="writing:paragraph_count_range", kwargs={"min": count, "max": count}))
            )
    if match := _DIALOGUE.search(task):
        found.append((match.start(), ConstraintSpec(id="writing:dialogue", kwargs={})))
    for constraint_id, pattern in _WHOLE_TEXT:
        if match := pattern.search(task):
            found.append((match.start(), ConstraintSpec(id=constraint_id, kwargs={})))
    return _dedupe([spec for _, spec in sorted(found, key=lambda item: item[0])])


def _dedupe(specs: list[ConstraintSpec]) -> list[ConstraintSpec]:
    seen: set[str] = set()
    unique = []
    for spec in specs:
        if spec.key() not in seen:
            seen.add(spec.key())
            unique.append(spec)
    return unique


# --- the LLM extractor ------------------------------------------------------------------------


def _problem(spec: ConstraintSpec) -> str | None:
    try:
        checker_for(spec)
    except ConstraintError as error:
        return str(error)
    return None


class ConstraintExtractor:
    """Turns a task into validated registry constraints with one structured LLM call.

    Args:
        model: a LangChain chat model; None uses `extract_rules` only.
        cross_check: add rule-found constraints whose id the model's answer lacks.
        retries: structured-output retries for malformed replies (passed to `ainvoke_structured`).
    """

    def __init__(self, model: Any = None, *, cross_check: bool = True, retries: int = 2):
        self.model = model
        self.cross_check = cross_check
        self.retries = retries

    def prompt(self, task: str) -> str:
        from writer_r1.agents.language import task_language_label
        from writer_r1.prompts import fence, render

        fenced, delimiter = fence(task, stem="TASK")
        entries = [e for e in catalog() if e["id"] != "llm:requirement"]
        language = task_language_label(task)
        return render("extractor", task=fenced, delimiter=delimiter, catalog=entries, language=language)

    def extract(self, task: str) -> list[ConstraintSpec]:
        """Sync `aextract`."""
        from writer_r1.core.asyncio_utils import run_sync

        return run_sync(self.aextract(task))

    async def aextract(self, task: str) -> list[ConstraintSpec]:
        if self.model is None:
            return extract_rules(task)
        from writer_r1.core.structured import ainvoke_structured

        messages: list[BaseMessage] = [HumanMessage(content=self.prompt(task))]
        answer: ExtractedConstraints = await ainvoke_structured(
            self.model, messages, ExtractedConstraints, retries=self.retries
        )
        valid, invalid = self._split(answer.constraints)
        if invalid:
            feedback = "\n".join(
                f"- {json.dumps(s.model_dump(include={'id', 'kwargs'}), ensure_ascii=False)}: {why}"
                for s, why in invalid
            )
            retry_messages = messages + [
                AIMessage(content=answer.model_dump_json()),
                HumanMessage(
                    content=(
                        "These constraints are not valid for the registry:\n"
                        f"{feedback}\n"
                        "Reply with the same JSON object, corrected: fix or remove each invalid constraint "
                        '(a requirement no checker expresses goes to "unverifiable").'
                    )
                ),
            ]
            try:
                corrected: ExtractedConstraints = await ainvoke_structured(
                    self.model, retry_messages, ExtractedConstraints, retries=self.retries
                )
            except (StructuredOutputError, ValidationError, ValueError) as error:
                logger.warning("extractor correction failed (%s); dropping %d invalid constraints", error, len(invalid))
            else:
                valid, still_invalid = self._split(corrected.constraints)
                answer = corrected
                for spec, why in still_invalid:
                    logger.warning("dropping invalid constraint %s: %s", spec.id, why)
        specs = list(valid)
        specs += [
            ConstraintSpec(id="llm:requirement", kwargs={"requirement": text.strip()})
            for text in answer.unverifiable
            if text.strip()
        ]
        if self.cross_check:
            present = {s.id for s in specs}
            for spec in extract_rules(task):
                if spec.id not in present:
                    logger.info("rules found %s that the model missed; adding it", spec.id)
                    specs.append(spec)
        return _dedupe(specs)

    @staticmethod
    def _split(specs: list[ConstraintSpec]) -> tuple[list[ConstraintSpec], list[tuple[ConstraintSpec, str]]]:
        valid, invalid = [], []
        for spec in specs:
            problem = _problem(spec)
            if problem is None:
                valid.append(spec)
            else:
                invalid.append((spec, problem))
        return valid, invalid


def _fake_extraction(messages: list[BaseMessage]) -> dict[str, Any]:
    """The `fake` model's extraction: nothing beyond the rules (which the cross-check adds), always valid."""
    return ExtractedConstraints().model_dump(mode="json")


register_fake_reply(ExtractedConstraints.__name__, _fake_extraction)
