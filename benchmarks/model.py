"""Cost of one 1-shot training episode (forward + backward) of QGNet and its PFENet-style baseline.

For ResNet-50 at 473 px and ResNet-18 at 241 px: median time per episode, peak memory, and the share of the
time spent computing the two region maps. Each backbone runs in its own process; within it the baseline's and
QGNet's episodes alternate, so both see the same machine load and their ratio is fair. Random weights (no
download needed); batch of one episode; frozen backbone (the default).

    python benchmarks/model.py                # CPU, or the GPU when there is one (bf16 autocast, channels-last)
    python benchmarks/model.py --repeats 5 --device cpu --threads 2
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, time

CONFIGS = [('resnet50', 473), ('resnet18', 241)]
MODELS = ('baseline', 'qgnet')


def _sync(dev):
    import torch
    if dev.type == 'cuda': torch.cuda.synchronize()


def _episode(size, dev, seed=0):
    import torch
    from qgnet_nb.core import normalize
    g = torch.Generator().manual_seed(seed)
    q = normalize(torch.rand(1, 3, size, size, generator=g))
    s = normalize(torch.rand(1, 1, 3, size, size, generator=g))
    sm = torch.zeros(1, 1, size, size, dtype=torch.long); sm[..., size // 4: 3 * size // 4, size // 3: 2 * size // 3] = 1
    t = torch.zeros(1, size, size, dtype=torch.long); t[..., size // 5: size // 2, size // 5: size // 2] = 1; t[..., -8:, :] = 255
    return [x.to(dev) for x in (q, s, sm, t)]


def _rss_mib(field='VmRSS'):
    for line in open('/proc/self/status'):
        if line.startswith(field): return int(line.split()[1]) / 1024


def _reset_peak_rss() -> bool:
    "Reset the kernel's peak-RSS counter (Linux); False where that is not possible."
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
        return True
    except OSError: return False


def run_config(arch: str, size: int, repeats: int, device: str, threads: int | None) -> list[dict]:
    "Measure the baseline and QGNet for one backbone and input size in this process, their episodes interleaved."
    import torch
    from qgnet_nb.core import get_device, amp_dtype, autocast, seed_everything, count_params
    from qgnet_nb.fem import PFENET_BINS, FRACTION_BINS
    from qgnet_nb import qgnet as Q
    from qgnet_nb import region_maps as R
    if threads: torch.set_num_threads(threads)
    dev = get_device(device)
    dtype = amp_dtype(dev)                      # bf16 on GPUs that support it, fp32 on CPU
    bins = PFENET_BINS if size == 473 else FRACTION_BINS
    q, s, sm, t = _episode(size, dev)
    models, captured = {}, {}
    orig_guided, orig_prior = Q.guided_region_map, R.PriorRegionMap.forward
    for name in MODELS:
        seed_everything(0)
        m = Q.build_model(name, backbone=arch, weights=None, prior='random', bins=bins,
                          channels_last=dev.type == 'cuda').to(dev).train()
        cap = captured[name] = {}               # the region maps' real inputs, to time them on their own later
        def guided_spy(*a, **k): cap['guided'] = (a, k); return orig_guided(*a, **k)
        def prior_spy(self, *a, **k): cap['prior'] = (a, k); return orig_prior(self, *a, **k)
        Q.guided_region_map, R.PriorRegionMap.forward = guided_spy, prior_spy
        with autocast(dev, dtype): m(q, s, sm, t)['loss'].backward()        # also the warm-up episode
        Q.guided_region_map, R.PriorRegionMap.forward = orig_guided, orig_prior
        m.zero_grad(set_to_none=True)
        models[name] = m

    def episode(m):
        _sync(dev); t0 = time.perf_counter()
        with autocast(dev, dtype): out = m(q, s, sm, t)
        out['loss'].backward()
        _sync(dev); dt = time.perf_counter() - t0
        m.zero_grad(set_to_none=True)
        return dt

    def region_maps(name):
        m, cap = models[name], captured[name]
        _sync(dev); t0 = time.perf_counter()
        a, k = cap['guided']
        with torch.no_grad(), autocast(dev, dtype): orig_guided(*a, **k)   # frozen features: no graph, as in the model
        if 'prior' in cap:
            a, k = cap['prior']
            with autocast(dev, dtype): p = m.prior_region_map(*a, **k)
            p.sum().backward()                                              # the projections train: forward + backward
            m.zero_grad(set_to_none=True)
        _sync(dev); return time.perf_counter() - t0

    times = {n: [] for n in MODELS}; rm = {n: [] for n in MODELS}
    for n in MODELS: region_maps(n)                                         # warm-up
    for _ in range(repeats):                                                # interleaved: both see the same machine load
        for n in MODELS: times[n].append(episode(models[n]))
        for n in MODELS: rm[n].append(region_maps(n))

    rows = []
    for n in MODELS:
        m = models[n]
        resident = sum(x.numel() * x.element_size() for x in [*m.parameters(), *m.buffers()]) / 2**20
        if dev.type == 'cuda':
            torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); before = torch.cuda.memory_allocated() / 2**20
            episode(m); above = torch.cuda.max_memory_allocated() / 2**20 - before
        elif _reset_peak_rss():
            before = _rss_mib(); episode(m); above = _rss_mib('VmHWM') - before
        else: above = float('nan')
        rows.append(dict(arch=arch, size=size, model=n, device=str(dev), dtype=str(dtype or torch.float32).replace('torch.', ''),
                         threads=torch.get_num_threads(), episode_s=statistics.median(times[n]), episode_all=times[n],
                         region_maps_s=statistics.median(rm[n]), resident_mib=resident, episode_peak_mib=above,
                         trainable_m=count_params(m) / 1e6, map_hw=tuple(captured[n]['guided'][0][0].shape[-2:])))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--repeats', type=int, default=3, help='timed episodes per model (after one warm-up), median reported')
    p.add_argument('--device', default='auto')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch\'s own choice)')
    p.add_argument('--one', help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.one:
        arch, size = json.loads(a.one)
        print('RESULT ' + json.dumps(run_config(arch, size, a.repeats, a.device, a.threads)))
        return 0
    print(f'load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; {a.repeats} timed episodes per model (median)')
    rows = []
    for arch, size in CONFIGS:
        cmd = [sys.executable, __file__, '--one', json.dumps([arch, size]), '--repeats', str(a.repeats), '--device', a.device]
        if a.threads: cmd += ['--threads', str(a.threads)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        line = [l for l in r.stdout.splitlines() if l.startswith('RESULT ')]
        if r.returncode or not line:
            print(f'{arch} @ {size} failed:\n{r.stderr[-2000:]}'); return 1
        for row in json.loads(line[0][7:]):
            rows.append(row)
            print(f"  {arch} @ {size} {row['model']}: {', '.join(f'{x:.2f}' for x in row['episode_all'])} s", flush=True)
    r0 = rows[0]
    mem = 'GPU memory allocated' if r0['device'].startswith('cuda') else 'process RSS'
    print(f"\ndevice: {r0['device']} ({r0['dtype']}, {r0['threads']} threads); load average after: {os.getloadavg()[0]:.2f}\n")
    print(f'| backbone @ input | model | trainable params | episode fwd+bwd (s) | vs baseline | weights+buffers (MiB) '
          f'| episode peak above resident, {mem} (MiB) | region maps (s) | region-map share | map size |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        base = next(b for b in rows if b['arch'] == r['arch'] and b['model'] == 'baseline')
        print(f"| {r['arch']} @ {r['size']} | {r['model']} | {r['trainable_m']:.1f} M | {r['episode_s']:.2f} "
              f"| {r['episode_s'] / base['episode_s']:.2f}x | {r['resident_mib']:.0f} | {r['episode_peak_mib']:.0f} "
              f"| {r['region_maps_s']:.3f} | {100 * r['region_maps_s'] / r['episode_s']:.1f}% | {r['map_hw'][0]}x{r['map_hw'][1]} |")
    print('\nregion maps = the guided map (no gradient: frozen features) plus, for QGNet, the prior map forward and '
          'backward (its projections train), timed on the inputs captured from the episode. One episode = batch 1, 1 shot.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
