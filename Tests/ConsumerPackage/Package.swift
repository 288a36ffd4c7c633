// swift-tools-version:6.1
import PackageDescription

// A package outside scimd that uses its `SCIMDClient` product the way an application would: its
// program is the README's "Using the Swift client" example, and it imports nothing but
// `SCIMDClient`. scripts/test builds it (scratch path .build-consumer) so that a product that
// stops exporting what its API needs fails CI. The explicit `name:` keeps the product reference
// independent of the folder a clone is in (a path dependency's identity is its folder's name).
let package = Package(
    name: "scimd-consumer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "scimd", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "scimd-consumer",
            dependencies: [.product(name: "SCIMDClient", package: "scimd")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
