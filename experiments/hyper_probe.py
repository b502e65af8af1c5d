"""Many layers against one: each similarity KIND at layer 3 and as the mean over the blocks of the backbone's two
deepest stages (`KIND-hyper`), and the contrast map of each block alone, on CamVid-FSS and on the FSS-1000 sample.

    python experiments/hyper_probe.py --root CAMVID_ROOT --out experiments/results/hyper-probe.json
    python experiments/hyper_probe.py --root CAMVID_ROOT --fss FSS_ROOT --backbone vgg16 --weights imagenet

No training: each map is the frozen backbone's (`qgnet_nb.qgnet.similarity_maps`, as the match decoder reads it,
at the finest block's resolution), cut at its one best threshold over all episodes of a set, chosen with the answers
(`start_point.ThresholdSweep`): an upper bound for one map, the same rule as `qgnet probe` and `map_probe.py`.
CamVid-FSS episodes are novel-class validation episodes of a seed other than the test seed (7 by default); the
FSS-1000 episodes are those of `cross_domain.py`, every ordered pair of distinct images of a class. `KIND-layer3` is
the map at the end of layer 3 (after VGG-16's pooling), as the `match-maps8` run reads it.
Prints a table; --out writes the JSON that `experiments/table.py --results` renders into RESULTS.md.
"""
import argparse, sys, time
from pathlib import Path
import numpy as np
import torch
from qgnet_nb.core import read_mask, save_json, shared_data_dir
from qgnet_nb.data import make_dataset
from qgnet_nb.metrics import map_at_label
from qgnet_nb.models import build_model
from qgnet_nb.qgnet import MATCH_KINDS, match_size, similarity_maps
from qgnet_nb.segment import _support_batch, as_image, as_mask, own_query
from qgnet_nb.start_point import ThresholdSweep
from cross_domain import class_images, episodes         # this script's folder is on sys.path


@torch.no_grad()
def episode_maps(model, query, s_imgs, s_masks) -> tuple[dict, tuple]:
    "One episode's maps {name: (1, 1, h, w)}: every KIND at layer 3 and at `hyper`, then each block's contrast."
    _, masks, feats = model._features(query, s_imgs, s_masks)
    q_taps, s_taps, size = *feats[4:6], match_size(feats)
    one = lambda k: similarity_maps(model.backbone, ['contrast-hyper'], feats[:4] + ([q_taps[k]], [s_taps[k]]),
                                    masks, size)[0]
    names = [f'{k}-{l}' for k in MATCH_KINDS for l in ('layer3', 'hyper')]
    maps = dict(zip(names, similarity_maps(model.backbone, names, feats, masks, size)))
    maps.update({f'contrast, block {k + 1}': one(k) for k in range(len(q_taps))})
    return maps, size


def camvid_sweeps(model, root, fold: int, size: int, n: int, seed: int) -> tuple[dict, list[str]]:
    ds = make_dataset('camvid', root, split='val', fold=fold, shot=1, mode='test', size=size, episodes=n, seed=seed)
    sweeps = None
    for i in range(len(ds)):
        e = ds[i]
        maps, _ = episode_maps(model, e['query_img'][None], e['support_imgs'][None], e['support_masks'][None])
        sweeps = sweeps or {k: ThresholdSweep(ds.classes, lo=0, hi=1) for k in maps}
        h, w = (int(v) for v in e['query_size'])
        for k, m in maps.items():
            sweeps[k].update(map_at_label(m.float(), e['query_img'].shape[-2:], (h, w), (h, w)),
                             e['query_mask'][:h, :w], e['class_id'])
    return sweeps, [ds.class_names[c] for c in ds.classes]


def fss_sweeps(model, root: Path, classes, size: int) -> tuple[dict, list[str]]:
    data, sweeps = class_images(root, classes), None
    for k, (c, pairs) in enumerate(data.items()):
        for s, q in episodes(pairs):
            img = as_image(pairs[s][0])
            sup = _support_batch([(img, as_mask(pairs[s][1], img.shape[:2]))], size)
            qq = own_query(as_image(pairs[q][0]), size)
            maps, _ = episode_maps(model, qq['query_img'][None], sup['support_imgs'][None],
                                   sup['support_masks'][None])
            sweeps = sweeps or {n: ThresholdSweep(list(range(len(data))), lo=0, hi=1) for n in maps}
            gt = torch.from_numpy((read_mask(pairs[q][1]) == 255).astype(np.uint8))
            for n, m in maps.items():
                sweeps[n].update(map_at_label(m.float(), qq['query_img'].shape[-2:], qq['query_size'].tolist(),
                                              gt.shape), gt, k)
    return sweeps, list(data)


def best(sweeps: dict, names: list[str]) -> dict:
    out = {}
    for n, s in sweeps.items():
        miou, th, per = s.best()
        out[n] = dict(miou=miou, threshold=th, per_class=dict(zip(names, per)))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--root', required=True, help='CamVid-FSS folder')
    p.add_argument('--fss', type=Path, default=None, help='FSS-1000-layout folder (default: the sample fss1000_mini)')
    p.add_argument('--classes', nargs='+', default=['eiffel_tower', 'african_elephant'])
    p.add_argument('--backbone', default='vgg16')
    p.add_argument('--weights', default='imagenet')
    p.add_argument('--fold', type=int, default=0)
    p.add_argument('--size', type=int, default=241)
    p.add_argument('--episodes', type=int, default=100)
    p.add_argument('--seed', type=int, default=7)
    p.add_argument('--out', default=None)
    a = p.parse_args(argv)
    fss = a.fss or shared_data_dir() / 'fss1000_mini'
    if not Path(a.root).is_dir(): raise SystemExit(f'--root {a.root}: not a folder (expected a CamVid-FSS folder)')
    if not fss.is_dir(): raise SystemExit(f'--fss {fss}: not a folder (expected the FSS-1000 layout)')
    model = build_model('baseline', backbone=a.backbone, weights=a.weights, decoder='match', dim=8,
                        match_maps=('contrast-layer3', 'contrast-hyper')).eval()
    t0 = time.perf_counter()
    sets = {f'camvid val, fold {a.fold}': best(*camvid_sweeps(model, a.root, a.fold, a.size, a.episodes, a.seed)),
            'fss1000': best(*fss_sweeps(model, fss, a.classes, a.size))}
    res = dict(backbone=a.backbone, start_point=model.start_point['backbone'], size=a.size, fold=a.fold,
               episodes=a.episodes, seed=a.seed, fss=fss.name, classes=a.classes, sets=sets,
               seconds=round(time.perf_counter() - t0, 1))
    print(table(res))
    if a.out: save_json(res, a.out)
    return 0


def table(d: dict) -> str:
    "Each map's mIoU at its best threshold, per set of episodes, with its classes."
    sets = d['sets']
    out = ['| map | ' + ' | '.join(f'{s}: mIoU (threshold; per class)' for s in sets) + ' |',
           '|---|' + '---|' * len(sets)]
    for n in next(iter(sets.values())):
        cell = lambda r: (f"{100 * r['miou']:.1f} ({r['threshold']:.2f}; " +
                          ', '.join(f'{c} {100 * v:.1f}' for c, v in r['per_class'].items()) + ')')
        out.append(f'| {n} | ' + ' | '.join(cell(sets[s][n]) for s in sets) + ' |')
    return '\n'.join(out)


if __name__ == '__main__': sys.exit(main())
