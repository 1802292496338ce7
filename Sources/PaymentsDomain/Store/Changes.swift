/// What a write changes in its account, applied by the store in this order: deletions,
/// orders, released keys, payments (in their order), cancellations, counters. Ids of new rows are the
/// store's to assign; the write learns them through `InsertedIds`.
public struct Changes: Sendable {
    public var deletedPaymentIds: [Int64] = []
    public var orders: [OrderChange] = []
    /// Existing payments whose PaymentImportedRef or BackOfficeCode an update below changes:
    /// the store clears both keys of these first, so that the new states (which are unique
    /// among themselves) can be written in any order, swaps and chains of moves included.
    public var paymentsReleasingKeys: [Int64] = []
    /// In order; each payment once, in its final state.
    public var payments: [PaymentChange] = []
    /// New cancellations; their payments are changed in `payments`.
    public var cancellations: [PaymentCancellation] = []
    /// The account's counters from now on, when the write used numbers.
    public var nextPaymentNumber: Int64?
    public var nextCancellationNumber: Int64?

    public init() {}

    public var isEmpty: Bool {
        deletedPaymentIds.isEmpty && orders.isEmpty && paymentsReleasingKeys.isEmpty && payments.isEmpty && cancellations.isEmpty
            && nextPaymentNumber == nil && nextCancellationNumber == nil
    }
}

public enum PaymentChange: Sendable, Hashable {
    /// A new payment; its id is the store's to assign (the value given is ignored).
    case insert(Payment)
    /// The whole new state of an existing payment.
    case update(Payment)
}

public enum OrderChange: Sendable, Hashable {
    case insert(ref: String)
    case rename(Order)
}

/// The ids the store gave the rows a write inserted.
public struct InsertedIds: Sendable {
    /// By index in `Changes.payments`.
    public var payments: [Int: Int64] = [:]
    /// By index in `Changes.orders`.
    public var orders: [Int: Int64] = [:]
    /// In the order of `Changes.cancellations`.
    public var cancellations: [Int64] = []

    public init() {}
}
