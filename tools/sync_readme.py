"""Write README.md from the markdown cells of nbs/index.ipynb (nbdev-readme needs Quarto, which we do not assume).

Usage: python tools/sync_readme.py [--check]   (--check exits 1 if README.md is out of date)
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BANNER = "<!-- Generated from nbs/index.ipynb by tools/sync_readme.py: edit the notebook, not this file. -->\n\n"

def render(nb_path=ROOT/'nbs'/'index.ipynb') -> str:
    nb = json.loads(Path(nb_path).read_text(encoding='utf-8'))
    cells = [''.join(c['source']).strip() for c in nb['cells'] if c['cell_type'] == 'markdown']
    return BANNER + '\n\n'.join(c for c in cells if c) + '\n'

if __name__ == '__main__':
    text, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv[1:]:
        ok = readme.exists() and readme.read_text(encoding='utf-8') == text
        print(
            'README.md is in step with nbs/index.ipynb'
            if ok
            else 'README.md is out of date: run python tools/sync_readme.py'
        )
        sys.exit(0 if ok else 1)
    readme.write_text(text, encoding='utf-8')
    print(f'wrote {readme}')
