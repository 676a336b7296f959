"""Which language a task is written in, so every role can answer in it.

Short Latin-script tasks are too short for n-gram detection to be trusted ("A haiku about autumn"), so
they count as English unless they carry letters English does not use; a task in another script is
detected (langdetect's profiles, `constraints.langid`).

Example:
    >>> task_language("写一篇关于秋天的散文，不少于800字。")
    'zh'
    >>> task_language("A haiku about autumn")
    'en'
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_MIN_WORDS_TO_DETECT = 8


def task_language(text: str, default: str = "en") -> str:
    """The ISO 639-1 code of `text`'s language (primary subtag), `default` when it cannot tell."""
    from writer_r1.constraints.text import detect_language, has_cjk
    from writer_r1.prompts.language import primary_code

    text = text.strip()
    if not text:
        return default
    letters = [c for c in text if c.isalpha()]
    latin = all(c.isascii() or "LATIN" in unicodedata.name(c, "") for c in letters)
    if latin and not has_cjk(text):
        if all(c.isascii() for c in letters) and len(re.findall(r"\w+", text)) < _MIN_WORDS_TO_DETECT:
            return default
    code = detect_language(text)
    return primary_code(code) or default if code and code != "unknown" else default


@lru_cache(maxsize=1024)
def task_language_label(task: str) -> str | None:
    """The label templates take for `task`'s language ("Chinese (zh)"), None for English (cached, bounded)."""
    from writer_r1.prompts.language import language_label

    return language_label(task_language(task)) if task.strip() else None


def language_for(code: str | None, task: str) -> str | None:
    """The template label for an agent's `language` setting: the given code, else the task's language."""
    from writer_r1.prompts.language import language_label

    return language_label(code) if code is not None else task_language_label(task)
