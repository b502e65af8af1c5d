"experiments/RESULTS.md is what experiments/table.py generates from experiments/results/, and follows its data."
import ast, json, re, shutil, subprocess, sys
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
    w = src/'waits-avx512-bf16.json'
    d = json.loads(w.read_text()); d['waits']['CamVid fold recipe']['seconds'] = 4321.0
    w.write_text(json.dumps(d, indent=1))
    out = tmp_path/'RESULTS.md'
    r = run_table('--results', '--from', src, '--to', out)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert '| qgnet | 1 | 98.8 / 52.1 | 98.8 |' in text, 'the changed mIoU is not in the generated table'
    assert '| CamVid fold recipe | 72.0 |' in text and '60 min, 1.20x over |' in text, 'the changed wait is not shown'
    assert '/work/' not in text and str(tmp_path) not in text, 'a machine path is printed'
    assert run_table('--check', '--from', src, '--to', ROOT/'experiments'/'RESULTS.md').returncode == 1

def package_paper_recall():
    "PAPER_RECALL as the package's source assigns it (read with ast: importing the package takes seconds)."
    for p in sorted((ROOT/'qgnet_nb').glob('*.py')):
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'PAPER_RECALL' for t in node.targets):
                return ast.literal_eval(node.value)
    pytest.skip('no PAPER_RECALL assignment in qgnet_nb/')

def method_md_recall() -> dict:
    "The paper's Table 7 numbers as METHOD.md §2.4 writes them in prose: a source typed apart from the package's."
    text = re.sub(r'\s+', ' ', (ROOT/'METHOD.md').read_text())
    m = re.search(r'numbers: guided ([\d., ]+) %; prior ([\d., ]+) %', text)
    assert m, "METHOD.md no longer states Table 7's numbers in the form 'guided ... %; prior ... %'"
    return {k: tuple(float(v) for v in g.split(',')) for k, g in zip(('guided', 'prior'), m.groups())}

def test_paper_rows_match_method_md():
    want = method_md_recall()
    assert all(len(row) == 9 for row in want.values()), f'METHOD.md gives {want}, not 9 thresholds per map'
    got = package_paper_recall()
    assert got == want, f'qgnet_nb PAPER_RECALL {got} differs from METHOD.md {want}'
    results_md = (ROOT/'experiments'/'RESULTS.md').read_text()
    rows = re.findall(r'^\| (guided|prior) \(paper\) \|([^a-z]*?)\| \| \| \|$', results_md, re.M)
    assert rows, 'RESULTS.md has no (paper) rows'
    for k, cells in rows:
        shown = tuple(float(c) for c in cells.split('|'))
        assert shown == want[k], f"RESULTS.md's {k} (paper) row {shown} differs from METHOD.md {want[k]}"
