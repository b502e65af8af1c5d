"""The widgets in a real JupyterLab, in a real (headless) browser.

Starts JupyterLab on 127.0.0.1 (a free port, a random token, a temporary notebook folder and Jupyter config, so
nothing of the user's is read or written), opens a notebook in headless Chromium through Selenium, runs it, and
checks that the patch explorer, the episode explorer and the paint panel render, are drawn at their own pixel size
with no label cut, and redraw when a slider is dragged (the PNG behind each picture changes) or, in the paint panel,
when the mouse is dragged across the support's canvas (the canvas's pixels and the prediction picture change).
Everything started is stopped at the end, the kernel included.

The browser is Debian's `chromium` + `chromium-driver` (`.ci/run` installs them when absent); where neither
can be found the test skips with a message. Screenshots of the widgets go to a temporary folder, or, with
`QGNET_SCREENSHOTS=1`, to `figures/widget_patch_explorer.png`, `figures/widget_episode_explorer.png` and
`figures/widget_paint.png` (the README's pictures), so the plain test run leaves `git status` clean. The episode
explorer and the paint panel run on a tiny random ResNet-18 QGNet built in the notebook;
`QGNET_EXPLORER_CKPT=runs/demo` (relative to the repository) opens both on a trained checkpoint instead (how the
README's screenshots were made).
"""
import base64, hashlib, json, os, shutil, signal, socket, subprocess, sys, time, secrets, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = """\
import os, torch
torch.set_num_threads(1)
from qgnet_nb.widgets import patch_explorer
from qgnet_nb.explorer import episode_explorer
from qgnet_nb.paint import paint_panel
from qgnet_nb.models import build_model
print('KERNEL_PID', os.getpid())"""
PATCHES = """\
pe = patch_explorer(photos=('chelsea', 'coffee'), max_side=240, shared=False)
pe.add_class('qgnet-test-patches'); pe"""
EPISODES = """\
ckpt = os.environ.get('QGNET_EXPLORER_CKPT')
if ckpt: os.chdir(os.environ['QGNET_REPO']); ee = episode_explorer(ckpt, panel=220)   # a path relative to the repository
else:
    torch.manual_seed(0)
    net = build_model('qgnet', backbone='resnet18', weights=None, prior='random', bins=(1.0, 0.5, 0.25, 0.125))
    ee = episode_explorer(net, data='demo', size=64, panel=200)
ee.add_class('qgnet-test-episodes'); ee"""
PAINT = """\
ckpt = os.environ.get('QGNET_EXPLORER_CKPT')
if ckpt:                                           # the cwd is the repository (above); queries that hold a disc
    from qgnet_nb.demo_set import demo_root
    val = demo_root() / 'val' / 'images'
    pp = paint_panel(ckpt, images={n: val / f'{n}.jpg' for n in ('val_0000', 'val_0008', 'val_0017')}, max_side=240,
                     panel=150)
else:
    torch.manual_seed(0)
    pnet = build_model('qgnet', backbone='resnet18', weights=None, prior='random', bins=(1.0, 0.5, 0.25, 0.125))
    pp = paint_panel(pnet, max_side=240, panel=150, size=64)
pp.add_class('qgnet-test-paint'); pp"""


@pytest.fixture
def browser():
    "(Chromium, chromedriver, selenium.webdriver), or a skip saying what is missing."
    chrome = next((p for p in map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome')) if p), None)
    driver = shutil.which('chromedriver')
    if not (chrome and driver):
        pytest.skip("no Chromium and chromedriver found (Debian: apt-get install chromium chromium-driver); "
                    "the widgets were not tested in a browser")
    webdriver = pytest.importorskip(
        'selenium.webdriver', reason='selenium is in the dev extra: pip install -e ".[dev]"'
    )
    return chrome, driver, webdriver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _write_notebook(path: Path, kernel: str):
    cell = lambda src: {'cell_type': 'code', 'execution_count': None, 'id': secrets.token_hex(4), 'metadata': {},
                        'outputs': [], 'source': src}
    nb = {'cells': [cell(SETUP), cell(PATCHES), cell(EPISODES), cell(PAINT)], 'nbformat': 4, 'nbformat_minor': 5,
          'metadata': {'kernelspec': {'name': kernel, 'display_name': kernel, 'language': 'python'}}}
    path.write_text(json.dumps(nb))


def _jupyter_dirs(base: Path, kernel: str) -> dict:
    "A private Jupyter home: this Python as the kernel, every cell attached to the page, no news or update checks."
    k = base / 'data' / 'kernels' / kernel
    k.mkdir(parents=True)
    (k / 'kernel.json').write_text(
        json.dumps(
            {
                'argv': [sys.executable, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
                'display_name': kernel,
                'language': 'python',
            }
        )
    )
    settings = base/'settings'
    for name, value in {'notebook-extension/tracker': {'windowingMode': 'none'},
                        'apputils-extension/notification': {'fetchNews': 'false', 'checkForUpdates': False}}.items():
        f = settings / '@jupyterlab' / f'{name}.jupyterlab-settings'
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    for d in ('config', 'runtime', 'workspaces', 'ipython'): (base/d).mkdir()
    return dict(settings=settings, workspaces=base/'workspaces',
                env={'JUPYTER_DATA_DIR': str(base/'data'), 'JUPYTER_CONFIG_DIR': str(base/'config'),
                     'JUPYTER_RUNTIME_DIR': str(base/'runtime'), 'IPYTHONDIR': str(base/'ipython'),
                     'JUPYTER_PLATFORM_DIRS': '1'})


@pytest.fixture
def lab(browser, tmp_path):
    """A JupyterLab server on a free port with a token, serving a temporary folder; stopped (with its kernels)
    afterwards."""
    kernel = 'qgnet-widget-test'
    nbdir = tmp_path / 'notebooks'
    nbdir.mkdir()
    _write_notebook(nbdir/'widgets.ipynb', kernel)
    j = _jupyter_dirs(tmp_path/'jupyter', kernel)
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        **j['env'],
        'QGNET_REPO': str(ROOT),
        'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep),
        'OMP_NUM_THREADS': '1',
        'MPLBACKEND': 'Agg',
    }
    cmd = [
        sys.executable,
        '-m',
        'jupyter',
        'lab',
        '--no-browser',
        '--ip=127.0.0.1',
        f'--port={port}',
        '--port-retries=0',
        f'--IdentityProvider.token={token}',
        f'--ServerApp.root_dir={nbdir}',
        '--LabApp.expose_app_in_browser=True',
        f'--LabApp.user_settings_dir={j["settings"]}',
        f'--LabApp.workspaces_dir={j["workspaces"]}',
        '--ServerApp.allow_root=True',
        '--LabApp.news_url=',
    ]
    log = open(tmp_path/'lab.log', 'w')
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            if proc.poll() is not None: break
            try:
                with urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2) as r:
                    if r.status == 200: break
            except OSError: time.sleep(0.5)
        else: pytest.fail('JupyterLab did not answer within 60 s:\n' + (tmp_path/'lab.log').read_text()[-3000:])
        if proc.poll() is not None: pytest.fail('JupyterLab exited:\n' + (tmp_path/'lab.log').read_text()[-3000:])
        info = dict(url=url, token=token, log=tmp_path/'lab.log', tmp=tmp_path)
        yield info
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)                     # the server shuts its kernels down on SIGTERM
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()
    pid = info.get('kernel_pid')                               # the kernel runs in a session of its own: check it ended
    if pid and _wait(lambda: not _alive(pid), 10, 'the kernel to exit', raise_=False) is None:
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f'the kernel (pid {pid}) outlived the JupyterLab server; killed it')


def _alive(pid: int) -> bool:
    try: os.kill(pid, 0)
    except ProcessLookupError: return False
    with open(f'/proc/{pid}/stat') if os.path.exists(f'/proc/{pid}/stat') else open(os.devnull) as f:
        return ') Z ' not in f.read()                          # a zombie has exited


def _wait(fn, timeout: float, what: str, poll: float = 0.25, raise_: bool = True):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        v = fn()
        if v: return v
        time.sleep(poll)
    if raise_: raise AssertionError(f'timed out after {timeout:.0f} s waiting for {what}')


_PNG_OF = """
const img = document.querySelectorAll(arguments[0])[arguments[1]], done = arguments[arguments.length - 1];
if (!img || !img.src || !img.complete || !img.naturalWidth) { done(null); return; }
fetch(img.src).then(r => r.blob()).then(b => { const f = new FileReader(); f.onload = () => done([img.src, f.result]); f.readAsDataURL(b); })
  .catch(e => done(null));"""


def _png(d, selector, k=0):
    "(src, sha1 of the PNG bytes) of the k-th image matching `selector`, once it has loaded; else None."
    r = d.execute_async_script(_PNG_OF, selector, k)
    return None if r is None else (r[0], hashlib.sha1(base64.b64decode(r[1].split(',', 1)[1])).hexdigest())


def _drag(d, panel, label, dx):
    "Drag the handle of the slider labelled `label` inside `panel` by dx pixels, as a user does."
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    sliders = [s for s in d.find_elements(By.CSS_SELECTOR, f'{panel} .widget-slider')
               if s.find_element(By.CSS_SELECTOR, '.widget-label').text.strip() == label]
    assert len(sliders) == 1, f'expected one slider {label!r} in {panel}, found {len(sliders)}'
    handle = sliders[0].find_element(By.CSS_SELECTOR, '.noUi-handle')
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", handle)
    readout = lambda: sliders[0].find_element(By.CSS_SELECTOR, '.widget-readout').text
    before = readout()
    ActionChains(d).click_and_hold(handle).move_by_offset(dx // 2, 0).move_by_offset(
        dx - dx // 2, 0
    ).release().perform()
    _wait(lambda: readout() != before, 5, f'the {label} slider to move')
    return before, readout()


_CANVAS = """
const c = document.querySelector(arguments[0]);
return c && c.width ? c.toDataURL('image/png') : null;"""


def _canvas(d, selector):
    "sha1 of the pixels of the canvas matching `selector` (as a PNG), or None before it has a size."
    r = d.execute_script(_CANVAS, selector)
    return None if r is None else hashlib.sha1(r.encode()).hexdigest()


def _stroke(d, selector, points):
    "Press the mouse at the first of `points` (pixels from the canvas's top-left corner), drag through the rest, release."
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    el = d.find_element(By.CSS_SELECTOR, selector)
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
    w, h = el.size['width'], el.size['height']
    chain = ActionChains(d).move_to_element_with_offset(el, points[0][0] - w // 2, points[0][1] - h // 2)
    chain = chain.click_and_hold()
    for (xa, ya), (xb, yb) in zip(points, points[1:]): chain = chain.move_by_offset(xb - xa, yb - ya).pause(0.05)
    chain.release().perform()


def _check_paint(d, shots, times):
    """The paint panel: a drag across the canvas paints the support's mask (the canvas's pixels change) and the
    model answers (the prediction picture's PNG changes), with no error."""
    from selenium.webdriver.common.by import By
    canvas, img = '.qgnet-test-paint canvas', '.qgnet-test-paint img'
    c0, p0 = _canvas(d, canvas), _png(d, img)
    assert c0 and p0, 'the paint panel shows its canvas and its prediction picture'
    status = lambda: d.find_elements(By.CSS_SELECTOR, '.qgnet-test-paint .widget-html')[-1].text
    assert 'paint the object' in status(), status()
    t0 = time.perf_counter()
    _stroke(d, canvas, [(45, 95), (65, 105), (80, 115), (60, 125)])          # inside the disc of the support val_0000
    c1 = _wait(lambda: (h := _canvas(d, canvas)) != c0 and h, 10, 'the painted stroke on the canvas')
    p1 = _wait(lambda: (p := _png(d, img)) and p[1] != p0[1] and p, 60, 'the prediction picture to change')
    times['paint_react'] = time.perf_counter() - t0
    assert c1 != c0 and p1[1] != p0[1], 'a stroke, the same canvas or picture'
    _wait(lambda: 'answered' in status(), 10, 'the status to report the answer')
    assert not _errors(d), _errors(d)
    _screenshot(d, '.qgnet-test-paint', shots/'widget_paint.png')


_LAYOUT = """
const p = document.querySelector(arguments[0]);
const imgs = [...p.querySelectorAll('img')].map(i => [i.naturalWidth, i.getBoundingClientRect().width]);
const cut = [...p.querySelectorAll('.widget-label')].filter(l => l.textContent.trim() && l.scrollWidth > l.clientWidth + 1)
             .map(l => l.textContent);
return {imgs, cut, page: document.querySelector('.jp-OutputArea-output').getBoundingClientRect().width};"""


def _screenshot(d, selector, path):
    "A PNG of the widget alone, scrolled to the top of the notebook so that no toolbar or status bar covers it."
    from selenium.webdriver.common.by import By
    el = d.find_element(By.CSS_SELECTOR, selector)
    d.execute_script("arguments[0].scrollIntoView({block: 'start'})", el)
    time.sleep(0.3)
    el.screenshot(str(path))


def _errors(d):
    from selenium.webdriver.common.by import By

    return [
        e.text
        for e in d.find_elements(
            By.CSS_SELECTOR, '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        )
        if 'Traceback' in e.text or 'Error' in e.text
    ]


def test_widgets_render_and_react(browser, lab):
    chrome, driver_path, webdriver = browser
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    shots = ROOT/'figures' if os.environ.get('QGNET_SCREENSHOTS') == '1' else lab['tmp']/'screenshots'
    shots.mkdir(exist_ok=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for a in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--window-size=1400,1800',
              '--force-device-scale-factor=1', '--hide-scrollbars'):
        opts.add_argument(a)
    times, t0 = {}, time.perf_counter()
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    kernel_pid = None
    try:
        d.set_script_timeout(30)
        d.get(f"{lab['url']}/lab/tree/widgets.ipynb?token={lab['token']}")
        status = """const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                    return k ? k.status : null;"""
        _wait(
            lambda: d.execute_script(status) == 'idle', 90, 'the notebook and its kernel (see ' + str(lab['log']) + ')'
        )
        times['lab_and_kernel'] = time.perf_counter() - t0
        t1 = time.perf_counter()
        d.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        def rendered():
            if _errors(d): raise AssertionError('a cell failed:\n' + '\n'.join(_errors(d)))
            return all(
                _png(d, f'.{p} img', k)
                for p, n in (('qgnet-test-patches', 1), ('qgnet-test-episodes', 2), ('qgnet-test-paint', 1))
                for k in range(n)
            )
        _wait(rendered, 120, 'the widgets to render')
        times['render'] = time.perf_counter() - t1
        out = d.find_element(By.CSS_SELECTOR, '.jp-OutputArea-output').text
        kernel_pid = int(out.split('KERNEL_PID', 1)[1].split()[0]) if 'KERNEL_PID' in out else None
        lab['kernel_pid'] = kernel_pid

        for panel in ('.qgnet-test-patches', '.qgnet-test-episodes', '.qgnet-test-paint'):
            lay = d.execute_script(_LAYOUT, panel)
            for natural, shown in lay['imgs']:
                assert abs(natural - shown) <= 1 or (natural > lay['page'] and shown <= lay['page']), \
                    f'{panel}: a {natural}-px picture is drawn {shown:.0f} px wide (output area {lay["page"]:.0f} px)'
            assert not lay['cut'], f'{panel}: labels cut short: {lay["cut"]}'

        # the patch explorer: fewer SLIC segments -> another picture (waits compare the PNG bytes, not the src:
        # under load a redraw of the same picture can come first)
        sel = '.qgnet-test-patches img'
        before = _png(d, sel)
        t2 = time.perf_counter()
        moved = _drag(d, '.qgnet-test-patches', 'n_segments', 30)
        after = _wait(lambda: (p := _png(d, sel)) and p[1] != before[1] and p, 30, 'the patch picture to change')
        times['patches_react'] = time.perf_counter() - t2
        assert after[1] != before[1], f'n_segments {moved[0]} -> {moved[1]}: a new picture with the same bytes'
        _screenshot(d, '.qgnet-test-patches', shots/'widget_patch_explorer.png')

        # the episode explorer: the threshold redraws the recall study only; the episode reruns the model
        imgs = '.qgnet-test-episodes img'                 # 0: the episode picture, 1: the threshold picture
        v0, s0 = _png(d, imgs, 0), _png(d, imgs, 1)
        recall = lambda: [e.text for e in d.find_elements(By.CSS_SELECTOR, '.qgnet-test-episodes .widget-html')
                          if 'recall of prior' in e.text]
        r0 = recall()
        t3 = time.perf_counter()
        moved = _drag(d, '.qgnet-test-episodes', 'alpha', -30)
        s1 = _wait(lambda: (p := _png(d, imgs, 1)) and p[1] != s0[1] and p, 30, 'the threshold picture to change')
        times['alpha_react'] = time.perf_counter() - t3
        assert s1[1] != s0[1], f'alpha {moved[0]} -> {moved[1]}: a new threshold picture with the same bytes'
        _wait(lambda: recall() != r0, 10, 'the printed recall to follow alpha')
        assert f'alpha = {moved[1]}' in recall()[0], recall()
        assert _png(d, imgs, 0)[1] == v0[1], 'moving alpha must not redraw the episode picture'
        t4 = time.perf_counter()
        _drag(d, '.qgnet-test-episodes', 'episode', 60)
        v1 = _wait(lambda: (p := _png(d, imgs, 0)) and p[1] != v0[1] and p, 60, 'the episode picture to change')
        times['episode_react'] = time.perf_counter() - t4
        assert v1[1] != v0[1], 'another episode, the same picture'
        assert not _errors(d), _errors(d)
        _screenshot(d, '.qgnet-test-episodes', shots/'widget_episode_explorer.png')
        _check_paint(d, shots, times)
    finally:
        d.quit()
    times['total'] = time.perf_counter() - t0
    print('browser timings (s): ' + ', '.join(f'{k} {v:.1f}' for k, v in times.items()) + f'; screenshots in {shots}')
    for name in ('widget_patch_explorer.png', 'widget_episode_explorer.png', 'widget_paint.png'):
        assert (shots / name).stat().st_size > 0, name
    lab['kernel_pid'] = kernel_pid                   # the fixture checks, once the server is stopped, that it ended
