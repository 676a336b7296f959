"""ClassifierReward: a one-label reward model in process (batched by length buckets) and served (vLLM's /classify)."""

from __future__ import annotations

import pickle

import pytest
from writer_r1.core.errors import UserError
from writer_r1.rl.classifier import ClassifierReward, conversation, length_buckets
from writer_r1.testing import FaultPlan, PoolingServer


class Metrics:
    def __init__(self) -> None:
        self.logged: dict[str, list[float]] = {}

    def __call__(self, name: str, value: float) -> None:
        self.logged.setdefault(name, []).append(value)


PROMPTS = [[{"role": "user", "content": "Write about the sea."}]] * 3 + ["Describe a storm."]
COMPLETIONS = [
    [{"role": "assistant", "content": "Grey water."}],
    [{"role": "assistant", "content": "The grey water rocked the boats at dusk."}],
    [{"role": "assistant", "content": [{"type": "text", "text": "Salt wind and gulls over the harbour wall."}]}],
    "Rain, then thunder over the railway station.",
]


def test_length_buckets_group_similar_lengths_and_cover_every_index() -> None:
    lengths = [50, 3, 48, 4, 100, 5, 49]
    batches = length_buckets(lengths, 3)
    assert sorted(i for batch in batches for i in batch) == list(range(7))
    assert [sorted(lengths[i] for i in batch) for batch in batches] == [[3, 4, 5], [48, 49, 50], [100]]
    assert length_buckets(lengths, 3, bucket=False) == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(UserError):
        length_buckets(lengths, 0)


def test_conversation_puts_the_completion_in_the_assistant_turn_in_both_formats() -> None:
    assert conversation(PROMPTS[0], COMPLETIONS[2])[-1] == {
        "role": "assistant",
        "content": "Salt wind and gulls over the harbour wall.",
    }
    assert conversation("Describe a storm.", "Rain.") == [
        {"role": "user", "content": "Describe a storm."},
        {"role": "assistant", "content": "Rain."},
    ]


# --- served: vLLM's Classification API on loopback ---------------------------------------------


async def test_served_scores_are_the_raw_logits_of_each_conversation() -> None:
    with PoolingServer() as server:
        reward = ClassifierReward("loopback-reward", base_url=server.url + "/v1")
        metrics = Metrics()
        rewards = await reward(prompts=PROMPTS, completions=COMPLETIONS, log_metric=metrics)
        requests = list(server.requests)
    assert len(requests) == 4  # one request per conversation
    assert all(r["use_activation"] is False and r["model"] == "loopback-reward" for r in requests)
    last_turns = [r["messages"][-1] for r in requests]  # concurrent requests: any arrival order
    assert {"role": "assistant", "content": "The grey water rocked the boats at dusk."} in last_turns
    assert rewards[0] < rewards[1] < rewards[2]  # richer text, higher score: the server's model
    assert any(r < 0 for r in rewards) and any(r > 1 for r in rewards)  # raw logits, not sigmoid probabilities
    assert metrics.logged["classifier/truncated_fraction"] == [0.0]
    assert metrics.logged["classifier/unscored_fraction"] == [0.0]


async def test_served_truncation_is_asked_for_and_reported() -> None:
    with PoolingServer(max_model_len=4096) as server:
        reward = ClassifierReward("loopback-reward", base_url=server.url, max_length=8)
        metrics = Metrics()
        rewards = await reward(prompts=PROMPTS, completions=COMPLETIONS, log_metric=metrics)
        requests = list(server.requests)
    assert all(r["truncate_prompt_tokens"] == 8 and r["truncation_side"] == "left" for r in requests)
    assert all(isinstance(r, float) for r in rewards)
    assert metrics.logged["classifier/truncated_fraction"] == [1.0]  # every conversation is longer than 8 words


async def test_an_input_the_server_refuses_is_unscored_not_zero() -> None:
    with PoolingServer(max_model_len=12) as server:  # no max_length: the long inputs are refused with HTTP 400
        reward = ClassifierReward("loopback-reward", base_url=server.url, retries=3)
        metrics = Metrics()
        rewards = await reward(prompts=PROMPTS, completions=COMPLETIONS, log_metric=metrics)
        refused = len(server.requests)
    assert rewards[0] is not None and rewards[1] is None
    assert refused == 4  # a 400 is not retried
    assert metrics.logged["classifier/unscored_fraction"][0] > 0


async def test_server_faults_are_retried_and_what_stays_broken_is_none() -> None:
    faults = FaultPlan(script=["http500", "garbage", "truncated"], rates={"http500": 0.0})
    with PoolingServer(faults=faults) as server:
        reward = ClassifierReward("loopback-reward", base_url=server.url, retries=3)
        rewards = await reward(prompts=PROMPTS[:1], completions=COMPLETIONS[:1])
        assert len(server.requests) == 4 and rewards[0] is not None  # three faults, then the answer
    with PoolingServer(faults=FaultPlan(rates={"http500": 1.0})) as server:
        reward = ClassifierReward("loopback-reward", base_url=server.url, retries=1)
        assert await reward(prompts=PROMPTS[:2], completions=COMPLETIONS[:2]) == [None, None]


def test_a_served_classifier_reward_pickles_and_keeps_working() -> None:
    with PoolingServer() as server:
        reward = ClassifierReward("loopback-reward", base_url=server.url)
        before = reward.score(PROMPTS, COMPLETIONS)
        clone = pickle.loads(pickle.dumps(reward))
        assert clone.__name__ == "classifier"
        assert clone.score(PROMPTS, COMPLETIONS) == before


def test_bad_settings_are_clear_errors() -> None:
    with pytest.raises(UserError):
        ClassifierReward("m", batch_size=0)
    with pytest.raises(UserError):
        ClassifierReward("m", max_length=0)


# --- in process: a tiny random Qwen2ForSequenceClassification built offline ----------------------


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from writer_r1.testing.tiny_models import tiny_qwen2

    return tiny_qwen2(tmp_path_factory.mktemp("tiny-reward"), head="classifier")


def _reference_scores(path, conversations):
    """One conversation at a time, no padding: what the model says about each."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32).eval()
    scores = []
    for messages in conversations:
        ids = tokenizer(tokenizer.apply_chat_template(messages, tokenize=False), add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            scores.append(float(model(input_ids=torch.tensor([ids])).logits[0, 0]))
    return scores


@pytest.mark.parametrize("bucket", [True, False])
async def test_in_process_batches_padded_by_buckets_score_like_one_at_a_time(tiny_classifier, bucket) -> None:
    reward = ClassifierReward(str(tiny_classifier), batch_size=3, bucket=bucket, device="cpu")
    metrics = Metrics()
    rewards = await reward(prompts=PROMPTS, completions=COMPLETIONS, log_metric=metrics)
    expected = _reference_scores(
        tiny_classifier, [conversation(p, c) for p, c in zip(PROMPTS, COMPLETIONS, strict=True)]
    )
    assert rewards == pytest.approx(expected, abs=1e-4)
    assert len(set(rewards)) == 4  # the head distinguishes them: the comparison can fail
    assert metrics.logged["classifier/truncated_fraction"] == [0.0]


async def test_in_process_truncation_keeps_the_end_and_is_reported(tiny_classifier) -> None:
    reward = ClassifierReward(str(tiny_classifier), max_length=6, device="cpu")
    metrics = Metrics()
    rewards = await reward(prompts=PROMPTS, completions=COMPLETIONS, log_metric=metrics)
    assert metrics.logged["classifier/truncated_fraction"] == [1.0]
    sequences, truncated = reward.backend.encode(
        [conversation(p, c) for p, c in zip(PROMPTS, COMPLETIONS, strict=True)]
    )
    assert truncated == 4 and all(len(s) == 6 for s in sequences)
    eos = reward.backend.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert all(eos in s for s in sequences)  # the end of the assistant turn survived
    assert all(isinstance(r, float) for r in rewards)


def test_in_process_and_served_give_the_same_scores(tiny_classifier) -> None:
    local = ClassifierReward(str(tiny_classifier), device="cpu").score(PROMPTS, COMPLETIONS)
    with PoolingServer.from_pretrained(str(tiny_classifier)) as server:
        served = ClassifierReward(str(tiny_classifier), base_url=server.url).score(PROMPTS, COMPLETIONS)
    assert served == pytest.approx(local, abs=1e-4)


def test_an_in_process_reward_pickles_without_its_model(tiny_classifier) -> None:
    reward = ClassifierReward(str(tiny_classifier), device="cpu")
    before = reward.score(PROMPTS, COMPLETIONS)
    data = pickle.dumps(reward)
    assert len(data) < 2000  # the weights are not in the pickle
    assert pickle.loads(data).score(PROMPTS, COMPLETIONS) == pytest.approx(before)


def test_a_classifier_with_several_labels_is_refused(tmp_path) -> None:
    transformers = pytest.importorskip("transformers")
    from writer_r1.testing.tiny_models import tiny_qwen2

    path = tiny_qwen2(tmp_path / "m", head="classifier")
    config = transformers.AutoConfig.from_pretrained(path)
    config.num_labels = 3
    config.save_pretrained(path)
    with pytest.raises(UserError, match="3 labels"):
        ClassifierReward(str(path), device="cpu").score(["p"], ["c"])
