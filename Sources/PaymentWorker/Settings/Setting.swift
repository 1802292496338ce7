import Configuration
import Foundation
import Kafka
import Logging
import PaymentStores

/// One setting of a process (`run`, `gateway`), declared once: its name (the JSON file's key,
/// `<PREFIX>_<NAME>` in the environment, `--name-with-dashes` as a flag unless `flag` says
/// otherwise), its help, whether it is secret, and how it is read into and shown from the
/// process's settings. The flags, the environment, the file, the help text and `config
/// check`'s output all come from the process's `declarations`; a default is the initial
/// value of the property the setting fills.
struct Setting<Settings: ProcessSettings> {
    enum Kind: Equatable {
        /// `--flag VALUE`.
        case value
        /// `--flag NUMBER`.
        case number
        /// `--flag`, true when given.
        case switchFlag
        /// `--flag VALUE`, repeatable; comma-separated in the environment.
        case list
    }

    let name: String
    let flag: String
    let kind: Kind
    let help: String
    let isSecret: Bool
    /// Reads the setting into `settings` if any source gives it; throws a `Fault` naming it.
    let read: (ConfigReader, inout Settings) throws -> Void
    /// The effective value for `config check`, a secret one redacted.
    let show: (Settings) -> Any

    init(
        _ name: String, flag: String? = nil, kind: Kind = .value, secret: Bool = false, help: String,
        read: @escaping (ConfigReader, inout Settings) throws -> Void, show: @escaping (Settings) -> Any
    ) {
        self.name = name
        self.flag = "--" + (flag ?? name.replacingOccurrences(of: "_", with: "-"))
        self.kind = kind
        self.help = help
        self.isSecret = secret
        self.read = read
        self.show = show
    }

    var environmentVariable: String { Settings.environmentPrefix + "_" + name.uppercased() }
    var key: ConfigKey { ConfigKey(name) }

    /// A setting with a value a source gave, in the settings' own sources (flags, then the
    /// environment, then the file).
    static func isGiven(_ name: String, in config: ConfigReader) -> Bool {
        let key = ConfigKey(name)
        return config.string(forKey: key) != nil || config.stringArray(forKey: key) != nil
            || config.int(forKey: key) != nil || config.bool(forKey: key) != nil
    }
}

extension Setting {
    static func text(
        _ name: String, _ path: WritableKeyPath<Settings, String>, secret: Bool = false, help: String,
        show: @escaping (String) -> Any = { $0 }
    ) -> Setting {
        Setting(name, secret: secret, help: help, read: { config, settings in
            if let value = config.string(forKey: ConfigKey(name), isSecret: secret) { settings[keyPath: path] = value }
        }, show: { show($0[keyPath: path]) })
    }

    /// Unset by default; an empty value unsets it.
    static func optionalText(_ name: String, _ path: WritableKeyPath<Settings, String?>, help: String) -> Setting {
        Setting(name, help: help, read: { config, settings in
            guard let value = config.string(forKey: ConfigKey(name)) else { return }
            settings[keyPath: path] = value.isEmpty ? nil : value
        }, show: { settings -> Any in settings[keyPath: path].map { $0 as Any } ?? NSNull() })
    }

    static func number(
        _ name: String, _ path: WritableKeyPath<Settings, Int>, atLeast minimum: Int, atMost maximum: Int = .max, help: String
    ) -> Setting {
        Setting(name, kind: .number, help: help, read: { config, settings in
            if let value = try wholeNumber(name, in: config, atLeast: minimum, atMost: maximum) { settings[keyPath: path] = value }
        }, show: { $0[keyPath: path] })
    }

    /// A duration, given and shown in whole seconds.
    static func seconds(_ name: String, _ path: WritableKeyPath<Settings, Duration>, atLeast minimum: Int, help: String) -> Setting {
        Setting(name, kind: .number, help: help, read: { config, settings in
            if let value = try wholeNumber(name, in: config, atLeast: minimum, atMost: .max) { settings[keyPath: path] = .seconds(value) }
        }, show: { Int($0[keyPath: path].components.seconds) })
    }

    static func switchFlag(_ name: String, _ path: WritableKeyPath<Settings, Bool>, help: String) -> Setting {
        Setting(name, kind: .switchFlag, help: help, read: { config, settings in
            guard isGiven(name, in: config) else { return }
            guard let value = config.bool(forKey: ConfigKey(name)) else { throw SettingsFault(description: "\(name): expected true or false") }
            settings[keyPath: path] = value
        }, show: { $0[keyPath: path] })
    }

    static func list(_ name: String, flag: String, _ path: WritableKeyPath<Settings, [String]>, help: String) -> Setting {
        Setting(name, flag: flag, kind: .list, help: help, read: { config, settings in
            if let values = strings(name, in: config, secret: false) { settings[keyPath: path] = values }
        }, show: { $0[keyPath: path] })
    }

    /// One of a fixed set of words.
    static func choice<Value: RawRepresentable & CaseIterable>(
        _ name: String, _ path: WritableKeyPath<Settings, Value>, help: String
    ) -> Setting where Value.RawValue == String {
        Setting(name, help: help, read: { config, settings in
            guard let text = config.string(forKey: ConfigKey(name)) else { return }
            guard let value = Value(rawValue: text) else {
                throw SettingsFault(description: "\(name): '\(text)' is not one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            settings[keyPath: path] = value
        }, show: { $0[keyPath: path].rawValue })
    }

    static func wholeNumber(_ name: String, in config: ConfigReader, atLeast minimum: Int, atMost maximum: Int) throws -> Int? {
        guard isGiven(name, in: config) else { return nil }
        guard let value = config.int(forKey: ConfigKey(name)) else { throw SettingsFault(description: "\(name): expected a whole number") }
        guard value >= minimum else { throw SettingsFault(description: "\(name): \(value) is below \(minimum)") }
        guard value <= maximum else { throw SettingsFault(description: "\(name): \(value) is above \(maximum)") }
        return value
    }

    /// A list: an array in the file or from flags, comma-separated text in the environment.
    static func strings(_ name: String, in config: ConfigReader, secret: Bool) -> [String]? {
        config.stringArray(forKey: ConfigKey(name), isSecret: secret)
            ?? config.string(forKey: ConfigKey(name), isSecret: secret).map { $0.split(separator: ",").map(String.init) }
    }
}
