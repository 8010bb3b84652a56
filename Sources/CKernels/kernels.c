#include "pointwise_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PW_X86 1
#define PW_AVX512 __attribute__((target("avx512f")))
#define PW_AVX2 __attribute__((target("avx2,fma")))
#else
#define PW_X86 0
#endif


static inline float activate(float v, pw_activation a) {
    if (a == PW_IDENTITY) return v;
    v = v > 0.0f ? v : 0.0f;
    return (a == PW_RELU6 && v > 6.0f) ? 6.0f : v;
}

// MARK: Epilogue

static void bias_activation_portable(float *y, size_t rows, size_t columns, size_t ldy,
                                     const float *bias, pw_activation a) {
    for (size_t m = 0; m < rows; m++) {
        float *row = y + m * ldy;
        for (size_t c = 0; c < columns; c++) row[c] = activate(row[c] + (bias ? bias[c] : 0.0f), a);
    }
}

#if PW_X86
PW_AVX512 static inline __m512 activate16(__m512 v, pw_activation a) {
    if (a == PW_IDENTITY) return v;
    v = _mm512_max_ps(v, _mm512_setzero_ps());
    return a == PW_RELU6 ? _mm512_min_ps(v, _mm512_set1_ps(6.0f)) : v;
}

PW_AVX512 static void bias_activation_avx512(float *y, size_t rows, size_t columns, size_t ldy,
                                             const float *bias, pw_activation a) {
    size_t tail = columns % 16;
    __mmask16 mask = (__mmask16)((1u << tail) - 1u);
    for (size_t m = 0; m < rows; m++) {
        float *row = y + m * ldy;
        size_t c = 0;
        for (; c + 16 <= columns; c += 16) {
            __m512 v = _mm512_loadu_ps(row + c);
            if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + c));
            _mm512_storeu_ps(row + c, activate16(v, a));
        }
        if (tail) {
            __m512 v = _mm512_maskz_loadu_ps(mask, row + c);
            if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias + c));
            _mm512_mask_storeu_ps(row + c, mask, activate16(v, a));
        }
    }
}

PW_AVX2 static inline __m256 activate8(__m256 v, pw_activation a) {
    if (a == PW_IDENTITY) return v;
    v = _mm256_max_ps(v, _mm256_setzero_ps());
    return a == PW_RELU6 ? _mm256_min_ps(v, _mm256_set1_ps(6.0f)) : v;
}

PW_AVX2 static void bias_activation_avx2(float *y, size_t rows, size_t columns, size_t ldy,
                                         const float *bias, pw_activation a) {
    for (size_t m = 0; m < rows; m++) {
        float *row = y + m * ldy;
        size_t c = 0;
        for (; c + 8 <= columns; c += 8) {
            __m256 v = _mm256_loadu_ps(row + c);
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            _mm256_storeu_ps(row + c, activate8(v, a));
        }
        for (; c < columns; c++) row[c] = activate(row[c] + (bias ? bias[c] : 0.0f), a);
    }
}
#endif

void pw_bias_activation(pw_isa isa, float *y, size_t rows, size_t columns, size_t ldy,
                        const float *bias, pw_activation activation) {
    if (!bias && activation == PW_IDENTITY) return;
#if !PW_X86
    (void)isa;
#else
    if (isa == PW_ISA_AVX512) { bias_activation_avx512(y, rows, columns, ldy, bias, activation); return; }
    if (isa == PW_ISA_AVX2) { bias_activation_avx2(y, rows, columns, ldy, bias, activation); return; }
#endif
    bias_activation_portable(y, rows, columns, ldy, bias, activation);
}

// MARK: Depthwise

// The taps of output pixel (oh, ow) that fall inside the input: kernel rows [kh0, kh1), columns [kw0, kw1).
static inline void tap_range(size_t o, size_t stride, size_t pad, size_t dilation, size_t kernel, size_t size,
                             size_t *first, size_t *end) {
    long origin = (long)(o * stride) - (long)pad;
    size_t k0 = 0, k1 = kernel;
    while (k0 < kernel && origin + (long)(k0 * dilation) < 0) k0++;
    while (k1 > k0 && origin + (long)((k1 - 1) * dilation) >= (long)size) k1--;
    *first = k0;
    *end = k1;
}

#define DEPTHWISE_PARAMETERS \
    const float *x, size_t batch, size_t height, size_t width, size_t channels, \
    const float *w, size_t kernel_h, size_t kernel_w, size_t stride_h, size_t stride_w, \
    size_t pad_top, size_t pad_left, size_t dilation_h, size_t dilation_w, \
    const float *bias, pw_activation a, float *y, size_t out_h, size_t out_w, size_t ldy, int accumulate, \
    size_t row_begin, size_t row_end

// Output rows r = n * out_h + oh in [row_begin, row_end).
#define DEPTHWISE_PIXEL_LOOP(BODY) \
    (void)batch; \
    for (size_t r = row_begin; r < row_end; r++) { \
        size_t n = r / out_h, oh = r % out_h; \
        size_t kh0, kh1; \
        tap_range(oh, stride_h, pad_top, dilation_h, kernel_h, height, &kh0, &kh1); \
        for (size_t ow = 0; ow < out_w; ow++) { \
            size_t kw0, kw1; \
            tap_range(ow, stride_w, pad_left, dilation_w, kernel_w, width, &kw0, &kw1); \
            float *out = y + ((n * out_h + oh) * out_w + ow) * ldy; \
            const float *origin = x + (n * height * width) * channels; \
            long ih0 = (long)(oh * stride_h) - (long)pad_top, iw0 = (long)(ow * stride_w) - (long)pad_left; \
            BODY \
        } \
    }

#define DEPTHWISE_SCALAR_CHANNEL(c) do { \
        float sum = (bias ? bias[c] : 0.0f) + (accumulate ? out[c] : 0.0f); \
        for (size_t kh = kh0; kh < kh1; kh++) \
            for (size_t kw = kw0; kw < kw1; kw++) { \
                size_t ih = (size_t)(ih0 + (long)(kh * dilation_h)), iw = (size_t)(iw0 + (long)(kw * dilation_w)); \
                sum += origin[(ih * width + iw) * channels + (c)] * w[(kh * kernel_w + kw) * channels + (c)]; \
            } \
        out[c] = activate(sum, a); \
    } while (0)

static void depthwise_portable(DEPTHWISE_PARAMETERS) {
    DEPTHWISE_PIXEL_LOOP(
        for (size_t c = 0; c < channels; c++) DEPTHWISE_SCALAR_CHANNEL(c);
    )
}

#if PW_X86
PW_AVX512 static void depthwise_avx512(DEPTHWISE_PARAMETERS) {
    size_t tail = channels % 16;
    __mmask16 mask = (__mmask16)((1u << tail) - 1u);
    DEPTHWISE_PIXEL_LOOP(
        for (size_t c = 0; c < channels; c += 16) {
            __mmask16 k = c + 16 <= channels ? (__mmask16)0xFFFF : mask;
            __m512 sum = bias ? _mm512_maskz_loadu_ps(k, bias + c) : _mm512_setzero_ps();
            if (accumulate) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(k, out + c));
            for (size_t kh = kh0; kh < kh1; kh++) {
                const float *row = origin + (size_t)(ih0 + (long)(kh * dilation_h)) * width * channels + c;
                const float *taps = w + kh * kernel_w * channels + c;
                for (size_t kw = kw0; kw < kw1; kw++) {
                    size_t iw = (size_t)(iw0 + (long)(kw * dilation_w));
                    sum = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, row + iw * channels),
                                          _mm512_maskz_loadu_ps(k, taps + kw * channels), sum);
                }
            }
            _mm512_mask_storeu_ps(out + c, k, activate16(sum, a));
        }
    )
}

PW_AVX2 static void depthwise_avx2(DEPTHWISE_PARAMETERS) {
    DEPTHWISE_PIXEL_LOOP(
        size_t c = 0;
        for (; c + 8 <= channels; c += 8) {
            __m256 sum = bias ? _mm256_loadu_ps(bias + c) : _mm256_setzero_ps();
            if (accumulate) sum = _mm256_add_ps(sum, _mm256_loadu_ps(out + c));
            for (size_t kh = kh0; kh < kh1; kh++) {
                const float *row = origin + (size_t)(ih0 + (long)(kh * dilation_h)) * width * channels + c;
                const float *taps = w + kh * kernel_w * channels + c;
                for (size_t kw = kw0; kw < kw1; kw++) {
                    size_t iw = (size_t)(iw0 + (long)(kw * dilation_w));
                    sum = _mm256_fmadd_ps(_mm256_loadu_ps(row + iw * channels), _mm256_loadu_ps(taps + kw * channels), sum);
                }
            }
            _mm256_storeu_ps(out + c, activate8(sum, a));
        }
        for (; c < channels; c++) DEPTHWISE_SCALAR_CHANNEL(c);
    )
}
#endif

void pw_depthwise(pw_isa isa, DEPTHWISE_PARAMETERS) {
#if !PW_X86
    (void)isa;
#else
    if (isa == PW_ISA_AVX512) {
        depthwise_avx512(x, batch, height, width, channels, w, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left,
                         dilation_h, dilation_w, bias, a, y, out_h, out_w, ldy, accumulate, row_begin, row_end);
        return;
    }
    if (isa == PW_ISA_AVX2) {
        depthwise_avx2(x, batch, height, width, channels, w, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left,
                       dilation_h, dilation_w, bias, a, y, out_h, out_w, ldy, accumulate, row_begin, row_end);
        return;
    }
#endif
    depthwise_portable(x, batch, height, width, channels, w, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left,
                       dilation_h, dilation_w, bias, a, y, out_h, out_w, ldy, accumulate, row_begin, row_end);
}

// MARK: Max pooling

#define MAX_POOL_PARAMETERS \
    const float *x, size_t height, size_t width, size_t channels, size_t kernel_h, size_t kernel_w, \
    size_t stride_h, size_t stride_w, size_t pad_h, size_t pad_w, float *y, size_t out_h, size_t out_w, \
    size_t ldy, size_t row_begin, size_t row_end

// For output row r and column ow: the window clipped to the input, rows [h0, h1), columns [w0, w1).
#define MAX_POOL_LOOP(BODY) \
    for (size_t r = row_begin; r < row_end; r++) { \
        size_t n = r / out_h, oh = r % out_h; \
        long top = (long)(oh * stride_h) - (long)pad_h; \
        size_t h0 = top < 0 ? 0 : (size_t)top; \
        size_t h1 = (size_t)(top + (long)kernel_h) < height ? (size_t)(top + (long)kernel_h) : height; \
        for (size_t ow = 0; ow < out_w; ow++) { \
            long left = (long)(ow * stride_w) - (long)pad_w; \
            size_t w0 = left < 0 ? 0 : (size_t)left; \
            size_t w1 = (size_t)(left + (long)kernel_w) < width ? (size_t)(left + (long)kernel_w) : width; \
            float *out = y + ((n * out_h + oh) * out_w + ow) * ldy; \
            const float *image = x + n * height * width * channels; \
            BODY \
        } \
    }

static void max_pool_portable(MAX_POOL_PARAMETERS) {
    MAX_POOL_LOOP(
        for (size_t c = 0; c < channels; c++) {
            float best = image[(h0 * width + w0) * channels + c];
            for (size_t ih = h0; ih < h1; ih++)
                for (size_t iw = w0; iw < w1; iw++) {
                    float v = image[(ih * width + iw) * channels + c];
                    best = v > best ? v : best;
                }
            out[c] = best;
        }
    )
}

#if PW_X86
PW_AVX512 static void max_pool_avx512(MAX_POOL_PARAMETERS) {
    size_t tail = channels % 16;
    __mmask16 mask = (__mmask16)((1u << tail) - 1u);
    MAX_POOL_LOOP(
        for (size_t c = 0; c < channels; c += 16) {
            __mmask16 k = c + 16 <= channels ? (__mmask16)0xFFFF : mask;
            __m512 best = _mm512_maskz_loadu_ps(k, image + (h0 * width + w0) * channels + c);
            for (size_t ih = h0; ih < h1; ih++)
                for (size_t iw = w0; iw < w1; iw++)
                    best = _mm512_max_ps(best, _mm512_maskz_loadu_ps(k, image + (ih * width + iw) * channels + c));
            _mm512_mask_storeu_ps(out + c, k, best);
        }
    )
}
#endif

void pw_max_pool(pw_isa isa, MAX_POOL_PARAMETERS) {
#if PW_X86
    if (isa == PW_ISA_AVX512) {
        max_pool_avx512(x, height, width, channels, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                        y, out_h, out_w, ldy, row_begin, row_end);
        return;
    }
#else
    (void)isa;
#endif
    max_pool_portable(x, height, width, channels, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                      y, out_h, out_w, ldy, row_begin, row_end);
}
