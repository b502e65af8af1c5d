"""`qgnet segment` end to end, as a user runs it: a tiny checkpoint's run folder, support images with their masks,
a folder of queries of any size and mode; it must write a 0/255 mask and an overlay per query at the query's own
size, and one line of segment.jsonl each. (The function `qgnet_nb.segment.segment` is tested in its notebook.)"""
import json, os, subprocess
import numpy as np
import torch
from PIL import Image

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1', 'QGNET_DEBUG': ''}
QUERIES = {'a.jpg': ((33, 47, 3), 'RGB'), 'b.png': ((64, 20), 'L'), 'sub/c.png': ((25, 25, 4), 'RGBA')}


def _inputs(d):
    from qgnet_nb.models import build_model, save_model
    torch.manual_seed(0)
    save_model(build_model('baseline', backbone='resnet18', weights=None, bins=(8, 4)), d / 'run' / 'last.pt',
               train_config={'size': 32})
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(d / 's1.jpg')
    lab = np.full((40, 60), 3, np.uint8)                          # a class-index mask: the object is class 8
    lab[10:30, 20:40] = 8
    Image.fromarray(lab).save(d / 's1.png')
    Image.fromarray(rng.integers(0, 255, (30, 30, 3), dtype=np.uint8)).save(d / 's2.png')
    lab2 = np.zeros((30, 30), np.uint8)
    lab2[5:15, 5:25] = 8
    Image.fromarray(lab2).save(d / 's2_mask.png')
    for name, (shape, mode) in QUERIES.items():
        (d / 'q' / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(d / 'q' / name)
    (d / 'q' / 'notes.txt').write_text('not an image: skipped')


def test_segment_writes_a_mask_an_overlay_and_a_line_per_query(tmp_path):
    _inputs(tmp_path)
    out = tmp_path / 'out'
    r = subprocess.run(['qgnet', 'segment', '--ckpt', str(tmp_path / 'run'), '--support', str(tmp_path / 's1.jpg'),
                        str(tmp_path / 's1.png'), '--support', str(tmp_path / 's2.png'), str(tmp_path / 's2_mask.png'),
                        '--class-id', '8', '--query', str(tmp_path / 'q'), '--out', str(out), '--device', 'cpu'],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert '3 queries, 2-shot, input 32 px' in r.stderr, r.stderr
    assert '3/3 (100%)' in r.stdout, f'a plain progress line when not a terminal: {r.stdout!r}'
    lines = [json.loads(l) for l in (out / 'segment.jsonl').read_text().splitlines()]
    assert [os.path.relpath(l['file'], tmp_path / 'q') for l in lines] == list(QUERIES), lines
    for l, (name, (shape, _)) in zip(lines, QUERIES.items()):
        mask = np.asarray(Image.open(out / l['mask']))
        overlay = Image.open(out / l['overlay'])
        assert mask.shape == shape[:2], f'{name}: the mask is not at the query size: {mask.shape}'
        assert set(np.unique(mask)) <= {0, 255}, f'{name}: not a 0/255 mask'
        assert overlay.mode == 'RGB' and overlay.size == (shape[1], shape[0]), (name, overlay.mode, overlay.size)
        assert abs(l['foreground'] - (mask == 255).mean()) < 1e-5 and l['seconds'] > 0, l
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ['segment.jsonl', *(f'{n}_{k}.png' for n in ('a', 'b', 'c') for k in ('mask', 'overlay'))]
    ), 'exactly the promised files, no temporary ones left'


def test_segment_help_names_every_option():
    r = subprocess.run(['qgnet', 'segment', '--help'], capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 0, r.stderr
    for flag in ('--ckpt', '--support IMG MASK', '--query', '--out', '--class-id', '--size', '--device', '--quiet'):
        assert flag in r.stdout, f'{flag} missing from qgnet segment --help'
