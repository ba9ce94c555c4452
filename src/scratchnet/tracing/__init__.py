"""Reference traces and ``compare``: the exact numbers a correct implementation of a network
must produce, and the first number of yours that differs, with the likely bug.

    sn.trace(model, x, y, "trace/")       # one training step, every tensor, as a bundle
    sn.compare("trace/", "mine/")         # -> CompareResult; .ok, .first, .report()
"""
from .bundle import BundleError, read_manifest
from .compare import CompareResult, compare
from .recording import TraceRecorder, run_step, trace

__all__ = ["trace", "compare", "CompareResult", "BundleError", "read_manifest",
           "TraceRecorder", "run_step"]
