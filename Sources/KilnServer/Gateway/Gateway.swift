// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import HTTPTypes
internal import Hummingbird
internal import KilnContent
internal import KilnCore
internal import NIOCore

/// The IPFS gateway over Kiln's blockstore: the Trustless Gateway (raw blocks, CAR streams with `dag-scope` and
/// `entity-bytes`) and the deserialized answers of the Path Gateway for browsers (files with `Range`, directory
/// listings, `index.html`). Read-only; every answer is immutable and says so.
struct Gateway: Sendable {
    let reader: BlockReader
    let metrics: ServerMetrics
    /// The most bytes one answer streams.
    var maxAnswerBytes: Int
    /// Where whole answers to plain requests are kept for ``HotPath`` (``KeptAnswer``).
    var answers: KeptBytes<String, KeptAnswer>? = nil

    static let immutable = "public, max-age=29030400, immutable"

    /// Answers `GET` or `HEAD /ipfs/…`; keeps a whole `200` answer to a plain `GET` (``KeptAnswer/key(_:)``).
    func respond(_ request: Request) async -> Response {
        let (response, kept) = await answer(request)
        if let answers, let kept, response.status == .ok, let key = KeptAnswer.key(request.head),
            let answer = KeptAnswer(headers: response.headers, body: kept.body, blocks: kept.blocks)
        {
            answers.put(key, answer)
        }
        return response
    }

    /// The answer, and its body when it is one buffer (with the blocks it counts as served).
    private func answer(_ request: Request) async -> (Response, (body: ByteBuffer, blocks: Int)?) {
        let head = request.method == .head
        do {
            let parsed = try GatewayRequest(
                urlPath: String(request.uri.path),
                query: { request.uri.queryParameters.get($0) },
                accept: request.headers[.accept]
            )
            let onlyIfCached = request.headers[.cacheControl]?.contains("only-if-cached") == true
            let resolved = try await resolve(parsed, onlyIfCached: onlyIfCached)
            var response: Response
            var kept: (body: ByteBuffer, blocks: Int)?
            switch parsed.format {
            case .raw:
                let body = ByteBuffer(bytes: resolved.block)
                response = raw(parsed, resolved, body)
                kept = (body, 1)
            case .car(let options): response = try car(parsed, resolved, options)
            case .deserialized:
                let answer = try await deserialized(parsed, resolved, request: request)
                response = answer.response
                kept = answer.body.map { ($0, 0) }
            }
            response.headers[.xContentTypeOptions] = "nosniff"
            response.headers[.xIpfsPath] = parsed.contentPath
            response.headers[.xIpfsRoots] =
                (resolved.chain.map(\.cid) + [resolved.terminal]).map(\.description).joined(separator: ",")
            if response.status == .ok || response.status == .partialContent || response.status == .notModified {
                response.headers[.cacheControl] = Self.immutable
            }
            if let etag = response.headers[.eTag], let match = request.headers[.ifNoneMatch],
                response.status == .ok,
                Self.matches(match, etag: etag)
            {
                var notModified = Response(status: .notModified, headers: response.headers)
                notModified.headers[.contentLength] = nil
                return (notModified, nil)
            }
            if head {
                // The headers of the GET answer (its Content-Length too), without its body.
                let length = response.headers[.contentLength].flatMap { Int($0) }
                response.body = ResponseBody(contentLength: length) { writer in try await writer.finish(nil) }
                return (response, nil)
            }
            return (response, kept)
        } catch {
            return (Self.failure(error), nil)
        }
    }

    /// Whether an `If-None-Match` header names `etag` or is `*` (RFC 9110 § 13.1.2: the comparison is weak, so
    /// `W/"x"` matches `"x"`). On the header's bytes: it is read on every revalidation, and Foundation's trimming
    /// and replacing were a tenth of the 304 answer's CPU.
    static func matches(_ ifNoneMatch: String, etag: String) -> Bool {
        // Most clients send back the one tag they were given: compared as it is, it needs no splitting.
        if ifNoneMatch == etag { return true }
        let tag = strong(etag.utf8[...])
        return ifNoneMatch.utf8.split(separator: UInt8(ascii: ",")).contains { member in
            let member = strong(member)
            return member.elementsEqual(tag) || member.elementsEqual("*".utf8)
        }
    }

    /// An entity tag without the blanks around it and its weak mark (`W/`).
    private static func strong(_ text: Substring.UTF8View) -> Substring.UTF8View {
        let blank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let trimmed = text.drop(while: blank)
        guard let last = trimmed.lastIndex(where: { !blank($0) }) else { return trimmed[trimmed.endIndex...] }
        let tag = trimmed[...last]
        return tag.starts(with: "W/".utf8) ? tag.dropFirst(2) : tag
    }

    /// A plain-text error answer.
    static func failure(_ error: GatewayFailure) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(
            status: error.status,
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: error.message + "\n"))
        )
    }

    // MARK: - Resolution

    /// A content path resolved: the blocks of the directories walked through, and the block at its end.
    struct Resolved: Sendable {
        var chain: [(cid: CID, block: [UInt8])]
        var terminal: CID
        var block: [UInt8]
    }

    func resolve(_ request: GatewayRequest, onlyIfCached: Bool = false) async throws(GatewayFailure) -> Resolved {
        var chain: [(cid: CID, block: [UInt8])] = []
        var current = request.root
        var block = try await read(current, root: true, onlyIfCached: onlyIfCached)
        for name in request.path {
            let node: DAGWalk.Node
            do { node = try DAGWalk.node(current, block) } catch {
                throw GatewayFailure(
                    .internalServerError,
                    "Block \(current) is not valid: \(error.message)",
                    cause: error
                )
            }
            switch node {
            case .directory(let links):
                guard let link = links.first(where: { $0.name == name }) else {
                    throw GatewayFailure(.notFound, "No link named '\(name)' under \(current)")
                }
                chain.append((current, block))
                current = link.cid
                block = try await read(current, root: false, onlyIfCached: false)
            case .shard(var links):
                // Down the shards by the name's hash, one byte a level, each shard on the path kept in the chain.
                var depth = 0
                while true {
                    chain.append((current, block))
                    guard let prefix = HAMTDirectory.prefix(of: name, depth: depth),
                        let link = links.first(where: { $0.name == prefix + name || $0.name == prefix })
                    else { throw GatewayFailure(.notFound, "No link named '\(name)' under \(request.root)") }
                    current = link.cid
                    block = try await read(current, root: false, onlyIfCached: false)
                    guard link.name == prefix else { break }
                    guard case .shard(let inner) = (try? DAGWalk.node(current, block)) ?? .other("") else {
                        throw GatewayFailure(.internalServerError, "\(current) under a HAMT shard is not a shard")
                    }
                    links = inner
                    depth += 1
                }
            case .file:
                throw GatewayFailure(.notFound, "'\(name)' cannot be found under \(current): it is a file")
            case .other(let what):
                throw GatewayFailure(.notImplemented, "Unable to walk through \(current): it is \(what)")
            }
        }
        return Resolved(chain: chain, terminal: current, block: block)
    }

    private func read(_ cid: CID, root: Bool, onlyIfCached: Bool) async throws(GatewayFailure) -> [UInt8] {
        guard cid.codec == CID.raw || cid.codec == CID.dagPB else {
            throw GatewayFailure(
                .notImplemented,
                "\(cid) has codec 0x\(String(cid.codec, radix: 16)): Kiln's gateway holds raw and dag-pb blocks only"
            )
        }
        do { return try await reader.get(cid) } catch {
            if error.code == .blockNotFound {
                if onlyIfCached {
                    throw GatewayFailure(.preconditionFailed, "\(cid) is not in this gateway's blockstore")
                }
                throw GatewayFailure(.notFound, root ? "\(cid) is not in this gateway's blockstore" : error.message)
            }
            if error.code == .unsupported { throw GatewayFailure(.notImplemented, error.message) }
            throw GatewayFailure(.internalServerError, error.message)
        }
    }

    // MARK: - Raw and CAR

    private func raw(_ request: GatewayRequest, _ resolved: Resolved, _ body: ByteBuffer) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/vnd.ipld.raw"
        headers[.contentDisposition] = "attachment; filename=\"\(request.root).bin\""
        headers[.eTag] = "\"\(request.root).raw\""
        headers[.contentLength] = "\(resolved.block.count)"
        metrics.served(blocks: 1, bytes: resolved.block.count)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    private func car(_ request: GatewayRequest, _ resolved: Resolved, _ options: GatewayRequest.CAROptions)
        throws(GatewayFailure) -> Response
    {
        var scope = options.scope
        var byteRange: ClosedRange<UInt64>?
        let node: DAGWalk.Node
        do { node = try DAGWalk.node(resolved.terminal, resolved.block) } catch {
            throw GatewayFailure(
                .internalServerError,
                "Block \(resolved.terminal) is not valid: \(error.message)",
                cause: error
            )
        }
        if case .file(let size, _) = node, options.from != nil {
            switch Self.entityRange(from: options.from ?? 0, to: options.to, size: size) {
            case .outside:
                throw GatewayFailure(
                    .badRequest,
                    "entity-bytes \(options.from ?? 0):\(options.to.map(String.init) ?? "*") is outside the file's \(size) bytes"
                )
            case .empty: scope = .block
            case .range(let range): byteRange = range
            }
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/vnd.ipld.car; version=1; order=dfs; dups=\(options.duplicates ? "y" : "n")"
        headers[.contentDisposition] = "attachment; filename=\"\(request.root).car\""
        let key =
            "\(request.contentPath)|\(scope)|\(options.from.map(String.init) ?? "")|\(options.to.map(String.init) ?? "")|\(options.duplicates)"
        let tag = Multihash.sha256(Array(key.utf8)).digest.prefix(8).map { String(format: "%02x", $0) }.joined()
        headers[.eTag] = "\"\(request.root).car.\(tag)\""
        let walk = DAGWalk(reader: reader)
        let metrics = self.metrics
        let limit = maxAnswerBytes
        let (scopeChosen, byteRangeChosen) = (scope, byteRange)
        let body = ResponseBody { writer in
            let (scope, byteRange) = (scopeChosen, byteRangeChosen)
            var sink = BodySink(writer: writer, kind: .car, limit: limit, metrics: metrics)
            let header = CARHeader(roots: [request.root]).bytes
            try await sink.write(Varint.encode(UInt64(header.count)) + header)
            var seen: Set<CID>? = options.duplicates ? nil : []
            for (cid, block) in resolved.chain where seen?.insert(cid.v1).inserted ?? true {
                if !cid.isIdentity { try await sink.block(cid, block) }
            }
            let terminal = resolved.terminal
            switch (scope, node) {
            case (.block, _), (.entity, .directory), (.entity, .other):
                if seen?.insert(terminal.v1).inserted ?? true, !terminal.isIdentity {
                    try await sink.block(terminal, resolved.block)
                }
            case (.entity, .shard):
                // A sharded directory as an entity is every shard of it (not the entries' contents).
                try await walk.shards(terminal, block: resolved.block, into: &sink, seen: &seen)
            case (.entity, .file(let size, _)):
                if let range = byteRange ?? (size > 0 ? 0...(size - 1) : nil) {
                    try await walk.file(terminal, block: resolved.block, range: range, into: &sink, seen: &seen)
                } else if seen?.insert(terminal.v1).inserted ?? true, !terminal.isIdentity {
                    try await sink.block(terminal, resolved.block)
                }
            case (.all, _):
                try await walk.all(terminal, into: &sink, seen: &seen)
            }
            try await sink.finish()
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    enum EntityRange: Equatable {
        case outside, empty
        case range(ClosedRange<UInt64>)
    }

    /// `entity-bytes=from:to` on a file of `size` bytes: negative values count from the end, `to` nil is the end;
    /// a range past the end is clipped to it.
    static func entityRange(from: Int64, to: Int64?, size: UInt64) -> EntityRange {
        let length = Int64(clamping: size)
        let start = from < 0 ? max(0, length + from) : from
        var end = to.map { $0 < 0 ? length + $0 : $0 } ?? (length - 1)
        if start >= length { return .outside }
        end = min(end, length - 1)
        if end < start { return .empty }
        return .range(UInt64(start)...UInt64(end))
    }

    // MARK: - Deserialized

    /// The answer, and its body when it is one buffer.
    private func deserialized(_ request: GatewayRequest, _ resolved: Resolved, request http: Request)
        async throws(GatewayFailure) -> (response: Response, body: ByteBuffer?)
    {
        let node: DAGWalk.Node
        do { node = try DAGWalk.node(resolved.terminal, resolved.block) } catch {
            throw GatewayFailure(
                .internalServerError,
                "Block \(resolved.terminal) is not valid: \(error.message)",
                cause: error
            )
        }
        switch node {
        case .file(let size, let whole):
            return try await file(
                resolved.terminal,
                block: resolved.block,
                size: size,
                whole: whole,
                name: http.uri.queryParameters.get("filename") ?? request.path.last,
                download: http.uri.queryParameters.get("download") == "true",
                rangeHeader: http.headers[.range]
            )
        case .directory(let links):
            if !request.trailingSlash {
                var headers = HTTPFields()
                let query = http.uri.query.map { "?" + $0 } ?? ""
                headers[.location] = String(http.uri.path) + "/" + query
                return (Response(status: .movedPermanently, headers: headers), nil)
            }
            if let index = links.first(where: { $0.name == "index.html" }) {
                let block = try await read(index.cid, root: false, onlyIfCached: false)
                guard case .file(let size, let whole) = (try? DAGWalk.node(index.cid, block)) ?? .other("") else {
                    throw GatewayFailure(.internalServerError, "index.html under \(resolved.terminal) is not a file")
                }
                return try await file(
                    index.cid,
                    block: block,
                    size: size,
                    whole: whole,
                    name: "index.html",
                    download: false,
                    rangeHeader: nil
                )
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/html; charset=utf-8"
            headers[.eTag] = "\"DirIndex-kiln_CID-\(resolved.terminal)\""
            let html = ByteBuffer(
                string: GalleryPages.shared.directory(path: request.contentPath, cid: resolved.terminal, links: links)
            )
            return (Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: html)), html)
        case .shard:
            throw GatewayFailure(
                .notImplemented,
                "\(resolved.terminal) is a HAMT-sharded directory: Kiln's gateway serves its entries (by path) and its blocks (?format=car or raw), not a listing"
            )
        case .other(let what):
            throw GatewayFailure(
                .notImplemented,
                "\(resolved.terminal) is \(what): Kiln's gateway serves files and directories"
            )
        }
    }

    private func file(
        _ cid: CID,
        block: [UInt8],
        size: UInt64,
        whole: ArraySlice<UInt8>?,
        name: String?,
        download: Bool,
        rangeHeader: String?
    ) async throws(GatewayFailure) -> (response: Response, body: ByteBuffer?) {
        var headers = HTTPFields()
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = "\"\(cid)\""
        let walk = DAGWalk(reader: reader)
        var type = name.flatMap(Self.contentType(name:))
        if type == nil, let whole {
            type = Self.sniff(Array(whole.prefix(512)))
        } else if type == nil {
            var sniff = CollectSink()
            var seen: Set<CID>? = nil
            if size > 0 {
                do {
                    try await walk.file(cid, block: block, range: 0...min(511, size - 1), into: &sniff, seen: &seen)
                } catch {
                    throw GatewayFailure(.internalServerError, "Unable to read \(cid): \(error)", cause: error)
                }
            }
            type = Self.sniff(sniff.bytes)
        }
        headers[.contentType] = type
        if let name {
            let safe = name.filter { $0 != "\"" && $0 != "\\" && !$0.isNewline }
            headers[.contentDisposition] = "\(download ? "attachment" : "inline"); filename=\"\(safe)\""
        }
        var status = HTTPResponse.Status.ok
        var range: ClosedRange<UInt64>? = size > 0 ? 0...(size - 1) : nil
        if let rangeHeader, let asked = Self.byteRange(rangeHeader, size: size) {
            guard let asked else {
                headers[.contentRange] = "bytes */\(size)"
                return (Response(status: .rangeNotSatisfiable, headers: headers), nil)
            }
            range = asked
            status = .partialContent
            headers[.contentRange] = "bytes \(asked.lowerBound)-\(asked.upperBound)/\(size)"
        }
        headers[.contentLength] = "\(range.map { $0.upperBound - $0.lowerBound + 1 } ?? 0)"
        if let whole, whole.count <= maxAnswerBytes {
            // One block holds the file: the answer is one buffer, not a stream.
            let bytes = range.map {
                whole[whole.startIndex + Int($0.lowerBound)...whole.startIndex + Int($0.upperBound)]
            }
            metrics.served(blocks: 0, bytes: bytes?.count ?? 0)
            let body = ByteBuffer(bytes: bytes ?? [])
            return (Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body)), body)
        }
        let metrics = self.metrics
        let limit = maxAnswerBytes
        let chosen = range
        let body = ResponseBody { writer in
            let range = chosen
            var sink = BodySink(writer: writer, kind: .content, limit: limit, metrics: metrics)
            var seen: Set<CID>? = nil
            if let range { try await walk.file(cid, block: block, range: range, into: &sink, seen: &seen) }
            try await sink.finish()
        }
        return (Response(status: status, headers: headers, body: body), nil)
    }

    /// A single `Range: bytes=…` over `size` bytes: nil when the header is not one Kiln honours (several ranges,
    /// another unit: the whole file is sent), `.some(nil)` when it cannot be satisfied (416).
    static func byteRange(_ header: String, size: UInt64) -> ClosedRange<UInt64>?? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[0].isEmpty {  // bytes=-N: the last N bytes
            guard let suffix = UInt64(parts[1]) else { return nil }
            guard suffix > 0, size > 0 else { return .some(nil) }
            return .some((size - min(suffix, size))...(size - 1))
        }
        guard let start = UInt64(parts[0]) else { return nil }
        let end = parts[1].isEmpty ? size &- 1 : UInt64(parts[1]).map { min($0, size &- 1) }
        guard let end else { return nil }
        guard start < size, start <= end else { return .some(nil) }
        return .some(start...end)
    }

    /// The content type of a file by its name's extension.
    static func contentType(name: String) -> String? {
        switch (name as NSString).pathExtension.lowercased() {
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "gif": "image/gif"
        case "webp": "image/webp"
        case "svg": "image/svg+xml"
        case "json": "application/json"
        case "html", "htm": "text/html; charset=utf-8"
        case "txt", "md": "text/plain; charset=utf-8"
        case "yml", "yaml": "application/yaml"
        case "car": "application/vnd.ipld.car"
        default: nil
        }
    }

    /// The content type of a file by its first bytes.
    static func sniff(_ bytes: [UInt8]) -> String {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if bytes.starts(with: Array("GIF8".utf8)) { return "image/gif" }
        let text = bytes.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if let first = text.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "["),
            String(validating: bytes, as: UTF8.self) != nil || bytes.count == 512
        {
            return "application/json"
        }
        if !bytes.isEmpty, !bytes.contains(0), String(validating: bytes, as: UTF8.self) != nil {
            return "text/plain; charset=utf-8"
        }
        return "application/octet-stream"
    }
}

/// A whole gateway answer kept for the next request the same (``Site/answers``), which ``HotPath`` writes on the
/// event loop: everything under `/ipfs/{cid}` is named by hashes, so an answer to the same request never changes.
/// Only `200` answers are kept.
struct KeptAnswer: Sendable {
    /// Its status line and header fields, without the `Date` and `Server` Hummingbird adds.
    let head: EncodedHead
    let body: ByteBuffer
    /// The blocks the answer counts as served (a raw block: 1; a file: 0).
    let blocks: Int

    /// A `200` answer with `headers` and `body`; nil when its fields do not frame it by `Content-Length`.
    init?(headers: HTTPFields, body: ByteBuffer, blocks: Int) {
        guard let head = EncodedHead(.ok, headers) else { return nil }
        self.head = head
        self.body = body
        self.blocks = blocks
    }

    /// The key of a request whose answer may be kept: a `GET` of `/ipfs/…` without `Range`, `If-None-Match` or
    /// `Cache-Control` (the fields that change the answer, besides `Accept`) — its target and its `Accept`.
    static func key(_ head: HTTPRequest) -> String? {
        key(get: head.method == .get, path: head.path) { head.headerFields[$0] }
    }

    /// The same from what a field's value is (joined as Swift HTTP Types joins a field given more than once).
    static func key(get: Bool, path: String?, field: (HTTPField.Name) -> String?) -> String? {
        guard get, let path, path.hasPrefix("/ipfs/"), path.utf8.count <= KilnServer.maxURILength,
            field(.range) == nil, field(.ifNoneMatch) == nil, field(.cacheControl) == nil
        else { return nil }
        return path + "\n" + (field(.accept) ?? "")
    }
}

extension HTTPField.Name {
    /// The content path an answer is for (IPFS gateways' header).
    static let xIpfsPath = HTTPField.Name("X-Ipfs-Path")!
    /// The CIDs walked from the root to the answer's block.
    static let xIpfsRoots = HTTPField.Name("X-Ipfs-Roots")!
    /// The batch that published the metadata API's answer.
    static let xKilnBatch = HTTPField.Name("X-Kiln-Batch")!
}
