// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import Foundation
public import KilnCore
internal import KilnContent
internal import KilnCrypto

/// Ritual Infernet's compute-container protocol on top of a Kiln node (`POST /service_output`), so an operator can
/// put `kiln node serve` behind an Infernet node. Wire facts: `shared/INFERNET.md` §1.
///
/// - Off-chain source (`source: 1`): `data` is a Kiln job request (the `/v1/jobs` body) or an agreement request
///   (the `/v1/agreements` body, told apart by its `canonicalOutputHash`); the answer is the node's signed answer,
///   the same JSON as on `/v1/*`. A container chained after another gets that container's whole JSON answer as
///   `data` (`source: 1`) and reads it the same way, so whatever comes first must answer with a Kiln request.
/// - On-chain source (`source: 0`): `data` is lowercase hex (no `0x`) of `abi.encode(string request)`, the job
///   request's JSON as a consumer contract's `getContainerInputs` returns it.
/// - On-chain destination (`destination: 0`): the five-key answer, hex without `0x`, with `raw_output` =
///   ``onchainOutputTypes`` (everything a contract needs to rebuild the EIP-712 digest and `ecrecover` it).
/// - Errors are JSON too, `{"code": "<HTTP status>", "name", "description"}`: the Infernet node records any JSON
///   as the job's output and fails a job whose final output has a `code` other than `"200"`.
public enum InfernetContainer {
    /// Infernet's `JobLocation` (integers on the wire).
    public enum Location: Int, Sendable {
        case onchain = 0
        case offchain = 1
        case stream = 2
    }

    /// `raw_output` of an on-chain answer: `abi.encode(bytes32 jobId, bytes32 modelId, bytes32 inputHash,
    /// bytes32 outputHash, uint64 referenceBlock, string outputCID, bytes signature)`; `outputCID` is the output
    /// as a UnixFS file (kubo-v1 profile, as `ipfs add --cid-version 1` gives), `signature` the 65-byte EIP-712
    /// signature of the ``InferenceAttestation`` made of the first five values.
    public static let onchainOutputTypes = "(bytes32,bytes32,bytes32,bytes32,uint64,string,bytes)"

    /// A parsed `POST /service_output` body.
    public struct Request: Sendable {
        public var source: Location
        public var destination: Location
        /// What to run: a job or the agreement phase of one.
        public var work: Work
        /// The on-chain input as received (hex without `0x`), echoed as `raw_input`.
        public var rawInput: String?

        public enum Work: Sendable {
            case job(JobRequest)
            case agreement(AgreementRequest)

            /// The job it is about.
            public var jobId: Bytes32 {
                switch self {
                case .job(let request): request.jobId
                case .agreement(let request): request.jobId
                }
            }
            var isAgreement: Bool { if case .agreement = self { true } else { false } }
        }

        /// Reads an Infernet container request; every problem names its field.
        public init(json: JSONValue) throws(InferenceError) {
            func bad(_ message: String, cause: (any Error)? = nil) -> InferenceError {
                InferenceError(.badInput, message, cause: cause)
            }
            guard case .object(let o) = json else { throw bad("the body must be a JSON object") }
            func location(_ key: String) throws(InferenceError) -> Location {
                guard let number = o[key]?.integerValue, let raw = Int(exactly: number),
                    let value = Location(rawValue: raw)
                else {
                    throw bad("'\(key)' must be 0 (on-chain), 1 (off-chain) or 2 (stream)")
                }
                return value
            }
            source = try location("source")
            destination = try location("destination")
            if case .bool(true)? = o["requires_proof"] {
                throw bad(
                    "'requires_proof' is true, but a Kiln node does not make proofs: its answer is an EIP-712 "
                        + "attestation (set generates_proofs: false for this container)"
                )
            }
            guard source != .stream, destination != .stream else {
                throw bad("streaming is not supported: a Kiln answer is one signed JSON document")
            }
            guard let data = o["data"] else { throw bad("'data' is missing") }
            let request: JSONValue
            switch source {
            case .onchain:
                guard case .string(let hex) = data else {
                    throw bad("on-chain 'data' must be hex (no 0x) of abi.encode(string request)")
                }
                rawInput = hex.lowercased()
                let text: String
                do {
                    let bytes = try Hex.decode(hex, requirePrefix: false)
                    guard
                        case .string(let decoded)? = try ABIEncoding.decode([.string], from: bytes, function: "data")
                            .first
                    else { throw bad("on-chain 'data' is not abi.encode(string)") }
                    text = decoded
                } catch let error as InferenceError {
                    throw error
                } catch {
                    throw bad("on-chain 'data' is not abi.encode(string request): \(error)", cause: error)
                }
                do { request = try JSONValue.parse(bytes: Array(text.utf8)) } catch {
                    throw bad("on-chain 'data' holds a string that is not JSON: \(error.message)", cause: error)
                }
            case .offchain, .stream:
                request = data
            }
            guard case .object(let fields) = request else {
                throw bad("'data' must be a Kiln job request or agreement request (a JSON object)")
            }
            if fields["signature"] != nil, fields["outputHash"] != nil || fields["ownOutputHash"] != nil {
                throw bad(
                    "'data' is a Kiln node's signed answer, not a request: Kiln's container must come first in a "
                        + "chain, or after a container that answers with a Kiln job request"
                )
            }
            if fields["canonicalOutputHash"] != nil {
                guard destination == .offchain else {
                    throw bad("an agreement request can only be answered off-chain (destination 1)")
                }
                do { work = .agreement(try AgreementRequest(json: request)) } catch {
                    throw bad("'data' (agreement request): \(error.message)", cause: error)
                }
            } else {
                do { work = .job(try JobRequest(json: request)) } catch {
                    throw bad("'data' (job request): \(error.message)", cause: error)
                }
            }
        }
    }

    /// The container's answer to `request` once the node answered `response` (a job response's or agreement's JSON).
    public static func answer(_ request: Request, response: JSONValue) -> JSONValue {
        guard request.destination == .onchain, case .job(let job) = request.work,
            let signed = try? JobResponse(json: response)
        else { return response }
        let cid = (try? Importer(profile: .kuboV1).add(bytes: signed.output).cid.description) ?? ""
        let a = signed.attestation
        let output = ABIEncoding.encode([
            .bytes32(a.jobId), .bytes32(a.modelId), .bytes32(a.inputHash), .bytes32(a.outputHash),
            .uint(a.referenceBlock), .string(cid), .bytes(signed.signature.bytes),
        ])
        let processed = (try? job.json.canonicalBytes()) ?? []
        return [
            "raw_input": request.rawInput.map(JSONValue.string) ?? .null,
            "processed_input": .string(Hex.encode(processed, prefix: false)),
            "raw_output": .string(Hex.encode(output, prefix: false)),
            "processed_output": .null,
            "proof": .null,
        ]
    }

    /// An error as the Infernet node needs it: JSON, with `code` the HTTP status as a string.
    public static func error(status: Int, name: String, description: String) -> JSONValue {
        ["code": .string(String(status)), "name": .string(name), "description": .string(description)]
    }

    /// `GET /service-resources`: the shape of `infernet-ml`'s `ServiceResources` (a base hardware capability; no
    /// compute capability, since infernet-ml's ML types and tasks name no image-generation model), plus `models`
    /// (what this node serves, which Infernet's parser ignores); for a `model_id` (a model name such as
    /// `kiln/cppn-v1`, or its 0x Keccak-256), `{"supported": bool}`.
    public static func resources(models: [any InferenceModel], modelId: String?) -> JSONValue {
        if let modelId {
            let supported = models.contains { $0.id == modelId || $0.modelHash.hex == modelId.lowercased() }
            return ["supported": .bool(supported)]
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let os = ProcessInfo.processInfo.operatingSystemVersion
        return [
            "service_id": "kiln-node",
            "version": .string(KilnVersion.current),
            "hardware_capabilities": [
                [
                    "capability_id": "base",
                    "os_info": [
                        "name": .string(Self.osName),
                        "version": .string("\(os.majorVersion).\(os.minorVersion).\(os.patchVersion)"),
                    ],
                    "cpu_info": [
                        "model": "", "architecture": .string(Self.architecture), "byte_order": "Little Endian",
                        "vendor_id": "", "num_cores": .integer(.init(cores)),
                        "cores": .array((0..<cores).map { ["id": .integer(.init($0)), "frequency": .number(0)] }),
                    ],
                    "disk_info": [],
                ]
            ],
            "compute_capability": [],
            "models": .array(
                models.map {
                    ["id": .string($0.id), "modelId": .string($0.modelHash.hex), "summary": .string($0.summary)]
                }
            ),
        ]
    }

    #if os(Linux)
        static let osName = "Linux"
    #else
        static let osName = "Darwin"
    #endif

    #if arch(arm64)
        static let architecture = "aarch64"
    #else
        static let architecture = "x86_64"
    #endif
}
