import BigInt
import Foundation
import KilnCore
@testable import KilnTemplates
import KilnTesting
import Testing

let exampleFolder = PythonBench.packageRoot.appendingPathComponent("templates/forge-knights").path
let exampleText = try! String(contentsOfFile: exampleFolder + "/template.yml", encoding: .utf8)

/// Checks `text` as a template in the example's folder; returns the errors as `line:col: message` lines.
func problems(_ text: String) -> [String] {
    do {
        _ = try Template.parse(text, folder: exampleFolder, file: "t.yml")
        return []
    } catch {
        return error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
    }
}

struct TemplateCheckTests {
    @Test func theExampleIsValid() throws {
        let template = try Template.load(folder: exampleFolder)
        #expect(template.name == "Forge Knights")
        #expect(template.layers.count == 11)
        #expect(template.traits.map(\.name) == ["level", "owner"])
        #expect(template.derived.map(\.name) == ["armor", "helm", "banner", "rank"])
        #expect(template.derived[1].choices?.sorted() == ["crown", "horned", "plain"])
        #expect(
            template.events.map(\.signature.canonical) == [
                "LevelUp(uint256,uint256)", "Transfer(address,address,uint256)",
            ]
        )
    }

    @Test func reportsEveryProblemAtOnceWithItsPosition() {
        let text = """
            name: Broken
            size: [64, 64]
            colour: "#fff"
            state:
              traits:
                level: {type: integer, default: 1}
                owner: {type: string, default: "0x0"}
              events:
                - signature: "LevelUp(uint256 indexed tokenId, uint256 level"
                  token: tokenId
                  set: {level: "event.level"}
                - signature: "Transfer(address indexed from, address indexed to, uint256 indexed tokenId)"
                  token: to
                  set: {owner: "event.too", levl: "1"}
            layers:
              - image: assets/missing.png
              - image: ../outside.png
              - fill: "#ff0000"
                at: [100, 10]
              - text: "LV {{state.level + 'x'}}"
                blend: multiplyy
              - image: assets/body.png
                size: [9000, 10]
              - inference: main
            metadata:
              background_color: "#1a1026"
              attributes:
                - {value: "{{state.owner}}", display_type: number}
            """
        #expect(
            problems(text) == [
                "3:1: unknown key 'colour' in the template",
                "6:19: unknown type 'integer' (int, decimal, string, bool)",
                "9:19: Unable to parse event signature 'LevelUp(uint256 indexed tokenId, uint256 level' at column 47: expected ',' or ')'",
                "13:14: token must name an integer parameter of Transfer; 'to' is a string",
                "14:21: the event has no parameter 'too' (did you mean 'to'?)",
                "14:33: 'set' can only change declared traits; 'levl' is not one",
                "16:12: asset 'assets/missing.png' is missing",
                "17:12: asset '../outside.png' leaves the template folder ('..')",
                "18:5: the layer (-36×54 at [100, 10]) lies entirely outside the 64×64 canvas",
                "20:17: unknown state 'state.level'",  // 'level' itself was rejected above, so it is unknown here
                "21:12: unknown blend 'multiplyy' (normal, multiply, screen, overlay, add) (did you mean 'multiply'?)",
                "23:12: size must be 1…8192, found 9000",
                "24:16: an inference layer needs an 'inference:' section in the template",
                "26:22: background_color must be six hex digits without '#' (OpenSea), found '#1a1026'",
                "28:16: display_type 'number' needs a numeric value like \"{{state.level}}\"",
            ]
        )
        // With the trait fixed, the type error inside the text layer's hole shows.
        let fixed = text.replacingOccurrences(of: "type: integer", with: "type: int")
        #expect(
            problems(fixed).contains(
                "20:29: '+' adds numbers or joins strings, found int and string (use str() to join a number)"
            )
        )
    }

    @Test func agreementPoliciesAreReadWithPositions() throws {
        let base = exampleText.replacingOccurrences(
            of: "  size: [160, 160]\n",
            with: "  size: [160, 160]\n  agreement: POLICY\n"
        )
        #expect(base != exampleText)
        let line = base.components(separatedBy: "\n").firstIndex { $0.contains("agreement: POLICY") }! + 1
        func parse(_ policy: String) throws -> Template {
            try Template.parse(
                base.replacingOccurrences(of: "POLICY", with: policy),
                folder: exampleFolder,
                file: "t.yml"
            )
        }
        #expect(try parse("exact").inference?.agreement == .exact)
        #expect(
            try parse("{max_channel_diff: 8, max_mse: 2.5}").inference?.agreement
                == .pixels(maxChannelDiff: 8, maxMSEMilli: 2500)
        )
        #expect(
            try parse("{max_channel_diff: 0, max_mse: 0.001}").inference?.agreement
                == .pixels(maxChannelDiff: 0, maxMSEMilli: 1)
        )
        func errors(_ policy: String) -> [String] {
            problems(base.replacingOccurrences(of: "POLICY", with: policy))
        }
        #expect(
            errors("fuzzy") == [
                "\(line):14: inference.agreement must be 'exact' or a mapping {max_channel_diff, max_mse}"
            ]
        )
        #expect(
            errors("{max_channel_diff: 300, max_mse: 1}") == [
                "\(line):33: inference.agreement.max_channel_diff must be 0…255, found 300"
            ]
        )
        #expect(
            errors("{max_channel_diff: 3, max_mse: 1.2345}") == [
                "\(line):45: inference.agreement.max_mse must be a number 0…65025 with at most three decimals, like 2.5"
            ]
        )
        #expect(errors("{max_channel_diff: 3}").first?.hasPrefix("\(line):14: ") == true)
        // A policy is attested: it is part of the inference input (and so of the input hash); exact adds nothing.
        let tolerant = try parse("{max_channel_diff: 8, max_mse: 2.5}")
        let exact = try parse("exact")
        let token = TokenKey(chainId: 1, contract: .zero, id: 5)
        let state = try tolerant.derive(try tolerant.state(fromJSON: ["level": 4], source: "state"), token: token)
        let withPolicy = try #require(try tolerant.inferenceInput(state: state, token: token))
        let without = try #require(try exact.inferenceInput(state: state, token: token))
        #expect(withPolicy.json["agreement"] == AgreementPolicy.pixels(maxChannelDiff: 8, maxMSEMilli: 2500).json)
        #expect(without.json["agreement"] == nil && withPolicy.hash != without.hash)
    }

    @Test func yamlErrorsHavePositionsToo() {
        #expect(problems("name: [unclosed\nsize: [1, 1]\n") == ["2:5: YAML: did not find expected ',' or ']'"])
        #expect(problems("name: a\nname: b\nsize: [1, 1]\nlayers: []\n") == ["1:1: duplicate key 'name'"])
        #expect(problems("") == ["1:1: the file is empty"])
        #expect(problems("- just\n- a list\n") == ["1:1: the template must be a mapping (key: value), found a list"])
        #expect(problems("name: x\nsize: [1, 1]\nlayers: []\n") == ["3:9: layers must not be empty"])
        #expect(problems("name: x\n") == ["1:1: the template needs 'size'", "1:1: the template needs 'layers'"])
    }

    @Test func derivedChoicesAreCheckedAgainstAssetsAndRules() {
        var text = exampleText.replacingOccurrences(
            of: "'gold': 1, 'silver': 3, 'iron': 6",
            with: "'gold': 1, 'silver': 3, 'iron': 6, 'mithril': 1"
        )
        #expect(problems(text).contains { $0.hasSuffix("asset 'assets/armor_mithril.png' is missing") })
        text = exampleText.replacingOccurrences(
            of: "exclude: {armor: iron, helm: crown}",
            with: "exclude: {armor: irn, helm: crown}"
        )
        #expect(
            problems(text).contains {
                $0.contains("'armor' can never be 'irn' (pick() gives gold, iron, silver) (did you mean 'iron'?)")
            }
        )
    }

    @Test func assetsCannotLeaveTheFolderThroughLinks() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-tpl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("assets"),
            withIntermediateDirectories: true
        )
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createSymbolicLink(
            atPath: folder.appendingPathComponent("assets/linked.png").path,
            withDestinationPath: exampleFolder + "/assets/body.png"
        )
        let text = "name: x\nsize: [8, 8]\nlayers:\n  - image: assets/linked.png\n  - image: /etc/hostname\n"
        #expect {
            try Template.parse(text, folder: folder.path, file: "t.yml")
        } throws: { error in
            (error as! TemplateError).diagnostics.map(\.message) == [
                "asset 'assets/linked.png' is a link leading out of the template folder",
                "asset '/etc/hostname' must be a relative path inside the template folder",
            ]
        }
    }

    @Test func notAnImage() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-tpl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("hello".utf8).write(to: folder.appendingPathComponent("x.png"))
        #expect {
            try Template.parse("name: x\nsize: [8, 8]\nlayers:\n  - image: x.png\n", folder: folder.path, file: "t.yml")
        } throws: { error in
            (error as! TemplateError).description
                == "t.yml:4:12: Unable to decode image 'x.png': neither PNG nor JPEG (by its first bytes)"
        }
    }

    /// Random bytes and random mutations of the example never crash the parser or checker: errors only.
    @Test func fuzzNeverCrashes() {
        var generator = SeededGenerator(seed: UInt64.random(in: 0...UInt64.max))
        let seed = generator.state
        let alphabet = Array("{}[]:,-'\"#|>&*!%@`\n\t abcxyz019_.{{}}state.level()+*/<=")
        let source = Array(exampleText)
        var accepted = 0
        for round in 0..<10_000 {
            var text: [Character]
            if round < 3000 {
                text = (0..<Int.random(in: 0...120, using: &generator)).map { _ in
                    Bool.random(using: &generator)
                        ? alphabet.randomElement(using: &generator)!
                        : Character(Unicode.Scalar(UInt8.random(in: 1...127, using: &generator)))
                }
            } else {
                text = source
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    let index = Int.random(in: 0..<text.count, using: &generator)
                    switch Int.random(in: 0..<4, using: &generator) {
                    case 0: text.remove(at: index)
                    case 1: text.insert(alphabet.randomElement(using: &generator)!, at: index)
                    case 2: text[index] = alphabet.randomElement(using: &generator)!
                    default:
                        let end = min(text.count, index + Int.random(in: 1...40, using: &generator))
                        text.removeSubrange(index..<end)
                    }
                }
            }
            do {
                _ = try Template.parse(String(text), folder: exampleFolder, file: "t.yml")
                accepted += 1
            } catch {
                #expect(!error.diagnostics.isEmpty, "seed \(seed), round \(round): an error without a diagnostic")
            }
        }
        #expect(accepted > 0, "some harmless mutations (in comments, say) must still load")
    }
}
