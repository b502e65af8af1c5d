"""Throughput of episodic training and evaluation, end to end (data loading included), and peak memory.

For each model (baseline, qgnet, and iir / qgnet+iir when qgnet_nb.iir exists) and each setting
(ResNet-18 at 241 px on the CPU; ResNet-50 at 473 px when a GPU is present), a fresh process:
- builds the model as `qgnet train` does (random weights: no download; frozen backbone; a random prior extractor),
- runs `--steps` training steps of a batch of 4 demo-set episodes (after one warm-up step) -> episodes/s,
- evaluates `--episodes` test episodes at the original resolution with `evaluate` -> episodes/s,
- reports its peak memory: GPU max allocated, or on a CPU the peak resident set (VmHWM) of the process.

    python benchmarks/train.py                      # all models, CPU (and GPU when there is one)
    python benchmarks/train.py --steps 5 --episodes 20 --models baseline qgnet
"""
from __future__ import annotations
import argparse, json, subprocess, sys, time
from common import status_mib

def run_one(model: str, arch: str, size: int, device: str, steps: int, episodes: int, threads: int) -> dict:
    import torch
    from qgnet_nb.core import get_device, amp_dtype, autocast
    from qgnet_nb.data import make_dataset, collate_episodes
    from qgnet_nb.train import TrainConfig, make_model, evaluate
    if threads: torch.set_num_threads(threads)
    dev = get_device(device); dtype = amp_dtype(dev)
    cfg = TrainConfig(model=model, backbone=arch, weights=None, prior='random', size=size)
    net = make_model(model, **cfg.model_kwargs()).to(dev)
    if dev.type == 'cuda': net = net.to(memory_format=torch.channels_last); torch.cuda.reset_peak_memory_stats()
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)
    tds = make_dataset('demo', split='train', fold=0, shot=1, mode='train', size=size, episodes=4 * (steps + 1), seed=0)
    loader = torch.utils.data.DataLoader(tds, batch_size=4, num_workers=0, collate_fn=collate_episodes)
    net.train(); t0 = None
    for i, b in enumerate(loader):
        if i == 1: t0 = time.perf_counter()                                  # the first step warms up
        b = {k: v.to(dev) if torch.is_tensor(v) else v for k, v in b.items()}
        with autocast(dev, dtype):
            o = net(b['query_img'], b['support_imgs'], b['support_masks'], target=b['query_mask'])
        opt.zero_grad(set_to_none=True); o['loss'].backward(); opt.step()
    if dev.type == 'cuda': torch.cuda.synchronize()
    train_eps = 4 * steps / (time.perf_counter() - t0)
    vds = make_dataset('demo', split='val', fold=0, shot=1, mode='test', size=size, episodes=episodes, seed=0)
    r = evaluate(net, vds, dev, progress=False)
    mem = torch.cuda.max_memory_allocated() / 2**20 if dev.type == 'cuda' else status_mib('VmHWM')
    return dict(model=model, backbone=arch, size=size, device=dev.type, train_eps=train_eps,
                eval_eps=episodes / r['seconds'] if r['seconds'] else float('nan'), peak_mib=mem,
                params_m=sum(p.numel() for p in net.parameters() if p.requires_grad) / 1e6)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--models', nargs='+', default=None)
    p.add_argument('--steps', type=int, default=3); p.add_argument('--episodes', type=int, default=10)
    p.add_argument('--threads', type=int, default=0); p.add_argument('--one', default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(run_one(**json.loads(a.one)))); return
    import importlib.util, torch
    models = a.models or ['baseline', 'qgnet'] + (['iir', 'qgnet+iir'] if importlib.util.find_spec('qgnet_nb.iir') else [])
    settings = [('resnet18', 241, 'cpu')] + ([('resnet50', 473, 'cuda')] if torch.cuda.is_available() else [])
    rows = []
    for arch, size, dev in settings:
        for m in models:
            job = dict(model=m, arch=arch, size=size, device=dev, steps=a.steps, episodes=a.episodes, threads=a.threads)
            r = subprocess.run([sys.executable, __file__, '--one', json.dumps(job)], capture_output=True, text=True)
            if r.returncode: print(f'{m} {arch}@{size} {dev} failed:\n{r.stderr[-1500:]}', file=sys.stderr); continue
            rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    base = {(r['backbone'], r['device']): r for r in rows if r['model'] == 'baseline'}
    print(f"training: batches of 4 one-shot demo episodes ({a.steps} timed steps); evaluation: {a.episodes} episodes, "
          "original resolution; random weights, frozen backbone\n")
    print('| model | backbone @ px | device | trainable params (M) | train episodes/s | eval episodes/s | peak memory (MiB) | train time vs baseline |')
    print('|---|---|---|---|---|---|---|---|')
    for r in rows:
        b = base.get((r['backbone'], r['device']))
        ratio = f"{b['train_eps'] / r['train_eps']:.2f}x" if b else 'n/a'
        print(f"| {r['model']} | {r['backbone']} @ {r['size']} | {r['device']} | {r['params_m']:.1f} | {r['train_eps']:.2f} | "
              f"{r['eval_eps']:.2f} | {r['peak_mib']:.0f} | {ratio} |")

if __name__ == '__main__':
    main()
