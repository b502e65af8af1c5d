#!/usr/bin/env bash
# The CamVid-FSS result of notebook 08 / the README, exactly as it was produced on the 2-core CPU machine.
# Usage: bash experiments/camvid.sh [DATA_ROOT]   (default ../shared/data/camvid); outputs under runs/camvid/.
# Every step resumes or skips when its output exists, so an interrupted run is simply started again.
set -euo pipefail
ROOT=${1:-../shared/data/camvid}; OUT=runs/camvid; mkdir -p $OUT/eval
export OMP_NUM_THREADS=1                # two single-threaded jobs at a time use the 2 cores best
MODELS=${MODELS:-"qgnet baseline"}; FOLDS=${FOLDS:-"0 1"}; SHOTS=${SHOTS:-"1 5"}; EPISODES=${EPISODES:-1000}

# 1. the prior extractor and start point: global + local contrastive pretraining on train/ images, no labels.
#    Scheduled for 8 epochs, stopped after epoch 3 (33 steps, about 10 min) for time; `--epochs 3` resumes
#    nothing and ends there, with a cosine schedule for 3 epochs instead of 8 for those steps.
[ -f $OUT/pretrain/checkpoint.pth.tar ] || qgnet pretrain $ROOT/train/images --out $OUT/pretrain --arch resnet18 \
    --size 128 --epochs 3 --batch-size 32 --queue 1024 --local-queue 4096 --bn-group-size 16 --quiet
CK=$OUT/pretrain/checkpoint.pth.tar

# 2. episodic training, one run per model and fold: frozen ResNet-18 from step 1, 241 px, 6 epochs of 400
#    episodes (600 steps of 4), PFENet's SGD recipe with the x10 learning rate (effective 0.025), poly schedule.
#    No validation during training (--val-every 0): the evaluated model is the last one (last.pt); a finished run
#    started again only reloads it.
for f in $FOLDS; do for m in $MODELS; do
  qgnet train --data camvid --root $ROOT --fold $f --model $m --backbone resnet18 \
      --weights $CK --prior $CK --size 241 --epochs 6 --train-episodes 400 --val-every 0 --val-episodes 100 \
      --lr-x10 --workers 0 --out $OUT/$m-f$f
done; done

# 3. evaluation on val/: the fold's novel classes, 1000 episodes, seed 321, at the original 480x360 resolution
for f in $FOLDS; do for m in $MODELS; do for k in $SHOTS; do
  [ -f $OUT/eval/$m-f$f-${k}shot.json ] || qgnet eval --data camvid --root $ROOT --split val --fold $f --shot $k \
      --ckpt $OUT/$m-f$f/last.pt --episodes $EPISODES --workers 0 --out $OUT/eval/$m-f$f-${k}shot.json
done; done; done
python experiments/table.py $OUT/eval
