import Configuration
import Foundation
import Logging
import SystemPackage

extension WorkerSettings {
    /// A setting that is there but wrong, or a file that cannot be read: names the fault.
    struct Fault: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads the settings from, in order of precedence, `flags`, the `PAYMENT_WORKER_*`
    /// environment variables and the JSON file at `file` (if any).
    static func load(flags: [String: ConfigValue], environment: [String: String], file: String?) async throws -> WorkerSettings {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map { (AbsoluteConfigKey([$0.key]), $0.value) })),
            KeyMappingProvider(upstream: EnvironmentVariablesProvider(environmentVariables: environment)) { key in
                key.prepending(["payment_worker"])
            },
        ]
        if let file {
            try checkKnownKeys(in: file)
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(file)))
            } catch {
                throw Fault(description: "\(file): \(error)")
            }
        }
        return try WorkerSettings(ConfigReader(providers: providers))
    }

    /// A misspelt key would otherwise be silently ignored.
    private static func checkKnownKeys(in file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw Fault(description: "\(file): cannot be read") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw Fault(description: "\(file): not valid JSON (\(error.localizedDescription))")
        }
        guard let settings = object as? [String: Any] else { throw Fault(description: "\(file): expected a JSON object of settings") }
        // Built from the declarations on each use: built once here, not once a key.
        let names = Self.names
        for key in settings.keys.sorted() where !names.contains(key) {
            throw Fault(description: "\(file): unknown setting '\(key)'; the settings are \(names.joined(separator: ", "))")
        }
    }

    private init(_ config: ConfigReader) throws {
        self.init()
        for setting in Self.declarations { try setting.read(config, &self) }
    }
}
