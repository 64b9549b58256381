// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import Foundation
public import KilnAVS
public import KilnContent
public import KilnCore
internal import KilnImage
internal import KilnTemplates
public import KilnStore

/// Re-derives a published token from its provenance alone and says whether every byte matches: `kiln verify`.
///
/// From the blocks (a CAR file or a blockstore folder) it reads metadata.json, its `kiln` block, the template
/// folder, the attestation bundle and the inference output; it re-checks every signature and the quorum,
/// folds the state again from the chain's logs when given them, renders, encodes and compares.
public struct Verifier: Sendable {
    /// Where the published blocks are read from.
    public let blockstore: any Blockstore
    /// The chain's logs of the token's contract; when given, the state is folded from them and compared.
    public var logs: [EventLog]?
    /// The operator registry; when given, the bundle's stake table is compared with it at the reference block.
    public var registry: (any OperatorRegistry)?
    /// The token contract's logs read from the chain, for an ERC-7007 token: its newest `AigcData`/`Update` must
    /// name this publication's prompt and output.
    public var aigcLogs: [EventLog]?
    /// Where the chain's logs are recorded, when `logs` is not given: only the token's own logs are read (by the
    /// topic that names it, ``Template/tokenTopicPositions``), or every log of the contract when a rule names its
    /// token in the data.
    public var logStore: (any ChainStore)?
    /// The token the caller asked about (`kiln verify CONTRACT:ID`): the metadata must name it.
    public var expectedToken: TokenKey?

    /// A verifier over `blockstore`; with `logs` it re-folds the state, with `registry` it compares the stake table.
    public init(blockstore: any Blockstore, logs: [EventLog]? = nil, registry: (any OperatorRegistry)? = nil) {
        self.blockstore = blockstore
        self.logs = logs
        self.registry = registry
    }

    /// What verification found: every check, in order.
    public struct Report: Sendable {
        /// Each check: whether it held, and what it says.
        public var checks: [(ok: Bool, text: String)] = []
        /// Whether every check held: the token is byte-identical to its re-derivation.
        public var ok: Bool { checks.allSatisfy(\.ok) }
        /// The checks that failed.
        public var differences: [String] { checks.filter { !$0.ok }.map(\.text) }
        mutating func check(_ ok: Bool, _ good: @autoclosure () -> String, _ bad: @autoclosure () -> String) {
            checks.append((ok, ok ? good() : bad()))
        }
    }

    /// Verifies the token whose metadata.json (or token directory) is `cid`.
    public func verify(_ cid: CID) async throws -> Report {
        let reader = UnixFSReader(blockstore: blockstore)
        var report = Report()
        let metadataCID = try reader.isDirectory(cid) ? try reader.resolve(cid, path: "metadata.json") : cid
        let metadataBytes = try reader.cat(metadataCID)
        let metadata = try JSONValue.parse(bytes: metadataBytes)
        let provenance = try Provenance(metadata: metadata)
        report.checks.append(
            (
                true,
                "metadata \(metadataCID): token \(provenance.contract.checksummed) #\(provenance.tokenId) on chain \(provenance.chainId)"
            )
        )
        if let expectedToken {
            let named = TokenKey(chainId: provenance.chainId, contract: provenance.contract, id: provenance.tokenId)
            report.check(
                named == expectedToken,
                "the metadata is token \(expectedToken)'s",
                "token: the store publishes \(metadataCID) for \(expectedToken), but that metadata names \(named)"
            )
        }
        guard let profile = ImportProfile.all.first(where: { $0.name == provenance.profile }) else {
            throw PipelineError("kiln.profile '\(provenance.profile)' is unknown")
        }
        let importer = Importer(profile: profile)

        // The template, exactly as published.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-verify-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try reader.export(provenance.template, to: folder)
        let template = try Template.load(folder: folder)
        report.check(
            template.contentHash() == provenance.templateHash,
            "template \(provenance.template) ('\(template.name)') has the recorded content hash",
            "template: the folder at \(provenance.template) does not hash to kiln.templateHash"
        )

        // The state: its hash, and (with the chain's logs) the fold.
        let token = TokenKey(chainId: provenance.chainId, contract: provenance.contract, id: provenance.tokenId)
        let traits = try template.state(fromJSON: provenance.state, source: "kiln.state")
        let (stateJSON, stateHash) = try template.stateJSON(traits)
        report.check(
            stateHash == provenance.stateHash,
            "state hash \(stateHash.hex.prefix(18))… matches kiln.state",
            "state: kiln.stateHash is not the hash of kiln.state"
        )
        var logs = self.logs
        if logs == nil, let logStore {
            if let positions = template.tokenTopicPositions,
                let word = token.id.bigEndianBytes(count: 32).flatMap({ try? Bytes32($0) })
            {
                logs = try await logStore.logs(
                    chainId: token.chainId,
                    contract: token.contract,
                    naming: word,
                    at: positions
                )
            } else {
                logs = try await logStore.logs(chainId: token.chainId, contract: token.contract)
            }
        }
        if let logs {
            let folded = try template.stateJSON(try template.fold(logs, token: token)).json
            var differing: [String] = []
            if case .object(let a) = folded, case .object(let b) = stateJSON {
                for key in Set(a.keys).union(b.keys).sorted() where a[key] != b[key] {
                    differing.append(
                        "\(key): chain \(a[key].map { "\($0)" } ?? "-") ≠ published \(b[key].map { "\($0)" } ?? "-")"
                    )
                }
            }
            report.check(
                differing.isEmpty,
                "state matches the chain's logs",
                "state differs from the chain's logs: " + differing.joined(separator: "; ")
            )
        }
        let state = try template.derive(traits, token: token)

        // Inference: the bundle's signatures and quorum, and that it answers this token's input.
        var output: [UInt8]?
        var prompt: JSONValue?
        if let inference = template.inference,
            let (input, inputHash) = try template.inferenceInput(state: state, token: token)
        {
            prompt = input
            guard let bundleCID = provenance.attestation, let outputCID = provenance.inference else {
                throw PipelineError("the template asks for inference but kiln.attestation / kiln.inference are missing")
            }
            let bundle = try JSONValue.parse(bytes: try reader.cat(bundleCID))
            let attested = try reader.cat(outputCID)
            let verification = try AttestationBundle.verify(
                bundle,
                output: attested,
                outputs: try committedOutputs(of: bundle, reader: reader)
            )
            for check in verification.checks {
                report.checks.append((check.result != .failed, "signature/quorum: " + check.evidence))
            }
            let jobId = inferenceJobId(
                contract: provenance.contract,
                tokenId: provenance.tokenId,
                model: inference.model,
                inputHash: inputHash
            )
            report.check(
                bundle["request"]?["inputHash"]?.stringValue == inputHash.hex
                    && bundle["request"]?["jobId"]?.stringValue == jobId.hex,
                "the attested job is this token's input (\(inputHash.hex.prefix(18))…)",
                "input: the bundle attests another input than this template and state give"
            )
            if let registry, let block = bundle["request"]?["referenceBlock"]?.integerValue,
                let reference = UInt64(exactly: block)
            {
                let table = try await registry.stakeTable(at: reference)
                report.check(
                    bundle["stake"] == AttestationBundle.stakeJSON(table),
                    "stake table matches the registry at block \(reference)",
                    "stake: the bundle's stake table differs from the registry at block \(reference)"
                )
            }
            let policy = inference.agreement.isExact ? nil : inference.agreement
            if policy != nil || provenance.agreement != nil {
                report.check(
                    provenance.agreement == policy,
                    "agreement policy: \(policy.map { "\($0)" } ?? "exact"), as the template says",
                    "agreement policy: the metadata names \(provenance.agreement.map { "\($0)" } ?? "exact"), the template \(policy.map { "\($0)" } ?? "exact")"
                )
            }
            output = attested
            if let aigcLogs {
                // ERC-7007: the token's newest AIGC data on chain is this publication's prompt and output.
                let accepted = bundle["accepted"]?["outputHash"]?.stringValue.flatMap { try? Bytes32(hex: $0) }
                let expected = (prompt: inputHash, data: accepted.map { Keccak256.hash($0.bytes) })
                if let record = ERC7007.latest(of: provenance.tokenId, in: aigcLogs) {
                    report.check(
                        record.promptHash == expected.prompt && record.dataHash == expected.data,
                        "ERC-7007: the token's \(record.event) (block \(record.block.map(String.init) ?? "?")) names this "
                            + "prompt and output",
                        "ERC-7007: the token's newest \(record.event) (block \(record.block.map(String.init) ?? "?")) names "
                            + "another prompt or output than this publication"
                    )
                } else {
                    report.check(false, "", "ERC-7007: the contract has no AigcData or Update for this token")
                }
            }
        }

        // Render and compare, byte for byte, then pixel for pixel when the bytes differ.
        let image = try output.map { try ImageFile.decode($0, source: "the attested output") }
        let rendered = try Renderer(template: template).render(state: state, token: token, inference: image)
        let png = try PNGEncoder().encode(rendered.raster)
        let imageURI = metadata["image"]?.stringValue ?? ""
        guard imageURI.hasPrefix("ipfs://"), let imageCID = try? CID(String(imageURI.dropFirst(7))) else {
            throw PipelineError("metadata 'image' is not ipfs://<cid>")
        }
        let published = try reader.cat(imageCID)
        let ourCID = try importer.add(bytes: png).cid
        if ourCID == imageCID && png == published {
            report.checks.append((true, "image \(imageCID) is byte-identical to the re-render"))
        } else {
            let theirs = try ImageFile.decode(published, source: "the published image")
            let ours = rendered.raster.rgbaImage
            if theirs.width != ours.width || theirs.height != ours.height {
                report.checks.append(
                    (
                        false,
                        "pixels: the published image is \(theirs.width)×\(theirs.height), the re-render \(ours.width)×\(ours.height)"
                    )
                )
            } else {
                let differing = stride(from: 0, to: ours.pixels.count, by: 4).filter {
                    ours.pixels[$0..<$0 + 4] != theirs.pixels[$0..<$0 + 4]
                }
                if let first = differing.first {
                    report.checks.append(
                        (
                            false,
                            "pixels: \(differing.count) pixels differ, the first at (\(first / 4 % ours.width), \(first / 4 / ours.width))"
                        )
                    )
                } else {
                    report.checks.append(
                        (
                            false,
                            "encoding: same pixels, but the PNG bytes differ (another encoder or zlib build): \(imageCID) ≠ \(ourCID)"
                        )
                    )
                }
            }
        }

        // Metadata, field by field.
        guard
            case .object(var expected) = try template.metadata(state: state, token: token, imageURI: "ipfs://\(ourCID)")
        else {
            throw PipelineError("the template's metadata is not an object")
        }
        expected["kiln"] = provenance.json
        if metadata["aigc_type"] != nil, let prompt {
            // Published for an ERC-7007 token: the fields it adds, as Kiln writes them.
            expected.merge(try ERC7007.metadata(prompt: prompt, imageURI: "ipfs://\(ourCID)")) { $1 }
        }
        let expectedBytes = try JSONValue.object(expected).canonicalBytes()
        if expectedBytes == metadataBytes {
            report.checks.append((true, "metadata is byte-identical"))
        } else if case .object(let actual) = metadata {
            let fields = Set(actual.keys).union(expected.keys).sorted().filter { actual[$0] != expected[$0] }
            report.checks.append(
                (
                    false,
                    "metadata: field(s) differ: \(fields.isEmpty ? "(encoding only)" : fields.joined(separator: ", "))"
                )
            )
        }
        return report
    }
}
