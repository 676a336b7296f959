"""Structure constraints: title, sections (markdown headings count), named sections, bullet lists.

Example:
    >>> from writer_r1.constraints import get_checker
    >>> text = "# Harbour Lights\\n\\n## Morning\\nText.\\n\\n## Night\\nMore."
    >>> get_checker("writing:title").check(text), get_checker("writing:sections", min=2).check(text)
    (True, True)
    >>> get_checker("writing:no_bullet_lists").check("- one\\n- two")
    False
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from writer_r1.constraints.base import Args, Checker, Verdict
from writer_r1.constraints.registry import register
from writer_r1.constraints.text import TextStats, cjk_word_count
from writer_r1.constraints.writing.length import RangeArgs

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)(.+?)\1\s*[:：]?\s*$")
_ANGLE_TITLE = re.compile(r"^\s*<<(.+)>>\s*$")
_BOOK_TITLE = re.compile(r"^\s*《(.+)》\s*$")
_NUMBERED_HEADING = re.compile(
    r"^\s*(?:(?:Section|Part|Chapter)\s+[\dIVXivx]+\b|第[一二三四五六七八九十百\d]+[章节部分幕回篇]|"
    r"[一二三四五六七八九十]+、|[IVX]+\.\s)",
    re.IGNORECASE,
)
_TERMINAL = tuple(".!?。！？…;；:：,，")


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def title_of(text: str) -> str | None:
    """The title line, if the text opens with one: a markdown heading, <<title>>, 《title》, a bold
    line, or a short line without final punctuation followed by more text."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    line = lines[0].strip()
    for pattern in (_MD_HEADING, _ANGLE_TITLE, _BOOK_TITLE, _BOLD_LINE):
        match = pattern.match(line)
        if match:
            return match.group(match.lastindex or 1).strip("*_ ").strip()
    if len(lines) > 1 and cjk_word_count(line) <= 15 and not line.endswith(_TERMINAL):
        return line.strip()
    return None


def _headings_with_levels(text: str) -> list[tuple[int, str]]:
    """(level, heading) for markdown headings (level = number of #), bold-only lines and
    'Section 1' / '第一章' / '一、' lines (level 7: below any markdown heading)."""
    headings = []
    for line in text.splitlines():
        markdown = _MD_HEADING.match(line)
        bold = _BOLD_LINE.match(line)
        if markdown:
            headings.append((len(markdown.group(1)), markdown.group(2).strip()))
        elif bold:
            headings.append((7, bold.group(2).strip()))
        elif _NUMBERED_HEADING.match(line) and cjk_word_count(line) <= 20:
            headings.append((7, line.strip()))
    return headings


def section_headings(text: str) -> list[str]:
    """Section heading lines; a first heading that titles the piece (a heading of a higher level
    than every other one) is not a section."""
    headings = _headings_with_levels(text)
    if len(headings) > 1 and headings[0][0] < min(level for level, _ in headings[1:]):
        headings = headings[1:]
    return [heading for _, heading in headings]


class TitleArgs(Args):
    contains: str | None = Field(default=None, description="text the title must contain (optional)")


@register
class Title(Checker[TitleArgs]):
    """The text opens with a title line (heading, <<title>>, 《title》, bold or short line)."""

    id = "writing:title"
    Args = TitleArgs

    def describe(self) -> str:
        extra = f' containing "{self.args.contains}"' if self.args.contains else ""
        return f"Give the piece a title{extra} on its first line."

    def measure(self, stats: TextStats) -> Verdict:
        title = title_of(stats.text)
        if title is None:
            return Verdict(False, f"no title line (first line: {first_line(stats.text)[:40]!r})")
        if self.args.contains and self.args.contains.lower() not in title.lower():
            return Verdict(False, f"title {title!r} lacks {self.args.contains!r}")
        return Verdict(True, f"title {title!r}")


@register
class Sections(Checker[RangeArgs]):
    """The number of sections (heading lines) is in a range."""

    id = "writing:sections"
    Args = RangeArgs

    def describe(self) -> str:
        return f"Organise the text in {self.args.phrase('sections')}, each under its own heading."

    def measure(self, stats: TextStats) -> Verdict:
        found = len(section_headings(stats.text))
        return Verdict(self.args.accepts(found), f"found {found} section headings")


Name = Annotated[str, AfterValidator(_nonblank)]


class SectionNamesArgs(Args):
    names: list[Name] = Field(min_length=1, description="section names that must appear as headings")
    ordered: bool = Field(default=False, description="the sections must appear in this order")


@register
class SectionNames(Checker[SectionNamesArgs]):
    """Named sections appear as headings (optionally in order)."""

    id = "writing:section_names"
    Args = SectionNamesArgs

    def describe(self) -> str:
        order = ", in this order" if self.args.ordered else ""
        return f"Include sections titled: {', '.join(self.args.names)}{order}."

    def measure(self, stats: TextStats) -> Verdict:
        headings = [h.lower() for h in section_headings(stats.text)]
        positions = []
        missing = []
        for name in self.args.names:
            index = next((i for i, h in enumerate(headings) if name.lower() in h), None)
            if index is None:
                missing.append(name)
            else:
                positions.append(index)
        if missing:
            return Verdict(False, f"no heading for: {', '.join(missing)}")
        if self.args.ordered and positions != sorted(positions):
            return Verdict(False, "sections out of order")
        return Verdict(True, "all sections present")


_BULLET = re.compile(r"^\s*[-*+•·▪●◦]\s+\S", re.MULTILINE)
_NUMBERED = re.compile(r"^\s*(?:\d+[.)、]|[(（]\d+[)）])\s*\S", re.MULTILINE)


class NoBulletsArgs(Args):
    allow_numbered: bool = Field(default=True, description="numbered lists (1. 2. 3.) are allowed")


@register
class NoBulletLists(Checker[NoBulletsArgs]):
    """No bullet-point lines (numbered lists allowed unless forbidden)."""

    id = "writing:no_bullet_lists"
    Args = NoBulletsArgs

    def describe(self) -> str:
        extra = "" if self.args.allow_numbered else " or numbered lists"
        return f"Write in continuous prose: no bullet points{extra}."

    def measure(self, stats: TextStats) -> Verdict:
        bullets = len(_BULLET.findall(stats.text))
        numbered = 0 if self.args.allow_numbered else len(_NUMBERED.findall(stats.text))
        found = bullets + numbered
        return Verdict(found == 0, f"found {found} list items" if found else "no list items")
