// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnAVS
internal import KilnChain
internal import KilnContent
internal import KilnCore
internal import KilnImage
internal import KilnInference
internal import KilnPipeline
internal import KilnTemplates

// One target per parser that reads bytes Kiln did not write (issue 17's list). Each feeds the input to exactly
// the function the command or server calls, so a crash here is a crash there.

extension FuzzTarget {
    /// Template assets and PNG/JPEG from an asset folder or a node answer.
    static let png = FuzzTarget(name: "png", summary: "PNG decode (libpng through the setjmp shim), as assets are read")
    {
        input in decodeImage(input, source: "fuzz.png")
    }

    static let jpeg = FuzzTarget(name: "jpeg", summary: "JPEG decode (libjpeg-turbo through the setjmp shim)") {
        input in
        decodeImage(input, source: "fuzz.jpg")
    }

    /// `kiln car verify`, `kiln verify` and `kiln add`'s CAR import: the reader and its block check.
    static let car = FuzzTarget(name: "car", summary: "CAR v1 reader + block verification (kiln car verify)") { input in
        let path = scratchFile("car")
        guard FileManager.default.createFile(atPath: path, contents: Data(input)) else {
            fatalError("cannot write \(path)")
        }
        defer { unlink(path) }
        if let summary = try? CARReader.verify(path: path) {
            require(summary.bytes <= input.count, "a CAR of \(input.count) bytes reported \(summary.bytes) block bytes")
        }
    }

    /// CIDs as text (gateway paths, kiln.yml, bundles) and as bytes (inside CARs and dag-pb links).
    static let cid = FuzzTarget(name: "cid", summary: "CID text (multibase base32/base58) and binary parsing") {
        input in
        let text = String(decoding: input, as: UTF8.self)
        if let cid = try? CID(text) {
            let again = try? CID(cid.description)
            require(again == cid, "'\(text)' parsed, but its own text '\(cid.description)' does not parse to it")
            require((try? CID(bytes: cid.bytes)) == cid, "'\(text)': its bytes do not parse back")
        }
        if let cid = try? CID(bytes: input) {
            require(cid.bytes == input, "binary CID \(input) re-encodes to \(cid.bytes)")
        }
        _ = try? Multibase.decodeBase32(text)
        _ = try? Multibase.decodeBase58(text)
    }

    /// dag-pb nodes and UnixFS data from blocks fetched from anyone (gateway answers, CARs).
    static let unixfs = FuzzTarget(name: "unixfs", summary: "dag-pb node + UnixFS data decode, and the UnixFS reader") {
        input in
        guard let node = try? DagPBNode(decoding: input) else { return }
        let again = try? DagPBNode(decoding: node.bytes)
        require(again == node, "a dag-pb node does not survive encode → decode")
        if let data = node.data, let unixfs = try? UnixFSData(decoding: data) {
            require((try? UnixFSData(decoding: unixfs.bytes)) == unixfs, "UnixFS data does not survive encode → decode")
        }
        // The reader over a store holding just this block: children are missing, which must be an error.
        let store = MemoryBlockstore()
        let cid = CID.of(input, codec: CID.dagPB)
        guard (try? store.put(input, cid: cid)) != nil else { return }
        let reader = UnixFSReader(blockstore: store)
        _ = try? reader.cat(cid)
        _ = try? reader.list(cid)
        _ = try? reader.resolve(cid, path: "a/b")
    }

    /// Every JSON Kiln reads (node answers, bundles, events files, JSON-RPC) and its canonical form (hashed and signed).
    static let json = FuzzTarget(name: "json", summary: "JSON parsing + canonical form (RFC 8785 style)") { input in
        guard let value = try? JSONValue.parse(bytes: input), let canonical = try? value.canonicalBytes() else {
            return
        }
        guard let reparsed = try? JSONValue.parse(bytes: canonical) else {
            fatalError(
                "fuzz property failed: the canonical form does not parse: \(String(decoding: canonical, as: UTF8.self))"
            )
        }
        require((try? reparsed.canonicalBytes()) == canonical, "the canonical form is not a fixed point")
    }

    /// Logs from eth_getLogs decoded with the template's event signatures; raw ABI data with dynamic types.
    static let abiLog = FuzzTarget(name: "abi-log", summary: "ABI event-log decoding (eth_getLogs items, raw ABI data)")
    {
        input in
        if input.first == UInt8(ascii: "{") {
            guard let json = try? JSONValue.parse(bytes: input), let log = try? EventLog(json: json) else { return }
            for signature in eventSignatures { _ = try? signature.decode(log) }
        } else {
            for types in abiTypeLists { _ = try? ABIEncoding.decode(types, from: input, function: "fuzz") }
        }
    }

    /// `kiln template check`: YAML, expressions, event signatures, assets, geometry.
    static let template = FuzzTarget(
        name: "template",
        summary: "template.yml load + check (assets from Fuzz/template/)"
    ) {
        input in
        let folder = repositoryRoot + "/Fuzz/template"
        do throws(TemplateError) {
            _ = try Template.parse(String(decoding: input, as: UTF8.self), folder: folder, file: "fuzz/template.yml")
        } catch {
            for problem in error.diagnostics {
                require(problem.location.file == "fuzz/template.yml", "a problem without the file: \(problem)")
                require(
                    problem.location.line >= 1 && problem.location.column >= 1,
                    "a problem without a position: \(problem)"
                )
            }
        }
    }

    /// kiln.yml as `kiln batch` reads it.
    static let kilnYML = FuzzTarget(name: "kiln-yml", summary: "kiln.yml loading") { input in
        do throws(PipelineError) {
            _ = try Configuration(yaml: String(decoding: input, as: UTF8.self), source: "fuzz/kiln.yml")
        } catch {
            require(error.message.hasPrefix("fuzz/kiln.yml:"), "an error without file:line:col: \(error.message)")
        }
    }

    /// operators.yml as the coordinator and `kiln operators` read it.
    static let operatorsYML = FuzzTarget(name: "operators-yml", summary: "operators.yml loading") { input in
        do throws(AVSError) {
            _ = try FileOperatorRegistry(yaml: String(decoding: input, as: UTF8.self), source: "fuzz/operators.yml")
        } catch {
            require(error.message.hasPrefix("fuzz/operators.yml:"), "an error without file:line:col: \(error.message)")
        }
    }

    /// The body of `POST /v1/jobs` and `POST /v1/agreements` on `kiln node serve`.
    static let nodeRequest = FuzzTarget(
        name: "node-request",
        summary: "kiln node serve: job and agreement request bodies"
    ) {
        input in
        guard let json = try? JSONValue.parse(bytes: input) else { return }
        if let job = try? JobRequest(json: json) { _ = try? job.input.canonicalHash() }
        _ = try? AgreementRequest(json: json)
    }

    /// The body of `POST /service_output` (Ritual Infernet's container API) on `kiln node serve`.
    static let infernetRequest = FuzzTarget(
        name: "infernet-request",
        summary: "kiln node serve: Infernet /service_output bodies (off-chain, on-chain ABI hex, chained)"
    ) { input in
        guard let json = try? JSONValue.parse(bytes: input) else { return }
        _ = try? InfernetContainer.Request(json: json)
    }

    /// A JSON-RPC node's HTTP answer body into the results `kiln sync`/`kiln batch` use.
    static let jsonRPC = FuzzTarget(name: "json-rpc", summary: "JSON-RPC answers into EthereumRPC results") { input in
        guard let answer = try? JSONValue.parse(bytes: input) else { return }
        if case .array = answer {
            let methods = ["eth_blockNumber", "eth_getBlockByNumber", "eth_getLogs"]
            guard let results = try? JSONRPCClient.results(of: answer, methods: methods, url: "fuzz") else { return }
            _ = try? EthereumRPC.quantity(results[0], methods[0])
            _ = try? EthereumRPC.hash(of: results[1], number: 7)
            _ = try? EthereumRPC.logs(in: results[2], addresses: fuzzAddresses, from: 0, to: 1000)
            return
        }
        guard let result = try? JSONRPCClient.result(of: answer, id: 1, method: "fuzz") else { return }
        _ = try? EthereumRPC.quantity(result, "eth_blockNumber")
        _ = try? EthereumRPC.hash(of: result, number: 7)
        if let logs = try? EthereumRPC.logs(in: result, addresses: fuzzAddresses, from: 0, to: 1000) {
            for log in logs { for signature in eventSignatures { _ = try? signature.decode(log) } }
        }
    }

    /// `kiln verify-attestation`'s bundle (the stake check against a registry is a separate step).
    static let attestation = FuzzTarget(name: "attestation", summary: "attestation bundle into verify-attestation") {
        input in
        guard let json = try? JSONValue.parse(bytes: input) else { return }
        _ = try? AttestationBundle.verify(json)
    }
}

// MARK: - Helpers

private func decodeImage(_ input: [UInt8], source: String) {
    guard let image = try? ImageFile.decode(input, source: source) else { return }
    let limits = ImageLimits.default
    require(
        image.width >= 1 && image.height >= 1 && image.width <= limits.maxWidth && image.height <= limits.maxHeight,
        "decoded a \(image.width)×\(image.height) image past the limits"
    )
    require(image.pixels.count == image.width * image.height * 4, "pixel buffer of the wrong size")
}

/// A file name of this process's own (libFuzzer may run jobs side by side).
private func scratchFile(_ ext: String) -> String {
    NSTemporaryDirectory() + "/kiln-fuzz-\(getpid()).\(ext)"
}

private let fuzzAddresses: [Address] = [
    try! Address(hex: "0x5FbDB2315678afecb367f032d93F642f64180aa3"),
    try! Address(hex: "0x0000000000000000000000000000000000000001"),
]

private let eventSignatures: [EventSignature] = [
    "Transfer(address indexed from, address indexed to, uint256 indexed tokenId)",
    "LevelUp(uint256 indexed tokenId, uint256 level)",
    "Forged(uint256 indexed tokenId, string name, bytes blob, int64 delta, bool flag, bytes4 tag, address who)",
].map { try! EventSignature($0) }

private let abiTypeLists: [[ABIType]] = [
    ["string", "bytes", "uint256", "int8"],
    ["address", "bool", "bytes32", "string"],
    ["bytes", "uint64", "int256", "bytes", "string"],
].map { $0.map { try! ABIType(parsing: $0) } }
