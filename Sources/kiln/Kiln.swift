// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnCore

@main
struct Kiln: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Keep the media of dynamic NFTs true to their on-chain state.",
        discussion: """
            Kiln watches token state on chain, asks inference nodes for the generative part of each picture, \
            accepts an answer only when restaked operators signed it, renders the image and publishes it \
            content-addressed. Start with 'kiln demo'; operators run 'kiln batch' from cron.
            """,
        version: KilnVersion.current,
        subcommands: [
            DemoCommand.self, SyncCommand.self, BatchCommand.self, RegenCommand.self, VerifyCommand.self,
            TemplateCommand.self, RenderCommand.self, InferCommand.self, VerifyAttestationCommand.self,
            AttestationCommand.self, NodeCommand.self,
            OperatorsCommand.self, ModelCommand.self, CIDCommand.self, AddCommand.self, ExportCommand.self,
            CARCommand.self, ImageCommand.self, KeyCommand.self,
            EventCommand.self,
        ]
    )
}
