"""The fast path's accuracy guard on a trained checkpoint: fp32 against bf16 (or int8) on the same test episodes.

Prints the fraction of scored pixels whose prediction is the same both ways and the mIoU of each; the fast path
is meant to keep at least 99.5% of the pixels and the mIoU within 0.5 points. bf16 is forced, so this runs on
any CPU (slowly where bf16 is emulated) and on GPUs; `--precision int8` guards the frozen ResNets in int8 (CPU),
with the rest in bf16 where the CPU has it natively, else fp32, as `qgnet eval --precision int8` runs it.

    python benchmarks/agreement.py runs/demo/qgnet/last.pt                     # the demo's model, 200 episodes
    python benchmarks/agreement.py runs/demo/qgnet/last.pt --precision int8
    python benchmarks/agreement.py runs/camvid/qgnet-f0/last.pt --data camvid --root CAMVID --episodes 300
"""
from __future__ import annotations
import argparse, time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('ckpt', help='a checkpoint of qgnet train (last.pt / best.pt)')
    ap.add_argument('--data', default=None, help="dataset (default: the checkpoint's training data)")
    ap.add_argument('--root', default=None)
    ap.add_argument('--fold', type=int, default=None)
    ap.add_argument('--shot', type=int, default=1)
    ap.add_argument('--episodes', type=int, default=200)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--precision', default='bf16', choices=('bf16', 'int8'),
                    help="the fast path to guard: bf16 autocast, or the frozen ResNets in int8 (+ bf16 where native)")
    ap.add_argument('--threads', type=int, default=0)
    a = ap.parse_args()
    import torch
    from qgnet_nb.data import make_dataset
    from qgnet_nb.models import load_checked
    from qgnet_nb.train import prediction_agreement
    if a.threads: torch.set_num_threads(a.threads)
    model, extra = load_checked(a.ckpt, 'ckpt')
    tc = extra.get('train_config', {})
    data, root = a.data or tc.get('data', 'demo'), a.root or tc.get('root')
    fold, size = a.fold if a.fold is not None else tc.get('fold', 0), tc.get('size', 473)
    ds = make_dataset(
        data, root, split='val', fold=fold, shot=a.shot, mode='test', size=size, episodes=a.episodes, seed=321
    )
    t0 = time.perf_counter()
    r = prediction_agreement(model.to(a.device), ds, a.precision, a.device)
    print(f"{a.ckpt}: {data} fold {fold}, {a.shot}-shot, {len(ds)} episodes at {size} px, original resolution "
          f"({time.perf_counter() - t0:.0f} s)\n")
    print(f"| pixels that agree | mIoU fp32 | mIoU {r['precision']} | difference (points) | guard (>= 99.5%, <= 0.5) |")
    print('|---|---|---|---|---|')
    ok = r['agreement'] >= 0.995 and abs(r['miou_delta']) <= 0.5
    print(f"| {100 * r['agreement']:.3f}% | {100 * r['miou_fp32']:.2f} | {100 * r['miou_fast']:.2f} | "
          f"{r['miou_delta']:+.2f} | {'holds' if ok else 'FAILS'} |")


if __name__ == '__main__':
    main()
