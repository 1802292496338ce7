import ArgumentParser
import Foundation
import Kafka
import Logging
import PaymentsDomain
import WorkerRuntime

/// `payment-worker send`: produces a command, waits for its reply, prints the reply body.
/// Exit status 0 for `ok`, 1 otherwise. A CSV of more than `--chunk-lines` lines goes as a
/// `ChunkedImport`.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send", abstract: "Send a command from FILE (or standard input) and print its reply.",
        discussion: """
            An UpdatePayments or UpdateOrders CSV of more than --chunk-lines lines is sent as \
            several commands of that many lines, in order under one message key, with a progress \
            bar on a terminal and a summary on standard error; the replies' rows are printed as \
            one CSV, numbered by line of the whole file.
            """)

    @Option(help: "UpdateOrders, UpdatePayments, GetPayments, DeletePayments or CancelPayment.")
    var command: String

    @Option var apiid: String?
    @Option var apikey: String?

    @Option(help: "Message key (use the OrderRef: commands with one key are handled in order).")
    var key: String?

    @Option(help: "Idempotency key (default: the message's position); chunk N of an import gets KEY/N.")
    var idempotencyKey: String?

    @Option(help: "Kafka bootstrap servers (PAYMENT_WORKER_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?

    @Option var commandsTopic = WorkerConfiguration.Topics().commands
    @Option var resultsTopic = WorkerConfiguration.Topics().results

    @Option(help: "Seconds to wait for a reply before giving up.")
    var timeout = 60

    @Option(help: "Lines per command when a CSV is sent in chunks.")
    var chunkLines = 1_000

    @Option(help: "Chunks sent ahead of their replies.")
    var inFlight = 8

    @Option(help: "Progress bar: auto (on a terminal), always or never.")
    var progress: ProgressMode = .auto

    enum ProgressMode: String, ExpressibleByArgument, Sendable {
        case auto, always, never
    }

    @Argument(help: "The body; standard input when absent.")
    var file: String?

    func validate() throws {
        guard chunkLines > 0 else { throw ValidationError("--chunk-lines must be at least 1") }
        guard inFlight > 0 else { throw ValidationError("--in-flight must be at least 1") }
        guard timeout > 0 else { throw ValidationError("--timeout must be at least 1 second") }
    }

    func run() async throws {
        PaymentWorkerCommand.bootstrapLogging(level: .warning)
        let bootstrap = try toolBootstrapServers(bootstrapServers)
        let body = try file.map(Self.contents(of:)) ?? Array(FileHandle.standardInput.readDataToEndOfFile())
        let sendId = UUID().uuidString
        let key = key ?? "send-\(sendId)"
        let maxChunkBytes = KafkaConfiguration(bootstrapServers: []).maxChunkBytes(keyBytes: key.utf8.count)
        let chunker = PaymentWorkerCommand.chunkedImportCommands.contains(command)
            ? try? CSVChunker(body, linesPerChunk: chunkLines, maxChunkBytes: maxChunkBytes) : nil
        if let chunker, chunker.chunkCount > 1, let idempotencyKey,
           idempotencyKey.utf8.count + 1 + String(chunker.chunkCount).utf8.count > 255 {
            throw ValidationError("--idempotency-key is too long to number \(chunker.chunkCount) chunks within 255 characters")
        }
        let exchange = try await CommandExchange(
            bootstrapServers: bootstrap, commandsTopic: commandsTopic, resultsTopic: resultsTopic, correlationPrefix: sendId)
        if let chunker, chunker.chunkCount > 1 {
            let showsProgress = progress == .always || (progress == .auto && isatty(STDERR_FILENO) == 1)
            let upload = ChunkedImport(
                command: command, credentials: credentials, key: key, idempotencyKey: idempotencyKey,
                inFlight: inFlight, timeout: .seconds(timeout), chunker: chunker)
            let stdout = FileHandle.standardOutput
            let summary = try await upload.run(through: exchange, progress: showsProgress ? SendProgress() : nil) { rows in
                stdout.write(Data(rows))
            }
            FileHandle.standardError.write(Data((summary.text + "\n").utf8))
            if !summary.allOK { throw ExitCode(1) }
        } else {
            try await sendOne(body, correlationId: sendId, through: exchange)
        }
    }

    /// The file's bytes, read straight into one array: a million-line import is 60 MB, and
    /// going through `Data` would hold it twice.
    static func contents(of path: String) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let size = Int(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        let descriptor = handle.fileDescriptor
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while count < size {
                let got = read(descriptor, buffer.baseAddress.map { $0 + count }, size - count)
                if got <= 0 {
                    failure = got < 0 ? errno : 0
                    break
                }
                count += got
            }
        }
        guard failure == 0 else { throw ValidationError("could not read \(path): \(String(cString: strerror(failure)))") }
        return bytes
    }

    private var credentials: [KafkaHeader] {
        [apiid.map { KafkaHeader(name: "apiid", string: $0) }, apikey.map { KafkaHeader(name: "apikey", string: $0) }].compactMap { $0 }
    }

    private func sendOne(_ body: [UInt8], correlationId: String, through exchange: CommandExchange) async throws {
        var headers = credentials + [KafkaHeader(name: "command", string: command), KafkaHeader(name: "correlation-id", string: correlationId)]
        if let idempotencyKey { headers.append(KafkaHeader(name: "idempotency-key", string: idempotencyKey)) }
        let message = KafkaProducerMessage(topic: commandsTopic, key: key.map { Array($0.utf8) }, value: body, headers: headers)
        let start = ContinuousClock.now
        let reply = try await exchange.withEvents { events -> KafkaConsumerMessage? in
            try await exchange.send([message])
            for await event in events {
                switch event {
                case .reply(let reply) where reply.headers.string(named: "correlation-id") == correlationId: return reply
                case .tick where ContinuousClock.now - start > .seconds(timeout): return nil
                default: continue
                }
            }
            return nil
        }
        guard let reply else {
            FileHandle.standardError.write(Data("send: no reply within \(timeout) s\n".utf8))
            throw ExitCode(1)
        }
        FileHandle.standardOutput.write(Data(reply.value ?? []))
        let status = reply.headers.string(named: "status") ?? "error"
        if status != "ok" {
            FileHandle.standardError.write(Data("send: status \(status)\n".utf8))
            throw ExitCode(1)
        }
    }
}
