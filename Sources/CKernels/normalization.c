// Local response normalisation across channels (ONNX LRN), vectorised across channels: each output
// vector sums the squares of the `size` shifted input vectors around it (near the row's ends, masked
// loads of only the lanes inside the row: the window is cut there), then divides by
// (bias + alpha/size · sum)^beta, with sqrt for the usual beta = 0.75 (and 0.5, 1) and exp(−beta·log)
// otherwise.
#include "isa.h"

#define LRN_PARAMETERS \
    size_t rows, size_t channels, const float *x, size_t ldx, float *y, size_t ldy, \
    size_t size, float alpha, float beta, float bias

typedef enum { LRN_BETA_ZERO, LRN_BETA_HALF, LRN_BETA_THREE_QUARTERS, LRN_BETA_ONE, LRN_BETA_GENERAL } lrn_power;

static lrn_power lrn_power_of(float beta) {
    if (beta == 0.0f) return LRN_BETA_ZERO;
    if (beta == 0.5f) return LRN_BETA_HALF;
    if (beta == 0.75f) return LRN_BETA_THREE_QUARTERS;
    if (beta == 1.0f) return LRN_BETA_ONE;
    return LRN_BETA_GENERAL;
}

/// Of the shifts d < size, those that bring any input into the window of a channel in
/// [c, c + lanes): the input c' − lo + d lies in [0, channels) for some such c'. [*begin, *end).
/// A window wider than the row (ONNX allows any size) reads only these: the others add zeros, and
/// a size of 2³¹ would otherwise loop 2³¹ times per vector.
PW_INLINE void lrn_shifts(size_t c, size_t lanes, size_t lo, size_t size, size_t channels, size_t *begin, size_t *end) {
    size_t b = lo + 1 > c + lanes ? lo + 1 - c - lanes : 0;  // c + lanes − 1 − lo + d ≥ 0
    size_t e = channels - c + lo;                             // c − lo + d < channels (c < channels)
    *begin = b;
    *end = e < size ? e : size;
}

// MARK: Portable: chunks of channels, the sums built shift by shift, the channel loop innermost.

#define LRN_CHUNK 128

static void lrn_portable(LRN_PARAMETERS) {
    size_t lo = size ? (size - 1) / 2 : 0;  // the window is [c − lo, c − lo + size)
    float scale = size ? alpha / (float)size : 0.0f;
    lrn_power power = lrn_power_of(beta);
    for (size_t m = 0; m < rows; m++) {
        const float *xr = x + m * ldx;
        float *yr = y + m * ldy;
        for (size_t c0 = 0; c0 < channels; c0 += LRN_CHUNK) {
            size_t c1 = pw_min(c0 + LRN_CHUNK, channels);
            float t[LRN_CHUNK];
            for (size_t c = c0; c < c1; c++) t[c - c0] = 0.0f;
            size_t d0, d1;
            lrn_shifts(c0, c1 - c0, lo, size, channels, &d0, &d1);
            for (size_t d = d0; d < d1; d++) {
                // Channels c whose input c + d − lo lies in [0, channels).
                size_t first = lo > d ? lo - d : 0;
                size_t cs = first > c0 ? first : c0;
                size_t ce = channels + lo > d ? pw_min(c1, channels + lo - d) : 0;
                for (size_t c = cs; c < ce; c++) {
                    float v = xr[c + d - lo];
                    t[c - c0] += v * v;
                }
            }
            for (size_t c = c0; c < c1; c++) t[c - c0] = bias + scale * t[c - c0];
            switch (power) {
            case LRN_BETA_ZERO:
                for (size_t c = c0; c < c1; c++) yr[c] = xr[c];
                break;
            case LRN_BETA_HALF:
                for (size_t c = c0; c < c1; c++) yr[c] = xr[c] / sqrtf(t[c - c0]);
                break;
            case LRN_BETA_THREE_QUARTERS:
                for (size_t c = c0; c < c1; c++) {
                    float s = sqrtf(t[c - c0]);
                    yr[c] = xr[c] / (s * sqrtf(s));
                }
                break;
            case LRN_BETA_ONE:
                for (size_t c = c0; c < c1; c++) yr[c] = xr[c] / t[c - c0];
                break;
            case LRN_BETA_GENERAL:
                for (size_t c = c0; c < c1; c++) yr[c] = xr[c] * pw_exp1(-beta * pw_log1(t[c - c0]));
                break;
            }
        }
    }
}

#if PW_X86

/// The address of row + o for an offset o that may be out of the row: formed in integers (C pointer
/// arithmetic may not leave the array), for masked loads that touch only the lanes inside it.
PW_INLINE const float *lrn_address(const float *row, ptrdiff_t o) {
    return (const float *)((uintptr_t)row + (uintptr_t)(o * (ptrdiff_t)sizeof(float)));
}

/// Of the `lanes`-wide vector at offset o, the lanes j with 0 ≤ o + j < channels: [*first, *end).
PW_INLINE void lrn_lanes(ptrdiff_t o, size_t channels, size_t lanes, size_t *first, size_t *end) {
    ptrdiff_t f = o < 0 ? -o : 0, e = (ptrdiff_t)channels - o;
    if (f > (ptrdiff_t)lanes) f = (ptrdiff_t)lanes;
    if (e < f) e = f;
    if (e > (ptrdiff_t)lanes) e = (ptrdiff_t)lanes;
    *first = (size_t)f;
    *end = (size_t)e;
}

// MARK: AVX2

PW_AVX2 PW_INLINE __m256 lrn_apply8(__m256 v, __m256 t, lrn_power power, __m256 beta) {
    switch (power) {
    case LRN_BETA_ZERO: return v;
    case LRN_BETA_HALF: return _mm256_div_ps(v, _mm256_sqrt_ps(t));
    case LRN_BETA_THREE_QUARTERS: {
        __m256 s = _mm256_sqrt_ps(t);
        return _mm256_div_ps(v, _mm256_mul_ps(s, _mm256_sqrt_ps(s)));
    }
    case LRN_BETA_ONE: return _mm256_div_ps(v, t);
    default: return _mm256_mul_ps(v, pw_exp8(_mm256_mul_ps(beta, pw_log8(t))));  // beta negated by the caller
    }
}

PW_AVX2 static void lrn_avx2(LRN_PARAMETERS) {
    size_t lo = size ? (size - 1) / 2 : 0, hi = size ? size - 1 - lo : 0;
    __m256 scale = _mm256_set1_ps(size ? alpha / (float)size : 0.0f), vbias = _mm256_set1_ps(bias);
    __m256 negbeta = _mm256_set1_ps(-beta);
    lrn_power power = lrn_power_of(beta);
    for (size_t m = 0; m < rows; m++) {
        const float *xr = x + m * ldx;
        float *yr = y + m * ldy;
        for (size_t c = 0; c < channels; c += 8) {
            size_t lanes = pw_min(8, channels - c);
            __m256i k = pw_mask8(lanes);
            __m256 sum;
            if (lanes == 8 && c >= lo && c + 8 + hi <= channels) {
                const float *p = xr + c - lo;
                sum = _mm256_setzero_ps();
                for (size_t d = 0; d < size; d++) {
                    __m256 v = _mm256_loadu_ps(p + d);
                    sum = _mm256_fmadd_ps(v, v, sum);
                }
            } else {  // near the row's ends: masked loads of the lanes inside the row
                sum = _mm256_setzero_ps();
                size_t d0, d1;
                lrn_shifts(c, 8, lo, size, channels, &d0, &d1);
                for (size_t d = d0; d < d1; d++) {
                    ptrdiff_t o = (ptrdiff_t)c - (ptrdiff_t)lo + (ptrdiff_t)d;
                    size_t first, end;
                    lrn_lanes(o, channels, 8, &first, &end);
                    __m256i m = _mm256_andnot_si256(pw_mask8(first), pw_mask8(end));
                    __m256 v = _mm256_maskload_ps(lrn_address(xr, o), m);
                    sum = _mm256_fmadd_ps(v, v, sum);
                }
            }
            __m256 t = _mm256_fmadd_ps(scale, sum, vbias);
            __m256 v = lanes == 8 ? _mm256_loadu_ps(xr + c) : _mm256_maskload_ps(xr + c, k);
            v = lrn_apply8(v, t, power, negbeta);
            if (lanes == 8) _mm256_storeu_ps(yr + c, v);
            else _mm256_maskstore_ps(yr + c, k, v);
        }
    }
}

// MARK: AVX-512

PW_AVX512 PW_INLINE __m512 lrn_apply16(__m512 v, __m512 t, lrn_power power, __m512 beta) {
    switch (power) {
    case LRN_BETA_ZERO: return v;
    case LRN_BETA_HALF: return _mm512_div_ps(v, _mm512_sqrt_ps(t));
    case LRN_BETA_THREE_QUARTERS: {
        __m512 s = _mm512_sqrt_ps(t);
        return _mm512_div_ps(v, _mm512_mul_ps(s, _mm512_sqrt_ps(s)));
    }
    case LRN_BETA_ONE: return _mm512_div_ps(v, t);
    default: return _mm512_mul_ps(v, pw_exp16(_mm512_mul_ps(beta, pw_log16(t))));  // beta negated by the caller
    }
}

PW_AVX512 static void lrn_avx512(LRN_PARAMETERS) {
    size_t lo = size ? (size - 1) / 2 : 0, hi = size ? size - 1 - lo : 0;
    __m512 scale = _mm512_set1_ps(size ? alpha / (float)size : 0.0f), vbias = _mm512_set1_ps(bias);
    __m512 negbeta = _mm512_set1_ps(-beta);
    lrn_power power = lrn_power_of(beta);
    for (size_t m = 0; m < rows; m++) {
        const float *xr = x + m * ldx;
        float *yr = y + m * ldy;
        for (size_t c = 0; c < channels; c += 16) {
            size_t lanes = pw_min(16, channels - c);
            __mmask16 k = pw_mask16(lanes);
            __m512 sum;
            if (lanes == 16 && c >= lo && c + 16 + hi <= channels) {
                const float *p = xr + c - lo;
                sum = _mm512_setzero_ps();
                for (size_t d = 0; d < size; d++) {
                    __m512 v = _mm512_loadu_ps(p + d);
                    sum = _mm512_fmadd_ps(v, v, sum);
                }
            } else {  // near the row's ends: masked loads of the lanes inside the row
                sum = _mm512_setzero_ps();
                size_t d0, d1;
                lrn_shifts(c, 16, lo, size, channels, &d0, &d1);
                for (size_t d = d0; d < d1; d++) {
                    ptrdiff_t o = (ptrdiff_t)c - (ptrdiff_t)lo + (ptrdiff_t)d;
                    size_t first, end;
                    lrn_lanes(o, channels, 16, &first, &end);
                    __mmask16 m = (__mmask16)(pw_mask16(end) & ~pw_mask16(first));
                    __m512 v = _mm512_maskz_loadu_ps(m, lrn_address(xr, o));
                    sum = _mm512_fmadd_ps(v, v, sum);
                }
            }
            __m512 t = _mm512_fmadd_ps(scale, sum, vbias);
            __m512 v = _mm512_maskz_loadu_ps(k, xr + c);
            v = lrn_apply16(v, t, power, negbeta);
            _mm512_mask_storeu_ps(yr + c, k, v);
        }
    }
}

#endif  // PW_X86

void pw_lrn(pw_isa isa, LRN_PARAMETERS) {
    if (rows == 0 || channels == 0) return;
#if PW_X86
    if (isa == PW_ISA_AVX512) { lrn_avx512(rows, channels, x, ldx, y, ldy, size, alpha, beta, bias); return; }
    if (isa == PW_ISA_AVX2) { lrn_avx2(rows, channels, x, ldx, y, ldy, size, alpha, beta, bias); return; }
#else
    (void)isa;
#endif
    lrn_portable(rows, channels, x, ldx, y, ldy, size, alpha, beta, bias);
}
