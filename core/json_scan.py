"""Find JSON objects in free text: the first *balanced* object that has the expected keys.

Models wrap JSON in prose and code fences, echo format examples, and add zero-width
characters; a scan for "the first number" or "the first brace" gets those wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def strip_invisible(text: str) -> str:
    """Remove zero-width and soft-hyphen characters that break JSON parsing."""
    return _INVISIBLE.sub("", text)


_DECODER = json.JSONDecoder(strict=False)  # control characters inside strings (small models write them) are kept


def iter_json_objects(text: str, decoder: json.JSONDecoder = _DECODER) -> Iterator[dict[str, Any]]:
    """Yield every balanced top-level JSON object in `text`, in order.

    Pass a `decoder` with an `object_pairs_hook` to see what plain dicts hide (duplicate keys).

    >>> list(iter_json_objects('noise {"a": 1} more {"b": {"c": "}"}}'))
    [{'a': 1}, {'b': {'c': '}'}}]
    """
    text = strip_invisible(text)
    position = text.find("{")
    while position != -1:
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            yield value
            position = text.find("{", end)
        else:
            position = text.find("{", position + 1)


def find_json_object(text: str, required_keys: set[str] | frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """The first balanced JSON object holding all `required_keys` (any object when none are given).

    >>> find_json_object('Example: {"x": 0}. Answer: {"level": 3, "reason": "ok"}', {"level"})
    {'level': 3, 'reason': 'ok'}
    """
    for candidate in iter_json_objects(text):
        if required_keys <= candidate.keys():
            return candidate
    return None
