"""Find JSON objects in free text: the first *balanced* object that has the expected keys.

Models wrap JSON in prose and code fences, echo format examples, and add zero-width
characters; a scan for "the first number" or "the first brace" gets those wrong.

The scan is one pass over the text with an explicit stack (no recursion), linear in the text's
length, and it never raises: a reply nested 1,000 deep or a megabyte of `{` is simply a reply
without a usable object. Nesting deeper than `MAX_DEPTH` is not decoded (a verdict is 2 or 3 deep),
and callers cap the length of what they scan (`MAX_REPLY_CHARS`).

Example:
    >>> list(iter_json_objects("{" * 100_000 + '{"a": 1}'))
    [{'a': 1}]
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from typing import Any

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")

MAX_DEPTH = 32
"""Objects nested deeper than this are not decoded (their shallower inner objects still are)."""

MAX_REPLY_CHARS = 262_144
"""The longest reply a judge or a structured call scans; a longer one is rejected, not scanned."""

# Outside a string: the characters that open or close a value, or open a string.
_STRUCTURE = re.compile(r'[{}\[\]"]')
# Inside a string: the characters that end it or escape the next one.
_IN_STRING = re.compile(r'["\\]')


def strip_invisible(text: str) -> str:
    """Remove zero-width and soft-hyphen characters that break JSON parsing."""
    return _INVISIBLE.sub("", text)


_DECODER = json.JSONDecoder(strict=False)  # control characters inside strings (small models write them) are kept


# A balanced region, as a list for speed: [start, kind ("{" or "["), end, depth, children].
_START, _KIND, _END, _DEPTH, _CHILDREN = range(5)


def _balanced_spans(text: str) -> list[list[Any]]:
    """The outermost balanced regions of `text`, in order, each with its balanced children.

    A `{` or `[` that never closes is dropped and what it held is promoted, so prose such as
    "a { b" before the JSON does not hide it. Quotes count only inside a region (prose quotes do not
    pair up). At most `MAX_DEPTH + 1` regions are open at once: opening one more forgets the
    outermost (it could only close as too deep to decode), so memory stays bounded.
    """
    roots: list[list[Any]] = []
    stack: deque[list[Any]] = deque()
    position = 0
    length = len(text)
    structure, in_string = _STRUCTURE.search, _IN_STRING.search
    while position < length:
        match = structure(text, position)
        if match is None:
            break
        char = match.group()
        position = match.end()
        if char == '"':
            if not stack:
                continue
            while True:  # skip the string: linear, since every step moves forward
                inner = in_string(text, position)
                if inner is None:
                    position = length
                    break
                position = inner.end()
                if inner.group() == '"':
                    break
                position += 1  # the escaped character
        elif char == "{" or char == "[":
            if len(stack) > MAX_DEPTH:
                roots.extend(stack.popleft()[_CHILDREN])  # they start after every root so far
            stack.append([match.start(), char, -1, 1, []])
        elif stack and stack[-1][_KIND] == ("{" if char == "}" else "["):
            span = stack.pop()
            span[_END] = position
            if stack:
                parent = stack[-1]
                parent[_CHILDREN].append(span)
                if span[_DEPTH] >= parent[_DEPTH]:
                    parent[_DEPTH] = span[_DEPTH] + 1
            else:
                roots.append(span)
        # else: a stray or mismatched closer; the region it would close cannot decode anyway
    while stack:  # regions left open: what they held is still a candidate (it all starts after their siblings)
        span = stack.pop()
        (stack[-1][_CHILDREN] if stack else roots).extend(span[_CHILDREN])
    return roots


def iter_json_objects(text: str, decoder: json.JSONDecoder = _DECODER) -> Iterator[dict[str, Any]]:
    """Yield every balanced top-level JSON object in `text`, in order; never raises.

    A region that does not decode as a whole is searched for objects inside it. Pass a `decoder`
    with an `object_pairs_hook` to see what plain dicts hide (duplicate keys).

    >>> list(iter_json_objects('noise {"a": 1} more {"b": {"c": "}"}}'))
    [{'a': 1}, {'b': {'c': '}'}}]
    >>> list(iter_json_objects('[' * 5000 + '{"deep": true}'))
    [{'deep': True}]
    """
    text = strip_invisible(text)
    pending = list(reversed(_balanced_spans(text)))
    while pending:
        span = pending.pop()
        value: Any = None
        if span[_KIND] == "{" and span[_DEPTH] <= MAX_DEPTH:
            try:
                value, end = decoder.raw_decode(text, span[_START])
            except (ValueError, RecursionError):
                value = None
            else:
                if end != span[_END]:
                    value = None
        if isinstance(value, dict):
            yield value
        else:
            pending.extend(reversed(span[_CHILDREN]))


def find_json_object(text: str, required_keys: set[str] | frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """The first balanced JSON object holding all `required_keys` (any object when none are given).

    >>> find_json_object('Example: {"x": 0}. Answer: {"level": 3, "reason": "ok"}', {"level"})
    {'level': 3, 'reason': 'ok'}
    """
    for candidate in iter_json_objects(text):
        if required_keys <= candidate.keys():
            return candidate
    return None
