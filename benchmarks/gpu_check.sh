#!/usr/bin/env bash
# One call, at most 8 minutes on one GPU: what the fast path buys there, and that training runs end to end.
#
#   bash benchmarks/gpu_check.sh [CAMVID_ROOT]        # CAMVID_ROOT: a CamVid folder (train/, val/ with images/ + labels/)
#
# Prints, section by section (each as soon as it is measured):
#   1. QGNet training and evaluation episodes per second at ResNet-50 / 473 px, and peak GPU memory, for fp32,
#      bf16, bf16 + channels-last, and bf16 + channels-last + torch.compile (benchmarks/gpu_check.py speed);
#   2. contrastive pretraining images per second (benchmarks/gpu_check.py pretrain);
#   3. with CAMVID_ROOT: one epoch of `qgnet train` on CamVid fold 0 (the CPU recipe at ResNet-50) and
#      `qgnet eval` of it on 300 episodes.
# Without a CUDA GPU it says so and exits at once (exit code 0: nothing to measure is not a failure).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
PY=${PYTHON:-python}
QGNET=($PY -c 'import sys; from qgnet_nb.cli import qgnet_main; sys.exit(qgnet_main())')   # the `qgnet` of $PY
OUT=${GPU_CHECK_OUT:-/tmp/qgnet_gpu_check}
if ! $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu_check: no CUDA GPU visible to torch (torch.cuda.is_available() is False); nothing measured"
  exit 0
fi
CAMVID=${1:-${CAMVID_ROOT:-}}
mkdir -p "$OUT"
t0=$(date +%s)
left() { echo $(( 470 - ($(date +%s) - t0) )); }            # seconds left of the 8-minute budget, with a margin
section() { echo; echo "== $1 ($(( $(date +%s) - t0 )) s in)"; }

$PY -c "import torch; print('torch', torch.__version__, '| GPU', torch.cuda.get_device_name(), '|',
        round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1), 'GiB')"
section "1. QGNet episodes per second, ResNet-50 @ 473"
timeout 290 $PY benchmarks/gpu_check.py speed || echo "(section 1 stopped: exit $?)"
if [ "$(left)" -lt 30 ]; then
  section "2. contrastive pretraining: skipped, $(left) s left of the budget"
else
  section "2. contrastive pretraining"
  timeout $(( $(left) < 90 ? $(left) : 90 )) $PY benchmarks/gpu_check.py pretrain || echo "(section 2 stopped: exit $?)"
fi
if [ -z "$CAMVID" ]; then
  section "3. CamVid: skipped (pass a CamVid folder as the first argument)"
elif [ "$(left)" -lt 60 ]; then
  section "3. CamVid: skipped, $(left) s left of the budget"
else
  section "3. CamVid fold 0: one training epoch and its evaluation"
  rm -rf "$OUT/camvid"
  timeout $(( $(left) - 40 )) "${QGNET[@]}" train --data camvid --root "$CAMVID" --fold 0 --preset cpu \
      --backbone resnet50 --weights none --model baseline --epochs 1 --train-episodes 400 --probe-episodes 0 \
      --workers 4 --out "$OUT/camvid" || echo "(training stopped: exit $?)"
  if [ -f "$OUT/camvid/last.pt" ]; then
    timeout $(( $(left) > 10 ? $(left) : 10 )) "${QGNET[@]}" eval --data camvid --root "$CAMVID" --fold 0 \
        --ckpt "$OUT/camvid/last.pt" --episodes 300 --workers 4 --out "$OUT/camvid/eval.json" \
        || echo "(evaluation stopped: exit $?)"
  fi
fi
section "done"
