// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnPipeline

/// `--config`, for every command that reads kiln.yml.
struct ConfigOptions: ParsableArguments {
    @Option(help: "The configuration file (default: KILN_CONFIG, else kiln.yml).")
    var config: String?

    /// The file to read: `--config`, else `KILN_CONFIG`, else `kiln.yml`.
    var path: String { config ?? ProcessInfo.processInfo.environment["KILN_CONFIG"] ?? "kiln.yml" }

    /// kiln.yml with the environment's `KILN_*` overrides and `overrides` (flags) applied.
    func load(_ overrides: Configuration.Overrides = .init()) throws -> Configuration {
        try Configuration.resolve(path: path, environment: ProcessInfo.processInfo.environment, overrides: overrides)
    }

    /// Like ``load(_:)``, or nil when there is no configuration file at all (commands that can work without one).
    func loadIfPresent() throws -> Configuration? {
        FileManager.default.fileExists(atPath: path) ? try load() : nil
    }
}
