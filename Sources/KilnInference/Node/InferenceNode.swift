// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import KilnCore
internal import KilnCrypto
internal import KilnImage
public import Logging

/// The operator node's logic, separate from HTTP: admission, running a model with a deadline, signing.
public actor InferenceNode {
    public let configuration: NodeConfiguration
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// Answers per job, kept only under the equivocation test fault.
    private var answers: [Bytes32: Int] = [:]
    private var commits = CommitStore()
    private let logger: Logger

    public init(configuration: NodeConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The operator address (from the key; the key itself never leaves the node).
    public nonisolated var operatorAddress: Address { configuration.key.address }

    /// A job's outcome, as the HTTP layer maps it to a status code.
    ///
    /// A documented exception to "one error struct per domain" (``InferenceError``): a closed set that
    /// `NodeServer.describe` switches over exhaustively to choose each status and error code, so that a new case
    /// cannot be answered by accident; it never leaves the node.
    public enum Failure: Error, Sendable {
        case badRequest(String)
        case unknownModel(String)
        case busy
        case timeout
        case modelFailed(String)
        case injected  // --test-fault http-500
        /// `POST /v1/agreements` for a job this node holds no commit for (never asked, or expired).
        case noCommit(String)
        /// The canonical output is not within the policy's tolerance of this node's own output.
        case outOfTolerance(String)
    }

    /// Runs `request` and signs the result.
    public func handle(_ request: JobRequest) async throws(Failure) -> JobResponse {
        if configuration.fault == .http500 { throw .injected }
        guard let model = configuration.models.first(where: { $0.id == request.model }) else {
            throw .unknownModel(request.model)
        }
        try await admit()
        defer { release() }
        var input = request.input
        // How many times this job was answered matters only to the equivocation fault, so only then is it counted
        // (a counter per job ever answered would grow for the node's whole life).
        var count = 1
        if configuration.fault == .equivocate {
            count = answers[request.jobId, default: 0] + 1
            answers[request.jobId] = count
        }
        let altered = configuration.fault == .wrongOutput || configuration.fault == .falseAgree
        if altered || (configuration.fault == .equivocate && count % 2 == 0) {
            if case .object(var members) = input {
                // The same wrong answer every time for wrong-output (so test runs are reproducible); a new one
                // on every second answer to the same job for equivocate.
                members["_fault"] = .number(altered ? 1 : count)
                input = .object(members)
            }
        }
        let output = try await run(model, input)
        if configuration.fault == .slow { try? await Task.sleep(for: configuration.slowDelay) }
        let attestation = InferenceAttestation(
            jobId: request.jobId,
            modelId: model.modelHash,
            inputHash: request.inputHash,
            outputHash: Keccak256.hash(output),
            referenceBlock: request.referenceBlock
        )
        var digest = attestation.signingDigest(domain: configuration.domain)
        if configuration.fault == .badSignature { digest = Keccak256.hash(digest.bytes) }
        // The policy is read from the input this node ran, so the agreement phase cannot change it.
        let policy = (request.input["agreement"]).flatMap { try? AgreementPolicy(json: $0) } ?? .exact
        commits.keep(
            Commit(attestation: attestation, policy: policy, output: output, at: .now),
            limits: (configuration.maxKeptCommits, configuration.maxKeptCommitBytes, configuration.keepCommitsFor)
        )
        return JobResponse(
            attestation: attestation,
            model: model.id,
            output: output,
            signature: configuration.key.sign(digest: digest),
            operator_: operatorAddress
        )
    }

    /// The agreement phase: signs an ``InferenceAgreement`` over the canonical output when this node's own
    /// committed output for the job is within its policy's tolerance of it; refuses otherwise.
    public func agree(_ request: AgreementRequest) async throws(Failure) -> AgreementResponse {
        if configuration.fault == .http500 { throw .injected }
        commits.expire(olderThan: configuration.keepCommitsFor)
        guard let commit = commits.commit(for: request.jobId) else {
            throw .noCommit(
                "this node holds no committed output for job \(request.jobId.hex) (never asked, or expired)"
            )
        }
        guard Keccak256.hash(request.canonicalOutput) == request.canonicalOutputHash else {
            throw .badRequest("'canonicalOutput' does not hash to 'canonicalOutputHash'")
        }
        let same = request.canonicalOutputHash == commit.attestation.outputHash
        let distance = same ? nil : PixelDistance.between(files: commit.output, request.canonicalOutput)
        if !commit.policy.accepts(sameBytes: same, distance: distance) && configuration.fault != .falseAgree {
            throw .outOfTolerance(
                "the canonical output is outside \(commit.policy) of this node's output: "
                    + (distance.map { "\($0)" } ?? "the images cannot be compared (not decodable, or other sizes)")
            )
        }
        var agreement = InferenceAgreement(
            jobId: commit.attestation.jobId,
            modelId: commit.attestation.modelId,
            inputHash: commit.attestation.inputHash,
            canonicalOutputHash: request.canonicalOutputHash,
            policyHash: commit.policy.hash,
            referenceBlock: commit.attestation.referenceBlock
        )
        if configuration.fault == .wrongCanonical { agreement.canonicalOutputHash = commit.attestation.outputHash }
        return AgreementResponse(
            agreement: agreement,
            ownOutputHash: commit.attestation.outputHash,
            distance: distance,
            signature: configuration.key.sign(digest: agreement.signingDigest(domain: configuration.domain)),
            operator_: operatorAddress
        )
    }

    /// Committed outputs this node holds now (for `GET /v1/health`).
    public var keptCommits: Int { commits.count }

    private func run(_ model: any InferenceModel, _ input: JSONValue) async throws(Failure) -> [UInt8] {
        let timeout = configuration.jobTimeout
        let limit = configuration.maxOutputBytes
        // withDeadline, not a task group racing a `Task.sleep`: a sleep cancelled early keeps its memory until its
        // deadline (swiftlang/swift#60441), per job for `jobTimeout`.
        return try await withDeadline(timeout, expired: { Failure.timeout }) { () async throws(Failure) -> [UInt8] in
            let output: [UInt8]
            do throws(InferenceError) { output = try await model.run(input: input) } catch {
                throw error.code == .badInput ? .badRequest(error.message) : .modelFailed(error.message)
            }
            guard output.count <= limit else {
                throw .modelFailed("output of \(output.count) bytes exceeds \(limit)")
            }
            return output
        }
    }

    /// Jobs running and jobs waiting for a slot, now.
    public var load: (running: Int, queued: Int) { (running, waiting.count) }

    /// Waits for a slot; refuses when the queue is full.
    private func admit() async throws(Failure) {
        if running < configuration.maxConcurrentJobs {
            running += 1
            return
        }
        guard waiting.count < configuration.maxQueuedJobs else {
            logger.warning(
                "queue full, refusing a job",
                metadata: ["running": "\(running)", "waiting": "\(waiting.count)"]
            )
            throw .busy
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()  // the slot passes to the next job
        }
    }
}

/// A committed output, kept for the agreement phase.
struct Commit: Sendable {
    var attestation: InferenceAttestation
    var policy: AgreementPolicy
    var output: [UInt8]
    var at: ContinuousClock.Instant
}

/// Committed outputs by job, bounded in count, bytes and age; the oldest go first.
struct CommitStore: Sendable {
    private var byJob: [Bytes32: Commit] = [:]
    private var order: [Bytes32] = []  // oldest first; a job committed again moves to the end
    private var bytes = 0

    var count: Int { byJob.count }

    func commit(for job: Bytes32) -> Commit? { byJob[job] }

    mutating func keep(_ commit: Commit, limits: (count: Int, bytes: Int, age: Duration)) {
        let job = commit.attestation.jobId
        if let old = byJob.removeValue(forKey: job) {
            bytes -= old.output.count
            order.removeAll { $0 == job }
        }
        byJob[job] = commit
        order.append(job)
        bytes += commit.output.count
        expire(olderThan: limits.age)
        while byJob.count > limits.count || bytes > limits.bytes, let oldest = order.first {
            drop(oldest)
        }
    }

    mutating func expire(olderThan age: Duration) {
        let now = ContinuousClock.now
        while let oldest = order.first, let commit = byJob[oldest], now - commit.at > age { drop(oldest) }
    }

    private mutating func drop(_ job: Bytes32) {
        order.removeFirst()
        if let old = byJob.removeValue(forKey: job) { bytes -= old.output.count }
    }
}
