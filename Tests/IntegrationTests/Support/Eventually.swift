/// Polls `probe` until it gives a value, with a deadline: the one way the tests wait for
/// something that happens in another process (never a fixed sleep). A probe that throws
/// counts as "not yet".
func eventually<Value>(_ what: String, timeout: Duration = .seconds(30), _ probe: () async throws -> Value?) async throws -> Value {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if let value = try? await probe() { return value }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw EventuallyTimedOut(what: what, timeout: timeout)
}

struct EventuallyTimedOut: Error, CustomStringConvertible {
    let what: String
    let timeout: Duration
    var description: String { "\(what) did not happen within \(timeout)" }
}
