// Kiln — Apache-2.0. See LICENSE.

/// What an operator signs for one inference job (EIP-712 typed data).
///
/// `InferenceAttestation(bytes32 jobId,bytes32 modelId,bytes32 inputHash,bytes32 outputHash,uint64 referenceBlock)`
/// in the domain ``EIP712Domain/kiln(chainId:verifyingContract:)``.
public struct InferenceAttestation: Hashable, Sendable, Codable {
    /// The inference job (see `inferenceJobId`).
    public var jobId: Bytes32
    /// keccak-256 of the model's name.
    public var modelId: Bytes32
    /// keccak-256 of the canonical input JSON.
    public var inputHash: Bytes32
    /// keccak-256 of the output bytes.
    public var outputHash: Bytes32
    /// The block stakes and keys are read at.
    public var referenceBlock: UInt64

    /// An attestation from its fields.
    public init(jobId: Bytes32, modelId: Bytes32, inputHash: Bytes32, outputHash: Bytes32, referenceBlock: UInt64) {
        self.jobId = jobId
        self.modelId = modelId
        self.inputHash = inputHash
        self.outputHash = outputHash
        self.referenceBlock = referenceBlock
    }

    /// The EIP-712 struct type.
    public static let structType = try! EIP712StructType(
        name: "InferenceAttestation",
        members: [
            ("jobId", "bytes32"), ("modelId", "bytes32"), ("inputHash", "bytes32"), ("outputHash", "bytes32"),
            ("referenceBlock", "uint64"),
        ]
    )

    /// `hashStruct(self)`.
    public var structHash: Bytes32 {
        try! Self.structType.hashStruct([
            .bytes32(jobId), .bytes32(modelId), .bytes32(inputHash), .bytes32(outputHash), .uint64(referenceBlock),
        ])
    }

    /// The 32-byte digest an operator signs in `domain`.
    public func signingDigest(domain: EIP712Domain) -> Bytes32 {
        EIP712Domain.digest(domainSeparator: domain.separator, structHash: structHash)
    }
}
