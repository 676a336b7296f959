"""Our IFEval verdicts against the official checker's, on all 541 GPT-4 responses, both modes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner
from writer_r1.constraints.commands import app
from writer_r1.constraints.ifeval import accuracies, evaluate, write_official_results
from writer_r1.constraints.text import clear_cache


@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_verdicts_identical_to_official_on_every_stable_instruction(ifeval_data, mode):
    inputs, responses, labels = ifeval_data
    clear_cache()
    results = evaluate(inputs, responses, mode)
    assert len(results) == 541
    mismatches = []
    checked = 0
    for row, result in zip(inputs, results, strict=True):
        label = labels[row.key]
        unstable = set(label[f"{mode}_unstable_idx"])
        for index, (ours, official) in enumerate(
            zip(result.follow_instruction_list, label[f"{mode}_seed0"], strict=True)
        ):
            if index in unstable:
                continue
            checked += 1
            if ours != official:
                mismatches.append((row.key, row.instruction_id_list[index], ours, official))
    assert checked >= 830
    assert mismatches == []


def test_accuracies_match_the_reference_figures(ifeval_data):
    inputs, responses, _ = ifeval_data
    figures = accuracies(evaluate(inputs, responses, "strict"), evaluate(inputs, responses, "loose"))
    assert figures.counts == {
        "prompt_level_strict": 417,
        "instruction_level_strict": 698,
        "prompt_level_loose": 431,
        "instruction_level_loose": 714,
    }
    assert figures.prompts == 541 and figures.instructions == 834
    assert figures.prompt_level_strict == pytest.approx(417 / 541)


def _check_official_files(directory, inputs):
    for mode in ("strict", "loose"):
        lines = (directory / f"eval_results_{mode}.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(inputs)
        first = json.loads(lines[0])
        assert list(first) == [
            "follow_all_instructions",
            "follow_instruction_list",
            "instruction_id_list",
            "prompt",
            "response",
        ]
        assert first["prompt"] == inputs[0].prompt
        assert first["follow_all_instructions"] == all(first["follow_instruction_list"])


def test_official_format_files(ifeval_data, tmp_path):
    inputs, responses, _ = ifeval_data
    figures = write_official_results(inputs[:30], responses, tmp_path)
    assert figures.prompts == 30
    _check_official_files(tmp_path, inputs[:30])


def test_cli_ifeval_command_writes_official_files(tmp_path):
    rows = [
        {"key": 1, "prompt": "Say hi. No commas.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
        {
            "key": 2,
            "prompt": "Three sentences in lowercase.",
            "instruction_id_list": ["length_constraints:number_sentences", "change_case:english_lowercase"],
            "kwargs": [{"relation": "at least", "num_sentences": 3}, {}],
        },
    ]
    answers = [
        {"prompt": rows[0]["prompt"], "response": "Hi, there"},
        {"prompt": rows[1]["prompt"], "response": "the sea is calm. the boats are home. the night is long."},
    ]
    input_file = tmp_path / "input.jsonl"
    input_file.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    response_file = tmp_path / "responses.jsonl"
    response_file.write_text("\n".join(json.dumps(a) for a in answers) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["ifeval", "--input-data", str(input_file), "--responses", str(response_file), "--output-dir", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "prompt level strict" in result.output
    strict = [json.loads(line) for line in (out / "eval_results_strict.jsonl").read_text().splitlines()]
    assert [r["follow_instruction_list"] for r in strict] == [[False], [True, True]]
    loose = [json.loads(line) for line in (out / "eval_results_loose.jsonl").read_text().splitlines()]
    assert [r["follow_all_instructions"] for r in loose] == [False, True]


def test_cli_ifeval_missing_file_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(
        app, ["ifeval", "--input-data", str(tmp_path / "nope.jsonl"), "--responses", "x", "--output-dir", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "no such file" in result.output
