import PaymentsDomain

/// What the store found, all within the caller's account: the payments found by any key the
/// lines name (BackOfficeCode included, so their owners are known) and the orders.
public struct PaymentLookup: Sendable {
    public var payments: [Payment]
    public var orders: [Order]

    public init(payments: [Payment] = [], orders: [Order] = []) {
        self.payments = payments
        self.orders = orders
    }
}

/// The writes one UpdatePayments command makes, and how to turn their outcome into the reply.
public struct PaymentUpsertPlan: Sendable {
    public typealias Write = PaymentChange

    enum Target: Hashable, Sendable {
        case existing(Int64)
        case pending(Int)
    }

    public internal(set) var writes: [Write] = []
    /// How many payment numbers the inserts took, from the `nextNumber` given.
    public internal(set) var numbersUsed: Int64 = 0
    /// Each line's result, the payment it wrote, and the payment holding a key it wanted.
    var lines: [(result: PaymentLineResult, target: Target?, keyOwner: Target?)] = []

    /// The reply rows, once the store has assigned ids to the inserts (by index in `writes`).
    public func results(insertedIds: [Int: Int64]) -> [PaymentLineResult] {
        func id(of target: Target) -> Int64? {
            switch target {
            case .existing(let id): id
            case .pending(let index): insertedIds[index]
            }
        }
        return lines.map { line in
            var result = line.result
            result.paymentId = line.target.flatMap(id) ?? result.paymentId
            // Named by id once the store has given one, so the message does not depend on
            // whether the owner was inserted by this command or an earlier one.
            if let owner = line.keyOwner { result.errors += id(of: owner).map { " (\($0))" } ?? " (an earlier line)" }
            return result
        }
    }
}

/// The rules of UpdatePayments (docs/contract.md §6), shared by every store: PaymentId given ->
/// update it or `Failed`; else an existing PaymentImportedRef -> update that payment; else
/// insert, which needs an existing order and an Amount. An update sets only the columns given.
public enum PaymentUpsertPlanner {
    /// What the store must look up for several commands' lines, taken in order as one run: a
    /// run's lines are not copied into one array first.
    public static func reads(for runs: [[PaymentLine]]) -> DataRequest {
        var request = DataRequest()
        for lines in runs {
            for line in lines where line.error == nil {
                let changes = line.changes
                if let id = changes.paymentId { request.paymentIds.insert(id) }
                if let ref = changes.importedRef { request.paymentImportedRefs.insert(ref) }
                if let id = changes.orderId { request.orderIds.insert(id) }
                if let ref = changes.orderRef { request.orderRefs.insert(ref) }
                if let code = changes.backOfficeCode { request.paymentBackOfficeCodes.insert(code) }
            }
        }
        return request
    }

    public static func plan(
        _ lines: [PaymentLine], lookup: PaymentLookup, now: UTCDateTime, nextNumber: Int64
    ) -> PaymentUpsertPlan {
        plan([lines], lookup: lookup, now: now, nextNumber: nextNumber)
    }

    /// Plans several commands' lines in order as one run, as if they were one command.
    public static func plan(
        _ runs: [[PaymentLine]], lookup: PaymentLookup, now: UTCDateTime, nextNumber: Int64
    ) -> PaymentUpsertPlan {
        let count = runs.reduce(0) { $0 + $1.count }
        var state = State(lookup: lookup, expectedLines: count)
        var plan = PaymentUpsertPlan()
        plan.writes.reserveCapacity(count)
        plan.lines.reserveCapacity(count)
        for line in runs.joined() {
            var result = PaymentLineResult(lineId: line.lineId)
            if let error = line.error {
                plan.lines.append((echo(line, errors: error), nil, nil))
                continue
            }
            do {
                let target = try state.apply(line.changes, now: now, nextNumber: nextNumber + plan.numbersUsed, plan: &plan)
                guard let payment = state.payment(target, in: plan) else { throw LineFault("the payment vanished") }
                result.importedRef = payment.importedRef
                result.orderId = payment.orderId
                result.orderRef = payment.orderRef
                plan.lines.append((result, target, nil))
            } catch let fault as LineFault {
                plan.lines.append((echo(line, errors: fault.message), nil, fault.keyOwner))
            } catch {
                plan.lines.append((echo(line, errors: "\(error)"), nil, nil))
            }
        }
        return plan
    }

    /// A refused line's reply echoes what it gave: its decoded values, or its cells as
    /// written when they did not decode.
    private static func echo(_ line: PaymentLine, errors: String) -> PaymentLineResult {
        guard line.error != nil else {
            return PaymentLineResult(
                lineId: line.lineId, paymentId: line.changes.paymentId, importedRef: line.changes.importedRef,
                orderId: line.changes.orderId, orderRef: line.changes.orderRef, errors: errors)
        }
        return PaymentLineResult(
            lineId: line.lineId,
            paymentId: line.given[.paymentId].flatMap { Int64($0) },
            importedRef: line.given[.paymentImportedRef],
            orderId: line.given[.orderId].flatMap { Int64($0) },
            orderRef: line.given[.orderRef],
            errors: errors
        )
    }

    struct LineFault: Error {
        let message: String
        /// The payment holding a unique key the line wanted; the reply names it.
        var keyOwner: PaymentUpsertPlan.Target?
        init(_ message: String, keyOwner: PaymentUpsertPlan.Target? = nil) {
            self.message = message
            self.keyOwner = keyOwner
        }
    }

    /// The batch as it stands after each line: existing payments as updated so far and the
    /// inserts planned so far (which live only in the plan's writes), indexed by every key a
    /// later line may name.
    private struct State {
        var existing: [Int64: Payment] = [:]
        /// Where an existing payment's update is in the plan's writes.
        var updateIndex: [Int64: Int] = [:]
        var importedRefOwners: [String: PaymentUpsertPlan.Target] = [:]
        var backOfficeCodeOwners: [String: PaymentUpsertPlan.Target] = [:]
        var ordersById: [Int64: Order] = [:]
        var ordersByRef: [String: Order] = [:]

        init(lookup: PaymentLookup, expectedLines: Int) {
            importedRefOwners.reserveCapacity(expectedLines + lookup.payments.count)
            for payment in lookup.payments {
                existing[payment.id] = payment
                if let ref = payment.importedRef { importedRefOwners[ref] = .existing(payment.id) }
                if let code = payment.backOfficeCode { backOfficeCodeOwners[code] = .existing(payment.id) }
            }
            for order in lookup.orders {
                ordersById[order.id] = order
                ordersByRef[order.ref] = order
            }
        }

        func payment(_ target: PaymentUpsertPlan.Target, in plan: PaymentUpsertPlan) -> Payment? {
            switch target {
            case .existing(let id):
                if let index = updateIndex[id], case .update(let payment) = plan.writes[index] { return payment }
                return existing[id]
            case .pending(let index):
                guard case .insert(let payment) = plan.writes[index] else { return nil }
                return payment
            }
        }

        mutating func apply(
            _ changes: PaymentChanges, now: UTCDateTime, nextNumber: Int64, plan: inout PaymentUpsertPlan
        ) throws -> PaymentUpsertPlan.Target {
            let order = try resolveOrder(changes)
            if let id = changes.paymentId {
                // Cin7's own answer for a payment to update that does not exist.
                guard existing[id] != nil else { throw LineFault("Failed") }
                let target = PaymentUpsertPlan.Target.existing(id)
                try update(target, with: changes, order: order, plan: &plan)
                return target
            }
            if let ref = changes.importedRef, let target = importedRefOwners[ref] {
                try update(target, with: changes, order: order, plan: &plan)
                return target
            }
            guard let order else {
                throw LineFault("OrderId or OrderRef of an existing order is needed to insert a payment")
            }
            guard let amount = changes.amount else { throw LineFault("Amount is needed to insert a payment") }
            let created = changes.createdDate ?? now
            var payment = Payment(
                id: 0, number: nextNumber, importedRef: changes.importedRef, orderId: order.id, orderRef: order.ref,
                createdDate: created, amount: amount, date: created)
            payment.apply(changes)
            let target = PaymentUpsertPlan.Target.pending(plan.writes.count)
            try claimKeys(of: payment, replacing: nil, for: target)
            plan.writes.append(.insert(payment))
            plan.numbersUsed += 1
            return target
        }

        private mutating func update(
            _ target: PaymentUpsertPlan.Target, with changes: PaymentChanges, order: Order?, plan: inout PaymentUpsertPlan
        ) throws {
            guard let old = payment(target, in: plan) else { throw LineFault("Failed") }
            guard old.lifeCycleState != .cancelled else {
                throw LineFault("payment \(old.id) is CANCELLED and cannot change")
            }
            var payment = old
            payment.apply(changes)
            if let order {
                payment.orderId = order.id
                payment.orderRef = order.ref
            }
            try claimKeys(of: payment, replacing: old, for: target)
            switch target {
            case .pending(let index):
                plan.writes[index] = .insert(payment)
            case .existing(let id):
                if let index = updateIndex[id] {
                    plan.writes[index] = .update(payment)
                } else {
                    updateIndex[id] = plan.writes.count
                    plan.writes.append(.update(payment))
                }
            }
        }

        /// PaymentImportedRef and BackOfficeCode are unique per account.
        private mutating func claimKeys(of payment: Payment, replacing old: Payment?, for target: PaymentUpsertPlan.Target) throws {
            if let ref = payment.importedRef, let owner = importedRefOwners[ref], owner != target {
                throw LineFault("PaymentImportedRef '\(ref)' belongs to another payment", keyOwner: owner)
            }
            if let code = payment.backOfficeCode, let owner = backOfficeCodeOwners[code], owner != target {
                throw LineFault("BackOfficeCode '\(code)' belongs to another payment", keyOwner: owner)
            }
            if let old {
                if let ref = old.importedRef, ref != payment.importedRef { importedRefOwners[ref] = nil }
                if let code = old.backOfficeCode, code != payment.backOfficeCode { backOfficeCodeOwners[code] = nil }
            }
            if let ref = payment.importedRef, ref != old?.importedRef { importedRefOwners[ref] = target }
            if let code = payment.backOfficeCode, code != old?.backOfficeCode { backOfficeCodeOwners[code] = target }
        }

        private func resolveOrder(_ changes: PaymentChanges) throws -> Order? {
            var byId: Order?
            if let id = changes.orderId {
                guard let order = ordersById[id] else { throw LineFault("order \(id) not found") }
                byId = order
            }
            if let ref = changes.orderRef {
                guard let order = ordersByRef[ref] else { throw LineFault("order '\(ref)' not found") }
                if let byId, byId != order {
                    throw LineFault("OrderId \(byId.id) and OrderRef '\(ref)' name different orders")
                }
                return order
            }
            return byId
        }
    }
}

extension Payment {
    /// Sets the columns a line gave; the order columns are resolved by the planner.
    mutating func apply(_ changes: PaymentChanges) {
        if let value = changes.importedRef { importedRef = value }
        if let value = changes.createdDate { createdDate = value }
        if let value = changes.active { active = value }
        if let value = changes.method { method = value }
        if let value = changes.direction { direction = value }
        if let value = changes.amount { amount = value }
        if let value = changes.date { date = value }
        if let value = changes.transactionAuthorized { transactionAuthorized = value }
        if let value = changes.transactionRef { transactionRef = value }
        if let value = changes.comments { comments = value }
        if let value = changes.backOfficeCode { backOfficeCode = value }
    }
}
