// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import KilnCore
internal import KilnCrypto
internal import KilnInference
internal import Logging

extension QuorumRound {
    /// A round under a non-exact policy, in two phases.
    ///
    /// 1. *Commit*: every operator with stake is asked for the job and answers with its own output and its
    ///    attestation over that output (nobody's output is shown to anyone before every commit is in).
    /// 2. *Agree*: the canonical output is chosen by ``CanonicalChoice/pick(_:within:)`` among the valid commits
    ///    and sent to every committed operator; each one whose own output is within tolerance signs an
    ///    ``InferenceAgreement``. Kiln counts an agreement only when the signature recovers to the operator's key
    ///    over exactly the agreement it expects and its own check finds the operator's output within tolerance;
    ///    a valid signature on an output out of tolerance is kept as ``FalseAgreementEvidence``.
    ///
    /// The quorum is the agreeing stake against the table's threshold. Every operator is waited for in the commit
    /// phase: the canonical choice depends on every commit, so the same node behaviour gives the same bundle.
    func runAgreement(_ request: JobRequest, table: StakeTable, policy: AgreementPolicy) async -> QuorumReport {
        let operators = table.operators.filter { $0.stake > 0 }
        var commits: [Address: (Outcome, SignedAnswer?)] = [:]
        await askEach(operators, request, table) { op, outcome, answer in
            commits[op.address] = (outcome, answer)
            return true  // every commit counts for the canonical choice
        }

        // The canonical choice over the valid commits, in stake-table order.
        let committed: [(op: Operator, answer: SignedAnswer)] = operators.compactMap { op in
            guard case (.agreed, let answer?)? = commits[op.address] else { return nil }
            return (op, answer)
        }
        var outputs: [Bytes32: [UInt8]] = [:]
        for (_, answer) in committed { outputs[answer.attestation.outputHash] = answer.output }
        var comparator = OutputComparator(policy: policy, outputs: outputs)
        let candidates = committed.map {
            CanonicalChoice.Candidate(
                operator: $0.op.address,
                stake: $0.op.stake,
                outputHash: $0.answer.attestation.outputHash
            )
        }
        let chosen = CanonicalChoice.pick(candidates) { i, j in
            comparator.within(candidates[i].outputHash, candidates[j].outputHash)
        }
        let evidence = await log.evidence.filter { $0.first.attestation.jobId == request.jobId }
        guard let chosen else {
            let rows = table.operators.map { op in
                let (outcome, answer) = commits[op.address] ?? (Self.unasked(op, table), nil)
                return (op, outcome, answer)
            }
            return QuorumReport(request: request, table: table, outcomes: rows, accepted: nil, evidence: evidence)
        }
        let canonical = committed[chosen]
        let canonicalHash = canonical.answer.attestation.outputHash
        let expected = InferenceAgreement(
            jobId: request.jobId,
            modelId: request.modelId,
            inputHash: request.inputHash,
            canonicalOutputHash: canonicalHash,
            policyHash: policy.hash,
            referenceBlock: request.referenceBlock
        )
        var entries: [Address: AgreementRecord.Entry] = [:]
        for (op, answer) in committed {
            let own = answer.attestation.outputHash
            entries[op.address] = .init(
                distance: comparator.distance(own, canonicalHash),
                within: comparator.within(own, canonicalHash),
                signature: nil
            )
        }

        // Phase 2: the canonical output to every committed operator.
        let agreementRequest = AgreementRequest(
            jobId: request.jobId,
            canonicalOutputHash: canonicalHash,
            canonicalOutput: canonical.answer.output
        )
        var phase2: [Address: (Outcome, Signature?)] = [:]
        await withTaskGroup(of: (Address, Outcome, Signature?).self) { group in
            for (op, _) in committed {
                group.addTask { await askAgreement(op, agreementRequest, expected: expected, table: table) }
            }
            for await (address, outcome, signature) in group { phase2[address] = (outcome, signature) }
        }

        var falseAgreements: [FalseAgreementEvidence] = []
        var agreeing: Set<Address> = []
        var rows: [(operator: Operator, outcome: Outcome, answer: SignedAnswer?)] = []
        for op in table.operators {
            guard let (commitOutcome, answer) = commits[op.address] else {
                rows.append((op, Self.unasked(op, table), nil))
                continue
            }
            guard case .agreed = commitOutcome, let answer, let (outcome, signature) = phase2[op.address] else {
                rows.append((op, commitOutcome, answer))
                continue
            }
            guard let signature else {
                rows.append((op, outcome, answer))
                continue
            }
            if entries[op.address]?.within == true {
                entries[op.address]?.signature = signature
                agreeing.insert(op.address)
                rows.append((op, .agreed, answer))
            } else {
                let distance = entries[op.address]?.distance
                falseAgreements.append(
                    FalseAgreementEvidence(
                        operator: op.address,
                        committed: answer,
                        agreementSignature: signature,
                        distance: distance
                    )
                )
                entries[op.address]?.signature = signature
                logger.warning(
                    "false agreement",
                    metadata: ["operator": "\(op.address)", "job": "\(request.jobId.hex)"]
                )
                rows.append(
                    (
                        op,
                        .invalid(
                            AVSError(
                                "signed agreement although its output is outside \(policy) of the canonical output"
                                    + (distance.map { " (\($0))" } ?? " (not comparable)")
                            )
                        ), answer
                    )
                )
            }
        }
        let signedStake = table.operators.filter { agreeing.contains($0.address) }.reduce(BigUInt(0)) { $0 + $1.stake }
        let reached = table.reaches(signedStake)
        if !reached {
            // Their agreement did not carry the round: they answered, and the quorum was not reached.
            rows = rows.map { row in row.outcome == .agreed ? (row.operator, .unconfirmed, row.answer) : row }
        }
        var report = QuorumReport(
            request: request,
            table: table,
            outcomes: rows,
            accepted: reached
                ? (
                    canonical.answer.output, canonicalHash, table.operators.map(\.address).filter(agreeing.contains),
                    signedStake
                ) : nil,
            evidence: evidence
        )
        report.agreement = AgreementRecord(
            policy: policy,
            canonicalOperator: canonical.op.address,
            canonicalOutputHash: canonicalHash,
            agreement: expected,
            entries: entries
        )
        report.falseAgreements = falseAgreements
        return report
    }

    /// What an operator that was not asked shows in the report.
    static func unasked(_ op: Operator, _ table: StakeTable) -> Outcome {
        op.stake == 0 ? .invalid(AVSError("no stake at block \(table.referenceBlock)")) : .notNeeded
    }

    /// One committed operator's agreement (with retries for transport failures and 5xx), verified: the
    /// signature must recover to its key over exactly `expected`.
    func askAgreement(_ op: Operator, _ request: AgreementRequest, expected: InferenceAgreement, table: StakeTable)
        async -> (Address, Outcome, Signature?)
    {
        guard let endpoint = op.endpoint else { return (op.address, .failed(AVSError("no node endpoint")), nil) }
        var lastError: InferenceError?
        for attempt in 0..<max(1, attempts) {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(250 << (attempt - 1))) }
            do {
                let response = try await client.agree(request, to: endpoint, timeout: timeout)
                guard response.agreement == expected else {
                    let what =
                        response.agreement.canonicalOutputHash != expected.canonicalOutputHash
                        ? "canonical output \(response.agreement.canonicalOutputHash.hex.prefix(18))…, not the one it was sent"
                        : response.agreement.policyHash != expected.policyHash
                            ? "another policy hash" : "another job, model, input or block"
                    return (op.address, .invalid(AVSError("agreement names \(what)")), nil)
                }
                let signer: Address
                do {
                    signer = try response.signature.recoverAddress(digest: expected.signingDigest(domain: table.domain))
                } catch {
                    return (op.address, .invalid(AVSError("agreement signature: \(error.message)", cause: error)), nil)
                }
                guard signer == op.signingKey else {
                    return (
                        op.address,
                        .invalid(
                            AVSError(
                                "agreement signature recovers to \(signer.checksummed), not \(op.signingKey.checksummed)"
                            )
                        ),
                        nil
                    )
                }
                return (op.address, .agreed, response.signature)
            } catch {
                lastError = error
                if error.status == 409 {
                    return (op.address, .refused(AVSError(error.nodeMessage ?? error.message, cause: error)), nil)
                }
                // A 408 on a reused idle connection asks for the request again on a new one.
                if error.status == 408 { continue }
                if error.isClientError || error.code == .badResponse || error.code == .timeout { break }
            }
        }
        guard let lastError else { return (op.address, .failed(AVSError("no attempt made")), nil) }
        if lastError.code == .timeout { return (op.address, .timedOut, nil) }
        return (op.address, .failed(AVSError("agreement: \(lastError.message)", cause: lastError)), nil)
    }
}
