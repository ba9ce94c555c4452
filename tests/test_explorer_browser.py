"""The explorer in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Skips, saying why, when Playwright or the browser is missing (``make test`` installs the
browser with apt where it can). Screenshots go to the test's temporary folder; with
``SCRATCHNET_SCREENSHOTS=docs`` they replace docs/explorer*.png.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from explorer_helpers import copy_run, one_more_epoch, serving, trained_run

CHROMIUM = os.environ.get("SCRATCHNET_CHROMIUM", "/usr/bin/chromium")
DOCS = Path(__file__).resolve().parent.parent / "docs"

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install -e '.[test]'")
if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
    pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install "
                f"chromium; make test does so when run as root) or set SCRATCHNET_CHROMIUM",
                allow_module_level=True)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_run(tmp_path_factory.mktemp("explorer-browser"))


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        # Never `playwright install`: the system browser is the one under test.
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


@contextlib.contextmanager
def explorer_page(page, source: Path, **options):
    """Serve ``source`` and open the page; no script errors or failed requests meanwhile."""
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    with serving(source, **options) as server:
        page.goto(server.url)
        page.wait_for_selector("body[data-predictions]")   # the blank pad, predicted
        yield server
        page.goto("about:blank")       # stops the page's polling before the server goes
    assert errors == [], errors


def screenshot(page, name: str, tmp_path: Path) -> Path:
    target = DOCS if os.environ.get("SCRATCHNET_SCREENSHOTS") == "docs" else tmp_path
    path = target / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def stroke(page, points: list[tuple[float, float]], steps: int = 12) -> None:
    """One mouse stroke through ``points``, in pad coordinates (0..280)."""
    page.locator("#pad").scroll_into_view_if_needed()
    box = page.locator("#pad").bounding_box()

    def at(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * box["width"] / 280, box["y"] + y * box["height"] / 280
    page.mouse.move(*at(*points[0]))
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for i in range(1, steps + 1):
            page.mouse.move(*at(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps))
    page.mouse.up()


def settled_prediction(page, before: int) -> int:
    """The digit once every request for the drawing has come back (``before``: the count of
    predictions before the drawing)."""
    page.wait_for_function(f"""() => !document.body.dataset.busy
        && Number(document.body.dataset.predictions) > {before}""", timeout=60_000)
    return int(page.evaluate("document.body.dataset.digit"))


def predictions(page) -> int:
    return int(page.evaluate("document.body.dataset.predictions"))


LAYER_CHECK = """() => [...document.querySelectorAll('.layer-card')].map((card) => {
    const canvases = [...card.querySelectorAll('canvas')];
    const inked = canvases.filter((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 4; i < d.length; i += 4)
            if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return true;
        return false; }).length;
    return {name: card.dataset.layer, rendered: card.dataset.rendered,
            canvases: canvases.length, inked};
})"""


def test_a_seven_drawn_with_the_mouse_is_read_as_seven(page, run_dir: Path,
                                                        tmp_path: Path) -> None:
    with explorer_page(page, run_dir, dead_samples=500):
        before = predictions(page)
        stroke(page, [(70, 60), (210, 60), (120, 232)])
        assert settled_prediction(page, before) == 7
        count = page.evaluate("document.body.dataset.predictions")
        assert page.inner_text("#digit") == "7"
        layers = page.evaluate(LAYER_CHECK)
        import scratchnet
        model = scratchnet.load_model(run_dir / "model.snet")
        assert [layer["name"] for layer in layers] == [layer.name for layer in model.layers]
        for view, layer in zip(layers, model.layers):
            assert view["rendered"] == count, view       # drawn for this very prediction
            shape = layer.output_shape
            assert view["canvases"] == (shape[-1] if len(shape) == 3 else 1), view
            assert view["inked"] >= 1, view              # not a blank view
        assert page.locator("#filters canvas").count() == 32
        assert page.locator(".dead-badge").count() >= 1  # this small model has dead units
        top = page.locator(".bar.top .label").inner_text()
        assert top == "7"
        page.wait_for_selector("body[data-confusion]")
        screenshot(page, "explorer.png", tmp_path)


def test_a_one_drawn_with_a_finger_is_read_as_one(page, run_dir: Path) -> None:
    with explorer_page(page, run_dir, dead_samples=100):
        box = page.locator("#pad").bounding_box()
        cdp = page.context.new_cdp_session(page)
        before = predictions(page)
        x = box["x"] + box["width"] / 2
        points = [box["y"] + box["height"] * (0.15 + 0.7 * i / 20) for i in range(21)]
        cdp.send("Input.dispatchTouchEvent",
                 {"type": "touchStart", "touchPoints": [{"x": x, "y": points[0]}]})
        for y in points[1:]:
            cdp.send("Input.dispatchTouchEvent",
                     {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        assert settled_prediction(page, before) == 1


def test_run_view_confusion_cells_and_doctor(page, run_dir: Path, tmp_path: Path) -> None:
    with explorer_page(page, run_dir, dead_samples=100):
        page.wait_for_selector("body[data-confusion]")
        assert "finished" in page.inner_text("#run-status")
        assert "2 of 2 epochs" in page.inner_text("#run-line")
        cell = page.locator('#confusion td[data-true="7"][data-predicted="2"]')
        count = int(cell.inner_text())
        assert count > 0
        cell.click()
        page.wait_for_function(f"() => document.querySelectorAll('#cell-digits canvas')"
                               f".length === {min(count, 64)}")
        assert page.inner_text("#cell-title").startswith("true 7, predicted 2")
        page.click("#doctor-run")
        page.wait_for_selector("body[data-doctor]", timeout=120_000)
        assert "error(s)" in page.inner_text("#doctor")
        before = predictions(page)
        stroke(page, [(70, 60), (210, 60), (120, 232)])
        assert settled_prediction(page, before) == 7
        page.locator("#run-section").scroll_into_view_if_needed()
        screenshot(page, "explorer-run.png", tmp_path)


def test_the_page_follows_new_epochs_live(page, run_dir: Path, tmp_path: Path) -> None:
    import json

    run = copy_run(run_dir, tmp_path / "live")
    for name in ("evaluation.json", "history.json"):
        (run / name).unlink()
    settings = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**settings, "epochs": 4}))
    with explorer_page(page, run, dead_samples=50):
        before = predictions(page)
        page.wait_for_function("() => document.querySelector('#run-line').textContent"
                               ".includes('2 of 4 epochs')")
        assert "training" in page.inner_text("#run-status")
        one_more_epoch(run)
        page.wait_for_function("() => document.querySelector('#run-line').textContent"
                               ".includes('3 of 4 epochs')", timeout=20_000)
        page.wait_for_function("() => document.querySelector('#model-line').textContent"
                               ".includes('3 epochs trained')", timeout=20_000)
        page.wait_for_function(f"() => Number(document.body.dataset.predictions) > {before}",
                               timeout=20_000)     # the drawing is predicted again
