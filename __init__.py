"""writer-r1: better LLM writing with interpretable, fine-grained criteria.

The public API is imported lazily so that `import writer_r1` stays light (no torch, no clients).

Example:
    >>> import writer_r1
    >>> writer_r1.load_chat_model("fake").invoke("hello").content != ""
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from writer_r1._lazy import lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time `__getattr__` imports on first use
    from writer_r1.agents.extractor import ConstraintExtractor
    from writer_r1.agents.judge import Judge
    from writer_r1.constraints import averify, verify
    from writer_r1.constraints.verify import ConstraintReport
    from writer_r1.core.criteria import ConstraintSpec, CriteriaSet, Criterion, Dimension, Level
    from writer_r1.core.models import load_chat_model
    from writer_r1.core.scorecard import ConstraintResult, CriterionScore, Scorecard, UnscoredCriterion
    from writer_r1.core.structured import ainvoke_structured, invoke_structured
    from writer_r1.graphs.criteria import abuild_criteria, astream_criteria, build_criteria
    from writer_r1.graphs.library_reuse import acriteria_for, criteria_for
    from writer_r1.graphs.reflection import ReflectionResult, areflect, reflect
    from writer_r1.graphs.reflective_model import ReflectiveChatModel
    from writer_r1.memory.experience import ExperienceMemory
    from writer_r1.memory.library import CriteriaLibrary
    from writer_r1.rl.rewards import ConstraintReward, CriteriaReward, MixedReward
    from writer_r1.rl.rlmr import rlmr_rewards

_EXPORTS = {
    # data model
    "CriteriaSet": "writer_r1.core.criteria",
    "Criterion": "writer_r1.core.criteria",
    "Dimension": "writer_r1.core.criteria",
    "Level": "writer_r1.core.criteria",
    "ConstraintSpec": "writer_r1.core.criteria",
    "Scorecard": "writer_r1.core.scorecard",
    "CriterionScore": "writer_r1.core.scorecard",
    "UnscoredCriterion": "writer_r1.core.scorecard",
    "ConstraintResult": "writer_r1.core.scorecard",
    "ConstraintReport": "writer_r1.constraints.verify",
    # models
    "load_chat_model": "writer_r1.core.models",
    "invoke_structured": "writer_r1.core.structured",
    "ainvoke_structured": "writer_r1.core.structured",
    # agents and workflows
    "Judge": "writer_r1.agents.judge",
    "ConstraintExtractor": "writer_r1.agents.extractor",
    "verify": "writer_r1.constraints",
    "averify": "writer_r1.constraints",
    "build_criteria": "writer_r1.graphs.criteria",
    "abuild_criteria": "writer_r1.graphs.criteria",
    "astream_criteria": "writer_r1.graphs.criteria",
    "criteria_for": "writer_r1.graphs.library_reuse",
    "acriteria_for": "writer_r1.graphs.library_reuse",
    "reflect": "writer_r1.graphs.reflection",
    "areflect": "writer_r1.graphs.reflection",
    "ReflectionResult": "writer_r1.graphs.reflection",
    "ReflectiveChatModel": "writer_r1.graphs.reflective_model",
    "CriteriaLibrary": "writer_r1.memory.library",
    "ExperienceMemory": "writer_r1.memory.experience",
    "CriteriaReward": "writer_r1.rl.rewards",
    "ConstraintReward": "writer_r1.rl.rewards",
    "MixedReward": "writer_r1.rl.rewards",
    "rlmr_rewards": "writer_r1.rl.rlmr",
}

__all__ = ["__version__", *_EXPORTS]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
