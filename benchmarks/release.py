"""qgnet_nb against the QGNet release, side by side: seconds per training and per evaluation episode, and peak memory.

The release's code is not part of this project: pass a checkout of it with `--release PATH` (the folder holding
`model/PFENet_QGNet.py` and `model/resnet.py`). Two patches are applied here at run time, none to its files:
`.cuda()` becomes a no-op, so it runs on the CPU as written, and the ImageNet file its `resnet50()` always loads
is read as empty, so it starts from random weights as our side does. Both sides use ResNet-50, 473 px, 1-shot, random weights (no download),
the FEM decoder with PFENet's bins, batch 1, SGD; each measurement is a fresh process, the two sides alternate,
and the table reports the median of `--rounds` rounds.

    python benchmarks/release.py --release ../QGNet-Few-shot-segmentation --threads 1
    python benchmarks/release.py --release PATH --precision fp32 bf16 --steps 3
    python benchmarks/release.py --release PATH --backbone vgg16        # our VGG-16 start point, same episodes

`--precision` lists our settings to time (fp32: the plain path; auto: the fast path, bf16 where the CPU has it;
bf16: the fast path with bf16 forced; int8: the fast path with the frozen ResNets in int8, the rest as auto has it).
"""
from __future__ import annotations
import argparse, json, statistics, subprocess, sys, time
from pathlib import Path
from common import cpu_class, cpu_flags, cpu_header, status_mib, episode
sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'experiments'))
from table import speed_table                             # the table RESULTS.md shows, printed the same here


def _release_model(path: str, size: int):
    import torch
    torch.Tensor.cuda = lambda self, *a, **k: self            # the one patch: run the release on the CPU
    torch.nn.Module.cuda = lambda self, *a, **k: self
    here = Path(__file__).resolve().parent                 # benchmarks/model.py would shadow the release's model/
    sys.path[:] = [str(Path(path).resolve())] + [p for p in sys.path if Path(p or '.').resolve() != here]
    sys.modules.pop('model', None)
    import io, contextlib
    load = torch.load
    torch.load = lambda *a, **k: {}                          # its resnet50() loads ./initmodel/*.pth even when not
    try:                                                     # pretrained: random weights, as on our side
        with contextlib.redirect_stdout(io.StringIO()):
            from model.PFENet_QGNet import PFENet
            return PFENet(layers=50, classes=2, zoom_factor=8, pretrained=False, shot=1, ppm_scales=[60, 30, 15, 8])
    finally: torch.load = load


def run_one(side: str, path: str | None, size: int, steps: int, episodes: int, threads: int, precision: str,
            backbone: str = 'resnet50') -> dict:
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    q, s, sm, t = episode(size)
    if side == 'release':
        m = _release_model(path, size)
        for p in [*m.layer0.parameters(), *m.layer1.parameters(), *m.layer2.parameters(), *m.layer3.parameters(),
                  *m.layer4.parameters(), *m.layer0_unsuper.parameters(), *m.layer1_unsuper.parameters(),
                  *m.layer2_unsuper.parameters(), *m.layer3_unsuper.parameters(), *m.layer4_unsuper.parameters()]:
            p.requires_grad_(False)                          # as the release's train.py: only the head learns
        opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)
        def train_step():
            _, main, aux = m(q, s, sm.float(), t)
            (main + aux).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        def eval_step():
            with torch.no_grad(): return m(q, s, sm.float()).argmax(1)
    else:
        from qgnet_nb.models import build_model
        from qgnet_nb.qgnet import fast_path
        from qgnet_nb.core import autocast
        m = build_model('qgnet', backbone=backbone, weights=None, prior='random')
        dtype = None if precision == 'fp32' else fast_path(m, 'cpu', precision)[1]   # fp32: the plain path
        opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)
        def train_step():
            with autocast('cpu', dtype): o = m(q, s, sm, target=t)
            o['loss'].backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        def eval_step():
            with torch.inference_mode(), autocast('cpu', dtype): return m(q, s, sm)['logits'].argmax(1)

    m.train()
    train_step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps): train_step()
    tr = (time.perf_counter() - t0) / steps
    rss_train = status_mib('VmHWM')
    m.eval()
    eval_step()
    t0 = time.perf_counter()
    for _ in range(episodes): eval_step()
    ev = (time.perf_counter() - t0) / episodes
    return dict(side=side, precision=precision if side != 'release' else 'fp32', train_s=tr, eval_s=ev,
                peak_rss_train_mib=rss_train)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--release', required=True, help='a checkout of the QGNet release (holding model/PFENet_QGNet.py)')
    ap.add_argument('--size', type=int, default=473)
    ap.add_argument('--steps', type=int, default=2, help='timed training episodes per process (after one warm-up)')
    ap.add_argument('--episodes', type=int, default=2, help='timed evaluation episodes per process (after one warm-up)')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--precision', nargs='+', default=['fp32', 'auto'], help='our settings to time: fp32, auto, bf16, int8')
    ap.add_argument('--backbone', default='resnet50', choices=('resnet50', 'vgg16'),
                    help="our side's backbone (the release runs ResNet-50 only: its VGG flag builds no VGG)")
    ap.add_argument('--out', default=None, help='also write the measurements (every round) to this JSON file, e.g. '
                    'experiments/results/speed-release-CLASS.json, which experiments/table.py shows')
    ap.add_argument('--one', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        side, prec = a.one.split(':')
        print(json.dumps(run_one(side, a.release, a.size, a.steps, a.episodes, a.threads, prec, a.backbone)))
        return
    if not (Path(a.release)/'model'/'PFENet_QGNet.py').is_file():
        sys.exit(f"benchmarks/release.py: error: --release {a.release}: no model/PFENet_QGNet.py in it")
    sides = ['release:fp32'] + [f'ours:{p}' for p in a.precision]
    res = {k: [] for k in sides}
    for r in range(a.rounds):
        for k in sides:                                        # alternating: every side sees the same machine load
            out = subprocess.run([sys.executable, __file__, '--one', k, '--release', a.release, '--size', str(a.size),
                                  '--steps', str(a.steps), '--episodes', str(a.episodes), '--threads', str(a.threads),
                                  '--backbone', a.backbone],
                                 capture_output=True, text=True)
            if out.returncode: sys.exit(f"{k} failed:\n{out.stderr[-3000:]}")
            res[k].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(
                f"round {r + 1}/{a.rounds} {k}: train {res[k][-1]['train_s']:.2f} s, eval {res[k][-1]['eval_s']:.2f} s",
                file=sys.stderr, flush=True
            )
    med = {k: {f: statistics.median(x[f] for x in v) for f in ('train_s', 'eval_s', 'peak_rss_train_mib')}
           for k, v in res.items()}
    print(f"{cpu_header(a.threads)}\n{a.size} px, 1-shot, batch 1, median of {a.rounds} rounds\n")    # backbones: per row
    print(speed_table(dict(backbone=a.backbone, median=med)))
    if a.out:
        import torch
        Path(a.out).write_text(json.dumps(dict(
            cpu=cpu_flags(), cpu_class=cpu_class(), torch=torch.__version__, threads=a.threads, size=a.size,
            rounds=a.rounds, steps=a.steps, episodes=a.episodes, backbone=a.backbone, median=med, runs=res,
            command='python benchmarks/release.py ' + ' '.join(
                'PATH' if before == '--release' else x for before, x in zip([''] + sys.argv[1:], sys.argv[1:]))),
            indent=1) + '\n')
        print(f'(JSON: {a.out})')

if __name__ == '__main__':
    main()
