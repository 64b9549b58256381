// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import BigInt
import Foundation
import KilnContent
import KilnCore
import KilnImage
import KilnTemplates

/// Loads a template, printing its errors with a caret line under each when stderr is a terminal.
func loadTemplate(_ folder: String) throws -> Template {
    do {
        return try Template.load(folder: folder)
    } catch {
        if isatty(STDERR_FILENO) == 1 {
            let path = folder + "/" + Template.fileName
            let source =
                (try? FileBytes.read(path, limit: 4 << 20)).map { [path: String(decoding: $0, as: UTF8.self)] } ?? [:]
            throw CLIError(error.rendered(source: source))
        }
        throw CLIError(error.description)
    }
}

func percent(_ part: Int, _ whole: Int) -> String {
    String(format: "%5.1f %%", 100 * Double(part) / Double(max(1, whole)))
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
