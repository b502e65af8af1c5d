"""A training run's learning curve as one result file: its configuration, start point and metrics.jsonl.

    python experiments/curve.py runs/vgg/fem-base --out experiments/results/vgg16/fem-base.json

RESULTS.md (experiments/table.py, standard library only) cannot read checkpoints, so this copies what it shows: the
run's TrainConfig and start point from last.pt, and one row per epoch (losses, the label-prior entropy, validation
mIoU and FB-IoU) from metrics.jsonl. A run stopped before its last epoch is recorded as such.
"""
import argparse, json, sys
from pathlib import Path
import torch
from qgnet_nb.core import save_json


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('run', type=Path, help='a `qgnet train --out` folder (last.pt, metrics.jsonl)')
    p.add_argument('--out', required=True)
    a = p.parse_args(argv)
    ck = torch.load(a.run/'last.pt', map_location='cpu', weights_only=True)
    cfg = {k: v for k, v in ck['train_config'].items() if k != 'root'}
    rows = [json.loads(line) for line in (a.run/'metrics.jsonl').read_text().splitlines() if line.strip()]
    keep = ('epoch', 'step', 'main_loss', 'aux_loss', 'prior_entropy', 'val_miou', 'val_fbiou', 'seconds')
    save_json(dict(run=a.run.name, config=cfg, start_point=ck.get('start_point'), epochs_done=ck['epoch'],
                   epochs=[{k: r[k] for k in keep if k in r} for r in rows]), a.out)
    return 0


if __name__ == '__main__': sys.exit(main())
