"""LangGraph state machines: the Grounded-Theory criteria graph and the MRPO reflection graph.

The names below are imported on first use, so `import writer_r1.graphs` compiles no graph.

Example:
    >>> from writer_r1.graphs import reflect, build_criteria, ReflectiveChatModel
    >>> reflect.__name__, build_criteria.__name__
    ('reflect', 'build_criteria')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from writer_r1._lazy import lazy_exports

if TYPE_CHECKING:
    from writer_r1.graphs.context import CriteriaContext, ReflectionContext
    from writer_r1.graphs.criteria import abuild_criteria, astream_criteria, build_criteria
    from writer_r1.graphs.library_reuse import acriteria_for, criteria_for
    from writer_r1.graphs.reflection import ReflectionResult, areflect, reflect
    from writer_r1.graphs.reflective_model import ReflectiveChatModel

_EXPORTS = {
    "CriteriaContext": "writer_r1.graphs.context",
    "ReflectionContext": "writer_r1.graphs.context",
    "abuild_criteria": "writer_r1.graphs.criteria",
    "astream_criteria": "writer_r1.graphs.criteria",
    "build_criteria": "writer_r1.graphs.criteria",
    "ReflectionResult": "writer_r1.graphs.reflection",
    "areflect": "writer_r1.graphs.reflection",
    "reflect": "writer_r1.graphs.reflection",
    "ReflectiveChatModel": "writer_r1.graphs.reflective_model",
    # "reuse or build criteria" is orchestration (library search + build or adapt), so it lives in graphs
    "acriteria_for": "writer_r1.graphs.library_reuse",
    "criteria_for": "writer_r1.graphs.library_reuse",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
