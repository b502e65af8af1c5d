"""The README is generated from nbs/index.ipynb, and CI runs exactly the README's two commands."""
import re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def readme_commands():
    text = (ROOT/'README.md').read_text()
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]

def test_readme_in_step_with_index():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'sync_readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def test_ci_runs_the_readme_commands_verbatim():
    cmds, ci = readme_commands(), (ROOT/'.ci'/'run').read_text()
    assert len(cmds) == 2, cmds
    for c in cmds: assert c in ci, f'.ci/run does not run the README command: {c}'
