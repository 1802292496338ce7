import Foundation
import PaymentsDomain

/// A cancellation's user-defined fields, kept together as one JSON text column.
struct UDFValues: Codable {
    var strings: [String?]
    var floats: [String?]
    var dates: [String?]

    init(_ details: CancellationDetails) {
        strings = details.udfStrings
        floats = details.udfFloats
        dates = details.udfDates.map { $0?.cin7 }
    }

    var json: String {
        // Encoding optional strings cannot fail.
        (try? String(decoding: JSONEncoder().encode(self), as: UTF8.self)) ?? "{}"
    }

}
