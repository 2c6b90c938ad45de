"""The README's screenshots, made from the real package so that they stay true.

    .venv/bin/python docs/screenshots.py        # writes docs/images/*.png

Each picture is what a user sees: the outputs of real ``%%linreg`` cells in a real
IPython shell, laid out as a notebook shows them and photographed by Debian's
Chromium (``make browser-deps``), and the instructor widget in a real JupyterLab
(the same set-up as ``tests/test_browser.py``).
"""

from __future__ import annotations

import html
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

WRONG_AUTOGRAD = """for epoch in range(n_epochs):
    yhat = b + w * x_train_tensor
    loss = ((yhat - y_train_tensor) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        b -= lr * b.grad
        w -= lr * w.grad
"""

PAGE = """<!doctype html><html><head><meta charset='utf-8'><style>
body {{font-family: sans-serif; margin: 0; padding: 16px; background: white; width: {width}px}}
.cell {{border-left: 3px solid #1976d2; padding: 4px 12px; margin-bottom: 12px}}
.source {{font-family: monospace; background: #f5f5f5; padding: 8px; white-space: pre; font-size: 13px}}
.output {{padding: 8px 0}} .output img {{max-width: 100%}}
table {{border-collapse: collapse; font-size: 13px}} td, th {{padding: 2px 10px}}
</style></head><body>{cells}</body></html>"""


def _shell() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Shell(InteractiveShell):
        def enable_gui(self, gui: Any = None) -> None:
            return None

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = Shell.instance(config=config)
    ip.run_line_magic("load_ext", "linreg_magic")
    return ip


def _output_html(data: dict[str, Any]) -> str:
    if "image/png" in data:
        return f"<img src='data:image/png;base64,{data['image/png']}'/>"
    if "image/svg+xml" in data:
        return f"<div style='max-width:420px'>{data['image/svg+xml']}</div>"
    if "text/html" in data:
        return str(data["text/html"])
    return f"<pre>{html.escape(str(data.get('text/plain', '')))}</pre>"


def _cell(ip: Any, line: str, body: str | None = None, keep: Any = lambda data: True) -> str:
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        if body is None:
            ip.run_line_magic("linreg", line)
        else:
            ip.run_cell_magic("linreg", line, body)
    source = ("%linreg " + line) if body is None else ("%%linreg " + line + "\n" + body)
    outputs = "".join(_output_html(o.data) for o in captured.outputs if keep(o.data))
    return (f"<div class='cell'><div class='source'>{html.escape(source.rstrip())}</div>"
            f"<div class='output'>{outputs}</div></div>")


def _photograph(page_html: str, name: str, width: int) -> Path:
    from test_browser import _page

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.html"
        path.write_text(PAGE.format(width=width, cells=page_html), encoding="utf-8")
        with _page(width=width + 32, height=600) as page:
            page.goto(path.as_uri())
            target = IMAGES / f"{name}.png"
            page.locator("body").screenshot(path=str(target))
    return target


def _widget() -> Path:
    from test_browser import LAB, _open_and_run_all, _page, _server

    with tempfile.TemporaryDirectory() as tmp, _server(Path(tmp), LAB) as (url, _log), \
            _page(width=1280, height=1000) as page:
        _open_and_run_all(page, url, LAB)
        page.wait_for_timeout(500)
        target = IMAGES / "widget.png"
        page.locator(".linreg-widget").first.screenshot(path=str(target))
    return target


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    ip = _shell()
    made = [
        _photograph(_cell(ip, "--stage module --device cpu", "# the stage's own code\n",
                          keep=lambda data: "image/svg+xml" not in data), "stage", 900),
        _photograph(_cell(ip, "--stage optimizer --device cpu --lr 0.5 --show surface"), "surface", 560),
        _photograph(_cell(ip, "--stage autograd --device cpu", WRONG_AUTOGRAD,
                          keep=lambda data: "image/png" not in data and "image/svg+xml" not in data),
                    "verdict", 900),
        _widget(),
    ]
    for path in made:
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
