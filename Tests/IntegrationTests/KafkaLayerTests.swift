import Foundation
import Kafka
import Logging
import Synchronization
import Testing

/// The Kafka layer against the dev broker, reached over TCP on loopback like any broker.
@Suite("Kafka layer", .timeLimit(.minutes(3)))
struct KafkaLayerTests {
    @Test("a member closed while it is still joining its group neither aborts the process nor hangs")
    func closeWhileJoining() async throws {
        let broker = try KafkaDevBroker(brokerCount: 1)
        try broker.createTopic("joining", partitions: 2, replicationFactor: 1)
        let common = KafkaConfiguration(bootstrapServers: [broker.bootstrapServers], clientID: "joining")
        // These sleeps wait for no event: each member, in a group of its own, is closed at another
        // moment of its first join (the dev broker holds a new group's first join for about
        // 3 s), so that some close between joining and the first assignment, where librdkafka
        // 2.0.2 would abort the whole test process.
        let moments: [Duration] = [.zero, .milliseconds(20), .milliseconds(200), .seconds(1), .seconds(2), .seconds(3), .seconds(4)]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, moment) in moments.enumerated() {
                group.addTask {
                    let consumer = try KafkaConsumer(
                        configuration: KafkaConsumerConfiguration(common: common, groupID: "joining-\(index)"), topics: ["joining"],
                        logger: .quiet("test.joining"))
                    try await Task.sleep(for: moment)
                    let clock = ContinuousClock()
                    let started = clock.now
                    await consumer.close()
                    // At most the 10 s the join is given, and the leaving.
                    #expect(clock.now - started < .seconds(20), "closed after \(moment)")
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("produced messages arrive with keys, values and headers intact, on every partition")
    func produceThenConsume() async throws {
        let broker = try KafkaDevBroker(brokerCount: 3)
        try broker.createTopic("orders", partitions: 4, replicationFactor: 3)
        let producer = try makeProducer(broker)

        // Half placed on explicit partitions, half by the key partitioner.
        let messages = (0..<200).map { index in
            KafkaProducerMessage(
                topic: "orders",
                partition: index < 100 ? Int32(index % 4) : nil,
                key: Array("order-\(index % 10)".utf8),
                value: Array("value-\(index)".utf8),
                headers: [
                    KafkaHeader(name: "command", string: "Command\(index)"),
                    KafkaHeader(name: "index", string: "\(index)"),
                    KafkaHeader(name: "no-value", value: nil),
                ]
            )
        }
        let reports = try await sendAll(producer, messages)
        #expect(Set(reports.map(\.partition)) == [0, 1, 2, 3])

        let consumer = try TestConsumer(bootstrapServers: broker.bootstrapServers, group: "readers", topics: ["orders"])
        let received = try await consumer.received.wait(forCount: 200, "messages")
        #expect(received.count == 200)

        var partitionOfKey: [String: Int32] = [:]
        for message in received {
            let index = try #require(message.headers.string(named: "index").flatMap { Int($0) })
            #expect(message.keyString == "order-\(index % 10)")
            #expect(message.valueString == "value-\(index)")
            #expect(message.headers.string(named: "command") == "Command\(index)")
            #expect(message.headers.contains(KafkaHeader(name: "no-value", value: nil)))
            if index < 100 {
                #expect(message.partition == Int32(index % 4))
            } else if let key = message.keyString {
                #expect(partitionOfKey[key, default: message.partition] == message.partition, "one key, one partition")
                partitionOfKey[key] = message.partition
            }
        }
        #expect(Set(received.map(\.partition)) == [0, 1, 2, 3])
        #expect(Set(received.compactMap(\.valueString)).count == 200, "each message once")
        // Within a partition, messages arrive in the order they were written.
        for partition in Int32(0)..<4 {
            let offsets = received.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == offsets.sorted())
        }

        await consumer.close()
        await producer.close()
        await broker.stop()
    }

    @Test("two members split the partitions; when one leaves, the other resumes after its last commit")
    func groupSplitAndTakeover() async throws {
        let broker = try KafkaDevBroker()
        try broker.createTopic("commands", partitions: 4)
        let producer = try makeProducer(broker)
        let perPartition = 30

        func produceRound(_ round: Int) async throws {
            _ = try await sendAll(producer, (0..<4 * perPartition).map { index in
                KafkaProducerMessage(topic: "commands", partition: Int32(index % 4), value: Array("r\(round)-\(index)".utf8))
            })
        }

        // Round 0: A alone takes all four partitions and finishes everything.
        try await produceRound(0)
        // In round 2, A leaves work unfinished: it marks done only the first half of it.
        let unfinishedFrom = Int64(2 * perPartition + perPartition / 2)
        let memberA = try TestConsumer(bootstrapServers: broker.bootstrapServers, group: "workers", topics: ["commands"]) {
            $0.offset < unfinishedFrom
        }
        #expect(try await memberA.waitForAssignment(count: 4).count == 4)
        try await memberA.markedDone.wait(forCount: 4 * perPartition, "round 0 messages done by A")
        try await memberA.consumer.commit()

        // B joins: the partitions split between the two, nothing shared.
        let memberB = try TestConsumer(bootstrapServers: broker.bootstrapServers, group: "workers", topics: ["commands"])
        let assignedB = try await memberB.waitForAssignment(count: 2)
        let assignedA = try await memberA.waitForAssignment(count: 2)
        #expect(assignedA.isDisjoint(with: assignedB))
        #expect(assignedA.union(assignedB).count == 4)

        // Round 1 goes to both, each reading only its own partitions.
        try await produceRound(1)
        try await memberA.received.wait(for: "round 1 on A's partitions") { received in
            received.filter { assignedA.contains($0.topicPartition) && $0.offset >= Int64(perPartition) }.count == 2 * perPartition
        }
        try await memberB.received.wait(forCount: 2 * perPartition, "round 1 messages on B")
        #expect(memberB.received.items.allSatisfy { assignedB.contains($0.topicPartition) })

        // Round 2: A receives its share but finishes only the first half, then leaves.
        try await produceRound(2)
        try await memberA.received.wait(for: "round 2 on A's partitions") { received in
            received.filter { assignedA.contains($0.topicPartition) && $0.offset >= Int64(2 * perPartition) }.count == 2 * perPartition
        }
        await memberA.close()

        // B takes A's partitions and starts exactly where A's commits end.
        _ = try await memberB.waitForAssignment(count: 4)
        let unfinishedByA = 2 * (3 * perPartition - Int(unfinishedFrom))
        let takenOver = try await memberB.received.wait(for: "A's unfinished messages on B") { received in
            received.filter { assignedA.contains($0.topicPartition) }.count >= unfinishedByA
        }.filter { assignedA.contains($0.topicPartition) }
        #expect(takenOver.count == unfinishedByA, "nothing A committed is delivered again")
        #expect(takenOver.allSatisfy { $0.offset >= unfinishedFrom })
        #expect(Set(takenOver.map(\.position)).count == unfinishedByA, "none twice")

        // Every message was done exactly once, by one member or the other.
        let expectedTotal = 3 * 4 * perPartition
        try await memberB.markedDone.wait(for: "every message done") { done in
            done.count + memberA.markedDone.items.count >= expectedTotal
        }
        let donePositions = (memberA.markedDone.items + memberB.markedDone.items).map(\.position)
        #expect(donePositions.count == expectedTotal)
        #expect(Set(donePositions).count == expectedTotal, "no message done twice, none skipped")

        await memberB.close()
        await producer.close()
        await broker.stop()
    }

    @Test("commit, close, reopen: consumption resumes after the committed offset")
    func commitCloseReopen() async throws {
        let broker = try KafkaDevBroker()
        try broker.createTopic("ledger", partitions: 1)
        let producer = try makeProducer(broker)
        _ = try await sendAll(producer, (0..<100).map {
            KafkaProducerMessage(topic: "ledger", partition: 0, value: Array("entry-\($0)".utf8))
        })
        let partition = KafkaTopicPartition(topic: "ledger", partition: 0)

        let first = try TestConsumer(bootstrapServers: broker.bootstrapServers, group: "ledger-readers", topics: ["ledger"]) {
            $0.offset < 60
        }
        try await first.received.wait(forCount: 100, "messages on the first consumer")
        try await first.markedDone.wait(forCount: 60, "messages done on the first consumer")
        // Behind the end by what was not marked done, whatever was fetched.
        #expect(try first.consumer.lag() == [partition: 40])
        try await first.consumer.commit()
        #expect(try await first.consumer.committedOffsets([partition]) == [partition: 60])
        await first.close()

        let reopened = try TestConsumer(bootstrapServers: broker.bootstrapServers, group: "ledger-readers", topics: ["ledger"])
        let resumed = try await reopened.received.wait(forCount: 40, "messages after reopening")
        #expect(resumed.map(\.offset) == Array(60..<100))
        #expect(resumed.first?.valueString == "entry-60")

        // What the reopened consumer finished is committed by its close.
        try await reopened.markedDone.wait(forCount: 40, "messages done after reopening")
        await reopened.close()
        let checker = try TestConsumer(bootstrapServers: broker.bootstrapServers, group: "ledger-readers", topics: ["ledger"])
        #expect(try await checker.consumer.committedOffsets([partition]) == [partition: 100])
        await checker.close()
        await producer.close()
        await broker.stop()
    }

    @Test("a paused partition delivers nothing until resumed; the others flow on")
    func pauseAndResume() async throws {
        let broker = try KafkaDevBroker()
        try broker.createTopic("flows", partitions: 2)
        let consumer = try TestConsumer(bootstrapServers: broker.bootstrapServers, group: "pausers", topics: ["flows"])
        let paused = KafkaTopicPartition(topic: "flows", partition: 0)
        // The listener hears of an assignment once it is in effect, so pausing works now.
        _ = try await consumer.waitForAssignment(count: 2)
        #expect(try consumer.consumer.assignment().count == 2)
        try consumer.consumer.pause([paused])

        // The paused partition's messages are written first, so they would arrive first.
        let producer = try makeProducer(broker)
        _ = try await sendAll(producer, (0..<20).map {
            KafkaProducerMessage(topic: "flows", partition: 0, value: Array("held-\($0)".utf8))
        })
        _ = try await sendAll(producer, (0..<20).map {
            KafkaProducerMessage(topic: "flows", partition: 1, value: Array("flowing-\($0)".utf8))
        })
        try await consumer.received.wait(forCount: 20, "messages of the partition not paused")
        #expect(consumer.received.items.allSatisfy { $0.partition == 1 })

        try consumer.consumer.resume([paused])
        let all = try await consumer.received.wait(forCount: 40, "messages after resuming")
        #expect(all.filter { $0.partition == 0 }.map(\.offset) == Array(0..<20))

        await consumer.close()
        await producer.close()
        await broker.stop()
    }

    @Test("an owner that stops taking batches for longer than max.poll.interval.ms stays in the group and misses nothing")
    func slowOwnerStaysInGroup() async throws {
        let broker = try KafkaDevBroker()
        try broker.createTopic("backlog", partitions: 2)
        let producer = try makeProducer(broker)
        _ = try await sendAll(producer, (0..<3_000).map {
            KafkaProducerMessage(topic: "backlog", partition: Int32($0 % 2), value: Array("m-\($0)".utf8))
        })
        var configuration = KafkaConsumerConfiguration(
            common: KafkaConfiguration(bootstrapServers: [broker.bootstrapServers], clientID: "slow",
                                       properties: ["max.poll.interval.ms": "6000"]),
            groupID: "slow-owner")
        configuration.heartbeatInterval = .milliseconds(100)
        configuration.sessionTimeout = .seconds(6)
        configuration.maxBatchSize = 50
        configuration.maxBufferedMessages = 100
        let rebalances = Recorder<RebalanceEvent>()
        let consumer = try KafkaConsumer(configuration: configuration, topics: ["backlog"], logger: .quiet("test.slow"),
                                         rebalanceListener: RecordingListener(events: rebalances))
        _ = try await rebalances.wait(for: "the assignment", timeout: .seconds(30)) { $0.currentAssignment.count == 2 }
        var batches = consumer.batches.makeAsyncIterator()
        var received: [KafkaConsumerMessage] = []
        if let first = await batches.next() { received += first }
        // The stall itself is what is tested: longer than max.poll.interval.ms, during which
        // the hand-off is full and the consumer must go on being polled.
        try await Task.sleep(for: .seconds(9))
        while received.count < 3_000, let batch = await batches.next() { received += batch }
        for partition in Int32(0)...1 {
            #expect(received.filter { $0.partition == partition }.map(\.offset) == Array(0..<1_500), "partition \(partition): each message once, in order")
        }
        #expect(!rebalances.items.contains { if case .revoked = $0 { true } else { false } }, "never left the group")
        await consumer.close()
        await producer.close()
        await broker.stop()
    }

    @Test("a consumer that loses its partitions while its hand-off is full fetches again once they come back")
    func backlogAcrossLostAssignment() async throws {
        let broker = try KafkaDevBroker()
        try broker.createTopic("lost", partitions: 1)
        let producer = try makeProducer(broker)
        _ = try await sendAll(producer, (0..<300).map { KafkaProducerMessage(topic: "lost", partition: 0, value: Array("m-\($0)".utf8)) })
        var configuration = KafkaConsumerConfiguration(
            common: KafkaConfiguration(bootstrapServers: [broker.bootstrapServers], clientID: "lost"), groupID: "lost-owner")
        configuration.heartbeatInterval = .milliseconds(100)
        configuration.sessionTimeout = .seconds(6)
        configuration.maxBatchSize = 50
        configuration.maxBufferedMessages = 50
        let rebalances = Recorder<RebalanceEvent>()
        let consumer = try KafkaConsumer(configuration: configuration, topics: ["lost"], logger: .quiet("test.lost"),
                                         rebalanceListener: RecordingListener(events: rebalances))
        _ = try await rebalances.wait(for: "the assignment", timeout: .seconds(30)) { $0.currentAssignment.count == 1 }
        var batches = consumer.batches.makeAsyncIterator()
        _ = await batches.next()
        // Taking no more for 2 s: the hand-off is full for longer than the second after which
        // fetching pauses. The wait is the condition itself.
        try await Task.sleep(for: .seconds(2))
        try broker.takeDown(broker: 1)
        _ = try await rebalances.wait(for: "the assignment lost", timeout: .seconds(30)) { events in
            events.contains { if case .revoked(_, lost: true) = $0 { true } else { false } }
        }
        try broker.bringUp(broker: 1)
        _ = try await rebalances.wait(for: "the partition back", timeout: .seconds(60)) { $0.currentAssignment.count == 1 }
        _ = try await sendAll(producer, [KafkaProducerMessage(topic: "lost", partition: 0, value: Array("after".utf8))])
        let reader = Task { () -> Bool in
            while let batch = await batches.next() {
                if batch.contains(where: { $0.valueString == "after" }) { return true }
            }
            return false
        }
        let deadline = Task {
            try? await Task.sleep(for: .seconds(60))
            reader.cancel()
        }
        #expect(await reader.value, "the message sent after the partition came back arrives")
        deadline.cancel()
        await consumer.close()
        await producer.close()
        await broker.stop()
    }

    @Test("holding and releasing fetching many times, with messages queued, neither skips nor repeats one")
    func holdAndRelease() async throws {
        let broker = try KafkaDevBroker()
        try broker.createTopic("held", partitions: 2)
        let producer = try makeProducer(broker)
        let consumer = try TestConsumer(bootstrapServers: broker.bootstrapServers, group: "holders", topics: ["held"])
        _ = try await consumer.waitForAssignment(count: 2)
        let sending = Task {
            for round in 0..<10 {
                _ = try await sendAll(producer, (0..<200).map {
                    KafkaProducerMessage(topic: "held", partition: Int32($0 % 2), value: Array("r\(round)-\($0)".utf8))
                })
            }
        }
        // Hold and release while messages are fetched and queued, until all have arrived.
        let holding = Task {
            var hold = true
            while consumer.received.items.count < 2_000, !Task.isCancelled {
                try consumer.consumer.holdFetching(hold)
                hold.toggle()
                try? await Task.sleep(for: .milliseconds(hold ? 30 : 60))
            }
            try consumer.consumer.holdFetching(false)
        }
        try await sending.value
        let all = try await consumer.received.wait(forCount: 2_000, "every message", timeout: .seconds(60))
        holding.cancel()
        try await holding.value
        for partition in Int32(0)...1 {
            #expect(all.filter { $0.partition == partition }.map(\.offset) == Array(0..<1_000), "partition \(partition)")
        }
        await consumer.close()
        await producer.close()
        await broker.stop()
    }

    @Test("outside any group: fromStart reads what each partition holds and says its offsets; fromEnd only what comes after")
    func assignedReaders() async throws {
        let broker = try KafkaDevBroker()
        try broker.createTopic("letters", partitions: 2)
        let producer = try makeProducer(broker)
        _ = try await sendAll(producer, (0..<6).map {
            KafkaProducerMessage(topic: "letters", partition: Int32($0 % 2), value: Array("early-\($0)".utf8))
        })
        let configuration = KafkaConsumerConfiguration(
            common: KafkaConfiguration(bootstrapServers: [broker.bootstrapServers], clientID: "test-readers"), groupID: "never-joined")
        let (reader, offsets) = try await KafkaConsumer.fromStart(of: ["letters"], configuration: configuration)
        #expect(offsets == [KafkaTopicPartition(topic: "letters", partition: 0): 0..<3, KafkaTopicPartition(topic: "letters", partition: 1): 0..<3])
        let follower = try await KafkaConsumer.fromEnd(of: ["letters"], configuration: configuration)
        _ = try await sendAll(producer, [KafkaProducerMessage(topic: "letters", partition: 1, value: Array("late".utf8))])

        let readerSaw = Recorder<String>()
        let followerSaw = Recorder<String>()
        let reading = Task {
            for await batch in reader.batches { for message in batch { readerSaw.append(message.valueString ?? "") } }
        }
        let following = Task {
            for await batch in follower.batches { for message in batch { followerSaw.append(message.valueString ?? "") } }
        }
        let all = try await readerSaw.wait(forCount: 7, "messages from the start")
        #expect(Set(all) == Set((0..<6).map { "early-\($0)" } + ["late"]))
        #expect(try await followerSaw.wait(forCount: 1, "the message produced after") == ["late"])
        #expect(try reader.assignment().count == 2, "assigned, not subscribed")

        await reader.close()
        await follower.close()
        reading.cancel()
        following.cancel()
        await producer.close()
        await broker.stop()
    }

    @Test("a broker taken down while producing: delivery resumes when it is back, nothing lost or doubled")
    func brokerDownWhileProducing() async throws {
        let broker = try KafkaDevBroker()
        try broker.createTopic("payments", partitions: 2)
        let transportErrors = Recorder<KafkaError>()
        let producer = try makeProducer(broker) { error in
            if error.isRetriable { transportErrors.append(error) }
        }
        let acknowledged = Recorder<KafkaDeliveryReport>()
        let total = 2_000

        let sending = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<total {
                    // At most 100 in flight, so that the outage finds messages still unsent.
                    if index >= 100 { try await group.next() }
                    group.addTask {
                        let report = try await producer.send(KafkaProducerMessage(
                            topic: "payments", key: Array("k\(index)".utf8), value: Array("payment-\(index)".utf8)))
                        acknowledged.append(report)
                    }
                }
                try await group.waitForAll()
            }
        }

        try await acknowledged.wait(forCount: 300, "acknowledgements before the outage")
        try broker.takeDown(broker: 1)
        try await transportErrors.wait(forCount: 1, "the producer to notice the broker is down")
        let acknowledgedDuringOutage = acknowledged.items.count
        #expect(acknowledgedDuringOutage < total, "the outage came while messages were still unsent")
        try broker.bringUp(broker: 1)
        try await sending.value
        #expect(acknowledged.items.count == total)

        let consumer = try TestConsumer(bootstrapServers: broker.bootstrapServers, group: "auditors", topics: ["payments"])
        try await consumer.received.wait(forCount: total, "messages after the outage")
        // A duplicate would have arrived with the rest: the log end offsets say how many exist.
        let written = acknowledged.items.reduce(into: [Int32: Int64]()) { ends, report in
            ends[report.partition] = max(ends[report.partition] ?? -1, report.offset + 1)
        }
        #expect(written.values.reduce(0, +) == Int64(total), "no message written twice")
        let values = consumer.received.items.compactMap(\.valueString)
        #expect(values.count == total)
        #expect(Set(values) == Set((0..<total).map { "payment-\($0)" }), "none lost, none doubled")

        await consumer.close()
        await producer.close()
        await broker.stop()
    }

    @Test("prepare fetches the topics' metadata, and says so when the broker cannot be reached")
    func prepareTopics() async throws {
        let broker = try KafkaDevBroker(brokerCount: 1)
        try broker.createTopic("replies", partitions: 2, replicationFactor: 1)
        let producer = try makeProducer(broker)
        try await producer.prepare(topics: ["replies"])
        let report = try await producer.send(KafkaProducerMessage(topic: "replies", key: nil, value: Array("x".utf8)))
        #expect(report.offset == 0)
        await producer.close()

        let nowhere = try KafkaProducer(configuration: KafkaProducerConfiguration(
            common: KafkaConfiguration(bootstrapServers: ["127.0.0.1:9"])))
        await #expect(throws: KafkaError.self) { try await nowhere.prepare(topics: ["replies"], timeout: .milliseconds(300)) }
        await nowhere.close(timeout: .zero)
    }

    @Test("a bad configuration property or value gives an error that names it")
    func badConfigurationIsNamed() throws {
        let unknown = #expect(throws: KafkaError.self) {
            try KafkaProducer(configuration: KafkaProducerConfiguration(
                common: KafkaConfiguration(bootstrapServers: ["127.0.0.1:9"], properties: ["no.such.setting": "1"])))
        }
        #expect(unknown?.code == .configuration)
        #expect(unknown?.message.contains("'no.such.setting'") == true)

        let badValue = #expect(throws: KafkaError.self) {
            try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    common: KafkaConfiguration(bootstrapServers: ["127.0.0.1:9"], properties: ["session.timeout.ms": "soon"]),
                    groupID: "g"),
                topics: ["t"])
        }
        #expect(badValue?.code == .configuration)
        #expect(badValue?.message.contains("'session.timeout.ms'") == true)
    }

    @Test("an outside client, kcat, reads the keys, values and headers the producer wrote")
    func kcatReadsProducerOutput() async throws {
        let kcat = try #require(ChildProcess.which("kcat"), "kcat is installed by ops/setup.sh")
        let broker = try KafkaDevBroker()
        try broker.createTopic("replies", partitions: 3)
        let producer = try makeProducer(broker)
        let messages = (0..<30).map { index in
            KafkaProducerMessage(
                topic: "replies",
                partition: Int32(index % 3),
                key: Array("key-\(index)".utf8),
                value: Array("body \(index) ✓".utf8),
                headers: [KafkaHeader(name: "status", string: "ok"), KafkaHeader(name: "idempotency-key", string: "idem-\(index)")]
            )
        }
        _ = try await sendAll(producer, messages)

        let reader = try ChildProcess(kcat, ["-b", broker.bootstrapServers, "-C", "-t", "replies", "-e", "-q",
                                              "-f", "%p|%k|%s|%h\n"])
        #expect(try await reader.waitForExit() == 0)
        let lines = reader.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.count == 30)
        var seen = Set<String>()
        for line in lines {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            try #require(fields.count == 4, "line: \(line)")
            let index = try #require(Int(fields[1].dropFirst("key-".count)))
            #expect(fields[0] == "\(index % 3)")
            #expect(fields[2] == "body \(index) ✓")
            #expect(fields[3] == "status=ok,idempotency-key=idem-\(index)")
            seen.insert(fields[1])
        }
        #expect(seen.count == 30)
        await producer.close()
        await broker.stop()
    }

    @Test("payment-worker broker prints an address that kcat and this layer can produce to and consume from")
    func brokerCommandServesOutsideClients() async throws {
        let kcat = try #require(ChildProcess.which("kcat"), "kcat is installed by ops/setup.sh")
        let brokerProcess = try ChildProcess(TestBinaries.paymentWorker, ["broker", "--brokers", "2"])
        defer { brokerProcess.kill9IfRunning() }
        let address = try await brokerProcess.firstLine()
        #expect(address.hasPrefix("127.0.0.1:"))

        // kcat writes a command with a key and headers; this layer reads it.
        let writer = try ChildProcess(
            kcat, ["-b", address, "-P", "-t", "payments.commands", "-K", ":", "-H", "command=GetPayments", "-H", "apiid=123"],
            standardInput: Data("Ref123:where=OrderRef%3D'Ref123'\n".utf8))
        #expect(try await writer.waitForExit() == 0)
        let consumer = try TestConsumer(bootstrapServers: address, group: "outside", topics: ["payments.commands"])
        let message = try #require(try await consumer.received.wait(forCount: 1, "kcat's message").first)
        #expect(message.keyString == "Ref123")
        #expect(message.valueString == "where=OrderRef%3D'Ref123'")
        #expect(message.headers == [KafkaHeader(name: "command", string: "GetPayments"), KafkaHeader(name: "apiid", string: "123")])
        await consumer.close()

        // This layer writes; kcat reads.
        let producer = try makeProducer(bootstrapServers: address)
        try await producer.send(KafkaProducerMessage(
            topic: "payments.results", key: Array("Ref123".utf8), value: Array("PaymentId\n".utf8),
            headers: [KafkaHeader(name: "status", string: "ok")]))
        await producer.close()
        let reader = try ChildProcess(kcat, ["-b", address, "-C", "-t", "payments.results", "-e", "-q", "-f", "%k|%s|%h"])
        #expect(try await reader.waitForExit() == 0)
        #expect(reader.standardOutput == "Ref123|PaymentId\n|status=ok")

        brokerProcess.signal(SIGTERM)
        #expect(try await brokerProcess.waitForExit(timeout: .seconds(20)) == 0)
    }
}

func makeProducer(
    _ broker: KafkaDevBroker,
    errorHandler: (@Sendable (KafkaError) -> Void)? = nil
) throws -> KafkaProducer {
    try makeProducer(bootstrapServers: broker.bootstrapServers, errorHandler: errorHandler)
}

func makeProducer(bootstrapServers: String, errorHandler: (@Sendable (KafkaError) -> Void)? = nil) throws -> KafkaProducer {
    try KafkaProducer(
        configuration: KafkaProducerConfiguration(common: KafkaConfiguration(bootstrapServers: [bootstrapServers], clientID: "test-producer")),
        logger: Logger.quiet("test.producer"),
        errorHandler: errorHandler
    )
}

/// Sends every message at once, in order, and returns the broker's acknowledgements.
func sendAll(_ producer: KafkaProducer, _ messages: [KafkaProducerMessage]) async throws -> [KafkaDeliveryReport] {
    try await producer.sendAll(messages)
}
