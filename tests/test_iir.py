"""IIR through the console commands: `qgnet train --model iir|qgnet+iir` then `qgnet eval` on the saved checkpoint."""
import json, os, subprocess
import pytest, torch

def run(*args, cwd):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'QGNET_FIGURES': str(cwd/'figures')}
    return subprocess.run(['qgnet', *args], capture_output=True, text=True, timeout=900, cwd=cwd, env=env)

@pytest.mark.parametrize('model', ['iir', 'qgnet+iir'])
def test_train_then_eval(tmp_path, model):
    r = run('train', '--model', model, '--backbone', 'resnet18', '--weights', 'none', '--prior', 'random',
            '--size', '64', '--epochs', '1', '--train-episodes', '8', '--val-every', '1', '--val-episodes', '2',
            '--workers', '0', '--out', 'run', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    ck = torch.load(tmp_path/'run'/'last.pt', map_location='cpu', weights_only=True)
    assert ck['name'] == model and ck['config']['name'] == model
    rec = json.loads((tmp_path/'run'/'metrics.jsonl').read_text().splitlines()[0])
    assert rec['epoch'] == 1 and 0 <= rec['val_miou'] <= 1
    r = run('eval', '--ckpt', 'run/last.pt', '--episodes', '2', '--workers', '0', '--out', 'e.json', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((tmp_path/'e.json').read_text())
    assert res['model'] == model and res['episodes'] == 2 and 0 <= res['miou'] <= 1
    assert res['label'] == model and res['tta'] is None  # no test-time augmentation by default
    r = run(
        'eval', '--ckpt', 'run/last.pt', '--episodes', '2', '--workers', '0', '--tta', '--out', 't.json', cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((tmp_path/'t.json').read_text())
    assert res['label'] == f'{model} (+TTA 0.8/1/1.25)' and res['tta'] == [0.8, 1.0, 1.25]

def test_unknown_model_is_a_clear_error(tmp_path):
    r = run('train', '--model', 'iirr', '--backbone', 'resnet18', '--weights', 'none', '--size', '64', '--epochs', '1',
            '--train-episodes', '4', '--val-every', '0', '--workers', '0', '--out', 'run', cwd=tmp_path)
    assert r.returncode == 2 and "argument --model: invalid choice: 'iirr'" in r.stderr and 'qgnet+iir' in r.stderr
