"""The explorer without a browser: its adapters, its views, and its endpoints over HTTP."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from explorer_helpers import (
    canvas_payload,
    copy_run,
    decode,
    drawn_seven,
    get,
    one_more_epoch,
    request,
    serving,
    trained_run,
)

from scratchnet import images, layers, pretrained, saving
from scratchnet.explorer import adapters, views
from scratchnet.explorer.adapters import prepare_canvas, trace_layers
from scratchnet.explorer.session import Explorer, resolve_source
from scratchnet.model import Sequential


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_run(tmp_path_factory.mktemp("explorer"))


@pytest.fixture(scope="module")
def server(run_dir: Path):
    with serving(run_dir, dead_samples=300) as srv:
        yield srv


def tiny_cnn(last: str = "dense-softmax") -> Sequential:
    """Conv -> pool -> flatten -> dense, float64, ending as ``last`` says."""
    from scratchnet import backend
    backend.set_random_seed(3)
    stack = [layers.Conv2D(3, (3, 3), activation="relu", input_shape=(7, 7, 1)),
             layers.MaxPooling2D((2, 2)), layers.Flatten()]
    if last == "dense-softmax":
        stack.append(layers.Dense(4, activation="softmax"))
    elif last == "softmax-layer":
        stack += [layers.Dense(4), layers.Softmax()]
    elif last == "activation-layer":
        stack += [layers.Dense(4), layers.Activation("softmax")]
    else:
        stack.append(layers.Dense(4, activation="tanh"))
    model = Sequential(stack)
    for layer in model.layers:
        for key, value in layer.params.items():
            layer.params[key] = value.astype(np.float64)
            layer.grads[key] = np.zeros_like(layer.params[key])
    return model


# --- adapters ---------------------------------------------------------------------------------
def test_trace_layers_gives_every_layer_output_and_the_models_prediction(run_dir: Path) -> None:
    model = saving.load_model(run_dir / "model.snet")
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    outputs, saliency = trace_layers(model, x)
    assert saliency is None
    assert [o.shape[1:] for o in outputs] == [layer.output_shape for layer in model.layers]
    np.testing.assert_allclose(outputs[-1], model.predict(x), rtol=1e-5, atol=1e-6)
    # Dropout is the identity in inference: its view repeats its input.
    np.testing.assert_array_equal(outputs[3], outputs[2])


@pytest.mark.parametrize("last", ["dense-softmax", "softmax-layer", "activation-layer"])
def test_saliency_is_the_gradient_of_the_predicted_logit(last: str) -> None:
    model = tiny_cnn(last)
    x = np.random.default_rng(1).random((2, 7, 7, 1))
    outputs, saliency = trace_layers(model, x, saliency=True)
    predicted = outputs[-1].argmax(axis=1)
    dense = next(layer for layer in reversed(model.layers) if isinstance(layer, layers.Dense))

    def logit(sample: np.ndarray, k: int) -> float:
        h = sample[None]
        for layer in model.layers[:3]:
            h = layer(h)
        return float((h @ dense.params["kernel"] + dense.params["bias"])[0, k])

    eps = 1e-6
    for n in range(len(x)):
        numeric = np.zeros_like(x[n])
        for index in np.ndindex(x[n].shape):
            up, down = x[n].copy(), x[n].copy()
            up[index] += eps
            down[index] -= eps
            numeric[index] = (logit(up, predicted[n]) - logit(down, predicted[n])) / (2 * eps)
        np.testing.assert_allclose(saliency[n], numeric, rtol=1e-5, atol=1e-8)


def test_saliency_of_a_model_without_softmax_is_the_gradient_of_its_output() -> None:
    model = tiny_cnn("tanh")
    x = np.random.default_rng(2).random((1, 7, 7, 1))
    outputs, saliency = trace_layers(model, x, saliency=True)
    k = int(outputs[-1].argmax())
    eps, index = 1e-6, (3, 4, 0)
    up, down = x.copy(), x.copy()
    up[(0, *index)] += eps
    down[(0, *index)] -= eps
    numeric = (model.predict(up)[0, k] - model.predict(down)[0, k]) / (2 * eps)
    assert saliency[(0, *index)] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_prepare_canvas_crops_fits_20_pixels_and_centres_the_mass() -> None:
    canvas = np.zeros((140, 140), dtype=np.float32)
    canvas[10:50, 90:110] = 1.0            # a tall bar in the top-right corner, 40x20
    out = prepare_canvas(canvas)
    assert out.shape == (28, 28) and out.dtype == np.float32
    rows, cols = np.nonzero(out > 0.5)
    assert rows.max() - rows.min() + 1 in (19, 20, 21)      # the long side fits 20 pixels
    assert cols.max() - cols.min() + 1 in (9, 10, 11)       # aspect ratio kept
    total = out.sum()
    com = ((out.sum(axis=1) * np.arange(28)).sum() / total,
           (out.sum(axis=0) * np.arange(28)).sum() / total)
    assert com == pytest.approx((14, 14), abs=0.6)          # where MNIST's mass sits
    assert not prepare_canvas(np.zeros((50, 50), np.float32)).any()


def test_prepare_canvas_is_the_same_preparation_as_predict() -> None:
    canvas = np.zeros((60, 80), np.float32)
    canvas[20:40, 30:36] = 1.0
    expected = images.prepare_digit(canvas, (28, 28)).pixels
    assert np.array_equal(prepare_canvas(canvas), expected)


def test_image_size_reads_image_and_flat_inputs() -> None:
    assert adapters.image_size((28, 28, 1)) == (28, 28)
    assert adapters.image_size((784,)) == (28, 28)
    with pytest.raises(ValueError, match=r"expected.*got \(28, 28, 3\)"):
        adapters.image_size((28, 28, 3))


# --- views ------------------------------------------------------------------------------------
def test_dead_units_are_zero_for_every_sample_and_position() -> None:
    maps = np.ones((4, 3, 3, 5))
    maps[..., 1] = 0
    maps[..., 3] = 0
    maps[2, 1, 1, 3] = 0.1                  # alive once, somewhere: not dead
    dense = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    first = views.dead_units([[maps[:2], dense[:1]]])
    assert first == [[1, 3], [0, 2]]
    assert views.dead_units([[maps[:2], dense[:1]], [maps[2:], dense[1:]]]) == [[1], [0, 2]]


def test_layer_views_encode_values_back_within_one_step() -> None:
    maps = np.random.default_rng(0).random((5, 4, 3)) * 7
    view = views.layer_view(maps)
    assert view["kind"] == "maps" and (view["channels"], view["height"]) == (3, 5)
    back = decode(view["data"], (3, 5, 4)) * (view["hi"] - view["lo"]) / 255 + view["lo"]
    np.testing.assert_allclose(back, maps.transpose(2, 0, 1), atol=(view["hi"] / 255))
    assert views.layer_view(np.arange(10.0))["kind"] == "bars"
    strip = views.layer_view(np.arange(1000.0))
    assert strip["kind"] == "strip" and strip["height"] * strip["width"] >= 1000


# --- endpoints --------------------------------------------------------------------------------
def test_page_and_assets_are_served_with_a_content_policy(server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", "/")
    response = connection.getresponse()
    page = response.read().decode()
    assert response.status == 200 and "text/html" in response.headers["Content-Type"]
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert asset in page
        status, body = get(server, asset)
        assert status == 200 and len(body) > 1000
    assert "http" not in page.replace("http-equiv", "")       # nothing from a CDN


def test_model_endpoint_lists_layers_dead_units_and_filters(server, run_dir: Path) -> None:
    status, info = get(server, "/api/model")
    model = saving.load_model(run_dir / "model.snet")
    assert status == 200
    assert [layer["name"] for layer in info["layers"]] == [layer.name for layer in model.layers]
    assert info["epoch"] == 2 and info["dead_samples"] == 300
    # Dead units recomputed independently: Dense(128) outputs zero for all 300 test images.
    from scratchnet.datasets import mnist
    x = mnist.load_data()[1][0][:300].reshape(-1, 28, 28, 1).astype(np.float32) / 255
    dense = model.layers[5]
    h = x
    for layer in model.layers[:6]:
        h = layer(h)
    assert info["layers"][5]["dead"] == np.flatnonzero(~(h != 0).any(axis=0)).tolist()
    assert dense.name == info["layers"][5]["name"]
    filters = info["filters"]
    assert (filters["count"], filters["height"], filters["width"]) == (32, 3, 3)
    kernel = model.layers[0].params["kernel"][:, :, 0, :].transpose(2, 0, 1)
    back = decode(filters["data"], (32, 3, 3)) / 255 * 2 * filters["limit"] - filters["limit"]
    np.testing.assert_allclose(back, kernel, atol=filters["limit"] / 127)


def test_a_drawn_seven_is_predicted_as_seven_with_every_layer(server, run_dir: Path) -> None:
    status, result = request(server, "/api/predict", canvas_payload(drawn_seven()))
    assert status == 200
    assert result["digit"] == 7, result["probabilities"]
    assert sum(result["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    kinds = [view["kind"] for view in result["layers"]]
    assert kinds == ["maps", "maps", "maps", "maps", "strip", "bars", "bars", "bars"]
    # The image the model saw, through the model directly: the same probabilities.
    seen = decode(result["image"], (28, 28)).astype(np.float32) / 255
    model = saving.load_model(run_dir / "model.snet")
    np.testing.assert_allclose(model.predict(seen.reshape(1, 28, 28, 1))[0],
                               result["probabilities"], atol=0.02)
    assert result["server_ms"] > 0 and "limit" in result["saliency"]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1",
                                  "localhost.evil.example:{port}", ""])
def test_requests_for_another_host_are_refused(server, host: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("GET", "/api/model", skip_host=True)
    if host:
        connection.putheader("Host", host.format(port=server.port))
    connection.endheaders()
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 403 and "loopback" in body["error"]


def test_posts_from_another_origin_are_refused(server) -> None:
    status, body = request(server, "/api/predict", canvas_payload(drawn_seven()),
                           headers={"Origin": "http://evil.example"})
    assert status == 403 and "Origin" in body["error"]
    ok, _ = request(server, "/api/predict", canvas_payload(drawn_seven()),
                    headers={"Origin": server.url.rstrip("/")})
    assert ok == 200


@pytest.mark.parametrize("path", ["/static/../session.py", "/static/%2e%2e/session.py",
                                  "/static/..%2fsession.py", "/static/__init__.py",
                                  "/run/../model.snet", "/run/%2e%2e%2frun.json",
                                  "/run/..%2F..%2Fetc%2Fpasswd", "/run/model.snet",
                                  "/run//etc/passwd", "/../../etc/passwd", "/etc/passwd"])
def test_only_own_assets_and_listed_run_files_are_served(server, path: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    assert response.status == 404


def test_run_files_are_served_by_name(server, run_dir: Path) -> None:
    status, body = get(server, "/run/evaluation.json")
    assert status == 200 and body == json.loads((run_dir / "evaluation.json").read_text())


def test_bad_requests_get_one_clear_error(server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("POST", "/api/predict")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(50 << 20))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413 and "at most" in json.loads(response.read())["error"]
    cases = [
        ({"width": 140, "height": 140, "pixels": "AAAA"}, 400, "19600 pixel bytes, got 3"),
        ({"width": 0, "height": 140, "pixels": ""}, 400, "width an integer in 1..1024, got 0"),
        ({"width": 2, "height": 2, "pixels": "not base64!"}, 400, "base64"),
        ([1, 2, 3], 400, "expected a JSON object"),
        (b"{not json", 400, "expected a JSON body"),
    ]
    for body, status, message in cases:
        got, answer = request(server, "/api/predict", body)
        assert (got, message in answer["error"]) == (status, True), answer
    got, answer = request(server, "/api/predict", b"{}", headers={"Content-Type": "text/plain"})
    assert got == 415 and "application/json" in answer["error"]
    assert get(server, "/api/predict")[0] == 405
    assert get(server, "/api/nothing")[0] == 404
    got, answer = get(server, "/api/confusion/cell?true=7&predicted=12")
    assert got == 400 and "0..9" in answer["error"]


def test_run_endpoint_reports_history_and_status(server, run_dir: Path) -> None:
    status, run = get(server, "/api/run")
    history = json.loads((run_dir / "history.json").read_text())
    assert status == 200 and run["status"] == "finished"
    assert run["history"] == history and run["history"]["epoch"] == [0, 1]
    assert run["settings"]["limit"] == 5000
    assert "evaluation.json" in run["files"] and "model.snet" not in run["files"]


def test_confusion_matrix_matches_the_runs_own_evaluation(server, run_dir: Path) -> None:
    status, confusion = get(server, "/api/confusion")
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert status == 200 and confusion["samples"] == 5000
    assert confusion["matrix"] == evaluation["confusion_matrix"]
    assert confusion["accuracy"] == pytest.approx(evaluation["accuracy"])
    status, cell = get(server, "/api/confusion/cell?true=7&predicted=2")
    assert status == 200 and cell["count"] == evaluation["confusion_matrix"][7][2]
    from scratchnet.datasets import mnist
    (_, _), (x_test, y_test) = mnist.load_data()
    for index, image in zip(cell["indices"], cell["images"]):
        assert y_test[index] == 7
        np.testing.assert_array_equal(decode(image, (28, 28)), x_test[index])


def test_doctor_runs_on_request(server) -> None:
    status, report = request(server, "/api/doctor", {"training_checks": False})
    assert status == 200
    assert {"healthy", "findings", "counts", "vitals"} <= set(report)
    status, answer = request(server, "/api/doctor", {"training_checks": "yes"})
    assert status == 400 and "true or false" in answer["error"]


def test_the_page_follows_a_running_training(run_dir: Path, tmp_path: Path) -> None:
    run = copy_run(run_dir, tmp_path / "live")
    (run / "evaluation.json").unlink()
    (run / "history.json").unlink()
    with serving(run, dead_samples=50) as srv:
        first = get(srv, "/api/run")[1]
        assert first["status"] == "training (or stopped)"
        assert first["history"]["epoch"] == [0, 1]          # from history.csv
        before = request(srv, "/api/predict", canvas_payload(drawn_seven()))[1]
        one_more_epoch(run)
        with open(run / "history.csv", "a") as handle:
            handle.write("3,0.9")                  # the next row, half-written
        after = get(srv, "/api/run")[1]
        assert after["history"]["epoch"] == [0, 1, 2]
        assert after["checkpoint"] != first["checkpoint"]
        info = get(srv, "/api/model")[1]
        assert (info["checkpoint"], info["epoch"]) == (after["checkpoint"], 3)
        moved = request(srv, "/api/predict", canvas_payload(drawn_seven()))[1]
        assert moved["checkpoint"] == after["checkpoint"] != before["checkpoint"]
        assert moved["probabilities"] != before["probabilities"]


def test_a_run_without_checkpoint_waits(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text('{"model": "mnist-cnn", "epochs": 3}')
    with serving(tmp_path) as srv:
        status, answer = get(srv, "/api/model")
        assert status == 503 and "first epoch" in answer["error"]
        assert get(srv, "/api/run")[1]["status"] == "waiting for the first checkpoint"


def test_sources_are_resolved_with_clear_errors(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(FileNotFoundError, match="no such run directory or model file"):
        resolve_source(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a run directory"):
        resolve_source(tmp_path)
    monkeypatch.setattr(pretrained, "MODELS_DIR", tmp_path / "none")
    with pytest.raises(ValueError, match="no bundled pretrained model"):
        resolve_source(None)
    monkeypatch.setattr(pretrained, "MODELS_DIR", tmp_path)
    bundled = tmp_path / pretrained.FILES[pretrained.DEFAULT]
    bundled.write_bytes(b"")
    assert resolve_source(None) == (bundled, None)
    with pytest.raises(ValueError):
        Explorer(bundled)        # not a model file: the loader's own error


def test_cli_serves_the_page_and_reports_bad_arguments(run_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "scratchnet", "explore"]
    bad = subprocess.run(command + [str(tmp_path / "nope")], capture_output=True, text=True,
                         env=env, timeout=120)
    assert bad.returncode == 2 and "no such run directory" in bad.stderr
    assert "Traceback" not in bad.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = subprocess.run(command + [str(run_dir), "--no-browser", "--port",
                                         str(taken.getsockname()[1])],
                              capture_output=True, text=True, env=env, timeout=120)
    assert busy.returncode == 2 and "cannot listen on 127.0.0.1:" in busy.stderr, busy.stderr
    process = subprocess.Popen(command + [str(run_dir), "--no-browser", "--dead-samples", "20"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        assert line.startswith("scratchnet explorer: http://127.0.0.1:"), line
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", "/api/model")
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["epoch"] == 2
    finally:
        process.terminate()
        process.wait(timeout=30)
