"""Does the trained decoder use the support? Evaluate trained models with support = query (the query image and its own
mask as the support) beside the real episodes, and the guided map alone at its best single threshold.

    python experiments/support_query.py runs/demo              # after `qgnet demo --out runs/demo`
    python experiments/support_query.py runs/camvid/qgnet-f0 --data camvid --root CAMVID_ROOT
"""
import argparse
from pathlib import Path
import torch
from qgnet_nb.data import make_dataset, collate_episodes
from qgnet_nb.models import load_model
from qgnet_nb.start_point import ThresholdSweep
from qgnet_nb.train import SelfSupport
from qgnet_nb.evaluate import evaluate
from qgnet_nb.models import import_model_modules

@torch.no_grad()
def guided_alone(model, ds) -> float:
    "mIoU of the model's guided map at its best single threshold (an upper bound: the threshold sees the answers)."
    sw = ThresholdSweep(ds.classes, lo=0, hi=1, bins=200)
    model.eval()
    for i in range(len(ds)):
        b = collate_episodes([ds[i]])
        g = model(b['query_img'], b['support_imgs'], b['support_masks'])['guided_map']
        g = torch.nn.functional.interpolate(
            g.float(), size=b['query_img'].shape[-2:], mode='bilinear', align_corners=True
        )
        h, w = (int(v) for v in b['query_size'][0])
        sw.update(g[0, 0, :h, :w], b['query_mask'][0, :h, :w], int(b['class_id'][0]))
    return sw.best()[0]

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('run', help='a `qgnet demo` output folder (with qgnet/ and baseline/) or one `qgnet train` folder')
    p.add_argument('--data', default='demo')
    p.add_argument('--root', default=None)
    p.add_argument('--fold', type=int, default=0)
    p.add_argument('--episodes', type=int, default=200)
    p.add_argument('--seed', type=int, default=321)
    a = p.parse_args()
    run = Path(a.run)
    ckpts = [run/'last.pt'] if (run/'last.pt').exists() else sorted(run.glob('*/last.pt'))
    if not ckpts:
        p.error(f"{run}: no last.pt in it or in its subfolders (expected a `qgnet demo` or `qgnet train` output)")
    import_model_modules()
    print('| model | real support mIoU | support = query mIoU | guided map alone, support = query (best threshold) |')
    print('|---|---|---|---|')
    for ck in ckpts:
        try: model, extra = load_model(ck, return_extra=True)
        except ValueError: continue                           # e.g. base/last.pt of the base-class pretraining
        size = extra.get('train_config', {}).get('size', 128)
        ds = make_dataset(
            a.data, a.root, split='val', fold=a.fold, shot=1, mode='test', size=size, episodes=a.episodes, seed=a.seed
        )
        real = evaluate(model, ds, 'cpu', resolution='input', progress=False)['miou']
        same = evaluate(model, SelfSupport(ds), 'cpu', resolution='input', progress=False)['miou']
        alone = guided_alone(model, SelfSupport(ds))
        print(f"| {model.config['name']} ({ck.parent.name}) | {100 * real:.1f} | {100 * same:.1f} | {100 * alone:.1f} |")

if __name__ == '__main__': main()
