"""Cost of one 1-shot episode of the baseline, QGNet, IIR and QGNet+IIR: training and evaluation time, peak memory.

Random weights (no download), batch of one episode, frozen backbone (the default), the same input for all models.

- Time: the four models' episodes alternate within one process, so all see the same machine load; each ratio
  to the baseline is the median of the paired per-repeat ratios. Training = forward with target (directional
  dropout active for the IIR models) + backward; evaluation = forward in eval mode without gradients.
- Memory: each model runs one training episode in a fresh process. On a GPU: peak allocated memory. On a CPU:
  the process's peak resident memory (Linux VmHWM) during that episode minus its resident memory just before it,
  next to the size of the model's weights and buffers.

    python benchmarks/iir.py                                  # CPU: ResNet-18 at 241 px
    python benchmarks/iir.py --arch resnet50 --size 473       # e.g. on a GPU (bf16 autocast, channels-last)
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, time
from common import episode, status_mib, sync, train_step_seconds
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MODELS = ('baseline', 'qgnet', 'iir', 'qgnet+iir')


def _setup(device, threads):
    import torch
    from qgnet_nb.core import get_device, amp_dtype
    if threads: torch.set_num_threads(threads)
    dev = get_device(device)
    return dev, amp_dtype(dev)


def _build(name, arch, size, dev):
    from qgnet_nb.core import seed_everything
    from qgnet_nb.models import build_model
    from qgnet_nb.fem import PFENET_BINS, FRACTION_BINS
    seed_everything(0)
    return build_model(
        name,
        backbone=arch,
        weights=None,
        prior='random',
        bins=PFENET_BINS if size == 473 else FRACTION_BINS,
        channels_last=dev.type == 'cuda',
    ).to(dev)


def _eval_step(m, inputs, dev, dtype):
    import torch
    from qgnet_nb.core import autocast

    m.eval()
    sync(dev)
    t0 = time.perf_counter()
    with torch.no_grad(), autocast(dev, dtype): m(*inputs[:3])
    sync(dev)
    return time.perf_counter() - t0


def measure_time(arch, size, device, threads, repeats):
    dev, dtype = _setup(device, threads)
    inputs = episode(size, dev)
    models = {n: _build(n, arch, size, dev) for n in MODELS}
    for m in models.values():
        train_step_seconds(m, inputs, dev, dtype)
        _eval_step(m, inputs, dev, dtype)  # warm-up
    times = {n: {'train': [], 'eval': []} for n in MODELS}
    for _ in range(repeats):
        for n, m in models.items():
            times[n]['train'].append(train_step_seconds(m, inputs, dev, dtype))
            times[n]['eval'].append(_eval_step(m, inputs, dev, dtype))
    from qgnet_nb.core import count_params
    return {'device': str(dev), 'times': times, 'params': {n: count_params(m) for n, m in models.items()}}


def measure_memory(name, arch, size, device, threads):
    import torch
    dev, dtype = _setup(device, threads)
    inputs = episode(size, dev)
    m = _build(name, arch, size, dev)
    weights = sum(t.numel() * t.element_size() for t in [*m.parameters(), *m.buffers()]) / 2**20
    if dev.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
        train_step_seconds(m, inputs, dev, dtype)
        return {'peak_mib': (torch.cuda.max_memory_allocated(dev) - base) / 2**20, 'weights_mib': weights}
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')            # reset the peak-RSS counter
    except OSError: pass
    before = status_mib('VmRSS')
    train_step_seconds(m, inputs, dev, dtype)
    return {'peak_mib': status_mib('VmHWM') - before, 'weights_mib': weights}


def _child(args):
    r = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if r.returncode: raise RuntimeError(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--arch', default='resnet18')
    p.add_argument('--size', type=int, default=241)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--_time', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--_memory', default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    common = ['--arch', a.arch, '--size', str(a.size), '--device', a.device, '--threads', str(a.threads)]
    if a._time:
        print(json.dumps(measure_time(a.arch, a.size, a.device, a.threads, a.repeats)))
        return
    if a._memory:
        print(json.dumps(measure_memory(a._memory, a.arch, a.size, a.device, a.threads)))
        return
    t = _child([*common, '--repeats', str(a.repeats), '--_time'])
    mem = {n: _child([*common, '--_memory', n]) for n in MODELS}
    T = t['times']
    kind = 'GPU peak allocated' if t['device'].startswith('cuda') else 'CPU peak RSS increase'
    print(f"\n{a.arch} @ {a.size} px, 1-shot, batch 1, {t['device']}, {a.repeats} repeats (median); memory: {kind} "
          f"during one training episode\n")
    print(
        '| model | trainable params (M) | train s/episode | x baseline | eval s/episode | x baseline | peak '
        'memory (MiB) | weights (MiB) |'
    )
    print('|---|---|---|---|---|---|---|---|')
    for n in MODELS:
        tr = statistics.median(T[n]['train'])
        ev = statistics.median(T[n]['eval'])
        rt = statistics.median(a_ / b_ for a_, b_ in zip(T[n]['train'], T['baseline']['train']))
        re_ = statistics.median(a_ / b_ for a_, b_ in zip(T[n]['eval'], T['baseline']['eval']))
        print(f"| {n} | {t['params'][n]/1e6:.2f} | {tr:.3f} | {rt:.2f} | {ev:.3f} | {re_:.2f} | "
              f"{mem[n]['peak_mib']:.0f} | {mem[n]['weights_mib']:.0f} |")


if __name__ == '__main__':
    main()
