import BigInt
import Foundation
import KilnContent
import KilnCore
import KilnImage
import KilnTemplates
import KilnTesting
import Testing

/// The creator's tools, run as a creator runs them: `kiln init` and its printed commands, `kiln template new`,
/// `kiln template import-hashlips` on HashLips-shaped layers drawn here, `kiln build`, and the live preview in
/// Debian's chromium.
struct StudioTests {
    /// A HashLips layers folder: four traits, weights in the file names, a trait without weights (weight 1 each,
    /// as HashLips reads them) and a `None` element (nftchef), 64×64 PNGs drawn here.
    static func hashLipsLayers(in folder: URL) throws -> URL {
        let layers = folder.appendingPathComponent("layers")
        let traits: [(String, [(String, (UInt8, UInt8, UInt8, UInt8))])] = [
            (
                "Background",
                [("Blue#10", (40, 80, 200, 255)), ("Red#5", (200, 50, 40, 255)), ("Green#1", (40, 160, 60, 255))]
            ),
            ("Eye color", [("Amber#3", (230, 160, 30, 255)), ("Grey#7", (150, 150, 150, 255))]),
            ("Mouth", [("Smile", (250, 250, 250, 255)), ("Frown", (20, 20, 20, 255))]),
            ("Hat", [("Cap#2", (90, 40, 140, 255)), ("Crown#1", (255, 210, 0, 255)), ("None#5", (0, 0, 0, 0))]),
        ]
        for (index, (trait, elements)) in traits.enumerated() {
            let dir = layers.appendingPathComponent(trait)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for (name, color) in elements {
                var pixels = [UInt8](repeating: 0, count: 64 * 64 * 4)
                for y in 0..<64 {
                    for x in 0..<64 {
                        // Background fills everything; each later trait a band of its own.
                        let inside =
                            index == 0 || (y >= 8 + 14 * (index - 1) && y < 18 + 14 * (index - 1) && x > 8 && x < 56)
                        guard inside else { continue }
                        let at = (y * 64 + x) * 4
                        pixels[at] = color.0
                        pixels[at + 1] = color.1
                        pixels[at + 2] = color.2
                        pixels[at + 3] = color.3
                    }
                }
                let png = try PNGEncoder().encode(try RGBAImage(width: 64, height: 64, pixels: pixels))
                try Data(png).write(to: dir.appendingPathComponent(name + ".png"))
            }
        }
        return layers
    }

    static let order = "Background,Eye color,Mouth,Hat"

    /// χ² critical values at significance 0.001 for 1…4 degrees of freedom (any statistics table).
    static let critical = [1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467]

    @Test func hashLipsLayersBecomeATemplateWhoseDrawsFollowTheWeights() async throws {
        let folder = try temporaryFolder("hashlips")
        let layers = try Self.hashLipsLayers(in: folder)
        let run = try await KilnProcess.run(
            ["template", "import-hashlips", layers.path, "--order", Self.order, "-o", "faces"],
            in: folder
        )
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(
            run.stdout.contains("4 traits (Background < Eye color < Mouth < Hat), 10 layers copied"),
            "\(run.stdout)"
        )
        let text = try String(contentsOf: folder.appendingPathComponent("faces/template.yml"), encoding: .utf8)
        #expect(text.contains("background: \"pick('background', {'Blue': 10, 'Green': 1, 'Red': 5})\""), "\(text)")
        #expect(text.contains("mouth: \"pick('mouth', {'Frown': 1, 'Smile': 1})\""))
        #expect(text.contains("hat: \"pick('hat', {'Cap': 2, 'Crown': 1, 'None': 5})\""))
        #expect(text.contains("when: \"state.hat != 'None'\""), "None draws nothing")

        // The stacking order is --order's, and every trait's draws over 10 000 ids match its weights.
        let template = try Template.load(folder: folder.appendingPathComponent("faces").path)
        #expect(template.layers.count == 4)
        let stats = try template.stats(count: 10_000, contract: .zero)
        let weights: [String: [String: Double]] = [
            "background": ["Blue": 10, "Red": 5, "Green": 1], "eye_color": ["Amber": 3, "Grey": 7],
            "mouth": ["Smile": 1, "Frown": 1], "hat": ["Cap": 2, "Crown": 1, "None": 5],
        ]
        #expect(Set(stats.distributions.map(\.trait)) == Set(weights.keys))
        for (trait, counts) in stats.distributions {
            let written = weights[trait]!
            let total = written.values.reduce(0, +)
            var chiSquare = 0.0
            for (value, tokens) in counts {
                let expected = 10_000 * written[value]! / total
                chiSquare += (Double(tokens) - expected) * (Double(tokens) - expected) / expected
            }
            let limit = Self.critical[written.count - 1]!
            #expect(chiSquare < limit, "\(trait): χ² = \(chiSquare) over \(counts) (limit \(limit) at 0.001)")
        }

        // Metadata in HashLips' shape; a None draws no attribute.
        try Data(#"{}"#.utf8).write(to: folder.appendingPathComponent("state.json"))
        var sawNone = false, sawHat = false
        for id in 1...12 {
            let render = try await KilnProcess.run(
                [
                    "render", "--template", "faces", "--state", "state.json", "--token-id", "\(id)", "-o", "t.png",
                    "--metadata", "t.json",
                ],
                in: folder
            )
            #expect(render.status == 0, "\(render.stderr)")
            let json = try JSONValue.parse(bytes: Array(try Data(contentsOf: folder.appendingPathComponent("t.json"))))
            guard case .array(let attributes)? = json["attributes"] else { continue }
            let types = attributes.compactMap { $0["trait_type"]?.stringValue }
            #expect(Array(types.prefix(3)) == ["Background", "Eye color", "Mouth"])
            if types.count == 4 { sawHat = true } else { sawNone = true }
            #expect(json["name"]?.stringValue == "faces #\(id)")
        }
        #expect(sawNone && sawHat, "12 tokens draw both a hat and None")
    }

    @Test func layersThatCannotBeMappedAreEachNamedAndNothingIsWritten() async throws {
        let folder = try temporaryFolder("hashlips-bad")
        let layers = try Self.hashLipsLayers(in: folder)
        let files = FileManager.default
        try files.copyItem(
            at: layers.appendingPathComponent("Hat/Cap#2.png"),
            to: layers.appendingPathComponent("Hat/Top Hat#2.png")
        )
        try Data("not an image".utf8).write(to: layers.appendingPathComponent("Mouth/notes.txt"))
        try files.copyItem(
            at: layers.appendingPathComponent("Mouth/Smile.png"),
            to: layers.appendingPathComponent("Mouth/Grin#lots.png")
        )
        let small = try PNGEncoder().encode(
            try RGBAImage(width: 32, height: 32, pixels: [UInt8](repeating: 255, count: 32 * 32 * 4))
        )
        try Data(small).write(to: layers.appendingPathComponent("Background/Tiny#1.png"))
        let run = try await KilnProcess.run(
            ["template", "import-hashlips", "layers", "--order", Self.order + ",Shoes", "-o", "faces"],
            in: folder
        )
        #expect(run.status == 1)
        for expected in [
            "layers/Hat/Top Hat#2.png: the name 'Top Hat' has a space; rename the file (e.g. 'Top_Hat#2.png')",
            "layers/Mouth/notes.txt: not a PNG file",
            "layers/Mouth/Grin#lots.png: the weight after '#' must be a whole number ≥ 0",
            "layers/Background/Tiny#1.png: 32×32, but most layers are 64×64",
            "layers/Shoes: --order names 'Shoes', which is not a folder here",
        ] {
            #expect(run.stderr.contains(expected), "\(expected)\n--- got:\n\(run.stderr)")
        }
        #expect(!files.fileExists(atPath: folder.appendingPathComponent("faces/template.yml").path))
    }

    @Test func aBuildIsHashLipsLayoutAndACARWhoseRootIsTheFoldersCID() async throws {
        let folder = try temporaryFolder("build")
        let layers = try Self.hashLipsLayers(in: folder)
        let imported = try await KilnProcess.run(
            ["template", "import-hashlips", layers.path, "--order", Self.order, "-o", "faces"],
            in: folder
        )
        #expect(imported.status == 0, "\(imported.stderr)")
        let build = try await KilnProcess.run(
            ["build", "--template", "faces", "--count", "30", "-o", "out", "--log-format", "json"],
            in: folder
        )
        #expect(build.status == 0, "\(build.stderr)")
        let lines = build.stdout.split(separator: "\n").compactMap { try? JSONValue.parse(bytes: Array($0.utf8)) }
        #expect(lines.contains { $0["event"] == "progress" && $0["done"] == .number(30) }, "JSON progress lines")
        guard let built = lines.last, built["event"] == "built", let root = built["root"]?.stringValue else {
            Issue.record("no summary: \(build.stdout)")
            return
        }
        let out = folder.appendingPathComponent("out")
        let all = try JSONValue.parse(bytes: Array(try Data(contentsOf: out.appendingPathComponent("_metadata.json"))))
        guard case .array(let documents) = all else {
            Issue.record("_metadata.json is not an array")
            return
        }
        #expect(documents.count == 30)
        for id in [1, 17, 30] {
            let png = Array(try Data(contentsOf: out.appendingPathComponent("images/\(id).png")))
            let json = try JSONValue.parse(
                bytes: Array(try Data(contentsOf: out.appendingPathComponent("json/\(id).json")))
            )
            let cid = try Importer(profile: .kuboV1).add(bytes: png).cid
            #expect(json["image"]?.stringValue == "ipfs://\(cid)")
            #expect(documents[id - 1] == json)
        }
        // The root is the folder's CID as computed by an independent UnixFS importer (Python, multiformats).
        let independent = try await PythonBench.run(
            "content.py",
            [
                "op": "add", "paths": [.string(out.path)],
                "profile": ["chunk": 262_144, "width": 174, "raw": true, "version": 1],
            ]
        )["result"]!.items[0]
        #expect(independent["cid"]?.stringValue == root)
        let verified = try await KilnProcess.run(["car", "verify", "out.car"], in: folder)
        #expect(
            verified.status == 0 && verified.stdout.contains("1 roots present"),
            "\(verified.stdout)\(verified.stderr)"
        )
        let listed = try await KilnProcess.run(["car", "ls", "out.car"], in: folder)
        #expect(listed.stdout.hasPrefix("root \(root)\n"), "\(listed.stdout)")

        // A smaller build into the same folder replaces it: the folder's CID is the new root again.
        let smaller = try await KilnProcess.run(
            [
                "build", "--template", "faces", "--count", "12", "-o", "out", "--car", "small.car", "--log-format",
                "json",
            ],
            in: folder
        )
        let smallRoot = try await PythonBench.run(
            "content.py",
            [
                "op": "add", "paths": [.string(out.path)],
                "profile": ["chunk": 262_144, "width": 174, "raw": true, "version": 1],
            ]
        )["result"]!.items[0]["cid"]?.stringValue
        #expect(smallRoot != root && smaller.stdout.contains("\"root\":\"\(smallRoot ?? "?")\""), "\(smaller.stdout)")
        try Data("notes".utf8).write(to: folder.appendingPathComponent("mine.txt"))
        let refused = try await KilnProcess.run(
            ["build", "--template", "faces", "--count", "2", "-o", "."],
            in: folder
        )
        #expect(refused.status == 1 && refused.stderr.contains("holds no earlier build"), "\(refused.stderr)")

        // The same template and count give the same bytes: a second build is identical.
        let again = try await KilnProcess.run(
            ["build", "--template", "faces", "--count", "30", "-o", "again", "--log-format", "json"],
            in: folder
        )
        #expect(again.stdout.contains("\"root\":\"\(root)\""))
        #expect(
            try Data(contentsOf: folder.appendingPathComponent("again.car"))
                == Data(contentsOf: folder.appendingPathComponent("out.car"))
        )
    }

    @Test func templateNewStartsATemplateThatChecksAndRenders() async throws {
        let folder = try temporaryFolder("template-new")
        let made = try await KilnProcess.run(["template", "new", "glyphs", "--size", "256", "192"], in: folder)
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("glyphs/template.yml: 'glyphs', 256×192"))
        let check = try await KilnProcess.run(["template", "check", "glyphs", "--stats", "100"], in: folder)
        #expect(check.status == 0 && check.stdout.contains("duplicates:"), "\(check.stdout)\(check.stderr)")
        try Data(#"{"level": 12}"#.utf8).write(to: folder.appendingPathComponent("s.json"))
        let render = try await KilnProcess.run(
            ["render", "--template", "glyphs", "--state", "s.json", "-o", "g.png", "--metadata", "g.json"],
            in: folder
        )
        #expect(render.status == 0 && render.stdout.contains("g.png: 256×192"), "\(render.stdout)\(render.stderr)")
        let again = try await KilnProcess.run(["template", "new", "glyphs"], in: folder)
        #expect(again.status == 1 && again.stderr.contains("'glyphs' is not empty"))
    }

    @Test func initThenThePrintedCommandsPublishABatch() async throws {
        let folder = try temporaryFolder("init")
        let ports = try (0..<3).map { _ in try freeLoopbackPort() }
        let made = try await KilnProcess.run(
            ["init", "site", "--node-ports", ports.map(String.init).joined(separator: ",")],
            in: folder
        )
        #expect(made.status == 0, "\(made.stderr)")
        let commands = made.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("kiln ") }
        #expect(commands.count == 3, "three commands: \(made.stdout)")
        guard commands.count == 3 else { return }
        // The first starts the three nodes (`kiln node serve … &` each); run each as a service.
        var nodes: [ServiceProcess] = []
        defer { nodes.forEach { $0.stop() } }
        for part in commands[0].split(separator: "&").map({ $0.trimmingCharacters(in: .whitespaces) })
        where !part.isEmpty {
            let arguments = part.split(separator: " ").dropFirst().map(String.init)
            nodes.append(
                try await ServiceProcess.start(
                    KilnProcess.executable,
                    arguments,
                    name: "node",
                    directory: folder,
                    accept: { $0.hasPrefix("listening on ") }
                )
            )
        }
        #expect(nodes.count == 3)
        let batch = try await KilnProcess.run(
            commands[1].split(separator: " ").dropFirst().map(String.init) + ["--log-format", "json"],
            in: folder,
            environment: ["KILN_NODE_TIMEOUT": "120"]
        )
        #expect(batch.status == 0, "\(batch.stdout)\(batch.stderr)")
        #expect(batch.stdout.contains("\"published\":8"), "\(batch.stdout)")
        #expect(commands[2] == "kiln serve --config site/kiln.yml")
        // Keys are the owner's alone; a second init into the same folder is refused.
        let mode =
            try FileManager.default.attributesOfItem(
                atPath: folder.appendingPathComponent("site/keys/operator-1.key").path
            )[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try await KilnProcess.run(["init", "site"], in: folder)
        #expect(again.status == 1 && again.stderr.contains("'site' is not empty"))
    }

    /// The preview in chromium: the grid, the rarity table against `kiln template check --stats`, duplicates, an
    /// error at its position after a broken edit, and the page updating by itself after an asset is edited.
    @Test func thePreviewShowsTheCollectionAndFollowsEdits() async throws {
        // The layers the creator's guide imports (drawn by scripts/generators/hashlips_layers.py with Pillow).
        let folder = try temporaryFolder("preview")
        let drawn = try await KilnProcess.run(
            [PythonBench.packageRoot.appendingPathComponent("scripts/generators/hashlips_layers.py").path, "layers"],
            in: folder,
            program: PythonBench.python
        )
        #expect(drawn.status == 0, "\(drawn.stderr)")
        let imported = try await KilnProcess.run(
            ["template", "import-hashlips", "layers", "--order", "Background,Body,Eyes,Hat", "-o", "faces"],
            in: folder
        )
        #expect(imported.status == 0, "\(imported.stderr)")
        let count = 40
        let server = try await ServiceProcess.start(
            KilnProcess.executable,
            ["template", "preview", "faces", "--count", "\(count)", "--port", "0"],
            name: "kiln template preview",
            directory: folder,
            accept: { $0.hasPrefix("preview of ") }
        )
        defer { server.stop() }
        let url = String(server.firstLine.split(separator: " ").last ?? "")
        let screenshots =
            ProcessInfo.processInfo.environment["KILN_UPDATE_SCREENSHOTS"] == "1"
            ? PythonBench.packageRoot.appendingPathComponent("docs/images") : folder
        let page = try await PythonBench.run(
            "preview_browser.py",
            [
                "url": .string(url), "template": .string(folder.appendingPathComponent("faces").path),
                "break": [
                    "  - image: \"assets/hat/",
                    "  - image: \"assets/hat/{{state.hatt}}.png\"\n    opacty: 2\n  - image: \"assets/hat/",
                ],
                "asset": ["assets/background/Ember.png", "assets/background/Dusk.png"],
                "screenshots": .string(screenshots.path),
            ]
        )
        #expect(page["tokens"] == .number(count))
        guard case .array(let images)? = page["images"] else {
            Issue.record("no images: \(page)")
            return
        }
        #expect(images.count == count)
        for image in images {
            let fields = image.items
            #expect(fields.count == 3 && fields[1] == JSONValue.number(128), "\(image)")
        }

        // The rarity table is what `kiln template check --stats` counts.
        let stats = try await KilnProcess.run(["template", "check", "faces", "--stats", "\(count)"], in: folder)
        var expected: [[String]] = []
        var trait = ""
        for line in stats.stdout.split(separator: "\n") {
            if line.hasSuffix(":") && !line.hasPrefix(" ") { trait = String(line.dropLast()) }
            let fields = line.split(separator: " ")
            if line.hasPrefix("  "), fields.count == 4, line.hasSuffix("%") {
                expected.append([trait, String(fields[0]), String(fields[1])])
            }
        }
        let shown: [[String]] = (page["rarity"]?.items ?? []).map { row in
            let cells = row.items.map { $0.stringValue ?? "" }
            return cells.count == 5 ? [cells[0], cells[1], cells[4]] : cells
        }
        #expect(!expected.isEmpty && shown == expected, "page \(shown)\nstats \(expected)")
        let duplicates = stats.stdout.split(separator: "\n").filter { $0.hasPrefix("  tokens #") }
        #expect(!duplicates.isEmpty, "40 tokens of 3·2·3·3 combinations repeat some")
        let first = duplicates.first.map { String($0.dropFirst("  tokens ".count)) } ?? ""
        #expect(
            page["duplicates"]?.items.first?.stringValue?.hasPrefix(first.replacingOccurrences(of: ", …", with: ""))
                == true
        )

        // The broken edit: shown with its position, the page reloaded by itself.
        let errors = page["errors"]?.items.compactMap(\.stringValue) ?? []
        #expect(errors.contains { $0.hasPrefix("template.yml:") && $0.contains("unknown key 'opacty'") }, "\(errors)")
        #expect(errors.contains { $0.contains("unknown state 'state.hatt'") }, "\(errors)")
        #expect(page["restored"] == .bool(true))

        // The asset edit: the Dusk-background tokens changed, the others did not, every image loaded.
        let changed = page["changed"]?.integerValue.map { Int($0) } ?? 0
        let unchanged = page["unchanged"]?.integerValue.map { Int($0) } ?? 0
        #expect(changed > 0 && unchanged > 0 && changed + unchanged == count, "\(changed) + \(unchanged)")
        for image in page["afterAsset"]?.items ?? [] {
            let fields = image.items
            #expect(fields.count == 3 && fields[1] == JSONValue.number(128), "\(image)")
        }
    }
}

extension JSONValue {
    fileprivate var items: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }
}
