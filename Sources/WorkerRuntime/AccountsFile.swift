import Foundation
import PaymentsDomain

/// The accounts a worker serves, as JSON: apiids with hashed apikeys and CRM tokens, and each
/// account's registries of transaction types and categories. Secrets are never in it.
public struct AccountsFile: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var apiid: String
        public var apikeyHash: SecretHash
        public var tokenHashes: [SecretHash]
        public var transactionTypes: [FinancialTransactionType]
        public var categories: [FinancialTransactionCategory]

        public init(apiid: String, apikeyHash: SecretHash, tokenHashes: [SecretHash] = [],
                    transactionTypes: [FinancialTransactionType] = [], categories: [FinancialTransactionCategory] = []) {
            self.apiid = apiid
            self.apikeyHash = apikeyHash
            self.tokenHashes = tokenHashes
            self.transactionTypes = transactionTypes
            self.categories = categories
        }

        enum CodingKeys: String, CodingKey {
            case apiid
            case apikeyHash = "apikey_hash"
            case tokenHashes = "token_hashes"
            case transactionTypes = "transaction_types"
            case categories
        }

        var account: Account {
            Account(apiId: apiid, apiKeyHash: apikeyHash, tokenHashes: tokenHashes,
                    transactionTypes: transactionTypes, categories: categories)
        }
    }

    public var accounts: [Entry] = []

    public init() {}

    public static func load(_ path: String) throws -> AccountsFile {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            return try JSONDecoder().decode(AccountsFile.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw AccountsFileError("\(path): \(context.debugDescription) at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch let DecodingError.keyNotFound(key, context) {
            throw AccountsFileError("\(path): '\(key.stringValue)' is missing at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw AccountsFileError("\(path): wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        }
    }

    public func save(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Written whole to a new file, then moved over the old one.
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public var directory: AccountDirectory { AccountDirectory(accounts.map(\.account)) }
}

public struct AccountsFileError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
