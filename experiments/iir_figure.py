"""IIR's regions and prior beside QGNet's maps, on trained models of one `qgnet demo` run, for a few test episodes.

Each row is one 1-shot test episode of the demo's own test set (rebuilt from the run's results.json). Columns: the
support with IIR's core (red) and local (blue) regions; the query's CAM-foreground at the support's threshold;
IIR's inter-image prior; QGNet's prior region map and the guided region map it shares with its baseline; the two
models' predictions. The ground truth is outlined on every map.

    python experiments/iir_figure.py runs/demo4n-321 --episodes 0 1 2    # writes figures/iir_regions_trained.png
"""
from __future__ import annotations
import argparse, json, torch
import torch.nn.functional as F
from pathlib import Path
from qgnet_nb.core import overlay_heatmap, overlay_mask, save_figure, to_image
from qgnet_nb.data import collate_episodes
from qgnet_nb.demo import demo_config
from qgnet_nb.models import import_model_modules, load_model

COLUMNS = ('support: core / local', 'query: CAM-foreground', 'IIR prior', 'QGNet prior map', 'guided map',
           'IIR prediction', 'QGNet prediction')


@torch.no_grad()
def panels(iir, qgnet, e: dict) -> list:
    "The seven images of one episode (the ground truth comes back as the last item, for the outlines)."
    b = collate_episodes([e])
    S = e['query_img'].shape[-2:]
    near = lambda x: F.interpolate(x[None, None].float(), size=S, mode='nearest')[0, 0].numpy()
    bil = lambda x: F.interpolate(x.reshape(1, 1, *x.shape[-2:]).float(), size=S, mode='bilinear',
                                  align_corners=False)[0, 0].numpy()
    c = iir.cams(b['query_img'], b['support_imgs'], b['support_masks'])
    oi, oq = iir(b['query_img'], b['support_imgs'], b['support_masks']), qgnet(b['query_img'], b['support_imgs'],
                                                                            b['support_masks'])
    sm = (e['support_masks'][0] == 1).numpy()
    fg = near(c['support_fg'][0, 0, 0])
    qi = to_image(e['query_img'])
    sup = overlay_mask(overlay_mask(to_image(e['support_imgs'][0]), fg * sm, color=(230, 30, 30)),
                       (1 - fg) * sm, color=(30, 60, 230))
    pred = lambda o: overlay_mask(qi, o['logits'].argmax(1)[0].numpy(), color=(250, 200, 0))
    return [sup, overlay_mask(qi, near(c['query_fg'][0, 0, 0]), color=(230, 30, 30)),
            overlay_heatmap(qi, bil(c['prior'][0])), overlay_heatmap(qi, bil(oq['prior_map'][0])),
            overlay_heatmap(qi, bil(oq['guided_map'][0])), pred(oi), pred(oq), (e['query_mask'] == 1).numpy()]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('run', type=Path, help='a `qgnet demo --models ... iir ...` output folder (results.json, iir/, qgnet/)')
    p.add_argument('--episodes', type=int, nargs='+', default=[0, 1, 2], help='indices of the 1-shot test episodes')
    p.add_argument('--name', default='iir_regions_trained.png', help='file name under figures/')
    a = p.parse_args(argv)
    need = [a.run/'results.json', a.run/'iir'/'last.pt', a.run/'qgnet'/'last.pt']
    missing = [str(f) for f in need if not f.is_file()]
    if missing: p.error(f"missing {', '.join(missing)}: expected a `qgnet demo` run with the iir and qgnet models")
    import_model_modules()
    d = json.loads((a.run/'results.json').read_text())
    cfg = demo_config(d)
    ds = cfg.dataset('val', 'test', cfg.size, cfg.episodes, shot=1)
    iir, qgnet = (load_model(a.run/n/'last.pt').eval() for n in ('iir', 'qgnet'))
    from matplotlib.figure import Figure
    fig = Figure(figsize=(2.1 * len(COLUMNS), 2.3 * len(a.episodes)))
    axs = fig.subplots(len(a.episodes), len(COLUMNS), squeeze=False)
    for row, i in enumerate(a.episodes):
        *ims, gt = panels(iir, qgnet, ds[i])
        for col, (ax, im) in enumerate(zip(axs[row], ims)):
            ax.imshow(im)
            ax.axis('off')
            if col: ax.contour(gt, levels=[.5], colors='white', linewidths=0.8)
            if row == 0: ax.set_title(COLUMNS[col], fontsize=9)
    fig.suptitle(f"IIR and QGNet trained by `qgnet demo` (seed {cfg.seed}), {cfg.data} fold {cfg.fold} novel classes, "
                 "1-shot test episodes; ground truth outlined", fontsize=10)
    print(save_figure(fig, a.name))
    return 0


if __name__ == '__main__': raise SystemExit(main())
