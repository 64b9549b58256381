// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import BigInt
internal import Foundation
internal import KilnCrypto
internal import KilnImage
internal import KilnYAML

/// `kiln init`: a working site in one folder — kiln.yml, a template whose layers are drawn here, recorded chain
/// events, and three local operators (keys and operators.yml) — such that starting the operators' nodes and
/// running `kiln batch` publishes at once.
public enum SiteScaffold {
    /// The contract the sample events come from.
    public static let contract = try! Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
    /// The operators' stakes, in ETH.
    static let stakes = [40, 35, 25]

    /// One local operator.
    public struct Operator: Sendable {
        public var address: Address
        public var keyFile: String
        public var port: Int
        public var endpoint: String { "http://127.0.0.1:\(port)" }
    }

    /// What was written.
    public struct Site: Sendable {
        public var folder: String
        public var config: String
        public var template: String
        public var operators: [Operator]
        /// Every file written, relative to the folder.
        public var files: [String]
    }

    /// Writes the site into `folder` (created; it must be empty unless `replace`), its operators on `ports`.
    public static func write(into folder: String, ports: [Int] = [9101, 9102, 9103]) throws -> Site {
        precondition(ports.count == stakes.count, "one port per operator")
        let files = FileManager.default
        var written: [String] = []
        func put(_ bytes: [UInt8], _ name: String, mode: UInt32 = 0o644) throws {
            let path = folder + "/" + name
            try files.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try AtomicFile.write(bytes, to: path, mode: mode)
            written.append(name)
        }
        try files.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let name = (folder as NSString).standardizingPath.split(separator: "/").last.map(String.init) ?? "kiln-site"

        // The template and its layers.
        try put(Array(templateYAML(title(name)).utf8), "template/template.yml")
        for (file, image) in try layers() { try put(try PNGEncoder().encode(image), "template/assets/\(file)") }

        // Three operators: keys (0600), and the stake table naming their nodes.
        var operators: [Operator] = []
        var entries: [JSONValue] = []
        for (index, port) in ports.enumerated() {
            let key = PrivateKey.random()
            let file = "keys/operator-\(index + 1).key"
            try files.createDirectory(atPath: folder + "/keys", withIntermediateDirectories: true)
            try key.write(toFile: folder + "/" + file)
            written.append(file)
            let address = key.address
            operators.append(Operator(address: address, keyFile: folder + "/" + file, port: port))
            entries.append([
                "address": .string(address.checksummed), "endpoint": .string("http://127.0.0.1:\(port)"),
                "stake": .string("\(stakes[index])000000000000000000"),
            ])
        }
        let table: JSONValue = [
            "chainId": 31337, "verifyingContract": .string(Address.zero.checksummed), "thresholdBps": 6667,
            "operators": .array(entries),
        ]
        try put(
            Array(
                try YAMLWriter.document(
                    table,
                    comment: [
                        "The operators whose signatures Kiln accepts, with their stake (wei) and node; a batch accepts an",
                        "answer signed by operators holding thresholdBps of the stake (every key: docs/reference/operators-yml.md).",
                        "These three are local nodes with keys in keys/: start them as kiln init printed.",
                    ]
                ).utf8
            ),
            "operators.yml"
        )
        try put(Array(events().utf8), "events.jsonl")
        try put(Array(configYAML().utf8), "kiln.yml")
        try put(Array("keys/\nkiln-data/\n".utf8), ".gitignore")
        return Site(
            folder: folder,
            config: folder + "/kiln.yml",
            template: folder + "/template",
            operators: operators,
            files: written
        )
    }

    static func title(_ folder: String) -> String {
        let words = folder.split(whereSeparator: { $0 == "-" || $0 == "_" || $0 == " " })
        let text = words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
        return text.isEmpty ? "My Collection" : text
    }

    static func configYAML() -> String {
        """
        # kiln.yml — this site's configuration. Every key, its default and its KILN_* variable:
        # docs/reference/kiln-yml.md. Relative paths are relative to this file's folder.

        chainId: 31337                       # the chain the contract lives on (31337: a local dev chain)
        store: kiln-data/kiln.sqlite         # what Kiln knows: states, jobs, publications (SQLite; or postgres://…)
        out: kiln-data/out                   # published files: blocks/, batch-<n>.car, contact sheets, manifest.json

        # Where the contract's logs come from: here a file of recorded eth_getLogs objects, one per line.
        # On a real chain: events: {rpc: "https://…", fromBlock: N} and confirmations: 12.
        events: {file: events.jsonl}
        confirmations: 0

        contracts:                           # each collection: its contract and its template folder
          - {address: "\(contract.checksummed)", template: template}

        operators: {file: operators.yml}     # the restaked operators and their nodes

        publish:
          profile: kubo-v1                   # CIDs as `ipfs add --cid-version=1` computes them
          mode: files                        # files | onchain | onchain-base (tokenURI on chain)
          manifest: whole                    # whole | sharded (out/manifest/*.json, for very large collections)
          # ipfs: [{kubo: "http://127.0.0.1:5001"}]   # push every batch to IPFS

        concurrency: 4                       # jobs at once
        nodeTimeout: 20                      # seconds per node answer

        """
    }

    static func templateYAML(_ name: String) -> String {
        """
        # \(name) — a dynamic collection: a crest drawn per token, a generative core from the operators' model,
        # a level raised by LevelUp events. Every key: docs/reference/template-yml.md
        # Preview it: kiln template preview template --count 48
        name: "\(name)"
        size: [256, 256]
        background: {gradient: {from: [0, 0], to: [0, 256], stops: [[0, "#1d2340"], [1, "#0b0d18"]]}}

        state:
          traits:                            # changed by the contract's events
            level: {type: int, default: 1}
            owner: {type: string, default: "0x0000000000000000000000000000000000000000"}
          derive:                            # drawn once per token (the same on every machine)
            crest: "pick('crest', {'shield': 5, 'diamond': 3, 'sun': 2})"
            metal: "pick('metal', {'bronze': 6, 'silver': 3, 'gold': 1})"
            rank: "if(state.level >= 5, 'knight', 'squire')"
          events:
            - signature: "LevelUp(uint256 indexed tokenId, uint256 level)"
              token: tokenId
              set: {level: "event.level"}
            - signature: "Transfer(address indexed from, address indexed to, uint256 indexed tokenId)"
              token: tokenId
              set: {owner: "event.to"}

        inference:                           # the generative core, signed by the operators
          model: kiln/cppn-v1
          input: {seed: "token.id", level: "state.level"}
          size: [96, 96]

        layers:
          - image: "assets/crest_{{state.crest}}.png"
          - image: "assets/metal_{{state.metal}}.png"
            blend: multiply
            mask: {image: "assets/crest_{{state.crest}}.png", channel: alpha}
          - inference: main
            at: [80, 72]
          - image: assets/star.png
            at: [112, 20]
            when: "state.rank == 'knight'"
          - text: "LV {{state.level}}"
            at: [96, 214]
            scale: 2
            color: "#f4e9c8"

        # rules:                             # combinations a launch must never have (kiln template check --stats
        #   - exclude: {crest: sun, metal: bronze}   # shows how many tokens a rule would stop)

        metadata:
          name: "\(name) #{{token.id}}"
          description: "A crest at level {{state.level}}."
          attributes:
            - {trait_type: Level, value: "{{state.level}}", display_type: number}
            - {trait_type: Crest, value: "{{state.crest}}"}
            - {trait_type: Metal, value: "{{state.metal}}"}
            - {trait_type: Rank, value: "{{state.rank}}"}

        """
    }

    /// The layers, drawn in integers: three crest outlines, three metal tints, a star.
    static func layers() throws -> [(String, RGBAImage)] {
        func image(_ size: Int, _ color: (UInt8, UInt8, UInt8), inside: (Int, Int) -> UInt8) throws -> RGBAImage {
            var pixels = [UInt8](repeating: 0, count: size * size * 4)
            for y in 0..<size {
                for x in 0..<size {
                    let alpha = inside(x, y)
                    guard alpha > 0 else { continue }
                    let at = (y * size + x) * 4
                    pixels[at] = color.0
                    pixels[at + 1] = color.1
                    pixels[at + 2] = color.2
                    pixels[at + 3] = alpha
                }
            }
            return try RGBAImage(width: size, height: size, pixels: pixels)
        }
        let c = 128
        let crests: [(String, (Int, Int) -> Bool)] = [
            (
                "shield",
                { x, y in
                    abs(x - c) <= 84 && y >= 40 && y <= 150
                        || (y > 150 && abs(x - c) * 70 <= 84 * (220 - y) && y <= 220)
                }
            ),
            ("diamond", { x, y in abs(x - c) + abs(y - c) <= 104 }),
            ("sun", { x, y in (x - c) * (x - c) + (y - c) * (y - c) <= 96 * 96 }),
        ]
        var out: [(String, RGBAImage)] = []
        for (name, inside) in crests {
            out.append(
                (
                    "crest_\(name).png",
                    try image(256, (236, 232, 220)) { x, y in
                        // An outline 6 px wide inside a body at 70 % opacity.
                        guard inside(x, y) else { return 0 }
                        let edge = !(inside(x - 6, y) && inside(x + 6, y) && inside(x, y - 6) && inside(x, y + 6))
                        return edge ? 255 : 178
                    }
                )
            )
        }
        let metals: [(String, (UInt8, UInt8, UInt8))] = [
            ("bronze", (205, 127, 50)), ("silver", (192, 198, 210)), ("gold", (255, 200, 40)),
        ]
        for (name, color) in metals {
            out.append(("metal_\(name).png", try image(256, color) { _, _ in 255 }))
        }
        out.append(
            (
                "star.png",
                try image(32, (255, 214, 90)) { x, y in
                    let dx = abs(x - 16), dy = abs(y - 16)
                    return dx * dy <= 24 && dx + dy <= 15 ? 255 : 0
                }
            )
        )
        return out
    }

    /// Recorded logs of the contract: eight mints at block 100, then level-ups and a sale.
    static func events() -> String {
        let transfer = Keccak256.hash(utf8: "Transfer(address,address,uint256)").hex
        let levelUp = Keccak256.hash(utf8: "LevelUp(uint256,uint256)").hex
        func word(_ value: BigUInt) -> String { Hex.encode(value.bigEndianBytes()!) }
        func address(_ seed: Int) -> BigUInt {
            BigUInt(bigEndian: Keccak256.hash(utf8: "kiln init holder \(seed)").bytes.suffix(20))
        }
        var lines = ["# Sample logs of \(contract.checksummed): 8 mints, level-ups and a sale (written by kiln init)"]
        var block = 100, index = 0
        func log(_ topics: [String], data: String = "0x") {
            let blockHash = Keccak256.hash(utf8: "kiln init block \(block)").hex
            let transaction = Keccak256.hash(utf8: "kiln init tx \(block) \(index)").hex
            let quotedTopics = topics.map { "\"\($0)\"" }.joined(separator: ",")
            lines.append(
                "{\"address\":\"\(contract.lowercased)\",\"topics\":[\(quotedTopics)],\"data\":\"\(data)\","
                    + "\"blockNumber\":\"0x\(String(block, radix: 16))\",\"blockHash\":\"\(blockHash)\","
                    + "\"transactionHash\":\"\(transaction)\",\"transactionIndex\":\"0x\(String(index, radix: 16))\","
                    + "\"logIndex\":\"0x\(String(index, radix: 16))\",\"removed\":false}"
            )
            index += 1
        }
        for id in 1...8 {
            log([transfer, word(0), word(address(id)), word(BigUInt(id))])
        }
        block = 101
        index = 0
        for (id, level) in [(1, 3), (2, 6), (5, 2), (7, 9)] {
            log([levelUp, word(BigUInt(id))], data: word(BigUInt(level)))
        }
        block = 102
        index = 0
        log([transfer, word(address(3)), word(address(9)), word(BigUInt(3))])
        return lines.joined(separator: "\n") + "\n"
    }
}
