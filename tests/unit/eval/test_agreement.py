"""`writer-r1 eval agreement` against HelloBench's GPT-4o judgements (six prompts × three models, shipped)."""

from __future__ import annotations

import json
from pathlib import Path

from writer_r1.cli import main as cli_main
from writer_r1.testing import OpenAICompatServer

HELLOBENCH = Path(__file__).resolve().parents[2] / "data" / "hellobench"


def _published() -> list[tuple[str, list[float]]]:
    rows = []
    for path in sorted((HELLOBENCH / "judgements").glob("*.jsonl")):
        for row in map(json.loads, path.open()):
            scores = {e["checklist_id"]: e["evaluation_score"] for e in row["checklist_wise_evaluation"]}
            rows.append((row["response"], [scores[i] for i in range(len(scores))]))
    return rows


def judge_like_gpt4o(transform):
    """A loopback judge answering each checklist with GPT-4o's published score, passed through `transform`."""
    published = _published()

    def responder(request: dict) -> str:
        prompt = "\n".join(m["content"] for m in request["messages"] if m.get("role") == "user")
        scores = next(s for response, s in published if response in prompt)
        ids = list(request["response_format"]["json_schema"]["schema"]["properties"])
        return json.dumps(
            {
                cid: {"reason": "As published.", "level": int(round(transform(s) * 4)) + 1}
                for cid, s in zip(ids, scores, strict=True)
            }
        )

    return responder


def _run(server, out: Path, capsys) -> dict:
    try:
        cli_main(
            [
                "eval",
                "agreement",
                "--hellobench",
                str(HELLOBENCH),
                "--judge",
                "openai:j",
                "--judge-base-url",
                server.base_url,
                "--output-dir",
                str(out),
                "--json",
                "--quiet",
            ]
        )
    except SystemExit as done:
        assert not done.code
    return json.loads(capsys.readouterr().out)


def test_a_judge_that_agrees_exactly(tmp_path, capsys):
    with OpenAICompatServer(responder=judge_like_gpt4o(lambda s: s)) as server:
        summary = _run(server, tmp_path, capsys)
    assert summary["overall"]["items"] == 90 and summary["unscored_items"] == 0  # 3 models × 6 prompts × 5 items
    assert summary["overall"]["exact"] == 1.0 and summary["overall"]["mean_abs_diff"] == 0.0
    assert abs(summary["overall"]["pearson"] - 1.0) < 1e-9
    assert set(summary["per_model"]) == {"gpt4o_0806", "llama31_8b", "qwen2_7b"}
    assert summary["same_ranking"] is True and summary["ranking_ours"] == summary["ranking_theirs"]
    assert (tmp_path / "report.html").is_file()


def test_a_contrarian_judge_reverses_the_ranking(tmp_path, capsys):
    with OpenAICompatServer(responder=judge_like_gpt4o(lambda s: 1.0 - s)) as server:
        summary = _run(server, tmp_path, capsys)
    assert abs(summary["overall"]["pearson"] + 1.0) < 1e-9 and abs(summary["overall"]["spearman"] + 1.0) < 1e-9
    # HelloBench's GPT-4o ranks gpt4o first (llama and qwen tie in these six prompts); the contrarian puts it last.
    assert summary["same_ranking"] is False and abs(summary["system_spearman"] + 1.0) < 1e-9
    assert summary["ranking_theirs"][0] == summary["ranking_ours"][-1] == "gpt4o_0806"
