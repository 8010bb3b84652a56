// The core's arithmetic ceiling: PEAK_CHAINS independent FMA chains held in registers (no memory
// traffic), enough to cover the FMA latency times the FMA units (4 cycles × 2 units needs 8; 12
// leaves room), on vectors of the ISA's width. A GEMM or convolution at this rate does nothing but
// FMAs; `pointwise info` reports it so kernel and network speeds can be read as a share of it.
// a ← a·(1 − 2⁻²³) + 2⁻²³ converges to 1: no overflow, no subnormals, however long it runs.
#include "isa.h"

#define PEAK_CHAINS 12

#if PW_X86

PW_AVX512 static float fma_chains_avx512(size_t iterations) {
    __m512 a[PEAK_CHAINS], b = _mm512_set1_ps(1.0f - 0x1p-23f), c = _mm512_set1_ps(0x1p-23f);
    for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm512_set1_ps((float)i);
    for (size_t k = 0; k < iterations; k++)
        for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
    __m512 s = a[0];
    for (int i = 1; i < PEAK_CHAINS; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}

PW_AVX2 static float fma_chains_avx2(size_t iterations) {
    __m256 a[PEAK_CHAINS], b = _mm256_set1_ps(1.0f - 0x1p-23f), c = _mm256_set1_ps(0x1p-23f);
    for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm256_set1_ps((float)i);
    for (size_t k = 0; k < iterations; k++)
        for (int i = 0; i < PEAK_CHAINS; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
    __m256 s = a[0];
    for (int i = 1; i < PEAK_CHAINS; i++) s = _mm256_add_ps(s, a[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

#endif

/// Portable: the same chains on scalars (whatever the compiler makes of them).
static float fma_chains_portable(size_t iterations) {
    float a[PEAK_CHAINS];
    for (int i = 0; i < PEAK_CHAINS; i++) a[i] = (float)i;
    for (size_t k = 0; k < iterations; k++)
        for (int i = 0; i < PEAK_CHAINS; i++) a[i] = fmaf(a[i], 1.0f - 0x1p-23f, 0x1p-23f);
    float s = 0;
    for (int i = 0; i < PEAK_CHAINS; i++) s += a[i];
    return s;
}

double pw_fma_peak_run(pw_isa isa, size_t iterations, float *sink) {
    float s;
    double lanes;
#if PW_X86
    if (isa == PW_ISA_AVX512) {
        s = fma_chains_avx512(iterations);
        lanes = 16;
    } else if (isa == PW_ISA_AVX2) {
        s = fma_chains_avx2(iterations);
        lanes = 8;
    } else
#endif
    {
        (void)isa;
        s = fma_chains_portable(iterations);
        lanes = 1;
    }
    if (sink) *sink = s;
    return 2.0 * PEAK_CHAINS * lanes * (double)iterations;
}
