import PaymentsDomain

/// A store whose every call answers within `timeout`: a call that does not (a lost
/// connection, a pool waiting for one, a file lock held forever) fails as the store being
/// unavailable, which the worker waits out rather than hanging on it (docs/contract.md §5).
struct StoreWithDeadline: PaymentStore {
    let store: any PaymentStore
    let timeout: Duration

    private func call<Result: Sendable>(_ what: String, _ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let timeout = self.timeout
        return try await withDeadline(timeout, onTimeout: {
            StoreError("the store did not answer \(what) within \(timeout)", kind: .unavailable)
        }, operation)
    }

    func execute(_ commands: [StoreCommand]) async throws -> [StoreOutcome] {
        try await call("a transaction") { try await store.execute(commands) }
    }

    func read(_ request: DataRequest, account: String) async throws -> FetchedData {
        try await call("a query") { try await store.read(request, account: account) }
    }

    func idempotencyRecord(account: String, key: String) async throws -> IdempotencyRecord? {
        try await call("a look-up") { try await store.idempotencyRecord(account: account, key: key) }
    }

    func purgeIdempotencyRecords(createdBefore epochSeconds: Int64) async throws -> Int {
        try await call("a purge") { try await store.purgeIdempotencyRecords(createdBefore: epochSeconds) }
    }

    func provision(order: Order, account: String) async throws {
        try await call("provisioning") { try await store.provision(order: order, account: account) }
    }

    func ping() async throws {
        try await call("a ping") { try await store.ping() }
    }

    func close() async throws {
        try await store.close()
    }
}
