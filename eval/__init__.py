"""Evaluation harness: IFEval end to end, pairwise win rate, criteria scores, judge agreement, report.html.

Every function writes into an output folder, resumes from what it holds, and writes a self-contained
`report.html`. Heavy parts are imported when called.

Example:
    >>> import tempfile
    >>> from writer_r1.eval import run_ifeval
    >>> run_ifeval("fake", output_dir=tempfile.mkdtemp(), limit=2, progress=False).prompts
    2
"""

from __future__ import annotations

from writer_r1.eval.ifeval import IFEvalSummary, arun_ifeval, run_ifeval

__all__ = ["IFEvalSummary", "arun_ifeval", "run_ifeval"]
