// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// One token published by a batch: the CIDs of its media and of its provenance.
public struct Publication: Hashable, Sendable {
    public var jobId: Int64
    public var batch: Int
    public var token: TokenKey
    public var stateHash: Bytes32
    public var templateHash: Bytes32
    /// The token directory `{image.png, thumb.jpg, metadata.json}` and its files (CIDs as text).
    public var directory: String
    public var metadata: String
    public var image: String
    public var thumbnail: String
    /// The accepted inference output and the attestation bundle (nil for templates without inference).
    public var inference: String?
    public var attestation: String?
    /// The template folder as published.
    public var template: String

    public init(
        jobId: Int64,
        batch: Int,
        token: TokenKey,
        stateHash: Bytes32,
        templateHash: Bytes32,
        directory: String,
        metadata: String,
        image: String,
        thumbnail: String,
        inference: String?,
        attestation: String?,
        template: String
    ) {
        self.jobId = jobId
        self.batch = batch
        self.token = token
        self.stateHash = stateHash
        self.templateHash = templateHash
        self.directory = directory
        self.metadata = metadata
        self.image = image
        self.thumbnail = thumbnail
        self.inference = inference
        self.attestation = attestation
        self.template = template
    }
}
