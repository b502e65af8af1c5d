"""Which match decoder learns from a frozen start point? Decoders trained on cached similarity maps, several seeds.

    python experiments/decoder_study.py --root CAMVID_ROOT --backbone vgg16 --weights imagenet \
        --cache runs/maps-vgg16.pt --out runs/decoder-study.json

With the backbone frozen, the match decoder's input maps are a fixed function of each episode, so they are
computed once (`--train-episodes` training episodes of the base classes, `--val-episodes` validation episodes of
the novel classes, drawn with `--val-seed`, not the test seed) and every decoder variant then trains in seconds on
the same maps: kernel 3 (the dilated 3x3 stack) against kernel 1 (each position alone), object weight 2 (the CPU
preset) against 1, the default six maps (mid-level and layer 4) against the six of layer 3 and layer 4, and those
with the two object-against-background contrasts added. The maps of every variant are cached once, by name (a model
whose `match_maps` is their union). Every variant gets the same steps, batches, optimiser (AdamW, poly decay) and seeds; the
training episodes are the cached ones, without the per-epoch augmentation of `qgnet train`. Prints mean +- std of
the validation mIoU per variant; --out writes every run.
"""
import argparse, statistics, sys, time, torch
from pathlib import Path
from torch.nn import functional as F
from qgnet_nb.core import save_json
from qgnet_nb.data import make_dataset
from qgnet_nb.fem import MatchDecoder, segmentation_ce
from qgnet_nb.metrics import IoUMeter
from qgnet_nb.models import build_model
from qgnet_nb.qgnet import MATCH_MAPS
from map_probe import match_inputs              # this script's folder is on sys.path

L34 = ('guided', 'prototype-layer3', 'prototype-layer4', 'calibrated-layer3', 'calibrated-layer4', 'cosmax-layer3')
CONTRAST = L34 + ('contrast-layer3', 'contrast-layer4')          # the match-maps8 run's maps
VARIANTS = {'kernel 3, object weight 2 (the CPU preset)': (MATCH_MAPS, 3, 2.0),
            'kernel 3, object weight 1': (MATCH_MAPS, 3, 1.0), 'kernel 1, object weight 2': (MATCH_MAPS, 1, 2.0),
            'kernel 1, object weight 1': (MATCH_MAPS, 1, 1.0),
            'kernel 1, object weight 1, layer-3 and layer-4 maps': (L34, 1, 1.0),
            'kernel 1, object weight 2, layer-3 and layer-4 maps': (L34, 1, 2.0),
            'kernel 1, object weight 1, layer-3 and layer-4 maps + contrasts': (CONTRAST, 1, 1.0),
            'kernel 1, object weight 2, layer-3 and layer-4 maps + contrasts': (CONTRAST, 1, 2.0)}
NAMES = tuple(dict.fromkeys(n for maps, _, _ in VARIANTS.values() for n in maps))     # their union, in order


def cache_maps(a) -> dict:
    "The maps of every variant (`NAMES`), the targets, classes and sizes, for the training and validation episodes."
    model = build_model('baseline', backbone=a.backbone, weights=a.weights, decoder='match', dim=8,
                       match_maps=NAMES).eval()
    def collect(ds):
        out = {'maps': [], 'target': [], 'class_id': [], 'size': []}
        for i in range(len(ds)):
            e = ds[i]
            out['maps'].append(match_inputs(model, e)[1])
            out['target'].append(e['query_mask'].to(torch.uint8))
            out['class_id'].append(int(e['class_id']))
            out['size'].append([int(v) for v in e.get('query_size', e['query_mask'].shape)])
        return {**out, 'maps': torch.stack(out['maps']), 'target': torch.stack(out['target'])}
    tr = make_dataset(a.data, a.root, split=None, fold=a.fold, shot=1, mode='train', size=a.size,
                      episodes=a.train_episodes, seed=a.seed)
    va = make_dataset(a.data, a.root, split='val', fold=a.fold, shot=1, mode='test', size=a.size,
                      episodes=a.val_episodes, seed=a.val_seed)
    return {'train': collect(tr), 'val': collect(va), 'classes': list(va.classes),
            'names': [va.class_names[c] for c in va.classes], 'maps': list(NAMES)}


def fit(net, inputs, D: dict, fg: float, seed: int, a):
    """Train `net` (inputs -> (logits, aux)) on the cached training episodes: AdamW with poly decay, random batches
    drawn with `seed`; `inputs(split, index)` gives its input for those episodes. Returns the last loss."""
    Y = D['train']['target'].long()
    opt = torch.optim.AdamW([q for q in net.parameters() if q.requires_grad], lr=a.lr, weight_decay=a.weight_decay)
    g = torch.Generator().manual_seed(seed)
    for step in range(a.steps):
        for group in opt.param_groups: group['lr'] = a.lr * (1 - step / a.steps) ** 0.9
        idx = torch.randint(len(Y), (a.batch_size,), generator=g)
        logits = F.interpolate(net(inputs('train', idx))[0], size=Y.shape[-2:], mode='bilinear', align_corners=False)
        loss = segmentation_ce(logits, Y[idx], weight=[1.0, fg])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


@torch.no_grad()
def score(net, inputs, D: dict) -> dict:
    "`net`'s novel-class mIoU (and per class) on the cached validation episodes, at the input's scale."
    net.eval()
    V, meter = D['val'], IoUMeter(D['classes'])
    for i in range(len(V['target'])):
        h, w = V['size'][i]
        lg = F.interpolate(net(inputs('val', slice(i, i + 1)))[0], size=V['target'].shape[-2:], mode='bilinear',
                           align_corners=False)[0]
        meter.update(lg[:, :h, :w].argmax(0), V['target'][i, :h, :w].long(), V['class_id'][i])
    return dict(miou=meter.miou(), per_class=dict(zip(D['names'], meter.per_class().values())))


def train_and_score(D: dict, maps: tuple, kernel: int, fg: float, seed: int, a) -> dict:
    """One decoder reading the cached `maps` (names), trained on the training episodes and scored on the validation
    ones (mIoU at the input's scale)."""
    torch.manual_seed(seed)
    ch = [D['maps'].index(n) for n in maps]
    dec = MatchDecoder(len(ch), a.dim, kernel=kernel)
    inputs = lambda split, idx: D[split]['maps'][idx][:, ch]
    last = fit(dec, inputs, D, fg, seed, a)
    return dict(seed=seed, **score(dec, inputs, D), last_loss=last)


def study_flags(p: argparse.ArgumentParser):
    "The episodes and the decoder training that the cached-input studies (this one, prior_study.py) share."
    p.add_argument('--size', type=int, default=241)
    p.add_argument('--train-episodes', type=int, default=400)
    p.add_argument('--val-episodes', type=int, default=100)
    p.add_argument('--seed', type=int, default=0, help='seed of the training episodes')
    p.add_argument('--val-seed', type=int, default=7, help='seed of the validation episodes (not the test seed 321)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2], help='decoder seeds of every variant')
    p.add_argument('--steps', type=int, default=200)
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--weight-decay', type=float, default=1e-2)
    p.add_argument('--dim', type=int, default=32)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default='camvid')
    p.add_argument('--root', default=None)
    p.add_argument('--fold', type=int, default=0)
    p.add_argument('--backbone', default='vgg16')
    p.add_argument('--weights', default='imagenet')
    study_flags(p)
    p.add_argument('--cache', type=Path, default=None, help='the cached maps (made when absent)')
    p.add_argument('--out', default=None)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    if a.cache is not None and a.cache.is_file():
        D = torch.load(a.cache, weights_only=True)
        D.setdefault('maps', list(MATCH_MAPS))                  # a cache written before maps were named
    if a.cache is None or not a.cache.is_file() or set(NAMES) - set(D['maps']):
        D = cache_maps(a)
        if a.cache is not None: torch.save(D, a.cache)
    print(f"maps of {len(D['train']['maps'])} training and {len(D['val']['maps'])} validation episodes "
          f"({time.perf_counter() - t0:.0f} s)")
    runs = {}
    print('| decoder | mIoU, mean +- std | per seed |\n|---|---|---|')
    for name, (maps, kernel, fg) in VARIANTS.items():
        runs[name] = [dict(train_and_score(D, maps, kernel, fg, s, a), maps=list(maps)) for s in a.seeds]
        m = [100 * r['miou'] for r in runs[name]]
        print(f"| {name} | {statistics.mean(m):.1f} +- {statistics.stdev(m) if len(m) > 1 else 0:.1f} | "
              f"{' / '.join(f'{v:.1f}' for v in m)} |", flush=True)
    if a.out:
        conf = {k: v for k, v in vars(a).items() if k not in ('root', 'cache', 'out')}
        save_json(dict(config=conf, variants=runs), a.out)
    return 0


if __name__ == '__main__': sys.exit(main())
