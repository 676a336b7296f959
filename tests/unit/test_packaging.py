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
