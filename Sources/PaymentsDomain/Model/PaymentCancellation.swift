/// The POSTED cancellation CRM.COM creates when it cancels a payment.
public struct PaymentCancellation: Sendable, Hashable {
    public var id: Int64
    /// Sequential per account, assigned by the store.
    public var number: Int64
    public var paymentId: Int64
    public var amount: Amount
    public var issuedOn: UTCDateTime
    public var postedOn: UTCDateTime
    public var lifeCycleState: LifeCycleState = .posted
    public var details: CancellationDetails

    public init(id: Int64, number: Int64, paymentId: Int64, amount: Amount, issuedOn: UTCDateTime,
                postedOn: UTCDateTime, details: CancellationDetails) {
        self.id = id
        self.number = number
        self.paymentId = paymentId
        self.amount = amount
        self.issuedOn = issuedOn
        self.postedOn = postedOn
        self.details = details
    }

    /// CRM.COM's reference number of a cancellation: its number.
    public var referenceNumber: String { String(number) }
}

/// What a cancel request stores on the cancellation.
public struct CancellationDetails: Sendable, Hashable {
    public var typeId: String
    public var categoryId: String?
    public var notes: String?
    public var backOfficeCode: String?
    public var issueReason: String?
    /// udf_string_1 to udf_string_8.
    public var udfStrings: [String?]
    /// udf_float_1 to udf_float_4, kept as the decimal text given (never a binary float).
    public var udfFloats: [String?]
    /// udf_date_1 to udf_date_4.
    public var udfDates: [UTCDateTime?]

    public static let udfStringCount = 8
    public static let udfFloatCount = 4
    public static let udfDateCount = 4

    public init(typeId: String, categoryId: String? = nil, notes: String? = nil, backOfficeCode: String? = nil,
                issueReason: String? = nil, udfStrings: [String?] = [], udfFloats: [String?] = [],
                udfDates: [UTCDateTime?] = []) {
        self.typeId = typeId
        self.categoryId = categoryId
        self.notes = notes
        self.backOfficeCode = backOfficeCode
        self.issueReason = issueReason
        self.udfStrings = Self.padded(udfStrings, Self.udfStringCount)
        self.udfFloats = Self.padded(udfFloats, Self.udfFloatCount)
        self.udfDates = Self.padded(udfDates, Self.udfDateCount)
    }

    private static func padded<T>(_ values: [T?], _ count: Int) -> [T?] {
        Array((values + Array(repeating: nil, count: max(0, count - values.count))).prefix(count))
    }
}
