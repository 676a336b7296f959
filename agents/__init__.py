"""Agents: one role per module (coder, inducer, critic, judge, reflector, writer, extractor).

The names below are imported on first use, so `import writer_r1.agents` stays light.

Example:
    >>> from writer_r1.agents import Judge
    >>> Judge.__name__
    'Judge'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from writer_r1._lazy import lazy_exports

if TYPE_CHECKING:
    from writer_r1.agents.coder import Coder, CodingResult
    from writer_r1.agents.critic import Critic
    from writer_r1.agents.extractor import ConstraintExtractor, extract_rules
    from writer_r1.agents.inducer import Inducer, Induction
    from writer_r1.agents.judge import Comparison, Judge
    from writer_r1.agents.reflector import Reflector, Weakness, rank_weaknesses
    from writer_r1.agents.writer import Writer

_EXPORTS = {
    "Coder": "writer_r1.agents.coder",
    "CodingResult": "writer_r1.agents.coder",
    "Critic": "writer_r1.agents.critic",
    "ConstraintExtractor": "writer_r1.agents.extractor",
    "extract_rules": "writer_r1.agents.extractor",
    "Inducer": "writer_r1.agents.inducer",
    "Induction": "writer_r1.agents.inducer",
    "Comparison": "writer_r1.agents.judge",
    "Judge": "writer_r1.agents.judge",
    "Reflector": "writer_r1.agents.reflector",
    "Weakness": "writer_r1.agents.reflector",
    "rank_weaknesses": "writer_r1.agents.reflector",
    "Writer": "writer_r1.agents.writer",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
