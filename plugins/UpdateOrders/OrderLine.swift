import PaymentsDomain

/// One UpdateOrders line: registers an order by OrderRef, or renames the order OrderId names.
public struct OrderLine: Sendable, Hashable {
    public var lineId: String
    public var orderId: Int64?
    public var orderRef: String?
    public var error: String?

    public init(lineId: String, orderId: Int64? = nil, orderRef: String? = nil, error: String? = nil) {
        self.lineId = lineId
        self.orderId = orderId
        self.orderRef = orderRef
        self.error = error
    }
}

public struct OrderLineResult: Sendable, Hashable {
    public var lineId: String
    public var orderId: Int64?
    public var orderRef: String?
    public var errors: String

    public init(lineId: String, orderId: Int64? = nil, orderRef: String? = nil, errors: String = "") {
        self.lineId = lineId
        self.orderId = orderId
        self.orderRef = orderRef
        self.errors = errors
    }

    public static let header = ["LineId", "OrderId", "OrderRef", "Errors"]

    public var csvFields: [String?] { [lineId, orderId.map(String.init), orderRef, errors] }
}

public enum OrderLineDecoder {
    public static func decode(_ document: CSVDocument) throws(DomainError) -> [OrderLine] {
        var columns: [String] = []
        for (index, name) in document.header.enumerated() {
            let column = name.trimmingSpaces.lowercased()
            guard ["lineid", "orderid", "orderref"].contains(column) else {
                throw DomainError(.malformed, "unknown column '\(name.trimmingSpaces)' (column \(index + 1)); the columns are LineId, OrderId, OrderRef")
            }
            guard !columns.contains(column) else { throw DomainError(.malformed, "column \(name.trimmingSpaces) appears twice") }
            columns.append(column)
        }
        return document.records.enumerated().map { index, record in
            var line = OrderLine(lineId: String(index + 1))
            guard record.fields.count == columns.count else {
                line.error = "line \(record.line): \(record.fields.count) values for \(columns.count) columns"
                return line
            }
            if let problem = record.problem { line.error = "line \(record.line): \(problem)" }
            for (column, cell) in zip(columns, record.fields) where !cell.isEmpty {
                switch column {
                case "lineid": line.lineId = cell
                case "orderid":
                    guard let id = Int64(cell), id > 0 else {
                        line.error = line.error ?? "line \(record.line): OrderId '\(cell)' is not an id"
                        continue
                    }
                    line.orderId = id
                default:
                    guard !cell.utf8.contains(0) else {
                        line.error = line.error ?? "line \(record.line): OrderRef contains a NUL character"
                        continue
                    }
                    guard cell.utf8.count <= PaymentField.maxTextLength else {
                        line.error = line.error ?? "line \(record.line): OrderRef is longer than \(PaymentField.maxTextLength) bytes"
                        continue
                    }
                    line.orderRef = cell
                }
            }
            return line
        }
    }
}

/// The writes of one UpdateOrders command.
public struct OrderUpsertPlan: Sendable {
    public typealias Write = OrderChange

    public internal(set) var writes: [Write] = []
    var lines: [(result: OrderLineResult, pendingInsert: Int?)] = []

    public func results(insertedIds: [Int: Int64]) -> [OrderLineResult] {
        lines.map { line in
            var result = line.result
            if let index = line.pendingInsert { result.orderId = insertedIds[index] }
            return result
        }
    }
}

public enum OrderUpsertPlanner {
    public static func keys(for lines: [OrderLine]) -> (ids: Set<Int64>, refs: Set<String>) {
        (Set(lines.compactMap { $0.error == nil ? $0.orderId : nil }),
         Set(lines.compactMap { $0.error == nil ? $0.orderRef : nil }))
    }

    /// OrderRef is required. With OrderId, that order must exist (else `Failed`) and takes the
    /// ref; without, an existing ref is answered with its order, a new one is inserted.
    public static func plan(_ lines: [OrderLine], existing: [Order]) -> OrderUpsertPlan {
        var byId = Dictionary(existing.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var refOwner: [String: Int64?] = Dictionary(existing.map { ($0.ref, Optional($0.id)) }, uniquingKeysWith: { first, _ in first })
        var pendingByRef: [String: Int] = [:]
        var plan = OrderUpsertPlan()
        for line in lines {
            func refuse(_ message: String) {
                plan.lines.append((OrderLineResult(lineId: line.lineId, orderId: line.orderId, orderRef: line.orderRef, errors: message), nil))
            }
            if let error = line.error { refuse(error); continue }
            guard let ref = line.orderRef else { refuse("OrderRef is needed"); continue }
            if let id = line.orderId {
                guard var order = byId[id] else { refuse("Failed"); continue }
                if order.ref != ref {
                    if refOwner[ref] != nil || pendingByRef[ref] != nil { refuse("OrderRef '\(ref)' belongs to another order"); continue }
                    refOwner[order.ref] = nil
                    order.ref = ref
                    byId[id] = order
                    refOwner[ref] = id
                    plan.writes.append(.rename(order))
                }
                plan.lines.append((OrderLineResult(lineId: line.lineId, orderId: id, orderRef: ref), nil))
            } else if let owner = refOwner[ref], let id = owner {
                plan.lines.append((OrderLineResult(lineId: line.lineId, orderId: id, orderRef: ref), nil))
            } else if let pending = pendingByRef[ref] {
                plan.lines.append((OrderLineResult(lineId: line.lineId, orderRef: ref), pending))
            } else {
                pendingByRef[ref] = plan.writes.count
                plan.lines.append((OrderLineResult(lineId: line.lineId, orderRef: ref), plan.writes.count))
                plan.writes.append(.insert(ref: ref))
            }
        }
        return plan
    }
}
