"""Table 7 for a trained checkpoint: recall of the guided and prior maps (V and 1 - V) at alpha = 0.1..0.9.

    python experiments/recall.py --ckpt runs/camvid/qgnet-f0/last.pt --data camvid --root CAMVID_ROOT \
        --fold 0 --episodes 1000 --out runs/camvid/recall-f0
writes OUT/recall.json, OUT/recall.md and OUT/recall.png (and prints the table).
"""
import argparse
from pathlib import Path
from qgnet_nb.core import save_json, atomic_open
from qgnet_nb.data import make_dataset, DATASETS
from qgnet_nb.models import load_model
from qgnet_nb.models import import_model_modules
from qgnet_nb.recall import evaluate_maps, recall_table, recall_figure

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--ckpt', required=True)
    p.add_argument('--data', default='demo', choices=list(DATASETS))
    p.add_argument('--root', default=None)
    p.add_argument('--split', default='val')
    p.add_argument('--fold', type=int, default=0)
    p.add_argument('--shot', type=int, default=1)
    p.add_argument('--episodes', type=int, default=1000)
    p.add_argument('--seed', type=int, default=321)
    p.add_argument('--out', required=True)
    a = p.parse_args(argv)
    import_model_modules()
    model, extra = load_model(a.ckpt, return_extra=True)
    size = extra.get('train_config', {}).get('size', 473)
    ds = make_dataset(a.data, a.root, split=a.split, fold=a.fold, shot=a.shot, mode='test', size=size,
                      episodes=a.episodes, seed=a.seed)
    res = evaluate_maps(model, ds)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    res.update(checkpoint=str(a.ckpt), data=a.data, split=a.split)
    save_json(res, out/'recall.json')
    table = recall_table(res['maps'])
    (out/'recall.md').write_text(table + '\n')
    fig = recall_figure(res['maps'], title=f"{model.config['name']} on {a.data} {a.split}, fold {a.fold}, "
                                           f"{a.shot}-shot, {a.episodes} episodes (mIoU {100*res['miou']:.1f})")
    with atomic_open(out/'recall.png', 'wb') as f: fig.savefig(f, dpi=100, format='png', bbox_inches='tight')
    print(table)

if __name__ == '__main__': main()
