import BigInt
import Foundation
import KilnAVS
import KilnCore
import KilnCrypto
import KilnImage
import KilnInference
import KilnTesting
import Logging
import Testing

/// Four in-process nodes serving ``JitterModel`` (outputs a few levels apart, like a float model on different
/// machines), stakes 40/30/20/10.
final class JitterCluster: Sendable {
    let nodes: LocalNodes
    let keys: [PrivateKey]
    let contract = try! Address(hex: "0x00000000000000000000000000000000000000C0")

    init(jitters: [Int], faults: [TestFault?] = [nil, nil, nil, nil]) async throws {
        keys = try (0..<jitters.count).map {
            try PrivateKey(bytes: [UInt8](repeating: 0, count: 31) + [UInt8(41 + $0)])
        }
        var logger = Logger(label: "test.agreement")
        logger.logLevel = .critical
        nodes = try await LocalNodes.start(
            keys: Array(zip(keys, faults)),
            domain: .kiln(chainId: 31337, verifyingContract: contract),
            logger: logger,
            models: { [JitterModel(jitter: jitters[$0])] }
        )
    }

    func table(thresholdBps: Int = 6667) -> StakeTable {
        StakeTable(
            operators: zip(nodes.nodes, Cluster.stakes).map {
                Operator(address: $0.address, endpoint: .kiln($0.endpoint), stake: $1)
            },
            thresholdBps: thresholdBps,
            domain: .kiln(chainId: 31337, verifyingContract: contract),
            referenceBlock: 7
        )
    }

    deinit { nodes.stop() }
}

func jitterJob(_ policy: AgreementPolicy, id: UInt64 = 1) -> JobRequest {
    var input: [String: JSONValue] = ["seed": 5, "width": 40, "height": 40]
    if !policy.isExact { input["agreement"] = policy.json }
    return JobRequest(jobId: Bytes32(word: id), model: "test/jitter", input: .object(input), referenceBlock: 7)
}

/// Every committed output of a report, by keccak-256 (what a verifier is given).
func committedOutputs(_ report: QuorumReport) -> [Bytes32: [UInt8]] {
    var outputs: [Bytes32: [UInt8]] = [:]
    for row in report.outcomes { if let answer = row.answer { outputs[answer.attestation.outputHash] = answer.output } }
    return outputs
}

/// An agreement signature as `scripts/crosscheck/eth.py recover712` takes it.
func ethAccountAgreement(_ agreement: InferenceAgreement, _ signature: Signature, contract: Address) -> JSONValue {
    [
        "chainId": 31337, "verifyingContract": .string(contract.lowercased), "signature": .string(signature.hex),
        "message": [
            "jobId": .string(agreement.jobId.hex), "modelId": .string(agreement.modelId.hex),
            "inputHash": .string(agreement.inputHash.hex),
            "canonicalOutputHash": .string(agreement.canonicalOutputHash.hex),
            "policyHash": .string(agreement.policyHash.hex), "referenceBlock": .number(agreement.referenceBlock),
        ],
    ]
}

struct AgreementTests {
    @Test func exactFailsOnDriftAndAToleranceAgrees() async throws {
        let cluster = try await JitterCluster(jitters: [0, 1, 3, 2])
        let table = cluster.table()

        // Exact: four different outputs, no quorum, and the report says by how much they differ.
        let exact = await QuorumRound.patient().run(jitterJob(.exact), table: table)
        #expect(exact.accepted == nil && exact.agreement == nil)
        #expect(
            exact.summary.contains("the outputs differ: ") && exact.summary.contains(" distinct outputs; "),
            "\(exact.summary)"
        )
        #expect(exact.summary.contains("max channel diff 1") && exact.summary.contains("pixels differ"))

        // Within 3 levels: everyone agrees on the canonical output of the largest stake.
        let policy = AgreementPolicy.pixels(maxChannelDiff: 3, maxMSEMilli: 1000)
        let report = await QuorumRound.patient().run(jitterJob(policy), table: table)
        let record = try #require(report.agreement)
        #expect(outcomes(report) == ["agreed", "agreed", "agreed", "agreed"], "\(report.summary)")
        #expect(record.canonicalOperator == cluster.keys[0].address)
        #expect(report.accepted?.outputHash == record.canonicalOutputHash)
        #expect(report.accepted?.signers.count == 4)
        #expect(record.entries[cluster.keys[2].address]?.distance?.maxChannelDiff == 3)
        #expect(report.summary.contains("agreement policy pixels: max channel diff 3, max MSE 1.000"))

        // The bundle verifies from the committed outputs alone, and not without them.
        let bundle = AttestationBundle.json(report)
        let outputs = committedOutputs(report)
        let check = try AttestationBundle.verify(bundle, output: report.accepted?.output, outputs: outputs)
        #expect(check.ok, "\(check.lines)")
        #expect(check.lines.contains { $0.contains("canonical choice recomputed") })
        let blind = try AttestationBundle.verify(bundle)
        #expect(!blind.ok && blind.lines.contains { $0.contains("is not available") })

        // numpy + Pillow measure the same distances.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-agree-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let canonical = try #require(outputs[record.canonicalOutputHash])
        var pairs: [JSONValue] = []
        var ours: [JSONValue] = []
        for (hash, bytes) in outputs.sorted(by: { $0.key.hex < $1.key.hex }) where hash != record.canonicalOutputHash {
            let a = folder.appendingPathComponent("\(hash.hex).png"), b = folder.appendingPathComponent("canonical.png")
            try Data(bytes).write(to: a)
            try Data(canonical).write(to: b)
            pairs.append([.string(a.path), .string(b.path)])
            ours.append(try #require(PixelDistance.between(files: bytes, canonical)).json)
        }
        let theirs = try await PythonBench.run("images.py", ["op": "pixel_distance", "pairs": .array(pairs)])["result"]
        #expect(theirs == .array(ours))

        // eth-account recovers every agreement signature to its operator: one typed message for all four.
        let items = try record.entries.sorted { $0.key.lowercased < $1.key.lowercased }.map {
            ethAccountAgreement(record.agreement, try #require($0.value.signature), contract: cluster.contract)
        }
        let recovered = try await PythonBench.run("eth.py", ["op": "recover712", "items": .array(items)])["result"]
        #expect(
            recovered
                == .array(record.entries.keys.sorted { $0.lowercased < $1.lowercased }.map { .string($0.checksummed) })
        )
    }

    @Test func theCanonicalOutputIsTheLargestStakeCluster() async throws {
        // Within 1 level: {0,1}=70, {0,1,2}=80, {3,2}=30, {1,3,2}=60 — the 30-stake operator's output is canonical,
        // and the operator at 3 levels from it refuses.
        let cluster = try await JitterCluster(jitters: [0, 1, 3, 2])
        let report = await QuorumRound.patient().run(
            jitterJob(.pixels(maxChannelDiff: 1, maxMSEMilli: 65_025_000)),
            table: cluster.table()
        )
        #expect(report.agreement?.canonicalOperator == cluster.keys[1].address, "\(report.summary)")
        #expect(outcomes(report) == ["agreed", "agreed", "refused", "agreed"], "\(report.summary)")
        #expect(report.outcomes[2].outcome.reason?.contains("outside pixels: max channel diff 1") == true)
        #expect(report.accepted?.signedStake == Cluster.stakes[0] + Cluster.stakes[1] + Cluster.stakes[3])
        let check = try AttestationBundle.verify(AttestationBundle.json(report), outputs: committedOutputs(report))
        #expect(check.ok, "\(check.lines)")
    }

    @Test func misbehaviourIsRefusedAndFalseAgreementIsEvidence() async throws {
        // 1 withholds its commit (HTTP 500), 2 commits to another output and signs agreement anyway, 3 signs
        // agreement over a canonical hash it was not sent.
        let cluster = try await JitterCluster(
            jitters: [0, 1, 2, 3],
            faults: [nil, .http500, .falseAgree, .wrongCanonical]
        )
        let report = await QuorumRound.patient().run(
            jitterJob(.pixels(maxChannelDiff: 3, maxMSEMilli: 2000)),
            table: cluster.table(thresholdBps: 4000)
        )
        let record = try #require(report.agreement)
        #expect(outcomes(report) == ["agreed", "failed", "invalid", "invalid"], "\(report.summary)")
        #expect(record.entries[cluster.keys[1].address] == nil, "no commit, never asked to agree")
        #expect(report.outcomes[2].outcome.reason?.contains("signed agreement although its output is outside") == true)
        #expect(report.outcomes[3].outcome.reason?.contains("agreement names canonical output") == true)
        #expect(report.accepted?.signers == [cluster.keys[0].address])

        let evidence = try #require(report.falseAgreements.first)
        #expect(report.falseAgreements.count == 1 && evidence.operator == cluster.keys[2].address)
        #expect(report.summary.contains("false agreement: \(cluster.keys[2].address.checksummed)"))
        // Both of its signatures recover to it with eth-account: the commit and the agreement.
        let items = [
            ethAccountItem(evidence.committed, contract: cluster.contract),
            ethAccountAgreement(record.agreement, evidence.agreementSignature, contract: cluster.contract),
        ]
        let recovered = try await PythonBench.run("eth.py", ["op": "recover712", "items": .array(items)])["result"]
        #expect(recovered == [.string(evidence.operator.checksummed), .string(evidence.operator.checksummed)])
        // …and the bundle proves it from the outputs, without counting it.
        let check = try AttestationBundle.verify(AttestationBundle.json(report), outputs: committedOutputs(report))
        #expect(check.ok, "\(check.lines)")
        #expect(check.lines.contains { $0.contains("false agreement by \(evidence.operator.checksummed) proven") })
        #expect(check.lines.contains { $0.contains("quorum: 1 valid signers") })
        let proofs = check.checks.filter { $0.kind == .falseAgreement && $0.result == .passed }
        #expect(proofs.map(\.subject) == [evidence.operator])
        #expect(check.checks.filter { $0.kind == .quorum }.map(\.result) == [.passed])

        // Past 40 %, the one honest agreement cannot carry the round: it answered, and there is no quorum (it did not
        // disagree with anything).
        let short = await QuorumRound.patient().run(
            jitterJob(.pixels(maxChannelDiff: 3, maxMSEMilli: 2000), id: 2),
            table: cluster.table(thresholdBps: 6000)
        )
        #expect(short.accepted == nil)
        #expect(outcomes(short) == ["answered — no quorum", "failed", "invalid", "invalid"], "\(short.summary)")
    }

    @Test func tamperingWithAnAgreementBundleIsCaught() async throws {
        let cluster = try await JitterCluster(jitters: [0, 1, 3, 2])
        let report = await QuorumRound.patient().run(
            jitterJob(.pixels(maxChannelDiff: 3, maxMSEMilli: 1000)),
            table: cluster.table()
        )
        let bundle = AttestationBundle.json(report)
        let outputs = committedOutputs(report)
        #expect(try AttestationBundle.verify(bundle, outputs: outputs).ok)
        func failing(_ edited: JSONValue, outputs: [Bytes32: [UInt8]]? = nil) throws -> [String] {
            let check = try AttestationBundle.verify(edited, outputs: outputs ?? committedOutputs(report))
            #expect(!check.ok)
            return check.lines.filter { $0.hasPrefix("FAIL") }
        }
        func edit(_ value: JSONValue, _ path: [String], _ replacement: JSONValue) -> JSONValue {
            guard let key = path.first, case .object(var fields) = value else { return replacement }
            fields[key] = edit(fields[key] ?? .null, Array(path.dropFirst()), replacement)
            return .object(fields)
        }
        func editResponse(_ index: Int, _ key: String, _ replacement: JSONValue) -> JSONValue {
            guard case .array(var responses)? = bundle["responses"], case .object(var fields) = responses[index] else {
                return bundle
            }
            fields[key] = replacement
            responses[index] = .object(fields)
            return edit(bundle, ["responses"], .array(responses))
        }

        // A committed output swapped for other bytes under its hash.
        let other = try #require(report.outcomes[2].answer)
        var swapped = outputs
        swapped[other.attestation.outputHash] = try await JitterModel(jitter: 4).run(input: jitterJob(.exact).input)
        #expect(try failing(bundle, outputs: swapped).contains { $0.contains("does not hash to its outputHash") })
        // The policy, in the bundle and in the input.
        let loose = AgreementPolicy.pixels(maxChannelDiff: 255, maxMSEMilli: 65_025_000)
        #expect(
            try failing(edit(bundle, ["agreement", "policy"], loose.json)).contains {
                $0.contains("not the policy in the attested input")
            }
        )
        #expect(
            try failing(edit(bundle, ["request", "input", "agreement"], loose.json)).contains {
                $0.contains("inputHash does not match")
            }
        )
        // A metric input and the canonical choice.
        let distance = PixelDistance(maxChannelDiff: 0, sumSquaredDiff: 0, samples: 6400, differingPixels: 0).json
        #expect(try failing(editResponse(2, "distance", distance)).contains { $0.contains("recorded distance") })
        #expect(
            try failing(
                edit(bundle, ["agreement", "canonical", "operator"], .string(cluster.keys[1].address.checksummed))
            )
            .contains { $0.contains("canonical choice is not the rule's") }
        )
        // A stake: the canonical choice and the quorum follow the stake table, so a stake edited to make another
        // output canonical is caught by the rule (and every stake by a registry: verify-attestation --operators).
        guard case .array(var operators)? = bundle["stake"]?["operators"], case .object(var third) = operators[2] else {
            Issue.record("no stake table")
            return
        }
        third["stake"] = "900000000000000000000"
        operators[2] = .object(third)
        #expect(
            try failing(edit(bundle, ["stake", "operators"], .array(operators))).contains {
                $0.contains("canonical choice is not the rule's")
            }
        )
    }

    @Test func theCanonicalChoiceRule() {
        let a = try! Address(hex: "0x00000000000000000000000000000000000000aa")
        let b = try! Address(hex: "0x00000000000000000000000000000000000000bb")
        let c = try! Address(hex: "0x00000000000000000000000000000000000000cc")
        func candidates(_ stakes: [Int]) -> [CanonicalChoice.Candidate] {
            zip([a, b, c], stakes).map {
                .init(operator: $0, stake: BigUInt($1), outputHash: Bytes32(word: UInt64($1)))
            }
        }
        // Everyone within: the most stake wins; equal stake: the lowest address.
        #expect(CanonicalChoice.pick(candidates([10, 30, 20]), within: { _, _ in true }) == 1)
        #expect(CanonicalChoice.pick(candidates([30, 30, 20]), within: { _, _ in true }) == 0)
        // Nobody within another: support is own stake.
        #expect(CanonicalChoice.pick(candidates([10, 30, 20]), within: { _, _ in false }) == 1)
        // a and c together (10 + 20) outweigh b (25) alone; a and c tie on support, c holds more stake.
        #expect(CanonicalChoice.pick(candidates([10, 25, 20]), within: { i, j in Set([i, j]) == [0, 2] }) == 2)
        #expect(CanonicalChoice.pick([], within: { _, _ in true }) == nil)
    }
}
