#!/usr/bin/env bash
# GPU check: the slow training tests (tests/slow: TRL GRPO/SFT on a tiny random Qwen2) on CUDA in bf16, among them
# tests/slow/test_train_quality_sources.py (RLMR with a tiny reward model in bf16 and with pairwise judging).
# Run from the repo root on an offline GPU machine that already has torch, transformers, accelerate, peft
# and friends for `python3`; the rest come as wheels in .whl/ when that folder exists (an offline machine),
# else `pip install -e ".[dev,train]"` must have installed them.
# The repo root is the `writer_r1` package, so it is put on the path through a symlink.
# Usage: bash bench/gpu_check.sh   (logs under $OUT, default /tmp/out; exit status is pytest's)
set -uo pipefail
OUT=${OUT:-/tmp/out}
SITE=${SITE:-/tmp/site}
mkdir -p "$OUT" /tmp/src
ln -sfn "$PWD" /tmp/src/writer_r1
if compgen -G ".whl/*.whl" >/dev/null; then  # an offline machine: the packages came along as wheels
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
    || python3 -c 'import glob, sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in glob.glob(".whl/*.whl")]' "$SITE" \
    || { echo "installing .whl/ failed" >&2; exit 3; }
fi
export PYTHONPATH="$SITE:/tmp/src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

nvidia-smi -L 2>&1 | tee "$OUT/env.log"
python3 - <<'PY' 2>&1 | tee -a "$OUT/env.log"
import importlib.metadata as md, sys
import torch, transformers, trl, datasets, pydantic, langgraph, langchain_openai, pytest_asyncio  # noqa: F401
import writer_r1, writer_r1.rl.train, writer_r1.rl.rewards, writer_r1.rl.replay, writer_r1.testing  # noqa: F401
import writer_r1.rl.classifier, writer_r1.rl.pairwise  # noqa: F401
print("python", sys.version.split()[0], "| writer_r1 at", writer_r1.__file__)
for name in ("torch", "transformers", "accelerate", "peft", "huggingface_hub", "tokenizers", "trl", "datasets",
             "pydantic", "langchain-core", "langgraph", "openai", "pytest", "pytest-asyncio"):
    print(f"  {name} {md.version(name)}")
print("cuda available:", torch.cuda.is_available(), "| torch cuda", torch.version.cuda)
assert torch.cuda.is_available(), "no GPU visible to torch"
print("device:", torch.cuda.get_device_name(0), "| bf16:", torch.cuda.is_bf16_supported())
x = torch.randn(64, 64, device="cuda", dtype=torch.bfloat16)
print("matmul ok:", float((x @ x).float().abs().sum()) > 0)
PY
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "smoke check failed: see $OUT/env.log" >&2; exit 4; }

WRITER_R1_TEST_DEVICE=cuda timeout 300 python3 -m pytest tests/slow -q -x -p no:cacheprovider --import-mode=importlib \
  -o addopts="" --durations=10 2>&1 | tee "$OUT/slow_gpu.log"
exit "${PIPESTATUS[0]}"
