// SGEMM on weights packed once into panels of 16 columns, with bias, residual and activation
// applied to each tile while it is still in registers:
//   C[i, j] = act(residual[i, j] + Σ_k A[i, k]·B[k, j] + bias[j])
// A is read in place (row-major, lda), so thin operands (K or N of 16…64) cost no packing and
// small-M layers (7×7 maps) do not repack megabytes of weights on every call, the two cases where
// OpenBLAS's per-call packing costs as much as its arithmetic.
//
// Blocking (GotoBLAS order without packing A): K in blocks of ≤ 512
// (partial sums kept in C between blocks); rows in chunks whose A block fits in L2; per chunk,
// each pair of panels (32 columns: a B block of ≤ 64 KiB, in L1 or L2) against every 8-row tile
// (AVX-512: 8×32 accumulators in 16 registers), or each panel (≤ 32 KiB, in L1 or L2) against every
// 6-row tile (AVX2: 6×16 in 12). Portable C: one row × one panel at a time.
//
// The same tiles run the implicit-GEMM convolution (`pw_conv_implicit_packed`): A's row for an
// output pixel is read as the kernel's segments of the (padded) input in place, never copied out.
#include "isa.h"

#define GEMM_PANEL 16
// K block: 512 on AVX-512, where the C round trips between blocks cost more than B's panel pair
// (64 KiB) outgrowing L1 (standalone harness, AMD EPYC Zen 4, A, B and C cycling through 8 copies:
// 196×512×512 108 → 112 GFLOP/s, 49×1024×1024 and 784×512×256 unchanged). 512 on AVX2 too: a
// panel's K blocks then lie end to end, so B streams from memory as one run instead of pieces of
// 16 KiB 16 KiB apart (K = 512; same harness, AVX2 code, B cold in 16 copies, GFLOP/s 256 → 512:
// 49×512×2048 82 → 92, 16×512×512 60 → 79; 784×512×256 in 8 copies 107 → 109, where an earlier
// measurement had found 512 slower, 104 → 92).
#define GEMM_K_BLOCK_AVX512 512
#define GEMM_K_BLOCK_AVX2 512
// Lines of B the first tile of a row chunk asks for ahead of its loads (AVX2): that tile reads
// the panel from memory or L3 (the chunk's later tiles find it in L1 or L2), and one 16-column
// panel is one stream, too few misses in flight for the hardware prefetcher alone (same harness,
// B cold: 49×512×2048 92 → 100 GFLOP/s, 16×512×512 79 → 84, 196×512×512 106 → 109; warm
// unchanged). Not when a chunk is one tile (M ≤ 6): there the prefetch was mixed (B cold,
// 6×1280×1000 38 → 51 GFLOP/s, but the classifier's 1×1024×1000 16.7 → 13.8).
// AVX-512 reads two panels, two streams: the same prefetch there was mixed (B cold: 16×512×512
// 104 → 111, 49×512×2048 106 → 103), not kept. 16 lines ahead is short of DRAM's latency, but 32
// and 64 measured the same within the noise (B from DRAM: 49×512×2048 102 GFLOP/s each).
#define GEMM_B_AHEAD_AVX2 16
#define GEMM_A_BLOCK_BYTES (256 * 1024)
#define GEMM_B_L1_BYTES (64 * 1024)

size_t pw_gemm_packed_floats(size_t k, size_t n) { return (n + GEMM_PANEL - 1) / GEMM_PANEL * GEMM_PANEL * k; }

void pw_gemm_pack_b(size_t k, size_t n, const float *b, size_t ldb, int transposed, float *packed) {
    size_t panels = (n + GEMM_PANEL - 1) / GEMM_PANEL;
    for (size_t p = 0; p < panels; p++) {
        float *panel = packed + p * k * GEMM_PANEL;
        for (size_t kk = 0; kk < k; kk++) {
            for (size_t j = 0; j < GEMM_PANEL; j++) {
                size_t column = p * GEMM_PANEL + j;
                panel[kk * GEMM_PANEL + j] = column >= n ? 0.0f : transposed ? b[column * ldb + kk] : b[kk * ldb + column];
            }
        }
    }
}

/// The K blocks: `count` blocks of `size` ≤ `limit` (the last one shorter), sizes a multiple of 4.
PW_INLINE void gemm_k_blocks(size_t k, size_t limit, size_t *count, size_t *size) {
    size_t blocks = (k + limit - 1) / limit;
    if (blocks == 0) blocks = 1;
    size_t s = (k + blocks - 1) / blocks;
    s = (s + 3) / 4 * 4;
    *count = blocks;
    *size = s ? s : 1;
}

/// Rows per chunk, a multiple of `mr`: one tile when the K block of every panel fits in L1 (each
/// tile then sweeps all columns while its rows of A are in L1, and writes whole output rows), else
/// as many as keep the chunk's A block (rows × kc floats) in L2, each panel reused across them.
PW_INLINE size_t gemm_row_chunk(size_t kc, size_t columns, size_t mr) {
    if (kc * (columns + GEMM_PANEL - 1) / GEMM_PANEL * GEMM_PANEL * sizeof(float) <= GEMM_B_L1_BYTES) return mr;
    size_t rows = GEMM_A_BLOCK_BYTES / (kc * sizeof(float));
    rows = rows / mr * mr;
    return rows < mr ? mr : rows;
}

#define CONV_PARAMETERS \
    size_t first, size_t rows, size_t rows_per_image, size_t width, size_t n, const float *a, size_t image_stride, \
    size_t row_stride, size_t pixel_stride, const ptrdiff_t *offsets, size_t segments, size_t length, \
    const float *packed, float *c, size_t ldc, const float *bias, const float *residual, size_t ldr, pw_activation act
#define CONV_ARGUMENTS \
    first, rows, rows_per_image, width, n, a, image_stride, row_stride, pixel_stride, offsets, segments, length, \
    packed, c, ldc, bias, residual, ldr, act

// MARK: Portable

static void gemm_packed_portable(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                                 size_t column_begin, size_t column_end, float *c, size_t ldc, const float *bias,
                                 const float *residual, size_t ldr, pw_activation act) {
    for (size_t p = column_begin / GEMM_PANEL; p * GEMM_PANEL < column_end; p++) {
        const float *panel = packed + p * k * GEMM_PANEL;
        size_t j0 = p * GEMM_PANEL, width = pw_min(GEMM_PANEL, column_end - j0);
        for (size_t i = 0; i < m; i++) {
            float acc[GEMM_PANEL];
            for (size_t j = 0; j < GEMM_PANEL; j++) acc[j] = residual && j < width ? residual[i * ldr + j0 + j] : 0.0f;
            const float *row = a + i * lda;
            for (size_t kk = 0; kk < k; kk++) {
                float x = row[kk];
                for (size_t j = 0; j < GEMM_PANEL; j++) acc[j] += x * panel[kk * GEMM_PANEL + j];
            }
            float *out = c + i * ldc + j0;
            for (size_t j = 0; j < width; j++) out[j] = acc[j] + (bias ? bias[j0 + j] : 0.0f);
            pw_act_row_portable(out, width, act);
        }
    }
    (void)n;
}

static void conv_implicit_portable(CONV_PARAMETERS) {
    size_t k = segments * length;
    for (size_t y = first; y < first + rows; y++) {
        for (size_t x = 0; x < width; x++) {
            const float *pixel = a + y / rows_per_image * image_stride + y % rows_per_image * row_stride + x * pixel_stride;
            size_t index = y * width + x;
            for (size_t j0 = 0; j0 < n; j0 += GEMM_PANEL) {
                const float *panel = packed + j0 * k;
                size_t count = pw_min(GEMM_PANEL, n - j0);
                float acc[GEMM_PANEL];
                for (size_t j = 0; j < GEMM_PANEL; j++) acc[j] = residual && j < count ? residual[index * ldr + j0 + j] : 0.0f;
                for (size_t s = 0; s < segments; s++)
                    for (size_t q = 0; q < length; q++) {
                        float v = pixel[offsets[s] + (ptrdiff_t)q];
                        for (size_t j = 0; j < GEMM_PANEL; j++) acc[j] += v * panel[(s * length + q) * GEMM_PANEL + j];
                    }
                float *out = c + index * ldc + j0;
                for (size_t j = 0; j < count; j++) out[j] = acc[j] + (bias ? bias[j0 + j] : 0.0f);
                pw_act_row_portable(out, count, act);
            }
        }
    }
}

#if PW_X86

/// A plain GEMM's A: one segment, at offset 0.
static const ptrdiff_t gemm_one_segment[1] = {0};

/// Asks for the lines of the tile's output before its arithmetic, so that when C is not in cache
/// (a fresh activation buffer of megabytes), the reads for ownership overlap the FMAs instead of
/// stalling the stores at the end (12544×16×96 with cold A and C: 0.77 → 0.60 ms on AMD EPYC,
/// AVX-512; nothing measurable when C is cached). Not when the tile starts from C (a later K
/// block): its loads have just brought the lines in.
PW_INLINE void gemm_prefetch_tile(const float *c, size_t ldc, size_t rows, size_t columns) {
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < columns; j += 16) _mm_prefetch((const char *)(c + r * ldc + j), _MM_HINT_T0);
}

// MARK: AVX2: 6 rows × 16 columns (one panel, two vectors of 8), or × 8 for a panel's last 8.

PW_AVX2 PW_INLINE void gemm_tile_avx2(const size_t mr, const size_t nv, const ptrdiff_t *segments, size_t count,
                                      size_t kc, const float *a, size_t lda,
                                      const float *b, float *c, size_t ldc, const float *init, size_t ldi,
                                      int last, const float *bias, __m256i k0, __m256i k1, int full, size_t ahead,
                                      pw_activation act) {
    // vmaskmovps stores are slow on AMD (microcoded): whole vectors use plain loads and stores,
    // masks only for the panel's last, partial vector (`full`: the tile's columns are all valid).
#define LOAD_COLUMNS(p, j) (full ? _mm256_loadu_ps(p) : _mm256_maskload_ps((p), mask[j]))
#define STORE_COLUMNS(p, j, v) do { if (full) _mm256_storeu_ps((p), (v)); else _mm256_maskstore_ps((p), mask[j], (v)); } while (0)
    __m256 acc[6][2];
    __m256i mask[2] = {k0, k1};
    for (size_t r = 0; r < mr; r++)
        for (size_t j = 0; j < nv; j++)
            acc[r][j] = init ? LOAD_COLUMNS(init + r * ldi + 8 * j, j) : _mm256_setzero_ps();
    if (init != c) gemm_prefetch_tile(c, ldc, mr, nv * 8);
    for (size_t s = 0; s < count; s++) {
        const float *as = a + segments[s], *bs = b + s * kc * GEMM_PANEL;
#define GEMM_AVX2_STEP(p) do { \
            __m256 w0 = _mm256_loadu_ps(bs + (p) * GEMM_PANEL), w1 = nv > 1 ? _mm256_loadu_ps(bs + (p) * GEMM_PANEL + 8) : w0; \
            for (size_t r = 0; r < mr; r++) { \
                __m256 x = _mm256_broadcast_ss(as + r * lda + (p)); \
                acc[r][0] = _mm256_fmadd_ps(x, w0, acc[r][0]); \
                if (nv > 1) acc[r][1] = _mm256_fmadd_ps(x, w1, acc[r][1]); \
            } \
        } while (0)
        // A line of B per step (16 floats) `ahead` steps ahead, while that stays in the block;
        // the last steps, and tiles with ahead = 0, without.
        size_t p = 0, prefetching = ahead && kc > ahead ? kc - ahead : 0;
        for (; p < prefetching; p++) {
            _mm_prefetch((const char *)(bs + (p + ahead) * GEMM_PANEL), _MM_HINT_T0);
            GEMM_AVX2_STEP(p);
        }
        for (; p < kc; p++) GEMM_AVX2_STEP(p);
#undef GEMM_AVX2_STEP
    }
    if (last) {
        __m256 va = _mm256_set1_ps(act.alpha), vb = _mm256_set1_ps(act.beta);
        for (size_t j = 0; j < nv; j++) {
            __m256 bj = bias ? LOAD_COLUMNS(bias + 8 * j, j) : _mm256_setzero_ps();
            for (size_t r = 0; r < mr; r++)
                STORE_COLUMNS(c + r * ldc + 8 * j, j, pw_act8(_mm256_add_ps(acc[r][j], bj), act.kind, va, vb));
        }
    } else {
        for (size_t r = 0; r < mr; r++)
            for (size_t j = 0; j < nv; j++) STORE_COLUMNS(c + r * ldc + 8 * j, j, acc[r][j]);
    }
#undef LOAD_COLUMNS
#undef STORE_COLUMNS
}

#define GEMM_TILE_AVX2_CASE(MR, SEGMENTS, COUNT, AHEAD) \
    case MR: if (nv > 1) { if (full) gemm_tile_avx2(MR, 2, SEGMENTS, COUNT, kc, a, lda, b, c, ldc, init, ldi, last, bias, k0, k1, 1, AHEAD, act); \
                           else gemm_tile_avx2(MR, 2, SEGMENTS, COUNT, kc, a, lda, b, c, ldc, init, ldi, last, bias, k0, k1, 0, AHEAD, act); } \
             else if (full) gemm_tile_avx2(MR, 1, SEGMENTS, COUNT, kc, a, lda, b, c, ldc, init, ldi, last, bias, k0, k1, 1, AHEAD, act); \
             else gemm_tile_avx2(MR, 1, SEGMENTS, COUNT, kc, a, lda, b, c, ldc, init, ldi, last, bias, k0, k1, 0, AHEAD, act); break;
#define GEMM_TILE_AVX2_SWITCH(SEGMENTS, COUNT, AHEAD) \
    switch (mr) { \
    GEMM_TILE_AVX2_CASE(6, SEGMENTS, COUNT, AHEAD) GEMM_TILE_AVX2_CASE(5, SEGMENTS, COUNT, AHEAD) GEMM_TILE_AVX2_CASE(4, SEGMENTS, COUNT, AHEAD) \
    GEMM_TILE_AVX2_CASE(3, SEGMENTS, COUNT, AHEAD) GEMM_TILE_AVX2_CASE(2, SEGMENTS, COUNT, AHEAD) GEMM_TILE_AVX2_CASE(1, SEGMENTS, COUNT, AHEAD) \
    default: break; \
    }

PW_AVX2 static void gemm_tile_avx2_any(size_t mr, size_t nv, size_t kc, const float *a, size_t lda, const float *b,
                                       float *c, size_t ldc, const float *init, size_t ldi, int last, const float *bias,
                                       __m256i k0, __m256i k1, int full, size_t ahead, pw_activation act) {
    GEMM_TILE_AVX2_SWITCH(gemm_one_segment, 1, ahead)
}

/// The implicit-GEMM convolution's tile: A's row r is `count` segments of kc floats at
/// a + segments[s] + r·lda (see `pw_conv_implicit_packed`).
PW_AVX2 static void conv_tile_avx2_any(size_t mr, size_t nv, const ptrdiff_t *segments, size_t count, size_t kc,
                                       const float *a, size_t lda, const float *b, float *c, size_t ldc,
                                       const float *init, size_t ldi, int last, const float *bias,
                                       __m256i k0, __m256i k1, int full, pw_activation act) {
    // No B prefetch: one row of tiles per output row, each sweeping every panel, so B stays in cache.
    GEMM_TILE_AVX2_SWITCH(segments, count, 0)
}

// MARK: AVX-512: 8 rows × 32 columns (two panels, one vector each), or × 16 for a single panel.
//
// 8 rows, not the 12 that fit in the registers (MLAS's choice): on AMD EPYC (Zen 4, AVX-512 on
// 256-bit units) 12-row tiles ran 5–25 % slower than 8-row ones in a standalone harness around
// `pw_gemm_packed` (warm caches, min of 60, GFLOP/s 12 → 8 rows: 196×1024×256 106 → 116,
// 3136×64×256 104 → 110, 12544×16×96 71 → 92, 196×512×512 113 → 115); 6 or 5 rows × 64 columns
// and 8 × 48 were no better than 8 × 32.

PW_AVX512 PW_INLINE void gemm_tile_avx512(const size_t mr, const size_t nv, const ptrdiff_t *segments, size_t count,
                                          size_t kc, const float *a, size_t lda,
                                          const float *b0, const float *b1, float *c, size_t ldc, const float *init,
                                          size_t ldi, int last, const float *bias, __mmask16 k0, __mmask16 k1,
                                          pw_activation act) {
    // Plain loads and stores for whole vectors, masks only for the panel's last, partial one.
#define LOAD_COLUMNS(p, j) (mask[j] == (__mmask16)0xFFFF ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask[j], (p)))
#define STORE_COLUMNS(p, j, v) do { if (mask[j] == (__mmask16)0xFFFF) _mm512_storeu_ps((p), (v)); else _mm512_mask_storeu_ps((p), mask[j], (v)); } while (0)
    __m512 acc[8][2];
    __mmask16 mask[2] = {k0, k1};
    for (size_t r = 0; r < mr; r++)
        for (size_t j = 0; j < nv; j++)
            acc[r][j] = init ? LOAD_COLUMNS(init + r * ldi + 16 * j, j) : _mm512_setzero_ps();
    if (init != c) gemm_prefetch_tile(c, ldc, mr, nv * 16);
    for (size_t s = 0; s < count; s++) {
        const float *as = a + segments[s], *bs0 = b0 + s * kc * GEMM_PANEL, *bs1 = b1 + s * kc * GEMM_PANEL;
        for (size_t p = 0; p < kc; p++) {
            __m512 w0 = _mm512_loadu_ps(bs0 + p * GEMM_PANEL), w1 = nv > 1 ? _mm512_loadu_ps(bs1 + p * GEMM_PANEL) : w0;
            for (size_t r = 0; r < mr; r++) {
                __m512 x = _mm512_set1_ps(as[r * lda + p]);
                acc[r][0] = _mm512_fmadd_ps(x, w0, acc[r][0]);
                if (nv > 1) acc[r][1] = _mm512_fmadd_ps(x, w1, acc[r][1]);
            }
        }
    }
    if (last) {
        __m512 va = _mm512_set1_ps(act.alpha), vb = _mm512_set1_ps(act.beta);
        for (size_t j = 0; j < nv; j++) {
            __m512 bj = bias ? LOAD_COLUMNS(bias + 16 * j, j) : _mm512_setzero_ps();
            for (size_t r = 0; r < mr; r++)
                STORE_COLUMNS(c + r * ldc + 16 * j, j, pw_act16(_mm512_add_ps(acc[r][j], bj), act.kind, va, vb));
        }
    } else {
        for (size_t r = 0; r < mr; r++)
            for (size_t j = 0; j < nv; j++) STORE_COLUMNS(c + r * ldc + 16 * j, j, acc[r][j]);
    }
#undef LOAD_COLUMNS
#undef STORE_COLUMNS
}

#define GEMM_TILE_AVX512_CASE(MR, SEGMENTS, COUNT) \
    case MR: if (nv > 1) gemm_tile_avx512(MR, 2, SEGMENTS, COUNT, kc, a, lda, b0, b1, c, ldc, init, ldi, last, bias, k0, k1, act); \
             else gemm_tile_avx512(MR, 1, SEGMENTS, COUNT, kc, a, lda, b0, b1, c, ldc, init, ldi, last, bias, k0, k1, act); break;
#define GEMM_TILE_AVX512_SWITCH(SEGMENTS, COUNT) \
    switch (mr) { \
    GEMM_TILE_AVX512_CASE(8, SEGMENTS, COUNT) GEMM_TILE_AVX512_CASE(7, SEGMENTS, COUNT) \
    GEMM_TILE_AVX512_CASE(6, SEGMENTS, COUNT) GEMM_TILE_AVX512_CASE(5, SEGMENTS, COUNT) \
    GEMM_TILE_AVX512_CASE(4, SEGMENTS, COUNT) GEMM_TILE_AVX512_CASE(3, SEGMENTS, COUNT) \
    GEMM_TILE_AVX512_CASE(2, SEGMENTS, COUNT) GEMM_TILE_AVX512_CASE(1, SEGMENTS, COUNT) \
    default: break; \
    }

PW_AVX512 static void gemm_tile_avx512_any(size_t mr, size_t nv, size_t kc, const float *a, size_t lda, const float *b0,
                                           const float *b1, float *c, size_t ldc, const float *init, size_t ldi, int last,
                                           const float *bias, __mmask16 k0, __mmask16 k1, pw_activation act) {
    GEMM_TILE_AVX512_SWITCH(gemm_one_segment, 1)
}

PW_AVX512 static void conv_tile_avx512_any(size_t mr, size_t nv, const ptrdiff_t *segments, size_t count, size_t kc,
                                           const float *a, size_t lda, const float *b0, const float *b1, float *c,
                                           size_t ldc, const float *init, size_t ldi, int last, const float *bias,
                                           __mmask16 k0, __mmask16 k1, pw_activation act) {
    GEMM_TILE_AVX512_SWITCH(segments, count)
}

/// Columns [j0, j0 + count) of a vector of 16 that lie before `end`: the store mask.
PW_AVX512 PW_INLINE __mmask16 gemm_mask16(size_t j0, size_t end) {
    return j0 >= end ? 0 : end - j0 >= 16 ? (__mmask16)0xFFFF : pw_mask16(end - j0);
}

PW_AVX2 PW_INLINE __m256i gemm_mask8(size_t j0, size_t end) {
    return j0 >= end ? _mm256_setzero_si256() : end - j0 >= 8 ? _mm256_set1_epi32(-1) : pw_mask8(end - j0);
}

// The blocked loop: K blocks outermost (partial sums in C between them), row chunks, groups of
// STEP panels, tiles of MR rows; TILE(rows, nv, kn, ai, b0, b1, ci, init, ldi, last, bj, j0) computes one.
#define GEMM_DRIVER(MR, STEP, NV, KB, TILE) \
    size_t blocks, kc; \
    gemm_k_blocks(k, KB, &blocks, &kc); \
    size_t chunk = gemm_row_chunk(kc, column_end - column_begin, MR); \
    size_t first_panel = column_begin / GEMM_PANEL, end_panel = (column_end + GEMM_PANEL - 1) / GEMM_PANEL; \
    for (size_t kb = 0; kb < blocks; kb++) { \
        size_t k0 = kb * kc; \
        if (k0 >= k && k > 0) break; \
        size_t kn = k == 0 ? 0 : pw_min(kc, k - k0); \
        int last = k0 + kn >= k; \
        for (size_t i0 = 0; i0 < m; i0 += chunk) { \
            size_t i1 = pw_min(m, i0 + chunk); \
            for (size_t p = first_panel; p < end_panel; p += STEP) { \
                size_t j0 = p * GEMM_PANEL; \
                size_t nv = NV; \
                const float *b0 = packed + p * k * GEMM_PANEL + k0 * GEMM_PANEL; \
                const float *b1 = b0 + k * GEMM_PANEL; \
                const float *bj = bias ? bias + j0 : NULL; \
                /* Tiles of equal height (49 rows: 7 tiles of 7, not 6 of 8 and one of 1, whose \
                   one-row tile would wait on FMA latency). */ \
                size_t tiles = (i1 - i0 + MR - 1) / MR, base = (i1 - i0) / tiles, extra = (i1 - i0) % tiles; \
                for (size_t t = 0, i = i0; t < tiles; t++) { \
                    size_t rows = base + (t < extra ? 1 : 0); \
                    const float *ai = a + i * lda + k0; \
                    float *ci = c + i * ldc + j0; \
                    /* The first K block starts from the residual (or zero), later ones from C. */ \
                    const float *init = kb == 0 ? (residual ? residual + i * ldr + j0 : NULL) : ci; \
                    size_t ldi = kb == 0 ? ldr : ldc; \
                    TILE; \
                    i += rows; \
                } \
            } \
        } \
        if (k == 0) break; \
    }

#define GEMM_PARAMETERS \
    size_t m, size_t k, const float *a, size_t lda, const float *packed, size_t column_begin, size_t column_end, \
    float *c, size_t ldc, const float *bias, const float *residual, size_t ldr, pw_activation act

PW_AVX512 static void gemm_packed_avx512(GEMM_PARAMETERS) {
    GEMM_DRIVER(8, 2, p + 1 < end_panel ? 2 : 1, GEMM_K_BLOCK_AVX512,
                gemm_tile_avx512_any(rows, nv, kn, ai, lda, b0, b1, ci, ldc, init, ldi, last, bj,
                                     gemm_mask16(j0, column_end), gemm_mask16(j0 + 16, column_end), act))
}

PW_AVX2 static void gemm_packed_avx2(GEMM_PARAMETERS) {
    GEMM_DRIVER(6, 1, column_end - j0 > 8 ? 2 : 1, GEMM_K_BLOCK_AVX2,
                (void)b1; gemm_tile_avx2_any(rows, nv, kn, ai, lda, b0, ci, ldc, init, ldi, last, bj,
                                             gemm_mask8(j0, column_end), gemm_mask8(j0 + 8, column_end),
                                             column_end - j0 >= 8 * nv, t == 0 && tiles > 1 ? GEMM_B_AHEAD_AVX2 : 0, act))
}

// The implicit-GEMM convolution: per output row, tiles of MR pixels (balanced, as in GEMM_DRIVER)
// each sweeping every group of STEP panels while its input segments are in L1; one K block.
#define CONV_DRIVER(MR, STEP, NV, TILE) \
    size_t k = segments * length, end_panel = (n + GEMM_PANEL - 1) / GEMM_PANEL; \
    size_t tiles = (width + MR - 1) / MR, base = width / tiles, extra = width % tiles; \
    for (size_t y = first; y < first + rows; y++) { \
        const float *ay = a + y / rows_per_image * image_stride + y % rows_per_image * row_stride; \
        for (size_t t = 0, x = 0; t < tiles; t++) { \
            size_t count = base + (t < extra ? 1 : 0), index = y * width + x; \
            const float *ai = ay + x * pixel_stride; \
            for (size_t p = 0; p < end_panel; p += STEP) { \
                size_t j0 = p * GEMM_PANEL, nv = NV; \
                const float *b0 = packed + p * k * GEMM_PANEL, *b1 = b0 + k * GEMM_PANEL; \
                float *ci = c + index * ldc + j0; \
                const float *init = residual ? residual + index * ldr + j0 : NULL; \
                const float *bj = bias ? bias + j0 : NULL; \
                TILE; \
            } \
            x += count; \
        } \
    }

PW_AVX512 static void conv_implicit_avx512(CONV_PARAMETERS) {
    CONV_DRIVER(8, 2, p + 1 < end_panel ? 2 : 1,
                conv_tile_avx512_any(count, nv, offsets, segments, length, ai, pixel_stride, b0, b1, ci, ldc, init, ldr, 1,
                                     bj, gemm_mask16(j0, n), gemm_mask16(j0 + 16, n), act))
}

PW_AVX2 static void conv_implicit_avx2(CONV_PARAMETERS) {
    CONV_DRIVER(6, 1, n - j0 > 8 ? 2 : 1,
                (void)b1; conv_tile_avx2_any(count, nv, offsets, segments, length, ai, pixel_stride, b0, ci, ldc, init, ldr, 1,
                                             bj, gemm_mask8(j0, n), gemm_mask8(j0 + 8, n), n - j0 >= 8 * nv, act))
}

#endif  // PW_X86

void pw_conv_implicit_packed(pw_isa isa, CONV_PARAMETERS) {
    if (rows == 0 || width == 0 || n == 0 || rows_per_image == 0) return;
#if PW_X86
    if (isa == PW_ISA_AVX512) {
        conv_implicit_avx512(CONV_ARGUMENTS);
        return;
    }
    if (isa == PW_ISA_AVX2) {
        conv_implicit_avx2(CONV_ARGUMENTS);
        return;
    }
#endif
    (void)isa;
    conv_implicit_portable(CONV_ARGUMENTS);
}

void pw_gemm_packed(pw_isa isa, size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                    size_t column_begin, size_t column_end, float *c, size_t ldc, const float *bias,
                    const float *residual, size_t ldr, pw_activation act) {
    if (column_end > n) column_end = n;
    column_begin = column_begin / GEMM_PANEL * GEMM_PANEL;
    if (m == 0 || column_begin >= column_end) return;
#if PW_X86
    if (isa == PW_ISA_AVX512) {
        gemm_packed_avx512(m, k, a, lda, packed, column_begin, column_end, c, ldc, bias, residual, ldr, act);
        return;
    }
    if (isa == PW_ISA_AVX2) {
        gemm_packed_avx2(m, k, a, lda, packed, column_begin, column_end, c, ldc, bias, residual, ldr, act);
        return;
    }
#endif
    (void)isa;
    gemm_packed_portable(m, n, k, a, lda, packed, column_begin, column_end, c, ldc, bias, residual, ldr, act);
}
