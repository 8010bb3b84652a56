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
        .target(
            name: "Pointwise",
            dependencies: ["CBLAS"]
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
