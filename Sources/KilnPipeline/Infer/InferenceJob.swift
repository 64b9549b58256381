// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
public import KilnAVS
public import KilnCore
public import KilnInference
public import KilnTemplates

/// One token's inference job, made from its template and state exactly as the batch pipeline makes it (same
/// input, same job id), for `kiln infer`: ask the operators once, outside any batch.
public struct InferenceJob: Sendable {
    /// What the nodes are asked.
    public let request: JobRequest
    /// keccak-256 of the canonical input.
    public let inputHash: Bytes32

    /// The job for `token` at the state `traits` (the template's traits as JSON; derived traits are computed).
    /// - Throws: ``PipelineError`` when the template asks for no inference, or for none at this state;
    ///   ``TemplateError`` when the state does not fit the template.
    public init(template: Template, traits: JSONValue, source: String, token: TokenKey, referenceBlock: UInt64) throws {
        guard let inference = template.inference else {
            throw PipelineError(.input, "\(template.folder) has no 'inference:' section")
        }
        let state = try template.derive(try template.state(fromJSON: traits, source: source), token: token)
        guard let (input, inputHash) = try template.inferenceInput(state: state, token: token) else {
            throw PipelineError(
                .input,
                "\(template.folder): this state asks for no inference (its 'inference:' section is off for it)"
            )
        }
        let jobId = inferenceJobId(
            contract: token.contract,
            tokenId: token.id,
            model: inference.model,
            inputHash: inputHash
        )
        request = JobRequest(jobId: jobId, model: inference.model, input: input, referenceBlock: referenceBlock)
        self.inputHash = inputHash
    }

    /// Asks every operator of `registry` (stakes at the job's reference block), each within `timeout`.
    public func run(registry: any OperatorRegistry, timeout: Duration) async throws -> QuorumReport {
        let table = try await registry.stakeTable(at: request.referenceBlock)
        var round = QuorumRound()
        round.timeout = timeout
        round.client.bearers = registry.bearers
        return await round.run(request, table: table)
    }
}
