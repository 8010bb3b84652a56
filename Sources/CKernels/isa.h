// Internal to CKernels (not in include/): what the kernel files share. Each kernel is written three
// times, for AVX-512 (16 lanes, masked tails), AVX2+FMA (8 lanes, masked tails) and portable C (the
// channel loop innermost, so the compiler can vectorise it), with function-level target attributes,
// because Swift code is compiled for the baseline ISA. The `isa` argument picks one at run time.
//
// Helpers here are `static inline` with always_inline: a kernel body written once as an inline
// function and called with a constant activation kind (see PW_SWITCH_ACTIVATION) is specialised by
// constant propagation, so the per-element switch disappears from the loop.
#ifndef POINTWISE_ISA_H
#define POINTWISE_ISA_H

#include "pointwise_kernels.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PW_X86 1
#define PW_AVX512 __attribute__((target("avx512f")))
#define PW_AVX2 __attribute__((target("avx2,fma")))
#else
#define PW_X86 0
#endif

#define PW_INLINE static inline __attribute__((always_inline))

PW_INLINE size_t pw_min(size_t a, size_t b) { return a < b ? a : b; }

/// Calls CALL(kind, ARG) with `kind` as a compile-time constant (unknown values: identity).
#define PW_SWITCH_ACTIVATION(kind, CALL, ARG) do { \
        switch (kind) { \
        case PW_RELU: CALL(PW_RELU, ARG); break; \
        case PW_CLIP: CALL(PW_CLIP, ARG); break; \
        case PW_LEAKY_RELU: CALL(PW_LEAKY_RELU, ARG); break; \
        case PW_SIGMOID: CALL(PW_SIGMOID, ARG); break; \
        case PW_HARD_SIGMOID: CALL(PW_HARD_SIGMOID, ARG); break; \
        case PW_HARD_SWISH: CALL(PW_HARD_SWISH, ARG); break; \
        default: CALL(PW_IDENTITY, ARG); break; \
        } \
    } while (0)

/// The kernel taps k < kernel whose position origin + k·dilation, origin = o·stride − pad, lies in
/// [0, size): k in [*first, *end) (empty when first == end). dilation 0 counts as 1.
PW_INLINE void pw_tap_range(size_t o, size_t stride, size_t pad, size_t dilation, size_t kernel, size_t size,
                            size_t *first, size_t *end) {
    ptrdiff_t origin = (ptrdiff_t)(o * stride) - (ptrdiff_t)pad;
    ptrdiff_t d = dilation ? (ptrdiff_t)dilation : 1;
    size_t k0, k1;
    if (origin >= (ptrdiff_t)size) {
        k0 = k1 = 0;
    } else if (d == 1) {
        k0 = origin < 0 ? (size_t)(-origin) : 0;
        k1 = (size_t)((ptrdiff_t)size - origin);
    } else {
        k0 = origin < 0 ? (size_t)((-origin + d - 1) / d) : 0;
        k1 = (size_t)(((ptrdiff_t)size - origin + d - 1) / d);
    }
    if (k1 > kernel) k1 = kernel;
    if (k0 > k1) k0 = k1;
    *first = k0;
    *end = k1;
}

// MARK: Scalar math (the portable kernels, written so the compiler can vectorise them)

PW_INLINE uint32_t pw_float_bits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
PW_INLINE float pw_bits_float(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }

// exp(x): n = round(x·log2 e), r = x − n·ln 2 (Cody–Waite, ln 2 split so n·LN2_HI is exact),
// exp(r) by Cephes' degree-7 polynomial on |r| ≤ ln2/2, times 2^n applied as 2^⌊n/2⌋ · 2^(n−⌊n/2⌋)
// so results down to the subnormals (and up to the overflow to +inf) are rounded once.
// The argument is clamped to [−104, 89] first (exp(−104) rounds to 0, exp(89) overflows to +inf),
// which keeps the exponent arithmetic in range; NaN passes through the clamps and the polynomial.
// Measured against double exp over every float in [−104, 89]: max error 1.01 ulp with FMA (AVX2,
// AVX-512), 0.99 ulp without (portable, as compiled for x86-64).
#define PW_EXP_MIN (-104.0f)
#define PW_EXP_MAX 89.0f
#define PW_LOG2E 1.44269504088896341f
#define PW_LN2_HI 0.693359375f
#define PW_LN2_LO (-2.12194440e-4f)
#define PW_EXP_P0 1.9875691500e-4f
#define PW_EXP_P1 1.3981999507e-3f
#define PW_EXP_P2 8.3334519073e-3f
#define PW_EXP_P3 4.1665795894e-2f
#define PW_EXP_P4 1.6666665459e-1f
#define PW_EXP_P5 5.0000001201e-1f
#define PW_ROUND_MAGIC 12582912.0f  // 1.5·2^23: adding it rounds a float of magnitude < 2^22 to an integer
                                    // (IEEE arithmetic assumed: no -ffast-math, which would fold it away)

PW_INLINE float pw_exp1(float x) {
    x = x < PW_EXP_MIN ? PW_EXP_MIN : x;
    x = x > PW_EXP_MAX ? PW_EXP_MAX : x;
    float t = x * PW_LOG2E + PW_ROUND_MAGIC;
    float nf = t - PW_ROUND_MAGIC;
    int32_t n = (int32_t)(pw_float_bits(t) - pw_float_bits(PW_ROUND_MAGIC));
    float r = x - nf * PW_LN2_HI;
    r = r - nf * PW_LN2_LO;
    float p = PW_EXP_P0;
    p = p * r + PW_EXP_P1;
    p = p * r + PW_EXP_P2;
    p = p * r + PW_EXP_P3;
    p = p * r + PW_EXP_P4;
    p = p * r + PW_EXP_P5;
    p = p * (r * r) + r + 1.0f;
    int32_t n1 = n >> 1, n2 = n - n1;
    float s1 = pw_bits_float(((uint32_t)n1 + 127u) << 23), s2 = pw_bits_float(((uint32_t)n2 + 127u) << 23);
    return p * s1 * s2;
}

// sigmoid(x) from e = exp(−|x|) ∈ [0, 1]: 1/(1+e) for x ≥ 0, e/(1+e) for x < 0, so it never
// overflows and keeps full relative accuracy for very negative x. sigmoid(+inf) = 1, sigmoid(−inf) = 0,
// sigmoid(NaN) = NaN.
// Measured against double over every float in [−120, 120]: max error 2.40 ulp (all three variants).
PW_INLINE float pw_sigmoid1(float x) {
    float e = pw_exp1(-fabsf(x));
    float num = x < 0.0f ? e : 1.0f;
    return num / (1.0f + e);
}

// log(x), Cephes logf: x = m·2^e with m ∈ [√½, √2), log(1+f) by a degree-9 polynomial; subnormals
// are scaled up first; log(0) = −inf, log(x < 0) = NaN, log(+inf) = +inf, NaN → NaN. Measured
// against double log over every 16th positive float: max error 0.82 ulp.
#define PW_SQRTHF 0.707106781186547524f
#define PW_LOG_P0 7.0376836292e-2f
#define PW_LOG_P1 (-1.1514610310e-1f)
#define PW_LOG_P2 1.1676998740e-1f
#define PW_LOG_P3 (-1.2420140846e-1f)
#define PW_LOG_P4 1.4249322787e-1f
#define PW_LOG_P5 (-1.6668057665e-1f)
#define PW_LOG_P6 2.0000714765e-1f
#define PW_LOG_P7 (-2.4999993993e-1f)
#define PW_LOG_P8 3.3333331174e-1f

PW_INLINE float pw_log1(float x) {
    int tiny = x < FLT_MIN;
    float xs = tiny ? x * 33554432.0f : x;  // 2^25
    uint32_t u = pw_float_bits(xs);
    float e = (float)((int32_t)((u >> 23) & 0xffu) - 126) - (tiny ? 25.0f : 0.0f);
    float m = pw_bits_float((u & 0x007fffffu) | 0x3f000000u);  // [0.5, 1)
    int small = m < PW_SQRTHF;
    e = small ? e - 1.0f : e;
    m = (small ? m + m : m) - 1.0f;
    float z = m * m;
    float y = PW_LOG_P0;
    y = y * m + PW_LOG_P1;
    y = y * m + PW_LOG_P2;
    y = y * m + PW_LOG_P3;
    y = y * m + PW_LOG_P4;
    y = y * m + PW_LOG_P5;
    y = y * m + PW_LOG_P6;
    y = y * m + PW_LOG_P7;
    y = y * m + PW_LOG_P8;
    y = y * m * z;
    y = y + e * PW_LN2_LO;
    y = y - 0.5f * z;
    float r = m + y;
    r = r + e * PW_LN2_HI;
    r = x == 0.0f ? -INFINITY : r;
    r = x == INFINITY ? INFINITY : r;
    return (x < 0.0f || x != x) ? NAN : r;
}

/// act(v) for a kind known at compile time after inlining. NaN propagates through every kind.
PW_INLINE float pw_act1(float v, pw_activation_kind kind, float alpha, float beta) {
    switch (kind) {
    case PW_RELU: return v < 0.0f ? 0.0f : v;
    case PW_CLIP: v = v < alpha ? alpha : v; return v > beta ? beta : v;
    case PW_LEAKY_RELU: return v < 0.0f ? alpha * v : v;
    case PW_SIGMOID: return pw_sigmoid1(v);
    case PW_HARD_SIGMOID: {
        float t = alpha * v + beta;
        t = t > 1.0f ? 1.0f : t;
        return t < 0.0f ? 0.0f : t;
    }
    case PW_HARD_SWISH: {
        // x·relu6(x + 3)/6 (PyTorch's form): x + 3 is exact near −3, where x/6 + 1/2 would cancel.
        float t = v + 3.0f;
        t = t < 0.0f ? 0.0f : t;
        t = t > 6.0f ? 6.0f : t;
        return v * t * (1.0f / 6.0f);  // −inf · 0 = NaN, as PyTorch gives
    }
    default: return v;
    }
}

// MARK: Shared row map (activation.c): y = act(x·scale + shift), used by pw_bias_activation,
// pw_activation_rows, pw_channel_affine and pw_binary's activation pass.

typedef enum {
    PW_MAP_COPY = 0,    // y = act(x)
    PW_MAP_SHIFT = 1,   // y = act(x + shift[c])
    PW_MAP_SCALE = 2,   // y = act(x · scale[c])
    PW_MAP_AFFINE = 3,  // y = act(x · scale[c] + shift[c])
} pw_map_mode;

#define PW_MAP_PARAMETERS \
    const float *x, size_t ldx, float *y, size_t ldy, size_t rows, size_t columns, \
    const float *scale, const float *shift, pw_map_mode mode, pw_activation a

#if defined(__GNUC__) && !defined(_WIN32)
#define PW_INTERNAL __attribute__((visibility("hidden")))
#else
#define PW_INTERNAL
#endif

/// x == y allowed (in place). Internal to CKernels (not exported from the library).
PW_INTERNAL void pw_map_rows(pw_isa isa, PW_MAP_PARAMETERS);

#define PW_ACT_ROW_CASE(K, ARG) for (size_t i = 0; i < n; i++) y[i] = pw_act1(y[i], K, alpha, beta)

/// y[i] = act(y[i]) for i < n, the switch outside the loop (portable kernels' final pass).
static inline void pw_act_row_portable(float *y, size_t n, pw_activation a) {
    float alpha = a.alpha, beta = a.beta;
    if (a.kind == PW_IDENTITY) return;
    PW_SWITCH_ACTIVATION(a.kind, PW_ACT_ROW_CASE, 0);
}

#if PW_X86

// MARK: AVX2 + FMA, 8 lanes

/// Lanes i < n (n ≤ 8) set, for _mm256_maskload_ps / _mm256_maskstore_ps.
PW_AVX2 PW_INLINE __m256i pw_mask8(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

PW_AVX2 PW_INLINE __m256 pw_exp8(__m256 x) {
    x = _mm256_max_ps(_mm256_set1_ps(PW_EXP_MIN), x);  // max/min return the second operand for NaN
    x = _mm256_min_ps(_mm256_set1_ps(PW_EXP_MAX), x);
    __m256 nf = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(PW_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(PW_LN2_HI), x);
    r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(PW_LN2_LO), r);
    __m256 p = _mm256_set1_ps(PW_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(PW_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(PW_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(PW_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(PW_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(PW_EXP_P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    __m256i n = _mm256_cvtps_epi32(nf);  // NaN gives INT_MIN: the scale is garbage, p is NaN
    __m256i n1 = _mm256_srai_epi32(n, 1), n2 = _mm256_sub_epi32(n, n1);
    __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

PW_AVX2 PW_INLINE __m256 pw_sigmoid8(__m256 x) {
    __m256 negabs = _mm256_or_ps(x, _mm256_set1_ps(-0.0f));
    __m256 e = pw_exp8(negabs);
    __m256 num = _mm256_blendv_ps(_mm256_set1_ps(1.0f), e, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    return _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

PW_AVX2 PW_INLINE __m256 pw_log8(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(FLT_MIN), _CMP_LT_OQ);
    __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(33554432.0f)), tiny);
    __m256i u = _mm256_castps_si256(xs);
    __m256i biased = _mm256_and_si256(_mm256_srli_epi32(u, 23), _mm256_set1_epi32(0xff));
    __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(biased, _mm256_set1_epi32(126)));
    e = _mm256_sub_ps(e, _mm256_and_ps(tiny, _mm256_set1_ps(25.0f)));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(u, _mm256_set1_epi32(0x007fffff)),
                                                   _mm256_set1_epi32(0x3f000000)));
    __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(PW_SQRTHF), _CMP_LT_OQ);
    e = _mm256_sub_ps(e, _mm256_and_ps(small, one));
    m = _mm256_sub_ps(_mm256_blendv_ps(m, _mm256_add_ps(m, m), small), one);
    __m256 z = _mm256_mul_ps(m, m);
    __m256 y = _mm256_set1_ps(PW_LOG_P0);
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(PW_LOG_P1));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(PW_LOG_P2));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(PW_LOG_P3));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(PW_LOG_P4));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(PW_LOG_P5));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(PW_LOG_P6));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(PW_LOG_P7));
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(PW_LOG_P8));
    y = _mm256_mul_ps(_mm256_mul_ps(y, m), z);
    y = _mm256_fmadd_ps(e, _mm256_set1_ps(PW_LN2_LO), y);
    y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
    __m256 r = _mm256_add_ps(m, y);
    r = _mm256_fmadd_ps(e, _mm256_set1_ps(PW_LN2_HI), r);
    r = _mm256_blendv_ps(r, _mm256_set1_ps(-INFINITY), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
    r = _mm256_blendv_ps(r, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, _mm256_set1_ps(INFINITY), _CMP_EQ_OQ));
    return _mm256_blendv_ps(r, _mm256_set1_ps(NAN), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NGE_UQ));
}

/// act(v); alpha and beta broadcast. max/min are written (constant, v) so NaN v comes out.
PW_AVX2 PW_INLINE __m256 pw_act8(__m256 v, pw_activation_kind kind, __m256 alpha, __m256 beta) {
    __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (kind) {
    case PW_RELU: return _mm256_max_ps(zero, v);
    case PW_CLIP: return _mm256_min_ps(beta, _mm256_max_ps(alpha, v));
    case PW_LEAKY_RELU: return _mm256_blendv_ps(v, _mm256_mul_ps(alpha, v), _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
    case PW_SIGMOID: return pw_sigmoid8(v);
    case PW_HARD_SIGMOID: return _mm256_max_ps(zero, _mm256_min_ps(one, _mm256_fmadd_ps(alpha, v, beta)));
    case PW_HARD_SWISH: {
        __m256 t = _mm256_min_ps(_mm256_set1_ps(6.0f), _mm256_max_ps(zero, _mm256_add_ps(v, _mm256_set1_ps(3.0f))));
        return _mm256_mul_ps(_mm256_mul_ps(v, t), _mm256_set1_ps(1.0f / 6.0f));
    }
    default: return v;
    }
}

/// Largest lane (v must hold no NaN for a meaningful result).
PW_AVX2 PW_INLINE float pw_hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

/// acc += v's 8 lanes, widened to double (two 4-lane accumulators).
PW_AVX2 PW_INLINE void pw_add_wide8(__m256d *lo, __m256d *hi, __m256 v) {
    *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

PW_AVX2 PW_INLINE double pw_hsum4d(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

// MARK: AVX-512F, 16 lanes (AVX-512F only: float bitwise ops go through the integer forms, which
// AVX-512DQ would otherwise be needed for)

PW_AVX512 PW_INLINE __mmask16 pw_mask16(size_t n) { return (__mmask16)((1u << n) - 1u); }

PW_AVX512 PW_INLINE __m512 pw_or512(__m512 a, __m512 b) {
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

PW_AVX512 PW_INLINE __m512 pw_exp16(__m512 x) {
    x = _mm512_max_ps(_mm512_set1_ps(PW_EXP_MIN), x);
    x = _mm512_min_ps(_mm512_set1_ps(PW_EXP_MAX), x);
    __m512 nf = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(PW_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(nf, _mm512_set1_ps(PW_LN2_HI), x);
    r = _mm512_fnmadd_ps(nf, _mm512_set1_ps(PW_LN2_LO), r);
    __m512 p = _mm512_set1_ps(PW_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(PW_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(PW_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(PW_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(PW_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(PW_EXP_P5));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    __m512i n = _mm512_cvtps_epi32(nf);
    __m512i n1 = _mm512_srai_epi32(n, 1), n2 = _mm512_sub_epi32(n, n1);
    __m512i bias = _mm512_set1_epi32(127);
    __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, bias), 23));
    __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, bias), 23));
    return _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
}

PW_AVX512 PW_INLINE __m512 pw_sigmoid16(__m512 x) {
    __m512 negabs = pw_or512(x, _mm512_set1_ps(-0.0f));
    __m512 e = pw_exp16(negabs);
    __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    __m512 num = _mm512_mask_blend_ps(negative, _mm512_set1_ps(1.0f), e);
    return _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

PW_AVX512 PW_INLINE __m512 pw_log16(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f);
    __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(FLT_MIN), _CMP_LT_OQ);
    __m512 xs = _mm512_mask_blend_ps(tiny, x, _mm512_mul_ps(x, _mm512_set1_ps(33554432.0f)));
    __m512i u = _mm512_castps_si512(xs);
    __m512i biased = _mm512_and_si512(_mm512_srli_epi32(u, 23), _mm512_set1_epi32(0xff));
    __m512 e = _mm512_cvtepi32_ps(_mm512_sub_epi32(biased, _mm512_set1_epi32(126)));
    e = _mm512_mask_sub_ps(e, tiny, e, _mm512_set1_ps(25.0f));
    __m512 m = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(u, _mm512_set1_epi32(0x007fffff)),
                                                   _mm512_set1_epi32(0x3f000000)));
    __mmask16 small = _mm512_cmp_ps_mask(m, _mm512_set1_ps(PW_SQRTHF), _CMP_LT_OQ);
    e = _mm512_mask_sub_ps(e, small, e, one);
    m = _mm512_sub_ps(_mm512_mask_blend_ps(small, m, _mm512_add_ps(m, m)), one);
    __m512 z = _mm512_mul_ps(m, m);
    __m512 y = _mm512_set1_ps(PW_LOG_P0);
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(PW_LOG_P1));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(PW_LOG_P2));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(PW_LOG_P3));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(PW_LOG_P4));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(PW_LOG_P5));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(PW_LOG_P6));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(PW_LOG_P7));
    y = _mm512_fmadd_ps(y, m, _mm512_set1_ps(PW_LOG_P8));
    y = _mm512_mul_ps(_mm512_mul_ps(y, m), z);
    y = _mm512_fmadd_ps(e, _mm512_set1_ps(PW_LN2_LO), y);
    y = _mm512_fnmadd_ps(z, _mm512_set1_ps(0.5f), y);
    __m512 r = _mm512_add_ps(m, y);
    r = _mm512_fmadd_ps(e, _mm512_set1_ps(PW_LN2_HI), r);
    r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_EQ_OQ), r, _mm512_set1_ps(-INFINITY));
    r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(INFINITY), _CMP_EQ_OQ), r, _mm512_set1_ps(INFINITY));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NGE_UQ), r, _mm512_set1_ps(NAN));
}

PW_AVX512 PW_INLINE __m512 pw_act16(__m512 v, pw_activation_kind kind, __m512 alpha, __m512 beta) {
    __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (kind) {
    case PW_RELU: return _mm512_max_ps(zero, v);
    case PW_CLIP: return _mm512_min_ps(beta, _mm512_max_ps(alpha, v));
    case PW_LEAKY_RELU:
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, _mm512_mul_ps(alpha, v));
    case PW_SIGMOID: return pw_sigmoid16(v);
    case PW_HARD_SIGMOID: return _mm512_max_ps(zero, _mm512_min_ps(one, _mm512_fmadd_ps(alpha, v, beta)));
    case PW_HARD_SWISH: {
        __m512 t = _mm512_min_ps(_mm512_set1_ps(6.0f), _mm512_max_ps(zero, _mm512_add_ps(v, _mm512_set1_ps(3.0f))));
        return _mm512_mul_ps(_mm512_mul_ps(v, t), _mm512_set1_ps(1.0f / 6.0f));
    }
    default: return v;
    }
}

PW_AVX512 PW_INLINE float pw_hmax16(__m512 v) {
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    __m256 m8 = _mm256_max_ps(lo, hi);
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

PW_AVX512 PW_INLINE void pw_add_wide16(__m512d *lo, __m512d *hi, __m512 v) {
    *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    *hi = _mm512_add_pd(*hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

PW_AVX512 PW_INLINE double pw_hsum8d(__m512d v) {
    __m256d s4 = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

#endif  // PW_X86

#endif
