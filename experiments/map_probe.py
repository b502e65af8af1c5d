"""Do the match decoder's input maps carry the signal? The probe of each map, before or after training.

    python experiments/map_probe.py --data camvid --root CAMVID_ROOT --fold 0 --backbone vgg16 --weights imagenet \
        --size 241 --episodes 100 --out runs/map-probe-f0.json
    python experiments/map_probe.py ... --ckpt runs/vgg/match-base/last.pt     # a trained model's maps, and its output

`qgnet probe` scores one cosine map per backbone layer; this scores each of the similarity maps the match decoder
actually reads (by default guided, prototype and calibrated cosines of the mid-level and layer-4 features,
cosine-max of the mid-level; with --ckpt, the maps its `match_maps` names), at the resolution the decoder sees
them, with the same rule: novel-class mIoU at the best single threshold over all episodes (chosen with the
answers, so an upper bound for one map), beside all-foreground. With
--ckpt the trained model's own prediction is scored on the same episodes, so a decoder that loses signal shows as
a prediction below its best input map. Prints a table; --out writes it as JSON.
"""
import argparse, json, sys, time, torch
from torch.nn import functional as F
from qgnet_nb.core import save_json
from qgnet_nb.data import make_dataset
from qgnet_nb.metrics import IoUMeter
from qgnet_nb.models import load_checked, build_model
from qgnet_nb.start_point import ThresholdSweep

@torch.no_grad()
def match_inputs(model, e: dict) -> tuple[dict, torch.Tensor]:
    "`model`'s output on episode `e` and the maps its match decoder read, (n_maps, h, w); decoder_study.py uses it."
    seen = {}
    hook = model.match.register_forward_hook(lambda m, inp, out: seen.__setitem__('maps', inp[0]))
    try: out = model(e['query_img'][None], e['support_imgs'][None], e['support_masks'][None])
    finally: hook.remove()
    return out, seen['maps'][0]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default='camvid')
    p.add_argument('--root', default=None)
    p.add_argument('--split', default='val')
    p.add_argument('--fold', type=int, default=0)
    p.add_argument('--backbone', default='vgg16')
    p.add_argument('--weights', default='imagenet')
    p.add_argument('--ckpt', default=None, help='a trained match-decoder checkpoint (its own backbone is probed)')
    p.add_argument('--size', type=int, default=241)
    p.add_argument('--episodes', type=int, default=100)
    p.add_argument('--seed', type=int, default=321)
    p.add_argument('--out', default=None)
    a = p.parse_args(argv)
    ds = make_dataset(a.data, a.root, split=a.split, fold=a.fold, shot=1, mode='test', size=a.size,
                      episodes=a.episodes, seed=a.seed)
    if a.ckpt: model = load_checked(a.ckpt)[0]
    else: model = build_model('baseline', backbone=a.backbone, weights=a.weights, decoder='match', dim=32)
    if getattr(model, 'decoder', None) != 'match': raise SystemExit('--ckpt: expected a model with the match decoder')
    model.eval()
    names = model.match_maps if model.mode == 'baseline' else ('prior',) + model.match_maps
    sweeps = {n: ThresholdSweep(ds.classes, lo=-1, hi=2) for n in names}
    meter = IoUMeter(ds.classes)
    t0 = time.perf_counter()
    for i in range(len(ds)):
        e = ds[i]
        out, maps = match_inputs(model, e)
        maps = F.interpolate(maps[None].float(), size=e['query_img'].shape[-2:], mode='bilinear',
                             align_corners=False)[0]
        h, w = (int(v) for v in e['query_size'])
        t = e['query_mask'][:h, :w]
        for k, n in enumerate(names): sweeps[n].update(maps[k, :h, :w], t, e['class_id'])
        if a.ckpt: meter.update(out['logits'][0, :, :h, :w].argmax(0), t, e['class_id'])
    res = {n: dict(zip(('miou', 'threshold', 'per_class'), s.best())) for n, s in sweeps.items()}
    for r in res.values(): r['per_class'] = dict(zip((ds.class_names[c] for c in ds.classes), r['per_class']))
    summary = dict(maps=res, all_foreground=sweeps[names[0]].all_foreground(), episodes=len(ds), **{
        k: getattr(a, k) for k in ('data', 'split', 'fold', 'backbone', 'weights', 'size', 'seed')})
    if a.ckpt: summary.update(ckpt=a.ckpt, prediction=dict(miou=meter.miou(), per_class={
        ds.class_names[c]: v for c, v in meter.per_class().items()}))
    print(f"| map | mIoU at its best threshold | threshold | {' | '.join(ds.class_names[c] for c in ds.classes)} |")
    print('|---|---|---|' + '---|' * len(ds.classes))
    for n, r in res.items():
        print(f"| {n} | {100 * r['miou']:.1f} | {r['threshold']:.2f} | " +
              ' | '.join(f'{100 * v:.1f}' for v in r['per_class'].values()) + ' |')
    if a.ckpt: print(f"| the trained model's prediction | {100 * meter.miou():.1f} | | " +
                     ' | '.join(f'{100 * v:.1f}' for v in meter.per_class().values()) + ' |')
    seconds = time.perf_counter() - t0
    print(f"all-foreground {100 * summary['all_foreground']:.1f}; {len(ds)} episodes in {seconds:.0f} s")
    if a.out: save_json(summary, a.out)
    return 0


if __name__ == '__main__': sys.exit(main())
