/// A money amount: an exact decimal with at most 4 fraction digits, held as an integer count
/// of ten-thousandths. Never binary floating point.
public struct Amount: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public static let scale: Int64 = 10_000
    public static let fractionDigits = 4
    /// 14 integer digits: far beyond any payment, well inside Int64 once scaled.
    public static let maxIntegerDigits = 14

    /// The amount in ten-thousandths.
    public let scaled: Int64

    public init(scaled: Int64) {
        self.scaled = scaled
    }

    public static let zero = Amount(scaled: 0)

    /// Parses `123`, `123.5`, `-0.0001`, `+7.25`. No exponent, no thousands separator, at most
    /// four fraction digits.
    public init(parsing text: some StringProtocol) throws(DomainError) {
        var utf8 = Substring(text).utf8[...]
        var negative = false
        if let sign = utf8.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        var integerDigits = 0
        var significantIntegerDigits = 0
        var fractionDigits = 0
        var seenPoint = false
        var value: Int64 = 0
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                guard !seenPoint else { throw Self.invalid(text) }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw Self.invalid(text) }
            if seenPoint {
                fractionDigits += 1
                guard fractionDigits <= Self.fractionDigits else {
                    throw DomainError(.validation, "amount '\(text)' has more than \(Self.fractionDigits) decimal places")
                }
            } else {
                integerDigits += 1
                // Leading zeros do not count towards the limit.
                if value != 0 || byte != UInt8(ascii: "0") { significantIntegerDigits += 1 }
                guard significantIntegerDigits <= Self.maxIntegerDigits else {
                    throw DomainError(.validation, "amount '\(text)' has more than \(Self.maxIntegerDigits) integer digits")
                }
            }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        guard integerDigits + fractionDigits > 0 else { throw Self.invalid(text) }
        for _ in fractionDigits..<Self.fractionDigits { value *= 10 }
        scaled = negative ? -value : value
    }

    private static func invalid(_ text: some StringProtocol) -> DomainError {
        DomainError(.validation, "amount '\(text)' is not a decimal number such as 123.50")
    }

    /// At least two fraction digits, at most four: `123.5` is `123.50`, `0.1234` stays.
    public var description: String {
        let magnitude = scaled.magnitude
        let integer = magnitude / UInt64(Self.scale)
        var fraction = magnitude % UInt64(Self.scale)
        var digits = Self.fractionDigits
        while digits > 2, fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        var fractionText = String(fraction)
        fractionText = String(repeating: "0", count: digits - fractionText.count) + fractionText
        return (scaled < 0 ? "-" : "") + "\(integer).\(fractionText)"
    }

    public static func < (lhs: Amount, rhs: Amount) -> Bool { lhs.scaled < rhs.scaled }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try Amount(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
