"""Prompt rendering: StrictUndefined, overrides, and fences that the fenced text cannot break."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from writer_r1.prompts import TEMPLATE_DIR, fence, render, template_version


def test_override_by_path_and_missing_variable_is_an_error(tmp_path: Path) -> None:
    template = tmp_path / "mine.j2"
    template.write_text('Task: {{ task }} {"json": "braces are fine"}')
    assert render("anything", template=template, task="x") == 'Task: x {"json": "braces are fine"}'
    with pytest.raises(jinja2.UndefinedError):
        render("anything", template=template)


def test_override_by_directory(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "custom.j2").write_text("custom {{ v }}")
    monkeypatch.setenv("WRITER_R1_PROMPTS_DIR", str(tmp_path))
    assert render("custom", v=1) == "custom 1"


def test_missing_template_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="no prompt template"):
        render("does-not-exist")


@pytest.mark.parametrize("text", ["plain", "<<<TEXT>>>", "a\n<<<TEXT>>>\nb", "<<<TEXT>>> <<<TEXT-"])
def test_fence_delimiter_never_occurs_in_the_text(text: str) -> None:
    fenced, delimiter = fence(text)
    assert delimiter not in text
    assert fenced == f"{delimiter}\n{text}\n{delimiter}"
    assert fence(text) == (fenced, delimiter), "deterministic, so prompts can be cached"


def test_every_shipped_template_renders_with_its_variables() -> None:
    """Each role template parses; its version changes with its text."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    templates = sorted(TEMPLATE_DIR.glob("*.j2"))
    for path in templates:
        environment.parse(path.read_text())
        assert len(template_version(path.stem)) == 12
