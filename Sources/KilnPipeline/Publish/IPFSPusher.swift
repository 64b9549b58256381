// Kiln — Apache-2.0. See LICENSE.

internal import AsyncHTTPClient
internal import Foundation
internal import KilnContent
internal import KilnCore
internal import KilnCrypto
public import KilnStore
public import Logging
internal import NIOCore
internal import NIOHTTP1
internal import NIOFileSystem

/// Pushes batches to IPFS providers after every run, and keeps trying on later runs until each confirms:
/// kubo's `POST /api/v0/dag/import` (the batch CAR, roots pinned), the IPFS Pinning Service API
/// (`POST /pins`, then `GET /pins/{requestid}` until `pinned` or `failed`), then, optionally, a retrieval check
/// through a trustless gateway. Every step's status is stored (`ipfs_pushes`) and shown by `kiln status`.
public struct IPFSPusher: Sendable {
    public var store: any PushStore & PublicationStore
    public var targets: [IPFSTarget]
    /// A trustless gateway to fetch the batch back through (`publish.check`).
    public var check: String?
    /// URLs of `kiln serve`, sent to pinning services as multiaddrs (`origins`).
    public var origins: [String]
    /// The output folder, whose `batch-<n>.car` files are pushed.
    public var out: String
    public var logger: Logger
    /// How long one run waits for a pinning service to answer `pinned` (then the next run asks again).
    public var pinWait: Duration = .seconds(60)
    /// Tries per request in one run for 429 and 5xx answers and transport errors (with backoff).
    public var tries = 3
    /// Seconds one HTTP request may take.
    public var timeout: Int64 = 300
    var environment: [String: String] = ProcessInfo.processInfo.environment
    let http: HTTPClient = .shared

    public init(store: any PushStore & PublicationStore, configuration: Configuration, logger: Logger) {
        self.store = store
        targets = configuration.ipfsTargets
        check = configuration.retrievalCheck
        pinWait = .milliseconds(Int64(configuration.pinWait * 1000))
        origins = configuration.origins
        out = configuration.out
        self.logger = logger
    }

    /// Whether kiln.yml asks for any push or check.
    public var isConfigured: Bool { !targets.isEmpty || check != nil }

    /// Records `batch` (when given) for every target, then pushes or checks everything not yet confirmed.
    /// Returns every push of the batches it worked on, as they now stand. Failures are stored, never thrown:
    /// the next run tries again.
    public func run(batch: (number: Int, root: String, car: String)?) async throws(StoreError) -> [IPFSPush] {
        guard isConfigured else { return [] }
        let names = targets.map(\.name) + (check.map { ["check \($0)"] } ?? [])
        let now = Date().timeIntervalSince1970
        if let batch {
            try await store.addPushes(batch: batch.number, root: batch.root, car: batch.car, targets: names, now: now)
        }
        // Batches written before a target was configured (or by a run that stopped before pushing) are pushed too.
        var recorded = try await store.pushes()
        var added = false
        for (number, car) in Self.batchCARs(in: out) {
            let targets = names.filter { name in !recorded.contains { $0.batch == number && $0.target == name } }
            guard !targets.isEmpty, let root = try? CARReader(path: car).header.roots.first else { continue }
            try await store.addPushes(batch: number, root: root.description, car: car, targets: targets, now: now)
            added = true
        }
        if added { recorded = try await store.pushes() }
        let pending = recorded.filter { !$0.status.confirmed && names.contains($0.target) }
        var results: [IPFSPush] = []
        for number in Set(pending.map(\.batch)).sorted() {
            var providerConfirmed =
                !pending.contains { $0.batch == number && !$0.target.hasPrefix("check ") }
                || recorded.contains { $0.batch == number && $0.status == .pinned }
            for var push in pending where push.batch == number && !push.target.hasPrefix("check ") {
                guard let target = targets.first(where: { $0.name == push.target }) else { continue }
                push.attempts += 1
                do {
                    switch target {
                    case .kubo(let url, let authorization):
                        try await importToKubo(&push, url: url, authorization: authorization)
                    case .pinning(let url, let token):
                        try await pin(&push, url: url, token: token)
                    }
                    if push.status != .failed { push.lastError = nil }
                } catch {
                    if push.status != .queued { push.status = .pending }
                    push.lastError = error.message
                }
                push.updated = Date().timeIntervalSince1970
                try await store.savePush(push)
                log(push)
                providerConfirmed = providerConfirmed || push.status.confirmed
                results.append(push)
            }
            for var push in pending where push.batch == number && push.target.hasPrefix("check ") {
                guard let gateway = check else { continue }
                // Checked once a provider has the batch (it is where a gateway finds the blocks).
                guard providerConfirmed else {
                    results.append(push)
                    continue
                }
                push.attempts += 1
                do {
                    let blocks = try await retrievalCheck(batch: number, gateway: gateway)
                    push.status = .verified
                    push.lastError = nil
                    logger.debug("batch \(number): \(blocks) blocks fetched back through \(gateway), all verified")
                } catch {
                    push.status = .failed
                    push.lastError = error.message
                }
                push.updated = Date().timeIntervalSince1970
                try await store.savePush(push)
                log(push)
                results.append(push)
            }
        }
        return results
    }

    /// The `batch-<n>.car` files in `folder`, by batch number.
    static func batchCARs(in folder: String) -> [(Int, String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("batch-"), name.hasSuffix(".car"),
                let number = Int(name.dropFirst("batch-".count).dropLast(".car".count))
            else { return nil }
            return (number, folder + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    private func log(_ push: IPFSPush) {
        let line = "batch \(push.batch) → \(push.target): \(push.status.rawValue)"
        if let error = push.lastError { logger.warning("\(line): \(error)") } else { logger.debug("\(line)") }
    }

    // MARK: - kubo

    /// `POST /api/v0/dag/import?pin-roots=true` with the CAR as the multipart `file`; the NDJSON answer must
    /// name the batch root with an empty `PinErrorMsg`.
    func importToKubo(_ push: inout IPFSPush, url: String, authorization: IPFSTarget.Authorization?)
        async throws(PipelineError)
    {
        let boundary = "kiln-" + UUID().uuidString
        let prefix = ByteBuffer(
            string:
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"batch-\(push.batch).car\"\r\n"
                + "Content-Type: application/vnd.ipld.car\r\n\r\n"
        )
        let suffix = ByteBuffer(string: "\r\n--\(boundary)--\r\n")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        switch authorization {
        case .bearer(let secret)?:
            headers.add(name: "Authorization", value: "Bearer " + (try secret.read(environment: environment)))
        case .basic(let secret)?:
            headers.add(
                name: "Authorization",
                value: "Basic " + Data((try secret.read(environment: environment)).utf8).base64EncodedString()
            )
        case nil: break
        }
        // The CAR streams from its file (read 1 MiB at a time off the cooperative pool), whatever its size: a
        // push's memory does not grow with the batch.
        let (status, answer): (Int, [UInt8])
        do {
            (status, answer) = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(push.car)) { handle in
                let size = try await handle.info().size
                let upload = FileUpload(prefix: prefix, suffix: suffix, handle: handle, size: size)
                return try await send(
                    .POST,
                    url + "/api/v0/dag/import?pin-roots=true&stats=true",
                    headers: headers,
                    body: nil,
                    stream: { .stream(upload, length: .known(upload.length)) },
                    what: "kubo dag/import"
                )
            }
        } catch let error as PipelineError {
            throw error
        } catch {
            throw PipelineError(.io, "Unable to read the batch CAR '\(push.car)': \(error)", cause: error)
        }
        guard status == 200 else {
            throw PipelineError(.failed, "kubo answered HTTP \(status): \(Self.kuboMessage(answer))")
        }
        var pinned = false
        for line in answer.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let value = try? JSONValue.parse(bytes: Array(line)) else {
                throw PipelineError(
                    .failed,
                    "kubo's dag/import answer is not NDJSON: \(String(decoding: line.prefix(200), as: UTF8.self))"
                )
            }
            guard let root = value["Root"] else { continue }
            let cid = root["Cid"]?["/"]?.stringValue
            let failure = root["PinErrorMsg"]?.stringValue ?? ""
            if cid == push.root {
                guard failure.isEmpty else {
                    throw PipelineError(.failed, "kubo could not pin \(push.root): \(failure)")
                }
                pinned = true
            }
        }
        guard pinned else {
            throw PipelineError(.failed, "kubo's dag/import answer does not name the batch root \(push.root) as pinned")
        }
        push.status = .pinned
    }

    static func kuboMessage(_ body: [UInt8]) -> String {
        if let value = try? JSONValue.parse(bytes: body), let message = value["Message"]?.stringValue { return message }
        return String(decoding: body.prefix(300), as: UTF8.self)
    }

    // MARK: - Pinning Service API

    /// `POST /pins` (again after `failed`), then `GET /pins/{requestid}` until `pinned` or `failed`, at most
    /// ``pinWait``; a request still `queued` or `pinning` is asked about again by the next run.
    func pin(_ push: inout IPFSPush, url: String, token: SecretReference) async throws(PipelineError) {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer " + (try token.read(environment: environment)))
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Accept", value: "application/json")
        if push.requestId == nil || push.status == .failed || push.status == .pending {
            let request: JSONValue = [
                "cid": .string(push.root), "name": .string("kiln batch \(push.batch)"),
                "origins": .array(origins.compactMap(Self.multiaddr).map { .string($0) }),
                "meta": ["app": "kiln", "batch": .string(String(push.batch))],
            ]
            let body: [UInt8]
            do { body = try request.canonicalBytes() } catch { throw PipelineError(.failed, "\(error)", cause: error) }
            let (status, answer) = try await send(
                .POST,
                url + "/pins",
                headers: headers,
                body: ByteBuffer(bytes: body),
                what: "POST /pins"
            )
            guard status == 202 || status == 200 else { throw Self.pinningError(status, answer) }
            try Self.apply(answer, to: &push)
        }
        let deadline = ContinuousClock.now + pinWait
        var delay = Duration.milliseconds(250)
        while push.status == .queued, let id = push.requestId, ContinuousClock.now < deadline {
            do { try await Task.sleep(for: delay) } catch { throw PipelineError(.failed, "cancelled") }
            delay = min(delay * 2, .seconds(5))
            let (status, answer) = try await send(
                .GET,
                url + "/pins/" + id,
                headers: headers,
                body: nil,
                what: "GET /pins"
            )
            if status == 404 {
                push.requestId = nil
                push.status = .pending
                throw PipelineError(
                    .failed,
                    "the pinning service no longer knows request \(id): it is made again next run"
                )
            }
            guard status == 200 else { throw Self.pinningError(status, answer) }
            try Self.apply(answer, to: &push)
        }
        if push.status == .failed {
            push.lastError = "the pinning service answered failed for \(push.root) (request \(push.requestId ?? "?"))"
        } else if push.status == .queued {
            push.lastError = "still queued after \(pinWait): asked again next run"
        }
    }

    /// Reads a `PinStatus` answer into the push.
    static func apply(_ body: [UInt8], to push: inout IPFSPush) throws(PipelineError) {
        guard let value = try? JSONValue.parse(bytes: body), let id = value["requestid"]?.stringValue,
            let status = value["status"]?.stringValue
        else {
            throw PipelineError(
                .failed,
                "The pinning service's answer is not a PinStatus: \(String(decoding: body.prefix(300), as: UTF8.self))"
            )
        }
        guard value["pin"]?["cid"]?.stringValue == nil || value["pin"]?["cid"]?.stringValue == push.root else {
            throw PipelineError(
                .failed,
                "The pinning service answered for another CID: \(value["pin"]?["cid"]?.stringValue ?? "")"
            )
        }
        push.requestId = id
        switch status {
        case "queued", "pinning": push.status = .queued
        case "pinned": push.status = .pinned
        case "failed": push.status = .failed
        default: throw PipelineError(.failed, "The pinning service answered an unknown status '\(status)'")
        }
    }

    /// The Pinning Service API's error body, `{"error": {"reason", "details"}}`, as a message.
    static func pinningError(_ status: Int, _ body: [UInt8]) -> PipelineError {
        let value = try? JSONValue.parse(bytes: body)
        let reason = value?["error"]?["reason"]?.stringValue ?? "HTTP \(status)"
        let details = value?["error"]?["details"]?.stringValue.map { ": \($0)" } ?? ""
        return PipelineError(.failed, "the pinning service answered HTTP \(status) \(reason)\(details)")
    }

    /// `http://127.0.0.1:8080` → `/ip4/127.0.0.1/tcp/8080/http`; names → `/dns/NAME/…`; `https` → `…/https`.
    static func multiaddr(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        let isIPv4 = host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
        let hostPart =
            isIPv4
            ? "/ip4/\(host)"
            : host.contains(":")
                ? "/ip6/\(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")))" : "/dns/\(host)"
        return "\(hostPart)/tcp/\(port)/\(scheme)"
    }

    // MARK: - HTTP

    /// One request with ``tries`` tries for transport errors, 5xx and 429 (``Backoff``: the server's `Retry-After`,
    /// at most 30 s, else 0.5 s, 1 s, … with jitter). Returns the final status and body.
    func send(
        _ method: HTTPMethod,
        _ url: String,
        headers: HTTPHeaders,
        body: ByteBuffer?,
        stream: (@Sendable () -> HTTPClientRequest.Body)? = nil,
        what: String
    ) async throws(PipelineError) -> (Int, [UInt8]) {
        var lastError = ""
        var retryAfter: Duration?
        let backoff = Backoff(attempts: tries, first: .milliseconds(500))
        for attempt in 0..<backoff.attempts {
            if attempt > 0 {
                do { try await backoff.wait(retry: attempt, retryAfter: retryAfter) } catch {
                    throw PipelineError(.failed, "\(what): cancelled while waiting to try again")
                }
            }
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers = headers
            if let stream { request.body = stream() } else if let body { request.body = .bytes(body) }
            do {
                let response = try await http.execute(request, timeout: .seconds(timeout))
                let answer = Array(try await response.body.collect(upTo: 16 << 20).readableBytesView)
                let status = Int(response.status.code)
                retryAfter = Backoff.retryAfter(response.headers.first(name: "Retry-After"))
                if status == 429 {
                    lastError = "\(what): HTTP 429 (rate limited)"
                    continue
                }
                if status >= 500 {
                    lastError = "\(what): HTTP \(status): \(String(decoding: answer.prefix(200), as: UTF8.self))"
                    continue
                }
                return (status, answer)
            } catch {
                retryAfter = nil
                lastError = "\(what): \(error)"
            }
        }
        throw PipelineError(.failed, lastError + " (after \(backoff.attempts) tries)")
    }

    // MARK: - Retrieval check

    /// Fetches every token directory of `batch` through `gateway` as CARs (`dag-scope=entity`: the directory,
    /// then each of its files), checks every block against its CID and that every file is complete.
    /// Returns how many blocks were fetched.
    func retrievalCheck(batch: Int, gateway: String) async throws(PipelineError) -> Int {
        let publications: [Publication]
        do { publications = try await store.publications(batch: batch) } catch {
            throw PipelineError(.failed, "Unable to read batch \(batch): \(error.message)", cause: error)
        }
        var count = 0
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kiln-check-\(UUID().uuidString).car"
        ).path
        defer { unlink(scratch) }
        for directory in Set(publications.map(\.directory)).sorted() {
            let root: CID
            do { root = try CID(directory) } catch { throw PipelineError(.failed, "\(error)", cause: error) }
            let listing = try await fetchCAR(gateway, "/ipfs/\(directory)", scratch: scratch)
            count += listing.count
            let links: [DagPBLink]
            do { links = try UnixFSReader(blockstore: listing).list(root) } catch {
                throw PipelineError(
                    .failed,
                    "\(gateway): the CAR of \(directory) lacks its directory block: \(error.message)",
                    cause: error
                )
            }
            for link in links {
                let file = try await fetchCAR(gateway, "/ipfs/\(directory)/\(link.name)", scratch: scratch)
                count += file.count
                do { _ = try UnixFSReader(blockstore: file).cat(link.cid) } catch {
                    throw PipelineError(
                        .failed,
                        "\(gateway): the CAR of \(directory)/\(link.name) is incomplete: \(error.message)",
                        cause: error
                    )
                }
            }
        }
        return count
    }

    private func fetchCAR(_ gateway: String, _ path: String, scratch: String) async throws(PipelineError)
        -> MemoryBlockstore
    {
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: "application/vnd.ipld.car; version=1; order=dfs; dups=n")
        let (status, body) = try await send(
            .GET,
            gateway + path + "?format=car&dag-scope=entity",
            headers: headers,
            body: nil,
            what: "GET \(path)"
        )
        guard status == 200 else { throw PipelineError(.failed, "\(gateway)\(path): HTTP \(status)") }
        do {
            try AtomicFile.write(body, to: scratch)
            return try MemoryBlockstore(car: scratch)
        } catch {
            throw PipelineError(.failed, "\(gateway)\(path): the CAR does not verify: \(error)", cause: error)
        }
    }
}

/// A multipart body whose file part is read from disk as it is sent, 1 MiB at a time (positional reads, so each try
/// of a request starts again from the top).
struct FileUpload: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let prefix: ByteBuffer
    let suffix: ByteBuffer
    let handle: ReadFileHandle
    let size: Int64

    var length: Int64 { Int64(prefix.readableBytes) + size + Int64(suffix.readableBytes) }

    func makeAsyncIterator() -> Iterator { Iterator(upload: self) }

    struct Iterator: AsyncIteratorProtocol {
        let upload: FileUpload
        var offset: Int64 = -1  // -1: the prefix is next; size: the suffix; past it: done

        mutating func next() async throws -> ByteBuffer? {
            if offset < 0 {
                offset = 0
                return upload.prefix
            }
            if offset < upload.size {
                let chunk = try await upload.handle.readChunk(
                    fromAbsoluteOffset: offset,
                    length: .bytes(Swift.min(1 << 20, upload.size - offset))
                )
                guard chunk.readableBytes > 0 else {
                    throw PipelineError(.io, "The CAR ended at byte \(offset) of the \(upload.size) it had")
                }
                offset += Int64(chunk.readableBytes)
                return chunk
            }
            guard offset == upload.size else { return nil }
            offset += 1
            return upload.suffix
        }
    }
}
