"""Prompt templates: one Jinja2 file per role, rendered with `StrictUndefined`.

A template can be overridden by passing a path, or for every role at once by a directory in
`WRITER_R1_PROMPTS_DIR` holding files of the same names.

Example:
    >>> fenced, delimiter = fence("a text with <<<TEXT>>> inside")
    >>> delimiter in "a text with <<<TEXT>>> inside"
    False
"""

from __future__ import annotations

import hashlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

import jinja2

# abspath, not resolve(): no readlink, which `langgraph dev` flags as a blocking call when a node imports this lazily.
TEMPLATE_DIR = Path(os.path.abspath(__file__)).parent


@lru_cache(maxsize=8)
def _environment(directory: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # noqa: S701 - prompts are plain text, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template_path(name: str, override: str | os.PathLike[str] | None = None) -> Path:
    """Where the template for `name` is read from: the override, the prompts directory, or ours."""
    if override is not None:
        return Path(override)
    custom = os.environ.get("WRITER_R1_PROMPTS_DIR")
    if custom and (Path(custom) / f"{name}.j2").is_file():
        return Path(custom) / f"{name}.j2"
    return TEMPLATE_DIR / f"{name}.j2"


def render(name: str, *, template: str | os.PathLike[str] | None = None, **variables: object) -> str:
    """Render the role template `name` (e.g. "judge") with `variables`; a missing variable is an error.

    `language` (a label such as "Chinese (zh)", see `prompts.language`) defaults to None: English, unsaid.
    """
    variables.setdefault("language", None)
    path = template_path(name, template)
    if not path.is_file():
        raise FileNotFoundError(f"no prompt template {path}")
    return _environment(str(path.parent)).get_template(path.name).render(**variables).strip()


def template_version(name: str, template: str | os.PathLike[str] | None = None) -> str:
    """A hash of the template's text, so caches notice when a prompt changes."""
    return hashlib.sha256(template_path(name, template).read_bytes()).hexdigest()[:12]


def make_delimiter(*texts: str, stem: str = "TEXT") -> str:
    """A fence marker that occurs in none of `texts` (deterministic when possible, for caching)."""
    joined = "\n".join(texts)
    for candidate in (f"<<<{stem}>>>", f"<<<{stem}-{hashlib.sha256(joined.encode()).hexdigest()[:8]}>>>"):
        if candidate not in joined:
            return candidate
    while True:  # pragma: no cover - a text that contains its own hash
        candidate = f"<<<{stem}-{secrets.token_hex(8)}>>>"
        if candidate not in joined:
            return candidate


def fence(text: str, stem: str = "TEXT") -> tuple[str, str]:
    """Wrap untrusted text between delimiter lines that do not occur in it; returns (fenced, delimiter)."""
    delimiter = make_delimiter(text, stem=stem)
    return f"{delimiter}\n{text}\n{delimiter}", delimiter
