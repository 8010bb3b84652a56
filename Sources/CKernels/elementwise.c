// Element-wise binary operators with broadcasting (pw_binary) and the per-channel affine map
// (pw_channel_affine, which is activation.c's row map with scale and shift).
//
// pw_binary's kernels are specialised at compile time on the operator and on which operand is
// broadcast, and, for the common same-shape case (both steps 1: residual adds, per-channel operands),
// on the activation too, fused into the same pass. The broadcast cases with an activation run in
// tiles of about PW_BINARY_TILE values: the operator pass writes a tile of y, then the activation
// pass rewrites it while it is still in L1.
#include "isa.h"

#define PW_BINARY_TILE 2048

#define BINARY_TILE_PARAMETERS \
    const float *a, size_t lda, const float *b, size_t ldb, float *y, size_t ldy, size_t rows, size_t columns
#define BINARY_TILE_ARGUMENTS a, lda, b, ldb, y, ldy, rows, columns

// The 16 specialisations: code = op·4 + a_step·2 + b_step; CALL(OP, SA, SB) expands to a case.
#define BINARY_CASES(CALL) \
    CALL(PW_ADD, 1, 1) CALL(PW_ADD, 1, 0) CALL(PW_ADD, 0, 1) CALL(PW_ADD, 0, 0) \
    CALL(PW_SUB, 1, 1) CALL(PW_SUB, 1, 0) CALL(PW_SUB, 0, 1) CALL(PW_SUB, 0, 0) \
    CALL(PW_MUL, 1, 1) CALL(PW_MUL, 1, 0) CALL(PW_MUL, 0, 1) CALL(PW_MUL, 0, 0) \
    CALL(PW_DIV, 1, 1) CALL(PW_DIV, 1, 0) CALL(PW_DIV, 0, 1) CALL(PW_DIV, 0, 0)

// MARK: Portable

PW_INLINE float binop1(float a, float b, pw_binary_op op) {
    switch (op) {
    case PW_SUB: return a - b;
    case PW_MUL: return a * b;
    case PW_DIV: return a / b;
    default: return a + b;
    }
}

PW_INLINE void binary_tile_portable_impl(pw_binary_op op, int sa, int sb, pw_activation_kind kind, float alpha, float beta,
                                         BINARY_TILE_PARAMETERS) {
    for (size_t r = 0; r < rows; r++) {
        const float *ar = a + r * lda, *br = b + r * ldb;
        float *yr = y + r * ldy;
        float a0 = ar[0], b0 = br[0];  // the broadcast values, read before y (which may alias) is written
        // In place (y == a or y == b), loops through one pointer: the compiler's run-time overlap
        // check would fail for equal pointers and fall back to its scalar loop.
        if (sa && sb) {
            if (yr == ar) for (size_t c = 0; c < columns; c++) yr[c] = pw_act1(binop1(yr[c], br[c], op), kind, alpha, beta);
            else if (yr == br) for (size_t c = 0; c < columns; c++) yr[c] = pw_act1(binop1(ar[c], yr[c], op), kind, alpha, beta);
            else for (size_t c = 0; c < columns; c++) yr[c] = pw_act1(binop1(ar[c], br[c], op), kind, alpha, beta);
        } else if (sa) {
            if (yr == ar) for (size_t c = 0; c < columns; c++) yr[c] = binop1(yr[c], b0, op);
            else for (size_t c = 0; c < columns; c++) yr[c] = binop1(ar[c], b0, op);
        } else if (sb) {
            if (yr == br) for (size_t c = 0; c < columns; c++) yr[c] = binop1(a0, yr[c], op);
            else for (size_t c = 0; c < columns; c++) yr[c] = binop1(a0, br[c], op);
        } else {
            float v = binop1(a0, b0, op);
            for (size_t c = 0; c < columns; c++) yr[c] = v;
        }
    }
}

#define BINARY_PORTABLE_FUSED(K, OP) binary_tile_portable_impl(OP, 1, 1, K, alpha, beta, BINARY_TILE_ARGUMENTS)
#define BINARY_PORTABLE_CASE(OP, SA, SB) \
    case (OP) * 4 + (SA) * 2 + (SB): \
        if ((SA) && (SB)) PW_SWITCH_ACTIVATION(act.kind, BINARY_PORTABLE_FUSED, OP); \
        else binary_tile_portable_impl(OP, SA, SB, PW_IDENTITY, 0, 0, BINARY_TILE_ARGUMENTS); \
        break;

// Applies `act` only when both steps are 1.
static void binary_tile_portable(int code, pw_activation act, BINARY_TILE_PARAMETERS) {
    float alpha = act.alpha, beta = act.beta;
    switch (code) { BINARY_CASES(BINARY_PORTABLE_CASE) default: break; }
}

#if PW_X86

// MARK: AVX2

PW_AVX2 PW_INLINE __m256 binop8(__m256 a, __m256 b, pw_binary_op op) {
    switch (op) {
    case PW_SUB: return _mm256_sub_ps(a, b);
    case PW_MUL: return _mm256_mul_ps(a, b);
    case PW_DIV: return _mm256_div_ps(a, b);
    default: return _mm256_add_ps(a, b);
    }
}

PW_AVX2 PW_INLINE void binary_tile_avx2_impl(pw_binary_op op, int sa, int sb, pw_activation_kind kind, float alpha, float beta,
                                             BINARY_TILE_PARAMETERS) {
    size_t tail = columns % 8;
    __m256i k = pw_mask8(tail);
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (size_t r = 0; r < rows; r++) {
        const float *ar = a + r * lda, *br = b + r * ldb;
        float *yr = y + r * ldy;
        __m256 a0 = _mm256_set1_ps(ar[0]), b0 = _mm256_set1_ps(br[0]);
        size_t c = 0;
        for (; c + 16 <= columns; c += 16) {
            __m256 x0 = binop8(sa ? _mm256_loadu_ps(ar + c) : a0, sb ? _mm256_loadu_ps(br + c) : b0, op);
            __m256 x1 = binop8(sa ? _mm256_loadu_ps(ar + c + 8) : a0, sb ? _mm256_loadu_ps(br + c + 8) : b0, op);
            _mm256_storeu_ps(yr + c, pw_act8(x0, kind, va, vb));
            _mm256_storeu_ps(yr + c + 8, pw_act8(x1, kind, va, vb));
        }
        if (c + 8 <= columns) {
            __m256 v = binop8(sa ? _mm256_loadu_ps(ar + c) : a0, sb ? _mm256_loadu_ps(br + c) : b0, op);
            _mm256_storeu_ps(yr + c, pw_act8(v, kind, va, vb));
            c += 8;
        }
        if (tail) {
            __m256 v = binop8(sa ? _mm256_maskload_ps(ar + c, k) : a0, sb ? _mm256_maskload_ps(br + c, k) : b0, op);
            _mm256_maskstore_ps(yr + c, k, pw_act8(v, kind, va, vb));
        }
    }
}

#define BINARY_AVX2_FUSED(K, OP) binary_tile_avx2_impl(OP, 1, 1, K, alpha, beta, BINARY_TILE_ARGUMENTS)
#define BINARY_AVX2_CASE(OP, SA, SB) \
    case (OP) * 4 + (SA) * 2 + (SB): \
        if ((SA) && (SB)) PW_SWITCH_ACTIVATION(act.kind, BINARY_AVX2_FUSED, OP); \
        else binary_tile_avx2_impl(OP, SA, SB, PW_IDENTITY, 0, 0, BINARY_TILE_ARGUMENTS); \
        break;

PW_AVX2 static void binary_tile_avx2(int code, pw_activation act, BINARY_TILE_PARAMETERS) {
    float alpha = act.alpha, beta = act.beta;
    switch (code) { BINARY_CASES(BINARY_AVX2_CASE) default: break; }
}

// MARK: AVX-512

PW_AVX512 PW_INLINE __m512 binop16(__m512 a, __m512 b, pw_binary_op op) {
    switch (op) {
    case PW_SUB: return _mm512_sub_ps(a, b);
    case PW_MUL: return _mm512_mul_ps(a, b);
    case PW_DIV: return _mm512_div_ps(a, b);
    default: return _mm512_add_ps(a, b);
    }
}

PW_AVX512 PW_INLINE void binary_tile_avx512_impl(pw_binary_op op, int sa, int sb, pw_activation_kind kind, float alpha, float beta,
                                                 BINARY_TILE_PARAMETERS) {
    size_t tail = columns % 16;
    __mmask16 k = pw_mask16(tail);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (size_t r = 0; r < rows; r++) {
        const float *ar = a + r * lda, *br = b + r * ldb;
        float *yr = y + r * ldy;
        __m512 a0 = _mm512_set1_ps(ar[0]), b0 = _mm512_set1_ps(br[0]);
        size_t c = 0;
        for (; c + 32 <= columns; c += 32) {
            __m512 x0 = binop16(sa ? _mm512_loadu_ps(ar + c) : a0, sb ? _mm512_loadu_ps(br + c) : b0, op);
            __m512 x1 = binop16(sa ? _mm512_loadu_ps(ar + c + 16) : a0, sb ? _mm512_loadu_ps(br + c + 16) : b0, op);
            _mm512_storeu_ps(yr + c, pw_act16(x0, kind, va, vb));
            _mm512_storeu_ps(yr + c + 16, pw_act16(x1, kind, va, vb));
        }
        if (c + 16 <= columns) {
            __m512 v = binop16(sa ? _mm512_loadu_ps(ar + c) : a0, sb ? _mm512_loadu_ps(br + c) : b0, op);
            _mm512_storeu_ps(yr + c, pw_act16(v, kind, va, vb));
            c += 16;
        }
        if (tail) {
            __m512 v = binop16(sa ? _mm512_maskz_loadu_ps(k, ar + c) : a0, sb ? _mm512_maskz_loadu_ps(k, br + c) : b0, op);
            _mm512_mask_storeu_ps(yr + c, k, pw_act16(v, kind, va, vb));
        }
    }
}

#define BINARY_AVX512_FUSED(K, OP) binary_tile_avx512_impl(OP, 1, 1, K, alpha, beta, BINARY_TILE_ARGUMENTS)
#define BINARY_AVX512_CASE(OP, SA, SB) \
    case (OP) * 4 + (SA) * 2 + (SB): \
        if ((SA) && (SB)) PW_SWITCH_ACTIVATION(act.kind, BINARY_AVX512_FUSED, OP); \
        else binary_tile_avx512_impl(OP, SA, SB, PW_IDENTITY, 0, 0, BINARY_TILE_ARGUMENTS); \
        break;

PW_AVX512 static void binary_tile_avx512(int code, pw_activation act, BINARY_TILE_PARAMETERS) {
    float alpha = act.alpha, beta = act.beta;
    switch (code) { BINARY_CASES(BINARY_AVX512_CASE) default: break; }
}

#endif  // PW_X86

// `act` is applied only when both steps are 1 (the fused case).
static void binary_tile(pw_isa isa, int code, pw_activation act, BINARY_TILE_PARAMETERS) {
#if PW_X86
    if (isa == PW_ISA_AVX512) { binary_tile_avx512(code, act, BINARY_TILE_ARGUMENTS); return; }
    if (isa == PW_ISA_AVX2) { binary_tile_avx2(code, act, BINARY_TILE_ARGUMENTS); return; }
#else
    (void)isa;
#endif
    binary_tile_portable(code, act, BINARY_TILE_ARGUMENTS);
}

void pw_binary(pw_isa isa, pw_binary_op op, size_t rows, size_t columns,
               const float *a, size_t lda, size_t a_step,
               const float *b, size_t ldb, size_t b_step,
               float *y, size_t ldy, pw_activation activation) {
    if (rows == 0 || columns == 0) return;
    int sa = a_step != 0, sb = b_step != 0;
    int code = ((int)op & 3) * 4 + sa * 2 + sb;
    if ((sa && sb) || activation.kind == PW_IDENTITY) {
        binary_tile(isa, code, activation, a, lda, b, ldb, y, ldy, rows, columns);
        return;
    }
    // A broadcast operand and an activation: tiles of whole rows when rows are short, of row pieces
    // when they are long.
    pw_activation identity = {PW_IDENTITY, 0.0f, 0.0f};
    size_t width = pw_min(columns, PW_BINARY_TILE);
    size_t tile_rows = columns >= PW_BINARY_TILE ? 1 : PW_BINARY_TILE / columns;
    for (size_t r = 0; r < rows; r += tile_rows) {
        size_t n = pw_min(tile_rows, rows - r);
        for (size_t c = 0; c < columns; c += width) {
            size_t w = pw_min(width, columns - c);
            float *tile = y + r * ldy + c;
            binary_tile(isa, code, identity, a + r * lda + c * (size_t)sa, lda, b + r * ldb + c * (size_t)sb, ldb, tile, ldy, n, w);
            pw_map_rows(isa, tile, ldy, tile, ldy, n, w, NULL, NULL, PW_MAP_COPY, activation);
        }
    }
}

void pw_channel_affine(pw_isa isa, size_t rows, size_t channels, const float *x, size_t ldx,
                       const float *scale, const float *shift, float *y, size_t ldy, pw_activation activation) {
    pw_map_mode mode = scale ? (shift ? PW_MAP_AFFINE : PW_MAP_SCALE) : (shift ? PW_MAP_SHIFT : PW_MAP_COPY);
    pw_map_rows(isa, x, ldx, y, ldy, rows, channels, scale, shift, mode, activation);
}
