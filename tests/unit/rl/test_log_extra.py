"""Per-completion columns for TRL's completions table: the weakest criterion and why, failed constraints, verdicts."""

from __future__ import annotations

import json

from writer_r1.core.criteria import CriteriaSet
from writer_r1.rl.pairwise import PairwiseReward
from writer_r1.rl.rewards import ConstraintReward, CriteriaReward, MixedReward
from writer_r1.testing import ScriptedChatModel

CRITERIA = CriteriaSet.model_validate(
    {
        "task": "Write a haiku",
        "dimensions": [
            {
                "name": "Craft",
                "criteria": [
                    {
                        "id": "imagery",
                        "name": "Imagery",
                        "description": "Concrete images",
                        "weight": 2.0,
                        "levels": [{"anchor": "none"}, {"anchor": "some"}, {"anchor": "vivid"}],
                    },
                    {
                        "id": "rhythm",
                        "name": "Rhythm",
                        "description": "Varied sentences",
                        "levels": [{"anchor": "flat"}, {"anchor": "varied"}],
                    },
                ],
            }
        ],
    }
).model_dump_json()
TWO = json.dumps([{"id": "punctuation:no_comma"}, {"id": "change_case:english_lowercase"}])


def verdict(imagery: int, rhythm: int) -> str:
    return json.dumps(
        {
            "imagery": {"reason": f"imagery {imagery}", "level": imagery},
            "rhythm": {"reason": f"rhythm {rhythm}", "level": rhythm},
        }
    )


class Extra:
    def __init__(self) -> None:
        self.columns: dict[str, list] = {}

    def __call__(self, column: str, values: list) -> None:
        self.columns.setdefault(column, []).extend(values)


async def test_the_criteria_reward_names_each_completions_weakest_criterion_and_why() -> None:
    judge = ScriptedChatModel(replies=[verdict(3, 1), verdict(1, 2), "no JSON at all"] * 3)
    extra = Extra()
    await CriteriaReward(judge_model=judge, cache=None, retries=0)(
        prompts=["Write a haiku"] * 3, completions=["a", "b", "c"], criteria=[CRITERIA] * 3, log_extra=extra
    )
    column = extra.columns["criteria/weakest_criterion"]
    assert column[0] == "rhythm (0.00): rhythm 1"
    assert column[1] == "imagery (0.00): imagery 1"  # weight 2 × gap 1 beats rhythm's full marks
    assert column[2].startswith("unscored:")


async def test_constraint_and_mixed_rewards_list_failed_constraint_ids() -> None:
    extra = Extra()
    await ConstraintReward()(
        prompts=["p"] * 2,
        completions=["Hello, there", "the quiet words of the sea are soft and grey tonight"],
        constraints=[TWO] * 2,
        log_extra=extra,
    )
    assert extra.columns["constraints/failed"] == ["punctuation:no_comma, change_case:english_lowercase", ""]
    judge = ScriptedChatModel(default=verdict(2, 2))
    extra = Extra()
    await MixedReward(judge_model=judge, cache=None)(
        prompts=["Write a haiku"] * 2,
        completions=["Hello, there", "the quiet words of the sea are soft and grey tonight"],
        criteria=[CRITERIA] * 2,
        constraints=[TWO] * 2,
        log_extra=extra,
    )
    assert extra.columns["rlmr/failed_constraints"] == ["punctuation:no_comma, change_case:english_lowercase", ""]
    assert len(extra.columns["rlmr/weakest_criterion"]) == 2


async def test_pairwise_verdicts_go_to_the_table(make_loopback) -> None:
    from writer_r1.core.models import load_chat_model

    server = make_loopback(responder=lambda request: json.dumps({"reason": "B reads better", "winner": "B"}))
    judge = load_chat_model("openai:loopback-model", base_url=server.base_url)
    extra = Extra()
    await PairwiseReward(judge_model=judge, cache=None)(
        prompts=["p"] * 3, completions=["x", "yy", "zzz"], log_extra=extra
    )
    column = extra.columns["pairwise/verdict"]
    assert len(column) == 3 and sum(text.startswith("reference in 2") for text in column) == 1
    assert all("B reads better" in text for text in column if text.startswith("vs #"))
