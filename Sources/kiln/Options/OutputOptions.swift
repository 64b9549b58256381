// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import Logging

/// How progress and logs are written.
enum LogFormat: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// For people: a progress bar on a terminal, plain lines otherwise.
    case human
    /// JSON lines: every progress event and every log line is one JSON object.
    case json
}

/// A swift-log level, as an option.
enum LogLevelOption: String, CaseIterable, ExpressibleByArgument, Sendable {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
}

/// `--log-format` and `--log-level`, for every command that logs or reports progress.
struct OutputOptions: ParsableArguments {
    @Option(
        help:
            "Progress and logs as 'human' (a bar on a terminal) or 'json' (JSON lines; the default when stdout is not a terminal)."
    )
    var logFormat: LogFormat?

    @Option(help: "The lowest log level written (default: info, or KILN_LOG_LEVEL).")
    var logLevel: LogLevelOption?

    /// The format in effect: the flag, else JSON unless stdout is a terminal.
    var format: LogFormat { logFormat ?? (isatty(STDOUT_FILENO) == 1 ? .human : .json) }

    /// The level in effect: the flag, else `KILN_LOG_LEVEL`, else info.
    var level: Logger.Level { requestedLevel ?? .info }

    /// The level the flag or `KILN_LOG_LEVEL` asked for, if either did.
    var requestedLevel: Logger.Level? {
        logLevel?.level ?? ProcessInfo.processInfo.environment["KILN_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
    }

    /// Whether `arguments` ask for JSON lines (`--log-format json` or `--log-format=json`), for the one place
    /// that must know before parsing succeeds: reporting a failure.
    static func jsonRequested(in arguments: [String]) -> Bool {
        zip(arguments, arguments.dropFirst()).contains { $0 == "--log-format" && $1 == "json" }
            || arguments.contains("--log-format=json")
    }

    /// Sets up swift-log for this process: JSON lines on stderr with `--log-format json`, plain lines otherwise.
    func bootstrap() {
        KilnLogging.bootstrap(format: format, level: level)
    }
}
