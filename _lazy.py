"""Lazy re-exports for the package's `__init__` modules: a name is imported from its module on first use.

Keeps `import writer_r1` (and each subpackage) free of heavy imports such as torch or LangGraph's graphs, while
`from writer_r1.rl import MixedReward` still works; type checkers see the names through each `__init__`'s
`TYPE_CHECKING` block.

Example:
    >>> namespace: dict = {}
    >>> getattr_, dir_ = lazy_exports("demo", {"dedent": "textwrap"}, namespace)
    >>> getattr_("dedent")("  x")
    'x'
    >>> "dedent" in namespace, dir_()
    (True, ['dedent'])
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any], public: list[str] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module `__getattr__` and `__dir__` that import `exports[name]`'s `name` on first use and keep it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*(public if public is not None else exports), *(n for n in namespace if not n.startswith("_"))})

    return __getattr__, __dir__
