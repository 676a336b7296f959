"""`writer-r1 data prepare`: prompts → GRPO rows (prompt, criteria JSON, constraints JSON) the rewards accept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from writer_r1.core.criteria import CriteriaSet
from writer_r1.rl.rewards import ConstraintReward, CriteriaReward

CRITERIA = CriteriaSet.model_validate(
    {
        "task": "Short prose",
        "dimensions": [
            {
                "name": "Craft",
                "criteria": [
                    {
                        "id": "imagery",
                        "name": "Imagery",
                        "description": "Concrete images",
                        "levels": [{"anchor": "none"}, {"anchor": "vivid"}],
                    },
                ],
            }
        ],
    }
)


def run_cli(args: list[str]) -> None:
    from writer_r1.cli import main

    main(args)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def criteria_file(tmp_path: Path) -> Path:
    path = tmp_path / "criteria.json"
    path.write_text(CRITERIA.model_dump_json())
    return path


def test_plain_text_prompts_with_one_criteria_file(tmp_path: Path, criteria_file: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(
        "Describe a harbour at dawn. Do not use bullet points.\n\nWrite about rain in the first person.\n"
    )
    out = tmp_path / "data" / "grpo.jsonl"
    run_cli(["data", "prepare", "--prompts", str(prompts), "--criteria", str(criteria_file), "--out", str(out)])
    written = rows(out)
    assert [row["prompt"][0]["content"] for row in written] == [
        "Describe a harbour at dawn. Do not use bullet points.",
        "Write about rain in the first person.",
    ]
    assert all(CriteriaSet.model_validate_json(row["criteria"]) == CRITERIA for row in written)
    assert [spec["id"] for spec in json.loads(written[0]["constraints"])] == ["writing:no_bullet_lists"]
    reward = ConstraintReward()
    assert reward.score([written[0]["prompt"]], ["- a\n- b"], constraints=[written[0]["constraints"]]) == [0.0]
    assert CriteriaReward(judge_model="fake").criteria_of(written[1]["criteria"]) == CRITERIA


def test_jsonl_prompts_in_standard_format_with_the_llm_extractor(tmp_path: Path, criteria_file: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"prompt": "Write a scene without commas.", "id": 3}) + "\n")
    out = tmp_path / "grpo.jsonl"
    run_cli(
        [
            "data",
            "prepare",
            "--prompts",
            str(prompts),
            "--criteria",
            str(criteria_file),
            "--out",
            str(out),
            "--standard",
            "--model",
            "fake",
        ]
    )
    [row] = rows(out)
    assert row["prompt"] == "Write a scene without commas."
    ConstraintReward().parse_column(row["constraints"])  # every extracted constraint is a valid registry check


def test_criteria_built_per_prompt_and_stored_in_the_library(tmp_path: Path, monkeypatch) -> None:
    from writer_r1.memory import library as library_module
    from writer_r1.memory.embeddings import LexicalEmbeddings

    monkeypatch.setattr(library_module, "default_embeddings", LexicalEmbeddings)  # no sentence model to load
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("A haiku about autumn\n")
    out, library = tmp_path / "grpo.jsonl", tmp_path / "library.sqlite"
    run_cli(
        [
            "data",
            "prepare",
            "--prompts",
            str(prompts),
            "--build-criteria",
            "--model",
            "fake",
            "--library",
            str(library),
            "--out",
            str(out),
        ]
    )
    [row] = rows(out)
    assert CriteriaSet.model_validate_json(row["criteria"]).criteria
    assert library.is_file()


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ('{"text": "no prompt key"}\n', ["--criteria", "CRITERIA"], "prompt"),
        ("not json\n", ["--criteria", "CRITERIA"], "prompt"),
        ("\n\n", ["--criteria", "CRITERIA"], "no prompts"),
        ('{"prompt": "ok"}\n', [], "exactly one"),
        ('{"prompt": "ok"}\n', ["--criteria", "CRITERIA", "--build-criteria"], "exactly one"),
        ('{"prompt": "ok"}\n', ["--criteria", "MISSING"], "no criteria file"),
        ('{"prompt": "ok"}\n', ["--criteria", "BROKEN"], "not a valid criteria set"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, criteria_file: Path, capsys, content, extra, message) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(content)
    broken = tmp_path / "broken.json"
    broken.write_text('{"dimensions": []}')
    paths = {"CRITERIA": str(criteria_file), "MISSING": str(tmp_path / "absent.json"), "BROKEN": str(broken)}
    args = [paths.get(arg, arg) for arg in extra]
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["data", "prepare", "--prompts", str(prompts), "--out", str(tmp_path / "o.jsonl"), *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()
