// Row maps with an activation: pw_bias_activation (the GEMM epilogue), pw_activation_rows and
// pw_channel_affine (in elementwise.c) share one kernel, y = act(x·scale + shift) with scale and
// shift optional, specialised at compile time on which of them are present and on the activation.
#include "isa.h"

// MARK: Portable

PW_INLINE void map_rows_portable(const float *x, size_t ldx, float *y, size_t ldy, size_t rows, size_t columns,
                                 const float *scale, const float *shift, pw_map_mode mode,
                                 pw_activation_kind kind, float alpha, float beta) {
    for (size_t m = 0; m < rows; m++) {
        const float *xr = x + m * ldx;
        float *yr = y + m * ldy;
#define MAP_PORTABLE_LOOP(SOURCE) \
        for (size_t c = 0; c < columns; c++) { \
            float v = (SOURCE)[c]; \
            if (mode == PW_MAP_SCALE || mode == PW_MAP_AFFINE) v = v * scale[c]; \
            if (mode == PW_MAP_SHIFT || mode == PW_MAP_AFFINE) v = v + shift[c]; \
            yr[c] = pw_act1(v, kind, alpha, beta); \
        }
        // In place, one pointer: the compiler's run-time overlap check would fail for x == y and
        // fall back to its scalar loop.
        if (xr == yr) MAP_PORTABLE_LOOP(yr)
        else MAP_PORTABLE_LOOP(xr)
#undef MAP_PORTABLE_LOOP
    }
}

#define MAP_PORTABLE(K, MODE) map_rows_portable(x, ldx, y, ldy, rows, columns, scale, shift, MODE, K, alpha, beta)

static void map_portable(PW_MAP_PARAMETERS) {
    float alpha = a.alpha, beta = a.beta;
    switch (mode) {
    case PW_MAP_COPY: PW_SWITCH_ACTIVATION(a.kind, MAP_PORTABLE, PW_MAP_COPY); break;
    case PW_MAP_SHIFT: PW_SWITCH_ACTIVATION(a.kind, MAP_PORTABLE, PW_MAP_SHIFT); break;
    case PW_MAP_SCALE: PW_SWITCH_ACTIVATION(a.kind, MAP_PORTABLE, PW_MAP_SCALE); break;
    case PW_MAP_AFFINE: PW_SWITCH_ACTIVATION(a.kind, MAP_PORTABLE, PW_MAP_AFFINE); break;
    }
}

#if PW_X86

// MARK: AVX2

PW_AVX2 PW_INLINE __m256 map_step8(__m256 v, const float *scale, const float *shift, pw_map_mode mode, __m256i k, int masked) {
    if (mode == PW_MAP_SCALE || mode == PW_MAP_AFFINE) {
        __m256 s = masked ? _mm256_maskload_ps(scale, k) : _mm256_loadu_ps(scale);
        if (mode == PW_MAP_AFFINE) {
            __m256 t = masked ? _mm256_maskload_ps(shift, k) : _mm256_loadu_ps(shift);
            return _mm256_fmadd_ps(v, s, t);
        }
        return _mm256_mul_ps(v, s);
    }
    if (mode == PW_MAP_SHIFT) return _mm256_add_ps(v, masked ? _mm256_maskload_ps(shift, k) : _mm256_loadu_ps(shift));
    return v;
}

PW_AVX2 PW_INLINE void map_rows_avx2(const float *x, size_t ldx, float *y, size_t ldy, size_t rows, size_t columns,
                                     const float *scale, const float *shift, pw_map_mode mode,
                                     pw_activation_kind kind, float alpha, float beta) {
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    size_t tail = columns % 8;
    __m256i k = pw_mask8(tail), all = _mm256_set1_epi32(-1);
    for (size_t m = 0; m < rows; m++) {
        const float *xr = x + m * ldx;
        float *yr = y + m * ldy;
        size_t c = 0;
        for (; c + 16 <= columns; c += 16) {
            __m256 v0 = map_step8(_mm256_loadu_ps(xr + c), scale + c, shift + c, mode, all, 0);
            __m256 v1 = map_step8(_mm256_loadu_ps(xr + c + 8), scale + c + 8, shift + c + 8, mode, all, 0);
            _mm256_storeu_ps(yr + c, pw_act8(v0, kind, va, vb));
            _mm256_storeu_ps(yr + c + 8, pw_act8(v1, kind, va, vb));
        }
        if (c + 8 <= columns) {
            __m256 v = map_step8(_mm256_loadu_ps(xr + c), scale + c, shift + c, mode, all, 0);
            _mm256_storeu_ps(yr + c, pw_act8(v, kind, va, vb));
            c += 8;
        }
        if (tail) {
            __m256 v = map_step8(_mm256_maskload_ps(xr + c, k), scale + c, shift + c, mode, k, 1);
            _mm256_maskstore_ps(yr + c, k, pw_act8(v, kind, va, vb));
        }
    }
}

#define MAP_AVX2(K, MODE) map_rows_avx2(x, ldx, y, ldy, rows, columns, scale, shift, MODE, K, alpha, beta)

PW_AVX2 static void map_avx2(PW_MAP_PARAMETERS) {
    float alpha = a.alpha, beta = a.beta;
    switch (mode) {
    case PW_MAP_COPY: PW_SWITCH_ACTIVATION(a.kind, MAP_AVX2, PW_MAP_COPY); break;
    case PW_MAP_SHIFT: PW_SWITCH_ACTIVATION(a.kind, MAP_AVX2, PW_MAP_SHIFT); break;
    case PW_MAP_SCALE: PW_SWITCH_ACTIVATION(a.kind, MAP_AVX2, PW_MAP_SCALE); break;
    case PW_MAP_AFFINE: PW_SWITCH_ACTIVATION(a.kind, MAP_AVX2, PW_MAP_AFFINE); break;
    }
}

// MARK: AVX-512

PW_AVX512 PW_INLINE __m512 map_step16(__m512 v, const float *scale, const float *shift, pw_map_mode mode, __mmask16 k) {
    if (mode == PW_MAP_SCALE || mode == PW_MAP_AFFINE) {
        __m512 s = _mm512_maskz_loadu_ps(k, scale);
        if (mode == PW_MAP_AFFINE) return _mm512_fmadd_ps(v, s, _mm512_maskz_loadu_ps(k, shift));
        return _mm512_mul_ps(v, s);
    }
    if (mode == PW_MAP_SHIFT) return _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, shift));
    return v;
}

PW_AVX512 PW_INLINE void map_rows_avx512(const float *x, size_t ldx, float *y, size_t ldy, size_t rows, size_t columns,
                                         const float *scale, const float *shift, pw_map_mode mode,
                                         pw_activation_kind kind, float alpha, float beta) {
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    size_t tail = columns % 16;
    __mmask16 k = pw_mask16(tail), all = (__mmask16)0xFFFF;
    for (size_t m = 0; m < rows; m++) {
        const float *xr = x + m * ldx;
        float *yr = y + m * ldy;
        size_t c = 0;
        for (; c + 32 <= columns; c += 32) {
            __m512 v0 = map_step16(_mm512_loadu_ps(xr + c), scale + c, shift + c, mode, all);
            __m512 v1 = map_step16(_mm512_loadu_ps(xr + c + 16), scale + c + 16, shift + c + 16, mode, all);
            _mm512_storeu_ps(yr + c, pw_act16(v0, kind, va, vb));
            _mm512_storeu_ps(yr + c + 16, pw_act16(v1, kind, va, vb));
        }
        if (c + 16 <= columns) {
            __m512 v = map_step16(_mm512_loadu_ps(xr + c), scale + c, shift + c, mode, all);
            _mm512_storeu_ps(yr + c, pw_act16(v, kind, va, vb));
            c += 16;
        }
        if (tail) {
            __m512 v = map_step16(_mm512_maskz_loadu_ps(k, xr + c), scale + c, shift + c, mode, k);
            _mm512_mask_storeu_ps(yr + c, k, pw_act16(v, kind, va, vb));
        }
    }
}

#define MAP_AVX512(K, MODE) map_rows_avx512(x, ldx, y, ldy, rows, columns, scale, shift, MODE, K, alpha, beta)

PW_AVX512 static void map_avx512(PW_MAP_PARAMETERS) {
    float alpha = a.alpha, beta = a.beta;
    switch (mode) {
    case PW_MAP_COPY: PW_SWITCH_ACTIVATION(a.kind, MAP_AVX512, PW_MAP_COPY); break;
    case PW_MAP_SHIFT: PW_SWITCH_ACTIVATION(a.kind, MAP_AVX512, PW_MAP_SHIFT); break;
    case PW_MAP_SCALE: PW_SWITCH_ACTIVATION(a.kind, MAP_AVX512, PW_MAP_SCALE); break;
    case PW_MAP_AFFINE: PW_SWITCH_ACTIVATION(a.kind, MAP_AVX512, PW_MAP_AFFINE); break;
    }
}

#endif  // PW_X86

void pw_map_rows(pw_isa isa, PW_MAP_PARAMETERS) {
    if (rows == 0 || columns == 0) return;
#if PW_X86
    if (isa == PW_ISA_AVX512) { map_avx512(x, ldx, y, ldy, rows, columns, scale, shift, mode, a); return; }
    if (isa == PW_ISA_AVX2) { map_avx2(x, ldx, y, ldy, rows, columns, scale, shift, mode, a); return; }
#else
    (void)isa;
#endif
    map_portable(x, ldx, y, ldy, rows, columns, scale, shift, mode, a);
}

// MARK: Public entry points

void pw_bias_activation(pw_isa isa, float *y, size_t rows, size_t columns, size_t ldy,
                        const float *bias, pw_activation activation) {
    if (!bias && activation.kind == PW_IDENTITY) return;
    pw_map_rows(isa, y, ldy, y, ldy, rows, columns, NULL, bias, bias ? PW_MAP_SHIFT : PW_MAP_COPY, activation);
}

void pw_activation_rows(pw_isa isa, const float *x, size_t ldx, float *y, size_t ldy,
                        size_t rows, size_t columns, pw_activation activation) {
    if (x == y && (ldx == ldy || rows <= 1) && activation.kind == PW_IDENTITY) return;
    pw_map_rows(isa, x, ldx, y, ldy, rows, columns, NULL, NULL, PW_MAP_COPY, activation);
}
