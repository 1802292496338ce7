import Foundation
import PaymentsDomain
import Testing

@Suite("Amounts and dates")
struct ValueTests {
    @Test("amounts are exact decimals written with 2 to 4 fraction digits", arguments: [
        ("0.1", "0.10"), ("123.5", "123.50"), ("99999999.9999", "99999999.9999"), ("50", "50.00"),
        ("-7.25", "-7.25"), ("+3", "3.00"), ("0.0001", "0.0001"), ("1.230", "1.23"), ("007.5", "7.50"), (".5", "0.50"),
    ])
    func amounts(input: String, written: String) throws {
        let amount = try Amount(parsing: input)
        #expect(amount.description == written)
        #expect(try Amount(parsing: amount.description) == amount)
    }

    @Test("0.1 + 0.2 is 0.3 exactly")
    func noBinaryFloatingPoint() throws {
        let sum = Amount(scaled: try Amount(parsing: "0.1").scaled + Amount(parsing: "0.2").scaled)
        #expect(sum == (try Amount(parsing: "0.3")))
    }

    @Test("bad amounts are refused with the value named", arguments: [
        "", "abc", "1.23456", "1e5", "1,000.00", "12.3.4", "--1", "123456789012345", " 1", "NaN",
    ])
    func badAmounts(input: String) {
        let error = #expect(throws: DomainError.self) { try Amount(parsing: input) }
        #expect(error?.code == .validation)
        #expect(error?.message.contains("'\(input)'") == true)
    }

    @Test("every accepted date form", arguments: [
        ("2013-09-16 1:00:00", "2013-09-16 01:00:00"), ("2013-09-16 01:00:00", "2013-09-16 01:00:00"),
        ("2013-09-16", "2013-09-16 00:00:00"), ("2014-07-14T17:06:14", "2014-07-14 17:06:14"),
        ("2014-07-14T17:06:14Z", "2014-07-14 17:06:14"), ("2024-02-29 23:59:59", "2024-02-29 23:59:59"),
    ])
    func dates(input: String, cin7: String) throws {
        let date = try UTCDateTime(parsing: input)
        #expect(date.cin7 == cin7)
        #expect(date.crm == cin7.replacingOccurrences(of: " ", with: "T"))
        #expect(try UTCDateTime(parsing: date.crm) == date)
    }

    @Test("impossible or malformed dates are refused", arguments: [
        "2013-02-29", "2013-13-01", "2013-09-16 24:00:00", "2013-09-16 1:60:00", "16/09/2013", "2013-09-16T1:00:00",
        "2013-09-16 01:00", "2013-9-16", "", "2013-09-16 01:00:00+02:00",
    ])
    func badDates(input: String) {
        #expect(throws: DomainError.self) { try UTCDateTime(parsing: input) }
    }

    @Test("seconds since the epoch become the right calendar date")
    func epoch() throws {
        #expect(UTCDateTime(secondsSince1970: 0).cin7 == "1970-01-01 00:00:00")
        #expect(UTCDateTime(secondsSince1970: 1_379_293_200).cin7 == "2013-09-16 01:00:00")
        #expect(UTCDateTime(secondsSince1970: 951_782_400).cin7 == "2000-02-29 00:00:00")
        #expect(UTCDateTime(secondsSince1970: -1).cin7 == "1969-12-31 23:59:59")
    }

    @Test("secrets are stored salted and hashed, and only the right one matches")
    func secretHashes() throws {
        let hash = SecretHash.hashing("12345")
        #expect(!hash.encoded.contains("12345"))
        #expect(hash.matches("12345"))
        #expect(!hash.matches("12346"))
        #expect(hash.description == "SecretHash(sha256)")
        #expect(SecretHash.hashing("12345") != hash, "a fresh salt each time")
        #expect(SecretHash(encoded: hash.encoded) == hash)
        #expect(SecretHash(encoded: "plain:12345") == nil)
    }
}
