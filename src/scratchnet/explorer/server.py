"""The explorer's HTTP server: the standard library's ThreadingHTTPServer and JSON endpoints.

Routes::

    GET  /                       the page            GET  /static/NAME    its scripts and styles
    GET  /api/model              layers, dead units, first-layer filters
    POST /api/predict            {"width", "height", "pixels"} -> prediction and every layer
    GET  /api/run                run directory: settings, status, history (polled while training)
    GET  /api/confusion          confusion matrix on the run's test samples
    GET  /api/confusion/cell?true=T&predicted=P      those test digits
    POST /api/doctor             {"training_checks": bool} -> scratchnet.doctor(...).to_dict()
    GET  /run/NAME               a file directly in the run directory (.png, .json, .csv)

Safety: it binds to 127.0.0.1; it answers only requests whose Host header names that address
and port (a DNS-rebinding page on another name is refused), takes POSTs only as JSON from no
origin or its own, serves only its packaged assets and the run directory's listed files, and
limits request sizes.
"""
from __future__ import annotations

import json
import math
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from .session import Explorer, NotReady

LOOPBACK = "127.0.0.1"
MAX_BODY = 1 << 20          # a 1024x1024 canvas in base64 is 1.4 MB; the page sends 140x140
MAX_PATH = 2048
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
                 ".json": "application/json", ".csv": "text/csv; charset=utf-8"}
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
               "form-action 'none'; frame-ancestors 'none'")


class HTTPError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


def _assets() -> dict[str, bytes]:
    folder = resources.files("scratchnet.explorer") / "static"
    return {entry.name: entry.read_bytes() for entry in folder.iterdir()
            if entry.is_file() and "." + entry.name.rsplit(".", 1)[-1] in CONTENT_TYPES}


def _content_type(name: str) -> str:
    return CONTENT_TYPES.get("." + name.rsplit(".", 1)[-1], "application/octet-stream")


class ExplorerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, explorer: Explorer, port: int = 0, verbose: bool = False):
        try:
            super().__init__((LOOPBACK, port), ExplorerHandler)
        except OSError as err:
            raise OSError(f"cannot listen on {LOOPBACK}:{port} ({err.strerror or err}); choose "
                          f"another --port, or leave it out for a free one.") from None
        self.explorer = explorer
        self.verbose = verbose
        self.assets = _assets()
        self.port = self.server_address[1]
        self.allowed_hosts = {f"{LOOPBACK}:{self.port}", f"localhost:{self.port}"}
        self.url = f"http://{LOOPBACK}:{self.port}/"

    def start_background(self) -> threading.Thread:
        """Serve from a daemon thread (tests, notebooks); stop with ``shutdown()``."""
        thread = threading.Thread(target=self.serve_forever, name="explorer", daemon=True)
        thread.start()
        return thread


class ExplorerHandler(BaseHTTPRequestHandler):
    server: ExplorerServer
    timeout = 30                 # a client that stops sending does not hold a thread forever
    server_version = "scratchnet-explorer"
    sys_version = ""

    # --- dispatch ---------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_HEAD(self) -> None:
        self._send_error(HTTPError(HTTPStatus.METHOD_NOT_ALLOWED, "expected GET or POST"))

    def _handle(self, method: str) -> None:
        self._server_timing = None
        try:
            self._check_request(method)
            url = urlsplit(self.path)
            route = self._route(method, url.path)
            route(parse_qs(url.query))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True      # the page went away (closed, reloaded): fine
        except HTTPError as err:
            self._send_error(err)
        except NotReady as err:
            self._send_error(HTTPError(HTTPStatus.SERVICE_UNAVAILABLE, str(err)))
        except (ValueError, TypeError) as err:
            self._send_error(HTTPError(HTTPStatus.BAD_REQUEST, str(err)))
        except FileNotFoundError as err:
            self._send_error(HTTPError(HTTPStatus.NOT_FOUND, f"not found: {err}"))
        except Exception as err:   # a bug: say so on the page and in the terminal, keep serving
            print(f"scratchnet explore: {method} {self.path}: {type(err).__name__}: {err}",
                  file=sys.stderr)
            self._send_error(HTTPError(HTTPStatus.INTERNAL_SERVER_ERROR,
                                       f"internal error: {type(err).__name__}: {err}"))

    def _check_request(self, method: str) -> None:
        host = self.headers.get("Host", "")
        if host not in self.server.allowed_hosts:
            raise HTTPError(HTTPStatus.FORBIDDEN,
                            f"expected Host {LOOPBACK}:{self.server.port}, got "
                            f"{host or 'none'!r}: the explorer answers only its loopback "
                            f"address (a guard against DNS rebinding)")
        if len(self.path) > MAX_PATH:
            raise HTTPError(HTTPStatus.REQUEST_URI_TOO_LONG,
                            f"expected a path of at most {MAX_PATH} characters")
        if method == "POST":
            origin = self.headers.get("Origin")
            if origin is not None and origin not in {f"http://{h}"
                                                     for h in self.server.allowed_hosts}:
                raise HTTPError(HTTPStatus.FORBIDDEN,
                                f"expected a request from the explorer's own page, got Origin "
                                f"{origin!r}")

    def _route(self, method: str, path: str) -> Callable[[dict[str, list[str]]], None]:
        explorer = self.server.explorer
        gets: dict[str, Callable[[dict[str, list[str]]], None]] = {
            "/": lambda q: self._send_asset("index.html"),
            "/index.html": lambda q: self._send_asset("index.html"),
            "/api/model": lambda q: self._send_json(explorer.model_info()),
            "/api/run": lambda q: self._send_json(explorer.run_info()),
            "/api/confusion": lambda q: self._send_json(explorer.confusion()),
            "/api/confusion/cell": lambda q: self._send_json(explorer.confusion_cell(
                _int_arg(q, "true"), _int_arg(q, "predicted"))),
        }
        posts: dict[str, Callable[[dict[str, list[str]]], None]] = {
            "/api/predict": lambda q: self._send_json(self._predict()),
            "/api/doctor": lambda q: self._send_json(explorer.doctor(
                training_checks=_bool_field(self._read_json(), "training_checks"))),
        }
        table = gets if method == "GET" else posts
        if path in table:
            return table[path]
        if method == "GET" and path.startswith("/static/"):
            return lambda q: self._send_asset(path[len("/static/"):])
        if method == "GET" and path.startswith("/run/"):
            return lambda q: self._send_run_file(unquote(path[len("/run/"):]))
        other = posts if method == "GET" else gets
        if path in other:
            raise HTTPError(HTTPStatus.METHOD_NOT_ALLOWED,
                            f"expected {'POST' if method == 'GET' else 'GET'} for {path}")
        raise HTTPError(HTTPStatus.NOT_FOUND, f"no such page or endpoint: {path}")

    # --- requests ---------------------------------------------------------------------------
    def _read_json(self) -> Any:
        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                            f"expected Content-Type application/json, got {kind or 'none'!r}")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise HTTPError(HTTPStatus.LENGTH_REQUIRED, "expected a Content-Length header")
        if int(length) > MAX_BODY:
            self.close_connection = True
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            f"expected a body of at most {MAX_BODY} bytes, got {length}")
        body = self.rfile.read(int(length))
        try:
            return json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError) as err:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"expected a JSON body: {err}") from None

    def _predict(self) -> dict[str, Any]:
        result = self.server.explorer.predict(self._read_json())
        self._server_timing = result["server_ms"]
        return result

    # --- responses --------------------------------------------------------------------------
    def _send(self, status: HTTPStatus, body: bytes, content_type: str,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, data: Any) -> None:
        timing = getattr(self, "_server_timing", None)
        extra = {"Server-Timing": f"predict;dur={timing}"} if timing is not None else None
        self._send(HTTPStatus.OK, json.dumps(_finite(data), allow_nan=False).encode(),
                   "application/json", extra)

    def _send_error(self, err: HTTPError) -> None:
        body = json.dumps({"error": str(err), "status": int(err.status)}).encode()
        try:
            self._send(err.status, body, "application/json")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_asset(self, name: str) -> None:
        body = self.server.assets.get(name)
        if body is None:
            raise HTTPError(HTTPStatus.NOT_FOUND, f"no such asset: {name}")
        extra = {"Content-Security-Policy": PAGE_POLICY} if name.endswith(".html") else None
        self._send(HTTPStatus.OK, body, _content_type(name), extra)

    def _send_run_file(self, name: str) -> None:
        path = self.server.explorer.run_file(name)
        self._send(HTTPStatus.OK, path.read_bytes(), _content_type(name))

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


def _int_arg(query: dict[str, list[str]], name: str) -> int:
    values = query.get(name, [])
    if len(values) != 1 or not values[0].isdigit():
        raise ValueError(f"expected one integer query parameter {name!r}, got {values!r}")
    return int(values[0])


def _bool_field(payload: Any, name: str) -> bool:
    if payload is None:
        return False
    if not isinstance(payload, dict) or not isinstance(payload.get(name, False), bool):
        raise ValueError(f"expected a JSON object with {name!r} true or false, got {payload!r}")
    return payload.get(name, False)


def _finite(value: Any) -> Any:
    """JSON has no NaN or Infinity (a diverged run's loss): they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
