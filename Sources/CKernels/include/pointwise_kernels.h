// Pointwise's hand-written C kernels: the element-wise epilogue and the depthwise
// convolution, each compiled three times (AVX-512, AVX2+FMA, portable C) with
// function-level target attributes and chosen at run time, because Swift code is
// compiled for the baseline ISA (SSE2 on x86-64) and cannot use wider vectors.
#ifndef POINTWISE_KERNELS_H
#define POINTWISE_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction sets the kernels can use, passed to each call: the caller must only ask for one
/// the CPU and OS support (portable C on other architectures whatever is asked).
typedef enum {
    PW_ISA_PORTABLE = 0,
    PW_ISA_AVX2 = 1,
    PW_ISA_AVX512 = 2,
} pw_isa;

/// Activations fused into the kernels (values match Swift's `Activation`).
typedef enum {
    PW_IDENTITY = 0,
    PW_RELU = 1,
    PW_RELU6 = 2,
} pw_activation;

/// y[m*ldy + c] = act(y[m*ldy + c] + bias[c]) for m < rows, c < columns; bias may be NULL.
void pw_bias_activation(pw_isa isa, float *y, size_t rows, size_t columns, size_t ldy,
                        const float *bias, pw_activation activation);

/// Depthwise convolution, NHWC, groups = C: for each output pixel (n, oh, ow) and channel c,
/// y = act(bias[c] + (accumulate ? y : 0) + sum over taps of x[n, ih, iw, c] * w[tap*C + c]),
/// with ih = oh*stride_h - pad_top + kh*dilation_h (likewise iw); taps outside the input are skipped.
/// Weights are tap-major [KH*KW][C]; output pixel rows are ldy floats apart. Computes the output
/// rows r = n*out_h + oh in [row_begin, row_end) only, so threads can split the work.
void pw_depthwise(pw_isa isa, const float *x, size_t batch, size_t height, size_t width, size_t channels,
                  const float *w, size_t kernel_h, size_t kernel_w,
                  size_t stride_h, size_t stride_w, size_t pad_top, size_t pad_left,
                  size_t dilation_h, size_t dilation_w,
                  const float *bias, pw_activation activation,
                  float *y, size_t out_h, size_t out_w, size_t ldy, int accumulate,
                  size_t row_begin, size_t row_end);

/// Max pooling, NHWC: y[n, oh, ow, c] = max over the window rows [oh*stride_h - pad_h, + kernel_h)
/// and columns [ow*stride_w - pad_w, + kernel_w), clipped to the input (every window must hold
/// at least one input pixel). Output pixel rows are ldy floats apart; computes the output rows
/// r = n*out_h + oh in [row_begin, row_end) only.
void pw_max_pool(pw_isa isa, const float *x, size_t height, size_t width, size_t channels,
                 size_t kernel_h, size_t kernel_w, size_t stride_h, size_t stride_w, size_t pad_h, size_t pad_w,
                 float *y, size_t out_h, size_t out_w, size_t ldy, size_t row_begin, size_t row_end);

#ifdef __cplusplus
}
#endif

#endif
