"""IIR's inter-image prior with two prototypes (core and local) against one (the whole mask), on the same episodes.

Both maps come from the same frozen layer-4 features of the same test episodes, so the one difference is IIR's idea:
- two prototypes: IIR's inter-image prior (the cosine to the core prototype, pooled where the support's mask and its
  CAM-foreground agree, inside the query's CAM-foreground, and to the local prototype, the rest of the mask, outside
  it; each min-max normalised in its own region), as `qgnet_nb.iir.inter_image_refinement` computes it;
- one prototype: the cosine to the whole mask's masked-average prototype, min-max normalised over the query
  (`qgnet_nb.region_maps.prototype_cosine`), the map the two prototypes refine;
- the control that separates IIR's two changes: the same two prototypes, each in its CAM region, but one min-max
  over the whole query, as for one prototype.
Each map is scored with the recall study's meter (recall of 1[V > alpha] over the object, Table 7's measure) and by
the probe's sweep (the mIoU of the best single threshold, chosen with the answers: an upper bound).

    python experiments/iir_prior.py --weights runs/demo/base/backbone.pt --out experiments/results/iir-prior-demo.json
"""
from __future__ import annotations
import argparse, json, time, torch
import torch.nn.functional as F
from pathlib import Path
from qgnet_nb.data import collate_episodes, make_dataset
from qgnet_nb.iir import inter_image_refinement
from qgnet_nb.metrics import THRESHOLDS, RecallMeter, map_at_label
from qgnet_nb.models import build_model
from qgnet_nb.region_maps import min_max_normalize, prototype_cosine, resize
from qgnet_nb.start_point import ThresholdSweep

MAPS = ('one prototype (whole mask)', 'two prototypes (core and local, IIR)',
        'two prototypes, one min-max over the query (control)')


@torch.no_grad()
def episode_maps(model, batch) -> dict:
    """The three maps of one collated episode at the mid-level resolution (1, 1, h, w). IIR's refinement runs with
    layer 4 as its decoder level too, so its region prototypes (core inside the query's CAM-foreground, local
    outside) are the control's."""
    query, masks, (q_mid, q4, s_mid, s4) = model._features(batch['query_img'], batch['support_imgs'],
                                                            batch['support_masks'])
    inter = inter_image_refinement(q_mid, s_mid, q4, s4, q4, s4, masks, model.threshold)
    control = min_max_normalize(F.cosine_similarity(q4.float(), inter['region_proto'].float(), dim=1))[:, None]
    size = q_mid.shape[-2:]
    return dict(zip(MAPS, (prototype_cosine(q4, s4, masks, size=size), resize(inter['prior'], size),
                           resize(control, size))))


def score(model, ds) -> dict:
    "Recall and best-threshold mIoU of the maps over the episodes of `ds`."
    recall = {k: RecallMeter(THRESHOLDS) for k in MAPS}
    sweep = {k: ThresholdSweep(ds.classes, lo=0.0, hi=1.0) for k in MAPS}
    for i in range(len(ds)):
        b = collate_episodes([ds[i]])
        t, c = b['query_mask'][0], int(b['class_id'][0])
        for k, m in episode_maps(model, b).items():
            v = map_at_label(m.float(), b['query_img'].shape[-2:], b['query_size'][0], t.shape)
            recall[k].update(v, t)
            sweep[k].update(v, t, c)
    out = {}
    for k in MAPS:
        miou, thr, per_class = sweep[k].best()
        out[k] = dict(recall=recall[k].summary(), miou=miou, threshold=thr,
                      per_class=dict(zip([ds.class_names[c] for c in ds.classes], per_class)))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--weights', required=True, help="the backbone's start point: a checkpoint, or imagenet")
    p.add_argument('--backbone', default='resnet18')
    p.add_argument('--data', default='demo')
    p.add_argument('--root', default=None)
    p.add_argument('--fold', type=int, default=0)
    p.add_argument('--size', type=int, default=128)
    p.add_argument('--episodes', type=int, default=200)
    p.add_argument('--seed', type=int, default=321)
    p.add_argument('--threshold', default='mean', help="IIR's CAM threshold on the support: mean or otsu")
    p.add_argument('--out', default=None)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    model = build_model('iir', backbone=a.backbone, weights=a.weights, decoder='match', dim=8,
                        threshold=a.threshold).eval()
    ds = make_dataset(a.data, a.root, split='val', fold=a.fold, shot=1, mode='test', size=a.size,
                      episodes=a.episodes, seed=a.seed)
    res = score(model, ds)
    print('| map | mIoU at its best threshold | mean inside / outside the object | ' +
          ' | '.join(f'recall at {t:.1f}' for t in THRESHOLDS) + ' |\n|---|---|---|' + '---|' * len(THRESHOLDS))
    for k, r in res.items():
        rc = r['recall']
        print(f"| {k} | {100 * r['miou']:.1f} | {rc['mean_inside']:.2f} / {rc['mean_outside']:.2f} | " +
              ' | '.join(f'{100 * v:.1f}' for v in rc['recall']) + ' |')
    print(f'{time.perf_counter() - t0:.0f} s')
    if a.out:
        conf = {k: v for k, v in vars(a).items() if k != 'out'}
        Path(a.out).write_text(json.dumps(dict(config=conf, maps=res, classes=list(ds.class_names[c] for c in ds.classes)),
                                          indent=1) + '\n')
    return 0


if __name__ == '__main__': raise SystemExit(main())
