"""Throughput of episodic training and evaluation, end to end (data loading included), and peak memory.

For each model (baseline, qgnet, and iir / qgnet+iir when qgnet_nb.iir exists), each setting (ResNet-18 at
241 px and ResNet-50 at 473 px, on the CPU or the GPU) and each path (`fp32`: the plain path; `fast`:
`qgnet_nb.qgnet.fast_path`, i.e. channels-last plus bf16 autocast where the device has it), a fresh process:
- builds the model as `qgnet train` does (random weights: no download; frozen backbone; a random prior extractor),
- runs `--steps` training steps of a batch of 4 demo-set episodes (after one warm-up step) -> episodes/s,
- evaluates `--episodes` test episodes at the original resolution with `evaluate` -> episodes/s,
- reports its peak memory: GPU max allocated, or on a CPU the peak resident set (VmHWM) of the process.

    python benchmarks/train.py                      # all models, both settings, both paths
    python benchmarks/train.py --steps 5 --episodes 20 --models qgnet --settings resnet50:473 --threads 1
"""
from __future__ import annotations
import argparse, json, subprocess, sys, time
from common import status_mib

def run_one(model: str, arch: str, size: int, device: str, steps: int, episodes: int, threads: int, path: str = 'fast',
            batch: int = 4) -> dict:
    import torch
    from qgnet_nb.core import get_device, autocast
    from qgnet_nb.data import make_dataset, collate_episodes
    from qgnet_nb.qgnet import fast_path
    from qgnet_nb.train import TrainConfig
    from qgnet_nb.models import build_model
    from qgnet_nb.evaluate import evaluate
    if threads: torch.set_num_threads(threads)
    dev = get_device(device)
    cfg = TrainConfig(model=model, backbone=arch, weights=None, prior='random', size=size)
    net = build_model(model, **cfg.model_kwargs()).to(dev)
    precision = 'fp32' if path == 'fp32' else 'auto'
    net, dtype = fast_path(net, dev, precision) if path != 'fp32' else (net, None)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)
    tds = make_dataset(
        'demo', split='train', fold=0, shot=1, mode='train', size=size, episodes=batch * (steps + 1), seed=0
    )
    loader = torch.utils.data.DataLoader(tds, batch_size=batch, num_workers=0, collate_fn=collate_episodes)
    net.train()
    t0 = None
    for i, b in enumerate(loader):
        if i == 1: t0 = time.perf_counter()                                  # the first step warms up
        b = {k: v.to(dev) if torch.is_tensor(v) else v for k, v in b.items()}
        with autocast(dev, dtype):
            o = net(b['query_img'], b['support_imgs'], b['support_masks'], target=b['query_mask'])
        opt.zero_grad(set_to_none=True)
        o['loss'].backward()
        opt.step()
    if dev.type == 'cuda': torch.cuda.synchronize()
    train_eps = batch * steps / (time.perf_counter() - t0)
    vds = make_dataset('demo', split='val', fold=0, shot=1, mode='test', size=size, episodes=episodes, seed=0)
    r = evaluate(net, vds, dev, precision, progress=False, cache_gb=0)   # no memo: every episode pays its features
    mem = torch.cuda.max_memory_allocated() / 2**20 if dev.type == 'cuda' else status_mib('VmHWM')
    return dict(
        model=model,
        backbone=arch,
        size=size,
        device=dev.type,
        path=path,
        dtype=str(dtype or 'fp32'),
        train_eps=train_eps,
        eval_eps=episodes / r['seconds'] if r['seconds'] else float('nan'),
        peak_mib=mem,
        params_m=sum(p.numel() for p in net.parameters() if p.requires_grad) / 1e6,
    )

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--models', nargs='+', default=None)
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--episodes', type=int, default=10)
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--one', default=None, help=argparse.SUPPRESS)
    p.add_argument('--settings', nargs='+', default=['resnet18:241', 'resnet50:473'], help='BACKBONE:PX')
    p.add_argument('--paths', nargs='+', default=['fp32', 'fast'], choices=['fp32', 'fast'])
    p.add_argument('--batch', type=int, default=4, help='episodes per training step')
    p.add_argument('--device', default='auto')
    p.add_argument(
        '--rounds', type=int, default=1, help='fresh processes per row, paths alternating; the median is shown'
    )
    a = p.parse_args()
    if a.one:
        print(json.dumps(run_one(**json.loads(a.one))))
        return
    import importlib.util, statistics
    from qgnet_nb.core import cpu_has_bf16, get_device, precision_note

    models = a.models or ['baseline', 'qgnet'] + (
        ['iir', 'qgnet+iir'] if importlib.util.find_spec('qgnet_nb.iir') else []
    )
    dev = str(get_device(a.device))
    rows = []
    for s in a.settings:
        arch, size = s.split(':')
        for m in models:
            runs = {p: [] for p in a.paths}
            for _ in range(a.rounds):
                for path in a.paths:                       # alternating, so both paths see the same machine load
                    job = dict(model=m, arch=arch, size=int(size), device=dev, steps=a.steps, episodes=a.episodes,
                               threads=a.threads, path=path, batch=a.batch)
                    r = subprocess.run(
                        [sys.executable, __file__, '--one', json.dumps(job)], capture_output=True, text=True
                    )
                    if r.returncode:
                        print(f'{m} {s} {path} failed:\n{r.stderr[-1500:]}', file=sys.stderr)
                        continue
                    runs[path].append(json.loads(r.stdout.strip().splitlines()[-1]))
            for path, rs in runs.items():
                if rs:
                    rows.append(
                        {
                            **rs[0],
                            **{k: statistics.median(x[k] for x in rs) for k in ('train_eps', 'eval_eps', 'peak_mib')},
                        }
                    )
    print(
        f"device {dev}; fast path: {precision_note(dev)}; native CPU bf16: {cpu_has_bf16()}; threads: "
        f"{a.threads or 'default'}"
    )
    print(
        f"training: batches of {a.batch} one-shot demo episodes ({a.steps} timed steps); evaluation: "
        f"{a.episodes} episodes, "
        f"original resolution, no feature memo; random weights, frozen backbone; median of {a.rounds} process(es)\n"
    )
    print(
        '| model | backbone @ px | path | trainable params (M) | train episodes/s | vs fp32 | eval episodes/s | '
        'vs fp32 | peak memory (MiB) |'
    )
    print('|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        b = next(
            (x for x in rows if x['path'] == 'fp32' and (x['model'], x['backbone']) == (r['model'], r['backbone'])),
            None,
        )
        tr = f"{r['train_eps'] / b['train_eps']:.2f}x" if b else 'n/a'
        ev = f"{r['eval_eps'] / b['eval_eps']:.2f}x" if b else 'n/a'
        print(f"| {r['model']} | {r['backbone']} @ {r['size']} | {r['path']} ({r['dtype'].replace('torch.', '')}) | "
              f"{r['params_m']:.1f} | {r['train_eps']:.2f} | {tr} | {r['eval_eps']:.2f} | {ev} | {r['peak_mib']:.0f} |")

if __name__ == '__main__':
    main()
