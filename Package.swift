// swift-tools-version:6.1
import PackageDescription

// One SwiftPM target per handler plugin, each in plugins/<Name>/ with a `<Name>Plugin` type,
// seeing only the domain and the runtime's plugin protocol (docs/contract.md §1). A name here is a
// command's whole registration: the worker's list of plugins is generated from it.
let pluginNames = ["UpdateOrders", "UpdatePayments", "GetPayments", "DeletePayments", "CancelPayment"]

// The plugin guide's example (docs/plugins.md), registered the same way but for the tests
// only: the integration tests' list of plugins is generated from these names and the above.
let examplePluginNames = ["SetComments"]

func pluginTarget(_ name: String, in folder: String) -> Target {
    .target(
        name: "\(name)Plugin",
        dependencies: ["PaymentsDomain", .target(name: "PluginProtocol")],
        path: "\(folder)/\(name)"
    )
}

let pluginTargets = pluginNames.map { pluginTarget($0, in: "plugins") }
    + examplePluginNames.map { pluginTarget($0, in: "Tests/plugins") }

let package = Package(
    name: "payment-worker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "payment-worker", targets: ["PaymentWorker"]),
        .executable(name: "payment-bench", targets: ["PaymentBenchmarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        // Only for the benchmark that compares our CSV reader with a library's.
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: [
        // librdkafka from Debian's librdkafka-dev, found through pkg-config.
        .systemLibrary(
            name: "CRDKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // The Kafka layer: knows librdkafka, never payments.
        .target(
            name: "Kafka",
            dependencies: [
                "CRDKafka",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The payments domain: no Kafka, nothing project-specific.
        .target(
            name: "PaymentsDomain",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // SQLite and PostgreSQL implementations of the domain's store protocol.
        .target(
            name: "PaymentStores",
            dependencies: [
                "PaymentsDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for binding payment rows on the bulk-upsert path.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The status report a worker publishes and the operator console reads.
        .target(name: "StatusReport"),
        // What a plugin may see of the runtime: the protocol and its context types.
        .target(name: "PluginProtocol", dependencies: ["PaymentsDomain"]),
        // Envelope, registry, dispatch, idempotency, retries, offsets, shutdown, metrics and
        // the operations endpoint (metrics, health).
        .target(
            name: "WorkerRuntime",
            dependencies: [
                "Kafka",
                "PaymentsDomain",
                "PluginProtocol",
                "StatusReport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The seeds' HTTP APIs in front of Kafka (docs/contract.md §8): Kafka layer, domain codes only.
        .target(
            name: "Gateway",
            dependencies: [
                "Kafka",
                "PaymentsDomain",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The operator console (docs/contract.md §9): Kafka layer and the status report's types only.
        .target(
            name: "Console",
            dependencies: [
                "Kafka",
                "StatusReport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "PaymentWorker",
            dependencies: [
                "Console",
                "Gateway",
                "Kafka",
                "PaymentsDomain",
                "PaymentStores",
                "WorkerRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ] + pluginNames.map { .target(name: "\($0)Plugin") },
            plugins: ["RegisterCommandPlugins"]
        ),
        // Generates the worker's `CommandPlugins.all` from its plugin dependencies.
        .plugin(
            name: "RegisterCommandPlugins",
            capability: .buildTool(),
            dependencies: ["CommandPluginList"],
            path: "Sources/RegisterCommandPlugins"
        ),
        .executableTarget(name: "CommandPluginList"),
        // Throughput figures for the README: `ops/bench.sh`.
        .executableTarget(
            name: "PaymentBenchmarks",
            dependencies: [
                // Its bounded reads, for the DLQ page benchmark.
                "Console",
                "Kafka",
                "PaymentsDomain",
                "PaymentStores",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CSV", package: "CSV.swift"),
                // The HTTP floor under the gateway.
                .product(name: "Hummingbird", package: "hummingbird"),
                // Its strict JSON reader, for the decode benchmark.
                "CancelPaymentPlugin",
                // Its store write, for the store's own upsert figures.
                "UpdatePaymentsPlugin",
            ]
        ),
        .testTarget(
            name: "UnitTests",
            dependencies: [
                "Console", "Gateway", "Kafka", "PaymentsDomain", "PaymentStores", "PluginProtocol", "StatusReport", "WorkerRuntime",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ] + pluginNames.map { .target(name: "\($0)Plugin") }
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Kafka",
                "PaymentsDomain",
                "PaymentStores",
                "StatusReport",
                "WorkerRuntime",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // Built with the tests so that they can drive the real binary.
                "PaymentWorker",
                .product(name: "Logging", package: "swift-log"),
            ] + (pluginNames + examplePluginNames).map { .target(name: "\($0)Plugin") },
            // Its `CommandPlugins.all`: the worker's plugins and the example.
            plugins: ["RegisterCommandPlugins"]
        ),
    ] + pluginTargets,
    swiftLanguageModes: [.v6]
)
