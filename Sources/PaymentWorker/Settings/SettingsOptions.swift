import ArgumentParser
import Configuration
import Foundation

/// The flags of a process (`run`, `gateway`) and of its `config check`: `--config FILE`, and
/// one flag for each setting of its `declarations` (each is also `<PREFIX>_<NAME>` in the
/// environment and `<name>` in the file; a flag given wins). The setting flags are read from
/// that table rather than declared a second time; `--help` lists them from it too.
struct SettingsOptions<Settings: ProcessSettings>: ParsableArguments {
    static var settingsHelp: String {
        var text = "Settings (flag, environment variable, default; the JSON file takes the names in snake_case):\n"
        let defaults = Settings()
        for setting in Settings.declarations {
            let value = setting.kind == .switchFlag ? "" : setting.kind == .number ? " <n>" : " <value>"
            let shown = setting.show(defaults)
            let fallback = shown is NSNull || (shown as? [String])?.isEmpty == true ? "none" : "\(shown)"
            text += "\(setting.flag)\(value): \(setting.help) (\(setting.environmentVariable), default \(fallback))\n"
        }
        return text
    }

    @Option(help: "A JSON settings file (<PREFIX>_CONFIG: PAYMENT_WORKER_CONFIG, PAYMENT_GATEWAY_CONFIG); see README, Operations.")
    var config: String?

    /// The setting flags, as given: read by `flagValues`.
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Setting flags: see below.", visibility: .hidden))
    var settingFlags: [String] = []

    /// The flags given, as the top layer of the settings.
    func flagValues() throws -> [String: ConfigValue] {
        let declarations = Dictionary(uniqueKeysWithValues: Settings.declarations.map { ($0.flag, $0) })
        var values: [String: ConfigValue] = [:]
        var lists: [String: (secret: Bool, values: [String])] = [:]
        var remaining = settingFlags[...]
        while let token = remaining.popFirst() {
            let (flag, inlineValue) = Self.split(token)
            guard let setting = declarations[flag] else {
                throw ValidationError("unknown option '\(token)'; the settings are listed by --help")
            }
            let secret = setting.isSecret
            if setting.kind == .switchFlag {
                guard let on = Bool(inlineValue ?? "true") else { throw ValidationError("\(flag): expected true or false") }
                values[setting.name] = ConfigValue(.bool(on), isSecret: secret)
                continue
            }
            guard let value = inlineValue ?? remaining.popFirst() else { throw ValidationError("missing value for '\(flag)'") }
            switch setting.kind {
            case .list:
                lists[setting.name, default: (secret, [])].values.append(value)
            case .number:
                guard let number = Int(value) else { throw ValidationError("\(flag): expected a whole number, not '\(value)'") }
                values[setting.name] = ConfigValue(.int(number), isSecret: secret)
            case .value, .switchFlag:
                values[setting.name] = ConfigValue(.string(value), isSecret: secret)
            }
        }
        for (name, list) in lists {
            values[name] = ConfigValue(.stringArray(list.values), isSecret: list.secret)
        }
        return values
    }

    /// `--name=value` or `--name`.
    private static func split(_ token: String) -> (flag: String, value: String?) {
        guard let equals = token.firstIndex(of: "=") else { return (token, nil) }
        return (String(token[..<equals]), String(token[token.index(after: equals)...]))
    }

    func settings(environment: [String: String]) async throws -> Settings {
        try await Settings.load(flags: flagValues(), environment: environment, file: config ?? environment[Settings.environmentPrefix + "_CONFIG"])
    }
}

typealias WorkerOptions = SettingsOptions<WorkerSettings>
