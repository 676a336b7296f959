"""Provenance decides reuse: fake-built criteria are never reused by a real run; the decision is reported."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from writer_r1.core.criteria import CriteriaSet
from writer_r1.graphs.library_reuse import acriteria_for, aresolve_criteria, is_fake_model
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.library import CriteriaLibrary

TASK = "Write a short story about a lighthouse keeper"
QUICK = {"max_rounds": 0, "max_critique_rounds": 0, "min_samples": 1}


def criteria_set(task: str, model: str | None) -> CriteriaSet:
    return CriteriaSet.model_validate(
        {
            "task": task,
            "dimensions": [
                {
                    "name": "Craft",
                    "criteria": [
                        {
                            "id": "imagery",
                            "name": "Imagery",
                            "description": "Concrete images",
                            "levels": [{"anchor": "flat"}, {"anchor": "vivid"}],
                        }
                    ],
                }
            ],
            "provenance": {"source": "grounded-theory", "model": model},
        }
    )


@pytest.fixture
def library() -> CriteriaLibrary:
    return CriteriaLibrary(":memory:", embeddings=LexicalEmbeddings())


async def test_a_fake_built_set_is_not_reused_by_a_real_run(library: CriteriaLibrary, make_scripted, caplog) -> None:
    fake_set = criteria_set(TASK, "fake")
    library.put(fake_set)
    model, script = make_scripted()
    caplog.set_level(logging.INFO, logger="writer_r1.graphs.library_reuse")
    choice = await aresolve_criteria(TASK, library=library, model=model, **QUICK)
    assert choice.action == "built" and choice.criteria != fake_set
    assert script.counts["inducer"] == 1  # built from scratch, not adapted from the fake set
    assert choice.criteria.provenance.model == "ScriptedChatModel"
    assert any("built by the fake model" in note for note in choice.skipped)
    assert any("not reused by a real run" in r.getMessage() for r in caplog.records)
    # The real set is stored beside the fake one; the next real run reuses it, a fake run may reuse either.
    again = await aresolve_criteria(TASK, library=library, model=model, **QUICK)
    assert again.action == "reused" and again.criteria == choice.criteria and again.source_model == "ScriptedChatModel"
    assert script.counts["inducer"] == 1


async def test_a_fake_run_reuses_a_fake_set_and_says_so(library: CriteriaLibrary, caplog) -> None:
    stored = criteria_set(TASK, "fake")
    library.put(stored)
    caplog.set_level(logging.INFO, logger="writer_r1.graphs.library_reuse")
    choice = await aresolve_criteria(TASK, library=library, model="fake", **QUICK)
    assert choice.action == "reused" and choice.criteria == stored
    assert (choice.similarity, choice.source_model, choice.source_version) == (1.0, "fake", stored.version)
    message = next(r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    assert stored.version in message and "similarity 1.00" in message and "built by fake" in message


async def test_a_real_set_is_reused_by_a_real_run_without_model_calls(library: CriteriaLibrary, make_scripted) -> None:
    stored = criteria_set(TASK, "openai:qwen3")
    library.put(stored)
    model, script = make_scripted()
    assert await acriteria_for(TASK, library=library, model=model) == stored
    assert sum(script.counts.values()) == 0


async def test_a_fake_set_is_not_adapted_for_a_real_run(library: CriteriaLibrary, make_scripted) -> None:
    library.put(criteria_set(TASK, "fake"))
    model, script = make_scripted()
    similar = "Write a short story about a lighthouse keeper's daughter"
    choice = await aresolve_criteria(similar, library=library, model=model, similarity_threshold=0.5, **QUICK)
    assert choice.action == "built"
    assert not any("similar task" in prompt for prompt in script.prompts["inducer"])


async def test_library_none_skips_the_library(library: CriteriaLibrary) -> None:
    choice = await aresolve_criteria(TASK, library=None, model="fake", **QUICK)
    assert choice.action == "built"
    assert library.search(TASK) == []  # nothing looked up, nothing stored anywhere we can see
    home = CriteriaLibrary(embeddings=LexicalEmbeddings())  # the default library ($WRITER_R1_HOME in tests)
    assert home.search(TASK) == []


def test_is_fake_model() -> None:
    assert is_fake_model("fake") and is_fake_model("fake:3") and is_fake_model("FakeChatModel")
    assert not is_fake_model("openai:fake-news-detector") and not is_fake_model(None)


def test_the_cli_reports_reuse_on_stderr_and_no_library_skips_it(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner
    from writer_r1.cli import _register, app

    monkeypatch.setenv("WRITER_R1_HOME", str(tmp_path / "home"))
    _register()
    runner = CliRunner()
    args = ["reflect", "--task", "A haiku about frost", "--model", "fake", "--max-iterations", "0"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "criteria library: built criteria" in first.stderr
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    report = " ".join(second.stderr.split())  # rich wraps long lines
    assert "criteria library: reusing stored criteria" in report
    assert "(similarity 1.00, built by fake)" in report
    skipped = runner.invoke(app, [*args, "--no-library"])
    assert skipped.exit_code == 0, skipped.output
    assert "reusing" not in skipped.stderr and "criteria library: built criteria" in skipped.stderr


async def test_the_default_model_counts_as_the_run_model(library: CriteriaLibrary, monkeypatch) -> None:
    library.put(criteria_set(TASK, "fake"))
    monkeypatch.setenv("WRITER_R1_MODEL", "fake")  # model=None: the default model, which is fake here
    assert (await aresolve_criteria(TASK, library=library, **QUICK)).action == "reused"
