"""Every tuning threshold and block size that picks or shapes a convolution path.

One module, as stumpy keeps its ``config.py``: ``kernels.conv._plan`` reads the
thresholds that choose a path, the path modules read the sizes that shape their work
items. Each value names the measurement that chose it (2 threads, batch 128 unless
said otherwise; see the commits that introduced them). ``tests/test_conv_plan.py``
asserts which path representative cases take, so a moved threshold fails a test.
"""

from __future__ import annotations

# -- the direct pass on phase planes (kernels._conv_planes)

# Target flat length of one work item (output rows * plane width): several rows of a
# small image per block, one row of a wide one. Chosen with the first phase-plane pass
# (a97e0ec); no figure was recorded.
PLANES_BLOCK = 1024

# -- wide planes (kernels._conv_wide), stride 1 only

# Padded pixels (HP * WP) up to which stride-1 passes run many images per pass; LeNet's
# 32x32 "same" input (1,024) is in, 40x40 (1,600) the largest. From b1a4050 (a pass
# over one 28x28 image was mostly fixed cost); no cut-off figure was recorded.
WIDE_MAX_PIXELS = 1600

# Taps per filter (C * KH * KW) from which the forward takes wide planes. LeNet 1 -> 6,
# 5x5 on 28x28: 1.0 -> 0.7 ms; 6 -> 16 on 14x14: 1.9 -> 1.0 ms; but 1 -> 32, 3x3
# (9 taps) was faster per image (forward 3.7 vs 5.7 ms) (3e7ca6a).
WIDE_MIN_TAPS = 16

# Values of one wide work item's sums (filters * images * slot width): 64 KB of float32
# sums, sized in 3e7ca6a (replaced a 4,096-value run per item).
WIDE_ACC = 16384

# Values of one grad-weight block on wide planes, so the pieces of grad_out and of the
# planes stay in cache across all (filter, tap) pairs: 2,048 -> 1,024 in 3e7ca6a.
WIDE_CHUNK = 1024

# The weight gradient takes wide planes only with many taps and few filters: LeNet
# 6 -> 16, 5x5 (150 taps): 2.3 -> 1.8 ms; 32 -> 32, 3x3 (288 taps): 6.8 -> 6.1 ms; with
# 64 filters the per-image planes were faster (128x32x14x14 -> 64, 3x3: 15.6 vs
# 13.4 ms) (9812bd6); with fewer taps the dots are faster.
WIDE_GRAD_WEIGHT_MIN_TAPS = 64
WIDE_GRAD_WEIGHT_MAX_FILTERS = 32

# -- weight gradient by dot products (kernels._conv_dots)

# Dots (one per image, filter and tap) beat the gathered (pixels, taps) scratch when
# taps are few: LeNet's first layer, 25 taps: 3.4 -> 1.2 ms; with 150 taps the scratch
# was faster, 1.5 vs 2.7 ms (9cffb96). Taps must be below DOTS_MAX_TAPS.
DOTS_MAX_TAPS = 64
# ...and images small, so an image's planes stay in cache for all its dots (H * W at
# most this; 9cffb96, no cut-off figure recorded).
DOTS_MAX_PIXELS = 4096

# -- Winograd F(2x2, 3x3) (kernels._conv_winograd), 3x3 stride 1 dilation 1 only

# Channels and filters both at least this (a CNN's hidden layers); below it the
# transforms cost more than the 36 -> 16 multiplications save (4d1c840; no figure
# recorded).
WINOGRAD_MIN_CHANNELS = 8

# Tiles per Winograd work item (then rounded to a multiple of the thread count)
# (4d1c840; no figure recorded).
WINOGRAD_TILES_PER_TASK = 512

# -- Winograd F(2x2, 3x3) with sgemm (kernels._conv_wingemm)

# Bytes of transformed values (16 x (C + F) floats a tile) one chunk of images holds,
# so the chunk stays in a core's 2 MB L2 between the transform and the sgemm. Process
# CPU ms (2 workers, load 4-8) at 0.5 / 1 / 2 / 4 / 8 MB: 128x32x14x14 -> 64 forward
# 10.8 / 10.3 / 10.6 / 11.3 / 13.1, 128x32x28x28 -> 32 valid 29.3 / 20.9 / 22.5 /
# 25.8 / 26.0; weight gradient 28x28: 1 MB 22.7, 4 MB 30.3, 8 MB 33.3. Re-measured for
# the 1 MB L2 (one thread, min thread-CPU ms fwd / gi / gw, load 3): 0.5 MB
# 8.99 / 8.81 / 9.60, 1 MB 8.92 / 8.86 / 9.96, 2 MB 9.32 / 8.91 / 9.85 on 14x14 (6
# images a chunk: the tile minimum below decides); 28x28 0.5 / 1 / 2 / 4 MB gw 21.3 /
# 21.7 / 21.2 / 27.3; flat to 2 MB, kept.
WINGEMM_CHUNK_BYTES = 1 << 20
# ...but at least this many tiles, so that each of the 16 transformed weight matrices
# BLAS packs is used on a wide enough block (VGG16's 512 -> 512 layers on 4x4 images
# read 16 MB of weights for every 20 tiles).
WINGEMM_MIN_CHUNK_TILES = 256

# Work (tiles x channels x filters of the whole batch; 16 multiply-adds each in the
# sgemm stage) from which the forward and the input gradient take it over the numba
# Winograd loop. Wall ms old / new in one process (load 5-9, so +-50%): work 802,816
# (16x32x14x14 -> 32) forward 2.5 / 1.6, grad input 2.6 / 1.1; 401,408 (8x32x14x14
# -> 32) 0.8 / 1.9 and 0.8 / 0.9; 2,048 x 64 (128x8x8x8 -> 8) 0.5 / 0.9. The value
# itself is 524,800 so that both it and one less are reachable shapes (8200 x 8 x 8
# and 6479 x 9 x 9 one-tile images), and tests/test_conv_plan.py pins it both ways.
WINGEMM_MIN_WORK = 524_800
# ...and the weight gradient over the wide, dot and plane paths: old / new process
# CPU ms (2 workers): 128x32x14x14 -> 64 planes 20.5 / 14.6, 128x32x28x28 -> 32 wide
# 28.8 / 22.7, 32x64x16x16 -> 128 planes 20.3 / 28.4 (lost), 32x32x16x16 -> 64
# 6.3 / 10.9 wall (lost): a rule between the last two and the first two was not
# found in the time; one threshold for now.
WINGEMM_GRAD_WEIGHT_MIN_WORK = 524_800
# The weight gradient's input transform writes V^T (16, L, C) for a contiguous sgemm
# operand when filters >= this many times the channels, else V (16, C, L) read as a
# transposed view: one chunk, one thread, transform + sgemm ms, V / V^T:
# 128x32x14x14 -> 64 0.105 + 0.288 / 0.146 + 0.177 (the sgemm 67 -> 109 GFLOP/s);
# 32x64x16x16 -> 128 0.273 + 0.993 / 0.329 + 0.845; 128x32x28x28 -> 32
# 0.117 + 0.145 / 0.172 + 0.105 (lost: the sgemm's gain grows with F, the
# transform's cost (0.7 -> 1.0 ns a value, strided stores) does not). Load 3.5.
# Re-measured with the vectorised V transform (V^T keeps the scalar loop), batch ms
# one thread (profile_wingemm, load 2.5), transform + sgemm, V / V^T: 14x14 -> 64
# 1.80 + 6.38 / 3.13 + 3.84; 16x16 -> 128 1.28 + 8.29 / 2.56 + 6.57; 28x28 -> 32
# 4.96 + 7.69 / 14.1 + 6.51: the same sides of the ratio.
WINGEMM_GRAD_WEIGHT_VT_RATIO = 2

# -- im2col + sgemm for few taps (kernels._conv_gemm's forward and grad_weight)

# The forward and the weight gradient take it (stride 1, dilation 1, a batch of >= 2
# images) with at least GEMM_MIN_FILTERS filters, at most GEMM_MAX_TAPS taps (C * KH *
# KW) and at most GEMM_MAX_PIXELS output pixels an image. Wall ms, 2 threads, this
# path / the old one (load 1.7-2.7, +-20%): 128x3x32x32 -> 32 3x3 pad 1 forward 2.69 /
# 4.57, grad weight 2.83 / 5.71; 128x1x28x28 -> 32 3x3 valid 1.10 / 2.18, 1.08 / 2.27;
# 64x3x32x32 -> 32 0.93 / 1.53, 1.06 / 2.21; 128x3x32x32 -> 16 2.36 / 3.29, 2.63 /
# 3.51; 2x3x32x32 -> 32 0.22 / 0.46, 0.24 / 0.34; 128x7x16x16 -> 32 (63 taps) 2.35 /
# 8.02, 8.94 / 11.55. Lost with 6 filters (a thin sgemm): LeNet's 128x1x28x28 -> 6
# 5x5 pad 2, grad weight 1.50 / 1.04 (forward 1.10 / 1.13); 64x3x32x32 -> 6 5x5
# 3.23 / 2.16; with 16 filters and 150 taps (LeNet's 6 -> 16 5x5 on 14x14) grad
# weight 1.46 / 1.01; at 64x64 (4,096 pixels) the forward, 47.4 / 33.8 (48x48 won,
# 22.6 / 32.6, but its grad weight tied, 41.4 / 39.9).
# (Those figures are of the first version; with the long-run im2col and chunks
# claimed one at a time, 128x3x32x32 -> 32 pad 1 ran forward 2.0-2.2 ms, grad weight
# 2.0-2.2 at load 0.3, and 2.4-2.8 / 2.1-2.3 at load 1; torch 2.2 / 2.2 at load 0.2.)
GEMM_MIN_FILTERS = 16
GEMM_MAX_TAPS = 63
GEMM_MAX_PIXELS = 1024

# Bytes of one chunk's im2col buffer (then at least one image, and at least one chunk
# per worker). Thread CPU ms, one worker, 128x3x32x32 -> 32 forward / grad weight at
# 64, 128, 256, 512 KB and 1 MB: 5.46 / 5.40, 4.77 / 4.83, 4.68 / 5.21, 4.45 / 4.84,
# 5.33 / 5.27; wall, 2 workers, at 128 / 256 / 512 KB: 3.79 / 3.98, 3.50 / 3.32,
# 3.22 / 2.77.
GEMM_CHUNK_BYTES = 1 << 19

# -- single-image rows: "blocks" (kernels._conv_planes._conv_blocks)

# Values of one "blocks" work item's phase planes (its output rows plus the halo, every
# channel and phase): 64 K floats (256 KB) stay in a core's 1 MB L2 beside the output
# rows being written.
BLOCKS_FLOATS = 65536
# ...but at least this many output rows per item, so the halo's re-gathered rows stay
# a small share (a 4K row: 3 x 3842 plane columns leave 5 rows in 64 K).
BLOCKS_MIN_ROWS = 8
# Plane width (padded input width / stride) from which a forward that would take
# "planes" takes "blocks": the widths where "planes" runs one output row per pass
# (PLANES_BLOCK // width == 1), so both compute the same passes and "blocks" saves the
# full-size planes (written, then read back: 2 x 100 MB for a 4K photo) and one
# parallel region. Process CPU ms, 1x3x512x512 "same" (width 514), 2 threads, load 4:
# 3x3 2.96 -> 2.79, 5x5 6.09 -> 5.68, 11x11 21.3 -> 20.1. At stride 2 (width 257)
# "planes" passes 3 rows at once and "blocks", one row, lost: 3x3 0.78 vs 0.90.
BLOCKS_MIN_WIDTH = PLANES_BLOCK // 2 + 1
