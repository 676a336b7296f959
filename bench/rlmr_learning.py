"""Does a policy trained with RLMR learn quality and constraints together? A miniature experiment through GRPOTrainer.

A tiny random Qwen2 (built offline, `writer_r1.testing.tiny_models`) is trained with TRL's real `GRPOTrainer`
on one prompt. Quality is a lexical proxy known exactly: the share of a completion's words that are one of
five "fantasy" words (dragon, elf, magic, wizard, castle), times a scale (0.1, 1, 10). By default it is
served over HTTP by the loopback server's scoring-rule judge and read through the project's real path
(`CriteriaReward` → `Judge` → HTTP → verdict → scorecard; a 21-level criterion, so quality moves in steps of
0.05); `--judge callable` computes it in process instead (faster, same numbers up to that rounding).
Constraints go through the registry (`ConstraintReward`, `MixedReward`):

    river     keywords:existence "river"          hard to find: ~5 % of samples at the start, and every
                                                  "river" is a word that is not a fantasy word
    no-dragon keywords:forbidden_words "dragon"   passes at the start; quality pulls against it

Reward modes (one reward function each, TRL's default `sum_then_normalize` and group scaling):

    quality         quality only (scale × share)
    constraints     constraints only (`ConstraintReward`: share of the row's constraints met)
    fixed-C         scale × share − C·[a constraint failed], C = 0.1, 0.5, 1.0
    rlmr-mean       `MixedReward(quality=..., mode="below_mean")` (RLMR: every violator below the group mean)
    rlmr-compliant  `MixedReward(quality=..., mode="below_compliant")` (and below every compliant sample)

What is measured does not depend on the mode: a zero-weight monitor reward logs, every step, the mean share
of fantasy words (unscaled), each constraint's pass rate and the share passing all. The table gives the mean
over the last `--tail` steps of each run, mean ± spread (half the range) over seeds; curves go to a plot
(PNG and SVG) and every run's curves to `curves.jsonl`. Runs that TRL's group scaling makes identical run once
(scale-free modes at scale 1; `fixed-C` at scale s as `fixed-(C/s)` at scale 1); `--all-scales` runs them all.
Defaults: 50 steps, learning rate 5e-3 (constant), 24 tokens, β = 0. Results and their reading: docs/training.md.

Run (the full grid is CPU-heavy: 11 runs per seed, each `--steps` GRPO steps of 16 completions):
    nice python bench/rlmr_learning.py --out runs/rlmr                        # every mode, scale and seed
    nice python bench/rlmr_learning.py --seeds 0 --judge callable --out runs/rlmr/s0   # one seed per process...
    python bench/rlmr_learning.py --report runs/rlmr/s*/curves.jsonl --out runs/rlmr  # ...then table and plot
    python bench/rlmr_learning.py --modes quality,rlmr-mean --scales 1 --seeds 0 --steps 30   # a subset
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from writer_r1.core.asyncio_utils import run_sync  # noqa: E402
from writer_r1.core.criteria import CriteriaSet  # noqa: E402
from writer_r1.rl.rewards import ConstraintReward, CriteriaReward, MixedReward, call_reward  # noqa: E402
from writer_r1.testing.openai_server import OpenAICompatServer  # noqa: E402
from writer_r1.testing.scoring_judge import (  # noqa: E402
    FANTASY_CORPUS,
    FANTASY_WORDS,
    LexicalShare,
    scoring_rule_responder,
)
from writer_r1.testing.tiny_models import tiny_qwen2  # noqa: E402

logger = logging.getLogger("rlmr_learning")

FANTASY = FANTASY_WORDS
CONSTRAINTS: dict[str, dict[str, Any]] = {
    "river": {"id": "keywords:existence", "kwargs": {"keywords": ["river"]}},
    "no-dragon": {"id": "keywords:forbidden_words", "kwargs": {"forbidden_words": ["dragon"]}},
}
MODES = ("rlmr-mean", "rlmr-compliant", "quality", "constraints", "fixed-0.1", "fixed-0.5", "fixed-1.0")
# Multiplying quality by s multiplies these modes' rewards by s (RLMR measures λ, δ and the penalties in the group's
# quality spread), and TRL divides by the group's std: the advantages, hence the runs, are the same at every scale.
SCALE_FREE = {"quality", "constraints", "rlmr-mean", "rlmr-compliant"}
PROMPT = "Tell a tale."
GENERATIONS = 8
CRITERIA = CriteriaSet.model_validate(
    {
        "task": PROMPT,
        "dimensions": [
            {
                "name": "Wonder",
                "criteria": [
                    {
                        "id": "fantasy",
                        "name": "Fantasy vocabulary",
                        "description": "How much of the text is fantasy words",
                        "levels": [{"anchor": f"{5 * i} % of the words are fantasy words"} for i in range(21)],
                    }
                ],
            }
        ],
    }
)


class ScaledQuality:
    """`scale` × a quality reward function: the quality half the modes share (async, picklable)."""

    def __init__(self, quality: Any, scale: float):
        self.quality = quality
        self.scale = scale
        self.__name__ = "quality"

    async def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        values = await call_reward(self.quality, prompts, completions, kwargs)
        return [None if v is None else self.scale * v for v in values]


class LexicalQuality:
    """The scoring rule as an in-process TRL reward function (`--judge callable`)."""

    __name__ = "lexical"

    def __init__(self, words: Sequence[str]):
        self.rule = LexicalShare(words)

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        from writer_r1.rl.rewards import message_text

        return [self.rule(message_text(c)) for c in completions]


class FixedWeight:
    """The baseline RLMR improves on: `quality − weight·[any constraint failed]`, one weight for every group."""

    def __init__(self, quality: Any, weight: float):
        self.quality = quality
        self.weight = weight
        self.compliance = ConstraintReward(extract=False)
        self.__name__ = f"fixed_{weight}"

    async def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        quality, results = await asyncio.gather(
            self.quality(prompts=prompts, completions=completions, **kwargs),
            self.compliance.results(prompts, completions, kwargs),
        )
        return [
            None if q is None else q - (0.0 if all(r.passed is not False for r in row) else self.weight)
            for q, row in zip(quality, results, strict=True)
        ]


class Monitor:
    """A zero-weight reward that logs what the table reports, whatever the mode: unscaled quality, pass rates.

    It is synchronous, so TRL runs it before the (async) training reward: the judge's cache then answers the
    training reward's identical requests, and nothing is judged twice.
    """

    __name__ = "monitor"

    def __init__(self, quality: Any, names: Sequence[str]):
        self.quality = quality
        self.names = list(names)
        self.compliance = ConstraintReward(extract=False)

    async def _measure(self, prompts: list[Any], completions: list[Any], kwargs: dict[str, Any]) -> tuple[list, list]:
        return await asyncio.gather(
            call_reward(self.quality, prompts, completions, kwargs),
            self.compliance.results(prompts, completions, kwargs),
        )

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        quality, results = run_sync(self._measure(prompts, completions, kwargs))
        log = kwargs["log_metric"]
        known = [q for q in quality if q is not None]
        log("bench/quality", statistics.fmean(known) if known else math.nan)
        log("bench/unscored", 1 - len(known) / len(quality))
        for index, name in enumerate(self.names):
            log(f"bench/pass/{name}", statistics.fmean(row[index].passed is True for row in results))
        log("bench/pass/all", statistics.fmean(all(r.passed is True for r in row) for row in results))
        return [0.0] * len(completions)


def training_reward(mode: str, quality: Any, scale: float) -> Any:
    scaled = ScaledQuality(quality, scale)
    if mode == "quality":
        return scaled
    if mode == "constraints":
        return ConstraintReward(extract=False)
    if mode.startswith("fixed-"):
        return FixedWeight(scaled, float(mode.removeprefix("fixed-")))
    if mode in {"rlmr-mean", "rlmr-compliant"}:
        rule = "below_mean" if mode == "rlmr-mean" else "below_compliant"
        return MixedReward(quality=scaled, mode=rule, num_generations=GENERATIONS)
    raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")


def dataset_rows(constraint_names: Sequence[str], rows: int = 64) -> list[dict[str, Any]]:
    specs = [CONSTRAINTS[name] for name in constraint_names]
    row = {
        "prompt": [{"role": "user", "content": PROMPT}],
        "criteria": CRITERIA.model_dump_json(),
        "constraints": json.dumps(specs),
    }
    return [row] * rows


def run_once(
    *,
    model_dir: Path,
    mode: str,
    scale: float,
    seed: int,
    steps: int,
    constraint_names: Sequence[str],
    quality: Any,
    workdir: Path,
    learning_rate: float = 3e-3,
    completion_length: int = 24,
) -> dict[str, list[float]]:
    """One GRPO run; returns the monitor's curves (one value per step)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(
        output_dir=str(workdir / "out"),
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        max_steps=steps,
        learning_rate=learning_rate,
        lr_scheduler_type="constant",
        beta=0.0,
        num_generations=GENERATIONS,
        per_device_train_batch_size=16,
        max_completion_length=completion_length,
        temperature=1.0,
        seed=seed,
        reward_weights=[1.0, 0.0],
        disable_tqdm=True,
        log_level="error",
    )
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        processing_class=tokenizer,
        args=args,
        reward_funcs=[training_reward(mode, quality, scale), Monitor(quality, constraint_names)],
        train_dataset=Dataset.from_list(dataset_rows(constraint_names)),
    )
    trainer.train()
    keys = ["bench/quality", *(f"bench/pass/{n}" for n in constraint_names), "bench/pass/all"]
    curves: dict[str, list[float]] = {key.removeprefix("bench/"): [] for key in keys}
    for entry in trainer.state.log_history:
        if "bench/quality" in entry:
            for key in keys:
                curves[key.removeprefix("bench/")].append(float(entry[key]))
    return curves


def summarise(values: Sequence[float]) -> str:
    mean = statistics.fmean(values)
    spread = (max(values) - min(values)) / 2
    return f"{mean:.2f} ± {spread:.2f}" if len(values) > 1 else f"{mean:.2f}"


Results = dict[tuple[str, float], list[dict[str, list[float]]]]


def plan(modes: Sequence[str], scales: Sequence[float], all_scales: bool) -> dict[tuple[str, float], tuple[str, float]]:
    """Each (mode, scale) cell of the table → the run that gives it.

    Without `all_scales`, runs that TRL's group scaling makes identical are run once: a scale-free mode at scale 1,
    and `fixed-C` at scale s as `fixed-(C/s)` at scale 1 (s·w − C·v = s·(w − (C/s)·v): the same advantages).
    """
    cells: dict[tuple[str, float], tuple[str, float]] = {}
    for mode in modes:
        for scale in scales:
            if all_scales:
                cells[(mode, scale)] = (mode, scale)
            elif mode in SCALE_FREE:
                cells[(mode, scale)] = (mode, 1.0)
            else:
                cells[(mode, scale)] = (f"fixed-{float(mode.removeprefix('fixed-')) / scale:g}", 1.0)
    return cells


def table(cells: dict[tuple[str, float], tuple[str, float]], runs: Results, names: Sequence[str], tail: int) -> str:
    columns = ["quality (share)", *(f"pass {n}" for n in names), "pass all"]
    keys = ["quality", *(f"pass/{n}" for n in names), "pass/all"]
    every = [run for seeds in runs.values() for run in seeds]
    start = {key: [statistics.fmean(run[key][:5]) for run in every] for key in keys}
    lines = [
        "| scale | reward | " + " | ".join(columns) + " |",
        "|---|---|" + "---|" * len(columns),
        "| — | (start: first 5 steps, all runs) | " + " | ".join(summarise(start[k]) for k in keys) + " |",
    ]
    shown: set[str] = set()
    for (mode, scale), run in cells.items():
        if run not in runs or mode in shown:
            continue
        label, scale_text = mode, f"{scale:g}"
        if len({r for (m, _), r in cells.items() if m == mode}) == 1:  # the same run at every scale
            shown.add(mode)
            scale_text = "any"
        elif run != (mode, scale) and scale != 1.0:
            label = f"{mode} (run as {run[0]} at scale 1)"
        cells_text = [summarise([statistics.fmean(r[k][-tail:]) for r in runs[run]]) for k in keys]
        lines.append(f"| {scale_text} | {label} | " + " | ".join(cells_text) + " |")
    return "\n".join(lines)


def plot(cells: dict[tuple[str, float], tuple[str, float]], runs: Results, scales: Sequence[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        2, len(scales), figsize=(4.2 * len(scales), 6.5), sharex=True, sharey=True, squeeze=False
    )
    for column, scale in enumerate(scales):
        for (mode, cell_scale), run in cells.items():
            if cell_scale != scale or run not in runs:
                continue
            for row, key in enumerate(("quality", "pass/all")):
                steps = min(len(r[key]) for r in runs[run])
                mean = [statistics.fmean(r[key][i] for r in runs[run]) for i in range(steps)]
                smooth = [statistics.fmean(mean[max(0, i - 4) : i + 1]) for i in range(steps)]
                axes[row][column].plot(
                    range(1, steps + 1),
                    smooth,
                    label=mode,
                    linestyle="-" if mode.startswith("rlmr") else "--" if mode in SCALE_FREE else ":",
                )
        axes[0][column].set_title(f"quality scale {scale:g}")
        axes[1][column].set_xlabel("GRPO step")
    axes[0][0].set_ylabel("fantasy-word share (quality)")
    axes[1][0].set_ylabel("all constraints pass")
    axes[0][0].legend(fontsize=7, loc="upper left")
    figure.suptitle("RLMR in miniature: mean over seeds, 5-step moving average")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--scales", default="0.1,1,10")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--constraints", default="river,no-dragon", help=f"from {', '.join(CONSTRAINTS)}")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--tail", type=int, default=10, help="steps averaged at the end of each run")
    parser.add_argument("--judge", choices=["http", "callable"], default="http")
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--out", default="runs/rlmr_learning")
    parser.add_argument(
        "--all-scales",
        action="store_true",
        help="run every mode at every scale (by default runs that group scaling makes identical run once)",
    )
    parser.add_argument(
        "--report",
        nargs="+",
        metavar="CURVES",
        help="no training: the table and plot from curves.jsonl files of earlier runs (shards)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("httpx", "writer_r1", "transformers", "trl"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    modes = [m for m in args.modes.split(",") if m]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    names = [n for n in args.constraints.split(",") if n]
    if not names or set(names) - set(CONSTRAINTS):
        parser.error(f"--constraints: choose from {', '.join(CONSTRAINTS)}")
    scales = [float(s) for s in args.scales.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.report:
        return report(args, out, names, scales, [Path(p) for p in args.report])
    model_dir = tiny_qwen2(out / "model", head="causal", corpus=FANTASY_CORPUS)
    server = None
    if args.judge == "http":
        server = OpenAICompatServer(responder=scoring_rule_responder(LexicalShare(FANTASY))).start()
        quality: Any = CriteriaReward("openai:loopback-model", base_url=server.base_url)
    else:
        quality = LexicalQuality(FANTASY)
    cells = plan(modes, scales, args.all_scales)
    runs: Results = {}
    curves_file = out / "curves.jsonl"
    try:
        for mode, scale in dict.fromkeys(cells.values()):
            for seed in seeds:
                began = time.perf_counter()
                with tempfile.TemporaryDirectory() as workdir:
                    curves = run_once(
                        model_dir=model_dir,
                        mode=mode,
                        scale=scale,
                        seed=seed,
                        steps=args.steps,
                        constraint_names=names,
                        quality=quality,
                        workdir=Path(workdir),
                        learning_rate=args.lr,
                    )
                runs.setdefault((mode, scale), []).append(curves)
                with curves_file.open("a") as handle:
                    handle.write(json.dumps({"mode": mode, "scale": scale, "seed": seed, "curves": curves}) + "\n")
                logger.info(
                    "%s scale %g seed %d: quality %.2f, pass all %.2f (%.0f s)",
                    mode,
                    scale,
                    seed,
                    statistics.fmean(curves["quality"][-args.tail :]),
                    statistics.fmean(curves["pass/all"][-args.tail :]),
                    time.perf_counter() - began,
                )
    finally:
        if server is not None:
            server.stop()
    sys.stdout.write(f"{args.steps} steps, judge {args.judge}, seeds {seeds}\n")
    write_report(cells, runs, out, names, scales, args.tail)
    sys.stdout.write(f"raw curves: {curves_file}\n")
    return 0


def write_report(
    cells: dict[tuple[str, float], tuple[str, float]],
    runs: Results,
    out: Path,
    names: Sequence[str],
    scales: Sequence[float],
    tail: int,
) -> None:
    text = table(cells, runs, names, tail)
    sys.stdout.write(f"mean of the last {tail} steps of each run; mean ± spread (half the range) over seeds\n{text}\n")
    (out / "table.md").write_text(text + "\n")
    for suffix in ("png", "svg"):
        plot(cells, runs, scales, out / f"curves.{suffix}")
    sys.stdout.write(f"curves: {out / 'curves.png'} and {out / 'curves.svg'}\n")


def report(
    args: argparse.Namespace, out: Path, names: Sequence[str], scales: Sequence[float], files: Sequence[Path]
) -> int:
    """The table and plot from the curves of earlier runs (e.g. seeds run as separate processes)."""
    runs: Results = {}
    for file in files:
        for line in file.read_text().splitlines():
            run = json.loads(line)
            runs.setdefault((run["mode"], float(run["scale"])), []).append(run["curves"])
    modes = [m for m in args.modes.split(",") if m]
    write_report(plan(modes, scales, args.all_scales), runs, out, names, scales, args.tail)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
