// Kiln — Apache-2.0. See LICENSE.

public import Foundation
public import KilnCore
public import KilnCrypto
public import KilnInference

/// A site of the `forge-knights` template on disk, for tests that run batches in process: `operators.yml` naming
/// the given nodes with their stakes (threshold 66.67 %), the first `mints` logs of the recorded events as
/// `events.jsonl`, and `kiln.yml` (store `data/kiln.sqlite`, output `out/`). Nothing is run.
public struct ForgeKnightsSite: Sendable {
    /// The collection's contract (the recorded events').
    public static let contract = try! Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
    /// The registry the operators sign for.
    public static let registry = try! Address(hex: "0x000000000000000000000000000000000000ab1e")

    /// The site's folder.
    public let folder: URL
    /// `kiln.yml`'s text.
    public let yaml: String

    /// `kiln.yml`'s path.
    public var configurationPath: String { folder.appendingPathComponent("kiln.yml").path }

    /// Writes the site into `folder`; `stakes[i]` (in units of 10¹⁸) is node i's.
    public init(folder: URL, nodes: [LocalNodes.Node], stakes: [Int], mints: Int) throws {
        self.folder = folder
        let operators: [JSONValue] = zip(nodes, stakes).map { node, stake in
            [
                "address": .string(node.address.checksummed), "endpoint": .string(node.endpoint),
                "stake": .string("\(stake)000000000000000000"),
            ]
        }
        // JSON is YAML: the operators file as a JSON document.
        let document: JSONValue = [
            "chainId": 31337, "verifyingContract": .string(Self.registry.checksummed), "thresholdBps": 6667,
            "operators": .array(operators),
        ]
        try Data(try document.canonicalBytes()).write(to: folder.appendingPathComponent("operators.yml"))
        let root = PythonBench.packageRoot.path
        let recorded = try String(contentsOfFile: root + "/examples/forge-knights/events-1.jsonl", encoding: .utf8)
        let lines = recorded.split(separator: "\n").filter { !$0.hasPrefix("#") }.prefix(mints)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("events.jsonl"))
        yaml = """
            store: data/kiln.sqlite
            out: out
            events: {file: events.jsonl}
            contracts:
              - {address: "\(Self.contract.checksummed)", template: \(root)/templates/forge-knights}
            operators: {file: operators.yml}
            nodeTimeout: 120
            """
        try Data(yaml.utf8).write(to: folder.appendingPathComponent("kiln.yml"))
    }

    /// Node keys 1…`count` (a dishonest one where `faults` says), for ``LocalNodes/start(keys:domain:logger:models:configure:)``.
    public static func keys(_ count: Int, faults: [Int: TestFault] = [:]) -> [(PrivateKey, TestFault?)] {
        (1...count).map { index in
            (PrivateKey.test(index), faults[index])
        }
    }
}

extension PrivateKey {
    /// The test key whose scalar is `n` (1…255): the keys the test bench's operators sign with.
    public static func test(_ n: Int) -> PrivateKey {
        try! PrivateKey(bytes: [UInt8](repeating: 0, count: 31) + [UInt8(n)])
    }
}
