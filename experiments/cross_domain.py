"""Across domains: CamVid-FSS checkpoints segment FSS-1000 objects through `qgnet_nb.segment.segment`.

    python experiments/cross_domain.py --ckpt vgg16=runs/vgg16/match-kernel1/last.pt --out runs/cross_domain.json
    python experiments/cross_domain.py --root FSS_ROOT --classes eiffel_tower african_elephant --ckpt A=... B=...

--root is a folder of the FSS-1000 layout (CLASS/N.jpg with CLASS/N.png, masks 0/255); by default the sample data's
`fss1000_mini` (`qgnet_nb.core.shared_data_dir()`). For each class, every ordered pair of distinct images is one
1-shot episode (support, query), so a class of n images gives n (n - 1) episodes. Each checkpoint (`NAME=PATH`, a
file or a run folder) answers every query through `segment`, once per support with all the class's other images as
its queries (the support's features computed once); the input side is the checkpoint's training size. A class's
IoU is intersection over union summed over its episodes (`metrics.IoUMeter`, the benchmarks' per-class IoU), and the
overall score the mean over classes; the mean of the episodes' own IoUs is printed beside it.

Beside each checkpoint, the prototype-cosine baseline on that checkpoint's own frozen backbone at --probe-layer (by
default layer3, where `qgnet probe` finds the most signal in the ImageNet VGG-16 start point, RESULTS.md): the cosine
of the query's features to the support's masked-average prototype (`region_maps.masked_average_pool`, as
`start_point.feature_probe`), brought to the query's original size and cut at one threshold for every episode of
every class: the best one (`start_point.ThresholdSweep`), chosen with the answers, so an upper bound for that rule.
Prints a markdown table; --out writes the JSON that `experiments/table.py --results` renders into RESULTS.md.
"""
import argparse, copy, functools, itertools, sys, time
from pathlib import Path
import numpy as np
import torch
from torch.nn import functional as F
from qgnet_nb.core import amp_dtype, get_device, read_mask, save_json, shared_data_dir
from qgnet_nb.episodes import test_transform, train_transform
from qgnet_nb.metrics import IoUMeter
from qgnet_nb.models import eval_wrapper, import_model_modules
from qgnet_nb.region_maps import masked_average_pool
from qgnet_nb.run_state import read_log
from qgnet_nb.segment import as_image, as_mask, find_checkpoint, open_model, own_query, segment
from table import cross_domain_table             # this script's folder is on sys.path: RESULTS.md's table
from qgnet_nb.start_point import ThresholdSweep


def class_images(root: Path, classes) -> dict[str, list[tuple[Path, Path]]]:
    "Each class's (image, mask) pairs, sorted by their number; a class with fewer than two pairs stops the script."
    out = {}
    for c in classes:
        imgs = sorted((root / c).glob('*.jpg'), key=lambda p: (len(p.stem), p.stem))
        pairs = [(p, p.with_suffix('.png')) for p in imgs if p.with_suffix('.png').is_file()]
        if len(pairs) < 2: raise SystemExit(f'--root {root}: {c}/ holds {len(pairs)} image + mask pairs, expected >= 2')
        out[c] = pairs
    return out


def base_pretrain_steps(weights) -> int | None:
    "The steps of `qgnet base-pretrain` behind a start-point file, from its run's log; None for any other start."
    run = Path(weights).parent if weights and weights not in ('imagenet', 'none') else None
    if run is None or not (run/'log.jsonl').is_file() or not (run/'backbone.pt').is_file(): return None
    recs = read_log(run)
    return recs[-1].get('step') if recs else None


def episodes(pairs: list) -> list[tuple[int, int]]:
    "Every ordered pair (support, query) of distinct images."
    return list(itertools.permutations(range(len(pairs)), 2))


def adapt_to_support(model, img, mask, size: int, seed: int, steps: int = 20, lr: float = 1e-3, batch: int = 4):
    """A copy of `model` whose trained part took `steps` AdamW steps on `batch` augmented views of the support image,
    each a query to the support itself (PFENet's training augmentation); BatchNorm statistics and dropout stay as
    trained (evaluation mode)."""
    m = copy.deepcopy(model).eval()
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
    rng = np.random.default_rng(seed)
    sx, sm = test_transform(img, mask, size)[:2]
    sx, sm = sx[None, None].expand(batch, -1, -1, -1, -1), sm[None, None].expand(batch, -1, -1, -1)
    for _ in range(steps):
        views = [train_transform(img, mask, size, rng) for _ in range(batch)]
        with torch.enable_grad():
            loss = m(torch.stack([v[0] for v in views]), sx, sm, target=torch.stack([v[1] for v in views]))['loss']
            opt.zero_grad(set_to_none=True)
            loss.backward()
        opt.step()
    return m


def model_scores(model, size: int, data: dict, precision: str, device, adapt=None) -> dict:
    """The model's answers to every episode, through `segment`: pooled IoU per class, its mean, the episodes' mean
    IoU; with `adapt`, each support first gets its own copy of the model, `adapt(model, image, mask, seed=N)`."""
    names = list(data)
    meter, pair_ious, t0 = IoUMeter(list(range(len(names)))), [], time.perf_counter()
    for k, c in enumerate(names):
        pairs = data[c]
        for s, (img, mask) in enumerate(pairs):
            qs = [q for q in range(len(pairs)) if q != s]
            x = as_image(img)
            m = adapt(model, x, as_mask(mask, x.shape[:2]), seed=1000 * k + s) if adapt else model
            res = segment(m, [(img, mask)], [pairs[q][0] for q in qs], size=size, device=device,
                          precision=precision)
            for q, r in zip(qs, res):
                gt = torch.from_numpy((read_mask(pairs[q][1]) == 255).astype(np.uint8))
                pred = torch.from_numpy(r.mask)
                meter.update(pred, gt, k)
                pair_ious.append(float((pred.bool() & gt.bool()).sum() / max(int((pred.bool() | gt.bool()).sum()), 1)))
    return dict(per_class=dict(zip(names, meter.per_class().values())), miou=meter.miou(),
                episode_mean_iou=sum(pair_ious) / len(pair_ious), episodes=len(pair_ious),
                seconds=round(time.perf_counter() - t0, 1))


@torch.inference_mode()
def prototype_baseline(backbone, size: int, data: dict, layer: str, device) -> dict:
    "The prototype-cosine map of every episode at `layer`, cut at its best single threshold over all of them."
    names = list(data)
    sweep = ThresholdSweep(list(range(len(names))))
    backbone = backbone.to(device).eval()
    for k, c in enumerate(names):
        feats, masks, shapes = [], [], []
        for img, mask in data[c]:                       # each image once: the test transform, then the backbone
            x = as_image(img)
            m = as_mask(mask, x.shape[:2])
            q = own_query(x, size)
            feats.append(backbone(q['query_img'][None].to(device))[layer].float())
            masks.append(test_transform(x, m, size)[1])
            shapes.append((tuple(q['query_size'].tolist()), x.shape[:2]))
        for s, q in episodes(data[c]):
            proto = masked_average_pool(feats[s], (masks[s] == 1).float()[None, None].to(device))
            cos = F.cosine_similarity(feats[q], proto, dim=1, eps=1e-7)[:, None]
            (h, w), hw = shapes[q]
            cos = F.interpolate(cos, size=(size, size), mode='bilinear', align_corners=False)[..., :h, :w]
            cos = F.interpolate(cos, size=hw, mode='bilinear', align_corners=False)[0, 0]
            sweep.update(cos.cpu(), torch.from_numpy((read_mask(data[c][q][1]) == 255).astype(np.uint8)), k)
    miou, th, per = sweep.best()
    return dict(layer=layer, threshold=th, per_class=dict(zip(names, per)), miou=miou)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--ckpt', nargs='+', action='extend', required=True, metavar='NAME=PATH',
                   help='checkpoints to compare: a name, =, a checkpoint file or run folder')
    p.add_argument('--root', type=Path, default=None, help='FSS-1000-layout folder (default: the sample fss1000_mini)')
    p.add_argument('--classes', nargs='+', default=['eiffel_tower', 'african_elephant'])
    p.add_argument('--probe-layer', default='layer3', help="the baseline's backbone layer")
    p.add_argument('--size', type=int, default=None, help="input side (default: each checkpoint's training size)")
    p.add_argument('--precision', default='auto', choices=('auto', 'bf16', 'fp32'))
    p.add_argument('--device', default='auto')
    p.add_argument('--tta', action='store_true', help="also score each model with IIR's multi-scale test-time "
                   "augmentation (as `qgnet eval --tta`), as a row of its own")
    p.add_argument('--adapt', type=int, default=0, metavar='STEPS',
                   help='also score each model after fine-tuning a copy of it on each support alone for STEPS steps '
                   '(adapt_to_support: 4 augmented views a step, AdamW 1e-3), as a row of its own')
    p.add_argument('--out', default=None, help='write the results as JSON')
    a = p.parse_args(argv)
    root = a.root
    if root is None:
        sd = shared_data_dir()
        if sd is None or not (sd / 'fss1000_mini').is_dir(): raise SystemExit('--root: no sample fss1000_mini here')
        root = sd / 'fss1000_mini'
    ckpts = {}
    for spec in a.ckpt:
        name, sep, path = spec.partition('=')
        if not sep or not name or not path: raise SystemExit(f'--ckpt {spec}: expected NAME=PATH')
        ckpts[name] = find_checkpoint(path, '--ckpt')
    data = class_images(root, a.classes)
    device = get_device(a.device)
    import_model_modules()                                          # registers the 'tta' wrapper (qgnet_nb.iir)
    res = dict(root=root.name, classes={c: len(v) for c, v in data.items()},
               episodes={c: len(episodes(v)) for c, v in data.items()}, shot=1, checkpoints={})
    for name, path in ckpts.items():
        model, extra = open_model(path, '--ckpt')
        size = a.size or int((extra.get('train_config') or {}).get('size', 473))
        r = model_scores(model, size, data, a.precision, device)
        if a.tta:
            tta = eval_wrapper('tta')(model)
            r['tta'] = dict(model_scores(tta, size, data, a.precision, device), scales=list(tta.scales))
        if a.adapt:
            fit = functools.partial(adapt_to_support, size=size, steps=a.adapt)
            r['adapt'] = dict(model_scores(model, size, data, a.precision, device, adapt=fit), steps=a.adapt,
                              lr=1e-3, batch=4)
        r['baseline'] = prototype_baseline(model.backbone, size, data, a.probe_layer, device)
        tc = extra.get('train_config') or {}
        parts = Path(path).parts
        shown = str(Path(*parts[parts.index('runs'):])) if 'runs' in parts else Path(path).name
        res['checkpoints'][name] = dict(
            checkpoint=shown, model=model.config['name'], backbone=model.config.get('backbone'),
            start_point=getattr(model, 'start_point', None), size=size,
            precision=str(amp_dtype(device, a.precision) or 'fp32').replace('torch.', ''),
            trained_on=f"{tc.get('data')} fold {tc.get('fold')}" if tc else None,
            start_steps=base_pretrain_steps(tc.get('weights')), **r)
        print(f"{name}: mean IoU {100 * r['miou']:.1f} over {r['episodes']} episodes in {r['seconds']:.0f} s" +
              (f"; +TTA {100 * r['tta']['miou']:.1f}" if a.tta else '') +
              (f"; +support fine-tuning {100 * r['adapt']['miou']:.1f}" if a.adapt else ''), file=sys.stderr)
    print(cross_domain_table(res))
    print('each prototype threshold is chosen with the answers: an upper bound for that rule')
    if a.out: save_json(res, a.out)
    return 0


if __name__ == '__main__': sys.exit(main())
