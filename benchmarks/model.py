"""Cost of one 1-shot training episode (forward + backward) of QGNet and its PFENet-style baseline.

For ResNet-50 at 473 px and ResNet-18 at 241 px: time per episode, peak memory, and the share of the time
spent computing the two region maps. Random weights (no download needed); batch of one episode; frozen
backbone (the default).

- Time: each backbone runs in its own process, where the baseline's and QGNet's episodes alternate, so both
  see the same machine load; the ratio is the median of the paired per-repeat ratios.
- Memory: each model runs one episode in a fresh process. On a GPU: the peak of allocated memory. On a CPU:
  the process's peak resident memory (Linux VmHWM) during that first episode minus its resident memory just
  before it (activations, gradients, workspaces), next to the size of the model's own weights and buffers.
  A fresh process matters: the allocator keeps freed pages, so a later episode would look free.
- Region maps: the guided map (without gradient, as the frozen model computes it) plus, for QGNet, the prior
  map's forward and backward (its projections train), timed on the inputs captured from the episode.

    python benchmarks/model.py                # CPU, or the GPU when there is one (bf16 autocast, channels-last)
    python benchmarks/model.py --repeats 5 --device cpu --threads 2
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, time
from common import episode, status_mib, sync, train_step_seconds

CONFIGS = [('resnet50', 473), ('resnet18', 241)]
MODELS = ('baseline', 'qgnet')


def _reset_peak_rss() -> bool:
    "Reset the kernel's peak-RSS counter (Linux >= 4.0); False where that is not possible."
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
        return True
    except OSError: return False


def _setup(arch, size, device, threads):
    import torch
    from qgnet_nb.core import get_device, amp_dtype
    from qgnet_nb.fem import PFENET_BINS, FRACTION_BINS
    if threads: torch.set_num_threads(threads)
    dev = get_device(device)
    bins = PFENET_BINS if size == 473 else FRACTION_BINS
    return dev, amp_dtype(dev), bins                 # bf16 on GPUs that support it, fp32 on CPU


def _build(name, arch, bins, dev):
    from qgnet_nb.core import seed_everything
    from qgnet_nb.models import build_model
    seed_everything(0)
    return build_model(name, backbone=arch, weights=None, prior='random', bins=bins,
                       channels_last=dev.type == 'cuda').to(dev).train()


def time_config(arch: str, size: int, repeats: int, device: str, threads: int | None) -> list[dict]:
    "Time the baseline and QGNet for one backbone and input size, their episodes interleaved."
    import torch
    from qgnet_nb.core import autocast, count_params
    from qgnet_nb import qgnet as Q, region_maps as R
    dev, dtype, bins = _setup(arch, size, device, threads)
    inputs = episode(size, dev)
    models, captured = {}, {}
    orig_guided, orig_prior = Q.guided_region_map, R.PriorRegionMap.forward
    for name in MODELS:
        m = models[name] = _build(name, arch, bins, dev)
        cap = captured[name] = {}  # the region maps' real inputs, to time them on their own

        def guided_spy(*a, **k):
            cap['guided'] = (a, k)
            return orig_guided(*a, **k)

        def prior_spy(self, *a, **k):
            cap['prior'] = (a, k)
            return orig_prior(self, *a, **k)
        Q.guided_region_map, R.PriorRegionMap.forward = guided_spy, prior_spy
        try: train_step_seconds(m, inputs, dev, dtype)   # also the warm-up
        finally: Q.guided_region_map, R.PriorRegionMap.forward = orig_guided, orig_prior

    def region_maps(name):
        m, cap = models[name], captured[name]
        sync(dev)
        t0 = time.perf_counter()
        a, k = cap['guided']
        with torch.no_grad(), autocast(dev, dtype): orig_guided(*a, **k)
        if 'prior' in cap:
            a, k = cap['prior']
            with autocast(dev, dtype): p = m.prior_region_map(*a, **k)
            p.sum().backward()
            m.zero_grad(set_to_none=True)
        sync(dev)
        return time.perf_counter() - t0

    for n in MODELS: region_maps(n)            # warm-up
    times, rm = {n: [] for n in MODELS}, {n: [] for n in MODELS}
    for _ in range(repeats):                   # interleaved: both models see the same machine load
        for n in MODELS: times[n].append(train_step_seconds(models[n], inputs, dev, dtype))
        for n in MODELS: rm[n].append(region_maps(n))
    return [
        dict(arch=arch, size=size, model=n, device=str(dev), dtype=str(dtype or torch.float32).replace('torch.', ''),
             threads=torch.get_num_threads(), times=times[n], region_maps=rm[n],
             trainable_m=count_params(models[n]) / 1e6, map_hw=list(captured[n]['guided'][0][0].shape[-2:]))
        for n in MODELS
    ]


def memory_one(arch: str, size: int, name: str, device: str, threads: int | None) -> dict:
    "Peak memory of the first training episode of one model, in this (fresh) process."
    import torch
    dev, dtype, bins = _setup(arch, size, device, threads)
    inputs = episode(size, dev)
    m = _build(name, arch, bins, dev)
    weights = sum(x.numel() * x.element_size() for x in [*m.parameters(), *m.buffers()]) / 2**20
    if dev.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated() / 2**20
        train_step_seconds(m, inputs, dev, dtype)
        peak = torch.cuda.max_memory_allocated() / 2**20 - before
    elif _reset_peak_rss():
        before = status_mib('VmRSS')
        train_step_seconds(m, inputs, dev, dtype)
        peak = status_mib('VmHWM') - before
    else: peak = float('nan')
    return dict(weights_mib=weights, episode_peak_mib=peak)


def _child(args: list[str]):
    r = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    line = [l for l in r.stdout.splitlines() if l.startswith('RESULT ')]
    if r.returncode or not line: raise RuntimeError(f"{' '.join(args)} failed:\n{r.stderr[-3000:]}")
    return json.loads(line[0][7:])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--repeats', type=int, default=3, help='timed episodes per model (after one warm-up)')
    p.add_argument('--device', default='auto')
    p.add_argument('--threads', type=int, default=None, help="torch CPU threads (default: torch's own choice)")
    p.add_argument('--time', help=argparse.SUPPRESS)
    p.add_argument('--memory', help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.time:
        print('RESULT ' + json.dumps(time_config(*json.loads(a.time), a.repeats, a.device, a.threads)))
        return 0
    if a.memory:
        print('RESULT ' + json.dumps(memory_one(*json.loads(a.memory), a.device, a.threads)))
        return 0

    common = ['--device', a.device] + (['--threads', str(a.threads)] if a.threads else [])
    print(
        f'load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; {a.repeats} timed episodes per model'
    )
    rows = []
    for arch, size in CONFIGS:
        for row in _child(['--time', json.dumps([arch, size]), '--repeats', str(a.repeats), *common]):
            row.update(_child(['--memory', json.dumps([arch, size, row['model']]), *common]))
            rows.append(row)
            print(f"  {arch} @ {size} {row['model']}: episodes {', '.join(f'{x:.2f}' for x in row['times'])} s",
                  flush=True)
    r0 = rows[0]
    mem = 'GPU max allocated' if r0['device'].startswith('cuda') else 'peak RSS above resident'
    print(
        f"\ndevice: {r0['device']} ({r0['dtype']}, {r0['threads']} threads); load average after: "
        f"{os.getloadavg()[0]:.2f}\n"
    )
    print(
        '| backbone @ input | model | trainable params | episode fwd+bwd, median (min) s | vs baseline (paired '
        'median) '
        f'| weights+buffers MiB | episode memory, {mem} MiB | region maps s | region-map share | map size |'
    )
    print('|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        base = next(b for b in rows if b['arch'] == r['arch'] and b['model'] == 'baseline')
        ratio = statistics.median(x / y for x, y in zip(r['times'], base['times']))
        med, rmed = statistics.median(r['times']), statistics.median(r['region_maps'])
        print(
            f"| {r['arch']} @ {r['size']} | {r['model']} | {r['trainable_m']:.1f} M | {med:.2f} "
            f"({min(r['times']):.2f}) "
            f"| {ratio:.2f}x | {r['weights_mib']:.0f} | {r['episode_peak_mib']:.0f} | {rmed:.3f} "
            f"| {100 * rmed / med:.1f}% | {r['map_hw'][0]}x{r['map_hw'][1]} |"
        )
    print(
        '\nOne episode = batch 1, 1 shot, frozen backbone. Region maps = the guided map (no gradient) plus, for QGNet, '
        'the prior map forward + backward, timed separately on the episode\'s own inputs; share = its median / the '
        'episode median.'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
