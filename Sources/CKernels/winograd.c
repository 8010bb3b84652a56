// Winograd F(m×m, 3×3) transforms for 3x3 stride-1 convolutions on NHWC (m = 2, 4, 6; α = m + 2):
// the weight transform U = G·g·Gᵀ (double, once at load), the input transform V = Bᵀ·d·B of each
// α×α input patch, and the output transform Y = Aᵀ·M·A with the bias, residual and activation
// fused. The α² GEMMs M[ξ] = V[ξ]·U[ξ] between them are the caller's.
//
// Matrices (points; each set checked exactly with sympy and in FP64 — Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A equals
// the direct 3x3 cross-correlation, max relative error over random tiles 1.8e-15, 3.8e-15, 2.1e-14):
// - F(2,3): 0, ±1 (Lavin & Gray; wincnn).
// - F(4,3): 0, ±√2, ±√2/2 with ncnn's row scaling (Tencent/ncnn PR #4556), about half the FP32 error
//   of the usual 0, ±1, ±2.
// - F(6,3): 0, ±1, ±2, ±1/2 (wincnn, NNPACK).
// The 1-D transforms below are those matrices factored (shared sums and differences); the matrices
// themselves appear only in the weight transform, which multiplies them out in double.
//
// Input and output transforms are vectorised across channels: for each tile and channel vector, a
// first pass transforms the patch's columns (Bᵀ·d) into a stack array of α×α vectors, a second its
// rows (·B), written straight to the α² planes of V. Interior tiles load without any test; border
// tiles read zero for patch positions outside the input. Portable C runs the same two passes on blocks
// of channels, the channel loop innermost.
//
// NaN and infinity: each transform mixes a tile's values, so a NaN (or an infinity, through inf − inf)
// in an input patch reaches every output of the tile whose transform coefficients touch it, not only the
// outputs whose 3x3 window holds it; infinities can come out as NaN where a direct convolution gives ±inf.
#include "isa.h"

#define WINO_MAX_ALPHA 8
#define WINO_MAX_M 6

#if defined(__GNUC__) || defined(__clang__)
#define WINO_UNROLL _Pragma("GCC unroll 8")
#else
#define WINO_UNROLL
#endif

#define WINO_SQRT2 1.41421356237309504880

// MARK: 1-D transforms, written once over an element type T and an operation prefix P:
// P##add(a, b), P##sub(a, b), P##mul(a, k) = a·k and P##fma(a, k, b) = a·k + b, k a float constant.
// Bᵀ (input) maps d[0..α) to o[0..α); Aᵀ (output) maps d[0..α) to o[0..m).

#define WINO_S2 1.41421356f   // √2
#define WINO_S2H 0.707106781f // √2/2
#define WINO_S2Q 0.353553391f // √2/4
#define WINO_S2D 2.82842712f  // 2√2

// F(2,3): Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 −1 0 1].
#define WINO_IN2(T, P, d, o) do { \
        o[0] = P##sub(d[0], d[2]); \
        o[1] = P##add(d[1], d[2]); \
        o[2] = P##sub(d[2], d[1]); \
        o[3] = P##sub(d[3], d[1]); \
    } while (0)

// F(2,3): Aᵀ = [1 1 1 0; 0 1 −1 1].
#define WINO_OUT2(T, P, d, o) do { \
        o[0] = P##add(P##add(d[0], d[1]), d[2]); \
        o[1] = P##add(P##sub(d[1], d[2]), d[3]); \
    } while (0)

// F(4,3), ncnn's Bᵀ = [1 0 −5/2 0 1 0; 0 −√2 −2 √2/2 1 0; 0 √2 −2 −√2/2 1 0;
//                      0 −√2/2 −1/2 √2 1 0; 0 √2/2 −1/2 −√2 1 0; 0 1 0 −5/2 0 1].
#define WINO_IN4(T, P, d, o) do { \
        T a_ = P##fma(d[2], -2.0f, d[4]); \
        T b_ = P##fma(d[1], -WINO_S2, P##mul(d[3], WINO_S2H)); \
        T c_ = P##fma(d[2], -0.5f, d[4]); \
        T e_ = P##fma(d[1], -WINO_S2H, P##mul(d[3], WINO_S2)); \
        o[0] = P##fma(d[2], -2.5f, P##add(d[0], d[4])); \
        o[1] = P##add(a_, b_); \
        o[2] = P##sub(a_, b_); \
        o[3] = P##add(c_, e_); \
        o[4] = P##sub(c_, e_); \
        o[5] = P##fma(d[3], -2.5f, P##add(d[1], d[5])); \
    } while (0)

// F(4,3), ncnn's Aᵀ = [1 1 1 1 1 0; 0 √2/2 −√2/2 √2 −√2 0; 0 1/2 1/2 2 2 0; 0 √2/4 −√2/4 2√2 −2√2 1].
#define WINO_OUT4(T, P, d, o) do { \
        T p_ = P##add(d[1], d[2]), q_ = P##sub(d[1], d[2]); \
        T r_ = P##add(d[3], d[4]), s_ = P##sub(d[3], d[4]); \
        o[0] = P##add(P##add(d[0], p_), r_); \
        o[1] = P##fma(s_, WINO_S2, P##mul(q_, WINO_S2H)); \
        o[2] = P##fma(r_, 2.0f, P##mul(p_, 0.5f)); \
        o[3] = P##fma(s_, WINO_S2D, P##fma(q_, WINO_S2Q, d[5])); \
    } while (0)

// F(6,3): Bᵀ = [1 0 −21/4 0 21/4 0 −1 0; 0 1 1 −17/4 −17/4 1 1 0; 0 −1 1 17/4 −17/4 −1 1 0;
//               0 1/2 1/4 −5/2 −5/4 2 1 0; 0 −1/2 1/4 5/2 −5/4 −2 1 0; 0 2 4 −5/2 −5 1/2 1 0;
//               0 −2 4 5/2 −5 −1/2 1 0; 0 −1 0 21/4 0 −21/4 0 1].
#define WINO_IN6(T, P, d, o) do { \
        T a12_ = P##fma(d[4], -4.25f, P##add(d[2], d[6])); \
        T b12_ = P##fma(d[3], -4.25f, P##add(d[1], d[5])); \
        T a34_ = P##fma(d[4], -1.25f, P##fma(d[2], 0.25f, d[6])); \
        T b34_ = P##fma(d[5], 2.0f, P##fma(d[3], -2.5f, P##mul(d[1], 0.5f))); \
        T a56_ = P##fma(P##fma(d[4], -1.25f, d[2]), 4.0f, d[6]); \
        T b56_ = P##fma(d[5], 0.5f, P##fma(d[3], -2.5f, P##mul(d[1], 2.0f))); \
        o[0] = P##fma(P##sub(d[4], d[2]), 5.25f, P##sub(d[0], d[6])); \
        o[1] = P##add(a12_, b12_); \
        o[2] = P##sub(a12_, b12_); \
        o[3] = P##add(a34_, b34_); \
        o[4] = P##sub(a34_, b34_); \
        o[5] = P##add(a56_, b56_); \
        o[6] = P##sub(a56_, b56_); \
        o[7] = P##fma(P##sub(d[3], d[5]), 5.25f, P##sub(d[7], d[1])); \
    } while (0)

// F(6,3): Aᵀ = [1 1 1 1 1 1 1 0; 0 1 −1 2 −2 1/2 −1/2 0; 0 1 1 4 4 1/4 1/4 0; 0 1 −1 8 −8 1/8 −1/8 0;
//               0 1 1 16 16 1/16 1/16 0; 0 1 −1 32 −32 1/32 −1/32 1].
#define WINO_OUT6(T, P, d, o) do { \
        T a_ = P##add(d[1], d[2]), b_ = P##sub(d[1], d[2]); \
        T c_ = P##add(d[3], d[4]), e_ = P##sub(d[3], d[4]); \
        T f_ = P##add(d[5], d[6]), g_ = P##sub(d[5], d[6]); \
        o[0] = P##add(P##add(d[0], a_), P##add(c_, f_)); \
        o[1] = P##fma(g_, 0.5f, P##fma(e_, 2.0f, b_)); \
        o[2] = P##fma(f_, 0.25f, P##fma(c_, 4.0f, a_)); \
        o[3] = P##fma(g_, 0.125f, P##fma(e_, 8.0f, b_)); \
        o[4] = P##fma(f_, 0.0625f, P##fma(c_, 16.0f, a_)); \
        o[5] = P##fma(g_, 0.03125f, P##fma(e_, 32.0f, P##add(b_, d[7]))); \
    } while (0)

/// wino_in_S(m, d, o) and wino_out_S(m, d, o) for one element type (m constant after inlining).
#define WINO_DEFINE_1D(S, T, ATTR) \
    ATTR PW_INLINE void wino_in_##S(int m, const T *d, T *o) { \
        if (m == 2) WINO_IN2(T, S##_, d, o); \
        else if (m == 4) WINO_IN4(T, S##_, d, o); \
        else WINO_IN6(T, S##_, d, o); \
    } \
    ATTR PW_INLINE void wino_out_##S(int m, const T *d, T *o) { \
        if (m == 2) WINO_OUT2(T, S##_, d, o); \
        else if (m == 4) WINO_OUT4(T, S##_, d, o); \
        else WINO_OUT6(T, S##_, d, o); \
    }

PW_INLINE float s1_add(float a, float b) { return a + b; }
PW_INLINE float s1_sub(float a, float b) { return a - b; }
PW_INLINE float s1_mul(float a, float k) { return a * k; }
PW_INLINE float s1_fma(float a, float k, float b) { return a * k + b; }
WINO_DEFINE_1D(s1, float, )

// MARK: Weight transform (double, rounded once)

static const double wino_g2[4][3] = {
    {1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1},
};
static const double wino_g4[6][3] = {
    {1, 0, 0},
    {-2.0 / 3, -WINO_SQRT2 / 3, -1.0 / 3},
    {-2.0 / 3, WINO_SQRT2 / 3, -1.0 / 3},
    {1.0 / 6, WINO_SQRT2 / 6, 1.0 / 3},
    {1.0 / 6, -WINO_SQRT2 / 6, 1.0 / 3},
    {0, 0, 1},
};
static const double wino_g6[8][3] = {
    {1, 0, 0},
    {-2.0 / 9, -2.0 / 9, -2.0 / 9},
    {-2.0 / 9, 2.0 / 9, -2.0 / 9},
    {1.0 / 90, 1.0 / 45, 2.0 / 45},
    {1.0 / 90, -1.0 / 45, 2.0 / 45},
    {32.0 / 45, 16.0 / 45, 8.0 / 45},
    {32.0 / 45, -16.0 / 45, 8.0 / 45},
    {0, 0, 1},
};

void pw_winograd_weight_transform(int m, const float *w, size_t cout, size_t cin, float *u) {
    const double (*g)[3];
    switch (m) {
    case 2: g = wino_g2; break;
    case 4: g = wino_g4; break;
    case 6: g = wino_g6; break;
    default: return;
    }
    const size_t a = (size_t)m + 2, plane = cin * cout;
    for (size_t co = 0; co < cout; co++)
        for (size_t ci = 0; ci < cin; ci++) {
            const float *k = w + (co * cin + ci) * 9;
            double gk[WINO_MAX_ALPHA][3];  // G·k
            for (size_t i = 0; i < a; i++)
                for (size_t c = 0; c < 3; c++)
                    gk[i][c] = g[i][0] * k[c] + g[i][1] * k[3 + c] + g[i][2] * k[6 + c];
            float *out = u + ci * cout + co;
            for (size_t i = 0; i < a; i++)
                for (size_t j = 0; j < a; j++)
                    out[(i * a + j) * plane] = (float)(gk[i][0] * g[j][0] + gk[i][1] * g[j][1] + gk[i][2] * g[j][2]);
        }
}

// MARK: Tile geometry shared by the variants

/// The patch rows k in [*k0, *k1) of a patch starting at origin (may be negative) lying in [0, size).
PW_INLINE void wino_valid_range(ptrdiff_t origin, size_t size, int alpha, int *k0, int *k1) {
    ptrdiff_t lo = origin < 0 ? -origin : 0, hi = (ptrdiff_t)size - origin;
    if (lo > alpha) lo = alpha;
    if (hi > alpha) hi = alpha;
    if (hi < lo) hi = lo;
    *k0 = (int)lo;
    *k1 = (int)hi;
}

/// Walks tiles t in [tile_begin, tile_end): the body sees tt = t − tile_begin, n, th, tw.
#define WINO_TILE_LOOP(...) \
    size_t per_image_ = tiles_h * tiles_w; \
    size_t n = tile_begin / per_image_, th = tile_begin % per_image_ / tiles_w, tw = tile_begin % tiles_w; \
    for (size_t tt = 0; tt < tile_end - tile_begin; tt++) { \
        __VA_ARGS__ \
        if (++tw == tiles_w) { tw = 0; if (++th == tiles_h) { th = 0; n++; } } \
    }

#define WINO_INPUT_PARAMETERS \
    int m, const float *x, size_t height, size_t width, size_t channels, size_t tiles_h, size_t tiles_w, \
    size_t pad_top, size_t pad_left, size_t tile_begin, size_t tile_end, float *v, size_t v_stride, size_t ldv
#define WINO_INPUT_ARGUMENTS \
    m, x, height, width, channels, tiles_h, tiles_w, pad_top, pad_left, tile_begin, tile_end, v, v_stride, ldv

#define WINO_OUTPUT_PARAMETERS \
    int m, const float *mm, size_t m_stride, size_t ldm, size_t cout, size_t tiles_h, size_t tiles_w, \
    size_t out_h, size_t out_w, size_t tile_begin, size_t tile_end, const float *bias, \
    const float *residual, size_t ld_residual, pw_activation act, float *y, size_t ldy
#define WINO_OUTPUT_ARGUMENTS \
    m, mm, m_stride, ldm, cout, tiles_h, tiles_w, out_h, out_w, tile_begin, tile_end, bias, \
    residual, ld_residual, act, y, ldy

/// Per tile: img (image n's origin), ih0/iw0 (patch origin, may be negative), interior, and the
/// valid patch rows [k0, k1) and columns [j0, j1).
#define WINO_INPUT_TILE_SETUP \
    const int alpha = m + 2; \
    const float *img = x + n * height * width * channels; \
    ptrdiff_t ih0 = (ptrdiff_t)(th * (size_t)m) - (ptrdiff_t)pad_top; \
    ptrdiff_t iw0 = (ptrdiff_t)(tw * (size_t)m) - (ptrdiff_t)pad_left; \
    int k0, k1, j0, j1; \
    wino_valid_range(ih0, height, alpha, &k0, &k1); \
    wino_valid_range(iw0, width, alpha, &j0, &j1); \
    int interior = k0 == 0 && k1 == alpha && j0 == 0 && j1 == alpha; \
    float *vt = v + tt * ldv;

/// Per tile: the output block's first pixel (n, oh0, ow0) and its rows × cols inside the output.
#define WINO_OUTPUT_TILE_SETUP \
    size_t oh0 = th * (size_t)m, ow0 = tw * (size_t)m; \
    size_t rows = oh0 < out_h ? pw_min((size_t)m, out_h - oh0) : 0; \
    size_t cols = ow0 < out_w ? pw_min((size_t)m, out_w - ow0) : 0; \
    size_t pixel0 = (n * out_h + oh0) * out_w + ow0; \
    const float *mt = mm + tt * ldm;

// MARK: Portable: blocks of WINO_BLOCK channels through stack arrays, the channel loop innermost

#define WINO_BLOCK 16

static const float wino_zeros[WINO_BLOCK];

/// V for one tile and `lanes` channels (a constant: 16, 8, 4 or 1): src[k][j] is patch position
/// (k, j)'s first channel (wino_zeros outside the input).
PW_INLINE void wino_input_block_portable(int m, size_t lanes, const float *const src[WINO_MAX_ALPHA][WINO_MAX_ALPHA],
                                         float *vt, size_t v_stride) {
    const int alpha = m + 2;
    float t[WINO_MAX_ALPHA][WINO_MAX_ALPHA][WINO_BLOCK];  // Bᵀ·d: t[i][j][c]
    float o[WINO_MAX_ALPHA][WINO_BLOCK];
    for (int j = 0; j < alpha; j++)
        for (size_t c = 0; c < lanes; c++) {
            float d[WINO_MAX_ALPHA], r[WINO_MAX_ALPHA];
            WINO_UNROLL for (int k = 0; k < alpha; k++) d[k] = src[k][j][c];
            wino_in_s1(m, d, r);
            WINO_UNROLL for (int i = 0; i < alpha; i++) t[i][j][c] = r[i];
        }
    for (int i = 0; i < alpha; i++) {
        for (size_t c = 0; c < lanes; c++) {
            float d[WINO_MAX_ALPHA], r[WINO_MAX_ALPHA];
            WINO_UNROLL for (int j = 0; j < alpha; j++) d[j] = t[i][j][c];
            wino_in_s1(m, d, r);
            WINO_UNROLL for (int j = 0; j < alpha; j++) o[j][c] = r[j];
        }
        // Through a local row, so the loop above has no stores that might overlap each other.
        for (int j = 0; j < alpha; j++) memcpy(vt + (size_t)(i * alpha + j) * v_stride, o[j], lanes * sizeof(float));
    }
}

#define WINO_INPUT_BLOCK_PORTABLE(LANES) do { \
        const float *src[WINO_MAX_ALPHA][WINO_MAX_ALPHA]; \
        for (int k = 0; k < alpha; k++) \
            for (int j = 0; j < alpha; j++) \
                src[k][j] = k >= k0 && k < k1 && j >= j0 && j < j1 \
                    ? img + ((size_t)(ih0 + k) * width + (size_t)(iw0 + j)) * channels + c0 : wino_zeros; \
        wino_input_block_portable(m, LANES, src, vt + c0, v_stride); \
        c0 += LANES; \
    } while (0)

/// Blocks of 16 channels, then 8, 4 and single channels, each of constant width (so vectorised).
PW_INLINE void wino_input_portable_m(WINO_INPUT_PARAMETERS) {
    WINO_TILE_LOOP(
        WINO_INPUT_TILE_SETUP
        (void)interior;
        size_t c0 = 0;
        while (c0 + WINO_BLOCK <= channels) WINO_INPUT_BLOCK_PORTABLE(WINO_BLOCK);
        if (c0 + 8 <= channels) WINO_INPUT_BLOCK_PORTABLE(8);
        if (c0 + 4 <= channels) WINO_INPUT_BLOCK_PORTABLE(4);
        while (c0 < channels) WINO_INPUT_BLOCK_PORTABLE(1);
    )
}

static void wino_input_portable(WINO_INPUT_PARAMETERS) {
    if (m == 2) wino_input_portable_m(2, x, height, width, channels, tiles_h, tiles_w, pad_top, pad_left,
                                      tile_begin, tile_end, v, v_stride, ldv);
    else if (m == 4) wino_input_portable_m(4, x, height, width, channels, tiles_h, tiles_w, pad_top, pad_left,
                                           tile_begin, tile_end, v, v_stride, ldv);
    else wino_input_portable_m(6, x, height, width, channels, tiles_h, tiles_w, pad_top, pad_left,
                               tile_begin, tile_end, v, v_stride, ldv);
}

/// Y = Aᵀ·M·A for one tile and `lanes` channels (a constant): yv[p][q][c] for the m×m block.
PW_INLINE void wino_output_block_portable(int m, size_t lanes, const float *mt, size_t m_stride,
                                          float yv[WINO_MAX_M][WINO_MAX_M][WINO_BLOCK]) {
    const int alpha = m + 2;
    float t[WINO_MAX_ALPHA][WINO_MAX_M][WINO_BLOCK];  // M·A: t[i][q][c]
    for (int i = 0; i < alpha; i++) {
        const float *row = mt + (size_t)(i * alpha) * m_stride;
        for (size_t c = 0; c < lanes; c++) {
            float d[WINO_MAX_ALPHA], r[WINO_MAX_ALPHA];
            WINO_UNROLL for (int j = 0; j < alpha; j++) d[j] = row[(size_t)j * m_stride + c];
            wino_out_s1(m, d, r);
            WINO_UNROLL for (int q = 0; q < m; q++) t[i][q][c] = r[q];
        }
    }
    for (int q = 0; q < m; q++)
        for (size_t c = 0; c < lanes; c++) {
            float d[WINO_MAX_ALPHA], r[WINO_MAX_ALPHA];
            WINO_UNROLL for (int i = 0; i < alpha; i++) d[i] = t[i][q][c];
            wino_out_s1(m, d, r);
            WINO_UNROLL for (int p = 0; p < m; p++) yv[p][q][c] = r[p];
        }
}

/// y = act(yv + bias + residual) for the block's pixels inside the output (bias: wino_zeros if none).
PW_INLINE void wino_epilogue_portable_k(pw_activation_kind kind, float alpha, float beta, size_t nb,
                                        float yv[WINO_MAX_M][WINO_MAX_M][WINO_BLOCK], size_t rows, size_t cols,
                                        size_t out_w, const float *bias, const float *residual, size_t ld_residual,
                                        float *y, size_t ldy) {
    for (size_t p = 0; p < rows; p++)
        for (size_t q = 0; q < cols; q++) {
            size_t pixel = p * out_w + q;
            float s[WINO_BLOCK];
            if (residual) {
                const float *res = residual + pixel * ld_residual;
                for (size_t c = 0; c < nb; c++) s[c] = yv[p][q][c] + bias[c] + res[c];
            } else {
                for (size_t c = 0; c < nb; c++) s[c] = yv[p][q][c] + bias[c];
            }
            float *out = y + pixel * ldy;  // residual read above, so y may be the residual (in place)
            for (size_t c = 0; c < nb; c++) out[c] = pw_act1(s[c], kind, alpha, beta);
        }
}

#define WINO_EPILOGUE_PORTABLE_CASE(K, NB) \
    wino_epilogue_portable_k(K, a.alpha, a.beta, NB, yv, rows, cols, out_w, bias, residual, ld_residual, y, ldy)

/// The activation and block width (16, 8, 4 or 1) chosen per call, not compiled into every transform.
static void wino_epilogue_portable(pw_activation a, size_t nb, float yv[WINO_MAX_M][WINO_MAX_M][WINO_BLOCK],
                                   size_t rows, size_t cols, size_t out_w, const float *bias,
                                   const float *residual, size_t ld_residual, float *y, size_t ldy) {
    if (nb == WINO_BLOCK) PW_SWITCH_ACTIVATION(a.kind, WINO_EPILOGUE_PORTABLE_CASE, WINO_BLOCK);
    else if (nb == 8) PW_SWITCH_ACTIVATION(a.kind, WINO_EPILOGUE_PORTABLE_CASE, 8);
    else if (nb == 4) PW_SWITCH_ACTIVATION(a.kind, WINO_EPILOGUE_PORTABLE_CASE, 4);
    else PW_SWITCH_ACTIVATION(a.kind, WINO_EPILOGUE_PORTABLE_CASE, 1);
}

#define WINO_OUTPUT_BLOCK_PORTABLE(LANES) do { \
        float yv[WINO_MAX_M][WINO_MAX_M][WINO_BLOCK]; \
        wino_output_block_portable(m, LANES, mt + c0, m_stride, yv); \
        wino_epilogue_portable(act, LANES, yv, rows, cols, out_w, bias ? bias + c0 : wino_zeros, \
                               residual ? residual + pixel0 * ld_residual + c0 : NULL, ld_residual, \
                               y + pixel0 * ldy + c0, ldy); \
        c0 += LANES; \
    } while (0)

PW_INLINE void wino_output_portable_m(WINO_OUTPUT_PARAMETERS) {
    WINO_TILE_LOOP(
        WINO_OUTPUT_TILE_SETUP
        size_t c0 = 0;
        while (c0 + WINO_BLOCK <= cout) WINO_OUTPUT_BLOCK_PORTABLE(WINO_BLOCK);
        if (c0 + 8 <= cout) WINO_OUTPUT_BLOCK_PORTABLE(8);
        if (c0 + 4 <= cout) WINO_OUTPUT_BLOCK_PORTABLE(4);
        while (c0 < cout) WINO_OUTPUT_BLOCK_PORTABLE(1);
    )
}

static void wino_output_portable(WINO_OUTPUT_PARAMETERS) {
    if (m == 2) wino_output_portable_m(2, mm, m_stride, ldm, cout, tiles_h, tiles_w, out_h, out_w, tile_begin,
                                       tile_end, bias, residual, ld_residual, act, y, ldy);
    else if (m == 4) wino_output_portable_m(4, mm, m_stride, ldm, cout, tiles_h, tiles_w, out_h, out_w, tile_begin,
                                            tile_end, bias, residual, ld_residual, act, y, ldy);
    else wino_output_portable_m(6, mm, m_stride, ldm, cout, tiles_h, tiles_w, out_h, out_w, tile_begin,
                                tile_end, bias, residual, ld_residual, act, y, ldy);
}

#if PW_X86

// MARK: AVX2 + FMA: one vector of 8 channels at a time (a masked one for the tail)

PW_AVX2 PW_INLINE __m256 v8_add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
PW_AVX2 PW_INLINE __m256 v8_sub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
PW_AVX2 PW_INLINE __m256 v8_mul(__m256 a, float k) { return _mm256_mul_ps(a, _mm256_set1_ps(k)); }
PW_AVX2 PW_INLINE __m256 v8_fma(__m256 a, float k, __m256 b) { return _mm256_fmadd_ps(a, _mm256_set1_ps(k), b); }
WINO_DEFINE_1D(v8, __m256, PW_AVX2)

/// V for one tile and channels [c, c + 8) (img and vt already offset by c); border: positions outside
/// rows [k0, k1) × columns [j0, j1) read as zero.
PW_AVX2 PW_INLINE void wino_input_vector_avx2(int m, int border, int masked, __m256i mask, const float *img,
                                              ptrdiff_t ih0, ptrdiff_t iw0, size_t width, size_t channels,
                                              int k0, int k1, int j0, int j1, float *vt, size_t v_stride) {
    const int alpha = m + 2;
    const size_t rs = width * channels;
    __m256 t[WINO_MAX_ALPHA][WINO_MAX_ALPHA];  // Bᵀ·d
    WINO_UNROLL for (int j = 0; j < alpha; j++) {
        __m256 d[WINO_MAX_ALPHA], r[WINO_MAX_ALPHA];
        WINO_UNROLL for (int k = 0; k < alpha; k++) {
            if (border && !(k >= k0 && k < k1 && j >= j0 && j < j1)) {
                d[k] = _mm256_setzero_ps();
            } else {
                const float *p = img + (size_t)(ih0 + k) * rs + (size_t)(iw0 + j) * channels;
                d[k] = masked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
            }
        }
        wino_in_v8(m, d, r);
        WINO_UNROLL for (int i = 0; i < alpha; i++) t[i][j] = r[i];
    }
    WINO_UNROLL for (int i = 0; i < alpha; i++) {
        __m256 r[WINO_MAX_ALPHA];
        wino_in_v8(m, t[i], r);
        WINO_UNROLL for (int j = 0; j < alpha; j++) {
            float *q = vt + (size_t)(i * alpha + j) * v_stride;
            if (masked) _mm256_maskstore_ps(q, mask, r[j]);
            else _mm256_storeu_ps(q, r[j]);
        }
    }
}

#define WINO_INPUT_VECTOR_AVX2(BORDER, MASKED, MASK) \
    wino_input_vector_avx2(m, BORDER, MASKED, MASK, img + c, ih0, iw0, width, channels, k0, k1, j0, j1, vt + c, v_stride)

PW_AVX2 PW_INLINE void wino_input_avx2_m(WINO_INPUT_PARAMETERS) {
    __m256i all = _mm256_set1_epi32(-1), tail = pw_mask8(channels % 8);
    WINO_TILE_LOOP(
        WINO_INPUT_TILE_SETUP
        size_t c = 0;
        if (interior) for (; c + 8 <= channels; c += 8) WINO_INPUT_VECTOR_AVX2(0, 0, all);
        else for (; c + 8 <= channels; c += 8) WINO_INPUT_VECTOR_AVX2(1, 0, all);
        if (c < channels) WINO_INPUT_VECTOR_AVX2(1, 1, tail);  // the border code's tests cost nothing here
    )
}

PW_AVX2 static void wino_input_avx2(WINO_INPUT_PARAMETERS) {
    if (m == 2) wino_input_avx2_m(2, x, height, width, channels, tiles_h, tiles_w, pad_top, pad_left,
                                  tile_begin, tile_end, v, v_stride, ldv);
    else if (m == 4) wino_input_avx2_m(4, x, height, width, channels, tiles_h, tiles_w, pad_top, pad_left,
                                       tile_begin, tile_end, v, v_stride, ldv);
    else wino_input_avx2_m(6, x, height, width, channels, tiles_h, tiles_w, pad_top, pad_left,
                           tile_begin, tile_end, v, v_stride, ldv);
}

/// Y = Aᵀ·M·A for one tile and channels [c, c + 8) (mt offset by c) into yv[p·m + q].
PW_AVX2 PW_INLINE void wino_output_vector_avx2(int m, int masked, __m256i mask, const float *mt, size_t m_stride,
                                               __m256 *yv) {
    const int alpha = m + 2;
    __m256 t[WINO_MAX_ALPHA][WINO_MAX_M];  // M·A
    WINO_UNROLL for (int i = 0; i < alpha; i++) {
        __m256 d[WINO_MAX_ALPHA], r[WINO_MAX_ALPHA];
        WINO_UNROLL for (int j = 0; j < alpha; j++) {
            const float *p = mt + (size_t)(i * alpha + j) * m_stride;
            d[j] = masked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
        }
        wino_out_v8(m, d, r);
        WINO_UNROLL for (int q = 0; q < m; q++) t[i][q] = r[q];
    }
    WINO_UNROLL for (int q = 0; q < m; q++) {
        __m256 d[WINO_MAX_ALPHA], r[WINO_MAX_ALPHA];
        WINO_UNROLL for (int i = 0; i < alpha; i++) d[i] = t[i][q];
        wino_out_v8(m, d, r);
        WINO_UNROLL for (int p = 0; p < m; p++) yv[p * m + q] = r[p];
    }
}

/// y = act(yv + bias + residual) for the rows × cols pixels of the block (bias, residual and y offset
/// by the channel; bias may be NULL, residual NULL or y itself).
PW_AVX2 PW_INLINE void wino_epilogue_avx2_k(pw_activation_kind kind, __m256 va, __m256 vb, int masked, __m256i mask,
                                            const __m256 *yv, int m, size_t rows, size_t cols, size_t out_w,
                                            const float *bias, const float *residual, size_t ld_residual,
                                            float *y, size_t ldy) {
    __m256 b = !bias ? _mm256_setzero_ps() : masked ? _mm256_maskload_ps(bias, mask) : _mm256_loadu_ps(bias);
    for (size_t p = 0; p < rows; p++)
        for (size_t q = 0; q < cols; q++) {
            size_t pixel = p * out_w + q;
            __m256 s = _mm256_add_ps(yv[p * (size_t)m + q], b);
            if (residual) {
                const float *res = residual + pixel * ld_residual;
                s = _mm256_add_ps(s, masked ? _mm256_maskload_ps(res, mask) : _mm256_loadu_ps(res));
            }
            s = pw_act8(s, kind, va, vb);
            if (masked) _mm256_maskstore_ps(y + pixel * ldy, mask, s);
            else _mm256_storeu_ps(y + pixel * ldy, s);
        }
}

#define WINO_EPILOGUE_AVX2_CASE(K, MASKED) wino_epilogue_avx2_k(K, _mm256_set1_ps(a.alpha), _mm256_set1_ps(a.beta), \
    MASKED, mask, yv, m, rows, cols, out_w, bias, residual, ld_residual, y, ldy)

/// The activation chosen per call, so the transforms are not copied once per activation.
PW_AVX2 static void wino_epilogue_avx2(pw_activation a, int masked, __m256i mask, const __m256 *yv, int m,
                                       size_t rows, size_t cols, size_t out_w, const float *bias,
                                       const float *residual, size_t ld_residual, float *y, size_t ldy) {
    if (masked) PW_SWITCH_ACTIVATION(a.kind, WINO_EPILOGUE_AVX2_CASE, 1);
    else PW_SWITCH_ACTIVATION(a.kind, WINO_EPILOGUE_AVX2_CASE, 0);
}

#define WINO_OUTPUT_VECTOR_AVX2(MASKED, MASK) do { \
        __m256 yv[WINO_MAX_M * WINO_MAX_M]; \
        wino_output_vector_avx2(m, MASKED, MASK, mt + c, m_stride, yv); \
        wino_epilogue_avx2(act, MASKED, MASK, yv, m, rows, cols, out_w, bias ? bias + c : NULL, \
                           residual ? residual + pixel0 * ld_residual + c : NULL, ld_residual, \
                           y + pixel0 * ldy + c, ldy); \
    } while (0)

PW_AVX2 PW_INLINE void wino_output_avx2_m(WINO_OUTPUT_PARAMETERS) {
    __m256i all = _mm256_set1_epi32(-1), tail = pw_mask8(cout % 8);
    WINO_TILE_LOOP(
        WINO_OUTPUT_TILE_SETUP
        size_t c = 0;
        for (; c + 8 <= cout; c += 8) WINO_OUTPUT_VECTOR_AVX2(0, all);
        if (c < cout) WINO_OUTPUT_VECTOR_AVX2(1, tail);
    )
}

PW_AVX2 static void wino_output_avx2(WINO_OUTPUT_PARAMETERS) {
    if (m == 2) wino_output_avx2_m(2, mm, m_stride, ldm, cout, tiles_h, tiles_w, out_h, out_w, tile_begin,
                                   tile_end, bias, residual, ld_residual, act, y, ldy);
    else if (m == 4) wino_output_avx2_m(4, mm, m_stride, ldm, cout, tiles_h, tiles_w, out_h, out_w, tile_begin,
                                        tile_end, bias, residual, ld_residual, act, y, ldy);
    else wino_output_avx2_m(6, mm, m_stride, ldm, cout, tiles_h, tiles_w, out_h, out_w, tile_begin,
                            tile_end, bias, residual, ld_residual, act, y, ldy);
}

// MARK: AVX-512: one vector of 16 channels at a time, masked loads and stores for the tail

PW_AVX512 PW_INLINE __m512 v16_add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
PW_AVX512 PW_INLINE __m512 v16_sub(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); }
PW_AVX512 PW_INLINE __m512 v16_mul(__m512 a, float k) { return _mm512_mul_ps(a, _mm512_set1_ps(k)); }
PW_AVX512 PW_INLINE __m512 v16_fma(__m512 a, float k, __m512 b) { return _mm512_fmadd_ps(a, _mm512_set1_ps(k), b); }
WINO_DEFINE_1D(v16, __m512, PW_AVX512)

PW_AVX512 PW_INLINE void wino_input_vector_avx512(int m, int border, __mmask16 mask, const float *img,
                                                  ptrdiff_t ih0, ptrdiff_t iw0, size_t width, size_t channels,
                                                  int k0, int k1, int j0, int j1, float *vt, size_t v_stride) {
    const int alpha = m + 2;
    const size_t rs = width * channels;
    __m512 t[WINO_MAX_ALPHA][WINO_MAX_ALPHA];
    WINO_UNROLL for (int j = 0; j < alpha; j++) {
        __m512 d[WINO_MAX_ALPHA], r[WINO_MAX_ALPHA];
        WINO_UNROLL for (int k = 0; k < alpha; k++) {
            if (border && !(k >= k0 && k < k1 && j >= j0 && j < j1)) d[k] = _mm512_setzero_ps();
            else d[k] = _mm512_maskz_loadu_ps(mask, img + (size_t)(ih0 + k) * rs + (size_t)(iw0 + j) * channels);
        }
        wino_in_v16(m, d, r);
        WINO_UNROLL for (int i = 0; i < alpha; i++) t[i][j] = r[i];
    }
    WINO_UNROLL for (int i = 0; i < alpha; i++) {
        __m512 r[WINO_MAX_ALPHA];
        wino_in_v16(m, t[i], r);
        WINO_UNROLL for (int j = 0; j < alpha; j++) _mm512_mask_storeu_ps(vt + (size_t)(i * alpha + j) * v_stride, mask, r[j]);
    }
}

#define WINO_INPUT_VECTOR_AVX512(BORDER, MASK) \
    wino_input_vector_avx512(m, BORDER, MASK, img + c, ih0, iw0, width, channels, k0, k1, j0, j1, vt + c, v_stride)

PW_AVX512 PW_INLINE void wino_input_avx512_m(WINO_INPUT_PARAMETERS) {
    __mmask16 all = (__mmask16)0xFFFF, tail = pw_mask16(channels % 16);
    WINO_TILE_LOOP(
        WINO_INPUT_TILE_SETUP
        for (size_t c = 0; c < channels; c += 16) {
            __mmask16 k = c + 16 <= channels ? all : tail;
            if (interior) WINO_INPUT_VECTOR_AVX512(0, k);
            else WINO_INPUT_VECTOR_AVX512(1, k);
        }
    )
}

PW_AVX512 static void wino_input_avx512(WINO_INPUT_PARAMETERS) {
    if (m == 2) wino_input_avx512_m(2, x, height, width, channels, tiles_h, tiles_w, pad_top, pad_left,
                                    tile_begin, tile_end, v, v_stride, ldv);
    else if (m == 4) wino_input_avx512_m(4, x, height, width, channels, tiles_h, tiles_w, pad_top, pad_left,
                                         tile_begin, tile_end, v, v_stride, ldv);
    else wino_input_avx512_m(6, x, height, width, channels, tiles_h, tiles_w, pad_top, pad_left,
                             tile_begin, tile_end, v, v_stride, ldv);
}

PW_AVX512 PW_INLINE void wino_output_vector_avx512(int m, __mmask16 mask, const float *mt, size_t m_stride, __m512 *yv) {
    const int alpha = m + 2;
    __m512 t[WINO_MAX_ALPHA][WINO_MAX_M];
    WINO_UNROLL for (int i = 0; i < alpha; i++) {
        __m512 d[WINO_MAX_ALPHA], r[WINO_MAX_ALPHA];
        WINO_UNROLL for (int j = 0; j < alpha; j++) d[j] = _mm512_maskz_loadu_ps(mask, mt + (size_t)(i * alpha + j) * m_stride);
        wino_out_v16(m, d, r);
        WINO_UNROLL for (int q = 0; q < m; q++) t[i][q] = r[q];
    }
    WINO_UNROLL for (int q = 0; q < m; q++) {
        __m512 d[WINO_MAX_ALPHA], r[WINO_MAX_ALPHA];
        WINO_UNROLL for (int i = 0; i < alpha; i++) d[i] = t[i][q];
        wino_out_v16(m, d, r);
        WINO_UNROLL for (int p = 0; p < m; p++) yv[p * m + q] = r[p];
    }
}

PW_AVX512 PW_INLINE void wino_epilogue_avx512_k(pw_activation_kind kind, __m512 va, __m512 vb, __mmask16 mask,
                                                const __m512 *yv, int m, size_t rows, size_t cols, size_t out_w,
                                                const float *bias, const float *residual, size_t ld_residual,
                                                float *y, size_t ldy) {
    __m512 b = bias ? _mm512_maskz_loadu_ps(mask, bias) : _mm512_setzero_ps();
    for (size_t p = 0; p < rows; p++)
        for (size_t q = 0; q < cols; q++) {
            size_t pixel = p * out_w + q;
            __m512 s = _mm512_add_ps(yv[p * (size_t)m + q], b);
            if (residual) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mask, residual + pixel * ld_residual));
            _mm512_mask_storeu_ps(y + pixel * ldy, mask, pw_act16(s, kind, va, vb));
        }
}

#define WINO_EPILOGUE_AVX512_CASE(K, ARG) wino_epilogue_avx512_k(K, _mm512_set1_ps(a.alpha), \
    _mm512_set1_ps(a.beta), mask, yv, m, rows, cols, out_w, bias, residual, ld_residual, y, ldy)

PW_AVX512 static void wino_epilogue_avx512(pw_activation a, __mmask16 mask, const __m512 *yv, int m,
                                           size_t rows, size_t cols, size_t out_w, const float *bias,
                                           const float *residual, size_t ld_residual, float *y, size_t ldy) {
    PW_SWITCH_ACTIVATION(a.kind, WINO_EPILOGUE_AVX512_CASE, 0);
}

PW_AVX512 PW_INLINE void wino_output_avx512_m(WINO_OUTPUT_PARAMETERS) {
    __mmask16 all = (__mmask16)0xFFFF, tail = pw_mask16(cout % 16);
    WINO_TILE_LOOP(
        WINO_OUTPUT_TILE_SETUP
        for (size_t c = 0; c < cout; c += 16) {
            __mmask16 k = c + 16 <= cout ? all : tail;
            __m512 yv[WINO_MAX_M * WINO_MAX_M];
            wino_output_vector_avx512(m, k, mt + c, m_stride, yv);
            wino_epilogue_avx512(act, k, yv, m, rows, cols, out_w, bias ? bias + c : NULL,
                                 residual ? residual + pixel0 * ld_residual + c : NULL, ld_residual,
                                 y + pixel0 * ldy + c, ldy);
        }
    )
}

PW_AVX512 static void wino_output_avx512(WINO_OUTPUT_PARAMETERS) {
    if (m == 2) wino_output_avx512_m(2, mm, m_stride, ldm, cout, tiles_h, tiles_w, out_h, out_w, tile_begin,
                                     tile_end, bias, residual, ld_residual, act, y, ldy);
    else if (m == 4) wino_output_avx512_m(4, mm, m_stride, ldm, cout, tiles_h, tiles_w, out_h, out_w, tile_begin,
                                          tile_end, bias, residual, ld_residual, act, y, ldy);
    else wino_output_avx512_m(6, mm, m_stride, ldm, cout, tiles_h, tiles_w, out_h, out_w, tile_begin,
                              tile_end, bias, residual, ld_residual, act, y, ldy);
}

#endif  // PW_X86

// MARK: Public entry points

void pw_winograd_input_transform(pw_isa isa, int m, const float *x, size_t height, size_t width, size_t channels,
                                 size_t tiles_h, size_t tiles_w, size_t pad_top, size_t pad_left,
                                 size_t tile_begin, size_t tile_end, float *v, size_t v_stride, size_t ldv) {
    if ((m != 2 && m != 4 && m != 6) || channels == 0 || tiles_h == 0 || tiles_w == 0 || tile_end <= tile_begin) return;
#if PW_X86
    if (isa == PW_ISA_AVX512) { wino_input_avx512(WINO_INPUT_ARGUMENTS); return; }
    if (isa == PW_ISA_AVX2) { wino_input_avx2(WINO_INPUT_ARGUMENTS); return; }
#else
    (void)isa;
#endif
    wino_input_portable(WINO_INPUT_ARGUMENTS);
}

void pw_winograd_output_transform(pw_isa isa, int m, const float *mm, size_t m_stride, size_t ldm, size_t cout,
                                  size_t tiles_h, size_t tiles_w, size_t out_h, size_t out_w,
                                  size_t tile_begin, size_t tile_end, const float *bias,
                                  const float *residual, size_t ld_residual, pw_activation act,
                                  float *y, size_t ldy) {
    if ((m != 2 && m != 4 && m != 6) || cout == 0 || tiles_h == 0 || tiles_w == 0 || tile_end <= tile_begin) return;
#if PW_X86
    if (isa == PW_ISA_AVX512) { wino_output_avx512(WINO_OUTPUT_ARGUMENTS); return; }
    if (isa == PW_ISA_AVX2) { wino_output_avx2(WINO_OUTPUT_ARGUMENTS); return; }
#else
    (void)isa;
#endif
    wino_output_portable(WINO_OUTPUT_ARGUMENTS);
}
