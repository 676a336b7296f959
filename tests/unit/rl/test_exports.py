"""`writer_r1.rl` re-exports its public names lazily: importing them loads no torch, TRL or client."""

from __future__ import annotations

import subprocess
import sys


def test_every_public_name_resolves_without_loading_torch() -> None:
    code = (
        "import sys, writer_r1.rl as rl\n"
        "heavy = lambda: sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'transformers', 'trl'})\n"
        "assert heavy() == [], heavy()\n"
        "from writer_r1.rl import MixedReward, ClassifierReward, PairwiseReward, rlmr_rewards, compliance_flags\n"
        "names = [getattr(rl, name) for name in rl.__all__]\n"
        "assert heavy() == [], heavy()\n"
        "assert set(rl.__all__) <= set(dir(rl))\n"
        "print(len(names))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 19


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pytest
    import writer_r1.rl as rl

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        rl.Nope  # noqa: B018
