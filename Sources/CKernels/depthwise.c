// Depthwise convolution, NHWC (groups = channels): each output pixel's channels are a vector sum
// over the kernel taps inside the input (padding taps are skipped, so pads of any size on any side
// cost nothing), bias and the optional accumulated y first, the activation last.
#include "isa.h"

#define DEPTHWISE_PARAMETERS \
    const float *x, size_t ldx, size_t batch, size_t height, size_t width, size_t channels, \
    const float *w, size_t ldw, size_t kernel_h, size_t kernel_w, size_t stride_h, size_t stride_w, \
    size_t pad_top, size_t pad_left, size_t dilation_h, size_t dilation_w, \
    const float *bias, pw_activation a, float *y, size_t out_h, size_t out_w, size_t ldy, int accumulate, \
    size_t row_begin, size_t row_end

#define DEPTHWISE_ARGUMENTS \
    x, ldx, batch, height, width, channels, w, ldw, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, \
    dilation_h, dilation_w, bias, a, y, out_h, out_w, ldy, accumulate, row_begin, row_end

// What both pixel loops below share. DEPTHWISE_START: dilations (0 counts as 1). DEPTHWISE_ROW_START,
// for output row r = n·out_h + oh: `origin` (image n), kernel rows [kh0, kh1) inside the input, the
// window's top ih0 (may be negative). DEPTHWISE_PIXEL_START, for column ow: kernel columns [kw0, kw1)
// inside the input, the window's left iw0 (may be negative), `out` (the output pixel).
#define DEPTHWISE_START \
    (void)batch; \
    size_t dh = dilation_h ? dilation_h : 1, dw = dilation_w ? dilation_w : 1;
#define DEPTHWISE_ROW_START \
    size_t n = r / out_h, oh = r % out_h; \
    size_t kh0, kh1; \
    pw_tap_range(oh, stride_h, pad_top, dh, kernel_h, height, &kh0, &kh1); \
    ptrdiff_t ih0 = (ptrdiff_t)(oh * stride_h) - (ptrdiff_t)pad_top; \
    const float *origin = x + n * height * width * ldx;
#define DEPTHWISE_PIXEL_START \
    size_t kw0, kw1; \
    pw_tap_range(ow, stride_w, pad_left, dw, kernel_w, width, &kw0, &kw1); \
    ptrdiff_t iw0 = (ptrdiff_t)(ow * stride_w) - (ptrdiff_t)pad_left; \
    float *out = y + (r * out_w + ow) * ldy;

// Rows [row_begin, row_end), every pixel through the body (the portable kernel).
#define DEPTHWISE_PIXEL_LOOP(...) \
    DEPTHWISE_START \
    for (size_t r = row_begin; r < row_end; r++) { \
        DEPTHWISE_ROW_START \
        for (size_t ow = 0; ow < out_w; ow++) { \
            DEPTHWISE_PIXEL_START \
            __VA_ARGS__ \
        } \
    }

// The output columns [*lo, *hi) whose every kernel column lies inside the input: there the taps
// need no range checks, and runs of 4 pixels share each tap's weight load (4 independent FMA
// chains per channel vector instead of one).
PW_INLINE void depthwise_interior(size_t out_w, size_t width, size_t stride_w, size_t pad_left, size_t dw,
                                  size_t kernel_w, size_t *lo, size_t *hi) {
    size_t s = stride_w ? stride_w : 1, span = (kernel_w ? kernel_w - 1 : 0) * dw;
    size_t l = (pad_left + s - 1) / s, h = width + pad_left < span + 1 ? 0 : (width - 1 + pad_left - span) / s + 1;
    if (h > out_w) h = out_w;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/// Asks for input rows [first, end) of an image (clipped to it), one output row (or row group)
/// ahead of their use. From memory (batch 8: the previous layer's output has left the caches) the
/// kernels' three row streams otherwise wait on their lines: in a chain of MobileNetV1 at batch 8
/// (standalone harness, 8 images in bands, AMD EPYC Zen 4), 112×112×64 stride 2 3.6 → 2.7 ms,
/// 56×56×128 stride 2 1.5 → 1.0 ms, 56×56×128 stride 1 2.7 → 1.8 ms.
PW_INLINE void depthwise_prefetch_rows(const float *origin, ptrdiff_t first, ptrdiff_t end, size_t height,
                                       size_t row_floats) {
#if PW_X86
    if (first < 0) first = 0;
    if (end > (ptrdiff_t)height) end = (ptrdiff_t)height;
    for (ptrdiff_t r = first; r < end; r++)
        for (size_t i = 0; i < row_floats; i += 16) _mm_prefetch((const char *)(origin + (size_t)r * row_floats + i), _MM_HINT_T0);
#else
    (void)origin; (void)first; (void)end; (void)height; (void)row_floats;
#endif
}

// Rows [row_begin, row_end): border pixels one at a time (BORDER, with DEPTHWISE_PIXEL_START's
// variables), interior pixels four at a time (RUN4, with `ow` the first of the four and `iw0` its
// window's left) and the interior's last < 4 pixels one at a time; each row first asks for the
// input rows the next one adds.
#define DEPTHWISE_BANDED_LOOP(BORDER, RUN4) \
    DEPTHWISE_START \
    size_t ow_lo, ow_hi; \
    depthwise_interior(out_w, width, stride_w, pad_left, dw, kernel_w, &ow_lo, &ow_hi); \
    for (size_t r = row_begin; r < row_end; r++) { \
        DEPTHWISE_ROW_START \
        if (r + 1 < row_end && (r + 1) % out_h != 0) { \
            ptrdiff_t next_end = ih0 + (ptrdiff_t)(stride_h + (kernel_h - 1) * dh + 1); \
            depthwise_prefetch_rows(origin, next_end - (ptrdiff_t)stride_h, next_end, height, width * ldx); \
        } \
        size_t ow = 0; \
        for (;;) { \
            if (ow == ow_lo) { \
                for (; ow + 4 <= ow_hi; ow += 4) { \
                    ptrdiff_t iw0 = (ptrdiff_t)(ow * stride_w) - (ptrdiff_t)pad_left; \
                    float *out = y + (r * out_w + ow) * ldy; \
                    RUN4 \
                } \
            } \
            if (ow >= out_w) break; \
            DEPTHWISE_PIXEL_START \
            BORDER \
            ow++; \
        } \
    }

// The input pixel row of kernel row kh (inside the input) and the pixel of kernel column kw.
#define DEPTHWISE_ROW(kh) (origin + (size_t)(ih0 + (ptrdiff_t)((kh) * dh)) * width * ldx)
#define DEPTHWISE_COLUMN(kw) ((size_t)(iw0 + (ptrdiff_t)((kw) * dw)) * ldx)

// MARK: Portable: blocks of 16 channels accumulate in a local array the compiler keeps in vector
// registers (constant trip counts); the rest accumulates in the output row. Channel loops innermost.

#define DEPTHWISE_PORTABLE_BLOCK 16

static void depthwise_portable(DEPTHWISE_PARAMETERS) {
    DEPTHWISE_PIXEL_LOOP(
        size_t c0 = 0;
        for (; c0 + DEPTHWISE_PORTABLE_BLOCK <= channels; c0 += DEPTHWISE_PORTABLE_BLOCK) {
            float acc[DEPTHWISE_PORTABLE_BLOCK];
            for (size_t j = 0; j < DEPTHWISE_PORTABLE_BLOCK; j++)
                acc[j] = (bias ? bias[c0 + j] : 0.0f) + (accumulate ? out[c0 + j] : 0.0f);
            for (size_t kh = kh0; kh < kh1; kh++) {
                const float *row = DEPTHWISE_ROW(kh) + c0;
                for (size_t kw = kw0; kw < kw1; kw++) {
                    const float *pixel = row + DEPTHWISE_COLUMN(kw), *taps = w + (kh * kernel_w + kw) * ldw + c0;
                    for (size_t j = 0; j < DEPTHWISE_PORTABLE_BLOCK; j++) acc[j] += pixel[j] * taps[j];
                }
            }
            for (size_t j = 0; j < DEPTHWISE_PORTABLE_BLOCK; j++) out[c0 + j] = acc[j];
        }
        if (c0 < channels) {
            if (accumulate) {
                if (bias) for (size_t c = c0; c < channels; c++) out[c] = bias[c] + out[c];
            } else if (bias) {
                for (size_t c = c0; c < channels; c++) out[c] = bias[c];
            } else {
                for (size_t c = c0; c < channels; c++) out[c] = 0.0f;
            }
            for (size_t kh = kh0; kh < kh1; kh++) {
                const float *row = DEPTHWISE_ROW(kh);
                for (size_t kw = kw0; kw < kw1; kw++) {
                    const float *pixel = row + DEPTHWISE_COLUMN(kw), *taps = w + (kh * kernel_w + kw) * ldw;
                    for (size_t c = c0; c < channels; c++) out[c] += pixel[c] * taps[c];
                }
            }
        }
        pw_act_row_portable(out, channels, a);
    )
}

#if PW_X86

// MARK: 3x3, stride 1, no dilation (MobileNets' stride-1 depthwise layers), AVX-512 and AVX2:
// blocks of up to ROWS output rows × COLUMNS output columns × one vector of channels. Each input
// pixel of a block's window (≤ (ROWS + 2) × (COLUMNS + 2)) is loaded once and feeds every output
// whose window holds it (AVX-512's 4 × 5 block: 42 input loads and 9 weight loads for 180 FMAs,
// where the runs of 4 load 5 per 4 FMAs); the 9 weights stay in registers and the taps outside the
// input are skipped. The sums run in the same order as the runs of 4 (bias, previous output, taps
// row by row), so the results are the same to the bit as theirs.
//
// Standalone harness (clang -O3, warm caches, AMD EPYC Zen 4, before the rows fetched ahead), µs
// per layer, runs of 4 → blocks. AVX-512 4 × 5 (min of 1000): 112×112×32 128 → 78, 56×56×128
// 111 → 78, 14×14×512 42 → 30, 7×7×1024 30 → 21.5, 7×7×960 17 → 7; 4 × 4, 3 × 5, 2 × 6 and 2 × 7
// were 5–25 % slower. AVX2 2 × 3 (all 16 registers; min over 8 alternating processes of 300):
// 112×112×32 136 → 113, 56×56×128 121 → 105, 28×28×192 45 → 38, 14×14×576 42 → 27, 7×7×960
// 17.6 → 12.0, but 14×14×512 50 → 59 and 7×7×1024 42 → 50: with 8 channels per vector a line is
// read in two passes, and when pixels lie a multiple of 2 KiB apart the window's ≥ 20 pixels share
// 2 of L1's 64 sets and are evicted between them, so AVX2 keeps the runs there. Stride 2 keeps the
// runs on both (blocks were slower: 14×14×512 11.5 → 14.5 µs on AVX-512), its input streaming from
// L2 or L3.

PW_INLINE int depthwise_is_3x3_stride1(size_t kernel_h, size_t kernel_w, size_t stride_h, size_t stride_w,
                                        size_t dilation_h, size_t dilation_w) {
    return kernel_h == 3 && kernel_w == 3 && stride_h == 1 && stride_w == 1 && dilation_h <= 1 && dilation_w <= 1;
}

// A block's sums: acc[r][p] += its window's taps (R rows × P columns, R and P constants), window
// row iy feeding output rows r with kernel row kh = iy − r in [0, 3), columns likewise; `weights`
// the 9 tap vectors, LOAD(p) a vector of the block's channels, the window's top left (iy0, ix0).
#define DW3_WINDOW_SUMS(R, P, VECTOR, LOAD, FMA) \
    _Pragma("clang loop unroll(full)") \
    for (int iy = 0; iy < (R) + 2; iy++) { \
        ptrdiff_t yy = iy0 + iy; \
        if (yy < 0 || yy >= (ptrdiff_t)height) continue; \
        const float *row = x + (size_t)yy * width * ldx; \
        _Pragma("clang loop unroll(full)") \
        for (int ix = 0; ix < (P) + 2; ix++) { \
            ptrdiff_t xx = ix0 + ix; \
            if (xx < 0 || xx >= (ptrdiff_t)width) continue; \
            VECTOR v = LOAD(row + (size_t)xx * ldx); \
            _Pragma("clang loop unroll(full)") \
            for (int r = 0; r < (R); r++) { \
                int kh = iy - r; \
                if (kh < 0 || kh > 2) continue; \
                _Pragma("clang loop unroll(full)") \
                for (int p = 0; p < (P); p++) { \
                    int kw = ix - p; \
                    if (kw < 0 || kw > 2) continue; \
                    acc[r][p] = FMA(v, weights[kh * 3 + kw], acc[r][p]); \
                } \
            } \
        } \
    }

// Rows [row_begin, row_end) in groups of ≤ ROWS within an image, each in runs of ≤ COLUMNS columns,
// both balanced (7 rows in groups of ≤ 4: 4 + 3; 14 columns in runs of ≤ 5: 5 + 5 + 4, so a block
// is never empty or larger than the cases BLOCKS dispatches). Before each group but an image's
// last, the input rows the next group adds are asked for. BLOCKS(rows, columns) runs one block
// position with `origin` (the image), `iy0`, `ix0` (the window's top left) and `out`.
#define DW3_DRIVER(ROWS, COLUMNS, BLOCKS) \
    size_t runs = (out_w + (COLUMNS) - 1) / (COLUMNS), run_base = out_w / runs, run_extra = out_w % runs; \
    for (size_t r = row_begin; r < row_end;) { \
        size_t n = r / out_h, oh = r % out_h, count = pw_min(row_end - r, out_h - oh); \
        size_t groups = (count + (ROWS) - 1) / (ROWS), group_base = count / groups, group_extra = count % groups; \
        const float *origin = x + n * height * width * ldx; \
        for (size_t g = 0; g < groups; g++) { \
            size_t rows = group_base + (g < group_extra ? 1 : 0); \
            ptrdiff_t iy0 = (ptrdiff_t)oh - (ptrdiff_t)pad_top; \
            if (g + 1 < groups) { \
                ptrdiff_t next = (ptrdiff_t)(group_base + (g + 1 < group_extra ? 1 : 0)); \
                depthwise_prefetch_rows(origin, iy0 + (ptrdiff_t)rows + 2, iy0 + (ptrdiff_t)rows + next + 2, height, \
                                        width * ldx); \
            } \
            for (size_t t = 0, ow = 0; t < runs; t++) { \
                size_t columns = run_base + (t < run_extra ? 1 : 0); \
                ptrdiff_t ix0 = (ptrdiff_t)ow - (ptrdiff_t)pad_left; \
                float *out = y + ((n * out_h + oh) * out_w + ow) * ldy; \
                BLOCKS; \
                ow += columns; \
            } \
            oh += rows; \
        } \
        r += count; \
    } \
    (void)batch; (void)kernel_h; (void)kernel_w; (void)stride_h; (void)stride_w; (void)dilation_h; (void)dilation_w;

// AVX2's 3x3 blocks: 2 × 3 outputs of 8 channels (6 sums + 9 weights + the input: 16 registers;
// the masked channel tail's mask makes 17, one spilled there).
#define DW3_ROWS_AVX2 2
#define DW3_COLUMNS_AVX2 3

/// One block: output rows [0, R) × columns [0, P) of one vector of 8 channels (`masked`: the
/// tail, mask k), x and w at the block's channels. Pixel rows are width·ldx apart in the input,
/// out_w·ldy in the output.
PW_AVX2 PW_INLINE void dw3_block8(const int R, const int P, int masked, __m256i k, const float *x, size_t ldx,
                                  size_t height, size_t width, ptrdiff_t iy0, ptrdiff_t ix0, const float *w, size_t ldw,
                                  const float *bias, float *y, size_t ldy, size_t out_w, int accumulate, pw_activation a) {
#define LOAD8(p) (masked ? _mm256_maskload_ps((p), k) : _mm256_loadu_ps(p))
    __m256 acc[DW3_ROWS_AVX2][DW3_COLUMNS_AVX2], weights[9];
    __m256 b = bias ? LOAD8(bias) : _mm256_setzero_ps();
    for (int t = 0; t < 9; t++) weights[t] = LOAD8(w + (size_t)t * ldw);
    for (int r = 0; r < R; r++)
        for (int p = 0; p < P; p++) acc[r][p] = accumulate ? _mm256_add_ps(b, LOAD8(y + (r * out_w + p) * ldy)) : b;
    DW3_WINDOW_SUMS(R, P, __m256, LOAD8, _mm256_fmadd_ps)
    __m256 va = _mm256_set1_ps(a.alpha), vb = _mm256_set1_ps(a.beta);
    for (int r = 0; r < R; r++)
        for (int p = 0; p < P; p++) {
            __m256 v = pw_act8(acc[r][p], a.kind, va, vb);
            if (masked) _mm256_maskstore_ps(y + (r * out_w + p) * ldy, k, v);
            else _mm256_storeu_ps(y + (r * out_w + p) * ldy, v);
        }
#undef LOAD8
}

/// One block position, every channel (whole vectors, then the masked tail).
PW_AVX2 PW_INLINE void dw3_blocks8(const int R, const int P, size_t channels, const float *x, size_t ldx, size_t height,
                                   size_t width, ptrdiff_t iy0, ptrdiff_t ix0, const float *w, size_t ldw,
                                   const float *bias, float *y, size_t ldy, size_t out_w, int accumulate, pw_activation a) {
    size_t c = 0;
    for (; c + 8 <= channels; c += 8)
        dw3_block8(R, P, 0, _mm256_set1_epi32(-1), x + c, ldx, height, width, iy0, ix0, w + c, ldw,
                   bias ? bias + c : NULL, y + c, ldy, out_w, accumulate, a);
    if (c < channels)
        dw3_block8(R, P, 1, pw_mask8(channels - c), x + c, ldx, height, width, iy0, ix0, w + c, ldw,
                   bias ? bias + c : NULL, y + c, ldy, out_w, accumulate, a);
}

#define DW3_CASE8(R, P) case (R) * 10 + (P): \
    dw3_blocks8(R, P, channels, origin, ldx, height, width, iy0, ix0, w, ldw, bias, out, ldy, out_w, accumulate, a); break;

PW_AVX2 static void dw3_avx2(DEPTHWISE_PARAMETERS) {
    DW3_DRIVER(DW3_ROWS_AVX2, DW3_COLUMNS_AVX2,
               switch (rows * 10 + columns) {
               DW3_CASE8(1, 1) DW3_CASE8(1, 2) DW3_CASE8(1, 3) DW3_CASE8(2, 1) DW3_CASE8(2, 2) DW3_CASE8(2, 3)
               default: break;  // unreachable: the driver's blocks are 1–2 × 1–3
               })
}

/// Whether AVX2's blocks pay: not when pixels lie a multiple of 2 KiB apart (see above). Rows a
/// multiple of 4 KiB apart with pixels 1 KiB apart (28×28×256) put the window in 4 sets, 8 lines in
/// the worst, which L1's 8 ways still hold: blocks 63 µs against 87 for the runs (same harness).
PW_INLINE int dw3_avx2_pays(size_t ldx) { return (ldx * sizeof(float)) % 2048 != 0; }

// MARK: AVX2: blocks of nv ≤ 8 vectors of 8 channels (independent FMA chains, so the taps' FMAs
// overlap instead of waiting on each other), or one masked vector for the tail.

PW_AVX2 PW_INLINE void depthwise_block8(size_t nv, int masked, __m256i k, const float *origin, const float *w,
                                        const float *bias, float *out, size_t c, size_t ldx, size_t ldw, size_t width,
                                        size_t kernel_w, size_t kh0, size_t kh1, size_t kw0, size_t kw1,
                                        ptrdiff_t ih0, ptrdiff_t iw0, size_t dh, size_t dw, int accumulate, pw_activation a) {
#define LOAD8(p) (masked ? _mm256_maskload_ps((p), k) : _mm256_loadu_ps(p))
    __m256 sum[8];
    for (size_t j = 0; j < nv; j++) {
        sum[j] = bias ? LOAD8(bias + c + 8 * j) : _mm256_setzero_ps();
        if (accumulate) sum[j] = _mm256_add_ps(sum[j], LOAD8(out + c + 8 * j));
    }
    for (size_t kh = kh0; kh < kh1; kh++) {
        const float *row = DEPTHWISE_ROW(kh) + c;
        const float *taps = w + kh * kernel_w * ldw + c;
        for (size_t kw = kw0; kw < kw1; kw++) {
            const float *pixel = row + DEPTHWISE_COLUMN(kw), *tap = taps + kw * ldw;
            for (size_t j = 0; j < nv; j++)
                sum[j] = _mm256_fmadd_ps(LOAD8(pixel + 8 * j), LOAD8(tap + 8 * j), sum[j]);
        }
    }
    __m256 va = _mm256_set1_ps(a.alpha), vb = _mm256_set1_ps(a.beta);
    for (size_t j = 0; j < nv; j++) {
        __m256 v = pw_act8(sum[j], a.kind, va, vb);
        if (masked) _mm256_maskstore_ps(out + c + 8 * j, k, v);
        else _mm256_storeu_ps(out + c + 8 * j, v);
    }
#undef LOAD8
}

#define DEPTHWISE_BLOCK8(NV, MASKED, K) \
    depthwise_block8(NV, MASKED, K, origin, w, bias, out, c, ldx, ldw, width, kernel_w, kh0, kh1, kw0, kw1, \
                     ih0, iw0, dh, dw, accumulate, a)

// Four interior pixels (stride_w·ldx apart in the input, ldy apart in the output), nv ≤ 2
// vectors of 8 channels each: 4·nv independent FMA chains, each tap's weights loaded once.
PW_AVX2 PW_INLINE void depthwise_run4x8(size_t nv, int masked, __m256i k, const float *origin, const float *w,
                                        const float *bias, float *out, size_t ldy, size_t c, size_t ldx, size_t ldw,
                                        size_t width, size_t kernel_w, size_t kh0, size_t kh1, ptrdiff_t ih0,
                                        ptrdiff_t iw0, size_t step, size_t dh, size_t dw, int accumulate, pw_activation a) {
#define LOAD8(p) (masked ? _mm256_maskload_ps((p), k) : _mm256_loadu_ps(p))
    __m256 sum[4][2];
    for (size_t j = 0; j < nv; j++) {
        __m256 b = bias ? LOAD8(bias + c + 8 * j) : _mm256_setzero_ps();
        for (size_t p = 0; p < 4; p++)
            sum[p][j] = accumulate ? _mm256_add_ps(b, LOAD8(out + p * ldy + c + 8 * j)) : b;
    }
    for (size_t kh = kh0; kh < kh1; kh++) {
        const float *row = DEPTHWISE_ROW(kh) + (size_t)iw0 * ldx + c;
        const float *taps = w + kh * kernel_w * ldw + c;
        for (size_t kw = 0; kw < kernel_w; kw++) {
            const float *pixel = row + kw * dw * ldx, *tap = taps + kw * ldw;
            for (size_t j = 0; j < nv; j++) {
                __m256 t = LOAD8(tap + 8 * j);
                for (size_t p = 0; p < 4; p++)
                    sum[p][j] = _mm256_fmadd_ps(LOAD8(pixel + p * step + 8 * j), t, sum[p][j]);
            }
        }
    }
    __m256 va = _mm256_set1_ps(a.alpha), vb = _mm256_set1_ps(a.beta);
    for (size_t p = 0; p < 4; p++)
        for (size_t j = 0; j < nv; j++) {
            __m256 v = pw_act8(sum[p][j], a.kind, va, vb);
            if (masked) _mm256_maskstore_ps(out + p * ldy + c + 8 * j, k, v);
            else _mm256_storeu_ps(out + p * ldy + c + 8 * j, v);
        }
#undef LOAD8
}

#define DEPTHWISE_RUN4X8(NV, MASKED, K) \
    depthwise_run4x8(NV, MASKED, K, origin, w, bias, out, ldy, c, ldx, ldw, width, kernel_w, kh0, kh1, ih0, iw0, \
                     stride_w * ldx, dh, dw, accumulate, a)

PW_AVX2 static void depthwise_avx2(DEPTHWISE_PARAMETERS) {
    if (depthwise_is_3x3_stride1(kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w) && dw3_avx2_pays(ldx)) {
        dw3_avx2(DEPTHWISE_ARGUMENTS);
        return;
    }
    __m256i all = _mm256_set1_epi32(-1), tail = pw_mask8(channels % 8);
    DEPTHWISE_BANDED_LOOP(
        {
            size_t c = 0;
            for (; c + 64 <= channels; c += 64) DEPTHWISE_BLOCK8(8, 0, all);
            if (c + 32 <= channels) { DEPTHWISE_BLOCK8(4, 0, all); c += 32; }
            for (; c + 8 <= channels; c += 8) DEPTHWISE_BLOCK8(1, 0, all);
            if (c < channels) DEPTHWISE_BLOCK8(1, 1, tail);
        },
        {
            size_t c = 0;
            for (; c + 16 <= channels; c += 16) DEPTHWISE_RUN4X8(2, 0, all);
            if (c + 8 <= channels) { DEPTHWISE_RUN4X8(1, 0, all); c += 8; }
            if (c < channels) DEPTHWISE_RUN4X8(1, 1, tail);
        })
}

// MARK: AVX-512: blocks of nv ≤ 8 vectors of 16 channels, or one masked vector for the tail.

PW_AVX512 PW_INLINE void depthwise_block16(size_t nv, __mmask16 k, const float *origin, const float *w,
                                           const float *bias, float *out, size_t c, size_t ldx, size_t ldw, size_t width,
                                           size_t kernel_w, size_t kh0, size_t kh1, size_t kw0, size_t kw1,
                                           ptrdiff_t ih0, ptrdiff_t iw0, size_t dh, size_t dw, int accumulate, pw_activation a) {
    __m512 sum[8];
    for (size_t j = 0; j < nv; j++) {
        sum[j] = bias ? _mm512_maskz_loadu_ps(k, bias + c + 16 * j) : _mm512_setzero_ps();
        if (accumulate) sum[j] = _mm512_add_ps(sum[j], _mm512_maskz_loadu_ps(k, out + c + 16 * j));
    }
    for (size_t kh = kh0; kh < kh1; kh++) {
        const float *row = DEPTHWISE_ROW(kh) + c;
        const float *taps = w + kh * kernel_w * ldw + c;
        for (size_t kw = kw0; kw < kw1; kw++) {
            const float *pixel = row + DEPTHWISE_COLUMN(kw), *tap = taps + kw * ldw;
            for (size_t j = 0; j < nv; j++)
                sum[j] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, pixel + 16 * j), _mm512_maskz_loadu_ps(k, tap + 16 * j), sum[j]);
        }
    }
    __m512 va = _mm512_set1_ps(a.alpha), vb = _mm512_set1_ps(a.beta);
    for (size_t j = 0; j < nv; j++) _mm512_mask_storeu_ps(out + c + 16 * j, k, pw_act16(sum[j], a.kind, va, vb));
}

#define DEPTHWISE_BLOCK16(NV, K) \
    depthwise_block16(NV, K, origin, w, bias, out, c, ldx, ldw, width, kernel_w, kh0, kh1, kw0, kw1, \
                      ih0, iw0, dh, dw, accumulate, a)

// Four interior pixels, nv ≤ 2 vectors of 16 channels each (see depthwise_run4x8).
PW_AVX512 PW_INLINE void depthwise_run4x16(size_t nv, __mmask16 k, const float *origin, const float *w,
                                           const float *bias, float *out, size_t ldy, size_t c, size_t ldx, size_t ldw,
                                           size_t width, size_t kernel_w, size_t kh0, size_t kh1, ptrdiff_t ih0,
                                           ptrdiff_t iw0, size_t step, size_t dh, size_t dw, int accumulate, pw_activation a) {
    __m512 sum[4][2];
    for (size_t j = 0; j < nv; j++) {
        __m512 b = bias ? _mm512_maskz_loadu_ps(k, bias + c + 16 * j) : _mm512_setzero_ps();
        for (size_t p = 0; p < 4; p++)
            sum[p][j] = accumulate ? _mm512_add_ps(b, _mm512_maskz_loadu_ps(k, out + p * ldy + c + 16 * j)) : b;
    }
    for (size_t kh = kh0; kh < kh1; kh++) {
        const float *row = DEPTHWISE_ROW(kh) + (size_t)iw0 * ldx + c;
        const float *taps = w + kh * kernel_w * ldw + c;
        for (size_t kw = 0; kw < kernel_w; kw++) {
            const float *pixel = row + kw * dw * ldx, *tap = taps + kw * ldw;
            for (size_t j = 0; j < nv; j++) {
                __m512 t = _mm512_maskz_loadu_ps(k, tap + 16 * j);
                for (size_t p = 0; p < 4; p++)
                    sum[p][j] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, pixel + p * step + 16 * j), t, sum[p][j]);
            }
        }
    }
    __m512 va = _mm512_set1_ps(a.alpha), vb = _mm512_set1_ps(a.beta);
    for (size_t p = 0; p < 4; p++)
        for (size_t j = 0; j < nv; j++)
            _mm512_mask_storeu_ps(out + p * ldy + c + 16 * j, k, pw_act16(sum[p][j], a.kind, va, vb));
}

#define DEPTHWISE_RUN4X16(NV, K) \
    depthwise_run4x16(NV, K, origin, w, bias, out, ldy, c, ldx, ldw, width, kernel_w, kh0, kh1, ih0, iw0, \
                      stride_w * ldx, dh, dw, accumulate, a)

// AVX-512's 3x3 blocks: 4 × 5 outputs of 16 channels (20 sums + 9 weights + the input: 30 of 32).
#define DW3_ROWS_AVX512 4
#define DW3_COLUMNS_AVX512 5

/// One block: output rows [0, R) × columns [0, P) of one vector of 16 channels (k: the tail's
/// mask), x and w at the block's channels. Pixel rows are width·ldx apart in the input, out_w·ldy
/// in the output.
PW_AVX512 PW_INLINE void dw3_block16(const int R, const int P, __mmask16 k, const float *x, size_t ldx, size_t height,
                                     size_t width, ptrdiff_t iy0, ptrdiff_t ix0, const float *w, size_t ldw,
                                     const float *bias, float *y, size_t ldy, size_t out_w, int accumulate,
                                     pw_activation a) {
#define LOAD16(p) _mm512_maskz_loadu_ps(k, (p))
    __m512 acc[DW3_ROWS_AVX512][DW3_COLUMNS_AVX512], weights[9];
    __m512 b = bias ? LOAD16(bias) : _mm512_setzero_ps();
    for (int t = 0; t < 9; t++) weights[t] = LOAD16(w + (size_t)t * ldw);
    for (int r = 0; r < R; r++)
        for (int p = 0; p < P; p++) acc[r][p] = accumulate ? _mm512_add_ps(b, LOAD16(y + (r * out_w + p) * ldy)) : b;
    DW3_WINDOW_SUMS(R, P, __m512, LOAD16, _mm512_fmadd_ps)
    __m512 va = _mm512_set1_ps(a.alpha), vb = _mm512_set1_ps(a.beta);
    for (int r = 0; r < R; r++)
        for (int p = 0; p < P; p++) _mm512_mask_storeu_ps(y + (r * out_w + p) * ldy, k, pw_act16(acc[r][p], a.kind, va, vb));
#undef LOAD16
}

/// One block position, every channel (the last vector masked): the block's window is read as
/// whole pixels.
PW_AVX512 PW_INLINE void dw3_blocks16(const int R, const int P, size_t channels, const float *x, size_t ldx,
                                      size_t height, size_t width, ptrdiff_t iy0, ptrdiff_t ix0, const float *w,
                                      size_t ldw, const float *bias, float *y, size_t ldy, size_t out_w, int accumulate,
                                      pw_activation a) {
    for (size_t c = 0; c < channels; c += 16) {
        __mmask16 k = channels - c >= 16 ? (__mmask16)0xFFFF : pw_mask16(channels - c);
        dw3_block16(R, P, k, x + c, ldx, height, width, iy0, ix0, w + c, ldw, bias ? bias + c : NULL, y + c, ldy, out_w,
                    accumulate, a);
    }
}

#define DW3_CASE16(R, P) case (R) * 10 + (P): \
    dw3_blocks16(R, P, channels, origin, ldx, height, width, iy0, ix0, w, ldw, bias, out, ldy, out_w, accumulate, a); break;
#define DW3_CASES16(R) DW3_CASE16(R, 1) DW3_CASE16(R, 2) DW3_CASE16(R, 3) DW3_CASE16(R, 4) DW3_CASE16(R, 5)

PW_AVX512 static void dw3_avx512(DEPTHWISE_PARAMETERS) {
    DW3_DRIVER(DW3_ROWS_AVX512, DW3_COLUMNS_AVX512,
               switch (rows * 10 + columns) {
               DW3_CASES16(1) DW3_CASES16(2) DW3_CASES16(3) DW3_CASES16(4)
               default: break;  // unreachable: the driver's blocks are 1–4 × 1–5
               })
}

PW_AVX512 static void depthwise_avx512(DEPTHWISE_PARAMETERS) {
    if (depthwise_is_3x3_stride1(kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w)) {
        dw3_avx512(DEPTHWISE_ARGUMENTS);
        return;
    }
    __mmask16 all = (__mmask16)0xFFFF, tail = pw_mask16(channels % 16);
    DEPTHWISE_BANDED_LOOP(
        {
            size_t c = 0;
            for (; c + 128 <= channels; c += 128) DEPTHWISE_BLOCK16(8, all);
            if (c + 64 <= channels) { DEPTHWISE_BLOCK16(4, all); c += 64; }
            for (; c + 16 <= channels; c += 16) DEPTHWISE_BLOCK16(1, all);
            if (c < channels) DEPTHWISE_BLOCK16(1, tail);
        },
        {
            size_t c = 0;
            for (; c + 32 <= channels; c += 32) DEPTHWISE_RUN4X16(2, all);
            if (c + 16 <= channels) { DEPTHWISE_RUN4X16(1, all); c += 16; }
            if (c < channels) DEPTHWISE_RUN4X16(1, tail);
        })
}

#endif  // PW_X86

void pw_depthwise(pw_isa isa, DEPTHWISE_PARAMETERS) {
    if (channels == 0 || out_h == 0 || out_w == 0) return;
#if PW_X86
    if (isa == PW_ISA_AVX512) { depthwise_avx512(DEPTHWISE_ARGUMENTS); return; }
    if (isa == PW_ISA_AVX2) { depthwise_avx2(DEPTHWISE_ARGUMENTS); return; }
#else
    (void)isa;
#endif
    depthwise_portable(DEPTHWISE_ARGUMENTS);
}
