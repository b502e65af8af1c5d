"""`qgnet ablate` as a real command: a tiny two-variant study writes its table, figure and per-setting results,
and a second run resumes by skipping the variants that finished."""
import json, subprocess
from pathlib import Path

TINY = [
    '--backbone',
    'resnet18',
    '--size',
    '64',
    '--pretrain-size',
    '32',
    '--pretrain-epochs',
    '1',
    '--pretrain-batch',
    '4',
    '--pretrain-images',
    '8',
    '--queue',
    '64',
    '--local-queue',
    '256',
    '--epochs',
    '1',
    '--train-episodes',
    '4',
    '--batch-size',
    '2',
    '--base-steps',
    '2',
    '--base-batch',
    '2',
    '--episodes',
    '4',
    '--device',
    'cpu',
    '--quiet',
]

def ablate(*args, cwd, tiny=TINY):
    return subprocess.run(['qgnet', 'ablate', *args, *tiny], capture_output=True, text=True, timeout=900, cwd=cwd)

def test_tiny_patch_study_writes_table_and_resumes(tmp_path):
    out = tmp_path/'abl'
    # an "interrupted" study: only the first variant has run
    r = ablate('--study', 'patches', '--variants', 'slic', '--out', str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    first = (out/'slic-both'/'result.json').read_bytes()
    assert not (out/'felzenszwalb-both'/'result.json').exists()
    # the study (its two patch methods) skips the finished variant and runs the other
    r = ablate('--study', 'patches', '--variants', 'slic', 'felzenszwalb', '--out', str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'slic: finished earlier' in r.stdout and 'felzenszwalb: finished earlier' not in r.stdout
    assert (out/'slic-both'/'result.json').read_bytes() == first, 'a finished variant was run again'
    table = (out/'patches.md').read_text()
    for v in ('slic', 'felzenszwalb'): assert f'| {v} |' in table, table
    assert (out/'patches.png').stat().st_size > 0
    rows = {r['variant']: r for r in json.loads((out/'patches.json').read_text())}
    assert rows['slic']['setting'] == {'method': 'slic', 'losses': 'both'}
    assert rows['felzenszwalb']['setting'] == {'method': 'felzenszwalb', 'losses': 'both'}
    assert rows['slic']['paper_miou'] == 61.6 and rows['felzenszwalb']['paper_miou'] == 60.8
    assert {'guided', 'prior', 'prior (1 - V)'} <= set(rows['felzenszwalb']['maps'])
    assert rows['slic']['episodes'] == rows['felzenszwalb']['episodes'] == 4
    # everything but the variant's own pretraining is the same: configuration, feature extractor, test episodes
    assert rows['slic']['config'] == rows['felzenszwalb']['config']
    ref = str(out/'base'/'backbone.pt')                          # one base-class start point for every variant
    assert rows['slic']['weights'] == rows['felzenszwalb']['weights'] == ref
    assert rows['slic']['prior'] == str(out/'slic-both'/'pretrain'/'checkpoint.pth.tar')
    assert rows['felzenszwalb']['prior'] == str(out/'felzenszwalb-both'/'pretrain'/'checkpoint.pth.tar')
    # a third run has nothing left to do; the recall study reuses the SLIC + both setting without training it again
    for study in ('patches', 'recall'):
        r = ablate('--study', study, '--variants', *STUDY_VARIANTS[study], '--out', str(out), cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
        assert r.stdout.count('finished earlier') == len(STUDY_VARIANTS[study]), r.stdout
    assert (out/'slic-both'/'result.json').read_bytes() == first
    assert '| guided (ours) |' in (out/'recall.md').read_text()
    # other settings in the same folder are refused, not mixed into the table
    r = ablate('--study', 'patches', '--variants', 'slic', '--out', str(out), cwd=tmp_path,
               tiny=TINY[:-5] + ['--episodes', '5', '--device', 'cpu'])
    assert r.returncode == 2 and 'other settings' in r.stderr, r.stderr[-2000:]

STUDY_VARIANTS = {'patches': ('slic', 'felzenszwalb'), 'recall': ('qgnet',)}
