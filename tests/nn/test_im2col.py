"""im2col, col2im and patches_at against their definitions (plain loops) and each other."""

import numpy as np
import pytest

from sknnedu.nn.geometry import conv_geometry, pad2d
from sknnedu.nn.im2col import col2im, im2col, patches_at


def loop_im2col(xp, fh, fw, sh, sw, oh, ow):
    """``P[(n, i, j), (u, v, ch)] = xp[n, i sh + u, j sw + v, ch]``, one patch at a time."""
    m, _, _, c = xp.shape
    P = np.empty((m, oh, ow, fh, fw, c))
    for n in range(m):
        for i in range(oh):
            for j in range(ow):
                P[n, i, j] = xp[n, i * sh : i * sh + fh, j * sw : j * sw + fw]
    return P.reshape(m * oh * ow, fh * fw * c)


GEOMETRIES = [  # (h, w, c), (fh, fw), (sh, sw)
    ((5, 6, 2), (3, 3), (1, 1)),
    ((7, 9, 1), (2, 4), (2, 3)),
    ((4, 4, 3), (4, 1), (1, 2)),
]


@pytest.mark.parametrize("shape, kernel, stride", GEOMETRIES)
def test_im2col_is_the_patch_matrix(shape, kernel, stride):
    xp = np.random.default_rng(0).standard_normal((3, *shape))
    (fh, fw), (sh, sw) = kernel, stride
    oh, ow = (shape[0] - fh) // sh + 1, (shape[1] - fw) // sw + 1
    out = np.full((3 * oh * ow, fh * fw * shape[2] + 1), np.nan)  # [P 1]: a wider matrix
    im2col(xp, kernel, stride, (oh, ow), out[:, :-1])
    np.testing.assert_array_equal(out[:, :-1], loop_im2col(xp, fh, fw, sh, sw, oh, ow))
    assert np.isnan(out[:, -1]).all()  # the column next to P is left alone


@pytest.mark.parametrize("block", [2, 3, 4])
def test_blocked_rows_hold_neighbouring_patches(block):
    """A blocked row spans ``(B - 1) sw + fw`` columns; patch b starts at column b sw."""
    rng = np.random.default_rng(1)
    (fh, fw), (sh, sw), (oh, ow), c = (3, 2), (1, 2), (4, 7), 2
    n_blocks = -(-ow // block)
    span = (block - 1) * sw + fw
    wp = max((ow - 1) * sw + fw, (n_blocks * block - 1) * sw + fw)
    xp = rng.standard_normal((2, (oh - 1) * sh + fh, wp, c))
    out = np.empty((2 * oh * n_blocks, fh * span * c))
    im2col(xp, (fh, fw), (sh, sw), (oh, ow), out, block)
    rows = out.reshape(2, oh, n_blocks, fh, span, c)
    plain = loop_im2col(xp, fh, fw, sh, sw, oh, n_blocks * block)
    plain = plain.reshape(2, oh, n_blocks * block, fh, fw, c)
    for b in range(block):
        np.testing.assert_array_equal(rows[:, :, :, :, b * sw : b * sw + fw],
                                      plain[:, :, b::block])


@pytest.mark.parametrize("shape, kernel, stride", GEOMETRIES)
def test_col2im_is_the_adjoint_of_im2col(shape, kernel, stride):
    """``<im2col(x), dP> = <x, col2im(dP)>`` for any x and dP: col2im is im2col's transpose."""
    rng = np.random.default_rng(2)
    (fh, fw), (sh, sw) = kernel, stride
    oh, ow = (shape[0] - fh) // sh + 1, (shape[1] - fw) // sw + 1
    x = rng.standard_normal((2, *shape))
    dP = rng.standard_normal((2 * oh * ow, fh * fw * shape[2]))
    P = np.empty_like(dP)
    im2col(x, kernel, stride, (oh, ow), P)
    dx = np.full_like(x, np.nan)  # overwritten
    col2im(dP, kernel, stride, (oh, ow), dx)
    assert np.vdot(P, dP) == pytest.approx(np.vdot(x, dx), rel=1e-12)
    # the same, with dP given one kernel offset at a time
    blocks = dP.reshape(2, oh, ow, fh, fw, -1)
    dx2 = np.empty_like(x)
    col2im(lambda u, v: blocks[:, :, :, u, v].copy(), kernel, stride, (oh, ow), dx2)
    np.testing.assert_array_equal(dx2, dx)


@pytest.mark.parametrize("padding", ["same", "valid", ((2, 0), (1, 3))])
@pytest.mark.parametrize("stride", [(1, 1), (2, 3)])
def test_patches_at_are_rows_of_the_patch_matrix(padding, stride):
    rng = np.random.default_rng(3)
    images = rng.integers(1, 255, (3, 7, 8, 2)).astype(np.uint8)
    kernel = (3, 2)
    pads, (oh, ow) = conv_geometry((7, 8), kernel, stride, padding)
    xp = pad2d(images, pads)
    P = np.empty((3 * oh * ow, 3 * 2 * 2), dtype=np.uint8)
    im2col(xp, kernel, stride, (oh, ow), P)
    fields = rng.choice(len(P), size=10, replace=False)
    patches = patches_at(images, fields, kernel, stride, padding)
    assert patches.dtype == np.uint8
    np.testing.assert_array_equal(patches, P[fields])
