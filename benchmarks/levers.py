"""Each speed lever on our model, against our own fp32, on this CPU: evaluation and training episode, in one run.

The levers change the frozen networks only (backbone and prior extractor); the trained head stays fp32 and eager:
  fold     BatchNorm folded into the convolution before it
  int8     static int8 through PyTorch's FX quantization (x86 engine), as `int8_frozen` does it (fast_path's with
           --precision int8): calibrated on fixed pictures at the first forward pass
  compile  torch.compile (inductor, weights frozen) of each frozen stage; its compile time is reported apart
  cl       channels-last memory: the package's fast path (`fast_path`) except with int8
  dec      torch.compile of the trained FEM decoder, forward and backward: the one lever on a training step's trained
           part (not in VARIANTS by default: name it, e.g. --variants fp32 int8 int8+dec)
Variants joined with + are combined. Every variant is the same model (seed 0), ResNet-50, 1-shot, synthetic episodes
(benchmarks/common.py); each round times one training step (forward and backward) and one evaluation episode of
every variant in turn, so all see the same machine load, and the table gives the median over rounds of each ratio.
The accuracy guard: the share of pixels whose evaluation prediction equals fp32's on the same `--guard` episodes,
and with `--ckpt` on a trained checkpoint's test episodes (the fast path must keep >= 99.5%).

    OMP_NUM_THREADS=1 python benchmarks/levers.py --threads 1 --rounds 3
    OMP_NUM_THREADS=1 python benchmarks/levers.py --variants fp32 int8 --ckpt runs/demo/qgnet/last.pt
"""
from __future__ import annotations
import argparse, json, statistics, time
from pathlib import Path
from common import cpu_class, cpu_flags, cpu_header, episode, train_step_seconds

VARIANTS = ['fp32', 'fold', 'cl', 'fold+cl', 'int8', 'int8+cl', 'compile', 'compile+cl']


def stages(bb) -> dict:
    "A ResNet Backbone's stages as modules, the stem as one Sequential (it is stored in conv1; bn1..maxpool emptied)."
    from torch import nn
    stem = nn.Sequential(bb.conv1, bb.bn1, bb.relu, bb.maxpool)
    bb.bn1, bb.relu, bb.maxpool = nn.Identity(), nn.Identity(), nn.Identity()
    return {'conv1': stem, 'layer1': bb.layer1, 'layer2': bb.layer2, 'layer3': bb.layer3, 'layer4': bb.layer4}


def fold_batchnorm(net):
    "Each BatchNorm2d folded into the Conv2d registered just before it (ResNet order), in place; BN -> Identity."
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    for parent in list(net.modules()):
        kids = list(parent.named_children())
        for (n1, a), (n2, b) in zip(kids, kids[1:]):
            if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                setattr(parent, n1, fuse_conv_bn_eval(a, b))
                setattr(parent, n2, nn.Identity())


def fold(m):
    from qgnet_nb.qgnet import frozen_resnets
    for bb in frozen_resnets(m): fold_batchnorm(bb)


def int8(m):
    "The package's int8 frozen ResNets (qgnet_nb.qgnet.int8_frozen: FX static quantization, x86 engine, fixed pictures)."
    from qgnet_nb.qgnet import int8_frozen
    int8_frozen(m)


def compile_(m):
    import torch
    torch._inductor.config.freezing = True           # weights as constants: BN folded, convolutions prepacked
    torch._dynamo.config.recompile_limit = 64        # 10 stages share nn.Sequential's code: else some stay eager
    from qgnet_nb.qgnet import frozen_resnets
    for bb in frozen_resnets(m):
        for n, s in stages(bb).items(): setattr(bb, n, torch.compile(s))


def cl(m):
    from qgnet_nb.qgnet import fast_path
    fast_path(m, 'cpu', 'fp32')


def compile_decoder(m):
    "torch.compile of the trained FEM decoder, forward and backward (the frozen networks are left as they are)."
    import torch
    m.fem = torch.compile(m.fem)


LEVERS = {'fold': fold, 'int8': int8, 'compile': compile_, 'cl': cl, 'dec': compile_decoder}


def build(variant: str, m=None):
    import torch
    from qgnet_nb.models import build_model
    torch.manual_seed(0)
    m = m if m is not None else build_model('qgnet', backbone='resnet50', weights=None, prior='random').eval()
    for lever in variant.split('+'):
        if lever != 'fp32': LEVERS[lever](m)
    return m


def predict(m, ep):
    import torch
    with torch.inference_mode(): return m(*ep[:3])['logits'].argmax(1)


def eval_seconds(m, ep) -> float:
    m.eval()
    t0 = time.perf_counter()
    predict(m, ep)
    return time.perf_counter() - t0


def ckpt_guard(path: str, variants: list[str], episodes: int) -> dict:
    "Pixel agreement with fp32 and mIoU of each variant on a trained checkpoint's test episodes (its data, size)."
    import copy, torch
    from qgnet_nb.data import collate_episodes, make_dataset
    from qgnet_nb.evaluate import predict as predict_batch
    from qgnet_nb.metrics import IoUMeter
    from qgnet_nb.models import load_checked
    base, extra = load_checked(path, 'ckpt')
    tc = extra.get('train_config', {})
    ds = lambda split, n: make_dataset(tc.get('data', 'demo'), tc.get('root'), split=split, fold=tc.get('fold', 0),
                                       shot=1, mode='test', size=tc.get('size', 473), episodes=n, seed=321)
    test = ds('val', episodes)
    out, ref = {}, None
    for v in variants:
        m = build(v, copy.deepcopy(base).eval())
        meter, preds = IoUMeter(test.classes), []
        with torch.inference_mode():
            for i in range(len(test)):
                b = collate_episodes([test[i]])
                p, t, _ = predict_batch(m, b)
                meter.update(p[0], t[0], int(b['class_id'][0]))
                preds.append((p[0], t[0] != 255))
        ref = ref or preds
        same = sum(int((a[k] == b[k]).sum()) for (a, k), (b, _) in zip(preds, ref))
        out[v] = dict(agreement=same / sum(int(k.sum()) for _, k in ref), miou=100 * meter.miou())
    return dict(ckpt=path, data=tc.get('data'), size=tc.get('size'), backbone=base.config.get('backbone'),
                episodes=len(test), variants=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--variants', nargs='+', default=VARIANTS, help=f"fp32 first; levers: {', '.join(LEVERS)}")
    ap.add_argument('--size', type=int, default=473)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--guard', type=int, default=2, help='synthetic episodes of the accuracy guard')
    ap.add_argument('--ckpt', default=None, help='also guard on this trained checkpoint (e.g. runs/demo/qgnet/last.pt)')
    ap.add_argument('--ckpt-episodes', type=int, default=50)
    ap.add_argument('--out', default=None, help=f'JSON file (default runs/levers-{cpu_class()}.json)')
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    if a.variants[0] != 'fp32': a.variants.insert(0, 'fp32')
    ep = episode(a.size)
    guard = [episode(a.size, seed=10 + i) for i in range(a.guard)]
    models, warm, agree, ref = {}, {}, {}, None
    for v in a.variants:                               # build, warm up (quantize, compile), guard each
        t0 = time.perf_counter()
        models[v] = build(v)
        train_step_seconds(models[v], (*ep[:3], ep[3]), torch.device('cpu'), None)
        eval_seconds(models[v], ep)
        warm[v] = time.perf_counter() - t0
        preds = [predict(models[v], g) for g in guard]
        ref = ref or preds
        agree[v] = sum(int((p == r).sum()) for p, r in zip(preds, ref)) / sum(r.numel() for r in ref)
        print(f'{v}: ready in {warm[v]:.0f} s, agreement with fp32 {100 * agree[v]:.3f}%', flush=True)
    times = {v: {'train': [], 'eval': []} for v in a.variants}
    for r in range(a.rounds):
        for v, m in models.items():
            times[v]['train'].append(train_step_seconds(m, (*ep[:3], ep[3]), torch.device('cpu'), None))
            times[v]['eval'].append(eval_seconds(m, ep))
        print(f"round {r + 1}/{a.rounds}: " + ', '.join(f"{v} {times[v]['train'][-1]:.1f}/{times[v]['eval'][-1]:.1f} s"
                                                       for v in a.variants), flush=True)
    base = times['fp32']
    ratio = lambda v, k: statistics.median(b / t for b, t in zip(base[k], times[v][k]))
    med = lambda v, k: statistics.median(times[v][k])
    res = {v: dict(train_s=med(v, 'train'), eval_s=med(v, 'eval'), train_x=ratio(v, 'train'), eval_x=ratio(v, 'eval'),
                   ready_s=warm[v], agreement=agree[v], times=times[v]) for v in a.variants}
    for v in res:                                      # the one-time cost beyond fp32's first episode, and its payback
        extra, gain = warm[v] - warm['fp32'], med('fp32', 'eval') - med(v, 'eval')
        res[v]['setup_s'] = max(extra, 0.0)
        res[v]['pays_after_episodes'] = extra / gain if extra > 0 and gain > 0 else (None if extra > 0 else 0)
    print(f"\n{cpu_header(a.threads)}\nResNet-50, {a.size} px, 1-shot, batch 1, median of {a.rounds} rounds; "
          f"ratios against our fp32 in the same round; agreement on {a.guard} synthetic episodes\n")
    print('| variant | training s | speed-up | evaluation s | speed-up | setup s | pays after (eval episodes) '
          '| pixels agreeing with fp32 |')
    print('|---|---|---|---|---|---|---|---|')
    for v, x in res.items():
        pays = '-' if x['pays_after_episodes'] is None else f"{x['pays_after_episodes']:.0f}"
        print(f"| {v} | {x['train_s']:.2f} | {x['train_x']:.2f}x | {x['eval_s']:.2f} | {x['eval_x']:.2f}x | "
              f"{x['setup_s']:.0f} | {pays} | {100 * x['agreement']:.3f}% |")
    out = dict(cpu=cpu_flags(), cpu_class=cpu_class(), threads=a.threads, size=a.size, rounds=a.rounds,
               variants=res, torch=torch.__version__)
    if a.ckpt:
        g = ckpt_guard(a.ckpt, [v for v in a.variants if 'compile' not in v], a.ckpt_episodes)
        out['ckpt_guard'] = g
        print(f"\nAccuracy guard on {g['ckpt']} ({g['backbone']}, {g['data']}, {g['size']} px, {g['episodes']} test "
              f"episodes)\n\n| variant | pixels agreeing with fp32 | mIoU |\n|---|---|---|")
        for v, x in g['variants'].items(): print(f"| {v} | {100 * x['agreement']:.3f}% | {x['miou']:.2f} |")
    path = Path(a.out or f'runs/levers-{cpu_class()}.json')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(f'\n(JSON: {path})')


if __name__ == '__main__':
    main()
