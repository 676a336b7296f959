"""A trained reward model as the quality reward: a sequence classifier with one label, in process or served.

RLMR's quality half is "a writing reward model evaluating subjective writing quality"; such models are
published as `AutoModelForSequenceClassification` checkpoints with a single label whose raw logit is the
reward (Skywork-Reward, LitBench's reward models). `ClassifierReward` scores each prompt + completion with
one, on the model's own scale (unbounded logits are fine: RLMR's mixing is scale-aware).

- **In process** (`ClassifierReward(path)`): the model's chat template is applied to the conversation
  (prompt turns + the completion as the assistant turn), the token sequences are sorted by length and cut
  into batches of similar length (padding by buckets: each batch pads only to its own longest member,
  right-padded so a causal model's positions are those of the unpadded text), bf16 on a GPU, float32 on a
  CPU. Inputs longer than `max_length` keep their last `max_length` tokens (the end of the completion is
  what the model pools) and are counted in `classifier/truncated_fraction`.
- **Served** (`ClassifierReward(model_name, base_url=...)`): vLLM's Classification API, which serves
  `*ForSequenceClassification` checkpoints (`vllm serve MODEL --runner pooling`). One request per
  conversation to `POST {server}/classify` with `{"model", "messages", "use_activation": false}` (the raw
  logit, not vLLM's default sigmoid for a one-label model) and `truncate_prompt_tokens` with
  `truncation_side: "left"` when `max_length` is set; the score is `data[0].probs[0]`, and an answer whose
  `usage.prompt_tokens` reached `max_length` counts as truncated. vLLM applies the chat template and batches the concurrent
  requests itself. `writer_r1.testing.PoolingServer` speaks the same protocol on loopback.

A completion the model could not score (a server error after retries, an input the server refused) gets
None, never a number.

Example:
    >>> from writer_r1.testing import PoolingServer
    >>> with PoolingServer() as server:
    ...     reward = ClassifierReward("loopback-reward", base_url=server.url)
    ...     rewards = reward.score(["Write about the sea."] * 2, ["Grey water.", "The grey water rocked the boats."])
    >>> rewards[1] > rewards[0]
    True
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

from writer_r1.core.errors import UserError
from writer_r1.rl.rewards import LogMetric, _Reward, content_text, message_text

logger = logging.getLogger(__name__)


def conversation(prompt: Any, completion: Any) -> list[dict[str, str]]:
    """The prompt and completion as chat messages, the completion as the assistant's turn.

    Example:
        >>> conversation("Write a haiku", "frost")
        [{'role': 'user', 'content': 'Write a haiku'}, {'role': 'assistant', 'content': 'frost'}]
    """
    messages: list[dict[str, str]] = []
    for value, role in ((prompt, "user"), (completion, "assistant")):
        if isinstance(value, list):
            messages += [
                {"role": str(m.get("role", role)), "content": content_text(m.get("content"))}
                for m in value
                if isinstance(m, dict)
            ]
        else:
            messages.append({"role": role, "content": message_text(value)})
    return messages


def length_buckets(lengths: Sequence[int], batch_size: int, *, bucket: bool = True) -> list[list[int]]:
    """Indices of each batch: by length when `bucket` (similar lengths together, least padding), else in order.

    Example:
        >>> length_buckets([5, 100, 6, 90], 2)
        [[0, 2], [3, 1]]
        >>> length_buckets([5, 100, 6, 90], 2, bucket=False)
        [[0, 1], [2, 3]]
    """
    if batch_size < 1:
        raise UserError(f"batch_size must be >= 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i)) if bucket else list(range(len(lengths)))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


class ClassifierReward(_Reward):
    """A trained reward model's score (the single label's raw logit) of each prompt + completion.

    Args:
        model: a local path or hub id of an `AutoModelForSequenceClassification` checkpoint with one label;
            with `base_url`, the model name the vLLM server serves.
        base_url: a vLLM server (`vllm serve MODEL --runner pooling`) to call instead of loading the
            model; its root or its `/v1` URL.
        batch_size: sequences per forward pass (in process).
        max_length: longer inputs keep their last `max_length` tokens (reported); None: the tokenizer's
            `model_max_length` in process (capped at 32768), the server's `max_model_len` when served
            (a longer input is then refused by the server and gets None).
        bucket: pad by length buckets (sort by length, batch neighbours); False batches in order.
        device: "cuda", "cpu", ...; None: the GPU when torch sees one.
        dtype: "auto" (bf16 on a GPU, float32 on a CPU) or a torch dtype name.
        chat_template: apply the model's chat template (in process: when the tokenizer has one; served:
            send `messages`); False scores `prompt + completion` as plain text.
        max_concurrency, timeout, retries, api_key: the served variant's HTTP settings.

    Example:
        >>> reward = ClassifierReward("Skywork/Skywork-Reward-V2-Qwen3-0.6B", batch_size=16)  # loads on first call
        >>> reward.__name__
        'classifier'
    """

    __name__ = "classifier"
    _transient = ("_backend",)

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        batch_size: int = 8,
        max_length: int | None = None,
        bucket: bool = True,
        device: str | None = None,
        dtype: str = "auto",
        chat_template: bool = True,
        max_concurrency: int = 64,
        timeout: float = 60.0,
        retries: int = 2,
        api_key: str | None = None,
    ):
        if batch_size < 1:
            raise UserError(f"batch_size must be >= 1, got {batch_size}")
        if max_length is not None and max_length < 1:
            raise UserError(f"max_length must be >= 1, got {max_length}")
        self.model = str(model)
        self.base_url = base_url
        self.batch_size = batch_size
        self.max_length = max_length
        self.bucket = bucket
        self.device = device
        self.dtype = dtype
        self.chat_template = chat_template
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.retries = retries
        self.api_key = api_key
        self._backend: Any = None

    @property
    def backend(self) -> Any:
        if self._backend is None:
            if self.base_url is not None:
                self._backend = _ServedClassifier(self)
            else:
                self._backend = _LocalClassifier(self)
        return self._backend

    async def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        conversations = [conversation(p, c) for p, c in zip(prompts, completions, strict=True)]
        scores, truncated = await self.backend.ascore(conversations)
        failed = sum(score is None for score in scores)
        log_metric: LogMetric | None = kwargs.get("log_metric")
        if log_metric is not None and scores:
            log_metric("classifier/truncated_fraction", truncated / len(scores))
            log_metric("classifier/unscored_fraction", failed / len(scores))
            known = [s for s in scores if s is not None]
            if known:
                log_metric("classifier/score_mean", sum(known) / len(known))
        if truncated:
            logger.warning("%d of %d inputs were longer than max_length and lost their start", truncated, len(scores))
        return scores


class _LocalClassifier:
    """The model in this process: tokenize with the chat template, batch by length, score the first logit."""

    def __init__(self, settings: ClassifierReward):
        try:
            import torch
            from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as error:
            raise UserError(
                "ClassifierReward in process needs torch and transformers: pip install 'writer-r1[train]'"
            ) from error
        self.settings = settings
        self.torch = torch
        device = settings.device or ("cuda" if torch.cuda.is_available() else "cpu")
        if settings.dtype == "auto":
            dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        else:
            named = getattr(torch, settings.dtype, None)
            if not isinstance(named, torch.dtype):
                raise UserError(f"unknown dtype {settings.dtype!r} (auto, bfloat16, float16, float32)")
            dtype = named
        config = AutoConfig.from_pretrained(settings.model)
        if config.num_labels != 1:
            raise UserError(
                f"{settings.model} has {config.num_labels} labels; a reward model has one (its logit is the reward)"
            )
        self.tokenizer = AutoTokenizer.from_pretrained(settings.model)
        model = AutoModelForSequenceClassification.from_pretrained(settings.model, dtype=dtype)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        if pad is None:
            raise UserError(f"{settings.model}'s tokenizer has neither a pad nor an end-of-sequence token to pad with")
        self.pad_id = int(pad)
        if model.config.pad_token_id is None:
            model.config.pad_token_id = self.pad_id
        self.model = model.to(device).eval()
        self.device = device
        limit = getattr(self.tokenizer, "model_max_length", None) or 32768
        self.max_length = settings.max_length or min(int(limit), 32768)
        self.use_template = settings.chat_template and bool(getattr(self.tokenizer, "chat_template", None))
        self._lock = threading.Lock()  # one forward pass at a time on this model

    def encode(self, conversations: Sequence[list[dict[str, str]]]) -> tuple[list[list[int]], int]:
        """Token ids of each conversation (left-truncated to max_length) and how many were truncated."""
        if self.use_template:
            texts = [str(self.tokenizer.apply_chat_template(messages, tokenize=False)) for messages in conversations]
            encoded = self.tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
        else:
            texts = ["".join(m["content"] for m in messages) for messages in conversations]
            encoded = self.tokenizer(texts)["input_ids"] if texts else []
        sequences: list[list[int]] = []
        truncated = 0
        for ids in encoded:  # one batched tokenizer call; truncation here keeps the end
            if len(ids) > self.max_length:
                ids = ids[-self.max_length :]
                truncated += 1
            sequences.append(list(ids))
        return sequences, truncated

    def score_ids(self, sequences: Sequence[list[int]]) -> list[float]:
        torch = self.torch
        scores: list[float] = [0.0] * len(sequences)
        for batch in length_buckets([len(s) for s in sequences], self.settings.batch_size, bucket=self.settings.bucket):
            width = max(len(sequences[i]) for i in batch)
            ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, index in enumerate(batch):
                sequence = sequences[index]
                ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
                mask[row, : len(sequence)] = 1
            with self._lock, torch.inference_mode():
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
            for row, value in zip(batch, logits[:, 0].float().tolist(), strict=True):
                scores[row] = float(value)
        return scores

    def score(self, conversations: Sequence[list[dict[str, str]]]) -> tuple[list[float | None], int]:
        sequences, truncated = self.encode(conversations)
        return list(self.score_ids(sequences)), truncated

    async def ascore(self, conversations: Sequence[list[dict[str, str]]]) -> tuple[list[float | None], int]:
        return await asyncio.to_thread(self.score, conversations)


class _ServedClassifier:
    """vLLM's Classification API: one `POST /classify` per conversation, concurrent under a semaphore."""

    def __init__(self, settings: ClassifierReward):
        self.settings = settings
        root = (settings.base_url or "").rstrip("/")
        self.url = (root[: -len("/v1")] if root.endswith("/v1") else root) + "/classify"
        self.headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}

    def payload(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.settings.model, "use_activation": False}
        if self.settings.chat_template:
            body["messages"] = messages
        else:
            body["input"] = "".join(m["content"] for m in messages)
        if self.settings.max_length is not None:  # keep the end: the completion, and the token the model pools
            body["truncate_prompt_tokens"] = self.settings.max_length
            body["truncation_side"] = "left"
        return body

    async def _one(
        self, client: Any, semaphore: asyncio.Semaphore, messages: list[dict[str, str]]
    ) -> tuple[float | None, bool]:
        import httpx
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

        def retryable(error: BaseException) -> bool:
            if isinstance(error, httpx.HTTPStatusError):
                return error.response.status_code >= 500 or error.response.status_code == 429
            return isinstance(error, (httpx.TransportError, ValueError, KeyError, IndexError, TypeError))

        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.settings.retries + 1),
                wait=wait_exponential(multiplier=0.2, max=2.0),
                retry=retry_if_exception(retryable),
                reraise=True,
            ):
                with attempt:
                    async with semaphore:
                        response = await client.post(self.url, json=self.payload(messages))
                    response.raise_for_status()
                    body = response.json()
                    score = float(body["data"][0]["probs"][0])
                    prompt_tokens = (body.get("usage") or {}).get("prompt_tokens")
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as error:
            detail = error.response.text[:200] if isinstance(error, httpx.HTTPStatusError) else str(error)
            logger.warning("the reward model server gave no score (%s: %s)", type(error).__name__, detail)
            return None, False
        limit = self.settings.max_length
        # vLLM keeps at most `truncate_prompt_tokens`: an input that reached the limit is counted as truncated.
        return score, bool(limit is not None and isinstance(prompt_tokens, int) and prompt_tokens >= limit)

    async def ascore(self, conversations: Sequence[list[dict[str, str]]]) -> tuple[list[float | None], int]:
        import httpx

        limits = httpx.Limits(max_connections=self.settings.max_concurrency)
        semaphore = asyncio.Semaphore(self.settings.max_concurrency)
        async with httpx.AsyncClient(timeout=self.settings.timeout, limits=limits, headers=self.headers) as client:
            results = await asyncio.gather(*(self._one(client, semaphore, messages) for messages in conversations))
        return [score for score, _ in results], sum(truncated for _, truncated in results)
