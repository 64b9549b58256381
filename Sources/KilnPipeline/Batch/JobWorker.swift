// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import Foundation
internal import KilnAVS
internal import KilnContent
internal import KilnCore
internal import KilnImage
internal import KilnInference
internal import KilnStore
internal import KilnTemplates
internal import Metrics

/// Does one job: state → inference round with quorum → render → publish → record, in that order. Each job
/// ends in exactly one store transaction (published and done, or back to the queue with the reason).
struct JobWorker: Sendable {
    let store: any Store
    let registry: any OperatorRegistry
    let blockstore: any Blockstore
    let profile: ImportProfile
    let watched: [Address: WatchedContract]
    let round: QuorumRound
    let batch: Int
    let owner: String
    let reuseAttested: Bool
    /// Metadata for ERC-7007 tokens (`publish.erc7007`): the prompt, `aigc_type`, `aigc_data` and `proof_type`.
    var erc7007 = false

    func process(_ job: Job) async -> JobReport {
        let started = ContinuousClock.now
        var quorum: QuorumSummary?
        let result: JobResult
        var halt: String?
        do {
            result = try await run(job, quorum: &quorum)
        } catch let error as StoreError where error.code == .database {
            // The store is unreachable (a restart, a network cut): nothing was recorded, and nothing can be now.
            // The lease expires and this or another worker takes the job again.
            return JobReport(
                jobId: job.id,
                token: job.token,
                result: .deferred(
                    PipelineError("the store failed; the job is taken again when its lease expires", cause: error)
                ),
                quorum: quorum,
                seconds: (ContinuousClock.now - started).inSeconds
            )
        } catch  where Self.isEnvironmental(error) {
            // Not the job's fault: the run stops (see BatchRunner.work) and the next run does the job again.
            result = .deferred(error)
            halt = ErrorChain.human(error)
        } catch {
            result = .failed(error)
        }
        // Count it (swift-metrics: a no-op unless the process bootstrapped a backend; `kiln batch` does).
        Counter(label: "kiln_jobs_total", dimensions: [("outcome", result.name)]).increment()
        if let quorum, quorum.reusedOutput == nil {
            let reached = quorum.reached ? "reached" : "not_reached"
            Counter(label: "kiln_quorum_rounds_total", dimensions: [("result", reached)]).increment()
        }
        // Record the outcome (a publication was recorded together with `done` already).
        let reason = result.reason ?? ""
        let outcomeToRecord: (JobStatus, String)? =
            switch result {
            case .published: nil
            case .noQuorum: (.noQuorum, reason)
            case .failed: (.failed, reason)
            case .superseded: (.done, "superseded: \(reason)")
            // A job halted by the disk stays leased: the next run reclaims it into this same batch (a job
            // queued again would wait for the next batch), so the batch comes out as if nothing had happened.
            case .deferred: halt == nil ? (.queued, reason) : nil
            }
        var unrecorded: (status: JobStatus, reason: String)?
        if let (status, reason) = outcomeToRecord {
            do { try await store.finish(jobId: job.id, owner: owner, status: status, error: reason) } catch {
                unrecorded = (status, reason)
            }
        }
        return JobReport(
            jobId: job.id,
            token: job.token,
            result: result,
            quorum: quorum,
            seconds: (ContinuousClock.now - started).inSeconds,
            unrecorded: unrecorded,
            halt: halt
        )
    }

    /// Whether `error` is the disk or the store refusing a write (full, read-only, an I/O error), not the job.
    static func isEnvironmental(_ error: any Error) -> Bool {
        switch error {
        case let error as ContentError: error.isEnvironmental
        case let error as AtomicFile.WriteError: error.isEnvironmental
        case let error as StoreError: error.code == .unwritable
        case let error as PipelineError: error.cause.map(isEnvironmental) ?? false
        default: false
        }
    }

    private func run(_ job: Job, quorum: inout QuorumSummary?) async throws -> JobResult {
        // With a store that shares blocks, the job's new blocks go to it with the publication.
        let recorder = store.sharesBlocks ? RecordingBlockstore(self.blockstore) : nil
        let blockstore: any Blockstore = recorder ?? self.blockstore
        guard let deployment = watched[job.token.contract] else {
            return .deferred(
                PipelineError(
                    .configuration,
                    "the template of \(job.token.contract.checksummed) does not load (see the batch's problems)"
                )
            )
        }
        guard job.templateHash == deployment.templateHash else { return .superseded(.templateChanged) }
        // The job's state is almost always the latest: read once then.
        guard let latest = try await store.state(job.token, version: nil),
            let stored = latest.version == job.stateVersion
                ? latest : try await store.state(job.token, version: job.stateVersion)
        else {
            return .failed(PipelineError(.notFound, "the token has no stored state"))
        }
        guard latest.hash == job.stateHash else {
            return .superseded(.newerState(version: latest.version))
        }
        let template = deployment.template
        let token = job.token
        let id = token.id
        let traits = try template.state(fromJSON: stored.json, source: "stored state of \(job.token)")
        let state = try template.derive(traits, token: token)
        let broken = template.violations(of: state)
        guard broken.isEmpty else {
            return .failed(
                PipelineError(
                    .input,
                    "the state breaks the template's rule(s): "
                        + broken.map { "'\($0)' (\($0.location))" }.joined(separator: ", ")
                )
            )
        }

        // Inference with quorum.
        var output: [UInt8]?
        var bundle: [UInt8]?
        var prompt: JSONValue?
        if let inference = template.inference,
            let (input, inputHash) = try template.inferenceInput(state: state, token: token)
        {
            prompt = input
            let jobId = inferenceJobId(
                contract: job.token.contract,
                tokenId: id,
                model: inference.model,
                inputHash: inputHash
            )
            if reuseAttested {
                guard let previous = try await store.latestPublication(job.token), let bundleCID = previous.attestation,
                    let outputCID = previous.inference
                else {
                    return .failed(
                        PipelineError(.notFound, "--reuse-attested: the token has no stored attested output")
                    )
                }
                let reader = UnixFSReader(blockstore: blockstore)
                let bytes = try reader.cat(try CID(bundleCID))
                let json = try JSONValue.parse(bytes: bytes)
                guard json["request"]?["jobId"]?.stringValue == jobId.hex else {
                    return .failed(
                        PipelineError(
                            .input,
                            "--reuse-attested: the stored attestation is for another input (the state or template changed); run without it"
                        )
                    )
                }
                let attested = try reader.cat(try CID(outputCID))
                let check = try AttestationBundle.verify(
                    json,
                    output: attested,
                    outputs: try committedOutputs(of: json, reader: reader)
                )
                guard check.ok else {
                    return .failed(
                        PipelineError(
                            .input,
                            "--reuse-attested: the stored bundle does not verify: "
                                + check.checks.filter { $0.result == .failed }.map(\.evidence).joined(separator: "; ")
                        )
                    )
                }
                (output, bundle) = (attested, bytes)
                quorum = QuorumSummary(reusedOutput: outputCID)
            } else {
                let table = try await registry.stakeTable(at: job.referenceBlock)
                let report = await round.run(
                    JobRequest(jobId: jobId, model: inference.model, input: input, referenceBlock: job.referenceBlock),
                    table: table
                )
                // A run tries a job once; its report holds the evidence, so the log lets the job go (it would
                // otherwise keep every answer of the run: memory in proportion to the collection).
                await round.log.forget(job: jobId)
                CrashPoint.afterInference.reached()
                let summary = QuorumSummary(report)
                quorum = summary
                guard let accepted = report.accepted else { return .noQuorum(summary) }
                // Under a tolerance policy every committed output is published (by CID in the bundle, in the
                // batch's provenance), so anyone can recompute the distances and the canonical choice.
                let importer = Importer(profile: profile)
                let outputCIDs = try report.committedOutputs.mapValues {
                    try importer.add(bytes: $0, into: blockstore).cid.description
                }
                bundle = try AttestationBundle.json(report, outputCIDs: outputCIDs).canonicalBytes()
                output = accepted.output
            }
        }

        // Render.
        let image = try output.map { try ImageFile.decode($0, source: "the accepted inference output of \(job.token)") }
        let rendered = try Renderer(template: template).render(state: state, token: token, inference: image)
        let png = try PNGEncoder().encode(rendered.raster)

        // Publish: provenance first, then the token directory whose metadata names it.
        let importer = Importer(profile: profile)
        let outputEntry = try output.map { try importer.add(bytes: $0, into: blockstore) }
        let bundleEntry = try bundle.map { try importer.add(bytes: $0, into: blockstore) }
        let provenance = Provenance(
            chainId: job.token.chainId,
            contract: job.token.contract,
            tokenId: id,
            template: deployment.templateEntry.cid,
            templateHash: deployment.templateHash,
            state: stored.json,
            stateHash: stored.hash,
            inference: outputEntry?.cid,
            attestation: bundleEntry?.cid,
            agreement: template.inference.flatMap { $0.agreement.isExact ? nil : $0.agreement },
            profile: profile.name
        )
        let published = try Publisher(blockstore: blockstore, profile: profile).publish(
            png: png,
            raster: rendered.raster
        ) { imageCID in
            guard
                case .object(var fields) = try template.metadata(
                    state: state,
                    token: token,
                    imageURI: "ipfs://\(imageCID)"
                )
            else {
                throw PipelineError("the template's metadata is not an object")
            }
            fields["kiln"] = provenance.json
            if erc7007, let prompt {
                fields.merge(try ERC7007.metadata(prompt: prompt, imageURI: "ipfs://\(imageCID)")) { $1 }
            }
            return .object(fields)
        }
        CrashPoint.afterBlocks.reached()
        let publication = Publication(
            jobId: job.id,
            batch: batch,
            token: job.token,
            stateHash: stored.hash,
            templateHash: deployment.templateHash,
            directory: published.directory.description,
            metadata: published.metadata.description,
            image: published.image.description,
            thumbnail: published.thumbnail.description,
            inference: outputEntry?.cid.description,
            attestation: bundleEntry?.cid.description,
            template: deployment.templateEntry.cid.description
        )
        // The job's blocks (and the templates') are made durable once, before the store records them.
        try await blockstore.syncOffThePool()
        try await store.complete(publication, owner: owner, blocks: recorder?.recorded() ?? [])
        CrashPoint.afterJob.reached()
        return .published(publication)
    }
}
