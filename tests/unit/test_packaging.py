"""The package layout: `writer_r1.*` imports from anywhere, top-level folder names do not, nothing heavy at import."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_import_is_light_and_works_from_anywhere(tmp_path: Path) -> None:
    code = (
        "import sys, writer_r1, writer_r1.graphs, writer_r1.core, writer_r1.agents, writer_r1.rl;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'transformers', 'trl', 'openai'}))"
    )
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["agents", "rl", "graphs", "core", "prompts", "constraints", "memory"])
def test_folder_names_are_not_top_level_modules(tmp_path: Path, name: str) -> None:
    result = _run(f"import {name}", tmp_path)
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        "writer_r1" + ("." + ".".join(p.parent.relative_to(REPO).parts) if p.parent != REPO else "")
        for p in REPO.rglob("__init__.py")
        if not any(part.startswith(".") or part in {"tests", "bench", "build"} for part in p.relative_to(REPO).parts)
    }
    assert found == listed


def test_public_names_resolve() -> None:
    import writer_r1

    for name in writer_r1.__all__:
        assert getattr(writer_r1, name) is not None, name


@pytest.mark.parametrize("package", ["writer_r1.agents", "writer_r1.memory", "writer_r1.graphs"])
def test_subpackages_re_export_their_public_names(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    assert module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"


def test_the_issue_s_imports_work() -> None:
    from writer_r1 import ConstraintReport, ReflectionResult, acriteria_for, astream_criteria  # noqa: F401
    from writer_r1.agents import Judge  # noqa: F401
    from writer_r1.graphs import build_criteria, reflect  # noqa: F401
    from writer_r1.memory import CriteriaLibrary, ExperienceMemory  # noqa: F401


@pytest.mark.parametrize("init", ["__init__.py", "agents/__init__.py", "memory/__init__.py", "graphs/__init__.py"])
def test_type_checkers_see_every_lazy_name(init: str) -> None:
    """The lazy `__getattr__` hides names from type checkers; the TYPE_CHECKING block must import each one."""
    import ast

    tree = ast.parse((REPO / init).read_text(encoding="utf-8"))
    exports: set[str] = set()
    seen: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_EXPORTS" for t in node.targets):
            exports = {key.value for key in node.value.keys}  # type: ignore[union-attr]
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for imported in node.body:
                seen.update(alias.asname or alias.name for alias in imported.names)  # type: ignore[attr-defined]
    assert exports and exports <= seen, sorted(exports - seen)


def test_the_package_is_typed() -> None:
    assert (REPO / "py.typed").is_file()
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "py.typed" in data["writer_r1"]
