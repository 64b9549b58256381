import BigInt
import Foundation
import KilnAVS
import KilnCore
import KilnCrypto
import KilnInference
import KilnTesting
import Testing

extension Cluster {
    func table(thresholdBps: Int = 6667) -> StakeTable {
        StakeTable(
            operators: zip(zip(keys, nodes), Self.stakes).map {
                Operator(address: $0.0.address, endpoint: .kiln($0.1.endpoint), stake: $1)
            },
            thresholdBps: thresholdBps,
            domain: .kiln(chainId: 31337, verifyingContract: contract),
            referenceBlock: 7
        )
    }
}

func outcomes(_ report: QuorumReport) -> [String] { report.outcomes.map(\.outcome.label) }

extension QuorumRound {
    /// A round for the tests whose subject is not timing. The nodes it asks are served by this test process, which
    /// runs every other suite at once: on a loaded 2-core CI machine a node's answer can wait long for a thread, so
    /// the round waits up to two minutes per node (it ends as soon as the quorum is certain either way).
    static func patient() -> QuorumRound {
        var round = QuorumRound()
        round.timeout = .seconds(120)
        return round
    }
}

/// A signed answer as `scripts/crosscheck/eth.py recover712` takes it (eth-account recovers the signer).
func ethAccountItem(_ answer: SignedAnswer, contract: Address) -> JSONValue {
    [
        "chainId": 31337, "verifyingContract": .string(contract.lowercased), "signature": .string(answer.signature.hex),
        "message": [
            "jobId": .string(answer.attestation.jobId.hex), "modelId": .string(answer.attestation.modelId.hex),
            "inputHash": .string(answer.attestation.inputHash.hex),
            "outputHash": .string(answer.attestation.outputHash.hex),
            "referenceBlock": .number(answer.attestation.referenceBlock),
        ],
    ]
}

struct QuorumTests {
    @Test func allHonestAcceptedWithAllFour() async throws {
        let cluster = try await Cluster(faults: [nil, nil, nil, nil])
        defer { cluster.stop() }
        let report = await QuorumRound.patient().run(job(), table: cluster.table(thresholdBps: 10_000))
        #expect(outcomes(report) == ["agreed", "agreed", "agreed", "agreed"])
        #expect(report.accepted?.signers.count == 4)
        #expect(report.accepted?.signedStake == Cluster.stakes.reduce(0, +))
        #expect(report.accepted.map { Keccak256.hash($0.output) == $0.outputHash } == true)
        // The same output the model gives locally: honest nodes agree byte for byte.
        #expect(report.accepted?.output == (try CPPNModel().render(input: job().input)))
        #expect(report.summary.contains("quorum reached: 4 of 4 operators holding 100.00 %"))
    }

    @Test func theLargestStakeWrongIsOutvotedOnlyBelowItsShare() async throws {
        let cluster = try await Cluster(faults: [.wrongOutput, nil, nil, nil])
        defer { cluster.stop() }
        var everyone = QuorumRound.patient()
        everyone.waitForAll = true
        let low = await everyone.run(job(), table: cluster.table(thresholdBps: 6000))
        #expect(low.accepted?.signedStake == Cluster.stakes[1] + Cluster.stakes[2] + Cluster.stakes[3])
        #expect(outcomes(low) == ["disagreed", "agreed", "agreed", "agreed"])
        // At ⅔ the three honest nodes (60 %) are not enough: rejected, and the round stops as soon as that is certain.
        let high = await QuorumRound.patient().run(job(2), table: cluster.table(thresholdBps: 6667))
        #expect(high.accepted == nil)
        #expect(high.summary.contains("quorum NOT reached"))
        #expect(!outcomes(high).contains("agreed"), "\(outcomes(high))")
        let all = await everyone.run(job(3), table: cluster.table(thresholdBps: 6667))
        // Without quorum the three honest nodes led (60 %): they answered, short of the threshold; the wrong node is
        // the one that disagreed.
        #expect(
            all.accepted == nil
                && outcomes(all) == [
                    "disagreed", "answered — no quorum", "answered — no quorum", "answered — no quorum",
                ],
            "\(all.summary)"
        )
    }

    /// A round hashes an output once and compares the others with it: an output with other bytes, or claimed under
    /// another hash, is still hashed and refused when it does not match.
    @Test func anOutputCheckedOnceIsComparedNotTrusted() {
        let checked = CheckedOutputs()
        let output = Array("an output".utf8), other = Array("an outpuT".utf8)
        let hash = Keccak256.hash(output)
        #expect(!checked.hashes(other, to: hash), "nothing checked yet: hashed, and refused")
        #expect(checked.hashes(output, to: hash))
        #expect(checked.hashes(output, to: hash), "the same bytes again")
        #expect(!checked.hashes(other, to: hash), "other bytes under the checked hash")
        #expect(!checked.hashes(Array(output.dropLast()), to: hash), "a prefix of the checked bytes")
        #expect(!checked.hashes(output, to: Keccak256.hash(other)), "the checked bytes under another hash")
        #expect(checked.hashes(other, to: Keccak256.hash(other)))
    }

    @Test func faultyNodesAreIgnoredAndReported() async throws {
        let cluster = try await Cluster(faults: [nil, .badSignature, .http500, nil])
        defer { cluster.stop() }
        var round = QuorumRound.patient()
        round.waitForAll = true
        let report = await round.run(job(), table: cluster.table(thresholdBps: 5000))
        #expect(Set(report.accepted?.signers ?? []) == [cluster.keys[0].address, cluster.keys[3].address])
        let rows = report.outcomes
        #expect(rows[1].outcome.label == "invalid" && rows[1].outcome.reason?.contains("signature recovers to") == true)
        #expect(rows[2].outcome.label == "failed" && rows[2].outcome.reason?.contains("HTTP 500") == true)
    }

    @Test func slowNodeTimesOutButQuorumIsReachedWithoutWaiting() async throws {
        let cluster = try await Cluster(faults: [nil, nil, nil, .slow])
        defer { cluster.stop() }
        var round = QuorumRound()
        // The slow node answers only after 300 s; the honest nodes — served by this test process, which runs every
        // other suite at once on a loaded 2-core CI machine — get 100 s each, and the round still never waits for
        // the slow node's answer.
        round.timeout = .seconds(100)
        let started = ContinuousClock.now
        let report = await round.run(job(), table: cluster.table())
        #expect(ContinuousClock.now - started < .seconds(250), "the round never waits for the slow node's answer")
        #expect(report.accepted != nil, "operators holding 90 % agreed")
        #expect(["not-needed", "timeout"].contains(outcomes(report).last ?? ""), "\(outcomes(report))")
        #expect(report.accepted?.signers.contains(cluster.keys[3].address) == false)
        // With a short timeout and everybody needed, the slow node times out.
        round.timeout = .seconds(2)
        let strict = await round.run(job(3), table: cluster.table(thresholdBps: 10_000))
        #expect(outcomes(strict).last == "timeout")
        #expect(strict.accepted == nil)
    }

    @Test func equivocationIsCaughtWithCheckableEvidence() async throws {
        let cluster = try await Cluster(faults: [nil, nil, .equivocate, nil])
        defer { cluster.stop() }
        var round = QuorumRound.patient()
        round.waitForAll = true  // so that both rounds hear the equivocating node, whatever the order of answers
        let table = cluster.table(thresholdBps: 10_000 * 60 / 100)
        let first = await round.run(job(), table: table)
        #expect(first.evidence.isEmpty)
        let second = await round.run(job(), table: table)  // the same job again (a retry by the pipeline)
        #expect(second.evidence.count == 1)
        let evidence = try #require(second.evidence.first)
        #expect(evidence.operator == cluster.keys[2].address)
        #expect(evidence.first.attestation.outputHash != evidence.second.attestation.outputHash)
        #expect(second.outcomes[2].outcome.label == "equivocated")
        #expect(second.accepted?.signers.contains(cluster.keys[2].address) == false)
        // Both signed messages recover to the operator with eth-account: anyone can check the evidence.
        let items = [evidence.first, evidence.second].map { ethAccountItem($0, contract: cluster.contract) }
        let recovered = try await PythonBench.run("eth.py", ["op": "recover712", "items": .array(items)])["result"]
        #expect(recovered == [.string(evidence.operator.checksummed), .string(evidence.operator.checksummed)])
        // The bundle carries the evidence and verifies offline.
        let check = try AttestationBundle.verify(AttestationBundle.json(second))
        #expect(check.ok, "\(check.lines)")
        #expect(check.lines.contains { $0.contains("equivocation by \(evidence.operator.checksummed) proven") })
        // The proof is a value naming its operator: what `kiln operators --bundle` lists without reading text.
        let proofs = check.checks.filter { $0.kind == .equivocation && $0.result == .passed }
        #expect(proofs.map(\.subject) == [evidence.operator])
    }

    @Test func bundlesVerifyOfflineAndTamperingIsCaught() async throws {
        let cluster = try await Cluster(faults: [nil, nil, nil, nil])
        defer { cluster.stop() }
        let report = await QuorumRound.patient().run(job(), table: cluster.table())
        let bundle = AttestationBundle.json(report)
        let output = try #require(report.accepted?.output)
        #expect(try AttestationBundle.verify(bundle, output: output).ok)
        // A different output file, a forged stake table, an altered input: each fails.
        #expect(try !AttestationBundle.verify(bundle, output: output + [0]).ok)
        guard case .object(var document) = bundle, case .object(var request)? = document["request"] else { return }
        request["input"] = ["seed": 6, "width": 40, "height": 40]
        document["request"] = .object(request)
        #expect(try !AttestationBundle.verify(.object(document)).ok)
        // Signatures checked independently with eth-account.
        let items = report.outcomes.compactMap { $0.answer.map { ethAccountItem($0, contract: cluster.contract) } }
        let recovered = try await PythonBench.run("eth.py", ["op": "recover712", "items": .array(items)])["result"]
        let expected = report.outcomes.filter { $0.answer != nil }.map {
            JSONValue.string($0.operator.address.checksummed)
        }
        #expect(recovered == .array(expected))
    }
}

extension QuorumTests {
    /// The fewest node computations a quorum needs: the largest stakes first, widened only when one fails or
    /// disagrees, and the same operators asked on every run for the same answers.
    @Test func theFewestOperatorsAreAskedAndTheRoundWidensOnlyWhenNeeded() async throws {
        let honest = try await Cluster(faults: [nil, nil, nil, nil])
        defer { honest.stop() }
        // 40/30/20/10 at ⅔: the two largest make 70 %; the others never compute the job.
        let two = await QuorumRound.patient().run(job(11), table: honest.table(thresholdBps: 6667))
        #expect(outcomes(two) == ["agreed", "agreed", "not-needed", "not-needed"], "\(two.summary)")
        #expect(two.summary.contains("quorum reached: 2 of 4 operators holding 70.00 %"))
        // 35/30/20/15 at ⅔ (the demo's stakes, listed out of order): three computations.
        var demo = honest.table(thresholdBps: 6667)
        for (index, stake) in [15, 35, 20, 30].enumerated() { demo.operators[index].stake = BigUInt(stake) }
        let three = await QuorumRound.patient().run(job(12), table: demo)
        #expect(outcomes(three) == ["not-needed", "agreed", "agreed", "agreed"], "\(three.summary)")
        // Equal stakes: the lower address goes first.
        var equal = honest.table(thresholdBps: 5000)
        for index in equal.operators.indices { equal.operators[index].stake = 1 }
        let byAddress = await QuorumRound.patient().run(job(13), table: equal)
        let first = equal.operators.map(\.address).sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }.prefix(2)
        #expect(Set(byAddress.accepted?.signers ?? []) == Set(first), "\(byAddress.summary)")

        // A wrong answer from the 30: the round widens by the fewest that can still carry the leading output
        // (the 20 is not enough with the 40, so the 10 too), and the same on every run.
        let liar = try await Cluster(faults: [nil, .wrongOutput, nil, nil])
        defer { liar.stop() }
        for n in 0..<2 {
            let widened = await QuorumRound.patient().run(job(14 + UInt64(n)), table: liar.table(thresholdBps: 6667))
            #expect(outcomes(widened) == ["agreed", "disagreed", "agreed", "agreed"], "\(widened.summary)")
            #expect(widened.accepted?.signedStake == Cluster.stakes[0] + Cluster.stakes[2] + Cluster.stakes[3])
        }
        // A node that fails (HTTP 500) at 60 %: the 40 and 30 were enough, but the 30 fails, so the 20 is asked.
        let failing = try await Cluster(faults: [nil, .http500, nil, nil])
        defer { failing.stop() }
        let replaced = await QuorumRound.patient().run(job(16), table: failing.table(thresholdBps: 6000))
        #expect(outcomes(replaced) == ["agreed", "failed", "agreed", "not-needed"], "\(replaced.summary)")
        // When nothing can reach the threshold any more, nobody else is asked: at 70 % with the failing node holding
        // 40, the 30 that answered plus the 20 and 10 could make only 60.
        var hopelessTable = failing.table(thresholdBps: 7000)
        for (index, stake) in [30, 40, 20, 10].enumerated() { hopelessTable.operators[index].stake = BigUInt(stake) }
        let hopeless = await QuorumRound.patient().run(job(17), table: hopelessTable)
        #expect(hopeless.accepted == nil)
        #expect(
            outcomes(hopeless) == ["answered — no quorum", "failed", "not-needed", "not-needed"],
            "\(hopeless.summary)"
        )
    }
}
