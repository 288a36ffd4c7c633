// swift-tools-version:6.1
import PackageDescription

// Layers, lowest first; a module only knows the ones above it in this list.
//   SCIMJSON       JSON value type (pure, Foundation only)
//   SCIMModel      SCIM protocol model: paths, filters, PATCH, errors, schemas (pure)
//   SCIMMapping    mapping engine (pure)
//   SCIMDProtocol  JSON-RPC 2.0 messages + every RPC method's typed params/results (shared by daemon and client)
//   SCIMDStore     SQLite persistence (GRDB)
//   SCIMDService   the daemon's state and behaviour, no transport
//   SCIMDServer    JSON-RPC over a Unix socket, the optional SCIM HTTP listener, systemd integration
//   SCIMDClient    async Swift client over the same socket
//   scimd, scimctl thin executables
let package = Package(
    name: "scimd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "scimd", targets: ["scimd"]),
        .executable(name: "scimctl", targets: ["scimctl"]),
        .library(name: "SCIMDClient", targets: ["SCIMDClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .target(name: "SCIMJSON"),
        .target(name: "SCIMModel", dependencies: ["SCIMJSON"]),
        .target(name: "SCIMMapping", dependencies: ["SCIMJSON", "SCIMModel"]),
        .target(name: "SCIMDProtocol", dependencies: ["SCIMJSON"]),
        .target(
            name: "SCIMDFraming",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")]
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // glibc's <malloc.h> (malloc_trim: evicted connections' memory handed back to the system).
        .systemLibrary(name: "CMalloc"),
        // The compiler's prefetch hint (scans over the resources in memory).
        .systemLibrary(name: "CPrefetch"),
        .target(
            name: "SCIMDStore",
            dependencies: [
                "SCIMJSON",
                "CMalloc",
                "CPrefetch",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "SCIMDService",
            dependencies: [
                "SCIMJSON", "SCIMModel", "SCIMMapping", "SCIMDProtocol", "SCIMDStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            // A member of a module this one does not import is an error: GRDB stays behind SCIMDStore.
            swiftSettings: [.enableUpcomingFeature("MemberImportVisibility")]
        ),
        .target(
            name: "SCIMDServer",
            dependencies: [
                "SCIMJSON", "SCIMModel", "SCIMDProtocol", "SCIMDService", "SCIMDDashboard", "SCIMDFraming", "CSystemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The operators' web dashboard: routes, sessions, views (mustache templates compiled into
        // the module). No sockets: SCIMDServer's DashboardServer hands it each HTTP request.
        .target(
            name: "SCIMDDashboard",
            dependencies: [
                "SCIMJSON", "SCIMModel", "SCIMMapping", "SCIMDProtocol", "SCIMDService",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "SCIMDClient",
            dependencies: [
                "SCIMJSON", "SCIMDProtocol", "SCIMDFraming",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "scimd",
            dependencies: [
                "SCIMDServer", "SCIMDService", "SCIMDStore", "SCIMDDashboard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "SCIMDConsole", dependencies: ["SCIMDProtocol", "SCIMJSON"]),
        .executableTarget(
            name: "scimctl",
            dependencies: [
                "SCIMDClient", "SCIMDProtocol", "SCIMJSON", "SCIMDConsole",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "scimd-bench",
            dependencies: [
                "SCIMDClient", "SCIMDProtocol", "SCIMJSON", "HTTPTestClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SCIMModelTests",
            dependencies: [
                "SCIMJSON", "SCIMModel",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        // The hand-written JSON parser and serializer on their own: numbers, escapes, UTF-8, depth, order.
        .testTarget(name: "SCIMJSONTests", dependencies: ["SCIMJSON"]),
        .testTarget(name: "SCIMMappingTests", dependencies: ["SCIMJSON", "SCIMModel", "SCIMMapping"]),
        .testTarget(name: "SCIMDProtocolTests", dependencies: ["SCIMJSON", "SCIMDProtocol"]),
        // The dashboard's pages, forms, sessions and CSRF checks through Dashboard.respond (no socket).
        .testTarget(
            name: "SCIMDDashboardTests",
            dependencies: ["SCIMJSON", "SCIMDProtocol", "SCIMDService", "SCIMDStore", "SCIMDDashboard", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "SCIMDConsoleTests", dependencies: ["SCIMJSON", "SCIMDProtocol", "SCIMDConsole"]),
        // The client against sockets the tests control (silent, absent); the daemon is in EndToEndTests.
        .testTarget(
            name: "SCIMDClientTests",
            dependencies: ["SCIMDClient", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
        .testTarget(
            name: "SCIMDServiceTests",
            dependencies: ["SCIMJSON", "SCIMModel", "SCIMDProtocol", "SCIMDStore", "SCIMDService", "SCIMDClient",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "SCIMDServerTests",
            dependencies: ["SCIMJSON", "SCIMModel", "SCIMDProtocol", "SCIMDServer", "SCIMDService", "SCIMDStore", "SCIMDFraming",
                .product(name: "Logging", package: "swift-log"),
                "HTTPTestClient", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The fuzz targets' checks (Fuzz/Targets), shared by libFuzzer and the test suite; the
        // fuzzer executable (built with -sanitize=fuzzer by scripts/fuzz; an ordinary build gives
        // a replayer); and the tests that replay the committed corpus (Fuzz/corpus) through them.
        .target(
            name: "SCIMDFuzzTargets",
            dependencies: [
                "SCIMJSON", "SCIMModel", "SCIMMapping", "SCIMDProtocol", "SCIMDFraming",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Fuzz/Targets"
        ),
        .executableTarget(name: "scimd-fuzz", dependencies: ["SCIMDFuzzTargets"], path: "Fuzz/Driver"),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["SCIMDFuzzTargets"]),
        // A small blocking HTTP/1.1 client for tests: raw socket writes, NIO's encoder and decoder.
        .target(
            name: "HTTPTestClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/HTTPTestClient"
        ),
        .testTarget(
            name: "EndToEndTests",
            // The executables are dependencies so that `swift test` builds them before running.
            dependencies: [
                "SCIMJSON", "SCIMDProtocol", "SCIMDClient", "scimd", "scimctl", "HTTPTestClient",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
