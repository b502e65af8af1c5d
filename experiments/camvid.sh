#!/usr/bin/env bash
# The CamVid-FSS CPU recipe of notebook 08 / the README, as it was produced on the 2-core CPU machine.
# Usage: bash experiments/camvid.sh CAMVID_ROOT   (a CamVid-FSS folder, METHOD.md §4); outputs under runs/camvid/.
# Runs unchanged on any folder of the same layout (train/ and val/, each images/ + labels/) with CamVid's classes.
# Every step resumes or skips when its output exists, so an interrupted run is simply started again.
# train and eval take the fast path (--precision auto: channels-last, bf16 where the CPU multiplies it natively);
# PRECISION=fp32 keeps the plain path.
set -euo pipefail
ROOT=${1:?usage: bash experiments/camvid.sh CAMVID_ROOT (a folder with train/ and val/, each images/ + labels/)}
OUT=${OUT:-runs/camvid}; mkdir -p $OUT/eval
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
PRECISION=${PRECISION:-auto}
MODELS=${MODELS:-"qgnet baseline"}; FOLDS=${FOLDS:-"0 1"}; SHOTS=${SHOTS:-"1 5"}; EPISODES=${EPISODES:-1000}

# 1. QGNet's prior extractor: global + local contrastive pretraining on train/ images, no labels (2.3 min on a 2-core
#    CPU with native bf16, as benchmarks/waits.py --camvid times each step; the whole fold takes 40 min there).
[ -f $OUT/pretrain/checkpoint.pth.tar ] || qgnet pretrain $ROOT/train/images --out $OUT/pretrain --arch resnet18 \
    --size 128 --epochs 3 --batch-size 32 --queue 1024 --local-queue 4096 --bn-group-size 16 --quiet
CK=$OUT/pretrain/checkpoint.pth.tar

for f in $FOLDS; do
  # 2. the backbone's start point: supervised pretraining on the fold's base classes only (novel pixels ignored),
  #    400 steps of 8 crops at 241 px (21 min there), then the feature probe on 100 val episodes.
  [ -f $OUT/base-f$f/backbone.pt ] || qgnet base-pretrain --data camvid --root $ROOT --fold $f --size 241 --steps 400 \
      --batch-size 8 --out $OUT/base-f$f
  # 3. episodic training with the CPU preset: frozen backbone from step 2, the class-agnostic match decoder,
  #    AdamW 3e-3, object weight 2, 4 epochs of 400 episodes (200 steps of 8) at 241 px.
  for m in $MODELS; do
    qgnet train --preset cpu --data camvid --root $ROOT --fold $f --model $m --weights $OUT/base-f$f/backbone.pt \
        --prior $CK --workers 0 --precision $PRECISION --out $OUT/$m-f$f
  done
  # 4. evaluation on val/: the fold's novel classes, 1000 episodes, seed 321, at the original 480x360 resolution
  for m in $MODELS; do for k in $SHOTS; do
    [ -f $OUT/eval/$m-f$f-${k}shot.json ] || qgnet eval --data camvid --root $ROOT --split val --fold $f --shot $k \
        --ckpt $OUT/$m-f$f/last.pt --episodes $EPISODES --workers 0 --precision $PRECISION --out $OUT/eval/$m-f$f-${k}shot.json
  done; done
done
python experiments/table.py $OUT/eval
