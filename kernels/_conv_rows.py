"""The 8-tap row loop every convolution path shares.

``rows[f][q] += sum_t wtaps[f, t] * planes[offs[t] + q0 + q]`` over a unit-stride run
``q < blen``: each pass sums 8 taps (or 4, for the remainder) for 4 filters at once, so
every input load feeds 4 filters and each accumulator row is loaded and stored once per
8 taps. The direct pass, the wide planes, the gathered grad-weight scratch and both
Winograd passes call :func:`_all_filters` with their own layout of ``planes``.
"""

from __future__ import annotations

import numba

from ._jit import JIT_OPTIONS, njit

# the row loops are inlined into _all_filters (numba IR): a call would incref and
# decref every array argument, atomics that both threads contend on
_leaf = numba.njit(inline="always", **JIT_OPTIONS)


@_leaf
def _rows2(rows, ra, rb, planes, offs, wtaps, f, t, q0, blen, first):
    """rows[ra] += sum of 8 taps with weights wtaps[f, t:t+8], rows[rb] likewise with
    wtaps[f + 1] (shared loads)."""
    acc_a, acc_b = rows[ra], rows[rb]
    wa, wb = wtaps[f], wtaps[f + 1]
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    r4 = planes[offs[t + 4] + q0 : offs[t + 4] + q0 + blen]
    r5 = planes[offs[t + 5] + q0 : offs[t + 5] + q0 + blen]
    r6 = planes[offs[t + 6] + q0 : offs[t + 6] + q0 + blen]
    r7 = planes[offs[t + 7] + q0 : offs[t + 7] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    a4, a5, a6, a7 = wa[t + 4], wa[t + 5], wa[t + 6], wa[t + 7]
    b0, b1, b2, b3 = wb[t], wb[t + 1], wb[t + 2], wb[t + 3]
    b4, b5, b6, b7 = wb[t + 4], wb[t + 5], wb[t + 6], wb[t + 7]
    if first:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            v4, v5, v6, v7 = r4[q], r5[q], r6[q], r7[q]
            acc_a[q] = ((a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)) + (
                (a4 * v4 + a5 * v5) + (a6 * v6 + a7 * v7)
            )
            acc_b[q] = ((b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)) + (
                (b4 * v4 + b5 * v5) + (b6 * v6 + b7 * v7)
            )
    else:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            v4, v5, v6, v7 = r4[q], r5[q], r6[q], r7[q]
            acc_a[q] += ((a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)) + (
                (a4 * v4 + a5 * v5) + (a6 * v6 + a7 * v7)
            )
            acc_b[q] += ((b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)) + (
                (b4 * v4 + b5 * v5) + (b6 * v6 + b7 * v7)
            )


@_leaf
def _rows4(rows, ra, rb, rc, rd, planes, offs, wtaps, f, t, q0, blen, first):
    """Four filters, 8 taps each, sharing every load of the 8 input rows."""
    acc_a, acc_b, acc_c, acc_d = rows[ra], rows[rb], rows[rc], rows[rd]
    wa, wb, wc, wd = wtaps[f], wtaps[f + 1], wtaps[f + 2], wtaps[f + 3]
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    r4 = planes[offs[t + 4] + q0 : offs[t + 4] + q0 + blen]
    r5 = planes[offs[t + 5] + q0 : offs[t + 5] + q0 + blen]
    r6 = planes[offs[t + 6] + q0 : offs[t + 6] + q0 + blen]
    r7 = planes[offs[t + 7] + q0 : offs[t + 7] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    a4, a5, a6, a7 = wa[t + 4], wa[t + 5], wa[t + 6], wa[t + 7]
    b0, b1, b2, b3 = wb[t], wb[t + 1], wb[t + 2], wb[t + 3]
    b4, b5, b6, b7 = wb[t + 4], wb[t + 5], wb[t + 6], wb[t + 7]
    c0, c1, c2, c3 = wc[t], wc[t + 1], wc[t + 2], wc[t + 3]
    c4, c5, c6, c7 = wc[t + 4], wc[t + 5], wc[t + 6], wc[t + 7]
    d0, d1, d2, d3 = wd[t], wd[t + 1], wd[t + 2], wd[t + 3]
    d4, d5, d6, d7 = wd[t + 4], wd[t + 5], wd[t + 6], wd[t + 7]
    if first:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            v4, v5, v6, v7 = r4[q], r5[q], r6[q], r7[q]
            acc_a[q] = ((a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)) + (
                (a4 * v4 + a5 * v5) + (a6 * v6 + a7 * v7)
            )
            acc_b[q] = ((b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)) + (
                (b4 * v4 + b5 * v5) + (b6 * v6 + b7 * v7)
            )
            acc_c[q] = ((c0 * v0 + c1 * v1) + (c2 * v2 + c3 * v3)) + (
                (c4 * v4 + c5 * v5) + (c6 * v6 + c7 * v7)
            )
            acc_d[q] = ((d0 * v0 + d1 * v1) + (d2 * v2 + d3 * v3)) + (
                (d4 * v4 + d5 * v5) + (d6 * v6 + d7 * v7)
            )
    else:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            v4, v5, v6, v7 = r4[q], r5[q], r6[q], r7[q]
            acc_a[q] += ((a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)) + (
                (a4 * v4 + a5 * v5) + (a6 * v6 + a7 * v7)
            )
            acc_b[q] += ((b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)) + (
                (b4 * v4 + b5 * v5) + (b6 * v6 + b7 * v7)
            )
            acc_c[q] += ((c0 * v0 + c1 * v1) + (c2 * v2 + c3 * v3)) + (
                (c4 * v4 + c5 * v5) + (c6 * v6 + c7 * v7)
            )
            acc_d[q] += ((d0 * v0 + d1 * v1) + (d2 * v2 + d3 * v3)) + (
                (d4 * v4 + d5 * v5) + (d6 * v6 + d7 * v7)
            )


@_leaf
def _rows1(rows, ra, planes, offs, wtaps, f, t, q0, blen, first):
    """rows[ra] += sum of 8 taps with weights wtaps[f, t:t+8]."""
    acc, wa = rows[ra], wtaps[f]
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    r4 = planes[offs[t + 4] + q0 : offs[t + 4] + q0 + blen]
    r5 = planes[offs[t + 5] + q0 : offs[t + 5] + q0 + blen]
    r6 = planes[offs[t + 6] + q0 : offs[t + 6] + q0 + blen]
    r7 = planes[offs[t + 7] + q0 : offs[t + 7] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    a4, a5, a6, a7 = wa[t + 4], wa[t + 5], wa[t + 6], wa[t + 7]
    if first:
        for q in range(blen):
            acc[q] = ((a0 * r0[q] + a1 * r1[q]) + (a2 * r2[q] + a3 * r3[q])) + (
                (a4 * r4[q] + a5 * r5[q]) + (a6 * r6[q] + a7 * r7[q])
            )
    else:
        for q in range(blen):
            acc[q] += ((a0 * r0[q] + a1 * r1[q]) + (a2 * r2[q] + a3 * r3[q])) + (
                (a4 * r4[q] + a5 * r5[q]) + (a6 * r6[q] + a7 * r7[q])
            )


@_leaf
def _rows4_t4(rows, ra, rb, rc, rd, planes, offs, wtaps, f, t, q0, blen, first):
    """The same with 4 taps (the rest of a tap count that is not a multiple of 8)."""
    acc_a, acc_b, acc_c, acc_d = rows[ra], rows[rb], rows[rc], rows[rd]
    wa, wb, wc, wd = wtaps[f], wtaps[f + 1], wtaps[f + 2], wtaps[f + 3]
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    b0, b1, b2, b3 = wb[t], wb[t + 1], wb[t + 2], wb[t + 3]
    c0, c1, c2, c3 = wc[t], wc[t + 1], wc[t + 2], wc[t + 3]
    d0, d1, d2, d3 = wd[t], wd[t + 1], wd[t + 2], wd[t + 3]
    if first:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            acc_a[q] = (a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)
            acc_b[q] = (b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)
            acc_c[q] = (c0 * v0 + c1 * v1) + (c2 * v2 + c3 * v3)
            acc_d[q] = (d0 * v0 + d1 * v1) + (d2 * v2 + d3 * v3)
    else:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            acc_a[q] += (a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)
            acc_b[q] += (b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)
            acc_c[q] += (c0 * v0 + c1 * v1) + (c2 * v2 + c3 * v3)
            acc_d[q] += (d0 * v0 + d1 * v1) + (d2 * v2 + d3 * v3)


@_leaf
def _rows2_t4(rows, ra, rb, planes, offs, wtaps, f, t, q0, blen, first):
    """The same with 4 taps (the rest of a tap count that is not a multiple of 8)."""
    acc_a, acc_b = rows[ra], rows[rb]
    wa, wb = wtaps[f], wtaps[f + 1]
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    b0, b1, b2, b3 = wb[t], wb[t + 1], wb[t + 2], wb[t + 3]
    if first:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            acc_a[q] = (a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)
            acc_b[q] = (b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)
    else:
        for q in range(blen):
            v0, v1, v2, v3 = r0[q], r1[q], r2[q], r3[q]
            acc_a[q] += (a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)
            acc_b[q] += (b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)


@_leaf
def _rows1_t4(rows, ra, planes, offs, wtaps, f, t, q0, blen, first):
    """The same with 4 taps (the rest of a tap count that is not a multiple of 8)."""
    acc, wa = rows[ra], wtaps[f]
    r0 = planes[offs[t] + q0 : offs[t] + q0 + blen]
    r1 = planes[offs[t + 1] + q0 : offs[t + 1] + q0 + blen]
    r2 = planes[offs[t + 2] + q0 : offs[t + 2] + q0 + blen]
    r3 = planes[offs[t + 3] + q0 : offs[t + 3] + q0 + blen]
    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
    if first:
        for q in range(blen):
            acc[q] = (a0 * r0[q] + a1 * r1[q]) + (a2 * r2[q] + a3 * r3[q])
    else:
        for q in range(blen):
            acc[q] += (a0 * r0[q] + a1 * r1[q]) + (a2 * r2[q] + a3 * r3[q])


@njit
def _all_filters(rows, base, step, planes, offs, wtaps, q0, blen, first):
    """rows[base + f * step][:blen] += sum_t wtaps[f, t] * planes[offs[t] + q0 + q].

    Four filters per pass where possible, then two, then one; 8 taps per pass and a last
    pass of 4 (the tap count is a multiple of 4). With ``first`` the rows are
    overwritten instead (no zeroing pass).
    """
    n_filters, n_taps = wtaps.shape
    n8 = n_taps - n_taps % 8
    f = 0
    while f + 4 <= n_filters:
        ra, rb = base + f * step, base + (f + 1) * step
        rc, rd = base + (f + 2) * step, base + (f + 3) * step
        for t in range(0, n8, 8):
            _rows4(
                rows,
                ra,
                rb,
                rc,
                rd,
                planes,
                offs,
                wtaps,
                f,
                t,
                q0,
                blen,
                first and t == 0,
            )
        if n8 < n_taps:
            _rows4_t4(
                rows,
                ra,
                rb,
                rc,
                rd,
                planes,
                offs,
                wtaps,
                f,
                n8,
                q0,
                blen,
                first and n8 == 0,
            )
        f += 4
    if f + 2 <= n_filters:
        ra, rb = base + f * step, base + (f + 1) * step
        for t in range(0, n8, 8):
            _rows2(rows, ra, rb, planes, offs, wtaps, f, t, q0, blen, first and t == 0)
        if n8 < n_taps:
            _rows2_t4(
                rows, ra, rb, planes, offs, wtaps, f, n8, q0, blen, first and n8 == 0
            )
        f += 2
    if f < n_filters:
        ra = base + f * step
        for t in range(0, n8, 8):
            _rows1(rows, ra, planes, offs, wtaps, f, t, q0, blen, first and t == 0)
        if n8 < n_taps:
            _rows1_t4(rows, ra, planes, offs, wtaps, f, n8, q0, blen, first and n8 == 0)
