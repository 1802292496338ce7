import Crypto
import Foundation
import Kafka
import Logging
import PaymentsDomain

/// Turns one partition's commands, in order, into what must be published for them:
/// decode, authenticate, dispatch to the plugin, apply through the store (consecutive writes
/// in one transaction), and build replies, error events and DLQ copies.
struct CommandHandler: Sendable {
    let registry: PluginRegistry
    let accounts: AccountDirectory
    let store: any PaymentStore
    let configuration: WorkerConfiguration
    let metrics: WorkerMetrics
    let logger: Logger
    /// Where a call that finds the store away waits until it answers again.
    let outage: StoreOutage
    /// The Kafka cluster's id, the first part of a default idempotency key (docs/contract.md §3).
    var clusterID = ""

    /// What the worker publishes, built for this configuration: the worker's own follow-ups
    /// (a refused reply's error event and DLQ copy) use it too.
    var events: OutgoingEvents { OutgoingEvents(topics: configuration.topics, messageMaxBytes: configuration.kafka.messageMaxBytes) }

    /// Where a write came from, to answer it.
    private struct WriteOrigin {
        let envelope: CommandEnvelope
        let name: String
        let plugin: any CommandPlugin
    }

    /// Where a command goes: answered at once (refused, poison), into the next write
    /// transaction, or to a read.
    private enum Route {
        case publish([KafkaProducerMessage])
        case write(WriteOrigin, StoreCommand)
        case read(any PaymentRead, account: String, envelope: CommandEnvelope, name: String, plugin: any CommandPlugin)
    }

    /// Everything to publish for `messages`, in order, gathered in one array; nil when the
    /// worker stopped waiting for the store before all were answered.
    func handle(_ messages: [KafkaConsumerMessage]) async -> [KafkaProducerMessage]? {
        var all: [KafkaProducerMessage] = []
        let complete = await handle(messages) { all += $0 }
        return complete ? all : nil
    }

    /// Hands what to publish to `publish`, in order, after each store transaction and at the
    /// end: the replies of a large batch's first transaction need not wait for its last.
    /// Returns false when the worker gave up waiting out a store outage (shutting down): the
    /// commands not answered then stay uncommitted, and are delivered again.
    func handle(
        _ messages: [KafkaConsumerMessage],
        publish emit: ([KafkaProducerMessage]) async -> Void
    ) async -> Bool {
        var outgoing: [KafkaProducerMessage] = []
        var writes = PendingWrites()
        for message in messages {
            switch route(CommandEnvelope(message, clusterID: clusterID)) {
            case .publish(let messages):
                guard await apply(&writes, into: &outgoing) else { return await interrupted(outgoing, emit) }
                outgoing += messages
            case .write(let write, let command):
                writes.append(write, command)
                if writes.count >= configuration.maxCommandsPerTransaction || writes.lineCount >= configuration.maxLinesPerTransaction {
                    guard await apply(&writes, into: &outgoing) else { return await interrupted(outgoing, emit) }
                    await emit(outgoing)
                    outgoing = []
                }
            case .read(let read, let account, let envelope, let name, let plugin):
                // A read sees every write before it in the partition.
                guard await apply(&writes, into: &outgoing) else { return await interrupted(outgoing, emit) }
                switch await withRetries({ try await store.read(read.reads(), account: account) }) {
                case .success(let data):
                    outgoing += answer(read.reply(with: data), for: envelope, name: name, replayed: false)
                case .failure(let failure) where failure.kind == .unavailable:
                    return await interrupted(outgoing, emit)
                case .failure(let failure):
                    outgoing += giveUp(envelope, name: name, plugin: plugin, failure)
                }
            }
        }
        guard await apply(&writes, into: &outgoing) else { return await interrupted(outgoing, emit) }
        if !outgoing.isEmpty { await emit(outgoing) }
        return true
    }

    /// What was answered before the worker gave up on the store is still published (it is
    /// stored); the rest is not, and stays uncommitted.
    private func interrupted(_ outgoing: [KafkaProducerMessage], _ emit: ([KafkaProducerMessage]) async -> Void) async -> Bool {
        if !outgoing.isEmpty { await emit(outgoing) }
        return false
    }

    private func route(_ envelope: CommandEnvelope) -> Route {
        guard let name = envelope.command else {
            return .publish(poison(envelope, name: nil, DomainError(.malformed, "the message has no command header")))
        }
        let body = envelope.message.value ?? []
        guard body.count <= configuration.maxMessageBytes else {
            return .publish(poison(envelope, name: name, DomainError(
                .tooLarge, "the body is \(body.count) bytes; the limit is \(configuration.maxMessageBytes)")))
        }
        guard body.isValidUTF8 else {
            return .publish(poison(envelope, name: name, DomainError(.malformed, "the body is not UTF-8 text")))
        }
        let plugin = registry.plugin(for: name)
        if let fault = envelope.headerFault {
            return .publish(refuse(envelope, name: name, plugin: plugin, DomainError(.malformed, fault)))
        }
        guard let plugin else {
            return .publish(refuse(envelope, name: name, plugin: nil, DomainError(
                .unknownCommand, "unknown command '\(name)'; the commands are \(registry.commands.joined(separator: ", "))")))
        }
        let request = CommandRequest(body: body, headers: envelope.headers, limits: configuration.limits)
        do {
            guard let account = accounts.authenticate(try plugin.credentials(request)) else {
                throw DomainError(.unauthorized, "the credentials are not valid for \(name)")
            }
            let epochSeconds = Int64(Date().timeIntervalSince1970)
            switch try plugin.decode(request, account: account) {
            case .write(let write):
                let command = StoreCommand(
                    account: account.apiId, idempotencyKey: envelope.idempotencyKey,
                    fingerprint: Self.fingerprint(command: name, body: body), write: write,
                    now: UTCDateTime(secondsSince1970: epochSeconds), epochSeconds: epochSeconds,
                    errorFormat: type(of: plugin).errorReplyFormat)
                return .write(WriteOrigin(envelope: envelope, name: name, plugin: plugin), command)
            case .read(let read):
                return .read(read, account: account.apiId, envelope: envelope, name: name, plugin: plugin)
            }
        } catch let error as DomainError {
            return .publish(refuse(envelope, name: name, plugin: plugin, error))
        } catch {
            return .publish(refuse(envelope, name: name, plugin: plugin, DomainError(.internal, "the command could not be read")))
        }
    }

    /// The writes waiting for one transaction, their store commands apart (handed to the store
    /// as they are, not copied out of each write), and their lines (kept as a running sum:
    /// summing on every append made a 200-command transaction cost 20 000 copies).
    private struct PendingWrites {
        private(set) var writes: [WriteOrigin] = []
        private(set) var commands: [StoreCommand] = []
        private(set) var lineCount = 0

        init(_ writes: [WriteOrigin] = [], commands: [StoreCommand] = []) {
            for (write, command) in zip(writes, commands) { append(write, command) }
        }

        var count: Int { writes.count }

        mutating func append(_ write: WriteOrigin, _ command: StoreCommand) {
            writes.append(write)
            commands.append(command)
            lineCount += command.write.lineCount
        }

        mutating func take() -> PendingWrites {
            defer { self = PendingWrites() }
            return self
        }
    }

    /// Applies the pending writes in one transaction and appends their replies; false when
    /// the worker gave up waiting for the store (nothing of them is answered then).
    private func apply(_ pending: inout PendingWrites, into outgoing: inout [KafkaProducerMessage]) async -> Bool {
        let batch = pending.take()
        guard batch.count > 0 else { return true }
        let commands = batch.commands
        let clock = ContinuousClock()
        let started = clock.now
        let result = await withRetries({ () async throws -> [StoreOutcome] in
            let outcomes = try await store.execute(commands)
            guard outcomes.count == commands.count else {
                throw StoreError("the store answered \(outcomes.count) of \(commands.count) commands", kind: .permanent)
            }
            return outcomes
        })
        metrics.storeTransaction(took: clock.now - started)
        let writes = batch.writes
        switch result {
        case .success(let outcomes):
            // By index: a write is read in place, not copied with its envelope and command.
            for index in writes.indices {
                switch outcomes[index] {
                case .applied(let reply):
                    metrics.linesHandled(writes[index].name, count: commands[index].write.lineCount)
                    outgoing += answer(reply, for: writes[index].envelope, name: writes[index].name, replayed: false)
                case .replayed(let reply):
                    metrics.replayed(writes[index].name)
                    outgoing += answer(reply, for: writes[index].envelope, name: writes[index].name, replayed: true)
                case .conflict:
                    outgoing += refuse(writes[index].envelope, name: writes[index].name, plugin: writes[index].plugin, DomainError(
                        .idempotencyConflict,
                        "idempotency key '\(writes[index].envelope.idempotencyKey)' was used for another command; nothing was done"))
                }
            }
        case .failure(let failure) where failure.kind == .unavailable:
            return false
        case .failure(let failure) where failure.kind == .permanent && writes.count > 1:
            // One bad command must not take its neighbours to the DLQ: each on its own.
            for index in writes.indices {
                var single = PendingWrites([writes[index]], commands: [commands[index]])
                guard await apply(&single, into: &outgoing) else { return false }
            }
        case .failure(let failure):
            for write in writes { outgoing += giveUp(write.envelope, name: write.name, plugin: write.plugin, failure) }
        }
        return true
    }

    /// An error event, counted by its code.
    func errorEvent(for envelope: CommandEnvelope, command: String?, error: DomainError) -> KafkaProducerMessage {
        metrics.errorEventPublished(code: error.code.rawValue)
        return events.errorEvent(for: envelope, command: command, error: error)
    }

    /// The reply's messages, and an error event when its status is `error`.
    private func answer(_ reply: StoredReply, for envelope: CommandEnvelope, name: String, replayed: Bool) -> [KafkaProducerMessage] {
        metrics.commandHandled(name, status: reply.status)
        var messages = events.replies(to: envelope, command: name, reply: reply, replayed: replayed)
        if reply.status == ReplyStatus.error.rawValue {
            messages.append(errorEvent(for: envelope, command: name, error: OutgoingEvents.error(of: reply)))
        }
        return messages
    }

    /// Bad input: an error reply and an error event, never a retry.
    private func refuse(_ envelope: CommandEnvelope, name: String, plugin: (any CommandPlugin)?, _ error: DomainError) -> [KafkaProducerMessage] {
        logger.info("command refused", metadata: metadata(envelope, name, error))
        metrics.commandHandled(metricLabel(name), status: ReplyStatus.error.rawValue)
        let reply = plugin?.errorReply(error) ?? ErrorReplyFormat.cin7.reply(for: error)
        return [events.reply(to: envelope, command: name, reply: reply, replayed: false),
                errorEvent(for: envelope, command: name, error: error)]
    }

    /// Poison: a DLQ copy, an error event, and a reply only when the client can match it.
    private func poison(_ envelope: CommandEnvelope, name: String?, _ error: DomainError) -> [KafkaProducerMessage] {
        logger.warning("poison message", metadata: metadata(envelope, name, error))
        metrics.commandHandled(name.map(metricLabel) ?? "-", status: "poison")
        metrics.sentToDLQ(reason: "poison")
        var messages = [events.dlqCopy(of: envelope), errorEvent(for: envelope, command: name, error: error)]
        if envelope.isMatchable {
            let reply = name.flatMap { registry.plugin(for: $0) }?.errorReply(error) ?? ErrorReplyFormat.cin7.reply(for: error)
            messages.append(events.reply(to: envelope, command: name ?? "", reply: reply, replayed: false))
        }
        return messages
    }

    /// Transient failures outlasted the retry budget (or the store failed for good): the DLQ.
    private func giveUp(_ envelope: CommandEnvelope, name: String, plugin: any CommandPlugin, _ failure: StoreError) -> [KafkaProducerMessage] {
        let error = DomainError(.internal, "the store could not take the command (\(failure.message)); it is in \(configuration.topics.dlq)")
        logger.error("command sent to the DLQ", metadata: metadata(envelope, name, error))
        metrics.commandHandled(name, status: ReplyStatus.error.rawValue)
        metrics.sentToDLQ(reason: "retries_exhausted")
        return [events.reply(to: envelope, command: name, reply: plugin.errorReply(error), replayed: false),
                errorEvent(for: envelope, command: name, error: error),
                events.dlqCopy(of: envelope)]
    }

    /// Runs `body` until it succeeds. The store being away is waited out however long it
    /// lasts and costs no attempt; a clash with a concurrent writer is tried again within the
    /// retry budget. Fails with the permanent error, the last conflict past the budget, or
    /// (kind `unavailable`) when the worker stopped waiting for the store.
    private func withRetries<Result: Sendable>(_ body: () async throws -> Result) async -> Swift.Result<Result, StoreError> {
        // Cancelled: the worker gave its work up at the shutdown timeout. Not the command's
        // fault, and it stays uncommitted.
        let interrupted = StoreError("interrupted: the worker is stopping", kind: .unavailable)
        let result: Swift.Result<Result, StoreError>? = await configuration.retry.run { attempt in
            do {
                return .done(.success(try await body()))
            } catch let error as StoreError where error.kind == .unavailable {
                return await outage.waitOut(error) ? .again : .done(.failure(error))
            } catch let error as StoreError where error.kind == .conflict && configuration.retry.allowsAnother(after: attempt) {
                logger.warning("store transaction clashed with another writer, retrying", metadata: [
                    "attempt": "\(attempt)", "error": "\(error.message)",
                ])
                metrics.retried("store")
                return .failed
            } catch let error as StoreError {
                return .done(.failure(error))
            } catch is CancellationError {
                return .done(.failure(interrupted))
            } catch {
                return .done(.failure(StoreError("\(error)", kind: .permanent)))
            }
        }
        return result ?? .failure(interrupted)
    }

    /// A command's name as a metric label: only the registered ones, every other `unknown`,
    /// so that a client cannot make a label per header value it sends.
    private func metricLabel(_ name: String) -> String {
        registry.plugin(for: name) != nil ? name : "unknown"
    }

    private func metadata(_ envelope: CommandEnvelope, _ name: String?, _ error: DomainError) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "command": "\(name ?? "-")", "partition": "\(envelope.message.partition)", "offset": "\(envelope.message.offset)",
            "idempotency_key": "\(envelope.idempotencyKey)", "code": "\(error.code)", "reason": "\(error.message)",
        ]
        if let correlationId = envelope.correlationId { metadata["correlation_id"] = "\(correlationId)" }
        return metadata
    }

    /// SHA-256 of the command name and the body: same key, same fingerprint, same command.
    static func fingerprint(command: String, body: [UInt8]) -> [UInt8] {
        var hash = SHA256()
        var command = command
        command.withUTF8 { hash.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        withUnsafeBytes(of: UInt8(0)) { hash.update(bufferPointer: $0) }
        hash.update(data: body)
        // Through the bytes: Array(digest) grows its buffer byte by byte from a Sequence.
        return hash.finalize().withUnsafeBytes { Array($0) }
    }
}
