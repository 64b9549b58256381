import BigInt
import Foundation
import KilnAVS
import KilnChain
import KilnContent
import KilnCore
import KilnCrypto
import KilnInference
import KilnPipeline
import KilnStore
import KilnTesting
import Logging
import Testing

/// The on-chain half of Kiln against a real EVM (scripts/dev/devchain.py): quorum by a Vyper `StakeRegistry`
/// (IECDSAStakeRegistry views), the registry's own ERC-1271 check of what Kiln accepted, and `tokenURI`
/// published by transaction (publish.mode onchain and onchain-base), all with real `kiln node serve` operators.
@Suite(.serialized) struct OnchainCLITests {
    /// Operator addresses (as in EigenLayer, not the keys their nodes sign with) and their weights.
    static let operators = [
        "0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000a2",
        "0x00000000000000000000000000000000000000a3", "0x00000000000000000000000000000000000000a4",
    ]
    static let weights = [40, 30, 20, 10]

    final class Bench {
        let folder: URL
        let chain: DevChain
        let registry: String
        var nodes: [NodeProcess] = []

        init() async throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-onchain-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            chain = try await DevChain(folder: folder)
            registry = try #require(try await chain.run("deploy", ["name": "StakeRegistry"])["address"]?.stringValue)
            var calls: [JSONValue] = []
            for (index, op) in OnchainCLITests.operators.enumerated() {
                let key = "0x" + String(repeating: "0", count: 62) + String(format: "%02x", index + 21)
                let fault = index == 1 ? ["--test-fault", "wrong-output"] : []
                let node = try await NodeProcess(
                    key: key,
                    folder: folder,
                    arguments: ["--chain-id", String(chain.chainId), "--verifying-contract", registry] + fault
                )
                nodes.append(node)
                calls.append([
                    "fn": "registerOperator",
                    "args": [.string(op), .string(node.address), .number(OnchainCLITests.weights[index])],
                ])
            }
            calls.append(["fn": "updateStakeThreshold", "args": [67]])
            try await registryTransact(calls)
        }

        deinit {
            nodes.forEach { $0.stop() }
            chain.stop()
            try? FileManager.default.removeItem(at: folder)
        }

        func registryTransact(_ calls: [JSONValue]) async throws {
            _ = try await chain.run(
                "transact",
                ["contract": .string(registry), "name": "StakeRegistry", "calls": .array(calls)]
            )
        }

        /// A KilnNFT with `ids` minted to key 2.
        /// A KilnNFT with `ids` minted; its publisher is dev-chain key 1, or `publisher`.
        func collection(_ ids: [Int], publisher: String? = nil) async throws -> String {
            let deployed = try await chain.run("deploy", publisher.map { ["args": [.string($0)]] } ?? [:])
            let address = try #require(deployed["address"]?.stringValue)
            try await nft(address, ids.map { ["fn": "mint", "args": [["account": 2], .number($0)], "from": 0] })
            return address
        }

        /// The registered operators' signing keys (the bench's nodes sign with them too).
        static let signingKeys = (0..<4).map {
            try! PrivateKey(bytes: [UInt8](repeating: 0, count: 31) + [UInt8($0 + 21)])
        }

        /// Nodes served by this process with the registered signing keys (serving `models`, the built-in model
        /// unless told otherwise), and the registry that names them with those nodes.
        func localOperators(
            models: (Int) -> [any InferenceModel] = { _ in [CPPNModel()] }
        ) async throws -> (nodes: LocalNodes, registry: ChainOperatorRegistry) {
            var logger = Logger(label: "test.onchain-local-operators")
            logger.logLevel = .critical
            let nodes = try await LocalNodes.start(
                keys: Self.signingKeys.map { ($0, nil) },
                domain: .kiln(chainId: chain.chainId, verifyingContract: try Address(hex: registry)),
                logger: logger,
                models: models
            )
            let registry = ChainOperatorRegistry(
                rpc: EthereumRPC(url: chain.url),
                registry: try Address(hex: registry),
                chainId: chain.chainId,
                endpoints: Dictionary(
                    uniqueKeysWithValues: try zip(OnchainCLITests.operators, nodes.nodes).map {
                        (try Address(hex: $0), NodeEndpoint.kiln($1.endpoint))
                    }
                )
            )
            return (nodes, registry)
        }

        /// The chain's latest block.
        func head() async throws -> UInt64 {
            let text = try await chain.rpc("eth_blockNumber", []).stringValue ?? ""
            return try #require(UInt64(String(text.dropFirst(2)), radix: 16), "eth_blockNumber: \(text)")
        }

        /// The collection's default publisher: dev-chain key 1.
        func publisherAddress() async throws -> Address {
            let keys = try String(contentsOfFile: chain.keyFile, encoding: .utf8).split(separator: "\n")
            return try PrivateKey(hex: String(keys[1]).trimmingCharacters(in: .whitespaces)).address
        }

        func nft(_ contract: String, _ calls: [JSONValue]) async throws {
            _ = try await chain.run("transact", ["contract": .string(contract), "calls": .array(calls)])
        }

        func view(_ contract: String, _ calls: [JSONValue], name: String = "KilnNFT") async throws -> [JSONValue] {
            guard
                case .array(let results)? = try await chain.run(
                    "call",
                    ["contract": .string(contract), "name": .string(name), "calls": .array(calls)]
                )["results"]
            else {
                return []
            }
            return results
        }

        /// A kiln.yml site watching `contract`, operators from the registry, publishing with `mode`.
        /// A kiln.yml site watching `contract`, operators from the registry, publishing with `mode` as dev-chain
        /// key 1 or `publisher`.
        func site(
            _ name: String,
            contract: String,
            mode: String,
            publisher: PrivateKey? = nil,
            template: URL = BatchBench.template,
            erc7007: Bool = false
        ) async throws -> Site {
            let site = Site(dir: folder.appendingPathComponent(name), bench: folder)
            try FileManager.default.createDirectory(at: site.dir, withIntermediateDirectories: true)
            let keyPath = site.dir.appendingPathComponent("publisher.key").path
            if let publisher {
                try publisher.write(toFile: keyPath)
            } else {
                let keys = try String(contentsOfFile: chain.keyFile, encoding: .utf8).split(separator: "\n")
                _ = FileManager.default.createFile(
                    atPath: keyPath,
                    contents: Data(keys[1].utf8),
                    attributes: [.posixPermissions: 0o600]
                )
            }
            var nodesYAML = ""
            for (op, node) in zip(OnchainCLITests.operators, nodes) { nodesYAML += "\n      \"\(op)\": \(node.url)" }
            try await site.write(
                "kiln.yml",
                """
                chainId: \(chain.chainId)
                store: data/kiln.sqlite
                out: out
                events: {rpc: "\(chain.url)", fromBlock: 0}
                contracts:
                  - {address: "\(contract)", template: \(template.path)}
                operators:
                  source: chain
                  registry: "\(registry)"
                  nodes:\(nodesYAML)
                publish: {mode: \(mode), key: publisher.key\(erc7007 ? ", erc7007: true" : "")}
                concurrency: 4
                nodeTimeout: 30

                """
            )
            return site
        }

        /// The logs of `contract` with `event`'s topic.
        func logs(_ contract: String, _ event: String) async throws -> [JSONValue] {
            let topic = Keccak256.hash(utf8: event).hex
            guard
                case .array(let logs) = try await chain.rpc(
                    "eth_getLogs",
                    [
                        [
                            "address": .string(contract), "fromBlock": "0x0", "toBlock": "latest",
                            "topics": [.string(topic)],
                        ]
                    ]
                )
            else {
                return []
            }
            return logs
        }

        /// The attestation bundle the site published for `id`.
        func bundle(_ site: Site, contract: String, id: Int) async throws -> JSONValue {
            let store = try SQLiteStore(path: site.store)
            let token = TokenKey(chainId: chain.chainId, contract: try Address(hex: contract), id: BigUInt(id))
            let cid = try await #require(try store.latestPublication(token)?.attestation)
            let blocks = try FilesystemBlockstore(folder: site.out.appendingPathComponent("blocks").path)
            return try JSONValue.parse(bytes: try UnixFSReader(blockstore: blocks).cat(try CID(cid)))
        }
    }

    /// README's walkthrough, scripts/demo/chain-demo.sh, runs as written.
    @Test func theChainWalkthroughRuns() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kiln-chain-demo-\(UUID().uuidString)"
        )
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = PythonBench.packageRoot.appendingPathComponent("scripts/demo/chain-demo.sh").path
        // The nodes' debug renders under CI's load (every suite at once on two cores) can take past the 20 s
        // default: a generous node timeout, as the other walkthrough tests give (ServeTests, StudioTests).
        let result = try await KilnProcess.run(
            [script, folder.path],
            environment: ["KILN": KilnProcess.executable.path, "KILN_NODE_TIMEOUT": "120"],
            program: URL(fileURLWithPath: "/bin/bash")
        )
        let text = result.stdout + result.stderr
        #expect(result.status == 0, "\(text)")
        #expect(
            text.contains("threshold weight 67 of 100 at block")
                && text.components(separatedBy: "ok (operator").count - 1 == 4,
            "kiln operators: \(text)"
        )
        #expect(text.contains("batch 1: 5 published"), "\(text)")
        #expect(
            text.components(separatedBy: "sent setTokenURI").count - 1 == 6,
            "5 tokens, then token 3 again: \(text)"
        )
        #expect(
            text.contains("== the registry checks token 2's quorum itself (ERC-1271 isValidSignature)\nTrue"),
            "\(text)"
        )
        #expect(result.stdout.hasSuffix("verified: byte-identical\n"), "\(text)")
    }

    static func transactions(_ outcome: Outcome) -> [[String: Any]] {
        outcome.events.filter { $0["event"] as? String == "transaction" }
    }

    /// A round under a tolerance policy: operators' outputs differ by a few levels, every agreeing operator signs
    /// one ``InferenceAgreement`` digest, and the unchanged registry checks that quorum by ERC-1271 — for every
    /// subset of the agreeing signers, the registry's verdict is Kiln's.
    @Test func agreementQuorumOnTheRegistry() async throws {
        let bench = try await Bench()
        // In-process nodes with the registered signing keys, serving a model that drifts by 0…3 levels.
        let (nodes, registry) = try await bench.localOperators(models: { [JitterModel(jitter: $0)] })
        defer { nodes.stop() }
        let block = try await bench.head()
        let table = try await registry.stakeTable(at: block)
        // The registry checks quorums at past blocks only: one more block (the same threshold again).
        try await bench.registryTransact([["fn": "updateStakeThreshold", "args": [67]]])
        let policy = AgreementPolicy.pixels(maxChannelDiff: 3, maxMSEMilli: 1000)
        let request = JobRequest(
            jobId: Bytes32(word: 99),
            model: "test/jitter",
            input: ["seed": 3, "width": 32, "height": 32, "agreement": policy.json],
            referenceBlock: block
        )
        let report = await QuorumRound().run(request, table: table)
        let accepted = try #require(report.accepted, "\(report.summary)")
        #expect(accepted.signers.count == 4 && report.agreement != nil)
        let bundle = AttestationBundle.json(report)

        // Through the CLI: the payload is the agreement digest, and the registry accepts it.
        let bundleFile = bench.folder.appendingPathComponent("agreement.attestation.json")
        try Data(try bundle.canonicalBytes()).write(to: bundleFile)
        let cli = try await KilnProcess.run(
            ["attestation", "onchain-payload", bundleFile.path, "--rpc", bench.chain.url],
            in: bench.folder
        )
        let payload = try JSONValue.parse(cli.stdout)
        #expect(cli.status == 0 && payload["registryAccepts"] == .bool(true), "\(cli.stdout)\(cli.stderr)")
        #expect(payload["digest"] == bundle["agreement"]?["digest"])
        // verify-attestation checks the bundle's stake table against the registry at its reference block.
        let outputs = bench.folder.appendingPathComponent("agreement-outputs")
        try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
        for (index, row) in report.outcomes.enumerated() {
            if let answer = row.answer {
                try Data(answer.output).write(to: outputs.appendingPathComponent("\(index).png"))
            }
        }
        let checked = try await KilnProcess.run(
            ["verify-attestation", bundleFile.path, "--outputs", outputs.path, "--rpc", bench.chain.url],
            in: bench.folder
        )
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        #expect(checked.stdout.contains("ok    stakes: the stake table matches the registry "))

        try await Self.everySubsetAgrees(bench, bundle, signers: accepted.signers, table: table) { payload in
            #expect(payload.digest.hex == bundle["agreement"]?["digest"]?.stringValue)
        }

        // As an ERC-7007 proof (kind 1, with the policy's hash): an ERC-7007 token verifies the agreement quorum over
        // the canonical output, and not over another output.
        let nft = try await bench.collection([1])
        try await bench.nft(nft, [["fn": "setAigcRegistry", "args": [.string(bench.registry)], "from": 0]])
        let onchain = try OnchainPayload(bundle: bundle)
        #expect(onchain.policyHash != nil && onchain.outputHash == accepted.outputHash)
        var other = onchain.outputHash.bytes
        other[31] ^= 1
        let verdicts = try await bench.view(
            nft,
            [onchain.outputHash.bytes, other].map { data in
                [
                    "fn": "verify",
                    "args": [
                        .string(Hex.encode(onchain.prompt)), .string(Hex.encode(data)),
                        .string(Hex.encode(onchain.erc7007Proof)),
                    ],
                ]
            }
        )
        #expect(verdicts == [true, false], "\(verdicts)")
    }

    /// The bench registry behaves as EigenLayer's ECDSAStakeRegistry: it reverts with its custom errors, which
    /// `kiln attestation onchain-payload --rpc` names (`rejected by the registry: …`) apart from an RPC failure, and
    /// it checks quorums only at blocks strictly below the head — the block Kiln chooses, with no block mined between
    /// signing and checking.
    @Test func theRegistryRevertsAsEigenLayersDoes() async throws {
        let bench = try await Bench()
        let keys = Bench.signingKeys
        let (nodes, registry) = try await bench.localOperators()
        defer { nodes.stop() }
        func head() async throws -> UInt64 { try await bench.head() }
        // Nodes served by this test process answer on a loaded machine: two minutes per node.
        var patient = QuorumRound()
        patient.timeout = .seconds(120)
        /// A round at `block`, its bundle written to a file.
        func bundle(at block: UInt64, job n: UInt64) async throws -> (JSONValue, URL, StakeTable) {
            let table = try await registry.stakeTable(at: block)
            var round = patient
            round.waitForAll = true
            let report = await round.run(
                JobRequest(jobId: Bytes32(word: n), model: "kiln/cppn-v1", input: job(n).input, referenceBlock: block),
                table: table
            )
            #expect(report.accepted?.signers.count == 4, "\(report.summary)")
            let bundle = AttestationBundle.json(report)
            let file = bench.folder.appendingPathComponent("job-\(n).attestation.json")
            try Data(try bundle.canonicalBytes()).write(to: file)
            return (bundle, file, table)
        }
        func payload(_ file: URL, _ extra: [String] = [], rpc: String? = nil) async throws -> KilnProcess.Result {
            try await KilnProcess.run(
                ["attestation", "onchain-payload", file.path, "--rpc", rpc ?? bench.chain.url] + extra,
                in: bench.folder
            )
        }

        // The block Kiln chooses with no confirmations (one below the head it read through), checked at once: no
        // block is mined between the nodes signing and the registry checking.
        let source = JSONRPCEventSource(
            rpc: EthereumRPC(url: bench.chain.url),
            contracts: [],
            confirmations: 0,
            fromBlock: 0,
            blockRange: 100
        )
        // (The bench set the threshold in the latest block: one more block, the same threshold, puts it below.)
        try await bench.registryTransact([["fn": "updateStakeThreshold", "args": [67]]])
        let now = try await head()
        let (good, goodFile, table) = try await bundle(at: source.referenceBlock(through: now), job: 1)
        let accepted = try await payload(goodFile)
        #expect(try await head() == now, "nothing was mined in between")
        #expect(accepted.status == 0, "\(accepted.stdout)\(accepted.stderr)")
        #expect(try JSONValue.parse(accepted.stdout)["registryAccepts"] == .bool(true))
        #expect(
            JSONRPCEventSource(
                rpc: EthereumRPC(url: bench.chain.url),
                contracts: [],
                confirmations: 3,
                fromBlock: 0,
                blockRange: 100
            ).referenceBlock(through: now - 3) == now - 3,
            "with confirmations the block read through is already below the head"
        )

        // The head itself — the off-by-one — is InvalidReferenceBlock(), as the registry's eth_call says.
        let (_, atHeadFile, _) = try await bundle(at: now, job: 2)
        let atHead = try await payload(atHeadFile)
        #expect(atHead.status == 1, "\(atHead.stdout)\(atHead.stderr)")
        #expect(try JSONValue.parse(atHead.stdout)["registryRejection"] == "InvalidReferenceBlock()")
        #expect(atHead.stderr.contains("rejected by the registry: InvalidReferenceBlock()"), "\(atHead.stderr)")

        // Too little stake: the 10 alone against a threshold of 67.
        let small = try await payload(goodFile, ["--only", Self.operators[3]])
        #expect(small.status == 1 && small.stderr.contains("rejected by the registry: InsufficientSignedStake()"))

        // Tampering, encoded and sent by independent code (eth-abi, web3): the registry's own error for each,
        // named by the script's table of EigenLayer's selectors. Kiln builds only sorted payloads.
        let built = try OnchainPayload(bundle: good)
        #expect(built.operators == built.operators.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) })
        guard case .array(let responses)? = good["responses"] else {
            Issue.record("the bundle has no responses")
            return
        }
        let operators = built.operators.map { JSONValue.string($0.checksummed) }
        let signatures: [JSONValue] = built.operators.map { op in
            responses.first { $0["operator"]?.stringValue == op.checksummed }?["signature"] ?? .null
        }
        let block = JSONValue.number(Int(built.referenceBlock))
        let cases: [(name: String, operators: [JSONValue], signatures: [JSONValue], block: JSONValue, error: String?)] =
            [
                ("as built", operators, signatures, block, nil),
                ("unsorted", operators.reversed(), signatures.reversed(), block, "NotSorted()"),
                ("a signature short", operators, Array(signatures.dropLast()), block, "LengthMismatch()"),
                ("no signer", [], [], block, "InvalidLength()"),
                (
                    "signatures swapped", operators, [signatures[1], signatures[0]] + signatures.dropFirst(2), block,
                    "InvalidSignature()"
                ),
                (
                    "the latest block (uint32 max)", operators, signatures, .number(Int(UInt32.max)),
                    "InvalidReferenceBlock()"
                ),
                (
                    "below the threshold", Array(operators.suffix(1)), Array(signatures.suffix(1)), block,
                    "InsufficientSignedStake()"
                ),
            ]
        let answered = try await bench.chain.run(
            "isValidSignature",
            [
                "contract": .string(bench.registry), "digest": .string(built.digest.hex),
                "cases": .array(
                    cases.map {
                        ["operators": .array($0.operators), "signatures": .array($0.signatures), "block": $0.block]
                    }
                ),
            ]
        )["results"]
        guard case .array(let answers)? = answered, answers.count == cases.count else {
            Issue.record("isValidSignature: \(answered ?? .null)")
            return
        }
        for (item, answer) in zip(cases, answers) {
            let answer: JSONValue? = answer
            if let error = item.error {
                #expect(answer?["error"] == .string(error), "\(item.name): \(answer ?? .null)")
            } else {
                #expect(answer?["result"] == "0x1626ba7e", "\(item.name): \(answer ?? .null)")
            }
        }

        // A key rotated after the reference block leaves the quorum at that block valid; the same signatures held to
        // a block after the rotation are not (operator 0's node still signs with its old key), and Kiln's own round
        // at such a block does not count that operator.
        try await bench.registryTransact([
            [
                "fn": "updateOperatorSigningKey",
                "args": [.string(Self.operators[0]), .string(keys[3].address.checksummed)],
            ]
        ])
        let rotated = try await payload(goodFile)
        #expect(rotated.status == 0, "keys are read at the reference block: \(rotated.stdout)\(rotated.stderr)")
        // One more block puts the rotation below the head.
        try await bench.registryTransact([["fn": "updateStakeThreshold", "args": [67]]])
        let after = try await head()
        let held = try await bench.chain.run(
            "isValidSignature",
            [
                "contract": .string(bench.registry), "digest": .string(built.digest.hex),
                "cases": [
                    [
                        "operators": .array(operators), "signatures": .array(signatures),
                        "block": .number(Int(after) - 1),
                    ]
                ],
            ]
        )["results"]
        guard case .array(let heldAnswers)? = held else {
            Issue.record("isValidSignature: \(held ?? .null)")
            return
        }
        #expect(heldAnswers.first?["error"] == "InvalidSignature()", "\(heldAnswers)")
        let late = await patient.run(
            JobRequest(jobId: Bytes32(word: 3), model: "kiln/cppn-v1", input: job(3).input, referenceBlock: after - 1),
            table: try await registry.stakeTable(at: after - 1)
        )
        #expect(late.outcomes.first?.outcome.label == "invalid" && late.accepted == nil, "\(late.summary)")

        // An RPC that does not answer as a node is not a rejection: an error, exit 2 (here a Kiln node's URL).
        let down = try await payload(goodFile, rpc: nodes.nodes[0].endpoint)
        #expect(down.status == 2 && !down.stderr.contains("rejected"), "\(down.stdout)\(down.stderr)")
        #expect(down.stderr.contains("unable to ask the registry"), "\(down.stderr)")
        _ = table
    }

    /// For every non-empty subset of `signers`: Kiln's rule (`table.reaches` of their weight) equals the
    /// registry's ERC-1271 `isValidSignature` on the payload built from their signatures alone.
    static func everySubsetAgrees(
        _ bench: Bench,
        _ bundle: JSONValue,
        signers: [Address],
        table: StakeTable,
        check: (OnchainPayload) -> Void = { _ in }
    ) async throws {
        var decisions: [(Set<Address>, Bool)] = []
        var calls: [JSONValue] = []
        for mask in 1..<(1 << signers.count) {
            let subset = Set(signers.enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element))
            let weight = table.operators.filter { subset.contains($0.address) }.reduce(BigUInt(0)) { $0 + $1.stake }
            let onchain = try OnchainPayload(bundle: bundle, only: subset)
            check(onchain)
            decisions.append((subset, table.reaches(weight)))
            calls.append([
                "fn": "isValidSignature", "args": [.string(onchain.digest.hex), .string(Hex.encode(onchain.data))],
            ])
        }
        let answers = try await bench.view(bench.registry, calls, name: "StakeRegistry")
        #expect(answers.count == decisions.count)
        for ((subset, kiln), answer) in zip(decisions, answers) {
            #expect(
                (answer.stringValue == "0x1626ba7e") == kiln,
                "signers \(subset.map(\.checksummed).sorted()): Kiln \(kiln), registry \(answer)"
            )
            if !kiln {
                // EigenLayer's registry reverts rather than answering "invalid".
                #expect(answer["error"] == "InsufficientSignedStake()", "\(answer)")
            }
        }
        #expect(decisions.contains { $0.1 } && decisions.contains { !$0.1 }, "both outcomes are exercised")
    }

    @Test func registryQuorumOnchainCheckAndTokenURIs() async throws {
        let bench = try await Bench()
        // A fresh publisher key, funded by the chain (the dev chain's own keys are the integers 1…10, which any
        // file holds somewhere as bytes or digits: the secret sweep below needs a real key).
        let publisher = PrivateKey.random()
        _ = try await bench.chain.run(
            "fund",
            ["to": .string(publisher.address.checksummed), "wei": "1000000000000000000"]
        )
        let nft = try await bench.collection([1, 2, 3], publisher: publisher.address.checksummed)
        try await bench.nft(nft, [["fn": "levelUp", "args": [2], "from": 0]])

        // publish.mode onchain: one setTokenURI per published token, each with its ERC-4906 MetadataUpdate.
        let site = try await bench.site("site-a", contract: nft, mode: "onchain", publisher: publisher)
        let first = try await site.kiln(environment: ["KILN_LOG_LEVEL": "trace"])
        #expect(first.status == 0 && first.summary?["published"] as? Int == 3, "\(first.transcript)")
        // The publisher key signed three transactions at trace level: it is in no output, log, store or file.
        let sweep = SecretSweep(bytes: try SecretsTests.keyBytes(site.dir.appendingPathComponent("publisher.key")))
        let leaks =
            sweep.hits(in: first.transcript, "kiln batch output")
            + (try sweep.hits(under: site.dir, skipping: ["publisher.key"]))
        #expect(leaks.isEmpty, "\(leaks)")
        #expect(Self.transactions(first).count == 3, "\(first.transcript)")
        let quorum = first.jobs.first?["quorum"] as? String ?? ""
        #expect(
            quorum.contains("3/4 operators") && quorum.contains("disagreed"),
            "the wrong-output node is outvoted: \(quorum)"
        )
        let manifest = try JSONValue.parse(
            bytes: Array(try Data(contentsOf: site.out.appendingPathComponent("manifest.json")))
        )
        let uris = try await bench.view(nft, (1...3).map { ["fn": "tokenURI", "args": [.number($0)]] })
        for id in 1...3 {
            let key = "\(bench.chain.chainId):\(try Address(hex: nft).checksummed)#\(id)"
            let metadata = try #require(manifest["tokens"]?[key]?["metadata"]?.stringValue, "manifest has \(key)")
            #expect(
                uris[id - 1].stringValue == "ipfs://\(metadata)" || uris[id - 1].stringValue == metadata,
                "tokenURI(\(id))"
            )
        }
        let updates = try await bench.logs(nft, "MetadataUpdate(uint256)")
        let updated = try updates.map { log in
            try ABIEncoding.decode(
                [.uint(256)],
                from: try Hex.decode(log["data"]?.stringValue ?? ""),
                function: "MetadataUpdate"
            ).map(\.description)
        }
        #expect(updated.flatMap { $0 }.sorted() == ["1", "2", "3"])
        let again = try await site.kiln()
        #expect(
            again.status == 0 && Self.transactions(again).isEmpty && again.summary?["transactions"] as? Int == 0,
            "\(again.transcript)"
        )
        #expect(try await bench.logs(nft, "MetadataUpdate(uint256)").count == 3, "no change, no transaction")

        // The registry itself accepts what Kiln accepted (ERC-1271), through the CLI…
        let bundle = try await bench.bundle(site, contract: nft, id: 2)
        let bundleFile = bench.folder.appendingPathComponent("token-2.attestation.json")
        try Data(try bundle.canonicalBytes()).write(to: bundleFile)
        let cli = try await KilnProcess.run(
            ["attestation", "onchain-payload", bundleFile.path, "--rpc", bench.chain.url],
            in: bench.folder
        )
        let payload = try JSONValue.parse(cli.stdout)
        #expect(
            cli.status == 0 && payload["registryAccepts"] == .bool(true) && payload["accepted"] == .bool(true),
            "\(cli.stdout)\(cli.stderr)"
        )
        let byToken = try await KilnProcess.run(
            ["attestation", "onchain-payload", "\(nft):2", "--config", "kiln.yml", "--rpc", bench.chain.url],
            in: site.dir
        )
        #expect(
            byToken.status == 0 && byToken.stdout == cli.stdout,
            "CONTRACT:ID reads the same published bundle: \(byToken.stdout)\(byToken.stderr)"
        )
        guard case .array(let signerList)? = bundle["accepted"]?["signers"] else {
            Issue.record("the bundle has no accepted signers")
            return
        }
        let signers = signerList.compactMap { $0.stringValue.flatMap { try? Address(hex: $0) } }
        #expect(signers.count == 3)

        // …and for every subset of the signers, Kiln's rule at the reference block and the registry agree.
        let referenceBlock = try #require(
            bundle["request"]?["referenceBlock"]?.integerValue.flatMap { UInt64(exactly: $0) }
        )
        let registry = ChainOperatorRegistry(
            rpc: EthereumRPC(url: bench.chain.url),
            registry: try Address(hex: bench.registry),
            chainId: bench.chain.chainId,
            endpoints: [:]
        )
        let table = try await registry.stakeTable(at: referenceBlock)
        #expect(
            table.thresholdWeight == 67 && table.totalStake == 100 && table.operators.map(\.stake) == [40, 30, 20, 10]
        )
        #expect(
            table.operators.allSatisfy { $0.signingKey != $0.address },
            "signing keys are not the operator addresses"
        )
        try await Self.everySubsetAgrees(bench, bundle, signers: signers, table: table)

        // publish.mode onchain-base: one collection directory, setBaseURI per run of changed ids.
        let nft2 = try await bench.collection([1, 2, 3, 5])
        #expect(try await bench.view(nft2, [["fn": "supportsInterface", "args": ["0x49064906"]]]).first == .bool(true))
        let template = bench.folder.appendingPathComponent("template-b")
        try FileManager.default.copyItem(at: BatchBench.template, to: template)
        let base = try await bench.site("site-b", contract: nft2, mode: "onchain-base", template: template)
        let b1 = try await base.kiln()
        #expect(b1.status == 0 && b1.summary?["published"] as? Int == 4, "\(b1.transcript)")
        #expect(Self.transactions(b1).count == 2, "ranges 1…3 and 5…5: \(b1.transcript)")
        var ranges: [String] = []
        for log in try await bench.logs(nft2, "BatchMetadataUpdate(uint256,uint256)") {
            let data = try Hex.decode(log["data"]?.stringValue ?? "")
            let values = try ABIEncoding.decode([.uint(256), .uint(256)], from: data, function: "BatchMetadataUpdate")
            ranges.append(values.map(\.description).joined(separator: "…"))
        }
        #expect(ranges == ["1…3", "5…5"])
        let baseURIs = try await bench.view(nft2, [1, 2, 3, 5].map { ["fn": "tokenURI", "args": [.number($0)]] })
        let baseURI = try #require(try await bench.view(nft2, [["fn": "baseURI"]]).first?.stringValue)
        #expect(baseURI.hasPrefix("ipfs://") && baseURI.hasSuffix("/"))
        #expect(baseURIs.map(\.stringValue) == [1, 2, 3, 5].map { baseURI + String($0) })
        // What the base URI serves is each token's published metadata (in the batch's CAR).
        let blocks = try FilesystemBlockstore(folder: base.out.appendingPathComponent("blocks").path)
        let directory = try CID(String(baseURI.dropFirst(7).dropLast()))
        let metadata3 = try UnixFSReader(blockstore: blocks).resolve(directory, path: "3")
        let store = try SQLiteStore(path: base.store)
        let token3 = TokenKey(chainId: bench.chain.chainId, contract: try Address(hex: nft2), id: 3)
        await #expect(metadata3.description == (try store.latestPublication(token3)?.metadata))
        let car = try MemoryBlockstore(car: base.out.appendingPathComponent("batch-1.car").path)
        #expect((try? car.get(directory)) != nil, "the collection directory is in the batch's CAR")

        try await bench.nft(nft2, [["fn": "levelUp", "args": [2], "from": 0]])
        let b2 = try await base.kiln()
        #expect(b2.status == 0 && b2.statuses.count == 1, "\(b2.transcript)")
        #expect(
            (Self.transactions(b2).first?["call"] as? String)?.hasSuffix(", 2, 2)") == true,
            "only token 2 changed: \(b2.transcript)"
        )
        await #expect(Self.transactions(try base.kiln()).isEmpty)

        // A new template version changes every token's metadata: one BatchMetadataUpdate(0, type(uint256).max),
        // ERC-4906's whole collection, instead of one event per range.
        let templateFile = template.appendingPathComponent("template.yml")
        let yaml = try String(contentsOf: templateFile, encoding: .utf8)
        #expect(yaml.contains("name: Forge Knights\n"))
        try Data(yaml.replacingOccurrences(of: "name: Forge Knights\n", with: "name: Forge Knights II\n").utf8)
            .write(to: templateFile)
        let b3 = try await base.kiln()
        #expect(b3.status == 0 && b3.summary?["published"] as? Int == 4, "\(b3.transcript)")
        #expect(Self.transactions(b3).count == 1, "\(b3.transcript)")
        let batchUpdates = try await bench.logs(nft2, "BatchMetadataUpdate(uint256,uint256)")
        let lastUpdate = try ABIEncoding.decode(
            [.uint(256), .uint(256)],
            from: try Hex.decode(batchUpdates.last?["data"]?.stringValue ?? ""),
            function: "BatchMetadataUpdate"
        )
        #expect(lastUpdate == [.uint(0), .uint((BigUInt(1) << 256) - 1)], "\(lastUpdate)")
        let newBase = try #require(try await bench.view(nft2, [["fn": "baseURI"]]).first?.stringValue)
        #expect(newBase != baseURI && newBase.hasPrefix("ipfs://"))

        // Stake changes after the reference block do not change the quorum pinned to it…
        try await bench.registryTransact([
            ["fn": "updateOperatorWeight", "args": [.string(Self.operators[0]), 1]],
            ["fn": "updateStakeThreshold", "args": [95]],
        ])
        let fresh = ChainOperatorRegistry(
            rpc: EthereumRPC(url: bench.chain.url),
            registry: try Address(hex: bench.registry),
            chainId: bench.chain.chainId,
            endpoints: [:]
        )
        #expect(try await fresh.stakeTable(at: referenceBlock) == table)
        let pinned = try await KilnProcess.run(
            ["attestation", "onchain-payload", bundleFile.path, "--rpc", bench.chain.url],
            in: bench.folder
        )
        #expect(pinned.status == 0, "the registry still accepts the quorum at its block: \(pinned.stdout)")
        let verify = try await KilnProcess.run(["verify", "\(nft):2", "--config", "kiln.yml"], in: site.dir)
        #expect(
            verify.status == 0 && verify.stdout.contains("verified: byte-identical"),
            "\(verify.stdout)\(verify.stderr)"
        )
        // …while a job after the change is held to the new weights: 30 + 20 + 1 < 95, no quorum.
        try await bench.nft(nft, [["fn": "levelUp", "args": [3], "from": 0]])
        let later = try await site.kiln()
        #expect(later.status == 3 && later.status(3, nft.lowercased()) == "no_quorum", "\(later.transcript)")
        #expect(Self.transactions(later).isEmpty)
    }
}
