// Pooling on NHWC: max and average over a 2-D window (dilation, asymmetric padding, windows that run
// past the padded extent), and global average / max over all pixels. Every variant vectorises across
// channels; the windowed pools keep up to 4 vectors of channels in registers while they walk the
// window's taps (only the taps inside the input: padding is never read).
#include "isa.h"

typedef enum { POOL_MAX = 0, POOL_AVERAGE = 1 } pool_kind;

// For output rows r = n·out_h + oh in [row_begin, row_end) and columns ow: the body sees `image`
// (image n), `out` (the output pixel), the taps inside the input, kernel rows [kh0, kh1) and columns
// [kw0, kw1), the window origin (ih0, iw0), which may be negative, and `divisor` (average only).
#define POOL_PIXEL_LOOP(...) \
    size_t dh = g->dilation_h ? g->dilation_h : 1, dw = g->dilation_w ? g->dilation_w : 1; \
    size_t width = g->width, ldx = g->ldx; \
    for (size_t r = row_begin; r < row_end; r++) { \
        size_t n = r / g->out_h, oh = r % g->out_h; \
        size_t kh0, kh1, ph0, ph1; \
        pw_tap_range(oh, g->stride_h, g->pad_top, dh, g->kernel_h, g->height, &kh0, &kh1); \
        pw_tap_range(oh, g->stride_h, 0, dh, g->kernel_h, g->height + g->pad_top + g->pad_bottom, &ph0, &ph1); \
        size_t count_h = count_include_pad ? ph1 - ph0 : kh1 - kh0; \
        ptrdiff_t ih0 = (ptrdiff_t)(oh * g->stride_h) - (ptrdiff_t)g->pad_top; \
        const float *image = x + n * g->height * width * ldx; \
        for (size_t ow = 0; ow < g->out_w; ow++) { \
            size_t kw0, kw1, pw0, pw1; \
            pw_tap_range(ow, g->stride_w, g->pad_left, dw, g->kernel_w, width, &kw0, &kw1); \
            size_t count_w = kw1 - kw0; \
            if (count_include_pad) { \
                pw_tap_range(ow, g->stride_w, 0, dw, g->kernel_w, width + g->pad_left + g->pad_right, &pw0, &pw1); \
                count_w = pw1 - pw0; \
            } \
            float divisor = (float)(count_h * count_w); \
            (void)divisor; \
            ptrdiff_t iw0 = (ptrdiff_t)(ow * g->stride_w) - (ptrdiff_t)g->pad_left; \
            float *out = y + (r * g->out_w + ow) * g->ldy; \
            __VA_ARGS__ \
        } \
    }

#define POOL_ROW(kh) (image + (size_t)(ih0 + (ptrdiff_t)((kh) * dh)) * width * ldx)
#define POOL_COLUMN(kw) ((size_t)(iw0 + (ptrdiff_t)((kw) * dw)) * ldx)

// MARK: Portable: the output pixel accumulates tap by tap, the channel loop innermost.

static void pool_portable(pool_kind kind, const pw_pool_geometry *g, int count_include_pad, const float *x, float *y,
                          size_t row_begin, size_t row_end) {
    size_t channels = g->channels;
    POOL_PIXEL_LOOP(
        float start = kind == POOL_MAX ? -INFINITY : 0.0f;
        for (size_t c = 0; c < channels; c++) out[c] = start;
        for (size_t kh = kh0; kh < kh1; kh++) {
            const float *row = POOL_ROW(kh);
            for (size_t kw = kw0; kw < kw1; kw++) {
                const float *pixel = row + POOL_COLUMN(kw);
                if (kind == POOL_MAX) {
                    for (size_t c = 0; c < channels; c++) {
                        float v = pixel[c], o = out[c];
                        out[c] = (v > o || v != v) ? v : o;  // a NaN, once in, stays
                    }
                } else {
                    for (size_t c = 0; c < channels; c++) out[c] += pixel[c];
                }
            }
        }
        if (kind == POOL_AVERAGE)
            for (size_t c = 0; c < channels; c++) out[c] = out[c] / divisor;
    )
}

#if PW_X86

// MARK: AVX2: blocks of nv ≤ 4 vectors of 8 channels, or one masked vector for the tail.

PW_AVX2 PW_INLINE void pool_block8(pool_kind kind, size_t nv, int masked, __m256i k, const float *image, size_t c,
                                   size_t width, size_t ldx, size_t kh0, size_t kh1, size_t kw0, size_t kw1,
                                   ptrdiff_t ih0, ptrdiff_t iw0, size_t dh, size_t dw, float divisor, float *out) {
    __m256 acc[4], nan[4];
    for (size_t j = 0; j < nv; j++) {
        acc[j] = kind == POOL_MAX ? _mm256_set1_ps(-INFINITY) : _mm256_setzero_ps();
        nan[j] = _mm256_setzero_ps();
    }
    for (size_t kh = kh0; kh < kh1; kh++) {
        const float *row = POOL_ROW(kh) + c;
        for (size_t kw = kw0; kw < kw1; kw++) {
            const float *p = row + POOL_COLUMN(kw);
            for (size_t j = 0; j < nv; j++) {
                __m256 v = masked ? _mm256_maskload_ps(p + 8 * j, k) : _mm256_loadu_ps(p + 8 * j);
                if (kind == POOL_MAX) {
                    nan[j] = _mm256_or_ps(nan[j], _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                    acc[j] = _mm256_max_ps(acc[j], v);
                } else {
                    acc[j] = _mm256_add_ps(acc[j], v);
                }
            }
        }
    }
    for (size_t j = 0; j < nv; j++) {
        __m256 v = kind == POOL_MAX ? _mm256_blendv_ps(acc[j], _mm256_set1_ps(NAN), nan[j])
                                    : _mm256_div_ps(acc[j], _mm256_set1_ps(divisor));
        if (masked) _mm256_maskstore_ps(out + c + 8 * j, k, v);
        else _mm256_storeu_ps(out + c + 8 * j, v);
    }
}

#define POOL_BLOCK8(NV, MASKED, K) \
    pool_block8(kind, NV, MASKED, K, image, c, width, ldx, kh0, kh1, kw0, kw1, ih0, iw0, dh, dw, divisor, out)

PW_AVX2 PW_INLINE void pool_avx2_impl(pool_kind kind, const pw_pool_geometry *g, int count_include_pad,
                                      const float *x, float *y, size_t row_begin, size_t row_end) {
    size_t channels = g->channels;
    __m256i all = _mm256_set1_epi32(-1), tail = pw_mask8(channels % 8);
    POOL_PIXEL_LOOP(
        size_t c = 0;
        for (; c + 32 <= channels; c += 32) POOL_BLOCK8(4, 0, all);
        for (; c + 8 <= channels; c += 8) POOL_BLOCK8(1, 0, all);
        if (c < channels) POOL_BLOCK8(1, 1, tail);
    )
}

PW_AVX2 static void pool_avx2(pool_kind kind, const pw_pool_geometry *g, int count_include_pad, const float *x, float *y,
                              size_t row_begin, size_t row_end) {
    if (kind == POOL_MAX) pool_avx2_impl(POOL_MAX, g, 0, x, y, row_begin, row_end);
    else pool_avx2_impl(POOL_AVERAGE, g, count_include_pad, x, y, row_begin, row_end);
}

// MARK: AVX-512: blocks of nv ≤ 4 vectors of 16 channels, or one masked vector for the tail.

PW_AVX512 PW_INLINE void pool_block16(pool_kind kind, size_t nv, __mmask16 k, const float *image, size_t c,
                                      size_t width, size_t ldx, size_t kh0, size_t kh1, size_t kw0, size_t kw1,
                                      ptrdiff_t ih0, ptrdiff_t iw0, size_t dh, size_t dw, float divisor, float *out) {
    __m512 acc[4];
    __mmask16 nan[4];
    for (size_t j = 0; j < nv; j++) {
        acc[j] = kind == POOL_MAX ? _mm512_set1_ps(-INFINITY) : _mm512_setzero_ps();
        nan[j] = 0;
    }
    for (size_t kh = kh0; kh < kh1; kh++) {
        const float *row = POOL_ROW(kh) + c;
        for (size_t kw = kw0; kw < kw1; kw++) {
            const float *p = row + POOL_COLUMN(kw);
            for (size_t j = 0; j < nv; j++) {
                __m512 v = _mm512_maskz_loadu_ps(k, p + 16 * j);
                if (kind == POOL_MAX) {
                    nan[j] = (__mmask16)(nan[j] | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q));
                    acc[j] = _mm512_max_ps(acc[j], v);
                } else {
                    acc[j] = _mm512_add_ps(acc[j], v);
                }
            }
        }
    }
    for (size_t j = 0; j < nv; j++) {
        __m512 v = kind == POOL_MAX ? _mm512_mask_blend_ps(nan[j], acc[j], _mm512_set1_ps(NAN))
                                    : _mm512_div_ps(acc[j], _mm512_set1_ps(divisor));
        _mm512_mask_storeu_ps(out + c + 16 * j, k, v);
    }
}

#define POOL_BLOCK16(NV, K) \
    pool_block16(kind, NV, K, image, c, width, ldx, kh0, kh1, kw0, kw1, ih0, iw0, dh, dw, divisor, out)

PW_AVX512 PW_INLINE void pool_avx512_impl(pool_kind kind, const pw_pool_geometry *g, int count_include_pad,
                                          const float *x, float *y, size_t row_begin, size_t row_end) {
    size_t channels = g->channels;
    __mmask16 all = (__mmask16)0xFFFF, tail = pw_mask16(channels % 16);
    POOL_PIXEL_LOOP(
        size_t c = 0;
        for (; c + 64 <= channels; c += 64) POOL_BLOCK16(4, all);
        for (; c + 16 <= channels; c += 16) POOL_BLOCK16(1, all);
        if (c < channels) POOL_BLOCK16(1, tail);
    )
}

PW_AVX512 static void pool_avx512(pool_kind kind, const pw_pool_geometry *g, int count_include_pad, const float *x,
                                  float *y, size_t row_begin, size_t row_end) {
    if (kind == POOL_MAX) pool_avx512_impl(POOL_MAX, g, 0, x, y, row_begin, row_end);
    else pool_avx512_impl(POOL_AVERAGE, g, count_include_pad, x, y, row_begin, row_end);
}

#endif  // PW_X86

static void pool(pw_isa isa, pool_kind kind, const pw_pool_geometry *g, int count_include_pad, const float *x, float *y,
                 size_t row_begin, size_t row_end) {
    if (g->channels == 0 || g->out_h == 0 || g->out_w == 0 || row_begin >= row_end) return;
#if PW_X86
    if (isa == PW_ISA_AVX512) { pool_avx512(kind, g, count_include_pad, x, y, row_begin, row_end); return; }
    if (isa == PW_ISA_AVX2) { pool_avx2(kind, g, count_include_pad, x, y, row_begin, row_end); return; }
#else
    (void)isa;
#endif
    pool_portable(kind, g, count_include_pad, x, y, row_begin, row_end);
}

void pw_max_pool(pw_isa isa, const pw_pool_geometry *g, const float *x, float *y, size_t row_begin, size_t row_end) {
    pool(isa, POOL_MAX, g, 0, x, y, row_begin, row_end);
}

void pw_average_pool(pw_isa isa, const pw_pool_geometry *g, int count_include_pad, const float *x, float *y,
                     size_t row_begin, size_t row_end) {
    pool(isa, POOL_AVERAGE, g, count_include_pad, x, y, row_begin, row_end);
}

// MARK: Global pooling
//
// Pixel rows are read one after another (contiguous, once each) into accumulators for a chunk of
// PW_GLOBAL_CHUNK channels on the stack: doubles for the average (its sum is then exact to about
// 2^-53 relative whatever the pixel count, and the mean is rounded once), floats for the max, where
// NaN is kept by blending: max(v, acc) keeps acc's NaN, the blend puts in a NaN v.

#define PW_GLOBAL_CHUNK 256

static void global_portable(pw_global_pool_mode mode, const float *x, size_t pixels, size_t channels, size_t ldx, float *y) {
    for (size_t c0 = 0; c0 < channels; c0 += PW_GLOBAL_CHUNK) {
        size_t width = pw_min(PW_GLOBAL_CHUNK, channels - c0);
        if (mode == PW_GLOBAL_MAX) {
            float acc[PW_GLOBAL_CHUNK];
            for (size_t j = 0; j < width; j++) acc[j] = -INFINITY;
            size_t p = 0;
            for (; p + 2 <= pixels; p += 2) {
                const float *r0 = x + p * ldx + c0, *r1 = r0 + ldx;
                for (size_t j = 0; j < width; j++) {
                    float v = r0[j], w = r1[j], o = acc[j];
                    o = (v > o || v != v) ? v : o;
                    acc[j] = (w > o || w != w) ? w : o;
                }
            }
            for (; p < pixels; p++) {
                const float *row = x + p * ldx + c0;
                for (size_t j = 0; j < width; j++) {
                    float v = row[j], o = acc[j];
                    acc[j] = (v > o || v != v) ? v : o;
                }
            }
            for (size_t j = 0; j < width; j++) y[c0 + j] = acc[j];
        } else {
            double acc[PW_GLOBAL_CHUNK];
            for (size_t j = 0; j < width; j++) acc[j] = 0.0;
            size_t p = 0;
            for (; p + 4 <= pixels; p += 4) {  // the same order of additions as one row at a time
                const float *r0 = x + p * ldx + c0, *r1 = r0 + ldx, *r2 = r1 + ldx, *r3 = r2 + ldx;
                for (size_t j = 0; j < width; j++)
                    acc[j] = (((acc[j] + (double)r0[j]) + (double)r1[j]) + (double)r2[j]) + (double)r3[j];
            }
            for (; p < pixels; p++) {
                const float *row = x + p * ldx + c0;
                for (size_t j = 0; j < width; j++) acc[j] += (double)row[j];
            }
            for (size_t j = 0; j < width; j++) y[c0 + j] = (float)(acc[j] / (double)pixels);
        }
    }
}

#if PW_X86

// Pixel rows go four at a time through each accumulator vector (same order of additions as one at a
// time), which quarters the accumulators' loads and stores.

PW_AVX2 PW_INLINE __m256 global_load8(const float *row, size_t j, size_t full, __m256i k) {
    return j < full ? _mm256_loadu_ps(row + j) : _mm256_maskload_ps(row + j, k);
}

PW_AVX2 PW_INLINE __m256 global_max8(__m256 acc, __m256 v) {
    return _mm256_blendv_ps(_mm256_max_ps(v, acc), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

PW_AVX2 static void global_avx2(pw_global_pool_mode mode, const float *x, size_t pixels, size_t channels, size_t ldx, float *y) {
    for (size_t c0 = 0; c0 < channels; c0 += PW_GLOBAL_CHUNK) {
        size_t width = pw_min(PW_GLOBAL_CHUNK, channels - c0);
        size_t full = width & ~(size_t)7, tail = width - full;
        __m256i k = pw_mask8(tail);
        if (mode == PW_GLOBAL_MAX) {
            float acc[PW_GLOBAL_CHUNK];
            for (size_t j = 0; j < width; j += 8) _mm256_storeu_ps(acc + j, _mm256_set1_ps(-INFINITY));
            size_t p = 0;
            for (; p + 4 <= pixels; p += 4) {
                const float *r0 = x + p * ldx + c0, *r1 = r0 + ldx, *r2 = r1 + ldx, *r3 = r2 + ldx;
                for (size_t j = 0; j < width; j += 8) {
                    __m256 m = _mm256_loadu_ps(acc + j);
                    m = global_max8(m, global_load8(r0, j, full, k));
                    m = global_max8(m, global_load8(r1, j, full, k));
                    m = global_max8(m, global_load8(r2, j, full, k));
                    m = global_max8(m, global_load8(r3, j, full, k));
                    _mm256_storeu_ps(acc + j, m);
                }
            }
            for (; p < pixels; p++) {
                const float *r0 = x + p * ldx + c0;
                for (size_t j = 0; j < width; j += 8)
                    _mm256_storeu_ps(acc + j, global_max8(_mm256_loadu_ps(acc + j), global_load8(r0, j, full, k)));
            }
            for (size_t j = 0; j < full; j += 8) _mm256_storeu_ps(y + c0 + j, _mm256_loadu_ps(acc + j));
            if (tail) _mm256_maskstore_ps(y + c0 + full, k, _mm256_loadu_ps(acc + full));
        } else {
            double acc[PW_GLOBAL_CHUNK];
            for (size_t j = 0; j < width; j += 8) {  // whole vectors: the tail's spare lanes too
                _mm256_storeu_pd(acc + j, _mm256_setzero_pd());
                _mm256_storeu_pd(acc + j + 4, _mm256_setzero_pd());
            }
            size_t p = 0;
            for (; p + 4 <= pixels; p += 4) {
                const float *r0 = x + p * ldx + c0, *r1 = r0 + ldx, *r2 = r1 + ldx, *r3 = r2 + ldx;
                for (size_t j = 0; j < width; j += 8) {
                    __m256d lo = _mm256_loadu_pd(acc + j), hi = _mm256_loadu_pd(acc + j + 4);
                    pw_add_wide8(&lo, &hi, global_load8(r0, j, full, k));
                    pw_add_wide8(&lo, &hi, global_load8(r1, j, full, k));
                    pw_add_wide8(&lo, &hi, global_load8(r2, j, full, k));
                    pw_add_wide8(&lo, &hi, global_load8(r3, j, full, k));
                    _mm256_storeu_pd(acc + j, lo);
                    _mm256_storeu_pd(acc + j + 4, hi);
                }
            }
            for (; p < pixels; p++) {
                const float *r0 = x + p * ldx + c0;
                for (size_t j = 0; j < width; j += 8) {
                    __m256d lo = _mm256_loadu_pd(acc + j), hi = _mm256_loadu_pd(acc + j + 4);
                    pw_add_wide8(&lo, &hi, global_load8(r0, j, full, k));
                    _mm256_storeu_pd(acc + j, lo);
                    _mm256_storeu_pd(acc + j + 4, hi);
                }
            }
            __m256d count = _mm256_set1_pd((double)pixels);
            for (size_t j = 0; j < width; j += 8) {
                __m128 lo = _mm256_cvtpd_ps(_mm256_div_pd(_mm256_loadu_pd(acc + j), count));
                __m128 hi = _mm256_cvtpd_ps(_mm256_div_pd(_mm256_loadu_pd(acc + j + 4), count));
                __m256 v = _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
                if (j < full) _mm256_storeu_ps(y + c0 + j, v);
                else _mm256_maskstore_ps(y + c0 + j, k, v);
            }
        }
    }
}

PW_AVX512 PW_INLINE __m512 global_max16(__m512 acc, __m512 v) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_max_ps(v, acc), v);
}

PW_AVX512 static void global_avx512(pw_global_pool_mode mode, const float *x, size_t pixels, size_t channels, size_t ldx, float *y) {
    for (size_t c0 = 0; c0 < channels; c0 += PW_GLOBAL_CHUNK) {
        size_t width = pw_min(PW_GLOBAL_CHUNK, channels - c0);
        size_t full = width & ~(size_t)15, tail = width - full;
        __mmask16 all = (__mmask16)0xFFFF, k = pw_mask16(tail);
        if (mode == PW_GLOBAL_MAX) {
            float acc[PW_GLOBAL_CHUNK];
            for (size_t j = 0; j < width; j += 16) _mm512_storeu_ps(acc + j, _mm512_set1_ps(-INFINITY));
            size_t p = 0;
            for (; p + 4 <= pixels; p += 4) {
                const float *r0 = x + p * ldx + c0, *r1 = r0 + ldx, *r2 = r1 + ldx, *r3 = r2 + ldx;
                for (size_t j = 0; j < width; j += 16) {
                    __mmask16 kj = j < full ? all : k;
                    __m512 m = _mm512_loadu_ps(acc + j);
                    m = global_max16(m, _mm512_maskz_loadu_ps(kj, r0 + j));
                    m = global_max16(m, _mm512_maskz_loadu_ps(kj, r1 + j));
                    m = global_max16(m, _mm512_maskz_loadu_ps(kj, r2 + j));
                    m = global_max16(m, _mm512_maskz_loadu_ps(kj, r3 + j));
                    _mm512_storeu_ps(acc + j, m);
                }
            }
            for (; p < pixels; p++) {
                const float *r0 = x + p * ldx + c0;
                for (size_t j = 0; j < width; j += 16)
                    _mm512_storeu_ps(acc + j, global_max16(_mm512_loadu_ps(acc + j), _mm512_maskz_loadu_ps(j < full ? all : k, r0 + j)));
            }
            for (size_t j = 0; j < width; j += 16) _mm512_mask_storeu_ps(y + c0 + j, j < full ? all : k, _mm512_loadu_ps(acc + j));
        } else {
            double acc[PW_GLOBAL_CHUNK];
            for (size_t j = 0; j < width; j += 16) {  // whole vectors: the tail's spare lanes too
                _mm512_storeu_pd(acc + j, _mm512_setzero_pd());
                _mm512_storeu_pd(acc + j + 8, _mm512_setzero_pd());
            }
            size_t p = 0;
            for (; p + 4 <= pixels; p += 4) {
                const float *r0 = x + p * ldx + c0, *r1 = r0 + ldx, *r2 = r1 + ldx, *r3 = r2 + ldx;
                for (size_t j = 0; j < width; j += 16) {
                    __mmask16 kj = j < full ? all : k;
                    __m512d lo = _mm512_loadu_pd(acc + j), hi = _mm512_loadu_pd(acc + j + 8);
                    pw_add_wide16(&lo, &hi, _mm512_maskz_loadu_ps(kj, r0 + j));
                    pw_add_wide16(&lo, &hi, _mm512_maskz_loadu_ps(kj, r1 + j));
                    pw_add_wide16(&lo, &hi, _mm512_maskz_loadu_ps(kj, r2 + j));
                    pw_add_wide16(&lo, &hi, _mm512_maskz_loadu_ps(kj, r3 + j));
                    _mm512_storeu_pd(acc + j, lo);
                    _mm512_storeu_pd(acc + j + 8, hi);
                }
            }
            for (; p < pixels; p++) {
                const float *r0 = x + p * ldx + c0;
                for (size_t j = 0; j < width; j += 16) {
                    __m512d lo = _mm512_loadu_pd(acc + j), hi = _mm512_loadu_pd(acc + j + 8);
                    pw_add_wide16(&lo, &hi, _mm512_maskz_loadu_ps(j < full ? all : k, r0 + j));
                    _mm512_storeu_pd(acc + j, lo);
                    _mm512_storeu_pd(acc + j + 8, hi);
                }
            }
            __m512d count = _mm512_set1_pd((double)pixels);
            for (size_t j = 0; j < width; j += 16) {
                __m256 lo = _mm512_cvtpd_ps(_mm512_div_pd(_mm512_loadu_pd(acc + j), count));
                __m256 hi = _mm512_cvtpd_ps(_mm512_div_pd(_mm512_loadu_pd(acc + j + 8), count));
                __m512 v = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
                _mm512_mask_storeu_ps(y + c0 + j, j < full ? all : k, v);
            }
        }
    }
}

#endif  // PW_X86

void pw_global_pool(pw_isa isa, pw_global_pool_mode mode, const float *x, size_t pixels, size_t channels,
                    size_t ldx, float *y) {
    if (channels == 0) return;
#if PW_X86
    if (isa == PW_ISA_AVX512) { global_avx512(mode, x, pixels, channels, ldx, y); return; }
    if (isa == PW_ISA_AVX2) { global_avx2(mode, x, pixels, channels, ldx, y); return; }
#else
    (void)isa;
#endif
    global_portable(mode, x, pixels, channels, ldx, y);
}
