"""The GPU measurements `benchmarks/gpu_check.sh` prints, one section at a time (each prints as soon as it is done);
the CamVid section runs `qgnet train` and `qgnet eval` from the shell script itself.

    python benchmarks/gpu_check.py speed      # QGNet, ResNet-50 @ 473: fp32, bf16, bf16 + channels-last, + torch.compile
    python benchmarks/gpu_check.py pretrain   # contrastive pretraining, images per second, with and without the patch cache
    python benchmarks/gpu_check.py cache      # FeatureCache keys hashed on the GPU
"""
from __future__ import annotations
import json, subprocess, sys, time
from common import episode


def speed_row(
    name: str, precision: str, channels_last: bool, compile: bool, size=473, batch=4, steps=10, evals=20
) -> dict:
    "Training steps (batch of `batch` 1-shot episodes) and evaluation episodes (batch 1) per second, and peak memory."
    import torch
    from qgnet_nb.core import amp_dtype, autocast
    from qgnet_nb.models import build_model
    from qgnet_nb.qgnet import fast_path
    torch.manual_seed(0)
    m = build_model('qgnet', backbone='resnet50', weights=None, prior='random').cuda()
    dtype = amp_dtype('cuda', precision)
    if channels_last: m, _ = fast_path(m, 'cuda', precision)
    net = torch.compile(m) if compile else m
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)
    q, s, sm, t = episode(size, 'cuda', batch)

    def step():
        with autocast('cuda', dtype): o = net(q, s, sm, target=t)
        o['loss'].backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    m.train()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    step()
    torch.cuda.synchronize()
    first = time.perf_counter() - t0  # compile happens here
    step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps): step()
    torch.cuda.synchronize()
    train_eps = batch * steps / (time.perf_counter() - t0)
    train_mem = torch.cuda.max_memory_allocated() / 2**30
    m.eval()
    torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode(), autocast('cuda', dtype):
        for _ in range(2): net(q[:1], s[:1], sm[:1])
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(evals): net(q[:1], s[:1], sm[:1])['logits'].argmax(1)
        torch.cuda.synchronize()
    eval_eps = evals / (time.perf_counter() - t0)
    return dict(name=name, train_eps=train_eps, eval_eps=eval_eps, train_gib=train_mem,
                eval_gib=torch.cuda.max_memory_allocated() / 2**30, first_step_s=first)


def speed():
    import torch
    print(f"GPU: {torch.cuda.get_device_name()}; torch {torch.__version__}; QGNet, ResNet-50 @ 473 px, 1-shot, random "
          "weights; training batch 4, evaluation batch 1, frozen backbone", flush=True)
    print('| path | train episodes/s | eval episodes/s | peak GiB, training | peak GiB, evaluation | first step s |')
    print('|---|---|---|---|---|---|', flush=True)
    rows = [
        ('fp32', 'fp32', False, False),
        ('bf16', 'bf16', False, False),
        ('bf16 + channels-last', 'bf16', True, False),
        ('bf16 + channels-last + torch.compile', 'bf16', True, True),
    ]
    t0 = time.perf_counter()
    for name, prec, cl, comp in rows:              # eager rows take seconds; compiling gets what is left of 200 s
        limit = 200 - (time.perf_counter() - t0) if comp else 60
        try:
            r = subprocess.run([sys.executable, __file__, 'speed-one', json.dumps([name, prec, cl, comp])],
                               capture_output=True, text=True, timeout=max(limit, 10))
        except subprocess.TimeoutExpired:
            print(f"| {name} | stopped after {limit:.0f} s | | | | |", flush=True)
            continue
        if r.returncode:
            err = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f'exit {r.returncode}'
            print(f"| {name} | failed: {err[:150]} | | | | |", flush=True)
            continue
        x = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"| {name} | {x['train_eps']:.1f} | {x['eval_eps']:.1f} | {x['train_gib']:.2f} | {x['eval_gib']:.2f} | "
              f"{x['first_step_s']:.1f} |", flush=True)


def pretrain_speed(out='/tmp/qgnet_gpu_check/pretrain'):
    """Images per second of contrastive pretraining (global + local loss, SLIC patches) on the demo images, one epoch
    each: label maps computed on the fly, filling the patch cache (what `qgnet pretrain` does on first use), and read
    back from the full cache."""
    import shutil
    from qgnet_nb.demo_set import demo_images
    from qgnet_nb.patches import filling_cache, find_images
    from qgnet_nb.prior_extractor import PretrainConfig, pretrain
    root = demo_images('train')
    files = find_images(root)
    shutil.rmtree(out, ignore_errors=True)
    cfg = PretrainConfig(arch='resnet50', size=224, batch_size=32, epochs=1, queue=1024, local_queue=4096,
                         bn_group_size=8)
    cache = filling_cache(root, cfg.method, cfg.patch_params, out=f'{out}/patches')
    print(f"contrastive pretraining, ResNet-50 @ 224, batch 32, {len(files)} images, one epoch each, data loading with "
          "4 workers included", flush=True)
    for name, c in (('label maps computed on the fly', None), ('filling the patch cache', cache),
                    ('read from the patch cache', cache)):
        t0 = time.perf_counter()
        st = pretrain(files, cfg, out=None, device='cuda', precision='auto', workers=4, cache=c, progress=False,
                      log=lambda *a: None)
        dt = time.perf_counter() - t0
        print(f"  {name}: {st['step'] * cfg.batch_size / dt:.1f} images/s ({dt:.0f} s; last loss "
              f"{st['history'][-1]['loss']:.3f})", flush=True)


def cache_keys():
    "FeatureCache keys of GPU tensors: equal for equal bytes, different after one bit, and their time beside a forward."
    import torch
    from qgnet_nb.qgnet import FeatureCache
    x = torch.randn(1, 3, 473, 473, device='cuda')
    y = x.clone()
    y.view(-1).view(torch.int32)[12345] ^= 1
    k = FeatureCache.key('q', x)
    ok = k == FeatureCache.key('q', x.clone()) and k != FeatureCache.key('q', y)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(20): FeatureCache.key('q', x)
    dt = (time.perf_counter() - t0) / 20
    print(f"FeatureCache.key on {x.device} (1x3x473x473 fp32, hashed on the GPU): "
          f"{'equal bytes -> equal keys, one bit -> another key' if ok else 'FAILED: keys do not follow the bytes'}; "
          f"{1e3 * dt:.2f} ms per key", flush=True)
    if not ok: sys.exit(1)


if __name__ == '__main__':
    what = sys.argv[1] if len(sys.argv) > 1 else 'speed'
    if what == 'speed-one': print(json.dumps(speed_row(*json.loads(sys.argv[2]))))
    elif what == 'speed': speed()
    elif what == 'pretrain': pretrain_speed()
    elif what == 'cache': cache_keys()
    else: sys.exit(f"gpu_check.py: unknown section {what!r}; expected speed, pretrain or cache")
