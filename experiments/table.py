"""A markdown table of `qgnet eval` JSON files: one row per model and shot, mIoU / FB-IoU per fold and their mean.

    python experiments/table.py runs/camvid/eval          # every *.json in the folder
"""
import json, sys
from collections import defaultdict
from pathlib import Path

def load(folder) -> list[dict]:
    rows = [json.loads(p.read_text()) for p in sorted(Path(folder).glob('*.json'))]
    if not rows: raise SystemExit(f'no evaluation JSON files in {folder}')
    return rows

def table(rows: list[dict]) -> str:
    folds = sorted({r['fold'] for r in rows})
    cell = defaultdict(dict)
    for r in rows: cell[(r.get('label', r['model']), r['shot'])][r['fold']] = r
    head = '| model | shot | ' + ' | '.join(f'fold {f} mIoU / FB-IoU' for f in folds) + ' | mean mIoU | per-class IoU |'
    out = [head, '|' + '---|' * (4 + len(folds))]
    for (name, shot), by in sorted(cell.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        fs = [f"{100*by[f]['miou']:.1f} / {100*by[f]['fbiou']:.1f}" if f in by else '-' for f in folds]
        mean = sum(r['miou'] for r in by.values()) / len(by)
        pcs = '; '.join(f"{c} {100*v:.1f}" for f in folds if f in by for c, v in by[f]['per_class'].items())
        n = {r['episodes'] for r in by.values()}
        out.append(f"| {name} | {shot} | " + ' | '.join(fs) + f" | {100*mean:.1f}{'' if len(by) == len(folds) else ' (partial)'} "
                   f"| {pcs} |" + ('' if n == {1000} else f" ({'/'.join(map(str, sorted(n)))} episodes)"))
    return '\n'.join(out)

if __name__ == '__main__': print(table(load(sys.argv[1] if len(sys.argv) > 1 else 'runs/camvid/eval')))
