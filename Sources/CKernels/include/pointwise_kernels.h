// Pointwise's hand-written C kernels, each compiled three times (AVX-512, AVX2+FMA, portable C)
// with function-level target attributes and chosen at run time by the `isa` argument, because
// Swift code is compiled for the baseline ISA (SSE2 on x86-64) and cannot use wider vectors.
//
// Conventions shared by every kernel:
// - Activations are NHWC: a "row" is one pixel's channels; rows are `ld*` floats apart, so an
//   operand can be a channel slice of a wider tensor (zero-copy concat).
// - NaN and infinity follow PyTorch: every activation propagates NaN (relu(NaN) = NaN),
//   max pooling returns NaN when its window holds one, sums propagate as IEEE arithmetic does.
// - Kernels that threads split take [row_begin, row_end): the rows this call computes.
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

/// Element-wise activations (ONNX semantics), fused into the kernels' last pass.
typedef enum {
    PW_IDENTITY = 0,
    PW_RELU = 1,          // x < 0 ? 0 : x            (NaN stays NaN)
    PW_CLIP = 2,          // min(max(x, alpha), beta) (alpha = min, beta = max, may be ±inf; NaN stays NaN)
    PW_LEAKY_RELU = 3,    // x < 0 ? alpha·x : x
    PW_SIGMOID = 4,       // 1 / (1 + exp(−x))
    PW_HARD_SIGMOID = 5,  // max(0, min(1, alpha·x + beta))
    PW_HARD_SWISH = 6,    // x · max(0, min(1, x/6 + 1/2))
} pw_activation_kind;

typedef struct {
    pw_activation_kind kind;
    float alpha;
    float beta;
} pw_activation;

// MARK: GEMM on packed weights

/// Floats of B (K×N) packed into panels of 16 columns: ⌈N/16⌉·16·K.
size_t pw_gemm_packed_floats(size_t k, size_t n);

/// B → panels: panel p holds rows k < K of columns 16p…16p+15 (zero past N), 16 floats per row.
/// B is K×N row-major (ldb), or N×K when `transposed` (ONNX Gemm's transB).
void pw_gemm_pack_b(size_t k, size_t n, const float *b, size_t ldb, int transposed, float *packed);

/// C[i, j] = act(residual[i, j] + Σ_k A[i, k]·B[k, j] + bias[j]) for rows i < m and columns
/// j in [column_begin, column_end) (column_begin rounded down to a multiple of 16); B packed by
/// pw_gemm_pack_b; bias indexed by absolute column, residual (ldr) may be C itself or NULL.
void pw_gemm_packed(pw_isa isa, size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                    size_t column_begin, size_t column_end, float *c, size_t ldc, const float *bias,
                    const float *residual, size_t ldr, pw_activation act);

/// A convolution as a GEMM whose A is never built (implicit GEMM), on weights packed by
/// pw_gemm_pack_b with K = segments·length rows in segment order:
///   C[y, x, j] = act(residual[y, x, j] + Σ_s Σ_q A(y)[x·pixel_stride + offsets[s] + q]·B[s·length + q, j] + bias[j])
/// for output rows y in [first, first + rows), pixels x < width, columns j < n, where row y of
/// image y / rows_per_image starts at A(y) = a + (y / rows_per_image)·image_stride
/// + (y % rows_per_image)·row_stride. Output pixel (y, x) is at c + (y·width + x)·ldc, its residual
/// at residual + (y·width + x)·ldr (NULL: none; may be c). On a zero-padded NHWC map: image_stride =
/// Hp·Wp·Cin, row_stride = stride_h·Wp·Cin, pixel_stride = stride_w·Cin, and one segment per kernel
/// row (length KW·Cin) or, dilated in width, per tap (length Cin). All of K is summed in registers:
/// meant for K ≤ 256, whose B block (K × 32) stays in L1.
void pw_conv_implicit_packed(pw_isa isa, size_t first, size_t rows, size_t rows_per_image, size_t width, size_t n,
                             const float *a, size_t image_stride, size_t row_stride, size_t pixel_stride,
                             const ptrdiff_t *offsets, size_t segments, size_t length, const float *packed, float *c,
                             size_t ldc, const float *bias, const float *residual, size_t ldr, pw_activation act);

// MARK: Epilogue and element-wise

/// y[m*ldy + c] = act(y[m*ldy + c] + bias[c]) for m < rows, c < columns; bias may be NULL.
void pw_bias_activation(pw_isa isa, float *y, size_t rows, size_t columns, size_t ldy,
                        const float *bias, pw_activation activation);

/// y[m*ldy + c] = act(x[m*ldx + c]) for m < rows, c < columns (x == y allowed: in place).
void pw_activation_rows(pw_isa isa, const float *x, size_t ldx, float *y, size_t ldy,
                        size_t rows, size_t columns, pw_activation activation);

typedef enum {
    PW_ADD = 0,
    PW_SUB = 1,
    PW_MUL = 2,
    PW_DIV = 3,
} pw_binary_op;

/// y[r*ldy + c] = act(a(r, c) op b(r, c)) for r < rows, c < columns, where
/// a(r, c) = a[r*lda + c*a_step] and b(r, c) = b[r*ldb + c*b_step], each step 0 or 1: step 1 reads
/// a row, step 0 broadcasts one value across the row; ld 0 repeats the same row (or value) for every r.
/// Typical uses: same shape (steps 1), per-channel NHWC bias (b_step 1, ldb 0), per-row scalar of
/// an NCHW plane (b_step 0, ldb 1), scalar (b_step 0, ldb 0). y may equal a or b (in place).
void pw_binary(pw_isa isa, pw_binary_op op, size_t rows, size_t columns,
               const float *a, size_t lda, size_t a_step,
               const float *b, size_t ldb, size_t b_step,
               float *y, size_t ldy, pw_activation activation);

/// Per-channel affine map: y[m*ldy + c] = act(x[m*ldx + c] * scale[c] + shift[c]) (inference
/// BatchNormalization, input normalisation). x == y allowed.
void pw_channel_affine(pw_isa isa, size_t rows, size_t channels, const float *x, size_t ldx,
                       const float *scale, const float *shift, float *y, size_t ldy, pw_activation activation);

// MARK: Convolution

/// Depthwise convolution, NHWC, groups = C: for each output pixel (n, oh, ow) and channel c,
/// y = act(bias[c] + (accumulate ? y : 0) + sum over taps of x[n, ih, iw, c] * w[tap*ldw + c]),
/// with ih = oh*stride_h - pad_top + kh*dilation_h (likewise iw); taps outside the input are skipped
/// (zero padding, of any size on each side). Weights are tap-major [KH*KW][ldw]; input pixels are
/// ldx ≥ channels floats apart, output pixels ldy: x, w, bias and y may point at channel c0 of
/// wider maps, so a thread can compute a slice of the channels. Computes the output rows
/// r = n*out_h + oh in [row_begin, row_end) only.
void pw_depthwise(pw_isa isa, const float *x, size_t ldx, size_t batch, size_t height, size_t width, size_t channels,
                  const float *w, size_t ldw, size_t kernel_h, size_t kernel_w,
                  size_t stride_h, size_t stride_w, size_t pad_top, size_t pad_left,
                  size_t dilation_h, size_t dilation_w,
                  const float *bias, pw_activation activation,
                  float *y, size_t out_h, size_t out_w, size_t ldy, int accumulate,
                  size_t row_begin, size_t row_end);

// MARK: Pooling

/// Window geometry of a 2-D pool on NHWC input [batch, height, width, channels] (input pixel rows
/// ldx floats apart) writing [batch, out_h, out_w, channels] (output pixel rows ldy floats apart).
/// Output (oh, ow)'s window covers input rows ih = oh*stride_h - pad_top + kh*dilation_h for
/// kh < kernel_h (likewise columns); positions outside [0, height) x [0, width) are padding.
typedef struct {
    size_t batch, height, width, channels, ldx;
    size_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
    size_t pad_top, pad_left, pad_bottom, pad_right;
    size_t out_h, out_w, ldy;
} pw_pool_geometry;

/// Max over the window's input pixels (padding ignored); NaN if any of them is NaN (PyTorch);
/// −inf for a window that holds no input pixel. Output rows r = n*out_h + oh in [row_begin, row_end).
void pw_max_pool(pw_isa isa, const pw_pool_geometry *g, const float *x, float *y,
                 size_t row_begin, size_t row_end);

/// Mean over the window. The divisor: with count_include_pad, the window positions inside the padded
/// extent [-pad_top, height + pad_bottom) x [-pad_left, width + pad_right) (positions past it, which
/// ceil_mode can create, are not counted, as PyTorch does); without, the positions inside the input.
/// A window with a zero divisor gives NaN (0/0). Output rows r = n*out_h + oh in [row_begin, row_end).
void pw_average_pool(pw_isa isa, const pw_pool_geometry *g, int count_include_pad, const float *x, float *y,
                     size_t row_begin, size_t row_end);

typedef enum {
    PW_GLOBAL_AVERAGE = 0,
    PW_GLOBAL_MAX = 1,   // NaN if any input is NaN
} pw_global_pool_mode;

/// One value per channel over `pixels` pixel rows: y[c] = mean (or max) of x[p*ldx + c], p < pixels.
void pw_global_pool(pw_isa isa, pw_global_pool_mode mode, const float *x, size_t pixels, size_t channels,
                    size_t ldx, float *y);

// MARK: Normalisation and softmax

/// Local response normalisation across channels (ONNX LRN) on rows of `channels` values (not in place:
/// y must not overlap x):
/// y[c] = x[c] / (bias + alpha/size · Σ x[i]²)^beta over i in [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉] ∩ [0, C).
void pw_lrn(pw_isa isa, size_t rows, size_t channels, const float *x, size_t ldx, float *y, size_t ldy,
            size_t size, float alpha, float beta, float bias);

/// Softmax of each row: y = exp(x − max) / Σ exp(x − max); a row holding NaN or +inf gives a row
/// of NaN (inf − inf), as PyTorch does; so does a row of −inf only.
void pw_softmax_rows(pw_isa isa, size_t rows, size_t columns, const float *x, size_t ldx, float *y, size_t ldy);

// MARK: Data movement

/// For each of `count` matrices (x + i*x_matrix_stride, y + i*y_matrix_stride): y[c*ldy + r] = x[r*ldx + c]
/// for r < rows, c < columns (NCHW <-> NHWC per image, blocked for the caches).
void pw_transpose(size_t count, size_t rows, size_t columns, const float *x, size_t ldx, size_t x_matrix_stride,
                  float *y, size_t ldy, size_t y_matrix_stride);

// MARK: Winograd

/// Winograd F(m×m, 3×3) for a 3x3, stride-1, dilation-1 convolution on NHWC: output tiles of m×m
/// (m = 2, 4 or 6; input tiles α×α, α = m + 2), the element-wise stage as α² GEMMs
/// V[ξ] (tiles × Cin) · U[ξ] (Cin × Cout) = M[ξ] (tiles × Cout) done by the caller.
/// Points: F(2,3): 0, ±1; F(4,3): 0, ±√2, ±√2/2 (ncnn's, half the error of 0, ±1, ±2); F(6,3): 0, ±1, ±2, ±1/2.
/// Tiles are numbered t = (n·tiles_h + th)·tiles_w + tw, tiles_h = ⌈out_h/m⌉, tiles_w = ⌈out_w/m⌉, with
/// out_h = H + pad_top + pad_bottom − 2 (likewise out_w); ξ = row·α + column of an α×α transformed tile.
/// Any m other than 2, 4, 6 does nothing. Measured FP32 error, max|y − ref|/max|ref| against a double
/// direct convolution (weights ±1/√(9·Cin), inputs in [0, 1)): see winograd.c.
/// NaN and infinity: the transforms mix a whole tile, so a NaN input makes NaN every output of the m×m
/// tiles whose patch holds it (a direct convolution: only the outputs whose window holds it), and an
/// infinite input can give NaN (inf − inf) where a direct convolution gives ±inf (PyTorch's Winograd
/// paths behave the same).

/// U[ξ·cin·cout + ci·cout + co] = (G·g·Gᵀ)[ξ] for the 3x3 kernel g = w[co][ci] (OIHW [cout][cin][3][3]);
/// ξ = row·α + column of the α×α transformed kernel. Computed in double, rounded once.
void pw_winograd_weight_transform(int m, const float *w, size_t cout, size_t cin, float *u);

/// For tiles t in [tile_begin, tile_end) — t = (n·tiles_h + th)·tiles_w + tw — the α×α input patch of
/// x [n, H, W, C] (pixel rows C floats apart) starting at row th·m − pad_top, column tw·m − pad_left
/// (zero outside the input) is transformed, Bᵀ·d·B, and written to
/// v[ξ·v_stride + (t − tile_begin)·ldv + c] for every channel c < C (ldv ≥ C; nothing else is written).
void pw_winograd_input_transform(pw_isa isa, int m, const float *x, size_t height, size_t width, size_t channels,
                                 size_t tiles_h, size_t tiles_w, size_t pad_top, size_t pad_left,
                                 size_t tile_begin, size_t tile_end, float *v, size_t v_stride, size_t ldv);

/// For tiles t in [tile_begin, tile_end), the m×m output block Aᵀ·M·A from
/// mm[ξ·m_stride + (t − tile_begin)·ldm + co], plus bias[co] (may be NULL), plus (if residual is not NULL)
/// residual[pixel·ld_residual + co], then the activation, written to
/// y[((n·out_h + oh)·out_w + ow)·ldy + co] for the block's pixels inside out_h × out_w (tiles at the
/// right and bottom edge are clipped), co < cout. pixel = (n·out_h + oh)·out_w + ow, the same pixel
/// index as y's. residual may equal y with the same stride (in place: read before written, element by
/// element); otherwise none of mm, bias, residual may overlap y.
void pw_winograd_output_transform(pw_isa isa, int m, const float *mm, size_t m_stride, size_t ldm, size_t cout,
                                  size_t tiles_h, size_t tiles_w, size_t out_h, size_t out_w,
                                  size_t tile_begin, size_t tile_end, const float *bias,
                                  const float *residual, size_t ld_residual, pw_activation activation,
                                  float *y, size_t ldy);

// MARK: Machine

/// Runs `iterations` rounds of 12 independent FMA chains on vectors of `isa`'s width (registers
/// only) and returns the floating-point operations done (2 per lane per FMA); *sink (if not NULL)
/// receives a sum of the chains, so the work cannot be optimised away. Timed by the caller: the
/// core's FMA peak.
double pw_fma_peak_run(pw_isa isa, size_t iterations, float *sink);

#ifdef __cplusplus
}
#endif

#endif
