// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnCore
public import KilnCrypto
internal import KilnImage

/// The agreement phase's record in a ``QuorumReport``: the policy, the canonical choice and, per committed
/// operator, its distance to the canonical output and its agreement signature.
public struct AgreementRecord: Sendable {
    /// One committed operator's part.
    public struct Entry: Hashable, Sendable {
        /// Its committed output's distance to the canonical output (nil: the same bytes, or not comparable).
        public var distance: PixelDistance?
        /// Whether its output is within the policy's tolerance of the canonical output (Kiln's own check).
        public var within: Bool
        /// Its valid signature over the ``InferenceAgreement``, when it agreed.
        public var signature: Signature?
    }

    /// The template's policy (from the attested input).
    public var policy: AgreementPolicy
    /// The operator whose committed output was chosen, and that output's hash.
    public var canonicalOperator: Address
    public var canonicalOutputHash: Bytes32
    /// What every agreeing operator signed.
    public var agreement: InferenceAgreement
    /// Per committed operator.
    public var entries: [Address: Entry]
}

/// An operator that signed agreement to a canonical output outside the policy's tolerance of its own committed
/// output: its commit signature, its agreement signature and the two outputs prove it.
public struct FalseAgreementEvidence: Hashable, Sendable {
    public var `operator`: Address
    /// Its commit (an attestation over its own output).
    public var committed: SignedAnswer
    /// Its signature over the ``InferenceAgreement`` naming the canonical output.
    public var agreementSignature: Signature
    /// Its output's distance to the canonical output (nil: not comparable at all).
    public var distance: PixelDistance?
}

/// The rule that picks the canonical output, the same for the round and for every verifier.
public enum CanonicalChoice {
    /// One committed output.
    public struct Candidate: Sendable {
        public var `operator`: Address
        public var stake: BigUInt
        public var outputHash: Bytes32

        public init(operator: Address, stake: BigUInt, outputHash: Bytes32) {
            self.operator = `operator`
            self.stake = stake
            self.outputHash = outputHash
        }
    }

    /// For every candidate, its support: the stake of the candidates whose outputs are within tolerance of it
    /// (itself included). The canonical output is the candidate with the most support; among equals, the one
    /// whose operator holds the most stake; among those, the lowest operator address. Returns its index.
    public static func pick(_ candidates: [Candidate], within: (Int, Int) -> Bool) -> Int? {
        guard !candidates.isEmpty else { return nil }
        var best: (index: Int, support: BigUInt)?
        for i in candidates.indices {
            var support = BigUInt(0)
            for j in candidates.indices where i == j || within(i, j) { support += candidates[j].stake }
            guard let current = best else {
                best = (i, support)
                continue
            }
            let a = candidates[i], b = candidates[current.index]
            if support > current.support
                || (support == current.support
                    && (a.stake > b.stake || (a.stake == b.stake && a.operator.lowercased < b.operator.lowercased)))
            {
                best = (i, support)
            }
        }
        return best?.index
    }
}

/// Decoded outputs and their pairwise verdicts under one policy, computed once each.
struct OutputComparator {
    let policy: AgreementPolicy
    private var images: [Bytes32: RGBAImage?] = [:]
    private var outputs: [Bytes32: [UInt8]]

    init(policy: AgreementPolicy, outputs: [Bytes32: [UInt8]]) {
        self.policy = policy
        self.outputs = outputs
    }

    mutating func image(_ hash: Bytes32) -> RGBAImage? {
        if let cached = images[hash] { return cached }
        let decoded = outputs[hash].flatMap { try? ImageFile.decode($0, source: "an output") }
        images[hash] = decoded
        return decoded
    }

    /// The distance between two outputs (nil for the same bytes or images that cannot be compared).
    mutating func distance(_ a: Bytes32, _ b: Bytes32) -> PixelDistance? {
        guard a != b, let first = image(a), let second = image(b) else { return nil }
        return PixelDistance.between(first, second)
    }

    mutating func within(_ a: Bytes32, _ b: Bytes32) -> Bool {
        policy.accepts(sameBytes: a == b, distance: distance(a, b))
    }
}
