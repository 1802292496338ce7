// swift-tools-version:6.1
import PackageDescription

// One SwiftPM target per handler plugin, each in plugins/<Name>/, seeing only the domain
// and the runtime's plugin protocol (DESIGN.md §1).
let pluginNames = ["UpdateOrders", "UpdatePayments", "GetPayments", "DeletePayments", "CancelPayment"]

let pluginTargets: [Target] = pluginNames.map { name in
    .target(
        name: "\(name)Plugin",
        dependencies: ["PaymentsDomain", .target(name: "PluginProtocol")],
        path: "plugins/\(name)"
    )
}

let package = Package(
    name: "payment-worker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "payment-worker", targets: ["PaymentWorker"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
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
        .target(name: "PaymentsDomain"),
        // SQLite and PostgreSQL implementations of the domain's store protocol.
        .target(name: "PaymentStores", dependencies: ["PaymentsDomain"]),
        // What a plugin may see of the runtime: the protocol and its context types.
        .target(name: "PluginProtocol", dependencies: ["PaymentsDomain"]),
        // Envelope, registry, dispatch, idempotency, retries, offsets, shutdown.
        .target(
            name: "WorkerRuntime",
            dependencies: [
                "Kafka",
                "PaymentsDomain",
                "PluginProtocol",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "PaymentWorker",
            dependencies: [
                "Kafka",
                "PaymentsDomain",
                "PaymentStores",
                "WorkerRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ] + pluginNames.map { .target(name: "\($0)Plugin") }
        ),
        .testTarget(
            name: "UnitTests",
            dependencies: ["Kafka", "PaymentsDomain", "PaymentStores", "PluginProtocol", "WorkerRuntime"]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Kafka",
                // Built with the tests so that they can drive the real binary.
                "PaymentWorker",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ] + pluginTargets,
    swiftLanguageModes: [.v6]
)
