import PaymentsDomain
import PostgresNIO

/// Payments as column arrays, so that a whole batch is written by one `UNNEST` statement
/// instead of a round trip a row.
struct PostgresPaymentColumns {
    /// A nullable text column: the values and, beside them, which are NULL.
    struct NullableText {
        var values: [String] = []
        var nulls: [Bool] = []

        mutating func append(_ value: String?) {
            values.append(value ?? "")
            nulls.append(value == nil)
        }
    }

    var ids: [Int64] = []
    var numbers: [Int64] = []
    var importedRefs = NullableText()
    var orderIds: [Int64] = []
    var createdDates: [String] = []
    var actives: [Int64] = []
    var methods = NullableText()
    var directions: [Int64] = []
    var amounts: [Int64] = []
    var paymentDates = NullableText()
    var authorized: [Int64] = []
    var transactionRefs = NullableText()
    var comments = NullableText()
    var backOfficeCodes = NullableText()
    var states: [String] = []

    var isEmpty: Bool { ids.isEmpty }

    mutating func append(_ payment: Payment) {
        ids.append(payment.id)
        numbers.append(payment.number)
        importedRefs.append(payment.importedRef)
        orderIds.append(payment.orderId)
        createdDates.append(payment.createdDate.cin7)
        actives.append(payment.active ? 1 : 0)
        methods.append(payment.method)
        directions.append(Int64(payment.direction.rawValue))
        amounts.append(payment.amount.scaled)
        paymentDates.append(payment.date?.cin7)
        authorized.append(payment.transactionAuthorized ? 1 : 0)
        transactionRefs.append(payment.transactionRef)
        comments.append(payment.comments)
        backOfficeCodes.append(payment.backOfficeCode)
        states.append(payment.lifeCycleState.rawValue)
    }

    /// `UNNEST(...) AS u(id, number, imported_ref, ...)` over these columns, binding from `$2`
    /// (`$1` is the account).
    func unnest(into binds: inout PostgresBindings) -> String {
        binds.append(ids)
        binds.append(numbers)
        binds.append(importedRefs.values)
        binds.append(importedRefs.nulls)
        binds.append(orderIds)
        binds.append(createdDates)
        binds.append(actives)
        binds.append(methods.values)
        binds.append(methods.nulls)
        binds.append(directions)
        binds.append(amounts)
        binds.append(paymentDates.values)
        binds.append(paymentDates.nulls)
        binds.append(authorized)
        binds.append(transactionRefs.values)
        binds.append(transactionRefs.nulls)
        binds.append(comments.values)
        binds.append(comments.nulls)
        binds.append(backOfficeCodes.values)
        binds.append(backOfficeCodes.nulls)
        binds.append(states)
        return """
            UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::bool[], $6::bigint[], $7::text[], $8::bigint[], $9::text[],
            $10::bool[], $11::bigint[], $12::bigint[], $13::text[], $14::bool[], $15::bigint[], $16::text[], $17::bool[],
            $18::text[], $19::bool[], $20::text[], $21::bool[], $22::text[])
            AS u(id, number, imported_ref, imported_ref_null, order_id, created_date, active, method, method_null, direction,
            amount, payment_date, payment_date_null, transaction_authorized, transaction_ref, transaction_ref_null, comments,
            comments_null, back_office_code, back_office_code_null, life_cycle_state)
            """
    }

    /// The mutable columns' values from `u`, NULLs restored, in `mutableColumnNames` order.
    static let mutableValues = """
        CASE WHEN u.imported_ref_null THEN NULL ELSE u.imported_ref END, u.order_id, u.created_date, u.active,
        CASE WHEN u.method_null THEN NULL ELSE u.method END, u.direction, u.amount,
        CASE WHEN u.payment_date_null THEN NULL ELSE u.payment_date END, u.transaction_authorized,
        CASE WHEN u.transaction_ref_null THEN NULL ELSE u.transaction_ref END,
        CASE WHEN u.comments_null THEN NULL ELSE u.comments END,
        CASE WHEN u.back_office_code_null THEN NULL ELSE u.back_office_code END, u.life_cycle_state
        """

    static let mutableColumnNames = """
        imported_ref, order_id, created_date, active, method, direction, amount, payment_date, transaction_authorized,
        transaction_ref, comments, back_office_code, life_cycle_state
        """
}
