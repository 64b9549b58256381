// Kiln — Apache-2.0. See LICENSE.

public import ArgumentParser
import Foundation
import Hummingbird
import KilnCore
import KilnCrypto
public import KilnInference
import Logging

extension TestFault: ExpressibleByArgument {}

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run an inference / operator node.",
        subcommands: [Serve.self]
    )
}
