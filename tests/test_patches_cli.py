"""`qgnet patches` run as a real subprocess: a folder tree of images, the manifest, resuming, unreadable images."""
import json, subprocess
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from qgnet_nb.patches import PatchCache, get_patches
from qgnet_nb.superpixels import superpixels
from qgnet_nb.core import read_image


def run(*args, timeout=300):
    return subprocess.run(['qgnet', 'patches', *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def tree(tmp_path):
    "A small VOC-like tree: nested folders, several formats, a grey and an RGBA image, one broken file, one non-image."
    rng = np.random.default_rng(0)
    root = tmp_path/'data'
    for rel, shape in [('JPEGImages/a.jpg', (48, 64, 3)), ('JPEGImages/b.png', (40, 40, 3)),
                       ('more/deep/c.png', (32, 50)), ('more/d.png', (30, 30, 4))]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((rng.random(shape) * 255).astype(np.uint8)).save(p)
    (root/'more/broken.jpg').write_bytes(b'this is not a jpeg')
    (root/'notes.txt').write_text('not an image')
    return root


def test_cache_manifest_and_maps(tree, tmp_path):
    out = tmp_path/'cache'
    r = run(tree, '--method', 'slic', '--n-segments', '12', '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr
    assert '5 images: 4 computed, 0 already cached, 1 unreadable' in r.stdout
    m = json.loads((out/'manifest.json').read_text())
    assert m['method'] == 'slic' and m['params']['n_segments'] == 12 and m['params']['compactness'] == 10.0
    assert m['status'] == 'complete' and m['unreadable'] == ['more/broken.jpg']
    assert Path(m['root']) == tree.resolve()
    cache = PatchCache(out)
    assert len(cache) == 4
    for rel in ['JPEGImages/a.jpg', 'JPEGImages/b.png', 'more/deep/c.png', 'more/d.png']:
        img = read_image(tree/rel)
        lab = cache[tree/rel]
        assert lab.shape == img.shape[:2] and lab.dtype == np.int32 and lab.min() == 0
        np.testing.assert_array_equal(
            lab, superpixels(img, 'slic', n_segments=12)
        )  # the library reads back what it would compute
        np.testing.assert_array_equal(get_patches(tree/rel, cache=out), lab)
    assert not list(out.rglob('*.tmp'))                                                # no half-written files


def test_unreadable_image_is_named_in_a_warning(tree, tmp_path):
    (tree/'JPEGImages/truncated.png').write_bytes((tree/'JPEGImages/b.png').read_bytes()[:60])
    r = run(tree, '--out', tmp_path/'c', '--quiet', '--n-segments', '8')
    assert r.returncode == 0, r.stderr
    warned = [l for l in r.stderr.splitlines() if l.startswith('warning: skipping unreadable image')]
    assert len(warned) == 2
    assert any('broken.jpg' in l for l in warned) and any('truncated.png' in l for l in warned)


def test_resume_computes_only_what_is_missing(tree, tmp_path):
    out = tmp_path/'cache'
    assert run(tree, '--method', 'felzenszwalb', '--scale', '50', '--out', out, '--quiet').returncode == 0
    kept = out/'JPEGImages/a.jpg.npz'
    before = kept.stat().st_mtime_ns
    (out/'more/deep/c.png.npz').unlink()                                               # as if the run had stopped there
    r = run(tree, '--method', 'felzenszwalb', '--scale', '50', '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr
    assert '1 computed, 3 already cached' in r.stdout
    assert kept.stat().st_mtime_ns == before                                           # finished maps untouched
    assert (out/'more/deep/c.png.npz').exists()


def test_other_settings_into_the_same_cache_are_refused(tree, tmp_path):
    out = tmp_path/'cache'
    assert run(tree, '--n-segments', '12', '--out', out, '--quiet').returncode == 0
    r = run(tree, '--n-segments', '30', '--out', out, '--quiet')
    assert r.returncode == 2 and '--overwrite' in r.stderr
    r = run(tree, '--n-segments', '30', '--out', out, '--quiet', '--overwrite')
    assert r.returncode == 0 and '4 computed' in r.stdout
    assert PatchCache(out).params['n_segments'] == 30


def test_progress_bar_and_default_out(tree):
    r = run(tree, '--n-segments', '8')
    assert r.returncode == 0, r.stderr
    assert '5/5' in r.stdout + r.stderr                                                 # fastprogress's count
    assert (tree/'.qgnet_patches/slic/manifest.json').exists()
    r = run(tree, '--n-segments', '8', '--quiet')  # the cache inside ROOT is not scanned
    assert '5 images: 0 computed, 4 already cached' in r.stdout


def test_bad_arguments():
    r = run('/no/such/folder')
    assert r.returncode == 2 and 'image folder not found: /no/such/folder' in r.stderr
    r = run('.', '--n-segments', '0')                                      # refused by the flag's type, before any work
    assert r.returncode == 2 and "--n-segments: expected a positive integer, got '0'" in r.stderr
    r = run('.', '--method', 'felzenszwalb', '--scale', '-1')
    assert r.returncode == 2 and "--scale: expected a positive finite number, got '-1'" in r.stderr
    r = run('.', '--method', 'felzenszwalb', '--n-segments', '10')
    assert r.returncode == 2 and 'do not apply to --method felzenszwalb' in r.stderr
