// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnCore
import KilnInference

extension ModelCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a built-in model on a JSON input and write its output, to preview what nodes will attest.",
            discussion: "Example: kiln model run kiln/cppn-v1 --input '{\"seed\": 7, \"level\": 9}' -o preview.png"
        )

        @Argument(help: "The model id (kiln/cppn-v1).") var model: String
        @Option(help: "The input, a JSON object.") var input: String
        @Option(name: [.short, .customLong("out")], help: "Where to write the output.") var output: String

        func run() async throws {
            let models: [any InferenceModel] = [CPPNModel()]
            guard let chosen = models.first(where: { $0.id == model }) else {
                throw ValidationError(
                    "Unknown model '\(model)': built in are \(models.map(\.id).joined(separator: ", "))."
                )
            }
            let json: JSONValue
            do { json = try JSONValue.parse(input) } catch { throw ValidationError("--input: \(error.message)") }
            let bytes = try await chosen.run(input: json)
            try AtomicFile.write(bytes, to: output)
            print(
                "\(output): \(bytes.count) bytes, outputHash \(Keccak256.hash(bytes).hex), inputHash \(try json.canonicalHash().hex)"
            )
        }
    }
}
