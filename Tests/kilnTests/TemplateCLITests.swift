import Foundation
import KilnTesting
import Testing

struct TemplateCLITests {
    let example = PythonBench.packageRoot.appendingPathComponent("templates/forge-knights").path

    @Test func checkTheExample() async throws {
        let result = try await KilnProcess.run(["template", "check", example])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout
                == "\(example): OK — 'Forge Knights', 384×384, 2 traits, 4 derived, 2 events, 11 layers, inference kiln/cppn-v1, 2 rules\n"
        )
    }

    @Test func statsShowTheDistribution() async throws {
        let result = try await KilnProcess.run(["template", "check", example, "--stats", "500"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("armor:\n  gold "))
        #expect(result.stdout.contains("rule 'exclude armor=iron with helm=crown' ("))
        #expect(result.stdout.contains("broken by 0 of 500 tokens"))
    }

    @Test func brokenTemplateListsEveryErrorAndExits1() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cli-tpl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("name: x\nsize: [10, 10]\nlayers:\n  - fill: \"#zz\"\n  - text: \"{{state.nope}}\"\n".utf8)
            .write(to: folder.appendingPathComponent("template.yml"))
        let result = try await KilnProcess.run(["template", "check", folder.path])
        #expect(result.status == 1)
        let path = folder.path + "/template.yml"
        #expect(
            result.stderr == """
                Error: \(path):4:12: fill: Unable to parse colour '#zz': expected #rgb, #rrggbb or #rrggbbaa
                \(path):5:14: unknown state 'state.nope'

                """
        )
        let missing = try await KilnProcess.run(["template", "check", "/nonexistent"])
        #expect(
            missing.status == 1
                && missing.stderr.contains("no template here: '/nonexistent/template.yml' can't be read")
        )
    }

    @Test func renderWithAndWithoutInference() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kiln-cli-render-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"level": 6}"#.utf8).write(to: folder.appendingPathComponent("state.json"))
        let first = try await KilnProcess.run(
            [
                "render", "--template", example, "--state", "state.json", "--token-id", "3", "-o", "out.png",
                "--metadata", "meta.json",
            ],
            in: folder
        )
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("out.png: 384×384, "))
        #expect(
            first.stdout.contains(
                "note: the inference layer is a placeholder; pass --inference FILE to use a real output"
            )
        )
        let cid = first.stdout.split(separator: "\n")[0].split(separator: " ").last.map(String.init) ?? ""
        let metadata = try String(contentsOf: folder.appendingPathComponent("meta.json"), encoding: .utf8)
        #expect(metadata.contains("\"image\":\"ipfs://\(cid)\""))
        #expect(metadata.contains("\"name\":\"Forge Knight #3\""))
        // The CID printed is the kubo-v1 CID of the PNG written.
        #expect(try await KilnProcess.run(["cid", "out.png"], in: folder).stdout == cid + "\n")

        // With an inference output: no placeholder note, a different picture.
        let halo = try await KilnProcess.run(
            ["image", "convert", example + "/assets/halo_mask.png", "-o", "inference.png"],
            in: folder
        )
        #expect(halo.status == 0)
        let second = try await KilnProcess.run(
            [
                "render", "--template", example, "--state", "state.json", "--token-id", "3", "--inference",
                "inference.png", "-o", "out2.png",
            ],
            in: folder
        )
        #expect(second.status == 0 && !second.stdout.contains("placeholder"))
        #expect(
            try Data(contentsOf: folder.appendingPathComponent("out2.png"))
                != (try Data(contentsOf: folder.appendingPathComponent("out.png")))
        )

        try Data(#"{"levl": 6}"#.utf8).write(to: folder.appendingPathComponent("bad.json"))
        let bad = try await KilnProcess.run(
            ["render", "--template", example, "--state", "bad.json", "-o", "x.png"],
            in: folder
        )
        #expect(
            bad.status == 1
                && bad.stderr.contains("bad.json:1:1: 'levl' is not a trait of this template (did you mean 'level'?)")
        )
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x.png").path))
    }
}
