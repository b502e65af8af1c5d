"""Training and evaluation behaviour that needs real processes: DDP equivalence and the console commands."""
import json, os, socket, subprocess, sys
from pathlib import Path
import pytest, torch
from torch import nn
import torch.multiprocessing as mp

from qgnet_nb.train import TrainConfig, train

CFG = dict(data='demo', model='baseline', backbone='resnet18', weights=None, bins=(8, 4), size=64, epochs=1,
           batch_size=4, train_episodes=4, lr=0.05, lr_x10=False, val_every=0, seed=3)

def no_dropout(model: nn.Module):
    "Dropout draws differ between one process and two; switch it off so the two runs must agree exactly."
    for m in model.modules():
        if isinstance(m, (nn.Dropout, nn.Dropout2d)): m.p = 0.0

def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def _worker(rank, world, port, out):
    os.environ.update(
        MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    try: train(TrainConfig(**CFG), out, device='cpu', precision='fp32', progress=False, on_model=no_dropout,
               log=lambda *a: None)
    finally:
        if torch.distributed.is_initialized(): torch.distributed.destroy_process_group()

def test_two_process_step_equals_one_process_step(tmp_path):
    # fp32 on both sides: under bf16 (a CPU with native bf16) each process's half batch rounds its own way
    one = train(TrainConfig(**CFG), tmp_path / 'one', device='cpu', precision='fp32', progress=False,
                on_model=no_dropout, log=lambda *a: None)
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path/'two')), nprocs=2, join=True)
    two = torch.load(tmp_path/'two'/'last.pt', map_location='cpu', weights_only=False)
    start = train(TrainConfig(**{**CFG, 'epochs': 1}), tmp_path / 'zero', device='cpu', progress=False,
                  on_model=no_dropout, stop_after=0, log=lambda *a: None)['model'].state_dict()
    moved = 0
    for k, v in one['model'].state_dict().items():
        torch.testing.assert_close(two['state_dict'][k], v, rtol=1e-4, atol=1e-6, msg=lambda m: f'{k}: {m}')
        moved += int(not torch.equal(v, start[k]))
    assert moved > 0, 'the step changed no parameter: the comparison would be vacuous'

def run(*args, cwd):
    return subprocess.run(['qgnet', *args], capture_output=True, text=True, timeout=900, cwd=cwd)

def test_train_then_eval_twice_gives_identical_json(tmp_path):
    r = run('train', '--model', 'baseline', '--backbone', 'resnet18', '--weights', 'none', '--bins', '8', '4',
            '--size', '64', '--epochs', '1', '--train-episodes', '8', '--val-every', '0', '--workers', '0',
            '--out', 'run', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    outs = []
    for i in range(2):
        r = run('eval', '--ckpt', 'run/last.pt', '--episodes', '6', '--workers', str(i * 2), '--out', f'e{i}.json',
                cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append((tmp_path/f'e{i}.json').read_bytes())
    assert outs[0] == outs[1], 'two evaluations with the same seed (0 and 2 workers) differ'
    res = json.loads(outs[0])
    assert {'miou', 'fbiou', 'per_class', 'episodes', 'shot', 'fold', 'seed'} <= set(res)
    assert res['episodes'] == 6 and res['shot'] == 1 and res['fold'] == 0

def test_eval_missing_checkpoint_is_a_clear_error(tmp_path):
    r = run('eval', '--ckpt', 'nope.pt', '--episodes', '2', cwd=tmp_path)
    assert r.returncode != 0 and 'nope.pt' in r.stderr

def test_imagenet_vgg16_start_learns_below_the_label_prior(tmp_path):
    """The paper's start point learns at once: the cpu-vgg16 recipe (ImageNet VGG-16, frozen, pointwise match decoder)
    on the demo set, 24 steps at 97 px, ends with a main loss below the label-prior entropy of its own batches (what a
    decoder that ignores its maps scores), and below its first epoch's."""
    r = run('train', '--preset', 'cpu-vgg16', '--data', 'demo', '--model', 'baseline', '--size', '97', '--epochs', '3',
            '--train-episodes', '64', '--batch-size', '8', '--lr', '0.05', '--val-every', '0', '--val-episodes', '4',
            '--probe-episodes', '0', '--workers', '0', '--out', 'run', cwd=tmp_path)
    if r.returncode == 2 and '--weights imagenet' in r.stderr:
        pytest.skip(f'ImageNet VGG-16 weights unreachable here: {r.stderr.strip().splitlines()[-1]}')
    assert r.returncode == 0, r.stderr[-2000:]
    epochs = [json.loads(l) for l in (tmp_path/'run'/'metrics.jsonl').read_text().splitlines()]
    last = epochs[-1]
    assert last['main_loss'] < last['prior_entropy'], f'no better than the label prior: {epochs}'
    assert last['main_loss'] < epochs[0]['main_loss'], f'the loss did not fall: {epochs}'


@pytest.mark.skipif('x86' not in torch.backends.quantized.supported_engines, reason="PyTorch's x86 int8 engine is absent")
def test_int8_run_resumed_after_an_epoch_equals_an_uninterrupted_one(tmp_path):
    # the FEM's dropout draws from the global RNG after the int8 calibration: a calibration that drew from it too
    # (it did, before it ran under its own RNG) made the resumed run's weights differ by up to 0.017
    cfg = TrainConfig(**{**CFG, 'epochs': 3, 'train_episodes': 24, 'batch_size': 2, 'size': 32, 'probe_episodes': 0})
    kw = dict(device='cpu', precision='int8', progress=False, log=lambda *a: None)
    train(cfg, tmp_path/'full', **kw)
    train(cfg, tmp_path/'cut', stop_after=1, **kw)
    st = train(cfg, tmp_path/'cut', **kw)
    assert st['epoch'] == 3
    a, b = (torch.load(tmp_path/n/'last.pt', weights_only=True)['state_dict'] for n in ('full', 'cut'))
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
