// swift-tools-version:6.1
// libFuzzer harnesses for Pointwise's readers, ONNX importer and graph engine: one executable per
// harness, each defining LLVMFuzzerTestOneInput and no main (libFuzzer's main runs them).
// Build and run them with Scripts/fuzz.sh, which passes
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// (a plain `swift build` links too, but without libFuzzer nothing runs the harnesses).
import Foundation
import PackageDescription

let harnesses = ["FuzzNumpy", "FuzzSafeTensors", "FuzzONNX", "FuzzGraph"]

// A path dependency's identity is its folder's name (whatever the clone is called), not the
// parent manifest's `name`.
let parent = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent
let pointwise = Target.Dependency.product(name: "Pointwise", package: parent)

let package = Package(
    name: "PointwiseFuzz",
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        // What the engine harnesses share: running a graph once on zero inputs, within bounds.
        .target(name: "FuzzSupport", dependencies: [pointwise]),
        // The `<Harness>_main` symbols SwiftPM links an executable's `main` to, handing over to
        // libFuzzer's driver (see FuzzEntry.c).
        .target(name: "FuzzEntry"),
    ] + harnesses.map { name in
        .executableTarget(
            name: name,
            dependencies: ["FuzzEntry", "FuzzSupport", pointwise]
        )
    }
)
