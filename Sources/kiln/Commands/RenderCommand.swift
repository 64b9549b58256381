// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import BigInt
import Foundation
import KilnContent
import KilnCore
import KilnImage
import KilnTemplates

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render one token's image (and metadata) offline from a template and a state.",
        discussion: """
            Without --inference, an inference layer is drawn as a marked placeholder, and the command says so. \
            With --metadata, the ERC-721 metadata is written too, its image field the image's CID (kubo-v1).
            """
    )

    @Option(help: "The template folder.")
    var template: String

    @Option(help: "A JSON file with the token's traits ({\"level\": 7, …}); missing traits keep their defaults.")
    var state: String

    @Option(help: "The token id.")
    var tokenId = "1"

    @Option(help: "The token's contract address.")
    var contract = "0x0000000000000000000000000000000000000000"

    @Option(help: "The token's chain id (templates read only the contract and the id).")
    var chainId: UInt64 = 31337

    @Option(help: "The inference output (PNG or JPEG) to use for inference layers.")
    var inference: String?

    @Option(name: [.short, .customLong("out")], help: "The PNG to write.")
    var output: String

    @Option(help: "Also write the ERC-721 metadata JSON here.")
    var metadata: String?

    func run() throws {
        let loaded = try loadTemplate(template)
        guard let id = BigUInt(tokenId, radix: 10) else {
            throw ValidationError("--token-id must be a whole number ≥ 0")
        }
        let address: Address
        do { address = try Address(hex: contract) } catch { throw ValidationError(error.message) }
        let token = TokenKey(chainId: chainId, contract: address, id: id)
        let traits = try readTraits(state, template: loaded)
        let full = try loaded.derive(traits, token: token)
        let inferenceImage = try inference.map { try ImageFile.decode(try ImageFile.readBytes($0), source: $0) }
        let result = try Renderer(template: loaded).render(state: full, token: token, inference: inferenceImage)
        let png = try PNGEncoder().encode(result.raster)
        try AtomicFile.write(png, to: output)
        let cid = try Importer(profile: .kuboV1).add(bytes: png).cid
        print("\(output): \(result.raster.width)×\(result.raster.height), \(png.count) bytes, \(cid)")
        if result.usedPlaceholder {
            print("note: the inference layer is a placeholder; pass --inference FILE to use a real output")
        }
        if let metadata {
            let document = try loaded.metadata(state: full, token: token, imageURI: "ipfs://\(cid)")
            try AtomicFile.write(Array(try document.canonicalString().utf8), to: metadata)
            print("\(metadata): metadata written")
        }
    }
}
