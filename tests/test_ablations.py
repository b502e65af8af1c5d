"""`qgnet ablate` as a real command: a tiny two-variant study writes its table, figure and per-variant results,
and a second run resumes by skipping the variants that finished."""
import json, subprocess
from pathlib import Path

TINY = ['--backbone', 'resnet18', '--size', '64', '--pretrain-size', '32', '--pretrain-epochs', '1', '--pretrain-batch', '4',
        '--pretrain-images', '8', '--queue', '64', '--local-queue', '256', '--epochs', '1', '--train-episodes', '4',
        '--episodes', '4', '--device', 'cpu', '--quiet']

def ablate(*args, cwd):
    return subprocess.run(['qgnet', 'ablate', *args, *TINY], capture_output=True, text=True, timeout=900, cwd=cwd)

def test_tiny_patch_study_writes_table_and_resumes(tmp_path):
    out = tmp_path/'patches'
    # an "interrupted" study: only the first variant has run
    r = ablate('--study', 'patches', '--variants', 'slic', '--out', str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    first = (out/'slic'/'result.json').read_bytes()
    assert not (out/'felzenszwalb'/'result.json').exists()
    # the full study skips the finished variant and runs the other
    r = ablate('--study', 'patches', '--out', str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'slic: finished earlier' in r.stdout and 'felzenszwalb: finished earlier' not in r.stdout
    assert (out/'slic'/'result.json').read_bytes() == first, 'a finished variant was run again'
    table = (out/'table.md').read_text()
    for v in ('slic', 'felzenszwalb'): assert f'| {v} |' in table, table
    assert (out/'patches.png').stat().st_size > 0
    res = {v: json.loads((out/v/'result.json').read_text()) for v in ('slic', 'felzenszwalb')}
    assert res['slic']['setting'] == {'method': 'slic', 'losses': 'both'}
    assert res['felzenszwalb']['setting']['method'] == 'felzenszwalb'
    assert res['slic']['paper_miou'] == 61.6 and res['felzenszwalb']['paper_miou'] == 60.8
    assert {'guided', 'prior', 'prior (1 - V)'} <= set(res['felzenszwalb']['maps'])
    assert res['slic']['episodes'] == res['felzenszwalb']['episodes'] == 4
    # everything but the variant's own pretraining is the same: config, feature extractor, test episodes
    assert res['slic']['config'] == res['felzenszwalb']['config']
    assert res['slic']['weights'] == res['felzenszwalb']['weights'] == str(out/'pretrain-slic-both'/'checkpoint.pth.tar')
    assert res['felzenszwalb']['prior'].endswith('pretrain-felzenszwalb-both/checkpoint.pth.tar')
    # a third run has nothing left to do
    r = ablate('--study', 'patches', '--out', str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('finished earlier') == 2
    # other settings in the same folder are refused, not mixed into the table
    r = subprocess.run(['qgnet', 'ablate', '--study', 'patches', '--out', str(out), *TINY[:-5], '--episodes', '5', '--device', 'cpu'],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 2 and 'other settings' in r.stderr
