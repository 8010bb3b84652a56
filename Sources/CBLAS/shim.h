// The one C header Pointwise sees. Swift code calls these only through
// Sources/Pointwise/BLAS/CBLASCalls.swift.
#ifndef POINTWISE_CBLAS_SHIM_H
#define POINTWISE_CBLAS_SHIM_H

#include <cblas.h>
#include <lapacke.h>

// `cblas.h` is a Debian alternatives link that another BLAS can take over, so
// the OpenBLAS extensions Pointwise uses are declared here rather than taken
// from OpenBLAS's header. They exist in every OpenBLAS build; the
// DYNAMIC_ARCH-only `gotoblas_dynamic_*` entry points are looked up at run
// time with dlsym instead (see BLASRuntime.swift).
char *openblas_get_config(void);
char *openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);

// `lapack_int` is a macro (int32_t, or int64_t in ILP64 builds), invisible to Swift: name it.
typedef lapack_int pointwise_lapack_int;

#endif
