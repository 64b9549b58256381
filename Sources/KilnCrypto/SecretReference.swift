// Kiln — Apache-2.0. See LICENSE.

internal import Foundation

/// Where a secret is read from when needed: an environment variable or a file only its owner can read (0600);
/// never from a configuration file itself. Used for IPFS providers' tokens and operator nodes' bearer tokens.
public enum SecretReference: Sendable, Hashable, CustomStringConvertible {
    case environment(String)
    case file(String)

    /// Parses `env:NAME` or `file:PATH`; nil for anything else (a secret written inline).
    public init?(_ text: String) {
        if text.hasPrefix("env:"), text.count > 4 {
            self = .environment(String(text.dropFirst(4)))
        } else if text.hasPrefix("file:"), text.count > 5 {
            self = .file(String(text.dropFirst(5)))
        } else {
            return nil
        }
    }

    /// `env:NAME` or `file:PATH` (for messages: never the secret).
    public var description: String {
        switch self {
        case .environment(let name): "env:\(name)"
        case .file(let path): "file:\(path)"
        }
    }

    /// The secret, trimmed.
    /// - Throws: ``CryptoError`` when the variable is unset or empty, or the file is missing or readable by others.
    public func value() throws(CryptoError) -> String {
        try value(environment: ProcessInfo.processInfo.environment)
    }

    /// The secret, with `environment` as the process's environment.
    public func value(environment: [String: String]) throws(CryptoError) -> String {
        let text: String
        switch self {
        case .environment(let name):
            guard let value = environment[name] else {
                throw CryptoError(.keyFile, "The environment variable \(name) is not set (named by \(self))")
            }
            text = value
        case .file(let path):
            var bytes = try SecretFile.read(path, what: "secret file", maxBytes: 64 * 1024)
            text = String(decoding: bytes, as: UTF8.self)
            for index in bytes.indices { bytes[index] = 0 }
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw CryptoError(.keyFile, "The secret named by \(self) is empty") }
        return trimmed
    }
}
