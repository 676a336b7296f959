"""Per-checkpoint evaluation during training: a `TrainerCallback` that judges each saved checkpoint.

At the start of training it answers the held-out prompts with the starting policy; at each save it
answers them again with the current policy and runs the pairwise evaluation (current = A, start = B,
both orders, bootstrap interval), optionally IFEval on the first N shipped prompts, and logs the figures
to the trainer's metrics (`writer_eval/win_rate`, `writer_eval/ci_low`, ..., `writer_eval/ifeval_*`), so
a run can pick its checkpoint and notice reward hacking (a rising reward with a falling win rate under a
different judge). Each checkpoint's files and `report.html` go to
`<output_dir>/writer_r1_eval/checkpoint-<step>/`.

Generation is greedy, in process, on the main process only: with parameters sharded across processes
(FSDP, ZeRO-3) evaluate saved checkpoints afterwards with `writer-r1 eval pairwise` instead.

From a `writer-r1 train grpo` config:

    eval:
      prompts: data/heldout.jsonl       # JSONL rows with `prompt`
      judge_model: openai:Qwen/Qwen3-8B # use a judge other than the reward's
      judge_base_url: http://localhost:8002/v1
      ifeval: 100                       # also IFEval on the first 100 prompts (0: off)

Example:
    >>> settings = EvalSettings(prompts="heldout.jsonl", judge_model="fake")
    >>> EvalCallback(settings).settings.max_new_tokens
    256
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from writer_r1.eval.io import read_prompts, write_jsonl

try:  # a real TrainerCallback when transformers is installed; the settings work without it
    from transformers import TrainerCallback
except ImportError:  # pragma: no cover - the [train] extra is missing
    TrainerCallback = object  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)
PREFIX = "writer_eval"


class EvalSettings(BaseModel):
    """The `eval` section of a training config."""

    model_config = ConfigDict(extra="forbid")

    prompts: str
    judge_model: str
    judge_base_url: str | None = None
    limit: int | None = Field(default=None, ge=1)
    max_new_tokens: int = Field(default=256, ge=1)
    batch_size: int = Field(default=8, ge=1)
    ifeval: int = Field(default=0, ge=0)
    per_criterion: bool = False
    criteria: str | None = None
    concurrency: int = Field(default=16, ge=1)
    output_dir: str | None = None


def generate(model: Any, tokenizer: Any, prompts: list[str], *, max_new_tokens: int, batch_size: int) -> list[str]:
    """Greedy answers of an in-process causal LM to each prompt as one user turn (chat template if any)."""
    import torch

    was_training = model.training
    padding_side = tokenizer.padding_side
    model.eval()
    tokenizer.padding_side = "left"
    answers: list[str] = []
    try:
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            if getattr(tokenizer, "chat_template", None):
                batch = [
                    tokenizer.apply_chat_template(
                        [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
                    )
                    for p in batch
                ]
            encoded = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            with torch.no_grad():
                output = model.generate(
                    **encoded, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
                )
            new = output[:, encoded["input_ids"].shape[1] :]
            answers += [text.strip() for text in tokenizer.batch_decode(new, skip_special_tokens=True)]
    finally:
        tokenizer.padding_side = padding_side
        if was_training:
            model.train()
    return answers


class EvalCallback(TrainerCallback):  # type: ignore[misc,valid-type]
    """Evaluates every saved checkpoint against the starting policy (see the module docstring).

    Set `trainer` (done by `writer-r1 train grpo`) so the figures go through `Trainer.log` to every
    logger; without it they are appended to `state.log_history`.
    """

    def __init__(self, settings: EvalSettings | dict[str, Any], trainer: Any = None):
        self.settings = settings if isinstance(settings, EvalSettings) else EvalSettings.model_validate(settings)
        self.trainer = trainer
        self.history: list[dict[str, float]] = []
        self._prompts: list[str] | None = None
        self._baseline: list[str] | None = None

    def _folder(self, args: Any) -> Path:
        return Path(self.settings.output_dir or Path(args.output_dir) / "writer_r1_eval")

    def _prompt_texts(self) -> list[str]:
        if self._prompts is None:
            items = read_prompts(self.settings.prompts)
            self._prompts = [item.prompt for item in items[: self.settings.limit]]
        return self._prompts

    def _answers(self, model: Any, tokenizer: Any, prompts: list[str]) -> list[str]:
        return generate(
            model, tokenizer, prompts, max_new_tokens=self.settings.max_new_tokens, batch_size=self.settings.batch_size
        )

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: Any = None, processing_class: Any = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        prompts = self._prompt_texts()
        self._baseline = self._answers(model, processing_class, prompts)
        folder = self._folder(args)
        write_jsonl(folder / "prompts.jsonl", [{"prompt": p} for p in prompts])
        write_jsonl(
            folder / "start.jsonl", [{"prompt": p, "response": r} for p, r in zip(prompts, self._baseline, strict=True)]
        )

    def on_save(
        self, args: Any, state: Any, control: Any, model: Any = None, processing_class: Any = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero or self._baseline is None:
            return
        metrics = self.evaluate(model, processing_class, self._folder(args) / f"checkpoint-{state.global_step}")
        self.history.append({"step": state.global_step, **metrics})
        if self.trainer is not None:
            self.trainer.log(dict(metrics))
        else:
            state.log_history.append({**metrics, "step": state.global_step})

    def evaluate(self, model: Any, tokenizer: Any, folder: Path) -> dict[str, float]:
        """Answer the prompts with `model`, judge against the starting answers, optionally IFEval."""
        from writer_r1.eval.pairwise import run_pairwise

        prompts = self._prompt_texts()
        root = folder.parent
        answers = self._answers(model, tokenizer, prompts)
        write_jsonl(
            folder / "current.jsonl", [{"prompt": p, "response": r} for p, r in zip(prompts, answers, strict=True)]
        )
        summary = run_pairwise(
            root / "prompts.jsonl",
            str(folder / "current.jsonl"),
            str(root / "start.jsonl"),
            judge=self.settings.judge_model,
            judge_base_url=self.settings.judge_base_url,
            output_dir=folder / "pairwise",
            criteria=self.settings.criteria,
            per_criterion=self.settings.per_criterion,
            concurrency=self.settings.concurrency,
            progress=False,
        )
        metrics: dict[str, float] = {
            f"{PREFIX}/n": float(summary.n),
            f"{PREFIX}/unscored": float(summary.unscored),
            f"{PREFIX}/inconsistent": float(summary.inconsistent),
            f"{PREFIX}/mean_words": float(summary.lengths["a"]["mean_words"] or 0.0),
        }
        for key in ("win_rate", "ci_low", "ci_high"):
            if (value := getattr(summary, key)) is not None:
                metrics[f"{PREFIX}/{key}"] = float(value)
        if self.settings.ifeval:
            metrics.update(self._ifeval(model, tokenizer, folder / "ifeval"))
        logger.info("checkpoint evaluation: %s", json.dumps(metrics))
        return metrics

    def _ifeval(self, model: Any, tokenizer: Any, folder: Path) -> dict[str, float]:
        from writer_r1.constraints.ifeval.evaluation import accuracies, evaluate
        from writer_r1.eval.ifeval import IFEVAL_INPUT_DATA, read_ifeval_inputs

        rows = read_ifeval_inputs(IFEVAL_INPUT_DATA)[: self.settings.ifeval]
        answers = self._answers(model, tokenizer, [row.prompt for row in rows])
        responses = {row.prompt: text for row, text in zip(rows, answers, strict=True)}
        write_jsonl(folder / "responses.jsonl", [{"prompt": p, "response": r} for p, r in responses.items()])
        figures = accuracies(evaluate(rows, responses, "strict"), evaluate(rows, responses, "loose"))
        keys = ("prompt_level_strict", "instruction_level_strict", "prompt_level_loose", "instruction_level_loose")
        return {f"{PREFIX}/ifeval_{key}": float(getattr(figures, key)) for key in keys}
