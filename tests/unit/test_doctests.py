"""Every docstring example in the package runs and prints what it shows (the README promises runnable examples).

Modules are walked through `writer_r1`'s own import path, so each example runs against the module object that
users import (not a second copy imported by file path). Modules whose optional extra is missing are skipped
with the reason; tests and benchmarks are not part of the public docs.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import writer_r1

_SKIPPED_PREFIXES = ("writer_r1.tests", "writer_r1.bench", "writer_r1.examples")
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _module_names() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(writer_r1.__path__, "writer_r1.")
        if not info.name.startswith(_SKIPPED_PREFIXES)
    )


@pytest.mark.parametrize("module_name", _module_names())
def test_docstring_examples_run(module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:  # an optional extra (torch, vllm, psycopg, ...) that this install lacks
        pytest.skip(f"{module_name} needs an optional extra: {error}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    for test in finder.find(module, module_name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {module_name}"


def test_the_package_has_docstring_examples() -> None:
    """Guards the walk itself: a broken walk that finds nothing would pass every test above."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    examples = sum(
        len(test.examples)
        for name in ("writer_r1.agents.judge", "writer_r1.rl.rlmr")
        for test in finder.find(importlib.import_module(name), name)
    )
    assert examples >= 3
