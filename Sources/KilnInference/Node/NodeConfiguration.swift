// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
public import KilnCrypto

/// Faults a test node can be told to commit (`kiln node serve --test-fault …`). Never for production.
public enum TestFault: String, CaseIterable, Sendable {
    /// Runs the model on altered input and signs that (an honest signature over a wrong answer).
    case wrongOutput = "wrong-output"
    /// Answers the same job differently every other time, signing both.
    case equivocate
    /// Waits ``NodeConfiguration/slowDelay`` before answering.
    case slow
    /// Signs something other than the attestation.
    case badSignature = "bad-signature"
    /// Answers every job with HTTP 500.
    case http500 = "http-500"
    /// Runs the model on altered input (as wrong-output), then signs agreement to any canonical output.
    case falseAgree = "false-agree"
    /// Signs agreement over another canonical output hash than the one it was sent.
    case wrongCanonical = "wrong-canonical"
}

/// What a node needs to serve jobs.
public struct NodeConfiguration: Sendable {
    public var key: PrivateKey
    /// The EIP-712 domain of the attestations it signs.
    public var domain: EIP712Domain
    public var models: [any InferenceModel]
    /// Largest request body accepted (413 above).
    public var maxRequestBytes = 64 * 1024
    /// Largest output accepted from a model or upstream.
    public var maxOutputBytes = 16 << 20
    /// Jobs run at once; more wait in a queue.
    public var maxConcurrentJobs = 2
    /// Jobs that may wait; more are refused with 429.
    public var maxQueuedJobs = 16
    /// A job still running after this is answered with 504.
    public var jobTimeout: Duration = .seconds(30)
    /// Committed outputs kept for the agreement phase: at most this many…
    public var maxKeptCommits = 4096
    /// …holding at most this many output bytes…
    public var maxKeptCommitBytes = 256 << 20
    /// …each for this long after it was committed.
    public var keepCommitsFor: Duration = .seconds(900)
    /// When set, `POST /service_output` (the Infernet container protocol) requires `Authorization: Bearer` with
    /// this token: the `bearer` of Kiln's container entry in the Infernet node's config.json. A secret: never logged.
    public var infernetBearer: String?
    /// When set, `POST /v1/jobs` and `POST /v1/agreements` require `Authorization: Bearer` with this token (the
    /// coordinator's operators.yml `token`; `--auth-token-file`). `GET /v1/health` and `/v1/models` stay open. A
    /// secret: never logged.
    public var authToken: String?
    /// Per-client request rate, connections and request timeout (see ``NodeLimits``).
    public var limits = NodeLimits()
    public var fault: TestFault?
    public var slowDelay: Duration = .seconds(10)

    public init(key: PrivateKey, domain: EIP712Domain, models: [any InferenceModel]) {
        self.key = key
        self.domain = domain
        self.models = models
    }
}
