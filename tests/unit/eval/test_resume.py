"""A killed evaluation loses nothing: the re-run asks only for what was not finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from writer_r1.cli import main as cli_main
from writer_r1.testing import OpenAICompatServer


def first_shown(request: dict) -> str:
    return json.dumps({"reason": "First.", "winner": "A"})


def test_a_killed_pairwise_run_resumes_without_redoing_finished_judgements(tmp_path: Path, capsys):
    prompts = [f"Write a line about topic {i}." for i in range(16)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
    (tmp_path / "b.jsonl").write_text("".join(json.dumps({"prompt": p, "response": "B text"}) + "\n" for p in prompts))
    out = tmp_path / "out"
    with OpenAICompatServer(responder=first_shown, latency_s=0.3, capacity=2) as judge:
        args = [
            "eval",
            "pairwise",
            "--prompts",
            str(tmp_path / "p.jsonl"),
            "--a",
            "fake:writer",
            "--b",
            str(tmp_path / "b.jsonl"),
            "--judge",
            "openai:j",
            "--judge-base-url",
            judge.base_url,
            "--output-dir",
            str(out),
            "--concurrency",
            "2",
            "--quiet",
            "--json",
        ]
        code = "import sys; from writer_r1.cli import main; main(sys.argv[1:])"
        process = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        log = out / "judgements.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not log.is_file() or len(log.read_text().splitlines()) < 3):
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        finished = len(log.read_text().splitlines())
        assert 3 <= finished < 16
        generated = len((out / "responses_a.jsonl").read_text().splitlines())
        before = len(judge.requests)
        try:
            cli_main(args)
        except SystemExit as done:
            assert not done.code
        summary = json.loads(capsys.readouterr().out)
        assert summary["n"] == 16 and summary["win_rate"] == 0.5
        # Finished prompts are not judged again (at most the orders cached in judge_cache.sqlite are saved too).
        assert len(judge.requests) - before <= 2 * (16 - finished)
    rows = [json.loads(line) for line in (out / "responses_a.jsonl").read_text().splitlines()]
    assert len({r["id"] for r in rows}) == 16 and len(rows) == 16 and generated <= 16  # no prompt generated twice


def test_bad_ifeval_input_data_names_file_line_and_key(tmp_path: Path, capsys):
    data = tmp_path / "input.jsonl"
    data.write_text(
        '{"key": 1, "prompt": "Hi", "instruction_id_list": [], "kwargs": []}\n'
        '{"key": 2, "prompt": "Hi again", "kwargs": []}\n'
    )
    try:
        cli_main(["eval", "ifeval", "--model", "fake", "--input-data", str(data), "--output-dir", str(tmp_path / "o")])
    except SystemExit as done:
        assert done.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{data}: line 2: missing key 'instruction_id_list'" in err
    assert not (tmp_path / "o").exists()


def test_progress_goes_to_stderr_with_counts(tmp_path: Path, capsys):
    try:
        cli_main(["eval", "ifeval", "--model", "fake", "--limit", "3", "--output-dir", str(tmp_path), "--json"])
    except SystemExit as done:
        assert not done.code
    captured = capsys.readouterr()
    assert json.loads(captured.out)["prompts"] == 3  # stdout holds only the summary
    assert "generate" in captured.err and "3/3" in captured.err and "eta" in captured.err


def test_a_bad_model_spec_is_one_error_before_anything_is_written(tmp_path: Path, capsys):
    try:
        cli_main(["eval", "ifeval", "--model", "nosuchprovider", "--output-dir", str(tmp_path / "o")])
    except SystemExit as done:
        assert done.code == 2
    assert "unknown model spec" in capsys.readouterr().err and not (tmp_path / "o").exists()
