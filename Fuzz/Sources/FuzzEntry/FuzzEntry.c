// Why this file exists: SwiftPM (tools version 5.5 and later) compiles an executable target's
// entry point as `<Module>_main` and links it with `--defsym main=<Module>_main`, so that tests
// can link the executable's module. A libFuzzer harness has no entry point of its own (it is
// compiled with -parse-as-library and only defines LLVMFuzzerTestOneInput), so that link fails
// with "undefined symbol FuzzNumpy_main". Each symbol below hands the process to libFuzzer's
// driver, exactly what libFuzzer's own main does. One per harness (each binary uses its own).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int runFuzzer(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}

int FuzzNumpy_main(int argc, char **argv) { return runFuzzer(argc, argv); }
int FuzzSafeTensors_main(int argc, char **argv) { return runFuzzer(argc, argv); }
int FuzzONNX_main(int argc, char **argv) { return runFuzzer(argc, argv); }
int FuzzGraph_main(int argc, char **argv) { return runFuzzer(argc, argv); }
