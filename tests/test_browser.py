"""The widget in a real JupyterLab and a real Notebook 7, driven by a real Chromium.

What only a browser shows: that the widget renders (no "Error displaying widget"),
that dragging a slider re-runs the stage and redraws the figure, that the epoch
scrubber moves the line and the point on the loss surface, that the controls, the
figure and the numbers sit side by side at 1280 px and stack on a narrow screen,
and that an exported notebook shows its figures offline.  The time from a drag to
the new picture is measured in the page and written to
``test-artifacts/browser-latency-*.json`` (reported, never asserted: the machine
is shared).  Screenshots go to ``test-artifacts/``.

Needs Debian's Chromium at /usr/bin/chromium (``make browser-deps`` installs it
as root).  Without it the tests skip and say so, except in CI
(``LINREG_REQUIRE_BROWSER=1``), where a skip would hide a gap, so they fail.
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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FrontEnd:
    """A Jupyter front end: how to start its server and where the notebook opens."""

    name: str
    module: str
    app_config: str  # the traitlets class of its application
    path: str  # URL path of the notebook, after the server's address


LAB = FrontEnd("jupyterlab", "jupyterlab", "LabApp", "/lab/tree/{name}")
NOTEBOOK7 = FrontEnd("notebook7", "notebook", "JupyterNotebookApp", "/notebooks/{name}")


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


def _write_config(root: Path, env: dict[str, str], port: int, front: FrontEnd) -> Path:
    notebooks = root / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOK, notebooks / NOTEBOOK.name)  # autosave rewrites it: never the original
    settings = root / "lab" / "user-settings"
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    app = {"expose_app_in_browser": True, "workspaces_dir": str(root / "lab" / "workspaces"),
           "user_settings_dir": str(settings)}
    if front is LAB:
        app.update({"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"})
    config = {
        "ServerApp": {"ip": "127.0.0.1", "port": port, "port_retries": 0, "open_browser": False,
                      "allow_root": True, "disable_check_xsrf": True, "root_dir": str(notebooks)},
        "IdentityProvider": {"token": ""},
        front.app_config: app,
    }
    config_dir = Path(env["JUPYTER_CONFIG_DIR"])
    for name in ("jupyter_server_config.json", "jupyter_lab_config.json", "jupyter_notebook_config.json"):
        (config_dir / name).write_text(json.dumps(config))
    return notebooks


@contextlib.contextmanager
def _server(root: Path, front: FrontEnd) -> Iterator[tuple[str, Path]]:
    env = _isolated_env(root)
    port = _free_port()
    _write_config(root, env, port, front)
    log = root / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", front.module], env=env, cwd=root, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_MS / 1000
        while True:
            if server.poll() is not None:
                pytest.fail(f"{front.name} exited ({server.returncode}):\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/api/status",
                                                                      timeout=5) as response:
                if response.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"{front.name} did not answer on {url}:\n{log.read_text()[-3000:]}")
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


@contextlib.contextmanager
def _page(width: int = 1280, height: int = 1100) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                     timeout=WAIT_MS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=2)
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


def _open_and_run_all(page: Any, url: str, front: FrontEnd) -> None:
    page.goto(url + front.path.format(name=NOTEBOOK.name), timeout=WAIT_MS)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=WAIT_MS)
    page.evaluate(
        "(ms) => Promise.race([Promise.all([window.jupyterapp.started, window.jupyterapp.restored]),"
        " new Promise((_, fail) => setTimeout(() => fail(new Error('the app did not start')), ms))])",
        WAIT_MS)
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " const k = w && w.sessionContext && w.sessionContext.session"
        " && w.sessionContext.session.kernel; return !!k && k.status === 'idle'; }", timeout=WAIT_MS)
    page.evaluate(  # a lecture's screen: JupyterLab's file browser closed
        "() => { const shell = window.jupyterapp.shell;"
        " if (shell.leftCollapsed === false) { shell.collapseLeft(); } }")
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function(
        "() => { const img = document.querySelector('.linreg-widget img.linreg-fit');"
        " return img !== null && img.naturalWidth > 0; }", timeout=WAIT_MS)


def _watch_images(page: Any) -> None:
    """Record in the page when each figure's picture changes (``window.linregChanges``) and
    when the mouse moved with a button down (``window.linregInputs``)."""
    page.evaluate(
        "() => { window.linregChanges = []; window.linregInputs = [];"
        " if (!window.linregListening) { window.linregListening = true;"
        "   for (const kind of ['pointermove', 'pointerup']) document.addEventListener(kind, e => {"
        "     if (e.buttons || kind === 'pointerup') window.linregInputs.push(performance.now()); },"
        "     true); }"
        " const observer = new MutationObserver(records => { for (const r of records)"
        "   window.linregChanges.push({view: r.target.className, at: performance.now()}); });"
        " for (const img of document.querySelectorAll('.linreg-widget img'))"
        "   observer.observe(img, {attributes: true, attributeFilter: ['src']}); }")


def _slider(page: Any, label: str) -> Any:
    return page.locator(".linreg-widget .widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(f"^{re.escape(label)}$"))).first


def _drag(page: Any, label: str, dx: float) -> float:
    """Drag the handle of the slider labelled ``label`` by ``dx`` px; the page's time at the start."""
    handle = _slider(page, label).locator(".noUi-handle").first
    handle.scroll_into_view_if_needed(timeout=WAIT_MS)
    box = handle.bounding_box(timeout=WAIT_MS)
    assert box is not None, f"the {label!r} slider has no handle on screen"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    started = float(page.evaluate("() => performance.now()"))
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(x + dx * step / 5, y)
    page.mouse.up()
    return started


def _status(page: Any) -> str:
    return str(page.locator(".linreg-widget .linreg-info").first.inner_text(timeout=WAIT_MS))


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box(timeout=WAIT_MS)
    assert box is not None, f"{selector} is not on screen"
    return dict(box)


def _check_side_by_side(page: Any) -> None:
    controls, figures, info = (_box(page, f".linreg-widget .linreg-{part}")
                               for part in ("controls", "figures", "info"))
    assert controls["x"] + controls["width"] <= figures["x"] + 1
    assert figures["x"] + figures["width"] <= info["x"] + 1, (figures, info)
    assert abs(controls["y"] - info["y"]) < 2, "the numbers are not beside the figure"
    img = page.locator(".linreg-widget img.linreg-fit").first
    shown, natural = img.evaluate("(i) => [i.getBoundingClientRect().width, i.naturalWidth]")
    assert natural >= 2 * shown - 1, "the figure is upscaled: blurry on this screen"
    text_box = _box(page, ".linreg-widget .linreg-controls")
    for value_box in page.locator(".linreg-widget .linreg-value").all():
        box = value_box.bounding_box()
        assert box is not None and box["x"] + box["width"] <= text_box["x"] + text_box["width"] + 1


def _check_stacked(page: Any) -> None:
    controls, figures, info = (_box(page, f".linreg-widget .linreg-{part}")
                               for part in ("controls", "figures", "info"))
    assert controls["y"] + controls["height"] <= figures["y"] + 1 <= info["y"] + 1


def _drag_reruns(page: Any, front: FrontEnd) -> dict[str, Any]:
    """Drag the learning rate: the stage runs again; the time to the last new picture."""
    first = _status(page)
    _watch_images(page)
    _drag(page, "learning rate", -60)
    readout = _slider(page, "learning rate").locator("xpath=..").locator(".linreg-value input")
    page.wait_for_function(
        "(el) => { const lr = el.value.trim(); const info = document.querySelector('.linreg-widget "
        ".linreg-info'); return info.innerText.includes('--lr ' + lr + '\\n') || "
        "info.innerText.trimEnd().endsWith('--lr ' + lr); }",
        arg=readout.element_handle(timeout=WAIT_MS), timeout=WAIT_MS)
    assert _status(page) != first
    changes = page.evaluate("() => window.linregChanges")
    fit = [c["at"] for c in changes if "linreg-fit" in c["view"]]
    assert fit, "dragging the slider did not redraw the fit"
    return {"front_end": front.name, "drag_to_last_picture_ms": round(max(fit) - _last_input(page), 1),
            "pictures_during_drag": len(fit)}


def _last_input(page: Any) -> float:
    return float(page.evaluate("() => Math.max(...window.linregInputs)"))


def _scrub(page: Any) -> dict[str, Any]:
    """Drag the epoch scrubber: the fit's line moves; each step's time to its new picture."""
    _watch_images(page)
    _drag(page, "epoch", -300)
    page.wait_for_function(
        "() => window.linregChanges.some(c => c.view.includes('linreg-fit'))", timeout=WAIT_MS)
    scrubber = _slider(page, "epoch")
    assert int(scrubber.locator(".widget-readout").inner_text(timeout=WAIT_MS)) < 1000
    steps = []
    for _ in range(6):  # one short move at a time, as a lecturer replays a run
        page.wait_for_timeout(400)  # the last move's pictures have arrived (bounded, not asserted)
        seen = int(page.evaluate("() => window.linregChanges.length"))
        _drag(page, "epoch", 12)
        page.wait_for_function("(n) => window.linregChanges.length > n", arg=seen, timeout=WAIT_MS)
        page.wait_for_timeout(300)  # the step's last picture (bounded, not asserted)
        steps.append(float(page.evaluate("() => window.linregChanges.at(-1).at")) - _last_input(page))
    steps.sort()
    return {"scrub_step_to_picture_ms": [round(s, 1) for s in steps],
            "scrub_step_median_ms": round(steps[len(steps) // 2], 1)}


def _scrub_surface(page: Any) -> None:
    page.locator(".linreg-widget .lm-TabBar-tab", has_text="surface").first.click(timeout=WAIT_MS)
    page.wait_for_function(
        "() => { const img = document.querySelector('.linreg-widget img.linreg-surface');"
        " return img !== null && img.offsetWidth > 0 && img.naturalWidth > 0; }", timeout=WAIT_MS)
    _watch_images(page)
    _drag(page, "epoch", 200)
    page.wait_for_function(
        "() => window.linregChanges.some(c => c.view.includes('linreg-surface'))", timeout=WAIT_MS)


def _settle(page: Any) -> None:
    """Wait (at most 10 s) until no picture has changed for 0.6 s: the last frame is in."""
    page.wait_for_function(
        "() => { const c = window.linregChanges; const last = c.length ? c.at(-1).at : 0;"
        " return performance.now() - last > 600; }", timeout=10_000, polling=100)


def _no_errors(page: Any, errors: list[str]) -> None:
    text = page.locator("body").inner_text(timeout=WAIT_MS)
    assert "Error displaying widget" not in text
    assert page.locator(".linreg-widget .linreg-error").count() == 0
    assert not errors, f"errors in the page: {errors}"


def _check_saved_notebook(page: Any, path: Path) -> None:
    """Save the notebook from the front end: the file keeps a static copy with the figures."""
    import nbformat

    before = path.stat().st_mtime_ns
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    deadline = time.monotonic() + WAIT_MS / 1000
    while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.2)
    nb = nbformat.read(path, as_version=4)
    copies = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "linreg-static-copy" in o.get("data", {}).get("text/html", "")]
    assert len(copies) == 1 and copies[0].data["text/html"].count("data:image/png;base64,") == 3


def _widget_in(front: FrontEnd, root: Path) -> dict[str, Any]:
    _require_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with _server(root, front) as (url, log), _page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            _open_and_run_all(page, url, front)
            print(f"page errors while {front.name} started: {errors}")
            errors.clear()  # from here on, what the widget does
            assert "module" in _status(page) and "1.0235" in _status(page)
            _check_side_by_side(page)
            widget = page.locator(".linreg-widget").first
            widget.screenshot(path=str(ARTIFACTS / f"widget-{front.name}-1280.png"), timeout=WAIT_MS)
            measured = _drag_reruns(page, front)
            measured.update(_scrub(page))
            _scrub_surface(page)
            _settle(page)
            _no_errors(page, errors)
            widget.screenshot(path=str(ARTIFACTS / f"widget-{front.name}-surface.png"), timeout=WAIT_MS)
            _check_saved_notebook(page, root / "notebooks" / NOTEBOOK.name)
            page.set_viewport_size({"width": 640, "height": 1800})
            page.wait_for_timeout(300)
            _check_stacked(page)
            widget.screenshot(path=str(ARTIFACTS / f"widget-{front.name}-narrow.png"), timeout=WAIT_MS)
        except Exception:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / f"widget-{front.name}-failure.png"), timeout=10_000)
            print(log.read_text()[-5000:])
            raise
    (ARTIFACTS / f"browser-latency-{front.name}.json").write_text(json.dumps(measured, indent=2))
    print(json.dumps(measured))
    return measured


@pytest.mark.changes_session("random")  # Playwright draws from Python's generator
def test_the_widget_renders_reruns_and_replays_in_jupyterlab(tmp_path: Path) -> None:
    measured = _widget_in(LAB, tmp_path)
    assert measured["pictures_during_drag"] >= 1 and len(measured["scrub_step_to_picture_ms"]) == 6


@pytest.mark.changes_session("random")  # Playwright draws from Python's generator
def test_the_widget_renders_reruns_and_replays_in_notebook_7(tmp_path: Path) -> None:
    measured = _widget_in(NOTEBOOK7, tmp_path)
    assert measured["pictures_during_drag"] >= 1 and len(measured["scrub_step_to_picture_ms"]) == 6


@contextlib.contextmanager
def _voila(root: Path) -> Iterator[tuple[str, Path]]:
    """Voila serving the widget notebook as a dashboard (no code, only outputs)."""
    env = _isolated_env(root)
    notebooks = root / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOK, notebooks / NOTEBOOK.name)
    port = _free_port()
    log = root / "voila.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "voila", NOTEBOOK.name, f"--port={port}",
                                   "--no-browser", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"],
                                  env=env, cwd=notebooks, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}/", log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.mark.changes_session("random")  # Playwright draws from Python's generator
def test_the_widget_renders_and_reruns_in_a_voila_dashboard(tmp_path: Path) -> None:
    _require_chromium()
    pytest.importorskip("voila", reason="Voila is not installed (pip install voila)")
    ARTIFACTS.mkdir(exist_ok=True)
    with _voila(tmp_path) as (url, log), _page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            deadline = time.monotonic() + WAIT_MS / 1000
            while True:  # Voila answers once its server is up; the page renders as the kernel runs
                with contextlib.suppress(Exception):
                    page.goto(url, timeout=WAIT_MS)
                    break
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
            page.wait_for_function(
                "() => { const img = document.querySelector('.linreg-widget img.linreg-fit');"
                " return img !== null && img.naturalWidth > 0; }", timeout=WAIT_MS)
            assert "1.0235" in _status(page)
            _check_side_by_side(page)
            measured = _drag_reruns(page, FrontEnd("voila", "voila", "Voila", "/"))
            measured.update(_scrub(page))
            _settle(page)
            _no_errors(page, errors)
            page.locator(".linreg-widget").first.screenshot(path=str(ARTIFACTS / "widget-voila.png"),
                                                            timeout=WAIT_MS)
        except Exception:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / "widget-voila-failure.png"), timeout=10_000)
            print(log.read_text()[-5000:])
            raise
    (ARTIFACTS / "browser-latency-voila.json").write_text(json.dumps(measured, indent=2))
    assert measured["pictures_during_drag"] >= 1


@pytest.mark.changes_session("random")  # Playwright draws from Python's generator
def test_an_exported_notebook_shows_the_widgets_figures_offline(tmp_path: Path) -> None:
    _require_chromium()
    out = tmp_path / "widget.html"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    for args in (["--to", "notebook", "--execute", "--output", str(tmp_path / "executed.ipynb")],
                 ["--to", "html", "--output", str(out)]):
        source = NOTEBOOK if "--execute" in args else tmp_path / "executed.ipynb"
        subprocess.run([sys.executable, "-m", "nbconvert", *args, str(source)], check=True, env=env,
                       capture_output=True, timeout=300, cwd=tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    with _page(width=1280, height=1000) as page:
        asked: list[str] = []

        def offline(route: Any) -> None:
            asked.append(route.request.url)
            route.abort()

        page.route(re.compile(r"^https?://"), offline)  # no network: no widget scripts from a CDN
        page.goto(out.as_uri(), timeout=WAIT_MS)
        copy = page.locator(".linreg-static-copy").first
        copy.wait_for(state="visible", timeout=WAIT_MS)
        sizes = copy.locator("img").evaluate_all("(imgs) => imgs.map(i => i.naturalWidth)")
        assert len(sizes) == 3 and min(sizes) > 0
        assert "1.0235" in copy.inner_text(timeout=WAIT_MS)
        copy.screenshot(path=str(ARTIFACTS / "widget-exported-offline.png"), timeout=WAIT_MS)
    assert any("jupyter" in url or "unpkg" in url or "jsdelivr" in url for url in asked)
