"""Evaluation harness: IFEval end to end, pairwise win rate, criteria scores, judge agreement, report.html.

Every function writes into an output folder, resumes from what it holds, and writes a self-contained
`report.html`. `EvalCallback` (per-checkpoint evaluation during training) is imported on first use, so
importing this package never imports transformers or torch.

Example:
    >>> import tempfile
    >>> from writer_r1.eval import run_ifeval
    >>> run_ifeval("fake", output_dir=tempfile.mkdtemp(), limit=2, progress=False).prompts
    2
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from writer_r1.eval.agreement import AgreementSummary, arun_agreement, run_agreement
from writer_r1.eval.ifeval import IFEvalSummary, arun_ifeval, run_ifeval
from writer_r1.eval.io import EvalInputError
from writer_r1.eval.pairwise import Judgement, PairwiseSummary, arun_pairwise, run_pairwise
from writer_r1.eval.scores import ScoresSummary, arun_scores, run_scores
from writer_r1.eval.systems import GenerationFailed, ModelSystem, ResponsesSystem

if TYPE_CHECKING:
    from writer_r1.eval.callback import EvalCallback, EvalSettings

__all__ = [
    "AgreementSummary",
    "EvalCallback",
    "EvalInputError",
    "EvalSettings",
    "GenerationFailed",
    "IFEvalSummary",
    "Judgement",
    "ModelSystem",
    "PairwiseSummary",
    "ResponsesSystem",
    "ScoresSummary",
    "arun_agreement",
    "arun_ifeval",
    "arun_pairwise",
    "arun_scores",
    "run_agreement",
    "run_ifeval",
    "run_pairwise",
    "run_scores",
]


def __getattr__(name: str) -> Any:
    if name in {"EvalCallback", "EvalSettings"}:
        from writer_r1.eval import callback

        return getattr(callback, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
