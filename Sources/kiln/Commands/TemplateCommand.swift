// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import BigInt
import Foundation
import KilnContent
import KilnCore
import KilnImage
import KilnTemplates

struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Work with templates (a folder with template.yml and its assets).",
        subcommands: [New.self, Check.self, Preview.self, ImportHashLips.self]
    )
}
