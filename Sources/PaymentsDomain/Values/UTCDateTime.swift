/// A UTC date and time to the second, with no time-zone arithmetic to go wrong.
///
/// Accepted: `yyyy-MM-dd HH:mm:ss` (hour of 1 or 2 digits, as in the seed's
/// `2013-09-16 1:00:00`), `yyyy-MM-dd`, and ISO 8601 `yyyy-MM-ddTHH:mm:ss` with an optional `Z`.
/// Written as `yyyy-MM-dd HH:mm:ss` (Cin7) or `yyyy-MM-ddTHH:mm:ss` (CRM). The Cin7 form is
/// also how stores keep it: fixed width, so text order is time order.
public struct UTCDateTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int
    public let hour: Int
    public let minute: Int
    public let second: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) throws(DomainError) {
        guard Self.exists(year, month, day, hour, minute, second) else {
            throw DomainError(.validation, "date \(year)-\(month)-\(day) \(hour):\(minute):\(second) does not exist")
        }
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    private static func exists(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> Bool {
        (1...9999).contains(year) && (1...12).contains(month) && (1...daysIn(month: month, year: year)).contains(day)
            && (0...23).contains(hour) && (0...59).contains(minute) && (0...59).contains(second)
    }

    public init(parsing text: some StringProtocol) throws(DomainError) {
        var text = String(text)
        // Reads the string's own UTF-8 storage: no copy for the two dates of every line.
        let parsed = text.withUTF8 { Self.parse(DigitReader(bytes: $0)) }
        guard let (year, month, day, hour, minute, second) = parsed else {
            throw DomainError(.validation, "date '\(text)' is not yyyy-MM-dd, yyyy-MM-dd HH:mm:ss or yyyy-MM-ddTHH:mm:ss")
        }
        guard Self.exists(year, month, day, hour, minute, second) else {
            throw DomainError(.validation, "date '\(text)' does not exist")
        }
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    private static func parse(_ start: DigitReader) -> (Int, Int, Int, Int, Int, Int)? {
        var reader = start
        guard let year = reader.digits(4), reader.skip("-"), let month = reader.digits(2),
              reader.skip("-"), let day = reader.digits(2)
        else { return nil }
        if reader.atEnd { return (year, month, day, 0, 0, 0) }
        let iso = reader.skip("T")
        guard iso || reader.skip(" ") else { return nil }
        // The seed writes a 1-digit hour in the Cin7 form; ISO 8601 always has two.
        guard let hour = iso ? reader.digits(2) : reader.digits(1...2), reader.skip(":"),
              let minute = reader.digits(2), reader.skip(":"), let second = reader.digits(2)
        else { return nil }
        if iso { _ = reader.skip("Z") }
        guard reader.atEnd else { return nil }
        return (year, month, day, hour, minute, second)
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    public init(secondsSince1970 seconds: Int64) {
        let days = Int(seconds.quotientFloorDividing(86_400))
        let secondsOfDay = Int(seconds - Int64(days) * 86_400)
        // Howard Hinnant's civil-from-days.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        (self.year, self.month, self.day) = (year, month, day)
        (hour, minute, second) = (secondsOfDay / 3_600, secondsOfDay % 3_600 / 60, secondsOfDay % 60)
    }

    /// `yyyy-MM-dd HH:mm:ss`, the Cin7 form.
    public var cin7: String { formatted(separator: UInt8(ascii: " ")) }
    /// `yyyy-MM-ddTHH:mm:ss`, the CRM.COM form.
    public var crm: String { formatted(separator: UInt8(ascii: "T")) }
    public var description: String { cin7 }

    /// Appends the Cin7 form's 19 bytes: stores write two dates a payment, and a `String` each
    /// would be an allocation each.
    public func appendCin7(to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: 19))
        bytes.withUnsafeMutableBufferPointer { all in
            _ = write(into: UnsafeMutableBufferPointer(rebasing: all[start...]), separator: UInt8(ascii: " "))
        }
    }

    /// Written digit by digit: stores format two dates a payment, so this is a hot path.
    private func formatted(separator: UInt8) -> String {
        String(unsafeUninitializedCapacity: 19) { write(into: $0, separator: separator) }
    }

    private func write(into buffer: UnsafeMutableBufferPointer<UInt8>, separator: UInt8) -> Int {
        func put(_ value: Int, _ width: Int, at offset: Int) {
            var value = value
            for position in stride(from: offset + width - 1, through: offset, by: -1) {
                buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, 4, at: 0)
        buffer[4] = UInt8(ascii: "-")
        put(month, 2, at: 5)
        buffer[7] = UInt8(ascii: "-")
        put(day, 2, at: 8)
        buffer[10] = separator
        put(hour, 2, at: 11)
        buffer[13] = UInt8(ascii: ":")
        put(minute, 2, at: 14)
        buffer[16] = UInt8(ascii: ":")
        put(second, 2, at: 17)
        return 19
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.year, lhs.month, lhs.day, lhs.hour, lhs.minute, lhs.second)
            < (rhs.year, rhs.month, rhs.day, rhs.hour, rhs.minute, rhs.second)
    }
}

private struct DigitReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    var atEnd: Bool { index == bytes.count }

    mutating func skip(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
        index += 1
        return true
    }

    mutating func digits(_ count: Int) -> Int? { digits(count...count) }

    mutating func digits(_ counts: ClosedRange<Int>) -> Int? {
        var value = 0
        var read = 0
        while read < counts.upperBound, index < bytes.count,
              bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
            read += 1
        }
        return read >= counts.lowerBound ? value : nil
    }
}

extension Int64 {
    fileprivate func quotientFloorDividing(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
