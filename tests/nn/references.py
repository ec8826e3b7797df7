"""Independent references that the core's tests share: plain loops over a formula's terms,
and centred finite differences.

Imported by the test modules beside it (``from references import loop_pool``): pytest puts
this folder on ``sys.path`` when it imports them.
"""

import numpy as np


def loop_pool(x, size, stride, reduce):
    """Pooling with plain Python loops over images, output pixels and channels."""
    n, h, w, c = x.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.empty((n, oh, ow, c))
    for a in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    window = x[
                        a, i * stride : i * stride + size, j * stride : j * stride + size, ch
                    ]
                    out[a, i, j, ch] = reduce(window)
    return out


def loop_pool_backward(dz, x, size, stride, kind):
    """Pooling gradient with loops; max: the first maximum in row-major window order."""
    dx = np.zeros_like(x)
    n, oh, ow, c = dz.shape
    for a in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    rows = slice(i * stride, i * stride + size)
                    cols = slice(j * stride, j * stride + size)
                    if kind == "avg":
                        dx[a, rows, cols, ch] += dz[a, i, j, ch] / size**2
                    else:
                        u, v = divmod(int(np.argmax(x[a, rows, cols, ch])), size)
                        dx[a, i * stride + u, j * stride + v, ch] += dz[a, i, j, ch]
    return dx


def numerical_gradient(f, x, eps=1e-6):
    """Centred differences of the scalar ``f()`` at every entry of ``x`` (float64), which
    is changed in place and restored: any array, a view of a parameter included."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        saved = x[idx]
        x[idx] = saved + eps
        plus = f()
        x[idx] = saved - eps
        minus = f()
        x[idx] = saved
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def rel_error(a, b):
    """``||a - b|| / (||a|| + ||b||)`` over whole arrays (0 when both are 0)."""
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else np.linalg.norm(a - b) / scale


def padded_batch(lengths, d, rng, dtype=np.float64):
    """A zero-padded time-major :class:`SequenceBatch` of random steps."""
    from sknnedu.nn.sequences import SequenceBatch

    lengths = np.asarray(lengths)
    T = max(int(lengths.max()), 1)
    data = rng.standard_normal((T, len(lengths), d))
    data *= np.arange(T)[:, None, None] < lengths[None, :, None]
    return SequenceBatch(data.astype(dtype), lengths)
