"""Markdown tables of result JSON files, for two uses.

    python experiments/table.py runs/camvid/eval    # print the table of every `qgnet eval` *.json in the folder
    python experiments/table.py --results           # write experiments/RESULTS.md from experiments/results/
    python experiments/table.py --check             # exit 1 if experiments/RESULTS.md is not what --results writes

The first prints one row per model and shot: mIoU / FB-IoU per fold, their mean and the per-class IoU.
--results writes RESULTS.md (atomically) with one section per result: the command that produced its JSON files, its
conditions as the files record them, and its table. `--from DIR --to FILE` make --results and --check read and write
elsewhere.
Every number in RESULTS.md is read from those files, except the paper's Table 7 rows, read from the package's
source (qgnet_nb/metrics.py's PAPER_RECALL). Standard library only: no import of the package, no machine paths in
the output, no timestamps.
"""
import argparse, ast, json, os, sys, tempfile, textwrap
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_DIR, RESULTS_MD = HERE/'results', HERE/'RESULTS.md'
SHOWN_DIR = 'experiments/results'                         # how RESULTS.md names its folder, whatever --from is
THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def package_constant(name: str, module: str = 'metrics'):
    "A literal constant of the package's source, read with ast (importing the package would take seconds)."
    for node in ast.parse((HERE.parent/'qgnet_nb'/f'{module}.py').read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit(f'no {name} in qgnet_nb/{module}.py')


PAPER_RECALL = package_constant('PAPER_RECALL')           # the paper's Table 7 (PASCAL-5i fold 0, recall in %)
DATA_NAMES = {'demo': 'the demo set', 'camvid': 'CamVid-FSS'}

def load(folder) -> list[dict]:
    rows = [json.loads(p.read_text()) for p in sorted(Path(folder).glob('*.json'))]
    if not rows: raise SystemExit(f'no evaluation JSON files in {folder}')
    return rows

def table(rows: list[dict]) -> str:
    folds = sorted({r['fold'] for r in rows})
    cell = defaultdict(dict)
    for r in rows: cell[(r.get('label', r['model']), r['shot'])][r['fold']] = r
    head = '| model | shot | ' + ' | '.join(f'fold {f} mIoU / FB-IoU' for f in folds) + ' | mean mIoU | per-class IoU |'
    out = [head, '|' + '---|' * (4 + len(folds))]
    for (name, shot), by in sorted(cell.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        fs = [f"{100*by[f]['miou']:.1f} / {100*by[f]['fbiou']:.1f}" if f in by else '-' for f in folds]
        mean = sum(r['miou'] for r in by.values()) / len(by)
        pcs = '; '.join(f"{c} {100*v:.1f}" for f in folds if f in by for c, v in by[f]['per_class'].items())
        n = {r['episodes'] for r in by.values()}
        out.append(
            f"| {name} | {shot} | "
            + ' | '.join(fs)
            + f" | {100 * mean:.1f}{'' if len(by) == len(folds) else ' (partial)'} "
            f"| {pcs} |" + ('' if n == {1000} else f" ({'/'.join(map(str, sorted(n)))} episodes)")
        )
    return '\n'.join(out)

# ---- RESULTS.md: small helpers ----

def pct(x: float) -> str:
    "A fraction as a percentage with one decimal, as every table here prints it."
    return f'{100*x:.1f}'

def values(rows: list[dict], key: str) -> str:
    "The distinct values of `key` over `rows`, sorted, comma-separated."
    return ', '.join(str(v) for v in sorted({r[key] for r in rows}))

def read_json(path: Path) -> dict:
    "One result file; a missing one stops the generator with its name."
    if not path.is_file(): raise SystemExit(f'{path}: missing (RESULTS.md is made from it)')
    return json.loads(path.read_text())

def run_path(path: str) -> str:
    "A run file's path from its `runs/` folder on, so that no machine's absolute path is printed."
    parts = Path(path).parts
    return str(Path(*parts[len(parts) - 1 - parts[::-1].index('runs'):])) if 'runs' in parts else 'CKPT'

def shell(args: list[str], width: int = 110) -> str:
    "A command line of `args` (each a word or a 'flag value' pair), wrapped with backslashes within `width`."
    lines = ['']
    for a in args:
        if lines[-1] and len(lines[-1]) + len(a) + 3 > width:
            lines[-1] += ' \\'
            lines.append('   ')
        lines[-1] += (' ' if lines[-1] else '') + a
    return '\n'.join(lines)

def bullet(text: str) -> str:
    "A markdown list item, wrapped at 118 characters; its continuation lines keep it one item."
    return textwrap.fill(text, 118, initial_indent='- ', subsequent_indent='  ', break_on_hyphens=False,
                         break_long_words=False) + '\n'

def section(title: str, command: str, notes: list[str], body: str) -> str:
    "One RESULTS.md section: heading, the command in a code block, notes (conditions, source files) and table."
    return f'## {title}\n\n```bash\n{command}\n```\n\n' + ''.join(map(bullet, notes)) + f'\n{body}\n'

# ---- (a) qgnet demo ----

def demo_table(rows: list[dict]) -> str:
    "The demo's table, one row per model and shot, as `qgnet demo` prints it (per-class columns sorted)."
    classes = sorted(rows[0]['per_class'])
    out = ['| model | shot | mIoU | FB-IoU | mIoU with a distractor | ' + ' | '.join(classes) + ' |',
           '|' + '---|' * (5 + len(classes))]
    for r in rows:
        wd = r.get('with_distractor')
        wd = f"{pct(wd['miou'])} ({wd['episodes_here']} ep.)" if wd else '-'
        out.append(f"| {r['model']} | {r['shot']} | {pct(r['miou'])} | {pct(r['fbiou'])} | {wd} | " +
                   ' | '.join(pct(r['per_class'][c]) for c in classes) + ' |')
    return '\n'.join(out)

def demo_conditions(d: dict) -> str:
    "Data, fold, shots, episodes, resolution and start point of a `qgnet demo` result."
    c = d['config']
    return (f"{c['data']} data, fold {c['fold']}, {'/'.join(map(str, c['shots']))}-shot, "
            f"{values(d['results'], 'episodes')} episodes (seed {c['seed']}), {c['size']} px, {c['backbone']}, "
            f"start point: {d['start_point'].split(' (')[0]}")

def demo_section(src: Path, stem: str = 'demo') -> str:
    "`qgnet demo`'s results.json copied to STEM.json: the default run, or (demo-four) the four models, one seed."
    if not (src/f'{stem}.json').is_file(): return ''
    d = read_json(src/f'{stem}.json')
    models = d['config']['models']
    title = ('QGNet and the baseline' if len(models) == 2 else
             f"the {len(models)} models, IIR's with their own attention decoder, one seed")
    command = 'qgnet demo' + ('' if stem == 'demo' else f" --models {' '.join(models)}")
    rest = 'every flag' if stem == 'demo' else 'every other flag'
    return section(f'`{command}`: {title} on the demo set',
                   f'{command}        # {rest} at its default (the config in {stem}.json)',
                   [f'conditions: {demo_conditions(d)}', demo_time(d), f'from `{SHOWN_DIR}/{stem}.json`'],
                   demo_table(d['results']))

def demo_time(d: dict) -> str:
    "The run's wall-clock minutes, by stage and machine where `results.json` records them (runs since they do)."
    if 'seconds' not in d: return f"wall clock {d['minutes']:.1f} min"
    m, parts = d['machine'], ', '.join(f'{k} {v:.0f} s' for k, v in d['seconds'].items())
    return f"wall clock {d['minutes']:.1f} min on {m['cpu']} ({m['device']}, {m['threads']} threads): {parts}"

def mean_std(xs: list[float], signed: bool = False) -> str:
    "Mean ± sample standard deviation of fractions, in % (with its sign when `signed`); just the value for one."
    m = sum(xs) / len(xs)
    v = ('+' if signed and m >= 0 else '') + pct(m)
    return v if len(xs) == 1 else f"{v} ± {pct((sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** .5)}"

def demo_seeds_section(src: Path, stem: str = 'demo-four-seeds') -> str:
    "`qgnet demo` results.json files copied to STEM/SEED.json: the same command at several seeds, mean ± std."
    runs = [read_json(p) for p in sorted((src/stem).glob('*.json'))] if (src/stem).is_dir() else []
    if not runs: return ''
    c0 = {k: v for k, v in runs[0]['config'].items() if k != 'seed'}
    bad = [r['config']['seed'] for r in runs if {k: v for k, v in r['config'].items() if k != 'seed'} != c0]
    if bad: raise SystemExit(f'{src/stem}: the runs of seeds {bad} differ in more than their seed')
    seeds = [r['config']['seed'] for r in runs]
    by = defaultdict(list)
    for r in runs:
        for row in r['results']: by[(row['model'], row['shot'])].append(row)
    classes = sorted(runs[0]['results'][0]['per_class'])
    out = [f"| model | shot | mIoU | per seed ({', '.join(map(str, seeds))}) | minus the baseline, seed by seed | "
           "FB-IoU | " + ' | '.join(classes) + ' |', '|' + '---|' * (6 + len(classes))]
    for (model, shot), rows in sorted(by.items(), key=lambda kv: (kv[0][1], c0['models'].index(kv[0][0]))):
        base = by.get(('baseline', shot))
        paired = base and model != 'baseline'
        diff = mean_std([r['miou'] - b['miou'] for r, b in zip(rows, base)], signed=True) if paired else '-'
        out.append(f"| {model} | {shot} | {mean_std([r['miou'] for r in rows])} | "
                   f"{', '.join(pct(r['miou']) for r in rows)} | {diff} | {mean_std([r['fbiou'] for r in rows])} | " +
                   ' | '.join(mean_std([r['per_class'][k] for r in rows]) for k in classes) + ' |')
    command = f"qgnet demo --models {' '.join(c0['models'])} --shots {' '.join(map(str, c0['shots']))} --seed SEED"
    d = dict(runs[0], config=runs[0]['config'])
    notes = [f"conditions: {demo_conditions(d)}; seeds {', '.join(map(str, seeds))} (each seed draws the pretraining, "
             "the start point, the initial weights and the episodes); every model reads the class-agnostic match "
             f"decoder's maps ({c0['decoder']} decoder, width {c0['dim']}), IIR's models their inter-image refinement's "
             "two maps besides", '; '.join(f"seed {r['config']['seed']}: {demo_time(r)}" for r in runs),
             'the papers measure PASCAL-5i with ResNet-50 at 473 px (the QGNet paper: QGNet 61.6 / 62.8 mIoU at 1 / '
             '5 shots against 60.8 / 61.9 for PFENet, its baseline); the demo set is two synthetic shapes, so only '
             'the ranking can be compared, not the values',
            f"from `{SHOWN_DIR}/{stem}/`"]
    many = f"{len(runs)} seeds (mean ± std)" if len(runs) > 1 else 'one seed'
    return section(f"`qgnet demo`: the four models on the demo set, IIR's with the match decoder, {many}",
                   f'{command}        # every other flag at its default', notes, '\n'.join(out))

def demo_tta_section(src: Path, stem: str = 'demo-tta') -> str:
    "experiments/demo_tta.py's file: the four-model demo runs evaluated again, with IIR's test-time augmentation."
    if not (src/f'{stem}.json').is_file(): return ''
    d = read_json(src/f'{stem}.json')
    rows, by = d['rows'], defaultdict(list)
    off = [f"{r['run']} {r['model']} {r['shot']}-shot" for r in rows if abs(r['plain']['miou'] - r['recorded']) > 1e-4]
    if off: raise SystemExit(f"{src/stem}.json: the control differs from the run's recorded mIoU: {', '.join(off)}")
    for r in rows: by[(r['shot'], r['model'])].append(r)
    order = list(dict.fromkeys(r['model'] for r in rows))
    scales = '/'.join(f'{s:g}' for s in rows[0]['scales'])
    out = [f'| model | shot | mIoU | mIoU +TTA {scales} | +TTA minus without, seed by seed | '
           'FB-IoU | FB-IoU +TTA | seconds without / with (all seeds) |', '|' + '---|' * 8]
    for (shot, model), rs in sorted(by.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))):
        out.append(f"| {model} | {shot} | {mean_std([r['plain']['miou'] for r in rs])} | "
                   f"{mean_std([r['tta']['miou'] for r in rs])} | "
                   f"{mean_std([r['tta']['miou'] - r['plain']['miou'] for r in rs], signed=True)} | "
                   f"{mean_std([r['plain']['fbiou'] for r in rs])} | {mean_std([r['tta']['fbiou'] for r in rs])} | "
                   f"{sum(r['plain']['seconds'] for r in rs):.0f} / {sum(r['tta']['seconds'] for r in rs):.0f} |")
    seeds = sorted({r['seed'] for r in rows})
    runs = ' '.join(f'runs/demo4n-{s}' for s in seeds)
    notes = [f"conditions: the trained models of the four-model demo runs above (seeds {', '.join(map(str, seeds))}), "
             "each evaluated twice on the demo's own test episodes (rebuilt from the config in its results.json): as "
             f"trained, and wrapped in IIR's multi-scale test-time augmentation (the softmax averaged over the inputs "
             f"scaled {scales}, `qgnet eval --tta`); {d['precision']}, {d['cpu']}, {d['threads']} thread(s)",
             "the first column is the control: it equals each run's recorded mIoU to 0.01 points (the generator checks "
             "it; run here on one thread, three IIR rows differ from the two-thread runs by a few pixels, under 0.001 "
             "points), so the difference is the augmentation alone",
             "the IIR paper reports its own numbers with this augmentation, which other methods do not use; the QGNet "
             "paper reports none", f"from `{SHOWN_DIR}/{stem}.json`"]
    return section("IIR's multi-scale test-time augmentation on the four models of the demo, 3 seeds",
                   f'python experiments/demo_tta.py {runs} --out {SHOWN_DIR}/{stem}.json', notes, '\n'.join(out))

# ---- (b) CamVid-FSS ----

def eval_conditions(rows: list[dict]) -> str:
    "Data, split, folds, shots, episodes and resolution of a set of `qgnet eval` results."
    return (f"{values(rows, 'data')} {values(rows, 'split')}, fold {values(rows, 'fold')}, "
            f"{values(rows, 'shot').replace(', ', '/')}-shot, {values(rows, 'episodes')} episodes "
            f"(seed {values(rows, 'seed')}), {values(rows, 'size')} px input, {values(rows, 'resolution')} labels, "
            "start point: base-class pretraining (`qgnet base-pretrain`, step 2 of the script)")

def camvid_section(src: Path) -> str:
    rows = load(src/'camvid')
    folds = values(rows, 'fold').replace(', ', ' ')
    folds = f'"{folds}"' if ' ' in folds else folds
    return section(f'CamVid-FSS fold {values(rows, "fold")}: QGNet and the baseline, `experiments/camvid.sh`',
                   f'FOLDS={folds} PRECISION=fp32 bash experiments/camvid.sh CAMVID_ROOT   # writes runs/camvid/eval/',
                   [f'conditions: {eval_conditions(rows)}', f'from `{SHOWN_DIR}/camvid/*.json`'], table(rows))

# ---- (c) Table 7 recall ----

def recall_rows(name: str, m: dict) -> list[str]:
    "Two rows of one map: recall over all object pixels with its value statistics, and the mean over episodes."
    stats = f"{m['mean_inside']:.3f} | {m['mean_outside']:.3f} | {pct(m['lower_inside'])}"
    return [f"| {name} (ours) | " + ' | '.join(map(pct, m['recall'])) + f' | {stats} |',
            f"| {name} (ours, episode mean) | " + ' | '.join(map(pct, m['recall_episode_mean'])) + ' | | | |']

def paper_rows(thresholds: list[float]) -> list[str]:
    "The paper's Table 7 rows, when the thresholds are the paper's."
    if [round(t, 1) for t in thresholds] != THRESHOLDS: return []
    return [f'| {k} (paper) | ' + ' | '.join(f'{v:.1f}' for v in row) + ' | | | |' for k, row in PAPER_RECALL.items()]

def recall_table(maps: dict) -> str:
    "Recall (%) of 1[V > alpha] at each alpha for each map, mean V inside / outside the object, and the paper's rows."
    ths = maps[sorted(maps)[0]]['thresholds']
    out = ['| map | ' + ' | '.join(f'{a:.1f}' for a in ths) + ' | mean V inside | mean V outside | '
           'lower inside (% of episodes) |', '|---|' + '---|' * (len(ths) + 3)]
    for name in sorted(maps): out += recall_rows(name, maps[name])
    return '\n'.join(out + paper_rows(ths))

def recall_command(d: dict, stem: str) -> str:
    "The `experiments/recall.py` command of a recall.json; its run folder is named as the file."
    root = [] if d['data'] == 'demo' else [f"--root {d['data'].upper()}_ROOT"]
    return shell(['python experiments/recall.py', f"--ckpt {run_path(d['checkpoint'])}", f"--data {d['data']}", *root,
                  *(f'--{k} {d[k]}' for k in ('split', 'fold', 'shot', 'episodes', 'seed')), f'--out runs/{stem}'])

def recall_conditions(d: dict) -> str:
    "Data, fold, shot, episodes, resolution and object pixels of a recall.json."
    pixels = {m['object_pixels'] for m in d['maps'].values()}
    return (f"{d['data']} {d['split']}, fold {d['fold']}, {d['shot']}-shot, {d['episodes']} episodes "
            f"(seed {d['seed']}), {d['resolution']} labels, {'/'.join(map(str, sorted(pixels)))} object pixels")

def recall_section(src: Path, stem: str) -> str:
    d = read_json(src/f'{stem}.json')
    return section(f"Table 7, recall of the guided and prior maps: {DATA_NAMES.get(d['data'], d['data'])}, "
                   f"fold {d['fold']}", recall_command(d, stem),
                   [f'conditions: {recall_conditions(d)}', f"the model on these episodes: mIoU {pct(d['miou'])}, "
                    f"FB-IoU {pct(d['fbiou'])}", f'from `{SHOWN_DIR}/{stem}.json`'], recall_table(d['maps']))

# ---- (d) the ImageNet VGG-16 start point ----

def probe_table(d: dict) -> str:
    "`qgnet probe --out`'s JSON: mIoU at the best threshold and that threshold per layer, and all-foreground."
    layers = [k for k, v in d.items() if isinstance(v, dict) and 'miou' in v]
    return '\n'.join(['| | ' + ' | '.join(layers) + ' | all foreground |', '|---|' + '---|' * (len(layers) + 1),
                      '| mIoU at the best threshold | ' + ' | '.join(pct(d[l]['miou']) for l in layers) +
                      f" | {pct(d['all_foreground'])} |",
                      '| per class | ' + ' | '.join('; '.join(f'{c} {pct(v)}' for c, v in d[l]['per_class'].items())
                                                   for l in layers) + ' | |'])

def maps_table(d: dict) -> str:
    "`experiments/map_probe.py`'s JSON: each input map of the match decoder, and the trained model's prediction."
    classes = list(next(iter(d['maps'].values()))['per_class'])
    out = ['| map | mIoU at its best threshold | threshold | ' + ' | '.join(classes) + ' |',
           '|---|---|---|' + '---|' * len(classes)]
    for name, m in d['maps'].items():
        out.append(f"| {name} | {pct(m['miou'])} | {m['threshold']:.2f} | " +
                   ' | '.join(pct(m['per_class'][c]) for c in classes) + ' |')
    if 'prediction' in d:
        pr = d['prediction']
        out.append(f"| **the trained decoder's prediction** | {pct(pr['miou'])} | | " +
                   ' | '.join(pct(pr['per_class'][c]) for c in classes) + ' |')
    return '\n'.join(out)

def curve_table(d: dict) -> str:
    "One run's learning curve: per epoch, its losses against the label prior and its validation scores."
    out = ['| epoch | steps | main loss | label-prior entropy | validation mIoU | validation FB-IoU |',
           '|---|---|---|---|---|---|']
    for r in d['epochs']:
        val = (pct(r['val_miou']), pct(r['val_fbiou'])) if 'val_miou' in r else ('-', '-')
        out.append(f"| {r['epoch']} | {r['step']} | {r['main_loss']:.3f} | {r['prior_entropy']:.3f} | {val[0]} | "
                   f"{val[1]} |")
    return '\n'.join(out)

def curve_notes(d: dict) -> str:
    c = d['config']
    rate = f"{c['optimizer']} {c['lr']:g}" + (' x10' if c.get('lr_x10') else '')
    done = '' if d['epochs_done'] == c['epochs'] else f", stopped after {d['epochs_done']} of {c['epochs']} epochs"
    dec = f"{c['decoder']} decoder (width {c['dim']}" + (f", kernel {c.get('match_kernel', 3)}, maps "
                                                        f"{' '.join(c.get('match_maps') or ['default'])}"
                                                        if c['decoder'] == 'match' else '') + ')'
    return (f"`{d['run']}`: {c['model']}, {c['backbone']} ({c['weights']}), {dec}, "
            f"{rate}, object weight {c['fg_weight']:g}, {c['epochs']} epochs of {c['train_episodes']} episodes in "
            f"batches of {c['batch_size']} at {c['size']} px, validation on {c['val_episodes']} {c['val_split']} "
            f"episodes{done}")

def study_table(d: dict) -> str:
    "`experiments/decoder_study.py`'s JSON: each decoder variant's validation mIoU over seeds, mean +- std."
    names = list(next(iter(d['variants'].values()))[0]['per_class'])
    out = ['| decoder | mIoU, mean +- std | per seed | ' + ' | '.join(f'{c}, mean' for c in names) + ' |',
           '|---|---|---|' + '---|' * len(names)]
    for name, runs in d['variants'].items():
        m = [100 * r['miou'] for r in runs]
        sd = (sum((v - sum(m) / len(m)) ** 2 for v in m) / (len(m) - 1)) ** 0.5 if len(m) > 1 else 0.0
        per = [sum(100 * r['per_class'][c] for r in runs) / len(runs) for c in names]
        out.append(f"| {name} | {sum(m) / len(m):.1f} +- {sd:.1f} | {' / '.join(f'{v:.1f}' for v in m)} | " +
                   ' | '.join(f'{v:.1f}' for v in per) + ' |')
    return '\n'.join(out)

def study_notes(d: dict) -> str:
    c = d['config']
    return (f"decoders trained on cached maps (`experiments/decoder_study.py`): {c['train_episodes']} base-class "
            f"training episodes (seed {c['seed']}), {c['steps']} steps of {c['batch_size']}, AdamW {c['lr']:g}, "
            f"width {c['dim']}; scored on {c['val_episodes']} {c['data']} val episodes of seed {c['val_seed']} "
            f"(not the test seed); decoder seeds {', '.join(map(str, c['seeds']))}" + study_maps(d))

def study_maps(d: dict) -> str:
    "The input maps of the study's variants, each distinct list once (a study from before maps were named: '')."
    sets = {tuple(runs[0]['maps']) for runs in d['variants'].values() if 'maps' in runs[0]}
    return '' if not sets else '; input maps: ' + ' against '.join(
        f"({', '.join(m)})" for m in sorted(sets, key=lambda m: (len(m), m)))

def vgg_section(src: Path) -> str:
    d = src/'vgg16'
    probe = read_json(d/'probe-f0.json')
    pc = probe['config']
    evals = sorted(d.glob('eval-*.json'))
    body = [probe_table(probe)]
    if evals:
        rows = [json.loads(p.read_text()) for p in evals]          # eval-RUN-f0-Kshot.json: labelled by their run
        rows = [{**r, 'label': f"{r['model']}, `{p.stem[5:].rsplit('-f', 1)[0]}`"} for r, p in zip(rows, evals)]
        body += ['', f"**The trained decoders of the runs below, evaluated** (`qgnet eval`, "
                 f"{eval_conditions(rows)}".split(', start point:')[0] + '):', '', table(rows)]
    for p in sorted(d.glob('maps-*.json')):
        maps = read_json(p)
        body += ['', '**Each input map of the match decoder** (`experiments/map_probe.py`, '
                f"{maps['episodes']} {maps['split']} episodes, seed {maps['seed']}, its best single threshold per "
                f"map, chosen with the answers), and the trained decoder of `{run_path(maps['ckpt'])}` on the same "
                'episodes:', '', maps_table(maps)]
    if (d/'decoder-study.json').is_file():
        st = read_json(d/'decoder-study.json')
        body += ['', bullet(study_notes(st)).rstrip(), '', study_table(st)]
    for p in sorted(d.glob('curve-*.json')):
        c = read_json(p)
        body += ['', bullet(curve_notes(c)).rstrip(), '', curve_table(c)]
    return section(f"The ImageNet VGG-16 start point on CamVid-FSS fold {pc['fold']}: probe, decoder inputs, "
                   'learning curves',
                   'bash experiments/vgg16.sh CAMVID_ROOT   # the probe, the decoder study, the runs; writes runs/vgg16/',
                   [f"conditions: {pc['data']} {pc['split']}, fold {pc['fold']}, {pc['shot']}-shot, "
                    f"{probe['episodes']} episodes (seed {pc['seed']}), {pc['size']} px; start point: "
                    f"{probe['start_point']}, no training", f'from `{SHOWN_DIR}/vgg16/*.json`'], '\n'.join(body))

def hyper_section(src: Path, stem: str = 'hyper-probe') -> str:
    "`experiments/hyper_probe.py`: each block's contrast map and their mean, on CamVid-FSS and the FSS-1000 sample."
    if not (src/f'{stem}.json').is_file(): return ''
    from hyper_probe import table as hyper_table              # this script's folder is on sys.path
    d = read_json(src/f'{stem}.json')
    sets = list(d['sets'])
    return section('Many layers against one: each map at layer 3, as the mean over the deep blocks (`hyper`), and per '
                   'block',
                   shell(['python experiments/hyper_probe.py --root CAMVID_ROOT', f'--out {SHOWN_DIR}/{stem}.json']),
                   [f"conditions: {d['start_point']}, frozen, no training; {d['size']} px; {sets[0]}: "
                    f"{d['episodes']} novel-class episodes of seed {d['seed']} (not the test seed); {sets[1]}: "
                    f"`{d['fss']}`, classes {', '.join(d['classes'])}, every ordered pair of distinct images",
                    'KIND-hyper: the mean of the KIND map of each block of the two deepest stages (VGG-16: conv4_1 '
                    '.. conv5_3, before the pooling); contrast, block k: the k-th alone; all at the finest block\'s '
                    'resolution; each map at its best single threshold over a set, chosen with the answers (an '
                    'upper bound)',
                    f'from `{SHOWN_DIR}/{stem}.json`'], hyper_table(d))

# ---- (e) across domains ----

def cross_domain_table(d: dict) -> str:
    "`experiments/cross_domain.py`'s JSON: per checkpoint, the model through `segment` and the prototype baseline."
    names = list(d['classes'])
    row = lambda label, r, episodes=True: (f'| {label} | ' + ' | '.join(pct(r['per_class'][c]) for c in names) +
                                           f" | {pct(r['miou'])} |" +
                                           (f" {pct(r['episode_mean_iou'])} |" if episodes else ' |'))
    out = ['| method | ' + ' | '.join(names) + " | mean IoU | mean of the episodes' IoU |",
           '|---|' + '---|' * (len(names) + 2)]
    for name, r in d['checkpoints'].items():
        b = r['baseline']
        out.append(row(f'{name}: the model, through `segment`', r))
        if 'tta' in r:
            scales = '/'.join(f'{s:g}' for s in r['tta'].get('scales', (0.8, 1, 1.25)))
            out.append(row(f'{name}: the model +TTA {scales}, through `segment`', r['tta']))
        if 'adapt' in r:
            out.append(row(f"{name}: the model fine-tuned on each support alone ({r['adapt']['steps']} steps), "
                           'through `segment`', r['adapt']))
        out.append(row(f"{name}: prototype cosine at {b['layer']}, one threshold ({b['threshold']:.2f})", b, False))
    for recipe, runs in seed_groups(d['checkpoints']).items():
        cells = [mean_std([r['per_class'][c] for r in runs]) for c in names]
        out.append(f'| **{recipe}, {len(runs)} training seeds: the model, mean ± std** | ' + ' | '.join(cells) +
                   f" | **{mean_std([r['miou'] for r in runs])}** | {mean_std([r['episode_mean_iou'] for r in runs])} |")
    return '\n'.join(out)


def seed_groups(cks: dict) -> dict:
    "Checkpoints named RECIPE-sSEED, two or more per RECIPE: {RECIPE: [their results]}."
    groups = defaultdict(list)
    for name, r in cks.items():
        recipe, _, seed = name.rpartition('-s')
        if recipe and seed.isdigit(): groups[recipe].append(r)
    return {k: v for k, v in groups.items() if len(v) > 1}


def cross_domain_command(cks: dict, *flags: str, out: str) -> str:
    "The `cross_domain.py` call that wrote a JSON of checkpoints `cks`, with its other `flags`."
    return shell(['python experiments/cross_domain.py', *(f"--ckpt {n}={r['checkpoint']}" for n, r in cks.items()),
                  *flags, f'--out {out}'])


def adapt_paragraph(e: dict, path: Path) -> str:
    "The cross-domain episodes again, each model first fine-tuned on each support alone (`--adapt STEPS`)."
    cks = e['checkpoints']
    steps = sorted({r['adapt']['steps'] for r in cks.values()})
    cmd = cross_domain_command(cks, *(f'--adapt {s}' for s in steps), out=f'{SHOWN_DIR}/{path.name}')
    r0 = next(iter(cks.values()))['adapt']
    return (f"\n\nThe same episodes with each model first fine-tuned on the support alone: a fresh copy per "
            f"support takes {'/'.join(map(str, steps))} AdamW steps (lr {r0['lr']:g}) of {r0['batch']} augmented views "
            f"of the support image, each a query to the support itself (PFENet's training augmentation; BatchNorm and "
            f"dropout as trained), from `{SHOWN_DIR}/{path.name}`:\n\n```bash\n{cmd}\n```\n\n" + cross_domain_table(e))


def cross_domain_section(src: Path) -> str:
    d = read_json(src/'cross_domain.json')
    cks = d['checkpoints']
    tta = ['--tta'] if any('tta' in r for r in cks.values()) else []
    command = cross_domain_command(cks, *tta, out='runs/cross_domain.json')
    n = sum(d['episodes'].values())
    notes = [f"conditions: FSS-1000 images (`{d['root']}`), classes " +
             ', '.join(f'{c} ({k} images)' for c, k in d['classes'].items()) +
             f"; every ordered pair of distinct images of a class is one {d['shot']}-shot episode (support, query), "
             f"{n} episodes; IoU per class pooled over its episodes, mean IoU over the classes"]
    start = lambda r: (r['start_point'] or {}).get('backbone')
    kind = {'baseline': ' (QGNet without its prior map)'}
    notes += [f"{name}: `{r['checkpoint']}`, the `{r['model']}` model{kind.get(r['model'], '')}, backbone {start(r)}, "
              f"trained on the base classes of {r['trained_on']}; {r['size']} px input, {r['precision']}" +
              (f"; the start point is `qgnet base-pretrain`'s, {r['start_steps']} steps on the same fold's base classes"
               if r.get('start_steps') else '') for name, r in cks.items()]
    notes += ["the prototype baseline runs on the same checkpoint's frozen backbone; its one threshold is the best "
              'over all episodes, chosen with the answers (an upper bound for that rule)',
              f'from `{SHOWN_DIR}/cross_domain.json`']
    body = cross_domain_table(d)
    for extra in sorted(src.glob('cross_domain-*.json')):              # the same episodes, another input side
        e = read_json(extra)
        if any('adapt' in r for r in e['checkpoints'].values()):       # or a fine-tuning on each support
            body += adapt_paragraph(e, extra)
            continue
        sizes = sorted({r['size'] for r in e['checkpoints'].values()})
        cmd = cross_domain_command(e['checkpoints'], *(f'--size {z}' for z in sizes),
                                   out=f'{SHOWN_DIR}/{extra.name}')
        body += (f"\n\nThe same episodes at {'/'.join(map(str, sizes))} px input (FSS-1000's usual side is 400; the "
                 f"checkpoints were trained at {', '.join(sorted({str(r['size']) for r in cks.values()}))} px), "
                 f"from `{SHOWN_DIR}/{extra.name}`:\n\n```bash\n{cmd}\n```\n\n" + cross_domain_table(e))
    return section('Across domains: CamVid-FSS checkpoints on FSS-1000 images, through `qgnet_nb.segment`', command,
                   notes, body)

# ---- (h) speed against the QGNet release ----

def cpu_flags(c: dict) -> str:
    "The bf16/VNNI/AMX flags a benchmark's JSON records for its CPU, as its section names them."
    return ', '.join(k for k in ('avx512_vnni', 'avx512_bf16', 'amx_bf16') if c.get(k)) or 'AVX2 only'

def speed_table(d: dict) -> str:
    "One row per side of `benchmarks/release.py`'s JSON: seconds an episode, speed-up against the release, memory."
    base, bb = d['median']['release:fp32'], {'resnet50': 'ResNet-50', 'vgg16': 'VGG-16'}[d['backbone']]
    rows = ['| side | precision | training s/episode | speed-up | evaluation s/episode | speed-up | '
            'peak RSS, training (MiB) |', '|---|---|---|---|---|---|---|']
    for k, v in d['median'].items():
        side, prec = k.split(':')
        rows.append(f"| {'the release, ResNet-50' if side == 'release' else f'ours, {bb}'} | {prec} | "
                    f"{v['train_s']:.2f} | {base['train_s'] / v['train_s']:.2f}x | {v['eval_s']:.2f} | "
                    f"{base['eval_s'] / v['eval_s']:.2f}x | {v['peak_rss_train_mib']:.0f} |")
    return '\n'.join(rows)

def speed_sections(src: Path) -> list[str]:
    "`benchmarks/release.py --out`: one section per CPU class and backbone measured."
    out = []
    for f in sorted(src.glob('speed-release-*.json'), key=lambda f: (f.stem.endswith('vgg16'), f.name)):
        d = read_json(f)
        c, flags = d['cpu'], cpu_flags(d['cpu'])
        other = ([] if d['backbone'] == 'resnet50' else ["the release's row is its ResNet-50: it builds no VGG (its "
                                                          "`vgg` flag changes one feature width only); ours reads "
                                                          "VGG-16 beside a ResNet-50 prior extractor"])
        out.append(section(
            f"Speed against the QGNet release: {d['backbone']}, a CPU of class {d['cpu_class']}",
            shell(d['command'].split(' --')[:1] + ['--' + x for x in d['command'].split(' --')[1:]]),
            [f"CPU: {c['model']} ({flags}); torch {d['torch']}; {d['threads']} thread(s)",
             f"{d['size']} px, 1-shot, batch 1, random weights on both sides; each measurement a fresh process timing "
             f"{d['steps']} training and {d['episodes']} evaluation episodes after one warm-up, the sides "
             f"alternating; the median of {d['rounds']} rounds",
             'precision: fp32, the plain path; auto, the fast path (channels-last, bf16 autocast where the CPU '
             'multiplies bf16 natively); int8, the frozen ResNets in int8 and the rest as auto', *other,
             f'from `{SHOWN_DIR}/{f.name}`'], speed_table(d)))
    return out

# ---- (i) the user's waits ----

def waits_table(d: dict) -> str:
    "One row per wait of `benchmarks/waits.py`'s JSON: minutes, its largest part and share, the target."
    rows = ['| wait | minutes | largest part | its share | target |', '|---|---|---|---|---|']
    for name, r in d['waits'].items():
        parts, mins, target = r['parts'], r['seconds'] / 60, r['target_min']
        big = max(parts, key=parts.get)
        rows.append(f"| {name} | {mins:.1f} | {big} ({parts[big] / 60:.1f} min) | "
                    f"{100 * parts[big] / r['seconds']:.0f}% | {target:.0f} min, "
                    f"{'met' if mins <= target else f'{mins / target:.2f}x over'} |")
    return '\n'.join(rows)

def waits_sections(src: Path) -> list[str]:
    "`benchmarks/waits.py --out`: one section per CPU class measured."
    out = []
    for f in sorted(src.glob('waits-*.json')):
        d = read_json(f)
        c, flags = d['cpu'], cpu_flags(d['cpu'])
        out.append(section(
            f"The user's waits, a CPU of class {d['cpu_class']}", d['command'],
            [f"CPU: {c['model']} ({flags}); {d['cores']} cores, all used; torch {d['torch']}",
             f"each wait started as the user starts it, one after the other; precision {d['precision']} for the demo "
             "and the recipe (the suite sets its own); largest part: the demo's stage from its results.json, the "
             "suite's slowest notebook or test file, the recipe's slowest step (a step run per model adds up)",
             f'from `{SHOWN_DIR}/{f.name}`'], waits_table(d)))
    return out

# ---- RESULTS.md ----

# ---- (f) the prior extractor against chance ----

def prior_section(src: Path) -> str:
    "`experiments/prior_chance.py`'s JSON: each pretraining run's final losses over chance log(K + 1)."
    path = src/'prior-chance.json'
    if not path.is_file(): return ''
    runs = read_json(path)['runs']
    out = ['| run | images | network | start of both encoders | losses | size | K (global) | M (local) | steps | '
           'queue refills | global / chance | local / chance |', '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for n, r in runs.items():
        c = r['config']
        start = {None: 'random', 'imagenet': 'ImageNet'}.get(c['weights']) or f"`{run_path(c['weights'])}`"
        local = f"{r['local']['ratio']:.3f}" if 'local' in r else '-'
        out.append(f"| {n} | {r['images']['images']} | {c['arch']} | {start} | {c['losses']} | {c['size']} | {c['queue']} | "
                   f"{c['local_queue']} | {r['steps']} | {r['refills']:.1f} | {r['global']['ratio']:.3f} | {local} |")
    c = next(iter(runs.values()))['config']
    if any(r['config'][k] != c[k] for r in runs.values() for k in ('batch_size', 'lr', 'm', 'tau', 'method')):
        raise SystemExit('prior-chance.json: the runs differ in batch, lr, momentum, temperature or patches')
    notes = [f"conditions: `qgnet pretrain`, batch {c['batch_size']}, SGD {c['lr']:g}, key momentum "
             f"{c['m']}, temperature {c['tau']}, {c['method']} patches; each loss is the mean of the last 20 steps "
             'over log(negatives + 1), the loss of an encoder that cannot tell its positive from its negatives; the '
             'target is a global ratio of at most 0.7 after at least 5 queue refills',
             f'from `{SHOWN_DIR}/prior-chance.json`']
    body = '\n'.join(out)
    if (src/'prior-probe-f0.json').is_file():                   # did the contrastive step keep the features?
        pr, im = read_json(src/'prior-probe-f0.json'), read_json(src/'vgg16'/'probe-f0.json')
        c = pr['config']
        body += ('\n\n' + bullet(f"the feature probe (`qgnet probe`, {c['data']} {c['split']}, fold {c['fold']}, "
                                 f"{pr['episodes']} episodes, seed {c['seed']}, {c['size']} px) of the key encoder of "
                                 f"`{run_path(pr['start_point'].split(' (')[0].strip(chr(39)))}`, then of its start "
                                 'point, ImageNet VGG-16, on the same episodes').rstrip() +
                 '\n\nThe contrastive key encoder:\n\n' + probe_table(pr) + '\n\nImageNet VGG-16:\n\n' + probe_table(im))
    return section('The prior extractor against chance', 'python experiments/prior_chance.py NAME=RUN_DIR ... '
                   '--out runs/prior-chance.json', notes, body)

# ---- (g) QGNet's prior against the baseline, on cached features ----

def prior_study_section(src: Path) -> str:
    "`experiments/prior_study.py`'s JSON per fold: each variant's validation mIoU and its difference to the baseline."
    files = sorted(src.glob('prior-study-f*.json'))
    if not files: return ''
    studies = {read_json(f)['config']['fold']: read_json(f) for f in files}
    folds = sorted(studies)
    head = '| variant | ' + ' | '.join(f'fold {f}: mIoU | minus the baseline' for f in folds) + ' |'
    out = [head, '|---|' + '---|---|' * len(folds)]
    for name in studies[folds[0]]['variants']:
        cells = []
        for f in folds:
            v = studies[f]['variants']
            m = [r['miou'] for r in v[name]]
            cells += [mean_std(m), mean_std([x - b['miou'] for x, b in zip(m, v['baseline'])], signed=True)]
        out.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    d = studies[folds[0]]
    c = d['config']
    priors = '; '.join(f"{n}: {'`runs/prior/' + s + '`' if s not in ('imagenet', 'random') else s}"
                       for n, s in d['priors'].items())
    notes = [f"conditions: CamVid-FSS `val/`, fold{'s' if len(folds) > 1 else ''} {', '.join(map(str, folds))}, "
             f"{c['val_episodes']} validation "
             f"episodes (seed {c['val_seed']}, not the test seed), {c['train_episodes']} cached training episodes "
             f"(seed {c['seed']}), {c['size']} px, frozen ImageNet VGG-16; every variant {c['steps']} AdamW steps of "
             f"{c['batch_size']} at {c['lr']:g}, object weight 1, match decoder width {c['dim']}, kernel 1, decoder "
             f"seeds {', '.join(map(str, c['seeds']))} (mean ± std over them; the difference is taken seed by seed)",
             f'prior extractors (VGG-16, layer 4 of the query): {priors}',
             'baseline: the eight layer-3 and layer-4 maps of the `match-maps8` run; qgnet: QGNet\'s prior region map (eqs. 9-12, its two '
             '3x3 projections trained with the decoder) as a ninth map; prior zeroed at test: the same trained qgnet '
             'with that map set to 0; projections frozen: the projections kept at their random initialisation',
             'from ' + ', '.join(f'`{SHOWN_DIR}/{f.name}`' for f in files)]
    command = ('python experiments/prior_study.py --root CAMVID_ROOT --fold F --prior contrastive=PRETRAIN_CKPT '
               '--prior imagenet=imagenet --prior random=random --out runs/prior-study-fF.json')
    return section("QGNet's prior against its baseline, on the ImageNet VGG-16 start point (cached features)",
                   command, notes, '\n'.join(out))

def iir_prior_section(src: Path, stem: str = 'iir-prior-demo') -> str:
    "`experiments/iir_prior.py`'s JSON: IIR's inter-image prior (two prototypes) against one prototype, same episodes."
    if not (src/f'{stem}.json').is_file(): return ''
    d = read_json(src/f'{stem}.json')
    c, maps = d['config'], d['maps']
    ths = next(iter(maps.values()))['recall']['thresholds']
    out = ['| map | mIoU at its best threshold | mean V inside / outside the object | ' +
           ' | '.join(f'recall at {t:.1f}' for t in ths) + ' | ' + ' | '.join(d['classes']) + ' |',
           '|---|---|---|' + '---|' * (len(ths) + len(d['classes']))]
    for name, m in maps.items():
        r = m['recall']
        out.append(f"| {name} | {pct(m['miou'])} | {r['mean_inside']:.2f} / {r['mean_outside']:.2f} | " +
                   ' | '.join(pct(v) for v in r['recall']) + ' | ' +
                   ' | '.join(pct(m['per_class'][k]) for k in d['classes']) + ' |')
    w = c['weights'] if c['weights'] in ('imagenet', 'none') else run_path(c['weights'])
    notes = [f"conditions: {DATA_NAMES.get(c['data'], c['data'])} val, fold {c['fold']}, 1-shot, {c['episodes']} "
             f"episodes (seed {c['seed']}), {c['size']} px, {c['backbone']} start point `{w}`, CAM threshold "
             f"{c['threshold']}; all three maps read the same frozen layer-4 features, nothing is trained",
             "mIoU at the best threshold: one threshold for all classes, chosen with the answers (an upper bound, as "
             "the probe's); recall: the share of object pixels with V above alpha (Table 7's measure)",
             f'from `{SHOWN_DIR}/{stem}.json`']
    data = '' if c['data'] == 'demo' else f" --data {c['data']} --root {c['data'].upper()}_ROOT"
    command = (f"python experiments/iir_prior.py{data} --backbone {c['backbone']} --weights {w} --size {c['size']} "
               f"--episodes {c['episodes']} --out {SHOWN_DIR}/{stem}.json")
    return section(f"IIR's inter-image prior: two prototypes against one, {DATA_NAMES.get(c['data'], c['data'])}",
                   command, notes, '\n'.join(out))

def results(src: Path) -> str:
    "The whole text of RESULTS.md, made from the result files in `src`."
    head = ('# Results\n\nGenerated by `python experiments/table.py --results` from `experiments/results/`: '
            'do not edit it by hand.\n\n`python experiments/table.py --check` tells when it is out of date. '
            'Numbers in %, except mean map values V.\n')
    parts = [demo_section(src), demo_section(src, 'demo-four'), demo_seeds_section(src), demo_tta_section(src),
             camvid_section(src), recall_section(src, 'recall-demo'),
             recall_section(src, 'recall-camvid'), vgg_section(src), hyper_section(src), cross_domain_section(src),
             prior_section(src), prior_study_section(src), iir_prior_section(src),
             iir_prior_section(src, 'iir-prior-camvid'), *speed_sections(src), *waits_sections(src)]
    return '\n'.join([head, *filter(None, parts)])

def write_atomic(path: Path, text: str):
    "Write `text` to a temporary file beside `path`, then move it into place."
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f: f.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)     # mkstemp's 0600 otherwise
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

def check(src: Path, dst: Path) -> int:
    "0 when `dst` holds what `src` generates; else 1, with a one-line message."
    if dst.is_file() and dst.read_text(encoding='utf-8') == results(src): return 0
    state = 'is out of date' if dst.is_file() else 'is missing'
    shown = os.path.relpath(dst) if not os.path.relpath(dst).startswith('..') else dst
    print(f'{shown} {state}: run python experiments/table.py --results', file=sys.stderr)
    return 1

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('folder', nargs='?', default='runs/camvid/eval', help='a folder of `qgnet eval` JSON files')
    g = p.add_mutually_exclusive_group()
    g.add_argument('--results', action='store_true', help='write RESULTS.md from the result files')
    g.add_argument('--check', action='store_true', help='exit 1 if RESULTS.md differs from what --results writes')
    p.add_argument('--from', dest='src', type=Path, default=RESULTS_DIR, help='the result files (experiments/results)')
    p.add_argument('--to', dest='dst', type=Path, default=RESULTS_MD, help='the file written (experiments/RESULTS.md)')
    a = p.parse_args(argv)
    if a.check: return check(a.src, a.dst)
    if a.results:
        write_atomic(a.dst, results(a.src))
        return 0
    print(table(load(a.folder)))
    return 0

if __name__ == '__main__': sys.exit(main())
