"""Download-and-cache for the datasets that are not bundled (Fashion-MNIST, CIFAR-10).

Files are looked up in the caller's directory, then in the cache (``$SCRATCHNET_HOME/<dataset>``,
default ``~/.cache/scratchnet/<dataset>``), and only then downloaded from the mirrors. A download
is checked against the publisher's MD5 *before* it is written (atomically), so a bad or partial
download never lands in the cache; files found locally are checked too unless verify=False.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from pathlib import Path

from ..files import atomic_write
from .mnist import ChecksumError, DownloadError

FETCH_TIMEOUT_S = 120


def cache_dir(dataset: str) -> Path:
    home = os.environ.get("SCRATCHNET_HOME")
    root = Path(home).expanduser() if home else Path.home() / ".cache" / "scratchnet"
    return root / dataset


def fetch(url: str) -> bytes:
    """Download ``url``. Module-level so tests can replace it (they never use the network)."""
    request = urllib.request.Request(url, headers={"User-Agent": "scratchnet"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:
        return response.read()


def check_md5(data: bytes, expected: str, name: str) -> None:
    got = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if got != expected:
        raise ChecksumError(f"{name}: MD5 mismatch: expected {expected} (the publisher's), got "
                            f"{got}. The file is corrupted or not the original; delete it (it is "
                            f"then downloaded again) or pass verify=False.")


def check_dir(path: str | os.PathLike[str] | None, what: str) -> Path | None:
    if path is None:
        return None
    p = Path(path).expanduser()
    if not p.is_dir():
        state = "is a file" if p.exists() else "does not exist"
        raise NotADirectoryError(f"{what}(path={str(path)!r}): {state}; path must be a "
                                 f"directory holding the dataset's files")
    return p


def locate(dataset: str, filename: str, md5: str, mirrors: tuple[str, ...],
           directory: Path | None, verify: bool, alternatives: tuple[str, ...] = ()
           ) -> tuple[Path, bytes]:
    """(path, bytes) of ``filename`` (or one of ``alternatives``, e.g. the decompressed file,
    which has no published checksum) from ``directory``, the cache, or a verified download."""
    searched = [d for d in (directory, cache_dir(dataset)) if d is not None]
    for folder in searched:
        for name in (filename, *alternatives):
            if (folder / name).is_file():
                data = (folder / name).read_bytes()
                if verify and name == filename:
                    check_md5(data, md5, str(folder / name))
                return folder / name, data
    errors, network_only = [], True
    for mirror in mirrors:
        url = mirror + filename
        try:
            data = fetch(url)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
            continue
        try:
            check_md5(data, md5, url)
        except ChecksumError as exc:
            errors.append(str(exc))
            network_only = False
            continue
        atomic_write(cache_dir(dataset) / filename, data)
        return cache_dir(dataset) / filename, data
    hint = "Are you offline? " if network_only else ""
    raise DownloadError(
        f"{dataset} file {filename} is not in {' or '.join(map(str, searched))} and could not be "
        f"downloaded:\n  " + "\n  ".join(errors)
        + f"\n{hint}Put {filename} in {cache_dir(dataset)}, or pass load_data(path=<directory "
        f"holding it>).")
