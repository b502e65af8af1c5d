"""Helpers shared by the benchmark scripts (each is run as `python benchmarks/NAME.py`, so this folder is on sys.path)."""

def status_mib(field: str) -> float:
    "A memory field of this process's /proc/self/status (e.g. 'VmRSS', 'VmHWM') in MiB (Linux)."
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'): return int(line.split()[1]) / 1024


def episode(size: int, dev='cpu', batch: int = 1, seed: int = 0):
    """A synthetic batch of 1-shot episodes, the same in every benchmark: query, support, support mask (a box),
    target (a box, 255 at the bottom)."""
    import torch
    from qgnet_nb.core import normalize
    g = torch.Generator().manual_seed(seed)
    q = normalize(torch.rand(batch, 3, size, size, generator=g))
    s = normalize(torch.rand(batch, 1, 3, size, size, generator=g))
    sm = torch.zeros(batch, 1, size, size, dtype=torch.long)
    sm[..., size // 4 : 3 * size // 4, size // 3 : 2 * size // 3] = 1
    t = torch.zeros(batch, size, size, dtype=torch.long)
    t[..., size // 5 : size // 2, size // 5 : size // 2] = 1
    t[..., -8:, :] = 255
    return [x.to(dev) for x in (q, s, sm, t)]


def sync(dev):
    "Wait for the GPU's queued work (nothing to wait for on a CPU), so a timer reads the work itself."
    import torch
    if dev.type == 'cuda': torch.cuda.synchronize()


def train_step_seconds(m, inputs, dev, dtype) -> float:
    "Seconds of one training forward and backward of model `m` on `inputs` (`m` in train mode, gradients cleared)."
    import time
    from qgnet_nb.core import autocast
    m.train()
    sync(dev)
    t0 = time.perf_counter()
    with autocast(dev, dtype): out = m(*inputs)
    out['loss'].backward()
    sync(dev)
    dt = time.perf_counter() - t0
    m.zero_grad(set_to_none=True)
    return dt


CPU_FLAGS = ('avx2', 'avx512_f', 'avx512_vnni', 'avx512_bf16', 'amx_int8', 'amx_bf16')


def cpu_flags() -> dict:
    "This CPU's model name and which of CPU_FLAGS it has (torch's view of them)."
    import torch
    c = torch.cpu.get_capabilities()
    return dict(model=c.get('cpu_name', '?'), **{f: bool(c.get(f)) for f in CPU_FLAGS})


def cpu_class() -> str:
    "A short name for the class of this CPU, for file names: amx, avx512-bf16, avx512-vnni, avx512 or avx2."
    f = cpu_flags()
    return ('amx' if f['amx_bf16'] else 'avx512-bf16' if f['avx512_bf16'] else 'avx512-vnni' if f['avx512_vnni']
            else 'avx512' if f['avx512_f'] else 'avx2' if f['avx2'] else 'other')


def cpu_header(threads: int) -> str:
    "One line saying which CPU (and which of its bf16/VNNI/AMX flags), torch and threads produced a table."
    import torch
    f = cpu_flags()
    flags = ', '.join(k for k in CPU_FLAGS if f[k]) or 'none of ' + ', '.join(CPU_FLAGS)
    return f"CPU: {f['model']} (class {cpu_class()}; flags: {flags}); torch {torch.__version__}; {threads} thread(s)"
