// Softmax of each row in three passes: the row's max (with a NaN flag: max instructions drop NaN),
// y = exp(x − max) with the sum accumulated in double, then y ·= 1/sum. NaN anywhere makes the max
// NaN and so the whole row NaN; +inf gives inf − inf = NaN at the inf, so the sum and the whole row
// are NaN (PyTorch's result); a row of −inf gives −inf − (−inf) = NaN everywhere (PyTorch too).
// Measured against a double reference on random rows: max error 2.3 ulp beyond the rounding of x − max
// to float, which every float softmax (PyTorch's too) has: a relative error up to |x − max|·2^-24,
// so only the smallest probabilities of rows with a wide range see more than a few ulp.
#include "isa.h"

// MARK: Portable: 8 partial maxima and sums so the reductions vectorise.

static void softmax_portable(size_t rows, size_t columns, const float *x, size_t ldx, float *y, size_t ldy) {
    for (size_t m = 0; m < rows; m++) {
        const float *xr = x + m * ldx;
        float *yr = y + m * ldy;
        float maxima[8];
        int nan = 0;
        for (size_t j = 0; j < 8; j++) maxima[j] = -INFINITY;
        size_t c = 0;
        for (; c + 8 <= columns; c += 8)
            for (size_t j = 0; j < 8; j++) {
                float v = xr[c + j];
                maxima[j] = v > maxima[j] ? v : maxima[j];
                nan |= v != v;
            }
        for (; c < columns; c++) {
            float v = xr[c];
            maxima[0] = v > maxima[0] ? v : maxima[0];
            nan |= v != v;
        }
        float max = maxima[0];
        for (size_t j = 1; j < 8; j++) max = maxima[j] > max ? maxima[j] : max;
        if (nan) max = NAN;

        if (xr == yr) for (c = 0; c < columns; c++) yr[c] = pw_exp1(yr[c] - max);  // one pointer: vectorises
        else for (c = 0; c < columns; c++) yr[c] = pw_exp1(xr[c] - max);

        double sums[8] = {0};
        for (c = 0; c + 8 <= columns; c += 8)
            for (size_t j = 0; j < 8; j++) sums[j] += (double)yr[c + j];
        for (; c < columns; c++) sums[0] += (double)yr[c];
        double sum = ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]));

        float inverse = (float)(1.0 / sum);
        for (c = 0; c < columns; c++) yr[c] *= inverse;
    }
}

#if PW_X86

// MARK: AVX2

PW_AVX2 static void softmax_avx2(size_t rows, size_t columns, const float *x, size_t ldx, float *y, size_t ldy) {
    size_t full = columns & ~(size_t)7, tail = columns - full;
    __m256i k = pw_mask8(tail);
    __m256 tailmask = _mm256_castsi256_ps(k), ninf = _mm256_set1_ps(-INFINITY);
    for (size_t m = 0; m < rows; m++) {
        const float *xr = x + m * ldx;
        float *yr = y + m * ldy;
        __m256 max0 = ninf, max1 = ninf, nan = _mm256_setzero_ps();
        size_t c = 0;
        for (; c + 16 <= columns; c += 16) {
            __m256 v0 = _mm256_loadu_ps(xr + c), v1 = _mm256_loadu_ps(xr + c + 8);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(v0, v1, _CMP_UNORD_Q));
            max0 = _mm256_max_ps(max0, v0);
            max1 = _mm256_max_ps(max1, v1);
        }
        if (c < full) {
            __m256 v = _mm256_loadu_ps(xr + c);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            max0 = _mm256_max_ps(max0, v);
        }
        if (tail) {
            __m256 v = _mm256_blendv_ps(ninf, _mm256_maskload_ps(xr + full, k), tailmask);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            max0 = _mm256_max_ps(max0, v);
        }
        float max = _mm256_movemask_ps(nan) ? NAN : pw_hmax8(_mm256_max_ps(max0, max1));
        __m256 vmax = _mm256_set1_ps(max);

        __m256d sum0 = _mm256_setzero_pd(), sum1 = _mm256_setzero_pd();
        for (c = 0; c < full; c += 8) {
            __m256 e = pw_exp8(_mm256_sub_ps(_mm256_loadu_ps(xr + c), vmax));
            _mm256_storeu_ps(yr + c, e);
            pw_add_wide8(&sum0, &sum1, e);
        }
        if (tail) {
            __m256 e = pw_exp8(_mm256_sub_ps(_mm256_maskload_ps(xr + full, k), vmax));
            _mm256_maskstore_ps(yr + full, k, e);
            pw_add_wide8(&sum0, &sum1, _mm256_and_ps(e, tailmask));
        }
        double sum = pw_hsum4d(_mm256_add_pd(sum0, sum1));

        __m256 inverse = _mm256_set1_ps((float)(1.0 / sum));
        for (c = 0; c < full; c += 8) _mm256_storeu_ps(yr + c, _mm256_mul_ps(_mm256_loadu_ps(yr + c), inverse));
        if (tail) _mm256_maskstore_ps(yr + full, k, _mm256_mul_ps(_mm256_maskload_ps(yr + full, k), inverse));
    }
}

// MARK: AVX-512

PW_AVX512 static void softmax_avx512(size_t rows, size_t columns, const float *x, size_t ldx, float *y, size_t ldy) {
    size_t full = columns & ~(size_t)15, tail = columns - full;
    __mmask16 k = pw_mask16(tail);
    __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (size_t m = 0; m < rows; m++) {
        const float *xr = x + m * ldx;
        float *yr = y + m * ldy;
        __m512 max0 = ninf, max1 = ninf;
        __mmask16 nan = 0;
        size_t c = 0;
        for (; c + 32 <= columns; c += 32) {
            __m512 v0 = _mm512_loadu_ps(xr + c), v1 = _mm512_loadu_ps(xr + c + 16);
            nan = (__mmask16)(nan | _mm512_cmp_ps_mask(v0, v1, _CMP_UNORD_Q));
            max0 = _mm512_max_ps(max0, v0);
            max1 = _mm512_max_ps(max1, v1);
        }
        if (c < full) {
            __m512 v = _mm512_loadu_ps(xr + c);
            nan = (__mmask16)(nan | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q));
            max0 = _mm512_max_ps(max0, v);
        }
        if (tail) {
            __m512 v = _mm512_mask_loadu_ps(ninf, k, xr + full);
            nan = (__mmask16)(nan | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q));
            max0 = _mm512_max_ps(max0, v);
        }
        float max = nan ? NAN : pw_hmax16(_mm512_max_ps(max0, max1));
        __m512 vmax = _mm512_set1_ps(max);

        __m512d sum0 = _mm512_setzero_pd(), sum1 = _mm512_setzero_pd();
        for (c = 0; c < full; c += 16) {
            __m512 e = pw_exp16(_mm512_sub_ps(_mm512_loadu_ps(xr + c), vmax));
            _mm512_storeu_ps(yr + c, e);
            pw_add_wide16(&sum0, &sum1, e);
        }
        if (tail) {
            __m512 e = pw_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, xr + full), vmax));
            _mm512_mask_storeu_ps(yr + full, k, e);
            pw_add_wide16(&sum0, &sum1, _mm512_maskz_mov_ps(k, e));
        }
        double sum = pw_hsum8d(_mm512_add_pd(sum0, sum1));

        __m512 inverse = _mm512_set1_ps((float)(1.0 / sum));
        for (c = 0; c < full; c += 16) _mm512_storeu_ps(yr + c, _mm512_mul_ps(_mm512_loadu_ps(yr + c), inverse));
        if (tail) _mm512_mask_storeu_ps(yr + full, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, yr + full), inverse));
    }
}

#endif  // PW_X86

void pw_softmax_rows(pw_isa isa, size_t rows, size_t columns, const float *x, size_t ldx, float *y, size_t ldy) {
    if (rows == 0 || columns == 0) return;
#if PW_X86
    if (isa == PW_ISA_AVX512) { softmax_avx512(rows, columns, x, ldx, y, ldy); return; }
    if (isa == PW_ISA_AVX2) { softmax_avx2(rows, columns, x, ldx, y, ldy); return; }
#else
    (void)isa;
#endif
    softmax_portable(rows, columns, x, ldx, y, ldy);
}
