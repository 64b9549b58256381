// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnCore
import KilnPipeline

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "The configuration as Kiln resolves it.",
        subcommands: [Show.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Every setting with its value and where it came from: a flag, a KILN_* variable, kiln.yml or the default.",
            discussion: """
                Values are those Kiln uses (paths resolved against kiln.yml's folder). Secrets are never shown: a \
                password in a PostgreSQL URL or PGPASSWORD, KILN_PUBLISHER_KEY and tokens appear as ***; a key or \
                token file appears as its path. --log-format json prints one object with a 'settings' list.
                """
        )

        @OptionGroup var options: PipelineOptions

        func run() throws {
            let overrides = Configuration.Overrides(store: options.store, out: options.out, eventsFile: options.events)
            let settings = try Configuration.settings(
                path: options.config.path,
                environment: ProcessInfo.processInfo.environment,
                overrides: overrides
            )
            if options.output.logFormat == .json {
                let encoded = try JSONValue.parse(bytes: Array(try JSONEncoder().encode(settings)))
                Console(format: .json).emit(.object(["event": "config", "settings": encoded]))
                return
            }
            let keyWidth = settings.map(\.key.count).max() ?? 0
            let valueWidth = min(settings.map(\.value.count).max() ?? 0, 60)
            for setting in settings {
                let key = setting.key.padding(toLength: keyWidth, withPad: " ", startingAt: 0)
                let value =
                    setting.value.count < valueWidth
                    ? setting.value.padding(toLength: valueWidth, withPad: " ", startingAt: 0) : setting.value
                print("\(key)  \(value)  \(setting.source)")
            }
        }
    }
}
