// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import BigInt
import Foundation
import KilnContent
import KilnCore
import KilnPipeline
import KilnTemplates
import KilnYAML

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a whole collection offline: images, ERC-721 metadata, _metadata.json and a CAR to pin.",
        discussion: """
            No chain, no store, no nodes: tokens 1…N of the template at one state (the defaults, or --state), the \
            inference layer drawn by the built-in model the template names (or a marked placeholder for another \
            model). Writes OUT/images/<id>.png, OUT/json/<id>.json (image: ipfs://<CID of the PNG>), \
            OUT/_metadata.json (all, as HashLips writes it) and OUT.car (or --car), whose root — printed — is the \
            CID `ipfs add -r --cid-version=1 OUT` gives. The same template, N and state give the same bytes and \
            CIDs on any machine. A progress bar on a terminal, one JSON line per 1 % otherwise.
            """
    )

    @Option(help: "The template folder.")
    var template: String

    @Option(help: "Build tokens 1…N.")
    var count: Int

    @Option(help: "A JSON or YAML file with traits for every token ({\"level\": 5}); missing ones keep their defaults.")
    var state: String?

    @Option(help: "The contract address the tokens belong to (pick() draws depend on it).")
    var contract = "0x0000000000000000000000000000000000000000"

    @Flag(help: "Draw the inference layer as a placeholder even when its model is built in.")
    var placeholder = false

    @Option(
        name: [.short, .customLong("out")],
        help: "The folder to write (created; a previous build there is replaced)."
    )
    var output: String

    @Option(help: "The CAR file (default: OUT.car beside the folder).")
    var car: String?

    @Option(help: "Tokens rendered at once (default: one per core).")
    var concurrency: Int?

    @OptionGroup var log: OutputOptions

    func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be 1…1000000") }
    }

    func run() async throws {
        let loaded = try loadTemplate(template)
        let address: Address
        do { address = try Address(hex: contract) } catch { throw ValidationError(error.message) }
        var traits: [String: Value] = [:]
        if let state { traits = try readTraits(state, template: loaded) }
        let renderer = CollectionRenderer(template: loaded, contract: address, localModel: !placeholder)
        let console = Console(format: log.format)
        switch renderer.inferenceSource {
        case .none: break
        case .localModel(let id): console.say("inference layer: the built-in model \(id), run here", event: "build")
        case .placeholder(let id):
            console.say("inference layer: a marked placeholder (\(id) is not built in)", event: "build")
        }
        let folder = (output as NSString).standardizingPath
        let carPath = car ?? folder + ".car"
        let total = count
        let started = ContinuousClock.now
        let terminal = log.format == .human
        let bar = ProgressBar()
        let result = try await CollectionBuild.run(
            renderer,
            ids: 1...count,
            traits: traits,
            folder: folder,
            car: carPath,
            concurrency: concurrency
        ) { done in
            if terminal {
                bar.draw(done: done, total: total)
                if done == total { bar.clear() }
            } else if log.format == .json, done == total || done % max(1, total / 100) == 0 {
                let seconds = (ContinuousClock.now - started).inSeconds
                console.emit([
                    "event": "progress", "done": .number(done), "total": .number(total),
                    "tokensPerSecond": .decimal((10 * Double(done) / max(seconds, 0.001)).rounded() / 10),
                ])
            }
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        switch log.format {
        case .json:
            console.emit([
                "event": "built", "root": .string(result.root.description),
                "images": .string(result.images.description),
                "json": .string(result.json.description), "car": .string(result.car), "tokens": .number(result.tokens),
                "seconds": .decimal((seconds * 100).rounded() / 100),
            ])
        case .human:
            print(
                "built \(result.tokens) tokens in \(String(format: "%.1f", seconds)) s (\(String(format: "%.1f", Double(result.tokens) / max(seconds, 0.001))) tokens/s)"
            )
            print("  folder   \(folder)/  (images/, json/, _metadata.json)")
            print("  root     ipfs://\(result.root)")
            print("  images   ipfs://\(result.images)")
            print("  json     ipfs://\(result.json)   (a contract's baseURI: ipfs://\(result.json)/)")
            print("  car      \(result.car)  (\(result.carBytes) bytes; pin it: ipfs dag import \(result.car))")
        }
    }
}

/// Traits from a JSON or YAML file, checked against the template.
func readTraits(_ path: String, template: Template) throws -> [String: Value] {
    let data = try readInputFile(path, limit: 1 << 20)
    let json: JSONValue
    if !(path.hasSuffix(".yml") || path.hasSuffix(".yaml")) {
        do { json = try JSONValue.parse(bytes: Array(data)) } catch {
            throw CLIError("\(path): \(error.message)", cause: error)
        }
    } else {
        json = try YAMLNode.parse(String(decoding: data, as: UTF8.self), file: path).json
    }
    do {
        return try template.state(fromJSON: json, source: path)
    } catch {
        throw CLIError(error.description, cause: error)
    }
}
