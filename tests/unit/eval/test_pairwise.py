"""`writer-r1 eval pairwise` against loopback judges with known preferences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from writer_r1.cli import main as cli_main
from writer_r1.eval.pairwise import Judgement, summarize
from writer_r1.testing import OpenAICompatServer

ALPHA, BETA = "(alpha system)", "(beta system)"


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        cli_main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _user(request: dict) -> str:
    """Every user message of the conversation (a retry repeats the question after the first prompt)."""
    return "\n".join(m["content"] for m in request["messages"] if m.get("role") == "user")


def first_shown(request: dict) -> str:
    return json.dumps({"reason": "The first text is better.", "winner": "A"})


def prefers_alpha(request: dict) -> str:
    prompt = _user(request)
    alpha_first = prompt.index(ALPHA) < prompt.index(BETA)
    return json.dumps({"reason": "The alpha text is better.", "winner": "A" if alpha_first else "B"})


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    prompts = [f"Write a two-line poem about topic {i}." for i in range(12)]
    paths = {"prompts": tmp_path / "prompts.jsonl", "alpha": tmp_path / "alpha.jsonl", "beta": tmp_path / "beta.jsonl"}
    paths["prompts"].write_text("".join(json.dumps({"id": f"p{i}", "prompt": p}) + "\n" for i, p in enumerate(prompts)))
    for name, marker, words in (("alpha", ALPHA, 12), ("beta", BETA, 30)):
        paths[name].write_text(
            "".join(
                json.dumps({"prompt": p, "response": f"{marker} " + " ".join(["word"] * words)}) + "\n" for p in prompts
            )
        )
    return paths


def _pairwise(files, server, out: Path, a: str = "alpha", b: str = "beta", extra: tuple[str, ...] = ()) -> list[str]:
    return [
        "eval",
        "pairwise",
        "--prompts",
        str(files["prompts"]),
        "--a",
        str(files[a]),
        "--b",
        str(files[b]),
        "--judge",
        "openai:judge",
        "--judge-base-url",
        server.base_url,
        "--output-dir",
        str(out),
        "--json",
        "--quiet",
        *extra,
    ]


def test_a_judge_that_prefers_the_first_text_gives_half_with_every_verdict_inconsistent(files, tmp_path, capsys):
    with OpenAICompatServer(responder=first_shown) as server:
        code, out, err = _cli(_pairwise(files, server, tmp_path / "out"), capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["win_rate"] == 0.5
    assert (summary["n"], summary["ties"], summary["inconsistent"], summary["wins"], summary["losses"]) == (
        12,
        12,
        12,
        0,
        0,
    )
    assert summary["ci_low"] == summary["ci_high"] == 0.5
    rows = [json.loads(line) for line in (tmp_path / "out" / "judgements.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and all(r["inconsistent"] and r["outcome"] == "tie" for r in rows)
    assert all(v["reason"] == "The first text is better." for r in rows for v in r["verdicts"])


def test_a_judge_that_prefers_a_gives_one_and_zero_with_a_and_b_exchanged(files, tmp_path, capsys):
    with OpenAICompatServer(responder=prefers_alpha) as server:
        code, out, _ = _cli(_pairwise(files, server, tmp_path / "ab"), capsys)
        assert code == 0
        summary = json.loads(out)
        assert (summary["win_rate"], summary["wins"], summary["inconsistent"]) == (1.0, 12, 0)
        # Lengths are reported, and the wins sit in the "A much shorter" bucket (alpha writes 14 words, beta 32).
        assert summary["lengths"]["a"]["mean_words"] == 14 and summary["lengths"]["b"]["mean_words"] == 32
        assert summary["length_buckets"]["A much shorter"] == {"n": 12, "win_rate": 1.0}
        code, out, _ = _cli(_pairwise(files, server, tmp_path / "ba", a="beta", b="alpha"), capsys)
        assert code == 0
        assert (json.loads(out)["win_rate"], json.loads(out)["losses"]) == (0.0, 12)
        # A re-run into the same folder asks the judge nothing.
        calls = len(server.requests)
        code, out, _ = _cli(_pairwise(files, server, tmp_path / "ba", a="beta", b="alpha"), capsys)
        assert code == 0 and json.loads(out)["win_rate"] == 0.0 and len(server.requests) == calls


def test_judge_failures_are_unscored_and_excluded(files, tmp_path, capsys):
    # Every reply about topic 0 is garbage, in both orders and on every retry: that prompt is unscored.
    def responder(request: dict) -> str:
        return "I refuse {not json" if "topic 0." in _user(request) else prefers_alpha(request)

    with OpenAICompatServer(responder=responder) as server:
        code, out, _ = _cli(_pairwise(files, server, tmp_path / "out"), capsys)
    assert code == 1
    summary = json.loads(out)
    assert (summary["n"], summary["unscored"], summary["win_rate"]) == (11, 1, 1.0)
    assert "no valid verdict" in summary["unscored_items"][0]["reason"]


def test_a_model_system_and_a_changed_run_into_the_same_folder(files, tmp_path, capsys):
    with OpenAICompatServer(responder=first_shown) as judge:
        args = [
            "eval",
            "pairwise",
            "--prompts",
            str(files["prompts"]),
            "--a",
            "fake:x",
            "--b",
            str(files["beta"]),
            "--judge",
            "openai:judge",
            "--judge-base-url",
            judge.base_url,
            "--output-dir",
            str(tmp_path / "o"),
            "--json",
            "--quiet",
        ]
        code, out, _ = _cli(args, capsys)
        assert code == 0 and json.loads(out)["n"] == 12
        assert len((tmp_path / "o" / "responses_a.jsonl").read_text().splitlines()) == 12
        args[args.index("fake:x")] = "fake:y"
        code, _, err = _cli(args, capsys)
    assert code == 2 and "other settings" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"prompt": "a"}\n\n{"prompt": "b"}\n', "line 2: blank line"),
        ('{"prompt": "a"}\n{"text": "b"}\n', "line 2: missing key 'prompt'"),
        ('{"prompt": "a"}\n{"prompt": "b"\n', "line 2: not valid JSON"),
    ],
)
def test_bad_prompts_name_file_line_and_key_and_write_nothing(tmp_path, capsys, content, message, files):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    code, _, err = _cli(
        [
            "eval",
            "pairwise",
            "--prompts",
            str(bad),
            "--a",
            str(files["alpha"]),
            "--b",
            str(files["beta"]),
            "--judge",
            "fake",
            "--output-dir",
            str(tmp_path / "never"),
        ],
        capsys,
    )
    assert code == 2
    assert str(bad) in " ".join(err.split()) and message in " ".join(err.split())
    assert not (tmp_path / "never").exists()


def test_responses_that_do_not_cover_the_prompts(tmp_path, capsys, files):
    short = tmp_path / "short.jsonl"
    short.write_text(files["alpha"].read_text().splitlines()[0] + "\n")
    code, _, err = _cli(
        [
            "eval",
            "pairwise",
            "--prompts",
            str(files["prompts"]),
            "--a",
            str(short),
            "--b",
            str(files["beta"]),
            "--judge",
            "fake",
            "--output-dir",
            str(tmp_path / "never"),
        ],
        capsys,
    )
    flat = " ".join(err.split())
    assert code == 2 and "no response for the prompt on line 2" in flat and "11 of 12" in flat
    assert not (tmp_path / "never").exists()


def test_summary_counts_a_tie_as_half_and_a_flip_as_inconsistent():
    rows = [
        Judgement(id="1", prompt="p", outcome="a"),
        Judgement(id="2", prompt="p", outcome="tie", inconsistent=True),
        Judgement(id="3", prompt="p", outcome="b"),
        Judgement(id="4", prompt="p", outcome=None, unscored_reason="x"),
    ]
    summary = summarize(rows, a="A", b="B", judge="j")
    assert (summary.n, summary.win_rate, summary.inconsistent, summary.unscored) == (3, 0.5, 1, 1)
    assert summary.ci_low <= 0.5 <= summary.ci_high


def test_a_reflect_wraps_a_model_in_the_reflection_loop(tmp_path, capsys):
    (tmp_path / "p.jsonl").write_text('{"prompt": "Write a haiku about frost."}\n{"prompt": "Write a limerick."}\n')
    with OpenAICompatServer(responder=first_shown) as judge:
        code, out, err = _cli(
            [
                "eval",
                "pairwise",
                "--prompts",
                str(tmp_path / "p.jsonl"),
                "--a",
                "fake",
                "--a-reflect",
                "--b",
                "fake",
                "--judge",
                "openai:judge",
                "--judge-base-url",
                judge.base_url,
                "--output-dir",
                str(tmp_path / "o"),
                "--json",
                "--quiet",
            ],
            capsys,
        )
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["a"], summary["b"], summary["n"]) == ("fake + reflection", "fake", 2)

    def responses(name: str) -> dict[str, str]:
        rows = map(json.loads, (tmp_path / "o" / name).read_text().splitlines())
        return {row["prompt"]: row["response"] for row in rows}

    reflected, plain = responses("responses_a.jsonl"), responses("responses_b.jsonl")
    assert all(reflected.values()) and reflected != plain  # the loop revised the fake model's drafts


def test_build_criteria_builds_once_per_prompt_and_judges_with_them(tmp_path, capsys):
    from writer_r1.eval import run_pairwise

    (tmp_path / "p.jsonl").write_text('{"id": "haiku", "prompt": "Write a haiku about frost."}\n')
    for _ in range(2):
        summary = run_pairwise(
            tmp_path / "p.jsonl",
            "fake:a",
            "fake:b",
            judge="fake",
            output_dir=tmp_path / "o",
            progress=False,
            build_criteria=True,
            per_criterion=True,
        )
    built = [json.loads(line) for line in (tmp_path / "o" / "criteria_built.jsonl").read_text().splitlines()]
    assert [row["id"] for row in built] == ["haiku"]  # the re-run reused the built set
    names = {c["id"]: c["name"] for d in built[0]["criteria"]["dimensions"] for c in d["criteria"]}
    assert summary.n == 1 and {k: v["name"] for k, v in summary.per_criterion.items()} == names
