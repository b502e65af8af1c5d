"""Command-line behaviour that notebooks cannot test well: the installed console script itself."""
import re, subprocess, sys
from pathlib import Path
import qgnet_nb

ROOT = Path(__file__).resolve().parents[1]

def run(*args):
    return subprocess.run(['qgnet', *args], capture_output=True, text=True, timeout=120)

def test_version_matches_package():
    r = run('--version')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f'qgnet_nb {qgnet_nb.__version__}'

def test_help_lists_usage():
    r = run('--help')
    assert r.returncode == 0 and 'usage: qgnet' in r.stdout

def test_unknown_command_is_an_error():
    r = run('no-such-command')
    assert r.returncode == 2 and "unknown command 'no-such-command'" in r.stderr

def test_python_dash_m_equivalent():
    r = subprocess.run(
        [sys.executable, '-c', 'import sys; from qgnet_nb.cli import qgnet_main; sys.exit(qgnet_main(["--version"]))'],
        capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0 and qgnet_nb.__version__ in r.stdout

def test_new_start_point_commands_reject_bad_input_before_compute(tmp_path):
    "One line naming the flag, exit 2, no traceback, for the start-point and training commands."
    cases = [('probe', '--weights', str(tmp_path/'missing.pt')),
             ('base-pretrain', '--data', 'camvid', '--root', str(tmp_path/'nowhere')),
             ('train', '--preset', 'cpu', '--weights', str(tmp_path/'missing.pt'))]
    for args in cases:
        r = run(*args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert 'Traceback' not in r.stderr, r.stderr
        assert ('--weights' in r.stderr or '--root' in r.stderr), r.stderr

def test_listed_commands_include_the_start_point():
    r = run('--help')
    assert 'base-pretrain' in r.stdout and 'probe' in r.stdout
