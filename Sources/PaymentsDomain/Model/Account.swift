import Crypto

/// An account: Cin7 credentials (apiid and a hashed apikey), hashed CRM.COM tokens, and the
/// registries cancel requests are resolved in. Comes from the worker's configuration.
public struct Account: Sendable {
    public var apiId: String
    public var apiKeyHash: SecretHash
    public var tokenHashes: [SecretHash]
    public var transactionTypes: [FinancialTransactionType]
    public var categories: [FinancialTransactionCategory]

    public init(apiId: String, apiKeyHash: SecretHash, tokenHashes: [SecretHash] = [],
                transactionTypes: [FinancialTransactionType] = [], categories: [FinancialTransactionCategory] = []) {
        self.apiId = apiId
        self.apiKeyHash = apiKeyHash
        self.tokenHashes = tokenHashes
        self.transactionTypes = transactionTypes
        self.categories = categories
    }

    public func accepts(apiKey: String) -> Bool { apiKeyHash.matches(apiKey) }

    public func accepts(token: String) -> Bool { tokenHashes.contains { $0.matches(token) } }
}

public struct FinancialTransactionType: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var alternativeCode: String?

    public init(id: String, name: String, alternativeCode: String? = nil) {
        self.id = id
        self.name = name
        self.alternativeCode = alternativeCode
    }
}

public struct FinancialTransactionCategory: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var code: String?

    public init(id: String, name: String, code: String? = nil) {
        self.id = id
        self.name = name
        self.code = code
    }
}

/// A salted SHA-256 of a secret: `sha256:<salt hex>:<digest hex>`. The secret itself is never
/// kept, and `description` shows only that a hash is there.
public struct SecretHash: Sendable, Hashable, Codable, CustomStringConvertible {
    public static func == (lhs: SecretHash, rhs: SecretHash) -> Bool { lhs.encoded == rhs.encoded }
    public func hash(into hasher: inout Hasher) { hasher.combine(encoded) }

    public let encoded: String
    // Decoded once: every command's credentials are checked against them.
    private let salt: [UInt8]
    private let digest: [UInt8]

    public init?(encoded: String) {
        let parts = encoded.split(separator: ":")
        guard parts.count == 3, parts[0] == "sha256", let salt = [UInt8](hex: parts[1]),
              let digest = [UInt8](hex: parts[2]), digest.count == 32 else { return nil }
        self.encoded = encoded
        self.salt = salt
        self.digest = digest
    }

    /// Hashes a secret with a fresh random salt.
    public static func hashing(_ secret: String) -> SecretHash {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return hashing(secret, salt: salt)
    }

    static func hashing(_ secret: String, salt: [UInt8]) -> SecretHash {
        let digest = digest(of: secret, salt: salt)
        return SecretHash(encoded: "sha256:\(salt.hexString):\(digest.hexString)", salt: salt, digest: digest)
    }

    private init(encoded: String, salt: [UInt8], digest: [UInt8]) {
        self.encoded = encoded
        self.salt = salt
        self.digest = digest
    }

    private static func digest(of secret: String, salt: [UInt8]) -> [UInt8] {
        digesting(secret, salt: salt) { Array($0) }
    }

    /// The digest lent to `body` in place: every command checks a secret, and copying the
    /// digest into an array (grown byte by byte from a Sequence) cost several allocations.
    private static func digesting<Result>(_ secret: String, salt: [UInt8], _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var hash = SHA256()
        hash.update(data: salt)
        var secret = secret
        secret.withUTF8 { hash.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return hash.finalize().withUnsafeBytes(body)
    }

    /// Constant-time comparison, so timing does not tell how much of a guess was right.
    public func matches(_ secret: String) -> Bool {
        Self.digesting(secret, salt: salt) { candidate in
            candidate.count == digest.count && zip(candidate, digest).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }

    public var description: String { "SecretHash(sha256)" }

    /// Kept as its encoded text; a value that is not a hash is refused when read.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let hash = SecretHash(encoded: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a sha256:<salt>:<digest> hash"))
        }
        self = hash
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(encoded)
    }
}

extension Array where Element == UInt8 {
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(count * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count.isMultiple(of: 2) else { return nil }
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: utf8.count, by: 2) {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self = bytes
    }
}

extension Account {
    /// Resolves `type_identifier` (by id, name or alternative_code).
    public func transactionType(id: String?, name: String?, alternativeCode: String?) throws(DomainError) -> FinancialTransactionType {
        let given = [id, name, alternativeCode].compactMap { $0 }
        guard given.count == 1 else {
            throw DomainError(.validation, "type_identifier needs exactly one of id, name or alternative_code")
        }
        guard let type = transactionTypes.first(where: {
            (id != nil && $0.id == id) || (name != nil && $0.name == name) || (alternativeCode != nil && $0.alternativeCode == alternativeCode)
        }) else {
            throw DomainError(.notFound, "no financial transaction type with \(id.map { "id '\($0)'" } ?? name.map { "name '\($0)'" } ?? "alternative_code '\(alternativeCode ?? "")'")")
        }
        return type
    }

    /// Resolves `category_identifier` (by id, name or code).
    public func transactionCategory(id: String?, name: String?, code: String?) throws(DomainError) -> FinancialTransactionCategory {
        let given = [id, name, code].compactMap { $0 }
        guard given.count == 1 else {
            throw DomainError(.validation, "category_identifier needs exactly one of id, name or code")
        }
        guard let category = categories.first(where: {
            (id != nil && $0.id == id) || (name != nil && $0.name == name) || (code != nil && $0.code == code)
        }) else {
            throw DomainError(.notFound, "no financial transaction category with \(id.map { "id '\($0)'" } ?? name.map { "name '\($0)'" } ?? "code '\(code ?? "")'")")
        }
        return category
    }
}
