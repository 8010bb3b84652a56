// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Pointwise",
    products: [
        .library(name: "Pointwise", targets: ["Pointwise"]),
        .executable(name: "pointwise", targets: ["PointwiseCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // ONNX import: onnx.proto's messages (Sources/Pointwise/Importers/ONNX/Generated, made by
        // Scripts/generate-onnx-proto.sh).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // Counts heap allocations (LD_PRELOAD on Linux) for `pointwise allocations`.
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
    ],
    targets: [
        // Debian: libopenblas-dev + liblapacke-dev (Debian's OpenBLAS is built without LAPACKE).
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [
                .apt(["libopenblas-dev", "liblapacke-dev", "pkg-config"]),
                .brew(["openblas"]),
            ]
        ),
        // The C kernels (epilogue, element-wise, depthwise, pooling, LRN, softmax, transpose) compiled
        // for AVX-512, AVX2 and portable C and chosen at run time (Swift code is compiled for the
        // baseline ISA); the thread pool.
        .target(name: "CKernels"),
        .target(
            name: "Pointwise",
            dependencies: ["CBLAS", "CKernels", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .executableTarget(
            name: "PointwiseCLI",
            dependencies: [
                "Pointwise",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),
        .testTarget(
            name: "PointwiseTests",
            // PointwiseCLI: so the `pointwise` executable is built for the command-line tests.
            dependencies: ["Pointwise", "PointwiseCLI"],
            // Small PyTorch-made fixtures (single blocks), see Scripts/torch_reference.py --fixture.
            resources: [.copy("Fixtures")]
        ),
    ]
)
