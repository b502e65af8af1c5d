"""Every mistake a user can make on the command line costs one line that names the flag or file, and exit code 2.

Each case runs `qgnet` as a real subprocess at tiny sizes. Two cases run at a time, since each one is mostly
the start-up of a Python process; the table of cases is built once and checked one case per test.
Below the table: the non-finite guard, the run lock, the removal of stale temporary files, the trim of
`metrics.jsonl`, Ctrl-C, and a resume after a kill that must equal an uninterrupted run.
"""
import json, os, signal, socket, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np
import pytest, torch
from PIL import Image

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1', 'QGNET_DEBUG': ''}
TINY = ['--model', 'baseline', '--backbone', 'resnet18', '--weights', 'none', '--bins', '8', '4', '--size', '32',
        '--epochs', '1', '--train-episodes', '4', '--batch-size', '2', '--val-every', '0', '--probe-episodes', '0',
        '--workers', '0']


def qgnet(*args, cwd=None, timeout=300, env=None):
    return subprocess.run(['qgnet', *map(str, args)], capture_output=True, text=True, env={**ENV, **(env or {})},
                          cwd=cwd, timeout=timeout)


def _png(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def camvid_like(root: Path, size=64, car=True, n=4):
    "A CamVid-layout folder: road (3) and building (1) everywhere, a car (8) in each image; frames 100 apart."
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for i in range(n):
            name = f'0001TP_{(i + 1) * 100:06d}'
            img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            lab = np.full((size, size), 3, np.uint8)
            lab[: size // 4] = 1
            if car: lab[size // 2:size // 2 + 16, 8:40] = 8
            _png(root / split / 'images' / f'{name}.png', img)
            _png(root / split / 'labels' / f'{name}.png', lab)
    return root


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    "Files the cases point at: a real tiny model checkpoint, corrupt ones, broken data folders, a finished run."
    d = tmp_path_factory.mktemp('bad')
    from qgnet_nb.models import build_model, save_model
    torch.manual_seed(0)
    m = build_model('baseline', backbone='resnet18', weights=None, bins=(8, 4))
    save_model(m, d/'ok.pt', train_config={'size': 32})
    good = (d/'ok.pt').read_bytes()
    (d/'truncated.pt').write_bytes(good[:len(good) // 3])
    (d/'text.pt').write_text('this is not a checkpoint\n')
    torch.save({'epoch': 3, 'state_dict': {'module.encoder_q.conv1.weight': torch.zeros(1)}}, d/'moco.pt')
    ck = torch.load(d / 'ok.pt', weights_only=True)
    k = next(iter(ck['state_dict']))
    ck['state_dict'][k] = ck['state_dict'][k].clone().fill_(float('nan'))
    torch.save(ck, d / 'nan.pt')
    (d/'a_file').write_text('x')
    (d/'a_dir').mkdir()
    (d/'empty').mkdir()
    for i in range(2):
        (d / 'unreadable' / f'{i}.jpg').parent.mkdir(exist_ok=True)
        (d / 'unreadable' / f'{i}.jpg').write_bytes(b'no jpeg')
    for i in range(3):
        (d / 'unreadable3' / f'{i}.jpg').parent.mkdir(exist_ok=True)
        (d / 'unreadable3' / f'{i}.jpg').write_bytes(b'no jpeg')
    camvid_like(d / 'small_root')
    # broken data folders, each broken in one way
    cut = camvid_like(d/'cut_images')
    for p in (cut/'val'/'images').iterdir(): p.write_bytes(p.read_bytes()[:120])      # header readable, pixels cut off
    wrong = camvid_like(d/'wrong_size')
    _png(next((wrong/'val'/'labels').iterdir()), np.full((10, 10), 3, np.uint8))
    vals = camvid_like(d/'bad_values')
    p = next((vals / 'val' / 'labels').iterdir())
    a = np.asarray(Image.open(p)).copy()
    a[0, 0] = 200
    _png(p, a)
    nomask = camvid_like(d / 'no_mask')
    next((nomask / 'val' / 'labels').iterdir()).unlink()
    # qgnet segment's inputs: a support image, its 0/255 mask, masks that are wrong in one way each, a query folder
    sup = np.zeros((32, 32), np.uint8)
    sup[8:24, 8:24] = 255
    _png(d / 'seg' / 'sup.png', np.random.default_rng(1).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    _png(d / 'seg' / 'sup_mask.png', sup)
    _png(d / 'seg' / 'small_mask.png', sup[:10, :10])
    _png(d / 'seg' / 'empty_mask.png', np.zeros((32, 32), np.uint8))
    _png(d / 'seg' / 'classes_mask.png', (sup > 0).astype(np.uint8) * 7 + 1)
    _png(d / 'seg' / 'queries' / 'q.png', np.zeros((20, 30, 3), np.uint8))
    Image.fromarray(np.zeros((32, 32), np.float32)).save(d / 'seg' / 'float.tif')     # 32-bit float pixels
    # a finished run, to resume with changed settings or with a corrupt last.pt
    r = qgnet('train', *TINY, '--out', d/'run')
    assert r.returncode == 0, r.stderr[-3000:]
    (d / 'corrupt_run').mkdir()
    (d / 'corrupt_run' / 'last.pt').write_bytes((d / 'run' / 'last.pt').read_bytes()[:500])
    return d


# where nothing can be downloaded: an empty torch hub and every request sent to a port nobody listens on
OFFLINE = {'https_proxy': 'http://127.0.0.1:9', 'HTTPS_PROXY': 'http://127.0.0.1:9',
           'http_proxy': 'http://127.0.0.1:9', 'HTTP_PROXY': 'http://127.0.0.1:9', 'no_proxy': '', 'NO_PROXY': ''}


def cases(d):
    """(label, argv, what the message must name: a string, or a tuple of strings that must all appear[, environment
    variables to set])."""
    ev = ['eval', '--ckpt', d/'ok.pt', '--episodes', '2', '--workers', '0']
    tr = ['train', *TINY]
    n = iter(range(1000))
    fresh = lambda: ['--out', d/'fresh'/f'run{next(n)}']      # one folder per case: cases run two at a time

    def sg(ckpt=d / 'ok.pt', img=d / 'seg' / 'sup.png', mask=d / 'seg' / 'sup_mask.png', query=d / 'seg' / 'queries',
           out=None):
        "qgnet segment with one input changed; a fresh --out each time, which a refused run never creates."
        return ['segment', '--ckpt', ckpt, '--support', img, mask, '--query', query, '--out',
                out or d / 'fresh' / f'seg{next(n)}']

    return [
        # qgnet train
        ('train --lr nan', [*tr, '--lr', 'nan', *fresh()], '--lr'),
        ('train --lr 0', [*tr, '--lr', '0', *fresh()], '--lr'),
        ('train --lr -1', [*tr, '--lr', '-1', *fresh()], '--lr'),
        ('train --train-episodes 0', [*tr, '--train-episodes', '0', *fresh()], '--train-episodes'),
        ('train --val-episodes 0', [*tr, '--val-episodes', '0', *fresh()], '--val-episodes'),
        ('train --fold 7', [*tr, '--fold', '7', *fresh()], '--fold 7'),
        ('train --fold -1', [*tr, '--fold', '-1', *fresh()], '--fold'),
        ('train --shot 0', [*tr, '--shot', '0', *fresh()], '--shot'),
        ('train --batch-size 0', [*tr, '--batch-size', '0', *fresh()], '--batch-size'),
        ('train --size abc', [*tr, '--size', 'abc', *fresh()], '--size'),
        ('train --workers -2', [*tr, '--workers', '-2', *fresh()], '--workers'),
        ('train --model foo', [*tr, '--model', 'foo', *fresh()], '--model'),
        ('train qgnet without --prior', [*tr, '--model', 'qgnet', *fresh()], '--prior'),
        ('train --prior missing', [*tr, '--model', 'qgnet', '--prior', d / 'missing.pt', *fresh()], '--prior'),
        ('train --prior text file', [*tr, '--model', 'qgnet', '--prior', d / 'text.pt', *fresh()], '--prior'),
        ('train --weights missing', [*tr, '--weights', d / 'missing.pt', *fresh()], '--weights'),
        ('train --weights truncated', [*tr, '--weights', d / 'truncated.pt', *fresh()], '--weights'),
        ('train --data camvid without --root', [*tr, '--data', 'camvid', *fresh()], '--root'),
        ('train --root missing', [*tr, '--data', 'camvid', '--root', d / 'nowhere', *fresh()], '--root'),
        ('train --out is a file', [*tr, '--out', d / 'a_file'], '--out'),
        ('train --out under a file', [*tr, '--out', d / 'a_file' / 'run'], '--out'),
        ('train resume, changed config', [*tr, '--size', '48', '--out', d / 'run'], '--overwrite'),
        ('train resume, corrupt last.pt', [*tr, '--out', d / 'corrupt_run'], 'last.pt'),
        ('train --preset nope', [*tr, '--preset', 'nope', *fresh()], '--preset'),
        ('train --device cuda:99', [*tr, '--device', 'cuda:99', *fresh()], ('--device', "device='cuda:99'")),
        *([('train --device cuda without a GPU', [*tr, '--device', 'cuda', *fresh()],
            ('--device', 'CUDA is not available'))] if not torch.cuda.is_available() else []),
        ('train --weights imagenet, nothing downloadable', [*tr, '--weights', 'imagenet', *fresh()],
         ('--weights imagenet', 'could not be obtained'), {**OFFLINE, 'TORCH_HOME': str(d / 'empty_torch_home')}),
        # qgnet eval
        ('eval --ckpt missing', ['eval', '--ckpt', d / 'missing.pt'], 'missing.pt'),
        ('eval --ckpt truncated', ['eval', '--ckpt', d / 'truncated.pt'], '--ckpt'),
        ('eval --ckpt text file', ['eval', '--ckpt', d / 'text.pt'], '--ckpt'),
        ('eval --ckpt a folder', ['eval', '--ckpt', d / 'a_dir'], '--ckpt'),
        ('eval --ckpt a MoCo checkpoint', ['eval', '--ckpt', d / 'moco.pt'], '--ckpt'),
        ('eval --ckpt NaN weights', ['eval', '--ckpt', d / 'nan.pt'], 'NaN'),
        ('eval --size 0', [*ev, '--size', '0'], '--size'),
        ('eval --episodes 0', [*ev[:3], '--episodes', '0'], '--episodes'),
        ('eval --episodes beyond the data', [*ev[:3], '--episodes', '100000000'],
         ('--episodes 100000000', 'distinct 1-shot episodes')),
        ('eval --fold 9', [*ev, '--fold', '9'], '--fold 9'),
        ('eval --episodes 1000000000 on a small root',
         [*ev[:3], '--episodes', '1000000000', '--data', 'camvid', '--root', d / 'small_root'],
         ('--episodes 1000000000', 'distinct 1-shot episodes')),
        ('eval --device cuda:99', [*ev, '--device', 'cuda:99'], '--device'),
        ('eval --out is a folder', [*ev, '--out', d / 'a_dir'], '--out'),
        (
            'eval --figure under a file',
            [*ev, '--figure', d / 'a_file' / 'x.png'],
            ('--figure', 'x.png: cannot be created'),
        ),
        ('eval --data coco without --root', [*ev, '--data', 'coco'], '--root'),
        (
            'eval truncated images',
            [*ev, '--data', 'camvid', '--root', d / 'cut_images'],
            ('cannot read image file', 'cut_images'),
        ),
        (
            'eval mask of the wrong size',
            [*ev, '--data', 'camvid', '--root', d / 'wrong_size'],
            ('wrong_size', 'is 10x10'),
        ),
        (
            'eval mask values out of range',
            [*ev, '--data', 'camvid', '--root', d / 'bad_values'],
            ('bad_values', '[200]'),
        ),
        ('eval image without a mask', [*ev, '--data', 'camvid', '--root', d / 'no_mask'], 'no_mask'),
        # qgnet demo: all before any pretraining
        ('demo --models foo', ['demo', '--models', 'foo', '--out', d / 'demo'], '--models'),
        ('demo --shots 0', ['demo', '--shots', '0', '--out', d / 'demo'], '--shots'),
        ('demo --fold 7', ['demo', '--fold', '7', '--out', d / 'demo'], '--fold 7'),
        ('demo --out is a file', ['demo', '--out', d / 'a_file'], '--out'),
        ('demo --data fss1000 without --root', ['demo', '--data', 'fss1000', '--out', d / 'demo'], '--root'),
        ('demo --lr nan', ['demo', '--lr', 'nan', '--out', d / 'demo'], '--lr'),
        # qgnet pretrain
        ('pretrain ROOT missing', ['pretrain', d / 'nowhere', '--out', d / 'p'], 'nowhere'),
        ('pretrain ROOT without images', ['pretrain', d / 'empty', '--out', d / 'p'], 'empty'),
        ('pretrain --lr nan', ['pretrain', d / 'empty', '--out', d / 'p', '--lr', 'nan'], '--lr'),
        ('pretrain --epochs 0', ['pretrain', d / 'empty', '--out', d / 'p', '--epochs', '0'], '--epochs'),
        (
            'pretrain Felzenszwalb flag with SLIC',
            ['pretrain', d / 'empty', '--out', d / 'p', '--scale', '100'],
            '--scale',
        ),
        ('pretrain --out is a file', ['pretrain', d / 'unreadable', '--out', d / 'a_file'], '--out'),
        (
            'pretrain all images unreadable, fewer than a batch',
            ['pretrain', d / 'unreadable3', '--arch', 'resnet18', '--batch-size', '4', '--epochs', '1', *fresh()],
            ('unreadable3', 'none of its 3 images can be read', '0.jpg'),
        ),
        ('pretrain --device cuda:99', ['pretrain', d / 'unreadable', '--out', d / 'p', '--device', 'cuda:99'],
         '--device'),
        # qgnet patches
        ('patches ROOT without images', ['patches', d / 'empty', '--quiet'], 'empty'),
        ('patches all images unreadable', ['patches', d / 'unreadable', '--quiet'], 'unreadable'),
        ('patches ROOT missing', ['patches', d / 'nowhere', '--quiet'], 'nowhere'),
        ('patches --out is a file', ['patches', d / 'unreadable', '--out', d / 'a_file', '--quiet'], ('--out', 'a_file')),
        (
            'patches SLIC flag with Felzenszwalb',
            ['patches', d / 'empty', '--method', 'felzenszwalb', '--n-segments', '9'],
            '--n-segments',
        ),
        # qgnet probe, base-pretrain, ablate
        ('probe --weights missing', ['probe', '--weights', d / 'missing.pt'], '--weights'),
        ('probe --weights text file', ['probe', '--weights', d / 'text.pt'], '--weights'),
        ('probe --episodes 0', ['probe', '--weights', 'none', '--episodes', '0'], '--episodes'),
        ('base-pretrain --root missing', ['base-pretrain', '--data', 'camvid', '--root', d / 'nowhere'], '--root'),
        ('base-pretrain --lr nan', ['base-pretrain', '--lr', 'nan'], '--lr'),
        ('base-pretrain --out is a file', ['base-pretrain', '--out', d / 'a_file'], '--out'),
        (
            'ablate --data camvid without --root',
            ['ablate', '--study', 'losses', '--data', 'camvid', '--out', d / 'abl'],
            '--root',
        ),
        ('ablate unknown variant', ['ablate', '--study', 'losses', '--variants', 'slic', '--out', d / 'abl'], 'slic'),
        # qgnet segment: all before the model runs
        ('segment --support image missing', [*sg(img=d / 'missing.jpg')], 'missing.jpg'),
        ('segment --support image unreadable', [*sg(img=d / 'unreadable' / '0.jpg')], 'cannot read image file'),
        ('segment --support image of float pixels', [*sg(img=d / 'seg' / 'float.tif')],
         ('float.tif', 'floating-point pixels')),
        ('segment --support mask unreadable', [*sg(mask=d / 'unreadable' / '1.jpg')], ('--support', 'cannot read')),
        ('segment mask size differs', [*sg(mask=d / 'seg' / 'small_mask.png')], ('--support', 'is 10x10')),
        ('segment empty mask', [*sg(mask=d / 'seg' / 'empty_mask.png')], ('empty_mask.png', 'no object pixels')),
        ('segment class-index mask without --class-id', [*sg(mask=d / 'seg' / 'classes_mask.png')], '--class-id'),
        ('segment --class-id not in the mask', [*sg(), '--class-id', '5'], 'class_id=5'),
        ('segment --class-id -1', [*sg(), '--class-id', '-1'], '--class-id'),
        ('segment without --support', [*sg()[:3], *sg()[6:]], '--support'),
        ('segment --query missing', [*sg(query=d / 'nowhere.jpg')], ('--query', 'nowhere.jpg')),
        ('segment --query folder without images', [*sg(query=d / 'empty')], ('--query', 'no image files')),
        ('segment --query unreadable', [*sg(query=d / 'unreadable')], ('--query', 'cannot read image file')),
        ('segment --ckpt missing', [*sg(ckpt=d / 'missing.pt')], '--ckpt'),
        ('segment --ckpt text file', [*sg(ckpt=d / 'text.pt')], '--ckpt'),
        ('segment --ckpt NaN weights', [*sg(ckpt=d / 'nan.pt')], 'NaN'),
        ('segment --out is a file', [*sg(out=d / 'a_file')], '--out'),
        ('segment --out under a file', [*sg(out=d / 'a_file' / 'seg')], '--out'),
    ]


@pytest.fixture(scope='module')
def results(work):
    cs = cases(work)
    with ThreadPoolExecutor(2) as ex: rs = list(ex.map(lambda c: qgnet(*c[1], env=c[3] if len(c) > 3 else None), cs))
    return {c[0]: (c, r) for c, r in zip(cs, rs)}


def test_at_least_thirty_distinct_bad_inputs(work):
    cs = cases(work)
    assert len(cs) >= 30 and len({c[0] for c in cs}) == len(cs) and len({tuple(map(str, c[1])) for c in cs}) == len(cs)
    assert len({c[1][0] for c in cs}) >= 6, 'every subcommand with inputs is covered'


@pytest.mark.parametrize('label', [c[0] for c in cases(Path('/d'))])
def test_bad_input_is_one_clear_line(results, label):
    (_, argv, names, *_), r = results[label]
    err = r.stderr
    assert r.returncode == 2, f"{label}: exit {r.returncode}\n{err[-1500:]}"
    assert 'Traceback' not in err, f"{label}: traceback\n{err[-3000:]}"
    line = [l for l in err.splitlines() if ': error: ' in l]
    assert line, f"{label}: no 'qgnet NAME: error:' line\n{err[-1500:]}"
    assert line[-1].startswith(f"qgnet {argv[0]}: error: "), line[-1]
    for n in (names,) if isinstance(names, str) else names:
        assert n in line[-1], f"{label}: the message does not name {n!r}: {line[-1]}"


def test_bad_inputs_leave_no_output_behind(results, work):
    "Refused before compute: the fresh output folder of the train cases holds no checkpoint."
    assert not list((work/'fresh').rglob('*.pt')), 'a refused training wrote a checkpoint'
    assert not (work/'demo'/'pretrain').exists(), 'demo refused its input only after starting to pretrain'
    assert not list((work / 'fresh').glob('seg*')), 'a refused qgnet segment wrote its output folder'


def test_debug_shows_the_traceback(work):
    r = subprocess.run(
        ['qgnet', '--debug', 'eval', '--ckpt', str(work / 'text.pt')], capture_output=True, text=True, env=ENV
    )
    assert r.returncode != 0 and 'Traceback' in r.stderr and 'not a readable checkpoint' in r.stderr


def test_nonfinite_loss_stops_training_and_writes_no_checkpoint(tmp_path):
    r = qgnet('train', *TINY, '--epochs', '2', '--optimizer', 'sgd', '--lr', '1e8', '--out', tmp_path/'nan')
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert 'diverged at step' in r.stderr and '--lr' in r.stderr, r.stderr[-1000:]
    assert not list((tmp_path/'nan').glob('*.pt')), 'a checkpoint was written from a diverged state'


# `qgnet` on a disk that is full for the run's folder: every temporary file `atomic_open` makes under OUT (argv[1])
# writes to /dev/full, which fails as a full disk does (ENOSPC), without root or a small mount
FULL_DISK = """
import os, sys, tempfile
out, mkstemp = os.path.abspath(sys.argv[1]), tempfile.mkstemp
def full(*a, dir=None, **k):
    fd, name = mkstemp(*a, dir=dir, **k)
    if dir is not None and os.path.abspath(dir).startswith(out):
        os.close(fd)
        fd = os.open('/dev/full', os.O_WRONLY)
    return fd, name
tempfile.mkstemp = full
from qgnet_nb.cli import qgnet_main
sys.exit(qgnet_main(sys.argv[2:]))
"""


@pytest.mark.skipif(not Path('/dev/full').exists(), reason='needs /dev/full')
@pytest.mark.parametrize('command', ['train', 'pretrain', 'base-pretrain'])
def test_full_disk_is_one_line_naming_out_and_leaves_no_partial_file(tmp_path, command):
    out = tmp_path / 'run'
    argv = {'train': TINY,
            'pretrain': [camvid_like(tmp_path / 'imgs') / 'train' / 'images', '--arch', 'resnet18', '--size', '32',
                         '--dim', '16', '--queue', '16', '--local-queue', '64', '--n-segments', '30', '--batch-size',
                         '4', '--bn-group-size', '2', '--epochs', '1', '--workers', '0', '--quiet'],
            'base-pretrain': ['--size', '32', '--steps', '2', '--save-every', '1', '--batch-size', '2',
                              '--probe-episodes', '0']}[command]
    r = subprocess.run([sys.executable, '-c', FULL_DISK, str(out), command, *map(str, argv), '--out', str(out),
                        '--device', 'cpu'], capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    line = [l for l in r.stderr.splitlines() if ': error: ' in l]
    assert len(line) == 1, r.stderr[-2000:]
    assert line[0].startswith(f"qgnet {command}: error: --out {out}: no space left on device while writing "), line
    left = sorted(p.name for p in out.iterdir())
    assert not [n for n in left if n.endswith(('.tmp', '.pt', '.tar')) or n == '.qgnet.lock'], left


def test_16bit_grey_png_is_read_at_its_real_values(tmp_path):
    "A 16-bit grey PNG reads as its 8-bit copy (not clipped to white), in `read_image` and through `qgnet patches`."
    from qgnet_nb.core import read_image
    from qgnet_nb.patches import PatchCache
    grey = np.random.default_rng(0).integers(0, 256, (48, 64), dtype=np.uint8)
    grey[:, :32] //= 4                                                       # two regions for the superpixels
    _png(tmp_path / 'g8' / 'a.png', grey)
    (tmp_path / 'g16').mkdir()
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / 'g16' / 'a.png')
    assert Image.open(tmp_path / 'g16' / 'a.png').mode.startswith('I'), 'the test image is not 16-bit'
    np.testing.assert_array_equal(read_image(tmp_path / 'g16' / 'a.png'), np.repeat(grey[..., None], 3, 2))
    for d in ('g8', 'g16'):
        r = qgnet('patches', tmp_path / d, '--quiet', '--n-segments', '12')
        assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    np.testing.assert_array_equal(PatchCache(tmp_path / 'g16' / '.qgnet_patches' / 'slic')['a.png'],
                                  PatchCache(tmp_path / 'g8' / '.qgnet_patches' / 'slic')['a.png'])


def _lock(folder, pid, proc_start=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder/'.qgnet.lock').write_text(json.dumps(dict(pid=pid, host=socket.gethostname(), proc_start=proc_start,
                                                      started='2026-12-01 10:00:00', command='qgnet train --out x')))


def test_second_run_on_one_folder_is_refused(tmp_path):
    from qgnet_nb.run_state import _proc_start
    _lock(tmp_path/'busy', os.getpid(), _proc_start(os.getpid()))          # this test process: alive
    r = qgnet('train', *TINY, '--out', tmp_path/'busy')
    assert r.returncode == 2 and 'is in use by another run' in r.stderr and f'pid {os.getpid()}' in r.stderr, r.stderr
    assert not (tmp_path/'busy'/'last.pt').exists() and not (tmp_path/'busy'/'metrics.jsonl').exists()


def test_lock_of_a_dead_run_is_taken_over_and_stale_files_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    run = tmp_path/'run'
    _lock(run, dead.pid)
    (run/'.last.pt.k1ll3d.tmp').write_bytes(b'x' * 1000)                     # what a SIGKILL mid-save leaves
    r = qgnet('train', *TINY, '--out', run)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'no longer running' in r.stdout + r.stderr and 'removed 1 unfinished file' in r.stdout + r.stderr
    assert sorted(p.name for p in run.iterdir()) == ['last.pt', 'metrics.jsonl'], 'a lock or temp file was left'


def test_resume_trims_metrics_written_after_the_checkpoint(tmp_path):
    run = tmp_path/'run'
    assert qgnet('train', *TINY, '--out', run).returncode == 0
    with open(run / 'metrics.jsonl', 'a') as f:
        f.write(json.dumps({'epoch': 2, 'loss': 9.9}) + '\n')  # killed before last.pt
    r = qgnet('train', *TINY, '--out', run)
    assert r.returncode == 0 and 'dropped 1 line' in r.stdout, r.stdout + r.stderr[-1500:]
    assert [json.loads(l)['epoch'] for l in (run/'metrics.jsonl').read_text().splitlines()] == [1]


def test_ctrl_c_exits_130_with_the_resume_hint(tmp_path):
    p = subprocess.Popen(       # Ctrl-C reaches it as a terminal would send it, even if our shell ignores SIGINT
        ['qgnet', 'train', *TINY, '--epochs', '50', '--train-episodes', '40', '--out', str(tmp_path / 'r')],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    t0 = time.time()
    while not (tmp_path/'r'/'.qgnet.lock').exists() and time.time() - t0 < 120: time.sleep(0.05)
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, (p.returncode, err[-2000:])
    assert 'interrupted; run the same command again to resume' in err and 'Traceback' not in err, err[-2000:]
    assert not list((tmp_path/'r').glob('.*.tmp')) and not (tmp_path/'r'/'.qgnet.lock').exists()


def test_resume_after_a_kill_equals_an_uninterrupted_run(tmp_path):
    args = [*TINY, '--epochs', '3', '--train-episodes', '24']
    assert qgnet('train', *args, '--out', tmp_path/'full').returncode == 0
    killed = tmp_path/'killed'
    p = subprocess.Popen(['qgnet', 'train', *args, '--out', str(killed)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=ENV)
    t0 = time.time()
    while not (killed/'last.pt').exists() and p.poll() is None and time.time() - t0 < 300: time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL, 'the run ended before it could be killed'
    r = qgnet('train', *args, '--out', killed)
    assert r.returncode == 0 and 'resuming' in r.stdout, r.stderr[-2000:]
    a = torch.load(tmp_path / 'full' / 'last.pt', weights_only=True)
    b = torch.load(killed / 'last.pt', weights_only=True)
    assert a['epoch'] == b['epoch'] == 3 and a['step'] == b['step']
    for k in a['state_dict']: assert torch.equal(a['state_dict'][k], b['state_dict'][k]), k
    la = [json.loads(l) for l in (tmp_path/'full'/'metrics.jsonl').read_text().splitlines()]
    lb = [json.loads(l) for l in (killed/'metrics.jsonl').read_text().splitlines()]
    assert [x['epoch'] for x in lb] == [1, 2, 3]
    assert [x['loss'] for x in la] == [x['loss'] for x in lb]
