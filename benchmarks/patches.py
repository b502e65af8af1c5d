"""Superpixel speed at 473x473 (the paper's crop): scikit-image, this package's NumPy versions, and its batched
torch SLIC on batches of 1, 16 and 64, on the CPU and on a GPU when there is one. Prints a markdown table with
images per second and the ratio to scikit-image's SLIC, all measured in this one run.

    python benchmarks/patches.py            # 3 to 6 minutes on a 2-core CPU
    python benchmarks/patches.py --quick    # fewer repeats
"""
import argparse, os, platform, statistics, time
import numpy as np
import torch
from PIL import Image
from skimage import data as skdata
from skimage.segmentation import slic, felzenszwalb
from qgnet_nb.superpixels_numpy import SLIC_DEFAULTS, FELZENSZWALB_DEFAULTS, slic_numpy, felzenszwalb_numpy
from qgnet_nb.superpixels import slic_torch, torch_threads

SIZE = 473


def photos(n):
    "n real 473x473 photos (scikit-image's CC0 and public-domain ones, cycled)."
    base = [np.asarray(Image.fromarray(getattr(skdata, k)()).resize((SIZE, SIZE), Image.BILINEAR))
            for k in ('chelsea', 'coffee', 'astronaut', 'rocket', 'retina')]
    return np.stack([base[i % len(base)] for i in range(n)])


def rate(fn, n_images, repeats, sync=lambda: None, warmup=True):
    "Images per second: n_images / median wall time of `repeats` calls (after one warm-up call if `warmup`)."
    if warmup:
        fn()
        sync()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t)
    return n_images / statistics.median(ts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='one repeat of everything')
    a = ap.parse_args(argv)
    rep = 1 if a.quick else 2
    load = ' '.join(f'{x:.1f}' for x in os.getloadavg()) if hasattr(os, 'getloadavg') else 'n/a'
    imgs = photos(64)
    sp, fp = SLIC_DEFAULTS, FELZENSZWALB_DEFAULTS
    rows = []   # (implementation, method, device, batch, threads, images/s)
    one = imgs[0]
    sk_slic = lambda: rate(lambda: [slic(x, start_label=0, **sp) for x in imgs[:4]], 4, rep)
    sk_before = sk_slic()
    rows.append(
        ('scikit-image', 'felzenszwalb', 'cpu', 1, 1, rate(lambda: [felzenszwalb(x, **fp) for x in imgs[:4]], 4, rep))
    )
    rows.append(
        ('numpy', 'slic', 'cpu', 1, 1, rate(lambda: [slic_numpy(x, **sp) for x in imgs[:2]], 2, 1, warmup=False))
    )
    rows.append(('numpy', 'felzenszwalb', 'cpu', 1, 1, rate(lambda: felzenszwalb_numpy(one, **fp), 1, 1, warmup=False)))
    default_threads = torch.get_num_threads()
    for threads in sorted({1, default_threads}):
        with torch_threads(threads):
            for b in (1, 16, 64):
                batch = torch.from_numpy(imgs[:b])
                r = rep if b < 64 else 1  # the batch of 64 runs once, after the smaller ones warmed up
                rows.append(
                    ('torch', 'slic', 'cpu', b, threads, rate(lambda: slic_torch(batch, **sp), b, r, warmup=b < 64))
                )
    if torch.cuda.is_available():
        sync = torch.cuda.synchronize
        for b in (1, 16, 64):
            batch = torch.from_numpy(imgs[:b]).cuda()
            rows.append(
                (
                    'torch',
                    'slic',
                    torch.cuda.get_device_name(),
                    b,
                    '-',
                    rate(lambda: slic_torch(batch, **sp), b, 5, sync),
                )
            )
    sk_after = sk_slic()                          # measured again at the end: the load of a shared machine drifts
    ref = (sk_before + sk_after) / 2
    rows.insert(0, ('scikit-image', 'slic', 'cpu', 1, 1, ref))
    print(f"Superpixels at {SIZE}x{SIZE}, defaults SLIC {sp}, Felzenszwalb {fp}")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"load average before the run {load}; ratio = images/s relative to scikit-image's SLIC\n")
    print(
        f"scikit-image SLIC measured before and after the rest: {sk_before:.2f} and {sk_after:.2f} images/s "
        "(mean used)\n"
    )
    print('| implementation | method | device | batch | threads | images/s | ratio |')
    print('|---|---|---|---|---|---|---|')
    for impl, m, dev, b, th, ips in rows:
        print(f'| {impl} | {m} | {dev} | {b} | {th} | {ips:.2f} | {ips / ref:.2f} |')
    if not torch.cuda.is_available(): print('\nNo GPU here: the GPU rows are absent.')


if __name__ == '__main__':
    main()
