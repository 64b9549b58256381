import BigInt
import Foundation
import KilnAVS
import KilnChain
import KilnContent
import KilnCore
import KilnCrypto
import KilnInference
import KilnStore
import KilnTesting
import Logging
import Testing

/// ERC-7007 (AI-generated content) with a restaked quorum as its proof: `scripts/contracts/KilnNFT.vy`, once it
/// names the stake registry, verifies a Kiln quorum over (prompt, aigcData) through the registry's ERC-1271 check.
/// Encoded and sent by independent code (eth-abi, web3, eth-utils' keccak for the interface ids).
@Suite(.serialized) struct ERC7007Tests {
    @Test func aTokenVerifiesAKilnQuorumAndNothingElse() async throws {
        let bench = try await OnchainCLITests.Bench()
        let nft = try await bench.collection([1, 2])
        // Before a registry is named the token is a plain ERC-721; after, an ERC-7007 with the Updatable extension.
        let erc7007 = try await bench.chain.run(
            "interfaceId",
            ["functions": ["addAigcData(uint256,bytes,bytes,bytes)", "verify(bytes,bytes,bytes)"]]
        )["id"]
        let updatable = try await bench.chain.run("interfaceId", ["functions": ["update(bytes,bytes)"]])["id"]
        #expect(erc7007 == "0x702c55a6" && updatable == "0x3f37dce2")
        let ids: [JSONValue] = [erc7007 ?? .null, updatable ?? .null, "0x49064906", "0x80ac58cd"]
        let probe = ids.map { ["fn": "supportsInterface", "args": [$0]] as JSONValue }
        #expect(try await bench.view(nft, probe) == [false, false, true, true])
        try await bench.nft(nft, [["fn": "setAigcRegistry", "args": [.string(bench.registry)], "from": 0]])
        #expect(try await bench.view(nft, probe) == [true, true, true, true])

        // A quorum from the registered operators' keys, at a block below the head.
        let (nodes, registry) = try await bench.localOperators()
        defer { nodes.stop() }
        var round = QuorumRound()
        round.timeout = .seconds(120)
        round.waitForAll = true
        func quorum(_ n: UInt64) async throws -> OnchainPayload {
            let block = try await bench.head() - 1
            let report = await round.run(
                JobRequest(jobId: Bytes32(word: n), model: "kiln/cppn-v1", input: job(n).input, referenceBlock: block),
                table: try await registry.stakeTable(at: block)
            )
            #expect(report.accepted?.signers.count == 4, "\(report.summary)")
            return try OnchainPayload(bundle: AttestationBundle.json(report))
        }
        try await bench.registryTransact([["fn": "updateStakeThreshold", "args": [67]]])
        let first = try await quorum(1)
        #expect(first.prompt == (try job(1).input.canonicalBytes()))
        #expect(Keccak256.hash(first.prompt) == job(1).inputHash)

        /// `verify(prompt, aigcData, proof)` on the token, for each case.
        func verify(_ cases: [(prompt: [UInt8], data: [UInt8], proof: [UInt8])]) async throws -> [JSONValue] {
            try await bench.view(
                nft,
                cases.map {
                    [
                        "fn": "verify",
                        "args": [
                            .string(Hex.encode($0.prompt)), .string(Hex.encode($0.data)), .string(Hex.encode($0.proof)),
                        ],
                    ]
                }
            )
        }
        let prompt = first.prompt
        let data = first.outputHash.bytes
        var otherPrompt = prompt
        otherPrompt[otherPrompt.count - 2] ^= 1
        var otherData = data
        otherData[0] ^= 0xff
        // Proofs built from the same signatures by hand: unsorted, a signer too few, a stale reference block.
        func proof(operators: [Address], signatures: [Signature], block: UInt64) -> [UInt8] {
            ABIEncoding.encode([
                .uint(UInt64(0)), .bytes32(first.jobId), .bytes32(first.modelId), .bytes32(.zero), .uint(block),
                .array(operators.map { .address($0) }), .array(signatures.map { .bytes($0.bytes) }),
            ])
        }
        let ops = first.operators
        let sigs = first.signatures
        let verdicts = try await verify([
            (prompt, data, first.erc7007Proof),
            (otherPrompt, data, first.erc7007Proof),
            (prompt, otherData, first.erc7007Proof),
            (prompt, data, proof(operators: ops.reversed(), signatures: sigs.reversed(), block: first.referenceBlock)),
            // Only the 30, the 20 and the 10 (in the registry's weights): 60 of a 67 threshold.
            (
                prompt, data,
                proof(
                    operators: Array(ops.dropFirst()),
                    signatures: Array(sigs.dropFirst()),
                    block: first.referenceBlock
                )
            ),
            (prompt, data, proof(operators: ops, signatures: sigs, block: first.referenceBlock - 1)),
        ])
        #expect(verdicts == [true, false, false, false, false, false], "\(verdicts)")

        // addAigcData with a proof the registry rejects reverts with the registry's own error, which Kiln names.
        let publisher = try await bench.publisherAddress()
        let short = proof(
            operators: Array(ops.dropFirst()),
            signatures: Array(sigs.dropFirst()),
            block: first.referenceBlock
        )
        do {
            _ = try await EthereumRPC(url: bench.chain.url).estimateGas(
                from: publisher,
                to: try Address(hex: nft),
                data: ABIEncoding.call(
                    "addAigcData(uint256,bytes,bytes,bytes)",
                    [.uint(UInt64(1)), .bytes(prompt), .bytes(data), .bytes(short)]
                )
            )
            Issue.record("a proof below the threshold was accepted")
        } catch {
            let revert = (error as? ChainError)?.revertData
            #expect(revert.map { RegistryRejection(revertData: $0).description } == "InsufficientSignedStake()")
        }

        // The first AIGC data of token 1: AigcData(tokenId indexed, prompt indexed, aigcData, proof) and ERC-4906.
        func send(_ fn: String, _ args: [JSONValue]) async throws {
            try await bench.nft(nft, [["fn": .string(fn), "args": .array(args), "from": 1]])
        }
        let hex = { (bytes: [UInt8]) in JSONValue.string(Hex.encode(bytes)) }
        try await send("addAigcData", [1, hex(prompt), hex(data), hex(first.erc7007Proof)])
        let added = try await bench.logs(nft, "AigcData(uint256,bytes,bytes,bytes)")
        #expect(added.count == 1)
        guard case .array(let topics)? = added.first?["topics"], topics.count == 3 else {
            Issue.record("AigcData topics: \(added)")
            return
        }
        #expect(topics[1].stringValue == Bytes32(word: 1).hex)
        #expect(topics[2].stringValue == Keccak256.hash(prompt).hex, "an indexed bytes is its keccak-256")
        let fields = try ABIEncoding.decode(
            [.bytes, .bytes],
            from: try Hex.decode(added.first?["data"]?.stringValue ?? ""),
            function: "AigcData"
        )
        #expect(fields == [.bytes(data), .bytes(first.erc7007Proof)])
        #expect(try await bench.logs(nft, "MetadataUpdate(uint256)").count == 1)
        let stored = try await bench.view(
            nft,
            [["fn": "aigcPromptHash", "args": [1]], ["fn": "aigcDataHash", "args": [1]]]
        )
        #expect(stored == [.string(Keccak256.hash(prompt).hex), .string(Keccak256.hash(data).hex)])

        // A new state: a new quorum, staged (update carries no proof in ERC-7007), then update.
        let second = try await quorum(2)
        try await send("stageUpdate", [1, hex(second.prompt), hex(second.outputHash.bytes), hex(second.erc7007Proof)])
        try await send("update", [hex(second.prompt), hex(second.outputHash.bytes)])
        let updates = try await bench.logs(nft, "Update(uint256,bytes,bytes)")
        guard case .array(let updateTopics)? = updates.first?["topics"], updates.count == 1, updateTopics.count == 4
        else {
            Issue.record("Update: \(updates)")
            return
        }
        #expect(
            updateTopics.map(\.stringValue) == [
                Keccak256.hash(utf8: "Update(uint256,bytes,bytes)").hex, Bytes32(word: 1).hex,
                Keccak256.hash(second.prompt).hex, Keccak256.hash(second.outputHash.bytes).hex,
            ]
        )
        #expect(
            try await bench.view(nft, [["fn": "aigcPromptHash", "args": [1]]])
                == [.string(Keccak256.hash(second.prompt).hex)]
        )
        #expect(try await bench.logs(nft, "MetadataUpdate(uint256)").count == 2)
    }

    /// `publish.erc7007`: a batch publishes ERC-7007 tokens (tokenURI, then addAigcData with the quorum's proof and
    /// the ERC-7007 metadata fields), a re-render stages and updates, `kiln verify` checks the logs against the
    /// published media, and a proof the token's registry rejects is reported with the registry's error.
    @Test func aBatchPublishesERC7007TokensAndVerifyReadsThem() async throws {
        let bench = try await OnchainCLITests.Bench()
        let nft = try await bench.collection([1, 2, 3])
        try await bench.nft(nft, [["fn": "setAigcRegistry", "args": [.string(bench.registry)], "from": 0]])
        let site = try await bench.site("site-7007", contract: nft, mode: "onchain", erc7007: true)
        func calls(_ outcome: Outcome) -> [String] {
            OnchainCLITests.transactions(outcome).compactMap { $0["call"] as? String }
        }
        let first = try await site.kiln()
        #expect(first.status == 0 && first.summary?["published"] as? Int == 3, "\(first.transcript)")
        #expect(calls(first).filter { $0.hasPrefix("addAigcData(") }.count == 3, "\(calls(first))")
        #expect(try await bench.logs(nft, "AigcData(uint256,bytes,bytes,bytes)").count == 3)

        // The metadata carries ERC-7007's fields: the prompt is the job's canonical input, aigc_data the image.
        let store = try SQLiteStore(path: site.store)
        let token2 = TokenKey(chainId: bench.chain.chainId, contract: try Address(hex: nft), id: 2)
        let publication = try #require(try await store.latestPublication(token2))
        let blocks = try FilesystemBlockstore(folder: site.out.appendingPathComponent("blocks").path)
        let reader = UnixFSReader(blockstore: blocks)
        let metadata = try JSONValue.parse(bytes: try reader.cat(try CID(publication.metadata)))
        let bundle = try JSONValue.parse(bytes: try reader.cat(try CID(try #require(publication.attestation))))
        #expect(metadata["aigc_type"] == "image" && metadata["proof_type"] == "quorum")
        #expect(metadata["aigc_data"]?.stringValue == metadata["image"]?.stringValue)
        #expect(metadata["prompt"]?.stringValue == (try bundle["request"]?["input"]?.canonicalString()))
        let verified = try await KilnProcess.run(["verify", "\(nft):2", "--config", "kiln.yml"], in: site.dir)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("ERC-7007: the token's AigcData (block"), "\(verified.stdout)")
        #expect(verified.stdout.contains("verified: byte-identical"), "\(verified.stdout)")
        let again = try await site.kiln()
        #expect(again.status == 0 && calls(again).isEmpty, "no change, no transaction: \(again.transcript)")

        // Token 2 levels up: a new prompt and output, staged with its proof, then update.
        try await bench.nft(nft, [["fn": "levelUp", "args": [2], "from": 0]])
        let second = try await site.kiln()
        #expect(second.status == 0, "\(second.transcript)")
        #expect(
            calls(second).map { String($0.prefix(while: { $0 != "(" })) } == ["setTokenURI", "stageUpdate", "update"],
            "\(calls(second))"
        )
        #expect(try await bench.logs(nft, "Update(uint256,bytes,bytes)").count == 1)
        let reverified = try await KilnProcess.run(["verify", "\(nft):2", "--config", "kiln.yml"], in: site.dir)
        #expect(
            reverified.status == 0 && reverified.stdout.contains("ERC-7007: the token's Update (block"),
            "\(reverified.stdout)\(reverified.stderr)"
        )

        // The token now asks another registry, where these operators are unknown: the next proof is refused with
        // that registry's own error, and the run says so.
        let other = try #require(try await bench.chain.run("deploy", ["name": "StakeRegistry"])["address"]?.stringValue)
        try await bench.nft(nft, [["fn": "setAigcRegistry", "args": [.string(other)], "from": 0]])
        try await bench.nft(nft, [["fn": "levelUp", "args": [3], "from": 0]])
        let refused = try await site.kiln()
        #expect(refused.status != 0, "\(refused.transcript)")
        #expect(
            refused.transcript.contains("stageUpdate: rejected by the registry: InvalidSignature()"),
            "\(refused.transcript)"
        )
    }
}
