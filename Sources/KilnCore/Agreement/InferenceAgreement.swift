// Kiln — Apache-2.0. See LICENSE.

/// What an operator signs in the agreement phase of a round under a non-exact ``AgreementPolicy``: that its own
/// committed output for the job is within the policy's tolerance of the canonical output.
///
/// `InferenceAgreement(bytes32 jobId,bytes32 modelId,bytes32 inputHash,bytes32 canonicalOutputHash,bytes32 policyHash,uint64 referenceBlock)`
/// in the domain ``EIP712Domain/kiln(chainId:verifyingContract:)``.
///
/// Every agreeing operator signs the same struct, so the quorum is one digest that the stake registry's
/// ERC-1271 `isValidSignature` checks as it checks an exact round. The operator's own output is bound by its
/// commit (an ``InferenceAttestation`` over its `outputHash`): the commit and this agreement together prove
/// what it agreed to, and a false agreement is provable from the two signatures and the two outputs.
public struct InferenceAgreement: Hashable, Sendable {
    public var jobId: Bytes32
    public var modelId: Bytes32
    public var inputHash: Bytes32
    /// keccak-256 of the canonical output's bytes.
    public var canonicalOutputHash: Bytes32
    /// keccak-256 of the policy's canonical JSON (``AgreementPolicy/hash``).
    public var policyHash: Bytes32
    public var referenceBlock: UInt64

    public init(
        jobId: Bytes32,
        modelId: Bytes32,
        inputHash: Bytes32,
        canonicalOutputHash: Bytes32,
        policyHash: Bytes32,
        referenceBlock: UInt64
    ) {
        self.jobId = jobId
        self.modelId = modelId
        self.inputHash = inputHash
        self.canonicalOutputHash = canonicalOutputHash
        self.policyHash = policyHash
        self.referenceBlock = referenceBlock
    }

    /// The EIP-712 struct type.
    public static let structType = try! EIP712StructType(
        name: "InferenceAgreement",
        members: [
            ("jobId", "bytes32"), ("modelId", "bytes32"), ("inputHash", "bytes32"), ("canonicalOutputHash", "bytes32"),
            ("policyHash", "bytes32"), ("referenceBlock", "uint64"),
        ]
    )

    /// `hashStruct(self)`.
    public var structHash: Bytes32 {
        try! Self.structType.hashStruct([
            .bytes32(jobId), .bytes32(modelId), .bytes32(inputHash), .bytes32(canonicalOutputHash),
            .bytes32(policyHash), .uint64(referenceBlock),
        ])
    }

    /// The 32-byte digest an operator signs in `domain`.
    public func signingDigest(domain: EIP712Domain) -> Bytes32 {
        EIP712Domain.digest(domainSeparator: domain.separator, structHash: structHash)
    }
}
