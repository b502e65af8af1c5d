"""Does QGNet's prior help? QGNet's match decoder against its baseline on cached features, with the controls.

    python experiments/prior_study.py --root CAMVID_ROOT --fold 0 \
        --prior contrastive=runs/prior/camvid-vgg16-k256/checkpoint.pth.tar --prior imagenet=imagenet \
        --prior random=random --cache runs/prior-study-f0.pt --out runs/prior-study-f0.json

The start point is frozen (ImageNet VGG-16), so everything the decoders read is a fixed function of each episode:
the eight layer-3 and layer-4 similarity maps of the match-maps8 run, the query's layer-4 features (the bridge of
QGNet's eq. 9) and, for each prior extractor, its layer-4 features of the query (eq. 8). They are computed once (training episodes of the
base classes, validation episodes of the novel classes drawn with --val-seed, not the test seed), then every
variant trains on them with the same steps, batches, optimiser (AdamW, poly decay), object weight and seeds:

- baseline: the match decoder on the eight maps (kernel 1, the cpu-vgg16 preset's decoder);
- qgnet (PRIOR): QGNet's prior region map (its two learned 3x3 projections, cosine-max, min-max: eqs. 9-12) as a
  ninth map, the prior extractor PRIOR's features on the query;
- the controls: the same trained qgnet with the prior map zeroed at test; the projections frozen at their random
  initialisation (the map is then a fixed random function of the two feature maps).

Each PRIOR is a MoCo checkpoint of `qgnet pretrain --arch vgg16` (its key encoder), `imagenet` (the start point
itself, no contrastive step) or `random` (a VGG-16 at random weights, seed 0). Prints mean +- std of the validation
mIoU per variant and the difference to the baseline per seed; --out writes every run.
"""
import argparse, statistics, sys, time, torch
from pathlib import Path
from torch import nn
from qgnet_nb.backbones import VGGBackbone, make_backbone
from qgnet_nb.core import save_json
from qgnet_nb.data import make_dataset
from qgnet_nb.fem import MatchDecoder
from qgnet_nb.models import build_model
from qgnet_nb.prior_extractor import load_prior_extractor
from qgnet_nb.region_maps import PriorRegionMap
from decoder_study import CONTRAST, fit, score, study_flags, train_and_score   # this script's folder is on sys.path
from map_probe import match_inputs


def prior_extractor(spec: str) -> nn.Module:
    "A frozen VGG-16 prior extractor: a `qgnet pretrain` checkpoint, `imagenet` or `random`."
    if spec == 'imagenet': return make_backbone('vgg16', 'imagenet')[0].eval()
    if spec == 'random':
        torch.manual_seed(0)
        return VGGBackbone().eval()
    return load_prior_extractor(spec).eval()


@torch.no_grad()
def cache(a, priors: dict) -> dict:
    "The maps, the query's layer 4 and each prior extractor's layer 4 (fp16), targets, classes, sizes per episode."
    model = build_model('baseline', backbone='vgg16', weights='imagenet', decoder='match', dim=8,
                       match_maps=CONTRAST).eval()
    nets = {n: None if s == 'imagenet' else prior_extractor(s) for n, s in priors.items()}   # imagenet: the backbone
    seen, features = {}, model._features
    def recorded(*x):                                   # the query's layer 4, as the model computes it
        r = features(*x)
        seen['q4'] = r[2][1]
        return r
    model._features = recorded
    def collect(ds):
        out = {'maps': [], 'q4': [], 'target': [], 'class_id': [], 'size': [], **{f'p4-{n}': [] for n in nets}}
        for i in range(len(ds)):
            e = ds[i]
            out['maps'].append(match_inputs(model, e)[1])
            q4 = seen['q4'][0].half()
            out['q4'].append(q4)
            for n, net in nets.items(): out[f'p4-{n}'].append(q4 if net is None else net(e['query_img'][None])['layer4'][0].half())
            out['target'].append(e['query_mask'].to(torch.uint8))
            out['class_id'].append(int(e['class_id']))
            out['size'].append([int(v) for v in e.get('query_size', e['query_mask'].shape)])
        return {k: torch.stack(v) if torch.is_tensor(v[0]) else v for k, v in out.items()}
    tr = make_dataset('camvid', a.root, split=None, fold=a.fold, shot=1, mode='train', size=a.size,
                      episodes=a.train_episodes, seed=a.seed)
    va = make_dataset('camvid', a.root, split='val', fold=a.fold, shot=1, mode='test', size=a.size,
                      episodes=a.val_episodes, seed=a.val_seed)
    return {'train': collect(tr), 'val': collect(va), 'classes': list(va.classes),
            'names': [va.class_names[c] for c in va.classes], 'maps': list(CONTRAST), 'priors': priors}


class PriorDecoder(nn.Module):
    "QGNet's match path on cached inputs: the prior region map of (query layer 4, prior layer 4), then the maps."
    def __init__(self, n_maps: int, channels: int, a, train_projections: bool = True):
        super().__init__()
        self.prior = PriorRegionMap(channels, channels, 64, dropout=0.0)
        self.match = MatchDecoder(n_maps + 1, a.dim, kernel=1)
        self.prior.requires_grad_(train_projections)
        self.zero_prior = False

    def forward(self, x):
        maps, q4, p4 = x
        pm = self.prior(q4.float(), p4.float(), size=maps.shape[-2:])
        return self.match(torch.cat([torch.zeros_like(pm) if self.zero_prior else pm, maps], 1))


def run_prior(D: dict, name: str, seed: int, a, train_projections: bool = True) -> dict:
    "One qgnet variant with prior extractor `name`: trained, scored, and (projections trained) scored prior-zeroed."
    torch.manual_seed(seed)
    net = PriorDecoder(len(D['maps']), D['train']['q4'].shape[1], a, train_projections)
    inputs = lambda split, idx: (D[split]['maps'][idx], D[split]['q4'][idx], D[split][f'p4-{name}'][idx])
    last = fit(net, inputs, D, 1.0, seed, a)
    out = dict(seed=seed, **score(net, inputs, D), last_loss=last)
    if train_projections:
        net.zero_prior = True
        out['zeroed'] = score(net, inputs, D)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--root', required=True, help='the CamVid-FSS root')
    p.add_argument('--fold', type=int, default=0)
    p.add_argument('--prior', action='append', required=True, help='NAME=CHECKPOINT, NAME=imagenet or NAME=random')
    study_flags(p)
    p.add_argument('--cache', type=Path, default=None, help='the cached inputs (made when absent or different)')
    p.add_argument('--out', default=None)
    a = p.parse_args(argv)
    priors = dict(s.split('=', 1) for s in a.prior)
    t0 = time.perf_counter()
    D = torch.load(a.cache, weights_only=True) if a.cache is not None and a.cache.is_file() else None
    if D is None or D['priors'] != priors or len(D['train']['target']) != a.train_episodes:
        D = cache(a, priors)
        if a.cache is not None: torch.save(D, a.cache)
    print(f"inputs of {len(D['train']['target'])} training and {len(D['val']['target'])} validation episodes "
          f"({time.perf_counter() - t0:.0f} s)")
    runs = {'baseline': [train_and_score(D, tuple(D['maps']), 1, 1.0, s, a) for s in a.seeds]}
    for n in priors:
        runs[f'qgnet ({n})'] = [run_prior(D, n, s, a) for s in a.seeds]
        runs[f'qgnet ({n}), prior zeroed at test'] = [r.pop('zeroed') | {'seed': r['seed']} for r in runs[f'qgnet ({n})']]
        runs[f'qgnet ({n}), projections frozen'] = [run_prior(D, n, s, a, False) for s in a.seeds]
    base = [r['miou'] for r in runs['baseline']]
    print('| variant | mIoU, mean +- std | per seed | minus the baseline, mean +- std |\n|---|---|---|---|')
    for name, rs in runs.items():
        m, d = [100 * r['miou'] for r in rs], [100 * (r['miou'] - b) for r, b in zip(rs, base)]
        sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
        print(f"| {name} | {statistics.mean(m):.1f} +- {sd(m):.1f} | {' / '.join(f'{v:.1f}' for v in m)} | "
              f"{statistics.mean(d):+.1f} +- {sd(d):.1f} |", flush=True)
    if a.out:
        conf = {k: v for k, v in vars(a).items() if k not in ('root', 'cache', 'out', 'prior')}
        save_json(dict(config=conf, priors={n: (s if s in ('imagenet', 'random') else Path(s).parent.name)
                                            for n, s in priors.items()}, variants=runs), a.out)
    return 0


if __name__ == '__main__': sys.exit(main())
