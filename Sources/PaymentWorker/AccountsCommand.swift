import ArgumentParser
import Foundation
import PaymentsDomain
import WorkerRuntime

/// `payment-worker accounts add`: a new account whose apikey (and CRM token) is printed once;
/// the accounts file keeps only their hashes.
struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts", abstract: "Manage the accounts file the worker reads (--accounts-file).",
        subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an account; its new apikey (and token) are printed once and stored only hashed.")

        @Option(help: "The accounts file (created if missing).")
        var file: String

        @Option(help: "The account's apiid.")
        var apiid: String

        @Flag(help: "Also make a CRM.COM token for CancelPayment.")
        var token = false

        @Option(name: .customLong("transaction-type"), help: "A financial transaction type, id:name[:alternative_code] (repeatable).")
        var transactionTypes: [String] = []

        @Option(name: .customLong("category"), help: "A financial transaction category, id:name[:code] (repeatable).")
        var categories: [String] = []

        func run() async throws {
            var file = FileManager.default.fileExists(atPath: self.file) ? try AccountsFile.load(self.file) : AccountsFile()
            guard !file.accounts.contains(where: { $0.apiid == apiid }) else {
                throw ValidationError("the account \(apiid) is already in \(self.file)")
            }
            let apiKey = Self.newSecret()
            let crmToken = token ? Self.newSecret() : nil
            file.accounts.append(AccountsFile.Entry(
                apiid: apiid, apikeyHash: SecretHash.hashing(apiKey), tokenHashes: crmToken.map { [SecretHash.hashing($0)] } ?? [],
                transactionTypes: try transactionTypes.map { entry in
                    let parts = try Self.parts(entry, "--transaction-type")
                    return FinancialTransactionType(id: parts[0], name: parts[1], alternativeCode: parts.count > 2 ? parts[2] : nil)
                },
                categories: try categories.map { entry in
                    let parts = try Self.parts(entry, "--category")
                    return FinancialTransactionCategory(id: parts[0], name: parts[1], code: parts.count > 2 ? parts[2] : nil)
                }))
            try file.save(self.file)
            // Printed once, here; nowhere else holds it.
            print("apiid: \(apiid)")
            print("apikey: \(apiKey)")
            if let crmToken { print("token: \(crmToken)") }
        }

        static func newSecret() -> String {
            var generator = SystemRandomNumberGenerator()
            return (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }.hexString.uppercased()
        }

        static func parts(_ entry: String, _ option: String) throws -> [String] {
            let parts = entry.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count >= 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("\(option) takes id:name[:code], not '\(entry)'")
            }
            return parts
        }
    }
}
