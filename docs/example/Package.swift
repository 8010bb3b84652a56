// swift-tools-version:6.1
// An application that depends on Pointwise. In your own package use
//     .package(url: "https://github.com/<owner>/pointwise", branch: "main")
// (or a version tag); here the dependency is the checkout two folders up.
import PackageDescription

let package = Package(
    name: "quickstart",
    dependencies: [
        .package(name: "Pointwise", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "quickstart",
            dependencies: [.product(name: "Pointwise", package: "Pointwise")]
        ),
    ]
)
