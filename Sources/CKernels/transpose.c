// Matrix transposes (NCHW <-> NHWC per image), blocked for the caches: PW_TRANSPOSE_TILE square
// tiles, so a tile's source rows and destination rows all stay in L1 while it is copied. Within a
// tile, 4x4 blocks go through SSE registers (SSE is part of the x86-64 baseline, so this needs no
// run-time choice; the function takes no `isa`); elsewhere, and at the edges, plain C.
#include "isa.h"

#define PW_TRANSPOSE_TILE 32

#if PW_X86 && defined(__SSE__)
#define PW_TRANSPOSE_SSE 1
#include <xmmintrin.h>
#else
#define PW_TRANSPOSE_SSE 0
#endif

static void transpose_tile(const float *x, size_t ldx, float *y, size_t ldy, size_t r0, size_t r1, size_t c0, size_t c1) {
    size_t r = r0;
#if PW_TRANSPOSE_SSE
    for (; r + 4 <= r1; r += 4) {
        const float *x0 = x + r * ldx, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
        size_t c = c0;
        for (; c + 4 <= c1; c += 4) {
            __m128 a = _mm_loadu_ps(x0 + c), b = _mm_loadu_ps(x1 + c), d = _mm_loadu_ps(x2 + c), e = _mm_loadu_ps(x3 + c);
            _MM_TRANSPOSE4_PS(a, b, d, e);
            float *out = y + c * ldy + r;
            _mm_storeu_ps(out, a);
            _mm_storeu_ps(out + ldy, b);
            _mm_storeu_ps(out + 2 * ldy, d);
            _mm_storeu_ps(out + 3 * ldy, e);
        }
        for (; c < c1; c++) {
            float *out = y + c * ldy + r;
            out[0] = x0[c];
            out[1] = x1[c];
            out[2] = x2[c];
            out[3] = x3[c];
        }
    }
    if (r == r1) return;
#endif
    // Destination rows written contiguously; the tile's source rows stay in L1.
    for (size_t c = c0; c < c1; c++) {
        float *out = y + c * ldy;
        for (size_t i = r; i < r1; i++) out[i] = x[i * ldx + c];
    }
}

// Up to 4 source rows (an image's 1–4 channel planes, NCHW → NHWC): one pass over the columns, each
// destination row written whole. With dense destination rows (ldy = rows, a constant here) the
// compiler vectorises the interleaving; the tiled path would spend its time on 32-column tiles of
// 3 rows.
#define PW_INTERLEAVE(R) \
    for (size_t c = 0; c < columns; c++) \
        for (size_t r = 0; r < (R); r++) y[c * (R) + r] = x[r * ldx + c];

static void transpose_few_rows(const float *x, size_t ldx, float *y, size_t ldy, size_t rows, size_t columns) {
    if (ldy == rows) {
        switch (rows) {
        case 1: PW_INTERLEAVE(1) return;
        case 2: PW_INTERLEAVE(2) return;
        case 3: PW_INTERLEAVE(3) return;
        case 4: PW_INTERLEAVE(4) return;
        default: break;
        }
    }
    for (size_t c = 0; c < columns; c++)
        for (size_t r = 0; r < rows; r++) y[c * ldy + r] = x[r * ldx + c];
}

void pw_transpose(size_t count, size_t rows, size_t columns, const float *x, size_t ldx, size_t x_matrix_stride,
                  float *y, size_t ldy, size_t y_matrix_stride) {
    for (size_t i = 0; i < count; i++) {
        const float *xi = x + i * x_matrix_stride;
        float *yi = y + i * y_matrix_stride;
        if (rows <= 4) {
            transpose_few_rows(xi, ldx, yi, ldy, rows, columns);
            continue;
        }
        for (size_t r0 = 0; r0 < rows; r0 += PW_TRANSPOSE_TILE) {
            size_t r1 = pw_min(r0 + PW_TRANSPOSE_TILE, rows);
            for (size_t c0 = 0; c0 < columns; c0 += PW_TRANSPOSE_TILE)
                transpose_tile(xi, ldx, yi, ldy, r0, r1, c0, pw_min(c0 + PW_TRANSPOSE_TILE, columns));
        }
    }
}
