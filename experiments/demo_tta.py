"""IIR's multi-scale test-time augmentation on the trained models of `qgnet demo` runs, with and without it.

For each run folder (a `qgnet demo --models ...` output) this rebuilds the demo's own test episodes from the
config in its `results.json`, loads every model it trained (`RUN/MODEL/last.pt`), and evaluates it twice on the
same episodes: as trained, and wrapped in `MultiScaleTTA` (the softmax averaged over inputs scaled 0.8, 1 and
1.25, as `qgnet eval --tta` runs it). The first is the control: it must give the run's recorded mIoU, so the two
columns differ by the augmentation alone.

    python experiments/demo_tta.py runs/demo4n-321 runs/demo4n-322 runs/demo4n-323 \
        --out experiments/results/demo-tta.json
"""
from __future__ import annotations
import argparse, json, sys, time, torch
from pathlib import Path
from qgnet_nb.core import save_json
from qgnet_nb.demo import demo_config
from qgnet_nb.evaluate import evaluate
from qgnet_nb.models import eval_wrapper, import_model_modules, load_model


def run_rows(run: Path, precision: str, progress: bool) -> list[dict]:
    "Every (model, shot) of one demo run, scored without and with the augmentation on the demo's episodes."
    d = json.loads((run/'results.json').read_text())
    cfg = demo_config(d)
    recorded = {(r['model'], r['shot']): r['miou'] for r in d['results']}
    models = {name: load_model(run/name/'last.pt').eval() for name in cfg.models}
    rows = []
    for shot in cfg.shots:
        ds = cfg.dataset('val', 'test', cfg.size, cfg.episodes, shot=shot)
        for name, model in models.items():
            row = dict(run=str(run), seed=cfg.seed, model=name, shot=shot, recorded=recorded[(name, shot)])
            tta = eval_wrapper('tta')(model)
            for label, m in (('plain', model), ('tta', tta)):
                t0 = time.perf_counter()
                r = evaluate(m, ds, 'cpu', precision, progress=progress)
                row[label] = dict(miou=r['miou'], fbiou=r['fbiou'], per_class=r['per_class'],
                                  seconds=round(time.perf_counter() - t0, 1))
            row['scales'] = tta.scales
            print(f"{run.name} {name} {shot}-shot: recorded {100*row['recorded']:.1f}, plain "
                  f"{100*row['plain']['miou']:.1f}, +TTA {100*row['tta']['miou']:.1f}", file=sys.stderr)
            rows.append(row)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('runs', nargs='+', type=Path, help='`qgnet demo` output folders (each with results.json)')
    p.add_argument('--precision', default='fp32', help="evaluation precision (the demo's runs used fp32 here)")
    p.add_argument('--out', type=Path, required=True, help='JSON file to write')
    p.add_argument('--quiet', action='store_true', help='no progress bars')
    a = p.parse_args(argv)
    missing = [str(r) for r in a.runs if not (r/'results.json').is_file()]
    if missing: p.error(f"no results.json in {', '.join(missing)}: expected `qgnet demo` output folders")
    import_model_modules()
    caps = getattr(torch.cpu, 'get_capabilities', dict)() or {}
    rows = [row for run in a.runs for row in run_rows(run, a.precision, not a.quiet)]
    save_json(dict(rows=rows, precision=a.precision, cpu=caps.get('cpu_name', '?'),
                   threads=torch.get_num_threads()), a.out)
    return 0


if __name__ == '__main__': raise SystemExit(main())
