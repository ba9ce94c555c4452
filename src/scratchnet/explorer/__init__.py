"""The explorer: a local web page to draw a digit and watch the network think, and to follow a
training run (``scratchnet explore [RUN_DIR|MODEL]``).

    from scratchnet.explorer import Explorer, ExplorerServer
    server = ExplorerServer(Explorer("runs/quick"))      # 127.0.0.1, a free port
    server.start_background(); print(server.url)

The page and its scripts are files in ``static/`` (no build step, nothing from a CDN).
"""
from .adapters import default_model_path, prepare_canvas, trace_layers
from .server import ExplorerServer
from .session import Explorer, NotReady


def serve(source: str | None = None, port: int = 0, open_browser: bool = True,
          dead_samples: int = 1000, verbose: bool = False) -> None:
    """Load ``source`` (run directory, model file, or None for the bundled model) and serve
    the page until Ctrl-C."""
    import webbrowser
    explorer = Explorer(source, dead_samples=dead_samples)
    server = ExplorerServer(explorer, port=port, verbose=verbose)   # a busy port fails now
    explorer.warm_up()
    print(f"scratchnet explorer: {server.url}  (serving {explorer.run_dir or explorer.model_path};"
          f" Ctrl-C to stop)", flush=True)
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


__all__ = ["Explorer", "ExplorerServer", "NotReady", "serve", "trace_layers", "prepare_canvas",
           "default_model_path"]
