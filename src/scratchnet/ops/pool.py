"""max_pool2d, the dispatch point of max pooling, and its fast kernels.

``max_pool2d(x, pool, strides, pads, training)`` returns ``(y, backward)``, backward(grad_y) ->
grad_x. Every kernel routes a window's gradient to its *first* maximum in row-major order.
Kernels: the reference loop over window offsets (``ops.reference.max_pool2d``); for windows
that tile the input (strides == pool size, no padding) the fast kernels below; otherwise
im2col + argmax. Padding cells are -inf, so they never win.

The fast kernels for non-overlapping windows:

The input is viewed as (N, OH, ph, OW, pw, C) without copying; the maximum is a running
np.maximum over the ph*pw window positions. Forward can also record, per output, the position
of its window's *first* maximum in row-major order (ties are common after ReLU), as a small
integer (uint8 for windows up to 256 entries): a later position wins only if strictly greater.
Backward then writes each position's gradient in one pass: grad_y where the winner is that
position, 0 elsewhere. Batch split across threads. Tested against naive loops.

``relu=True`` computes maxpool(relu(x)) as relu(maxpool(x)) (max and ReLU commute), so the ReLU
touches 1/(ph*pw) of the data; a window whose maximum is <= 0 gets the winner no_winner(pool), which
backward routes nothing to: exactly the gradient of ReLU then pooling with the first-max rule
(a window with a positive maximum has the same first maximum before and after the ReLU; any
other window's gradient is zero either way).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import kernels, reference
from .elementwise import relu_into
from .im2col import col2im, im2col, pad_spatial
from .parallel import run_chunks

Array = np.ndarray
Pads = tuple[tuple[int, int], tuple[int, int]]
NO_PADS: Pads = ((0, 0), (0, 0))


def tiles(pool: tuple[int, int], strides: tuple[int, int], pads: Pads) -> bool:
    """Whether the windows tile the input: no overlap, no padding (the fast kernels below)."""
    return tuple(strides) == tuple(pool) and tuple(pads) == NO_PADS


def max_pool2d(x: Array, pool: tuple[int, int], strides: tuple[int, int], pads: Pads,
               training: bool = False, relu: bool = False
               ) -> tuple[Array, Callable[[Array], Array]]:
    """Max pooling of x (N, H, W, C) -> (N, OH, OW, C), and its backward.

    Training records each window's winner for the backward; inference finds it only if a
    backward is called. ``relu=True`` (windows that tile only; for ``scratchnet.fusion``)
    gives maxpool(relu(x)) and its gradient, with the ReLU on the pooled output."""
    if kernels.reference():
        return _reference(x, pool, strides, pads, relu)
    if tiles(pool, strides, pads):
        y, winner = maxpool_forward(x, pool, record_winner=training, relu=relu)

        def backward(grad_y: Array) -> Array:
            won = winner if winner is not None else maxpool_forward(x, pool, relu=relu)[1]
            return maxpool_backward(won, grad_y, x.shape, pool)
        return y, backward
    if relu:
        raise ValueError(f"max_pool2d(relu=True) needs windows that tile the input, got pool "
                         f"{pool}, strides {strides}, pads {pads}")
    return _im2col_argmax(x, pool, strides, pads)


def _im2col_argmax(x: Array, pool: tuple[int, int], strides: tuple[int, int], pads: Pads
                   ) -> tuple[Array, Callable[[Array], Array]]:
    """Overlapping or padded windows: every window as a row, argmax (the first maximum)."""
    (ph, pw), (sh, sw) = pool, strides
    n, h, w, c = x.shape
    xp = pad_spatial(x, *pads, value=-np.inf)
    windows = im2col(xp, ph, pw, sh, sw).reshape(-1, ph * pw, c)   # (N*OH*OW, ph*pw, C)
    winner = windows.argmax(axis=1)[:, None, :]
    y = np.take_along_axis(windows, winner, axis=1)[:, 0, :]
    oh, ow = (xp.shape[1] - ph) // sh + 1, (xp.shape[2] - pw) // sw + 1

    def backward(grad_y: Array) -> Array:
        routed = np.zeros(windows.shape, dtype=grad_y.dtype)
        np.put_along_axis(routed, winner, grad_y.reshape(-1, 1, c), axis=1)
        grad_xp = col2im(routed.reshape(-1, ph * pw * c), xp.shape, ph, pw, sh, sw)
        return grad_xp[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + w, :]
    return y.reshape(n, oh, ow, c), backward


def _reference(x: Array, pool: tuple[int, int], strides: tuple[int, int], pads: Pads,
               relu: bool) -> tuple[Array, Callable[[Array], Array]]:
    xp = pad_spatial(x, *pads, value=-np.inf)
    y, winner = reference.max_pool2d(xp, pool, strides)
    if relu:                     # a window whose maximum is <= 0 passes no gradient
        winner = np.where(y > 0, winner, no_winner(pool))
        y = reference.relu(y)
    (top, _), (left, _) = pads

    def backward(grad_y: Array) -> Array:
        grad_xp = reference.max_pool2d_backward(winner, grad_y, xp.shape, pool, strides)
        return grad_xp[:, top:top + x.shape[1], left:left + x.shape[2], :]
    return y, backward


def _window_view(x: Array, ph: int, pw: int) -> Array:
    n, h, w, c = x.shape
    oh, ow = h // ph, w // pw
    return x[:, :oh * ph, :ow * pw, :].reshape(n, oh, ph, ow, pw, c)


def no_winner(pool: tuple[int, int]) -> int:
    """The winner code of a window that passes no gradient (relu=True, maximum <= 0)."""
    return pool[0] * pool[1]


def maxpool_forward(x: Array, pool: tuple[int, int], record_winner: bool = True,
                    relu: bool = False) -> tuple[Array, Array | None]:
    """(y, winner): y (N, H // ph, W // pw, C) is the maximum of each window (trailing rows and
    columns that fit no window are dropped, "valid" padding); winner (same shape, unsigned
    ints) is the row-major position i * pw + j of its first maximum, or None when not asked.
    With ``relu``, y = max(y, 0) and winner = no_winner(pool) where the maximum is <= 0."""
    ph, pw = pool
    view = _window_view(x, ph, pw)
    n, oh, _, ow, _, c = view.shape
    y = np.empty((n, oh, ow, c), dtype=x.dtype)
    index_type = np.uint8 if ph * pw < 256 else np.uint16   # room for no_winner
    winner = np.empty(y.shape, dtype=index_type) if record_winner else None

    def work(a: int, b: int) -> None:
        won = None if winner is None else winner[a:b]
        first_max([view[a:b, :, k // pw, :, k % pw, :] for k in range(ph * pw)], y[a:b], won,
                  relu)
    run_chunks(work, n)
    return y, winner


def first_max(candidates: list[Array], out: Array, won: Array | None, relu: bool) -> None:
    """out = the element-wise maximum of ``candidates`` (max(.., 0) with ``relu``); won (unsigned
    ints, or None) = the index of the first candidate reaching it, no_winner (= the candidate
    count) where relu and the maximum is <= 0. The rule every max-pool kernel here shares."""
    np.copyto(out, candidates[0])
    if won is not None:
        index_type = won.dtype.type
        better, stamp = np.empty(out.shape, bool), np.empty(out.shape, index_type)
        won.fill(0)
    for k, candidate in enumerate(candidates[1:], start=1):
        if won is not None:
            # Positions come in increasing k, so "the last strictly greater" is the maximum
            # of k * better over positions: no masked assignment needed.
            np.greater(candidate, out, out=better)
            np.multiply(better, index_type(k), out=stamp)
            np.maximum(won, stamp, out=won)
        np.maximum(out, candidate, out=out)
    if relu:   # while this chunk is in cache
        if won is not None:
            # no_winner is above every position: the same maximum trick as above
            np.less_equal(out, 0, out=better)
            np.multiply(better, index_type(len(candidates)), out=stamp)
            np.maximum(won, stamp, out=won)
        relu_into(out)


def maxpool_backward(winner: Array, grad_y: Array, x_shape: tuple[int, ...],
                     pool: tuple[int, int]) -> Array:
    """Gradient w.r.t. x (x_shape): grad_y goes to each window's winner, zeros elsewhere
    (everywhere in a window whose winner is no_winner(pool))."""
    ph, pw = pool
    n, h, w, c = x_shape
    exact = h % ph == 0 and w % pw == 0
    grad_x = np.empty(x_shape, dtype=grad_y.dtype) if exact else np.zeros(x_shape, grad_y.dtype)
    gview = _window_view(grad_x, ph, pw)

    def work(a: int, b: int) -> None:
        route_to_winner(winner[a:b], grad_y[a:b],
                        [gview[a:b, :, k // pw, :, k % pw, :] for k in range(ph * pw)])
    run_chunks(work, n)
    return grad_x


def route_to_winner(winner: Array, grad_y: Array, outs: list[Array]) -> None:
    """outs[k] = grad_y where winner == k, 0 elsewhere (0 in every one where the winner is
    no_winner): the adjoint of first_max, written position by position in one pass each."""
    hit = np.empty(grad_y.shape, dtype=bool)
    for k, out in enumerate(outs):
        np.equal(winner, k, out=hit)
        np.multiply(grad_y, hit, out=out)
