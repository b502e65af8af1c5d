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
    assert rec['epoch'] == 1, rec
    r = run('eval', '--ckpt', 'run/last.pt', '--episodes', '2', '--workers', '0', '--out', 'e.json', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((tmp_path/'e.json').read_text())
    assert res['model'] == model and res['episodes'] == 2
    per_class = list(res['per_class'].values())
    assert res['miou'] == pytest.approx(sum(per_class) / len(per_class)), f"mIoU {res['miou']}, per class {per_class}"
    # the training's validation is the same evaluation: the last checkpoint on the val split at the input's resolution
    r = run('eval', '--ckpt', 'run/last.pt', '--episodes', '2', '--workers', '0', '--resolution', 'input',
            '--out', 'v.json', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    val = json.loads((tmp_path/'v.json').read_text())['miou']
    assert val == pytest.approx(rec['val_miou'], abs=1e-6), f"qgnet eval {val}, training's validation {rec['val_miou']}"
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

@pytest.mark.parametrize('model', ['iir', 'qgnet+iir'])
def test_cpu_recipe_options(tmp_path, model):
    "The options of the CPU recipe that learns (match decoder, AdamW, object weight, width) reach IIR's builders."
    r = run('train', '--model', model, '--backbone', 'resnet18', '--weights', 'none', '--prior', 'random',
            '--decoder', 'match', '--match-kernel', '1',
            '--optimizer', 'adamw', '--lr', '1e-3', '--fg-weight', '2', '--dim', '32', '--size', '64', '--epochs', '1',
            '--train-episodes', '4', '--batch-size', '2', '--val-every', '0', '--probe-episodes', '0',
            '--workers', '0', '--out', 'run', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    ck = torch.load(tmp_path/'run'/'last.pt', map_location='cpu', weights_only=True)
    c = ck['config']
    assert (c['fg_weight'], c['dim'], c['decoder'], c['match_kernel']) == (2.0, 32, 'match', 1), c

def test_match_option_without_the_match_decoder_is_refused_in_one_line(tmp_path):
    r = run('train', '--model', 'iir', '--match-kernel', '1', '--backbone', 'resnet18', '--weights', 'none',
            '--size', '64', '--epochs', '1', '--train-episodes', '4', '--val-every', '0', '--workers', '0',
            '--out', 'run', cwd=tmp_path)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert len(r.stderr.strip().splitlines()) == 1 and '--match-kernel 1' in r.stderr, r.stderr

def test_demo_trains_iir_models(tmp_path):
    "`qgnet demo --models iir qgnet+iir`, at toy size: both train with the demo's match decoder and are evaluated."
    r = run('demo', '--models', 'iir', 'qgnet+iir', '--size', '64', '--pretrain-size', '32', '--pretrain-epochs', '1',
            '--base-steps', '2', '--base-batch', '2', '--epochs', '1', '--train-episodes', '4', '--batch-size', '2',
            '--episodes', '2', '--workers', '0', '--out', 'demo', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((tmp_path/'demo'/'results.json').read_text())
    assert [row['model'] for row in res['results']] == ['iir', 'qgnet+iir']
    for m in ('iir', 'qgnet+iir'):
        assert torch.load(tmp_path/'demo'/m/'last.pt', map_location='cpu', weights_only=True)['config']['decoder'] == 'match'
