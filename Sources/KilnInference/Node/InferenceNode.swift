// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import KilnCore
internal import KilnCrypto
public import Logging

/// The operator node's logic, separate from HTTP: admission, running a model with a deadline, signing.
public actor InferenceNode {
    public let configuration: NodeConfiguration
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var answers: [Bytes32: Int] = [:]
    private let logger: Logger

    public init(configuration: NodeConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The operator address (from the key; the key itself never leaves the node).
    public nonisolated var operatorAddress: Address { configuration.key.address }

    /// A job's outcome, as the HTTP layer maps it to a status code.
    public enum Failure: Error, Sendable {
        case badRequest(String)
        case unknownModel(String)
        case busy
        case timeout
        case modelFailed(String)
        case injected  // --test-fault http-500
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
        var count = answers[request.jobId, default: 0]
        count += 1
        answers[request.jobId] = count
        if configuration.fault == .wrongOutput || (configuration.fault == .equivocate && count % 2 == 0) {
            if case .object(var members) = input {
                // The same wrong answer every time for wrong-output (so test runs are reproducible); a new one
                // on every second answer to the same job for equivocate.
                members["_fault"] = .number(configuration.fault == .wrongOutput ? 1 : count)
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
        return JobResponse(
            attestation: attestation,
            model: model.id,
            output: output,
            signature: configuration.key.sign(digest: digest),
            operator_: operatorAddress
        )
    }

    private func run(_ model: any InferenceModel, _ input: JSONValue) async throws(Failure) -> [UInt8] {
        let timeout = configuration.jobTimeout
        let limit = configuration.maxOutputBytes
        let result: Result<[UInt8], Failure> = await withTaskGroup(of: Result<[UInt8], Failure>?.self) { group in
            group.addTask {
                do throws(InferenceError) {
                    let output = try await model.run(input: input)
                    guard output.count <= limit else {
                        return .failure(.modelFailed("output of \(output.count) bytes exceeds \(limit)"))
                    }
                    return .success(output)
                } catch {
                    return .failure(error.code == .badInput ? .badRequest(error.message) : .modelFailed(error.message))
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failure(.timeout)
            }
            for await outcome in group {
                if let outcome {
                    group.cancelAll()
                    return outcome
                }
            }
            return .failure(.timeout)
        }
        return try result.get()
    }

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
