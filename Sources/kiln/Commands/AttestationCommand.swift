// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnAVS
import KilnChain
import KilnContent
import KilnCore
import KilnPipeline
import KilnStore

struct AttestationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attestation",
        abstract: "Work with attestation bundles.",
        subcommands: [OnchainPayload.self]
    )
}
