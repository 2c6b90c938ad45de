"""The widget in a real JupyterLab, driven by a real Chromium through Playwright.

What only a browser shows: that the widget renders (no "Error displaying
widget"), that dragging a slider re-runs the stage and redraws the figures, and
that the epoch scrubber and the Run button do what they say.  A screenshot goes
to ``test-artifacts/``.

Needs Debian's Chromium at /usr/bin/chromium (``make browser-deps`` installs it
as root).  Without it the test skips and says so, except in CI
(``LINREG_REQUIRE_BROWSER=1``), where a skip would hide a gap, so it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK = Path(__file__).parent / "notebooks" / "widget.ipynb"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WAIT_MS = 90_000  # the longest any one step may take (the first run imports torch)

pytestmark = pytest.mark.browser


def _require_chromium() -> None:
    if os.access(CHROMIUM, os.X_OK):
        return
    reason = (f"BROWSER TEST NOT RUN: no Chromium at {CHROMIUM}. Install it with `make browser-deps` "
              "(as root: apt-get install -y --no-install-recommends chromium)")
    if os.environ.get("LINREG_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; LINREG_REQUIRE_BROWSER=1 makes this a failure", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _isolated_env(root: Path) -> dict[str, str]:
    """Every place Jupyter, IPython and matplotlib write to, inside ``root``."""
    env = dict(os.environ)
    dirs = {"HOME": "home", "XDG_CONFIG_HOME": "xdg/config", "XDG_DATA_HOME": "xdg/data",
            "XDG_CACHE_HOME": "xdg/cache", "XDG_RUNTIME_DIR": "xdg/runtime",
            "JUPYTER_CONFIG_DIR": "jupyter/config", "JUPYTER_DATA_DIR": "jupyter/data",
            "JUPYTER_RUNTIME_DIR": "jupyter/runtime", "IPYTHONDIR": "ipython",
            "MPLCONFIGDIR": "matplotlib"}
    for name, sub in dirs.items():
        path = root / sub
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.pop("JUPYTER_PATH", None)
    env["MPLBACKEND"] = "Agg"
    return env


def _write_lab_config(root: Path, env: dict[str, str], port: int) -> Path:
    notebooks = root / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOK, notebooks / NOTEBOOK.name)  # autosave rewrites it: never the original
    settings = root / "lab" / "user-settings"
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    config = {
        "ServerApp": {"ip": "127.0.0.1", "port": port, "port_retries": 0, "open_browser": False,
                      "allow_root": True, "disable_check_xsrf": True, "root_dir": str(notebooks)},
        "IdentityProvider": {"token": ""},
        "LabApp": {"expose_app_in_browser": True, "workspaces_dir": str(root / "lab" / "workspaces"),
                   "user_settings_dir": str(settings), "news_url": None,
                   "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
    }
    config_dir = Path(env["JUPYTER_CONFIG_DIR"])
    for name in ("jupyter_server_config.json", "jupyter_lab_config.json"):
        (config_dir / name).write_text(json.dumps(config))
    return notebooks


@contextlib.contextmanager
def _jupyterlab(root: Path) -> Iterator[tuple[str, Path]]:
    env = _isolated_env(root)
    port = _free_port()
    _write_lab_config(root, env, port)
    log = root / "jupyterlab.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "jupyterlab"], env=env, cwd=root, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_MS / 1000
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited ({server.returncode}):\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/api/status",
                                                                      timeout=5) as response:
                if response.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer on {url}:\n{log.read_text()[-3000:]}")
            time.sleep(0.25)
        yield url, log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def _src(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.get_attribute("src", timeout=WAIT_MS))


def _wait_src_change(page: Any, selector: str, old: str, what: str) -> str:
    page.wait_for_function(
        "([sel, old]) => { const img = document.querySelector(sel);"
        " return img !== null && img.src !== '' && img.src !== old; }",
        arg=[selector, old], timeout=WAIT_MS)
    new = _src(page, selector)
    assert new != old, what
    return new


def _slider(page: Any, label: str) -> Any:
    return page.locator(".linreg-widget .widget-hslider").filter(
        has=page.locator(".widget-label", has_text=re.compile(f"^{re.escape(label)}$"))).first


def _drag_slider(page: Any, label: str, dx: float) -> None:
    """Drag the handle of the slider labelled ``label`` by ``dx`` pixels, as a mouse would."""
    handle = _slider(page, label).locator(".noUi-handle").first
    handle.scroll_into_view_if_needed(timeout=WAIT_MS)
    box = handle.bounding_box(timeout=WAIT_MS)
    assert box is not None, f"the {label!r} slider has no handle on screen"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(x + dx * step / 5, y)
    page.mouse.up()


@pytest.mark.changes_session("random")  # Playwright draws from Python's generator
def test_the_widget_runs_redraws_and_replays_in_jupyterlab(tmp_path: Path) -> None:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with _jupyterlab(tmp_path) as (url, log), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                     timeout=WAIT_MS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.set_default_timeout(WAIT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{url}/lab/tree/{NOTEBOOK.name}?reset", timeout=WAIT_MS)
            page.wait_for_function("() => window.jupyterapp !== undefined", timeout=WAIT_MS)
            page.evaluate(
                "(ms) => Promise.race([Promise.all([window.jupyterapp.started, window.jupyterapp.restored]),"
                " new Promise((_, fail) => setTimeout(() => fail(new Error('JupyterLab did not start')),"
                " ms))])", WAIT_MS)
            page.wait_for_function(
                "() => { const w = window.jupyterapp.shell.currentWidget;"
                " const k = w && w.sessionContext && w.sessionContext.session"
                " && w.sessionContext.session.kernel; return !!k && k.status === 'idle'; }",
                timeout=WAIT_MS)
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

            fit, loss = "img.linreg-fit", "img.linreg-loss"
            page.wait_for_selector(fit, state="visible", timeout=WAIT_MS)
            page.wait_for_function(
                "(sel) => { const img = document.querySelector(sel);"
                " return img !== null && img.src !== '' && img.naturalWidth > 0; }",
                arg=fit, timeout=WAIT_MS)
            first_fit, first_loss = _src(page, fit), _src(page, loss)
            summary = page.locator(".linreg-widget .linreg-summary").first.inner_text(timeout=WAIT_MS)
            assert "module" in summary and "1.0235" in summary

            _drag_slider(page, "learning rate", -60)  # a smaller learning rate: a slower fit
            moved_fit = _wait_src_change(page, fit, first_fit, "dragging the slider did not redraw the fit")
            _wait_src_change(page, loss, first_loss, "dragging the slider did not redraw the loss")
            lr = _slider(page, "learning rate").locator(".widget-readout").inner_text(timeout=WAIT_MS)
            page.wait_for_function(  # the run of the slider's last position is over
                "(lr) => document.querySelector('.linreg-widget').lastElementChild.innerText"
                ".includes('--lr ' + lr)", arg=lr.strip(), timeout=WAIT_MS)
            assert page.locator(".linreg-widget .linreg-summary").first.inner_text() != summary

            surface = "img.linreg-surface"
            # open the loss-surface tab: the scrubber moves its point too
            page.locator(".linreg-widget .lm-TabBar-tab", has_text="surface").first.click(timeout=WAIT_MS)
            page.wait_for_function(
                "(sel) => { const img = document.querySelector(sel);"
                " return img !== null && img.offsetWidth > 0 && img.naturalWidth > 0; }",
                arg=surface, timeout=WAIT_MS)
            moved_surface = _src(page, surface)

            _drag_slider(page, "epoch", -400)  # replay: back towards the first epochs
            replay_fit = _wait_src_change(page, fit, moved_fit, "the epoch scrubber did not move the fit")
            _wait_src_change(page, surface, moved_surface,
                             "the epoch scrubber did not move the point on the loss surface")
            scrubber = _slider(page, "epoch")
            assert int(scrubber.locator(".widget-readout").inner_text(timeout=WAIT_MS)) < 1000
            page.locator(".linreg-widget button.jupyter-button", has_text="Run").first.click(timeout=WAIT_MS)
            page.wait_for_function(  # the run is over: the scrubber is back at the end
                "() => { const w = document.querySelector('.linreg-widget');"
                " const r = [...w.querySelectorAll('.widget-hslider')].filter("
                "   s => s.querySelector('.widget-label').innerText === 'epoch')[0];"
                " return r.querySelector('.widget-readout').innerText === '1000'"
                "   && w.lastElementChild.innerText.includes('same as: %linreg'); }", timeout=WAIT_MS)
            assert _src(page, fit) != replay_fit, "Run did not redraw the fit at the last epoch"

            text = page.locator("body").inner_text(timeout=WAIT_MS)
            assert "Error displaying widget" not in text and "Error:" not in text
            assert page.locator(".linreg-widget .widget-html-content span[style*='b00020']").count() == 0
            widget = page.locator(".linreg-widget").first
            widget.evaluate("(node) => node.scrollIntoView({block: 'center'})")
            widget.screenshot(path=str(ARTIFACTS / "widget-jupyterlab.png"), timeout=WAIT_MS)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-page.png"), timeout=WAIT_MS)
            assert not errors, f"errors in the page: {errors}"
        except Exception:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / "widget-jupyterlab-failure.png"), timeout=10_000)
            print(log.read_text()[-5000:])
            raise
        finally:
            browser.close()
