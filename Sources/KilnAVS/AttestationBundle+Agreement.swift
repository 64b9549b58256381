// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import KilnCore
internal import KilnCrypto

extension AttestationBundle {
    /// Checks a bundle's agreement phase from the bundle and the committed outputs alone (no model is run):
    /// - the policy is the one in the attested input and hashes to `policyHash`;
    /// - every commit signature recovers to its operator's signing key, and every committed output is given and
    ///   hashes to its `outputHash`;
    /// - the canonical choice, recomputed by ``CanonicalChoice/pick(_:within:)``, is the recorded one, and so is
    ///   the digest every agreement signs;
    /// - each agreement signature recovers to its operator's key over that digest, and counts only when the
    ///   operator's own output is within tolerance of the canonical one (recomputed); recorded distances match;
    /// - each false-agreement evidence item is proven.
    /// Returns the agreeing operators and the canonical output hash; nil when the outputs are missing.
    static func verifyAgreement(
        _ bundle: JSONValue,
        _ parsed: Parsed,
        outputs: [Bytes32: [UInt8]],
        equivocators: Set<Address>,
        into list: inout CheckList
    ) throws(AVSError) -> (signers: Set<Address>, canonical: Bytes32)? {
        let section = try Parsed.field(bundle["agreement"], "agreement")
        let policyJSON = try Parsed.field(section["policy"], "agreement.policy")
        let policy: AgreementPolicy
        do { policy = try AgreementPolicy(json: policyJSON) } catch {
            throw AVSError("agreement.policy: \(error.message)", cause: error)
        }
        list.check(
            .agreementPolicy,
            nil,
            bundle["request"]?["input"]?["agreement"] == policyJSON,
            "the agreement policy (\(policy)) is the one in the attested input",
            "agreement.policy is not the policy in the attested input"
        )
        list.check(
            .agreementPolicy,
            nil,
            try Parsed.word(section["policyHash"], "agreement.policyHash") == policy.hash,
            "policyHash is keccak-256 of the canonical policy",
            "agreement.policyHash does not match the policy"
        )

        // The valid commits, in stake-table order (the order the choice breaks no ties by, but reports use).
        guard case .array(let responses)? = bundle["responses"] else { throw AVSError("the bundle has no 'responses'") }
        struct Commit {
            var op: Address
            var outputHash: Bytes32
            var response: JSONValue
        }
        var commits: [Commit] = []
        for response in responses {
            guard let signatureText = response["signature"]?.stringValue,
                let outputHash = response["outputHash"]?.stringValue.flatMap({ try? Bytes32(hex: $0) })
            else { continue }
            let op = try Parsed.address(response["operator"], "responses[].operator")
            guard parsed.stake(of: op) > 0, !equivocators.contains(op) else { continue }
            guard let signature = try? Signature(hex: signatureText),
                parsed.signer(of: outputHash, signature) == parsed.key(of: op)
            else {
                list.note(
                    .signature,
                    op,
                    "\(op.checksummed)'s commit signature does not recover to its signing key: not counted"
                )
                continue
            }
            commits.append(Commit(op: op, outputHash: outputHash, response: response))
        }
        commits.sort { parsed.order(of: $0.op) < parsed.order(of: $1.op) }
        let missing = commits.filter { outputs[$0.outputHash] == nil }
        guard missing.isEmpty else {
            for commit in missing {
                list.fail(
                    .committedOutputs,
                    commit.op,
                    "the committed output of \(commit.op.checksummed) (\(commit.outputHash.hex.prefix(18))…) is not available: "
                        + "give the committed outputs (kiln verify-attestation --outputs DIR; kiln verify reads them from the blocks)"
                )
            }
            return nil
        }
        var hashesHold = true
        for commit in commits where Keccak256.hash(outputs[commit.outputHash]!) != commit.outputHash {
            hashesHold = false
            list.fail(
                .committedOutputs,
                commit.op,
                "the committed output of \(commit.op.checksummed) does not hash to its outputHash"
            )
        }
        guard hashesHold else { return nil }
        list.check(
            .committedOutputs,
            nil,
            true,
            "\(commits.count) committed outputs given, each hashes to its signed outputHash",
            ""
        )

        var comparator = OutputComparator(policy: policy, outputs: outputs)
        let candidates = commits.map {
            CanonicalChoice.Candidate(operator: $0.op, stake: parsed.stake(of: $0.op), outputHash: $0.outputHash)
        }
        guard
            let chosen = CanonicalChoice.pick(
                candidates,
                within: { i, j in
                    comparator.within(candidates[i].outputHash, candidates[j].outputHash)
                }
            )
        else {
            list.fail(.canonicalChoice, nil, "no valid commit: no canonical output can be chosen")
            return nil
        }
        let canonical = candidates[chosen]
        let recorded = try Parsed.field(section["canonical"], "agreement.canonical")
        list.check(
            .canonicalChoice,
            canonical.operator,
            recorded["outputHash"]?.stringValue == canonical.outputHash.hex
                && recorded["operator"]?.stringValue.flatMap({ try? Address(hex: $0) }) == canonical.operator,
            "canonical choice recomputed: \(canonical.operator.checksummed)'s output \(canonical.outputHash.hex.prefix(18))…",
            "the canonical choice is not the rule's: it picks \(canonical.operator.checksummed)'s output \(canonical.outputHash.hex)"
        )
        let agreement = InferenceAgreement(
            jobId: parsed.jobId,
            modelId: Keccak256.hash(utf8: parsed.model),
            inputHash: parsed.inputHash,
            canonicalOutputHash: canonical.outputHash,
            policyHash: policy.hash,
            referenceBlock: parsed.referenceBlock
        )
        let digest = agreement.signingDigest(domain: parsed.domain)
        if let recordedDigest = section["digest"]?.stringValue {
            list.check(
                .agreementDigest,
                nil,
                recordedDigest == digest.hex,
                "agreement digest \(digest.hex.prefix(18))… (one digest for every agreeing operator)",
                "agreement.digest is not the InferenceAgreement digest of the canonical output"
            )
        }

        var signers: Set<Address> = []
        var falseAgreers: Set<Address> = []
        for commit in commits {
            let distance = comparator.distance(commit.outputHash, canonical.outputHash)
            if let recordedDistance = commit.response["distance"] {
                list.check(
                    .distance,
                    commit.op,
                    recordedDistance == distance?.json,
                    "\(commit.op.checksummed): distance recomputed (\(distance.map { "\($0)" } ?? "same bytes"))",
                    "\(commit.op.checksummed): the recorded distance is not the recomputed one"
                )
            }
            guard let text = commit.response["agreementSignature"]?.stringValue else { continue }
            guard let signature = try? Signature(hex: text),
                (try? signature.recoverAddress(digest: digest)) == parsed.key(of: commit.op)
            else {
                list.note(
                    .signature,
                    commit.op,
                    "\(commit.op.checksummed)'s agreement signature does not recover to its signing key: not counted"
                )
                continue
            }
            if comparator.within(commit.outputHash, canonical.outputHash) {
                signers.insert(commit.op)
            } else {
                falseAgreers.insert(commit.op)
                list.note(
                    .falseAgreement,
                    commit.op,
                    "\(commit.op.checksummed) signed agreement although its output is outside \(policy) of the canonical output"
                        + (distance.map { " (\($0))" } ?? "") + ": not counted"
                )
            }
        }

        // False-agreement evidence: the commit and the agreement signature by the operator, the outputs apart.
        if case .array(let evidence)? = bundle["evidence"] {
            for item in evidence where item["kind"]?.stringValue == "false-agreement" {
                let op = try Parsed.address(item["operator"], "evidence[].operator")
                let committed = try Parsed.field(item["committed"], "evidence[].committed")
                let own = try Parsed.word(committed["outputHash"], "evidence[].committed.outputHash")
                let commitSignature = try? Signature(hex: try Parsed.string(committed["signature"], "signature"))
                let agreementSignature = try? Signature(
                    hex: try Parsed.string(item["agreementSignature"], "evidence[].agreementSignature")
                )
                let key = parsed.key(of: op)
                let proven =
                    commitSignature.map { parsed.signer(of: own, $0) == key } == true
                    && agreementSignature.map { (try? $0.recoverAddress(digest: digest)) == key } == true
                    && outputs[own] != nil && !comparator.within(own, canonical.outputHash)
                list.check(
                    .falseAgreement,
                    op,
                    proven,
                    "false agreement by \(op.checksummed) proven: it committed to \(own.hex.prefix(18))… and signed agreement to a canonical output outside tolerance of it",
                    "false-agreement evidence against \(op.checksummed) does not verify"
                )
            }
        }
        for op in falseAgreers.sorted(by: { $0.lowercased < $1.lowercased }) {
            guard case .array(let evidence)? = bundle["evidence"] else { continue }
            let recorded =
                evidence.contains {
                    $0["kind"]?.stringValue == "false-agreement"
                        && $0["operator"]?.stringValue.flatMap({ try? Address(hex: $0) }) == op
                }
            if !recorded {
                list.note(
                    .falseAgreement,
                    op,
                    "the bundle does not record the false agreement by \(op.checksummed) as evidence"
                )
            }
        }
        return (signers, canonical.outputHash)
    }
}
