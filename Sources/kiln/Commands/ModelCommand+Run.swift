// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnCore
import KilnImage
import KilnInference

extension ModelCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a model on a JSON input and write its output, to preview what nodes will attest.",
            discussion: """
                Examples:
                  kiln model run kiln/cppn-v1 --input '{"seed": 7, "level": 9}' -o preview.png
                  kiln model run kiln/cppn-float-v1 --upstream http://127.0.0.1:9101 --input '{"level": 3}' -o a.png
                  kiln model run kiln/cppn-float-v1 --upstream http://127.0.0.1:9102 --input '{"level": 3}' -o b.png --compare a.png
                """
        )

        @Argument(help: "The model id (kiln/cppn-v1).") var model: String
        @Option(help: "The input, a JSON object.") var input: String
        @Option(name: [.short, .customLong("out")], help: "Where to write the output.") var output: String
        @Option(help: "Run the model on this upstream model server (as `kiln node serve --upstream` does).")
        var upstream: String?
        @Option(help: "Also print the output's pixel distance to this image (what an agreement policy bounds).")
        var compare: String?

        func run() async throws {
            var models: [any InferenceModel] = [CPPNModel()]
            if let upstream {
                guard let url = HTTPURL.normalized(upstream) else {
                    throw ValidationError("--upstream must be an http:// or https:// URL")
                }
                models = [UpstreamModel(id: model, url: url)]
            }
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
            if let compare {
                let other = try readInputFile(compare, limit: 256 << 20)
                if Keccak256.hash(other) == Keccak256.hash(bytes) {
                    print("\(compare): the same bytes")
                } else if let distance = PixelDistance.between(files: bytes, other) {
                    print("\(compare): \(distance)")
                } else {
                    print("\(compare): not comparable (not an image of the same size)")
                }
            }
        }
    }
}
