import PaymentsDomain

/// UpdatePayments as a store write: looks up the payments and orders its lines name, plans
/// them with `PaymentUpsertPlanner`, and answers a result row a line. Consecutive commands
/// merge into one write planned as one run of lines, with one set of look-ups.
public struct UpdatePaymentsWrite: PaymentWrite {
    public typealias Reply = @Sendable ([PaymentLineResult]) -> StoredReply

    /// Each command's lines and reply, in order: one command, or several once merged.
    private var commands: [(lines: [PaymentLine], reply: Reply)]
    /// Whether a line names a PaymentId: such a line may name a payment an earlier command
    /// of a merge inserts, whose id exists only once written, so it is never merged.
    private let namesPaymentId: Bool
    public private(set) var lineCount: Int

    public init(lines: [PaymentLine], reply: @escaping Reply) {
        commands = [(lines, reply)]
        namesPaymentId = lines.contains { $0.changes.paymentId != nil }
        lineCount = lines.count
    }

    public func reads() -> DataRequest {
        PaymentUpsertPlanner.reads(for: commands.map(\.lines))
    }

    public func plan(with data: FetchedData, context: WriteContext) -> WritePlan {
        let nextNumber = data.counters.nextPaymentNumber
        let plan = PaymentUpsertPlanner.plan(
            commands.map(\.lines), lookup: PaymentLookup(payments: data.payments, orders: data.orders),
            now: context.now, nextNumber: nextNumber)
        var changes = Changes()
        changes.payments = plan.writes
        let before = Dictionary(data.payments.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        changes.paymentsReleasingKeys = plan.writes.compactMap { change in
            guard case .update(let payment) = change, let old = before[payment.id],
                  old.importedRef != payment.importedRef || old.backOfficeCode != payment.backOfficeCode else { return nil }
            return payment.id
        }
        if plan.numbersUsed > 0 { changes.nextPaymentNumber = nextNumber + plan.numbersUsed }
        let commands = self.commands
        let lineCount = self.lineCount
        return WritePlan(changes: changes) { ids in
            let results = plan.results(insertedIds: ids.payments)
            // One result a line; anything else answers no command, and the engine refuses it.
            guard results.count == lineCount else { return [] }
            var start = 0
            return commands.map { command in
                defer { start += command.lines.count }
                return command.reply(Array(results[start..<start + command.lines.count]))
            }
        }
    }

    public mutating func merge(_ next: any PaymentWrite) -> Bool {
        guard let next = next as? UpdatePaymentsWrite, !namesPaymentId, !next.namesPaymentId else { return false }
        commands += next.commands
        lineCount += next.lineCount
        return true
    }
}
