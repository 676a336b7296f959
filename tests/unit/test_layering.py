"""Dependencies run one way (DESIGN.md, Layout): checked on the source with `ast`, function-level imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package → the packages of ours it must never import (at module level or inside a function).
FORBIDDEN = {
    "memory": ("graphs", "agents", "rl", "eval", "cli"),
    "core": ("prompts", "constraints", "agents", "memory", "graphs", "rl", "eval", "cli"),
}


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every module a file imports, absolute, with its line (relative imports resolved against the package)."""
    package = ["writer_r1", *path.relative_to(root).parent.parts]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def violations(package: str, root: Path = ROOT) -> list[str]:
    banned = tuple(f"writer_r1.{name}" for name in FORBIDDEN[package])
    problems = []
    for path in sorted((root / package).rglob("*.py")):
        for line, module in imported_modules(path, root):
            if any(module == b or module.startswith(b + ".") for b in banned):
                problems.append(f"{path.relative_to(root)}:{line} imports {module}")
    return problems


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_lower_layers(package: str) -> None:
    assert violations(package) == []


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "bad.py").write_text(
        "def f():\n    from writer_r1.graphs.criteria import build_criteria\n    from ..agents import inducer\n"
    )
    found = violations("memory", tmp_path)
    assert found == [
        "memory/bad.py:2 imports writer_r1.graphs.criteria",
        "memory/bad.py:2 imports writer_r1.graphs.criteria.build_criteria",
        "memory/bad.py:3 imports writer_r1.agents",
        "memory/bad.py:3 imports writer_r1.agents.inducer",
    ]


def test_criteria_for_is_public_from_the_top_level() -> None:
    import writer_r1
    from writer_r1.graphs import library_reuse

    assert writer_r1.criteria_for is library_reuse.criteria_for
    assert writer_r1.acriteria_for is library_reuse.acriteria_for
