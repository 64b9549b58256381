import BigInt
import Foundation
import KilnCore
import KilnStore
import KilnTesting
import Testing

/// `kiln sync` against a real EVM (scripts/dev/devchain.py): Vyper's KilnNFT deployed and driven with web3, states
/// compared with what the contract itself says.
@Suite(.serialized) struct ChainCLITests {
    struct Bench {
        let chain: DevChain
        let folder: URL
        let contract: String

        func site(_ name: String, confirmations: Int = 0) async throws -> URL {
            let dir = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let operators =
                "chainId: \(chain.chainId)\nverifyingContract: \"0x000000000000000000000000000000000000AB1e\"\noperators:\n"
                + "  - {address: \"0x000000000000000000000000000000000000dEaD\", endpoint: \"http://127.0.0.1:1\", stake: \"1\"}\n"
            try Data(operators.utf8).write(to: dir.appendingPathComponent("operators.yml"))
            let yaml = """
                chainId: \(chain.chainId)
                store: data/kiln.sqlite
                out: out
                events: {rpc: "\(chain.url)", fromBlock: 0, blockRange: 7}
                confirmations: \(confirmations)
                contracts:
                  - {address: "\(contract)", template: \(PythonBench.packageRoot.appendingPathComponent("templates/forge-knights").path)}
                operators: {file: operators.yml}

                """
            try Data(yaml.utf8).write(to: dir.appendingPathComponent("kiln.yml"))
            return dir
        }

        func transact(_ calls: [(fn: String, args: [JSONValue], from: Int)]) async throws {
            _ = try await chain.run(
                "transact",
                [
                    "contract": .string(contract),
                    "calls": .array(
                        calls.map { ["fn": .string($0.fn), "args": .array($0.args), "from": .number($0.from)] }
                    ),
                ]
            )
        }

        /// (level, ownerOf) of each token, as the contract answers.
        func onChain(_ ids: ClosedRange<Int>) async throws -> [Int: (level: JSONValue, owner: JSONValue)] {
            let calls: [JSONValue] = ids.flatMap { id -> [JSONValue] in
                [["fn": "level", "args": [.number(id)]], ["fn": "ownerOf", "args": [.number(id)]]]
            }
            let answer = try await chain.run("call", ["contract": .string(contract), "calls": .array(calls)])
            guard case .array(let results)? = answer["results"], results.count == calls.count else { return [:] }
            var out: [Int: (level: JSONValue, owner: JSONValue)] = [:]
            for (offset, id) in ids.enumerated() { out[id] = (results[2 * offset], results[2 * offset + 1]) }
            return out
        }

        var head: UInt64 {
            get async {
                ((try? await chain.rpc("eth_blockNumber"))?.stringValue).flatMap { try? Hex.parseQuantity($0) } ?? 0
            }
        }
    }

    static func sync(_ dir: URL) async throws -> (status: Int32, synced: JSONValue, stderr: String) {
        let result = try await KilnProcess.run(["sync", "--config", "kiln.yml", "--log-format", "json"], in: dir)
        let line = result.stdout.split(separator: "\n").first { $0.contains("\"synced\"") }.map(String.init) ?? "null"
        return (result.status, (try? JSONValue.parse(line)) ?? .null, result.stdout + result.stderr)
    }

    /// Every token's stored state against the contract's own `level` and `ownerOf`.
    static func expectStatesMatchTheChain(_ bench: Bench, _ dir: URL, ids: ClosedRange<Int>) async throws {
        let store = try SQLiteStore(path: dir.appendingPathComponent("data/kiln.sqlite").path)
        let chain = try await bench.onChain(ids)
        for id in ids {
            let token = TokenKey(
                chainId: bench.chain.chainId,
                contract: try Address(hex: bench.contract),
                id: BigUInt(id)
            )
            let state = try await #require(try store.state(token, version: nil), "token \(id) has a state")
            #expect(state.json["level"] == chain[id]?.level, "token \(id) level")
            #expect(state.json["owner"] == chain[id]?.owner, "token \(id) owner")
        }
    }

    @Test func syncFoldsWhatTheContractSaysThroughConfirmationsAndAReorg() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kiln-chain-cli-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let chain = try await DevChain(folder: folder)
        defer { chain.stop() }
        let contract = try #require(try await chain.run("deploy")["address"]?.stringValue)
        let bench = Bench(chain: chain, folder: folder, contract: contract)

        // 20 mints to three holders, level-ups, a transfer.
        var calls: [(fn: String, args: [JSONValue], from: Int)] = (1...20).map {
            ("mint", [["account": .number(2 + $0 % 3)], .number($0)], 0)
        }
        calls += [1, 2, 3, 3, 5, 8, 13].map { ("levelUp", [.number($0)], 0) }
        calls.append(("transferFrom", [["account": 3], ["account": 4], 7], 3))
        try await bench.transact(calls)

        let site = try await bench.site("site")
        let first = try await Self.sync(site)
        #expect(first.status == 0, "\(first.stderr)")
        let headNow = await bench.head
        #expect(first.synced["through"] == .number(headNow) && first.synced["queued"] == 20, "\(first.stderr)")
        try await Self.expectStatesMatchTheChain(bench, site, ids: 1...20)

        // With 5 confirmations the newest 5 blocks wait.
        let careful = try await Self.sync(try bench.site("careful", confirmations: 5))
        let headLater = await bench.head
        #expect(careful.synced["through"] == .number(headLater - 5), "\(careful.stderr)")

        // A branch that will be dropped: token 1 levels up twice and token 21 is minted.
        let snapshot = try await chain.rpc("evm_snapshot")
        let oldHead = await bench.head
        try await bench.transact([("levelUp", [1], 0), ("levelUp", [1], 0), ("mint", [["account": 2], 21], 0)])
        let branch = try await Self.sync(site)
        #expect(branch.status == 0 && branch.synced["queued"] == 2, "\(branch.stderr)")

        // The chain drops it for another: token 2 levels up instead, on more blocks than before.
        #expect(try await chain.rpc("evm_revert", [snapshot]) == true)
        let headAfter = await bench.head
        #expect(headAfter == oldHead)
        try await bench.transact([("levelUp", [2], 0)])
        _ = try await chain.rpc("evm_mine", ["0x4"])
        let reorged = try await Self.sync(site)
        #expect(reorged.status == 1, "a reorg deeper than confirmations (0) is a problem to report: \(reorged.stderr)")
        let notes = String(decoding: (try? reorged.synced["notes"]?.canonicalBytes()) ?? [], as: UTF8.self)
        let problems = String(decoding: (try? reorged.synced["problems"]?.canonicalBytes()) ?? [], as: UTF8.self)
        #expect(notes.contains("reorg: the chain replaced blocks \(oldHead + 1)"), "\(notes)")
        #expect(
            problems.contains("deeper than confirmations (0)")
                && problems.contains("#21: no event names it after the reorg"),
            "\(problems)"
        )
        try await Self.expectStatesMatchTheChain(bench, site, ids: 1...20)
    }
}
