"""Import third-party rubrics: WritingBench (v1 `criteria`, v2 `checklist`) and HelloBench checklists."""

from __future__ import annotations

import re
from typing import Any

from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level, Provenance, slugify
from writer_r1.core.errors import UserError

WRITINGBENCH_BANDS = ("1-2", "3-4", "5-6", "7-8", "9-10")
HELLOBENCH_LEVELS = (
    ("0", "No: the text does not meet this at all."),
    ("0.25", "Barely: a small part is met, with major shortcomings."),
    ("0.5", "Partly: about half is met; clear room for improvement."),
    ("0.75", "Mostly: met with minor shortcomings."),
    ("1", "Fully: met completely; no room for improvement."),
)
_CJK = re.compile(r"[\u3400-\u9fff]")


def _language_of(text: str) -> str:
    return "zh" if len(_CJK.findall(text)) > max(20, len(text) // 10) else "en"


def _unique_id(name: str, taken: set[str], fallback: str) -> str:
    base = slugify(name, fallback=fallback)
    candidate, suffix = base, 2
    while candidate in taken:
        candidate, suffix = f"{base}-{suffix}", suffix + 1
    taken.add(candidate)
    return candidate


def criteria_from_writingbench(row: dict[str, Any]) -> CriteriaSet:
    """A WritingBench query's rubric: each criterion keeps its five bands as ordered levels."""
    items = row.get("checklist") if row.get("checklist") is not None else row.get("criteria")
    if not isinstance(items, list) or not items:
        raise UserError("a WritingBench row needs a non-empty 'criteria' (v1) or 'checklist' (v2) list")
    taken: set[str] = set()
    criteria = []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise UserError(f"WritingBench criterion {position} is not an object")
        required = ("name", "criteria_description", *WRITINGBENCH_BANDS)
        missing = [key for key in required if not isinstance(item.get(key), str) or not item[key].strip()]
        if missing:
            raise UserError(f"WritingBench criterion {position} lacks {missing} (each must be a non-empty string)")
        criteria.append(
            Criterion(
                id=_unique_id(item["name"], taken, f"criterion-{position + 1}"),
                name=item["name"],
                description=item["criteria_description"],
                levels=tuple(Level(label=band, anchor=item[band]) for band in WRITINGBENCH_BANDS),
            )
        )
    query = str(row.get("query", ""))
    domain = " / ".join(str(row[k]) for k in ("domain1", "domain2") if row.get(k)) or "WritingBench"
    return CriteriaSet(
        task=query,
        dimensions=(Dimension(name=domain, description="WritingBench per-query criteria", criteria=tuple(criteria)),),
        language=_language_of(query),
        provenance=Provenance(source=f"writingbench:{row.get('index', '?')}", notes=("imported",)),
    )


def criteria_from_hellobench(row: dict[str, Any]) -> CriteriaSet:
    """A HelloBench prompt's checklist: each question judged on the five scores HelloBench uses (0 … 1)."""
    questions = row.get("checklists")
    if not isinstance(questions, list) or not questions:
        raise UserError("a HelloBench row needs a non-empty 'checklists' list")
    taken: set[str] = set()
    criteria = []
    for position, question in enumerate(questions):
        if not isinstance(question, str) or not question.strip():
            raise UserError(f"HelloBench checklist item {position} is not a question")
        words = re.findall(r"[A-Za-z]+", question)[:6]
        criteria.append(
            Criterion(
                id=_unique_id(f"checklist {position + 1} " + " ".join(words[2:5]), taken, f"checklist-{position + 1}"),
                name=f"Checklist {position + 1}",
                description=question.strip(),
                levels=tuple(Level(label=label, anchor=anchor) for label, anchor in HELLOBENCH_LEVELS),
            )
        )
    category = str(row.get("category", "HelloBench"))
    instruction = str(row.get("instruction", ""))
    return CriteriaSet(
        task=instruction,
        dimensions=(Dimension(name=category, description="HelloBench checklist", criteria=tuple(criteria)),),
        language=_language_of(instruction),
        provenance=Provenance(source=f"hellobench:{row.get('id', '?')}", notes=("imported",)),
    )
