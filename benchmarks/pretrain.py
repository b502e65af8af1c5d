"""Speed of one self-supervised pre-training step (MoCo v2 + local loss), peak memory, and the cost of the patch machinery.

For each setting, a fresh process:
- builds `MoCo` as `qgnet pretrain` does (random weights, MoCo v2 queues of 65536, shuffle-BN groups of 32 or fewer),
- makes one batch of two-view pairs at 224 px from real photos (scikit-image's sample photos, SLIC label maps; the data
  preparation is not timed),
- runs one warm-up step and `--steps` timed training steps (forward, backward, SGD step) -> images/s,
- times the patch machinery of those steps: `pair_patches` (positive pairing on the global batch) and `pool_patches`
  (area-weighted patch embedding) as called inside the step, plus the backward pass of the pooling measured on the
  same inputs on its own (the autograd engine interleaves it with the rest of the backward),
- reports its peak memory: GPU max allocated, or on a CPU the peak resident set (VmHWM) of the process.

Settings: ResNet-18 at 224 on the CPU (dilated with both losses; dilated global-only; undilated with both losses),
and ResNet-50 dilated at 224 on a GPU when there is one. Ratios are against the first row of the same device.

    python benchmarks/pretrain.py                    # batch 8 on the CPU (and 32 on a GPU)
    python benchmarks/pretrain.py --steps 5 --threads 2
"""
from __future__ import annotations
import argparse, json, subprocess, sys, time
from common import status_mib

PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket', 'immunohistochemistry', 'hubble_deep_field', 'retina', 'cat')


def run_one(arch: str, dilated: bool, losses: str, device: str, batch: int, steps: int, threads: int) -> dict:
    import tempfile
    from pathlib import Path
    import torch, PIL.Image, skimage.data
    import qgnet_nb.prior_extractor as pe
    from qgnet_nb.core import get_device, amp_dtype, autocast
    from qgnet_nb.contrastive import ContrastivePairs
    if threads: torch.set_num_threads(threads)
    dev = get_device(device)
    dtype = amp_dtype(dev)
    tmp = Path(tempfile.mkdtemp())
    for name in PHOTOS: PIL.Image.fromarray(getattr(skimage.data, name)()).save(tmp/f'{name}.jpg')
    files = sorted(tmp.glob('*.jpg'))
    ds = ContrastivePairs(files, 224, 'slic' if losses != 'global' else None, seed=0)
    batches = [
        torch.utils.data.default_collate([ds[(s, i % len(files))] for i in range(batch)]) for s in range(steps + 1)
    ]
    cfg = pe.PretrainConfig(
        arch=arch, dilated=dilated, losses=losses, batch_size=batch, bn_group_size=min(32, batch // 2)
    )
    torch.manual_seed(0)
    model = pe.MoCo(cfg.arch, cfg.dilated, cfg.dim, cfg.queue, cfg.local_queue, cfg.m, cfg.tau, cfg.losses,
                    cfg.min_area, cfg.bn_groups, cfg.seed).to(dev)
    opt = torch.optim.SGD(model.encoder_q.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=1e-4)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    spent, seen = {'pair': 0., 'pool': 0.}, {}
    def timed(fn, key):
        def wrapper(*a, **k):
            sync()
            t = time.perf_counter()
            r = fn(*a, **k)
            sync()
            spent[key] += time.perf_counter() - t
            if key == 'pool': seen['args'] = (a[0].detach(), a[1])
            return r
        return wrapper
    raw_pool = pe.pool_patches
    pe.pair_patches, pe.pool_patches = timed(pe.pair_patches, 'pair'), timed(pe.pool_patches, 'pool')
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    model.train()
    pairs = 0
    for i, b in enumerate(batches):
        if i == 1:
            sync()
            t0 = time.perf_counter()
            spent.update(pair=0.0, pool=0.0)  # the first step warms up
        b = {k: v.to(dev) for k, v in b.items() if k != 'index'}
        with autocast(dev, dtype):
            loss, out = model(b['view1'], b['view2'], b.get('labels1'), b.get('labels2'), shuffle_seed=i)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i: pairs += int(out.get('pairs', 0))
    sync()
    step_s = (time.perf_counter() - t0) / steps
    mem = torch.cuda.max_memory_allocated() / 2**20 if dev.type == 'cuda' else status_mib('VmHWM')
    pool_bwd = 0.
    if 'args' in seen:             # backward of one pooling (the query side's) per step, on the last pooling's inputs
        f, ids = seen['args']
        for r in range(steps + 1):
            x = f.clone().requires_grad_(True)
            emb, _ = raw_pool(x, ids)
            g = torch.randn_like(emb)
            sync()
            t = time.perf_counter()
            emb.backward(g)
            sync()
            if r: pool_bwd += time.perf_counter() - t
        pool_bwd /= steps
    patch_s = (spent['pair'] + spent['pool']) / steps + pool_bwd
    return dict(arch=arch, dilated=dilated, losses=losses, device=dev.type, batch=batch,
                threads=torch.get_num_threads(), step_s=step_s, img_s=batch / step_s, peak_mib=mem,
                pair_ms=1e3 * spent['pair'] / steps, pool_ms=1e3 * (spent['pool'] / steps + pool_bwd),
                patch_share=patch_s / step_s, pairs=pairs / steps)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--batch', type=int, default=8, help='CPU batch (the GPU setting uses 32)')
    p.add_argument('--threads', type=int, default=0, help='torch threads per process (default: torch\'s choice)')
    p.add_argument('--one', default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(run_one(**json.loads(a.one))))
        return
    import torch
    settings = [('resnet18', True, 'both', 'cpu', a.batch), ('resnet18', True, 'global', 'cpu', a.batch),
                ('resnet18', False, 'both', 'cpu', a.batch)]
    if torch.cuda.is_available():
        settings += [('resnet50', True, 'both', 'cuda', 32), ('resnet50', True, 'global', 'cuda', 32)]
    rows = []
    for arch, dil, losses, dev, bs in settings:
        one = json.dumps(
            dict(arch=arch, dilated=dil, losses=losses, device=dev, batch=bs, steps=a.steps, threads=a.threads)
        )
        r = subprocess.run([sys.executable, __file__, '--one', one], capture_output=True, text=True)
        if r.returncode:
            print(r.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"setting {one} failed")
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    print(
        '| backbone | device | batch | losses | img/s | vs first | peak MiB | pairing ms | pooling ms (fwd+bwd) '
        '| patch share of step |'
    )
    print('|---|---|---|---|---|---|---|---|---|---|')
    first = {}
    for r in rows:
        ref = first.setdefault(r['device'], r)
        name = f"{r['arch']}{' dilated' if r['dilated'] else ''}"
        share = f"{100 * r['patch_share']:.1f}%" if r['losses'] != 'global' else '-'
        ms = (f"{r['pair_ms']:.1f}", f"{r['pool_ms']:.1f}") if r['losses'] != 'global' else ('-', '-')
        print(f"| {name} | {r['device']} ({r['threads']} thr) | {r['batch']} | {r['losses']} | {r['img_s']:.2f} | "
              f"{r['img_s'] / ref['img_s']:.2f}x | {r['peak_mib']:.0f} | {ms[0]} | {ms[1]} | {share} |")
    print(f"\nimg/s: images (view pairs) per second of training step, mean over {a.steps} steps after one warm-up; "
          "patch share = (pairing + pooling forward + pooling backward) / step; "
          f"positive pairs per step: {', '.join(str(round(r['pairs'])) for r in rows if r['losses'] != 'global')}.")


if __name__ == '__main__':
    main()
