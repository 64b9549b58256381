// Kiln — Apache-2.0. See LICENSE.

import Foundation
import KilnCore
import Logging
import Synchronization

/// The process's swift-log setup; only the executable makes loggers (libraries take one).
enum KilnLogging {
    private static let done = Mutex(false)

    /// Installs the handler once: JSON lines or plain lines on stderr, at `level`.
    static func bootstrap(format: LogFormat, level: Logger.Level) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                switch format {
                case .json: JSONLogHandler(label: label)
                case .human: StreamLogHandler.standardError(label: label)
                }
            handler.logLevel = level
            return handler
        }
    }
}

/// A swift-log handler that writes each record as one canonical JSON object on stderr:
/// `{"label":…,"level":…,"message":…,"metadata":{…},"time":…}`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = Self.line(level: event.level, label: label, message: "\(event.message)", metadata: merged)
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// The JSON line for one record.
    static func line(
        level: Logger.Level,
        label: String,
        message: String,
        metadata: Logger.Metadata,
        error: (any Error)? = nil
    ) -> String {
        var fields: [String: JSONValue] = [
            "time": .string(ISO8601DateFormatter().string(from: Date())), "level": .string(level.rawValue),
            "label": .string(label),
            "message": .string(message),
        ]
        if !metadata.isEmpty { fields["metadata"] = .object(metadata.mapValues(json)) }
        // The error and every cause it keeps, as ErrorChain writes them for logs.
        if let error { fields["error"] = ErrorChain.json(error) }
        return (try? JSONValue.object(fields).canonicalString())
            ?? #"{"level":"error","message":"unencodable log line"}"#
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let value): .string(value.description)
        case .array(let items): .array(items.map(json))
        case .dictionary(let map): .object(map.mapValues(json))
        }
    }
}
