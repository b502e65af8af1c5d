"""Does the prior extractor leave chance? Each contrastive pretraining run's final losses against log(negatives + 1).

    python experiments/prior_chance.py NAME=RUN_DIR [NAME=RUN_DIR ...] --out runs/prior-chance.json

RUN_DIR is a `qgnet pretrain --out` folder (checkpoint.pth.tar with its config and history). For the global and
the local InfoNCE: the mean of the last 20 steps, that mean over chance log(K + 1) (the loss of an encoder that
cannot tell its positive from the K negatives), and how many times the global queue was refilled. The target of
the paper-recipe work is a global ratio of at most 0.7 after at least 5 refills. Prints a table; --out writes it.
"""
import argparse, sys, types
from pathlib import Path
import torch
from qgnet_nb.core import save_json
from qgnet_nb.prior_extractor import chance_ratios


def chance(run: Path, last: int = 20) -> dict:
    "One run's config and images, with `chance_ratios` of its history: steps, refills, each loss against chance."
    ck = torch.load(run/'checkpoint.pth.tar', map_location='cpu', weights_only=False)   # this project's own file
    cfg = ck['config']
    r = chance_ratios(ck['history'], types.SimpleNamespace(**cfg), last)
    return dict(config={k: v for k, v in cfg.items() if k != 'patch_params'}, images=ck.get('data'), **r)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('runs', nargs='+', help='NAME=RUN_DIR')
    p.add_argument('--out', default=None)
    a = p.parse_args(argv)
    res = {}
    for spec in a.runs:
        name, _, path = spec.partition('=')
        if not (Path(path)/'checkpoint.pth.tar').is_file(): raise SystemExit(f'{spec}: no checkpoint.pth.tar there')
        res[name] = chance(Path(path))
    print('| run | start | K | steps | refills | global / chance | local / chance |\n|---|---|---|---|---|---|---|')
    for n, r in res.items():
        c = r['config']
        print(f"| {n} | {c['weights'] or 'random'} | {c['queue']} | {r['steps']} | {r['refills']:.1f} | "
              f"{r['global']['ratio']:.2f} | {format(r['local']['ratio'], '.2f') if 'local' in r else '-'} |")
    if a.out: save_json(dict(runs=res), a.out)
    return 0


if __name__ == '__main__': sys.exit(main())
