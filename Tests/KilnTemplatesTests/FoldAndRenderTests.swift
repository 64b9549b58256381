import BigInt
import Crypto
import Foundation
import KilnCore
import KilnImage
@testable import KilnTemplates
import KilnTesting
import Testing

let template = try! Template.load(folder: exampleFolder)
let contract = try! Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")

func levelUp(_ id: UInt64, _ level: UInt64, contract: Address = contract) -> EventLog {
    EventLog(
        address: contract,
        topics: [template.events[0].signature.topic0, Bytes32(word: id)],
        data: Bytes32(word: level).bytes
    )
}

func transfer(_ id: UInt64, to: Address, from: Address = .zero) -> EventLog {
    EventLog(
        address: contract,
        topics: [template.events[1].signature.topic0, from.word, to.word, Bytes32(word: id)],
        data: []
    )
}

struct FoldTests {
    let token = TokenKey(chainId: 1, contract: contract, id: 7)
    let alice = try! Address(hex: "0x1111111111111111111111111111111111111111")
    let bob = try! Address(hex: "0x2222222222222222222222222222222222222222")

    @Test func noEventsIsTheDefaults() throws {
        #expect(
            try template.fold([], token: token) == [
                "level": .int(1), "owner": .string("0x0000000000000000000000000000000000000000"),
            ]
        )
    }

    /// Where each event names its token: the topics a store looks a token's logs up by — or nil when one names it
    /// in the data, where only a fold of every log finds it.
    @Test func theTopicsThatNameAToken() throws {
        #expect(template.tokenTopicPositions == [1, 3], "LevelUp's tokenId is topic 1, Transfer's topic 3")
        var inData = template
        inData.events[0].signature = try EventSignature("LevelUp(uint256 tokenId, uint256 level)")
        #expect(inData.tokenTopicPositions == nil)
    }

    @Test func eventsApplyInOrder() throws {
        let logs = [transfer(7, to: alice), levelUp(7, 3), levelUp(7, 5), transfer(7, to: bob, from: alice)]
        #expect(try template.fold(logs, token: token) == ["level": .int(5), "owner": .string(bob.lowercased)])
        // Order matters: the last event wins.
        #expect(try template.fold([levelUp(7, 5), levelUp(7, 3)], token: token)["level"] == .int(3))
    }

    @Test func otherTokensContractsUnknownAndRemovedEventsAreSkipped() throws {
        var removed = levelUp(7, 99)
        removed.removed = true
        let unknown = EventLog(
            address: contract,
            topics: [Keccak256.hash(utf8: "Other(uint256)"), Bytes32(word: 7)],
            data: []
        )
        let logs = [
            levelUp(8, 50), levelUp(7, 4, contract: alice), unknown, removed,
            EventLog(address: contract, topics: [], data: []),
        ]
        #expect(try template.fold(logs, token: token)["level"] == .int(1))
    }

    @Test func foldingContinuesFromAState() throws {
        let first = try template.fold([levelUp(7, 2)], token: token)
        #expect(
            try template.fold([levelUp(7, 6)], token: token, from: first)
                == (try template.fold([levelUp(7, 2), levelUp(7, 6)], token: token))
        )
    }

    @Test func aMalformedTemplateEventIsAnError() {
        let bad = EventLog(
            address: contract,
            topics: [template.events[0].signature.topic0, Bytes32(word: 7)],
            data: [1, 2]
        )
        #expect { try template.fold([bad], token: token) } throws: { error in
            (error as! TemplateError).description.contains(
                "does not decode as LevelUp(uint256,uint256): Unable to decode 'level'"
            )
        }
    }

    @Test func derivedTraitsFollowTheState() throws {
        let state = try template.derive(
            try template.fold([levelUp(7, 12), transfer(7, to: alice)], token: token),
            token: token
        )
        #expect(state["rank"] == .string("champion"))
        #expect(["gold", "silver", "iron"].contains(state["armor"]!.description))
        // A new owner redraws the banner from the owner's address; the armour is the token's for ever.
        var banners: Set<String> = []
        for owner in 1...40 {
            let address = try Address([UInt8](repeating: 0, count: 19) + [UInt8(owner)])
            let s = try template.derive(try template.fold([transfer(7, to: address)], token: token), token: token)
            banners.insert(s["banner"]!.description)
            #expect(s["armor"] == state["armor"])
        }
        #expect(banners.count > 1)
    }

    @Test func stateFromJSONChecksNamesAndTypes() throws {
        #expect(try template.state(fromJSON: ["level": 4], source: "s.json")["level"] == .int(4))
        #expect(
            throws: TemplateError([
                Diagnostic(
                    SourceLocation(file: "s.json", line: 1, column: 1),
                    "'levle' is not a trait of this template (did you mean 'level'?)"
                ),
                Diagnostic(SourceLocation(file: "s.json", line: 1, column: 1), "'owner' must be a string"),
            ])
        ) {
            try template.state(fromJSON: ["levle": 4, "owner": 5], source: "s.json")
        }
    }

    @Test func inferenceInputIsCanonicalJSON() throws {
        let state = try template.derive(try template.fold([levelUp(7, 3)], token: token), token: token)
        let (json, hash) = try #require(try template.inferenceInput(state: state, token: token))
        let text = try json.canonicalString()
        #expect(text == #"{"height":160,"level":3,"palette":"\#(state["armor"]!)","seed":7,"width":160}"#)
        #expect(hash == Keccak256.hash(utf8: text))
    }
}

struct RenderTests {
    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// The example at three states; the inference layer from a fixed, generated image.
    static func render(level: UInt64, owner: UInt8, id: UInt64, with template: Template = template) throws -> (
        png: [UInt8], state: [String: Value], token: TokenKey
    ) {
        let token = TokenKey(chainId: 1, contract: contract, id: BigUInt(id))
        var logs = [levelUp(id, level)]
        if owner > 0 { logs.append(transfer(id, to: try Address([UInt8](repeating: owner, count: 20)))) }
        let state = try template.derive(try template.fold(logs, token: token), token: token)
        var pixels = [UInt8](repeating: 255, count: 160 * 160 * 4)
        for i in 0..<(160 * 160) {
            pixels[i * 4] = UInt8(truncatingIfNeeded: (i % 160) * 3)
            pixels[i * 4 + 1] = UInt8(truncatingIfNeeded: (i / 160) * 2)
            pixels[i * 4 + 2] = UInt8(truncatingIfNeeded: i / 97)
        }
        let inference = try RGBAImage(width: 160, height: 160, pixels: pixels)
        let output = try Renderer(template: template).render(state: state, token: token, inference: inference)
        #expect(!output.usedPlaceholder)
        return (try PNGEncoder().encode(output.raster.rgbaImage), state, token)
    }

    static let goldens = [
        "f3f6146bf0dc1ff55b4b2e0194302bc76f8fdb4507dde3f0fe571e820d88893b",
        "6ae75f7d2f7946e469292e8834fc8b9bdec92a4bf9d7dc39d9f140cc84123439",
        "9cdefb269433cac5742b7ec613a0e08176d0775e6a935dcc93086585836719ad",
    ]

    @Test func threeStatesHaveStableDistinctImages() throws {
        let renders = [
            try Self.render(level: 1, owner: 0, id: 3), try Self.render(level: 6, owner: 0x11, id: 3),
            try Self.render(level: 12, owner: 0x22, id: 3),
        ]
        let digests = renders.map { Self.sha256($0.png) }
        if let folder = ProcessInfo.processInfo.environment["KILN_GOLDEN_OUT"] {
            for (index, render) in renders.enumerated() {
                try Data(render.png).write(to: URL(fileURLWithPath: "\(folder)/forge-\(index + 1).png"))
            }
        }
        #expect(digests == Self.goldens, "render goldens changed (KILN_GOLDEN_OUT=/tmp to look at them)")
        #expect(Set(digests).count == 3, "different states give different pictures")
        // Same state, same bytes, every time.
        #expect(Self.sha256(try Self.render(level: 6, owner: 0x11, id: 3).png) == digests[1])
        // Level 1 → 6 adds the sword and the helm: the pixels differ where those layers are.
        let one = try PNGDecoder().decode(renders[0].png), six = try PNGDecoder().decode(renders[1].png)
        #expect(one[277, 150] != six[277, 150], "the sword appears at level 5")
    }

    /// Assets are read and decoded once per loaded template: a fresh copy renders the same bytes as the shared,
    /// warm one, and renders again — the same bytes — after its asset files are gone.
    @Test func assetsAreDecodedOncePerLoadedTemplate() throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-render-cache-\(UUID())")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: URL(fileURLWithPath: template.folder), to: copy)
        let fresh = try Template.load(folder: copy.path)
        #expect(fresh.renderCache.count == 0)
        let first = try Self.render(level: 6, owner: 0x11, id: 3, with: fresh)
        #expect(first.png == (try Self.render(level: 6, owner: 0x11, id: 3)).png, "a cold cache renders as a warm one")
        // The background gradient, the gradient with forge drawn on it (the layers below the first that a state
        // changes), forge, mask, banner, body, armour, helm, sword and frame.
        #expect(fresh.renderCache.count == 10)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("assets"))
        #expect(try Self.render(level: 6, owner: 0x11, id: 3, with: fresh).png == first.png)
        // An asset no render has used yet is still read when needed: gone, it is a clear error.
        #expect(throws: TemplateError.self) { try Self.render(level: 6, owner: 0x22, id: 3, with: fresh) }
    }

    @Test func placeholderWhenNoInferenceIsGiven() throws {
        let token = TokenKey(chainId: 1, contract: contract, id: 1)
        let state = try template.derive(template.initialState, token: token)
        let output = try Renderer(template: template).render(state: state, token: token, inference: nil)
        #expect(output.usedPlaceholder)
    }

    @Test func metadataIsCanonicalAndHasOpenSeaTypes() throws {
        let (_, state, token) = try Self.render(level: 6, owner: 0x11, id: 3)
        let json = try template.metadata(state: state, token: token, imageURI: "ipfs://bafy")
        let text = try json.canonicalString()
        #expect(try JSONValue.parse(text).canonicalString() == text)
        guard case .object(let fields) = json else { Issue.record("not an object"); return }
        for key in ["name", "description", "external_url", "background_color", "image"] {
            #expect(fields[key]?.stringValue != nil, "\(key) is a string")
        }
        #expect(fields["name"] == "Forge Knight #3")
        #expect(fields["background_color"]?.stringValue?.count == 6)
        let attributes = try #require(fields["attributes"].flatMap { if case .array(let a) = $0 { a } else { nil } })
        #expect(attributes.count == 5, "Helm shows from level 3")
        for attribute in attributes {
            guard case .object(let a) = attribute else { Issue.record("attribute is not an object"); continue }
            #expect(a["trait_type"]?.stringValue != nil)
            switch a["value"] {
            case .string?, .integer?, .decimal?: break
            default: Issue.record("value must be a string or a number: \(attribute)")
            }
            if let display = a["display_type"]?.stringValue {
                #expect(["number", "boost_number", "boost_percentage", "date"].contains(display))
                #expect(a["value"]?.integerValue != nil, "a numeric display_type has a numeric value")
            }
        }
        #expect(attributes[0] == ["trait_type": "Level", "value": 6, "display_type": "number", "max_value": 100])
        let level1 = try template.metadata(
            state: try Self.render(level: 1, owner: 0, id: 3).state,
            token: token,
            imageURI: nil
        )
        if case .array(let list)? = level1["attributes"] { #expect(list.count == 4, "no Helm below level 3") }
    }

    @Test func brokenRulesStopTheRender() throws {
        let token = TokenKey(chainId: 1, contract: contract, id: 1)
        var state = try template.derive(template.initialState, token: token)
        state["armor"] = .string("iron")
        state["helm"] = .string("crown")
        #expect { try Renderer(template: template).render(state: state, token: token, inference: nil) } throws: {
            error in
            (error as! TemplateError).description.hasSuffix(
                "token 1 breaks the rule 'exclude armor=iron with helm=crown'"
            )
        }
    }
}
