"""IFEval-compatible evaluation: the 25 instruction checkers, strict and loose mode, official files.

Example:
    >>> from writer_r1.constraints.ifeval import evaluate
    >>> row = {"prompt": "p", "instruction_id_list": ["startend:quotation"], "kwargs": [{}]}
    >>> evaluate([row], {"p": '"quoted"'}, mode="loose")[0].follow_instruction_list
    [True]
"""

from writer_r1.constraints.ifeval.evaluation import (
    IFEvalAccuracy,
    IFEvalInput,
    IFEvalResult,
    accuracies,
    accuracy,
    evaluate,
    evaluate_row,
    loose_variants,
    read_inputs,
    read_responses,
    write_official_results,
)

__all__ = [
    "IFEvalAccuracy",
    "IFEvalInput",
    "IFEvalResult",
    "accuracies",
    "accuracy",
    "evaluate",
    "evaluate_row",
    "loose_variants",
    "read_inputs",
    "read_responses",
    "write_official_results",
]
