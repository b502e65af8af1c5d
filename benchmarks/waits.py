"""The user's waits, in one table: how long each thing a user starts takes on this machine, its largest part, and
the target set for it.

  qgnet demo          the README's first command, run into a temporary folder; its parts from its results.json
  test suite          the README's second command as CI runs it (`nbdev-test`, then `pytest -q tests`); its largest
                      part is the slowest notebook or test file (`--timing`, `--durations=0`)
  CamVid fold recipe  `experiments/camvid.sh` on fold 0 with QGNet and the baseline, 1- and 5-shot (only with
                      --camvid ROOT; 40 min to an hour): traced (`set -x`), each step timed from its start to the next's

Each wait runs as the user would start it (all cores, the default precision unless --precision), one after the
other, so they do not share the CPU. The table goes to stdout; the JSON (parts included, and the CPU that measured
them) to --out: named experiments/results/waits-CLASS.json, it becomes a section of experiments/RESULTS.md.

    python benchmarks/waits.py                                  # demo and test suite
    python benchmarks/waits.py --only demo --precision int8
    python benchmarks/waits.py --camvid CAMVID_ROOT --out experiments/results/waits-avx512-bf16.json
"""
from __future__ import annotations
import argparse, json, os, re, subprocess, sys, tempfile, time
from pathlib import Path
from common import cpu_class, cpu_flags, cpu_header

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'experiments'))
from table import waits_table                             # the table RESULTS.md shows, printed the same here

# Minutes on a 2-core CPU, set from the first measurements. The demo took 3.8 min on a 2-core AMD EPYC with native
# bf16 and 6.8 min on one with AVX2 only, whose largest part (base-class pretraining) trains and so gains nothing
# from int8: 5 min. The suite took 11.7 min on the first and about 18 in CI, where one file of subprocess-per-case
# bad inputs is its largest part: 15 min. The recipe was timed at about 68 min by hand before this script, and at
# 40 min by its first run here (the bf16 CPU; base-class pretraining, which trains a ResNet and so gains least from
# the fast path, is half of it): an hour, which leaves a CPU without bf16 room.
TARGETS = {'qgnet demo': 5.0, 'test suite': 15.0, 'CamVid fold recipe': 60.0}
# a script run traced, each line with its start time (bash takes no PS4 from the environment when run as root)
TRACE = 'PS4="+ \\${EPOCHREALTIME} "; set -x; source "$0" "$@"'


def timed(cmd: list[str], env=None, cwd=ROOT) -> tuple[float, str]:
    "Run `cmd` (its output kept), fail loudly on error -> (seconds, combined output)."
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"benchmarks/waits.py: {' '.join(cmd)} failed ({p.returncode}):\n{(p.stdout + p.stderr)[-3000:]}")
    return time.perf_counter() - t0, p.stdout + p.stderr


def demo_wait(precision: str) -> dict:
    "`qgnet demo` into a temporary folder: total, and the seconds of each stage it records."
    with tempfile.TemporaryDirectory() as d:
        secs, _ = timed(['qgnet', 'demo', '--out', d, '--precision', precision])
        parts = json.loads((Path(d)/'results.json').read_text())['seconds']
    names = {'pretrain': 'contrastive pretraining', 'base': 'base-class pretraining', 'evaluate': 'evaluation'}
    return dict(seconds=secs, parts={names.get(k, f'training {k}'): v for k, v in parts.items()})


def notebook_times(log: str) -> dict:
    "nbdev-test --timing's 'NAME.ipynb: N secs' lines -> {name: seconds}."
    return {m[1]: float(m[2]) for m in re.finditer(r'^(\S+\.ipynb): ([\d.]+) secs', log, re.M)}


def test_file_times(log: str) -> dict:
    "pytest --durations=0's 'N.NNs call tests/x.py::name' lines, summed per test file -> {file: seconds}."
    out = {}
    for m in re.finditer(r'^([\d.]+)s (?:setup|call|teardown)\s+(\S+?\.py)::', log, re.M):
        out[m[2]] = out.get(m[2], 0.0) + float(m[1])
    return out


def suite_wait() -> dict:
    "The README's test command as CI runs it: nbdev-test, then pytest; its parts, each notebook and test file."
    nb_s, nb_log = timed(['nbdev-test', '--timing'])
    py_s, py_log = timed([sys.executable, '-m', 'pytest', '-q', 'tests', '-p', 'no:cacheprovider', '--durations=0'])
    parts = {**{f'notebook {k}': v for k, v in notebook_times(nb_log).items()},
             **{f'pytest {k}': v for k, v in test_file_times(py_log).items()}}
    return dict(seconds=nb_s + py_s, commands={'nbdev-test': nb_s, 'pytest': py_s}, parts=parts)


def trace_steps(trace: str, t_end: float) -> dict:
    """`bash -x` lines written with PS4='+ EPOCHREALTIME ' -> seconds of each traced `qgnet`/`python` command, from
    its start to the next traced line's (the last to `t_end`); a command run again (per fold, model) adds up."""
    lines = [(float(m[1]), m[2]) for m in re.finditer(r'^\++ ([\d.]+) (.*)$', trace, re.M)]
    out = {}
    for (t, cmd), nxt in zip(lines, [t for t, _ in lines[1:]] + [t_end]):
        words = cmd.split()
        if words and words[0] in ('qgnet', 'python'):
            key = ' '.join(words[:2]) + (f" {words[words.index('--model') + 1]}" if '--model' in words else '')
            out[key] = out.get(key, 0.0) + nxt - t
    return out


def recipe_wait(root: str, precision: str) -> dict:
    "experiments/camvid.sh on fold 0 into a temporary folder, traced: total and each step."
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, OUT=d, FOLDS='0', PRECISION=precision)
        secs, log = timed(['bash', '-c', TRACE, 'experiments/camvid.sh', root], env=env)
    return dict(seconds=secs, parts=trace_steps(log, time.time()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--only', nargs='+', choices=('demo', 'suite', 'recipe'), default=None)
    ap.add_argument('--camvid', default=None, help='a CamVid-FSS folder: also time the fold recipe (40 min to an hour)')
    ap.add_argument('--precision', default='auto', choices=('auto', 'fp32', 'bf16', 'int8'),
                    help='for the demo and the recipe (the suite sets its own)')
    ap.add_argument('--out', default=None, help='JSON file of the measurements')
    a = ap.parse_args()
    want = a.only or ['demo', 'suite'] + (['recipe'] if a.camvid else [])
    if 'recipe' in want and not a.camvid: sys.exit("benchmarks/waits.py: error: --only recipe needs --camvid ROOT")
    if a.camvid and not (Path(a.camvid)/'train').is_dir():
        sys.exit(f"benchmarks/waits.py: error: --camvid {a.camvid}: no train/ folder in it")
    res = {}
    if 'demo' in want: res['qgnet demo'] = demo_wait(a.precision)
    if 'suite' in want: res['test suite'] = suite_wait()
    if 'recipe' in want: res['CamVid fold recipe'] = recipe_wait(a.camvid, a.precision)
    for name, r in res.items(): r['target_min'] = TARGETS[name]
    print(f"{cpu_header(os.cpu_count())}\nprecision {a.precision} (demo, recipe)\n\n{waits_table(dict(waits=res))}")
    if a.out: Path(a.out).write_text(json.dumps(machine(a) | dict(waits=res), indent=1) + '\n')


def shown(path: str) -> str:
    "`path` as a command line in RESULTS.md shows it: relative to the repository, or OUT.json outside it."
    rel = os.path.relpath(Path(path).resolve(), ROOT)
    return 'OUT.json' if rel.startswith('..') else rel


def machine(a) -> dict:
    "What produced the measurements: the command, the CPU (its class and flags), cores, torch, precision."
    import torch
    cmd = ['python benchmarks/waits.py'] + (['--camvid CAMVID_ROOT'] if a.camvid else []) + (
        ['--only ' + ' '.join(a.only)] if a.only else []) + [f'--precision {a.precision}', f'--out {shown(a.out)}']
    return dict(command=' '.join(cmd), cpu=cpu_flags(), cpu_class=cpu_class(), cores=os.cpu_count(),
                torch=torch.__version__, precision=a.precision)


if __name__ == '__main__':
    main()
