#!/usr/bin/env bash
# One call, at most 8 minutes on one GPU: what the fast path buys there, and that training runs end to end.
#
#   bash benchmarks/gpu_check.sh [CAMVID_ROOT]        # CAMVID_ROOT: a CamVid folder (train/, val/ with images/ + labels/)
#
# Prints, section by section (each as soon as it is measured):
#   1. QGNet training and evaluation episodes per second at ResNet-50 / 473 px, and peak GPU memory, for fp32,
#      bf16, bf16 + channels-last, and bf16 + channels-last + torch.compile (benchmarks/gpu_check.py speed);
#   2. FeatureCache keys hashed on the GPU: right, and how long (benchmarks/gpu_check.py cache);
#   3. contrastive pretraining images per second: label maps on the fly, filling the patch cache, read from it
#      (benchmarks/gpu_check.py pretrain);
#   4. the paper's recipe through `torchrun --nproc-per-node 1`, so every collective goes through NCCL: one epoch
#      of `qgnet train` with the FEM decoder at 473 px (ResNet-50, random start: nothing can be downloaded), then
#      `qgnet eval` of it, on CamVid fold 0 when CAMVID_ROOT is given, else on the built-in demo set.
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
timeout 220 $PY benchmarks/gpu_check.py speed || echo "(section 1 stopped: exit $?)"
section "2. FeatureCache keys on the GPU"
timeout 30 $PY benchmarks/gpu_check.py cache || echo "(section 2 failed or stopped: exit $?)"
if [ "$(left)" -lt 60 ]; then
  section "3. contrastive pretraining: skipped, $(left) s left of the budget"
else
  section "3. contrastive pretraining, with and without the patch cache"
  timeout 110 $PY benchmarks/gpu_check.py pretrain || echo "(section 3 stopped: exit $?)"
fi
if [ -n "$CAMVID" ]; then DATA=(--data camvid --root "$CAMVID" --fold 0); WHERE="CamVid fold 0"
else DATA=(--data demo); WHERE="the demo set"; fi
TORCHRUN=($PY -m torch.distributed.run --nproc-per-node 1 --no-python $PY -c \
          'import sys; from qgnet_nb.cli import qgnet_main; sys.exit(qgnet_main())')
if [ "$(left)" -lt 60 ]; then
  section "4. the FEM recipe under torchrun: skipped, $(left) s left of the budget"
else
  section "4. the FEM recipe at 473 px under torchrun --nproc-per-node 1 (NCCL), on $WHERE: one epoch, then eval"
  rm -rf "$OUT/fem"
  timeout $(( $(left) - 40 )) "${TORCHRUN[@]}" train "${DATA[@]}" --model baseline --decoder fem --size 473 \
      --backbone resnet50 --weights none --epochs 1 --batch-size 8 --train-episodes 200 --val-episodes 100 \
      --probe-episodes 0 --workers 4 --out "$OUT/fem" || echo "(training stopped: exit $?)"
  if [ -f "$OUT/fem/last.pt" ]; then
    timeout $(( $(left) > 10 ? $(left) : 10 )) "${TORCHRUN[@]}" eval "${DATA[@]}" --ckpt "$OUT/fem/last.pt" \
        --episodes 300 --workers 4 --out "$OUT/fem/eval.json" || echo "(evaluation stopped: exit $?)"
  fi
fi
section "done"
