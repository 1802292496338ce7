import Foundation
import Synchronization

/// A real process started by a test: its output is collected as it comes, and its exit can
/// be awaited with a deadline.
final class ChildProcess: Sendable {
    private let process: Process
    private let stdoutChunks = Recorder<Data>()
    private let stderrChunks = Recorder<Data>()
    private let exitStatus = Recorder<Int32>()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    /// One entry for each output pipe read to its end.
    private let outputEnded = Recorder<Bool>()

    init(_ executable: URL, _ arguments: [String], standardInput: Data? = nil, environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        let stdinPipe = Pipe()
        process.standardInput = stdinPipe
        let exitStatus = self.exitStatus
        process.terminationHandler = { exitStatus.append($0.terminationStatus) }
        self.process = process
        try process.run()
        // Each pipe is read by a thread of its own until end of file, with blocking reads:
        // not `readabilityHandler`, whose dispatch sources, set up and torn down for every
        // process the tests start, can corrupt libdispatch's epoll state on Linux and crash
        // its event loop (`_dispatch_event_loop_drain`) in whatever test runs then
        // (swift-corelibs-libdispatch #949).
        for (pipe, recorder) in [(stdoutPipe, stdoutChunks), (stderrPipe, stderrChunks)] {
            let handle = pipe.fileHandleForReading
            let ended = outputEnded
            Thread.detachNewThread {
                while case let data = handle.availableData, !data.isEmpty { recorder.append(data) }
                ended.append(true)
            }
        }
        if let standardInput { stdinPipe.fileHandleForWriting.write(standardInput) }
        try stdinPipe.fileHandleForWriting.close()
    }

    static func which(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    var standardOutput: String { String(decoding: stdoutChunks.items.reduce(Data(), +), as: UTF8.self) }
    var standardError: String { String(decoding: stderrChunks.items.reduce(Data(), +), as: UTF8.self) }

    /// The first line the process writes to standard output.
    func firstLine(timeout: Duration = .seconds(30)) async throws -> String {
        let chunks = try await stdoutChunks.wait(for: "a first line on standard output", timeout: timeout) {
            $0.contains { $0.contains(UInt8(ascii: "\n")) }
        }
        let text = String(decoding: chunks.reduce(Data(), +), as: UTF8.self)
        return String(text.prefix { $0 != "\n" })
    }

    /// Waits until standard error has said `text`: how a test knows a process is ready.
    func waitForStandardError(containing text: String, timeout: Duration = .seconds(60)) async throws {
        try await stderrChunks.wait(for: "'\(text)' on standard error", timeout: timeout) { chunks in
            String(decoding: chunks.reduce(Data(), +), as: UTF8.self).contains(text)
        }
    }

    /// Waits until standard output holds every one of `texts`.
    func waitForStandardOutput(containing texts: [String], timeout: Duration = .seconds(30)) async throws {
        try await stdoutChunks.wait(for: "\(texts) on standard output", timeout: timeout) { chunks in
            let output = String(decoding: chunks.reduce(Data(), +), as: UTF8.self)
            return texts.allSatisfy(output.contains)
        }
    }

    var isRunning: Bool { process.isRunning }

    /// Signals the process if it still runs: a reaped process's id may belong to another.
    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to end and returns its exit status.
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let status = try await exitStatus.wait(forCount: 1, "the exit of \(process.executableURL?.lastPathComponent ?? "a process")", timeout: timeout)[0]
        // The output written before the exit is read once both pipes are at their end (a
        // grandchild still holding one is not waited for past a few seconds).
        _ = try? await outputEnded.wait(forCount: 2, "the ends of the output", timeout: .seconds(5))
        return status
    }

    var pid: Int32 { process.processIdentifier }

    /// Ends the process if it still runs; for cleanup after a failed expectation.
    func kill9IfRunning() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

enum TestBinaries {
    /// The payment-worker executable, built into the same folder as the test bundle.
    static var paymentWorker: URL {
        if let path = ProcessInfo.processInfo.environment["PAYMENT_WORKER_BIN"] {
            return URL(fileURLWithPath: path)
        }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        // The bundle may be a directory (payment-workerPackageTests.xctest/...) on some platforms.
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("payment-worker")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/payment-worker")
    }
}
