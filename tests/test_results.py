"experiments/RESULTS.md is what experiments/table.py generates from experiments/results/, and follows its data."
import ast, importlib.util, json, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT/'experiments'/'table.py'

def run_table(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TABLE), *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=30)

def test_results_md_is_up_to_date():
    r = run_table('--check')
    assert r.returncode == 0, f'experiments/RESULTS.md is stale: {r.stderr.strip()}'

def test_generated_from_the_result_files(tmp_path):
    src = tmp_path/'results'
    shutil.copytree(ROOT/'experiments'/'results', src)
    f = src/'camvid'/'qgnet-f0-1shot.json'
    d = json.loads(f.read_text()); d['miou'] = 0.987654
    f.write_text(json.dumps(d, indent=2))
    out = tmp_path/'RESULTS.md'
    r = run_table('--results', '--from', src, '--to', out)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert '| qgnet | 1 | 98.8 / 52.1 | 98.8 |' in text, 'the changed mIoU is not in the generated table'
    assert '/work/' not in text and str(tmp_path) not in text, 'a machine path is printed'
    assert run_table('--check', '--from', src, '--to', ROOT/'experiments'/'RESULTS.md').returncode == 1

def package_paper_recall():
    "PAPER_RECALL as the package's source assigns it (read with ast: importing the package takes seconds)."
    for p in sorted((ROOT/'qgnet_nb').glob('*.py')):
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'PAPER_RECALL' for t in node.targets):
                return ast.literal_eval(node.value)
    pytest.skip('no PAPER_RECALL assignment in qgnet_nb/')

def test_paper_rows_are_the_packages():
    spec = importlib.util.spec_from_file_location('results_table', TABLE)
    table = importlib.util.module_from_spec(spec); spec.loader.exec_module(table)
    assert table.PAPER_RECALL == package_paper_recall(), "table.py's Table 7 rows differ from qgnet_nb's"
