"""Core: the data model, model backends, structured output and settings. Imports nothing else of ours."""

from writer_r1.core.criteria import (
    ConstraintSpec,
    CriteriaSet,
    Criterion,
    Dimension,
    Level,
    Provenance,
    criteria_json_schema,
    slugify,
)
from writer_r1.core.errors import ModelSpecError, StructuredOutputError, UserError, WriterR1Error
from writer_r1.core.records import (
    Category,
    Code,
    Critique,
    CritiqueIssue,
    Experience,
    ExtractedConstraints,
    Reflection,
    RequirementCode,
)
from writer_r1.core.scorecard import ConstraintResult, CriterionScore, DimensionScore, Scorecard, UnscoredCriterion

__all__ = [
    "Category",
    "Code",
    "ConstraintResult",
    "ConstraintSpec",
    "CriteriaSet",
    "Criterion",
    "CriterionScore",
    "Critique",
    "CritiqueIssue",
    "Dimension",
    "DimensionScore",
    "Experience",
    "ExtractedConstraints",
    "Level",
    "ModelSpecError",
    "Provenance",
    "Reflection",
    "RequirementCode",
    "Scorecard",
    "StructuredOutputError",
    "UnscoredCriterion",
    "UserError",
    "WriterR1Error",
    "criteria_json_schema",
    "slugify",
]
