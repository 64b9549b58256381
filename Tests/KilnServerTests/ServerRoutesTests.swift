// Kiln — Apache-2.0. See LICENSE.

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KilnContent
import KilnCore
import KilnInference
import KilnPipeline
import KilnServer
import KilnStore
import KilnTesting
import Logging
import NIOCore
import Testing

/// A published site made once per test run in process: four honest operator nodes on loopback, one batch of the
/// first mints of the recorded forge-knights events.
struct PublishedSite: Sendable {
    let configuration: Configuration
    let token: Publication

    static let shared = Task { try await PublishedSite.make() }

    static func make() async throws -> PublishedSite {
        let folder = try temporaryFolder("server")
        var logger = Logger(label: "kiln.test.server")
        logger.logLevel = .critical
        let nodes = try await LocalNodes.start(
            keys: ForgeKnightsSite.keys(4),
            domain: .kiln(chainId: 31337, verifyingContract: ForgeKnightsSite.registry),
            logger: logger
        )
        defer { nodes.stop() }
        let site = try ForgeKnightsSite(folder: folder, nodes: nodes.nodes, stakes: [40, 30, 20, 10], mints: 3)
        let configuration = try Configuration(path: site.configurationPath, environment: [:])
        let summary = try await BatchRunner.open(configuration).syncAndRun(options: BatchOptions()) { _ in }
        guard summary.exitCode == 0, summary.published > 0 else {
            throw PipelineError("the fixture's batch failed: \(summary.problems)")
        }
        let token = try await configuration.publication(
            of: try TokenKey(chainId: 31337, contract: ForgeKnightsSite.contract, tokenId: "1")
        )
        return PublishedSite(configuration: configuration, token: token)
    }

    /// `kiln serve`'s application over the site (HummingbirdTesting's router client calls it, or its live client).
    func application(pageSize: Int = 48, metrics: ServerMetrics = ServerMetrics()) async throws
        -> some ApplicationProtocol
    {
        let store = try await configuration.openStore()
        var site = Site(
            configuration: configuration,
            store: store,
            blockstore: try configuration.openBlockstore(),
            metrics: metrics
        )
        site.pageSize = pageSize
        var logger = Logger(label: "kiln.test.serve")
        logger.logLevel = .critical
        return KilnServer.application(site: site, host: "127.0.0.1", port: 0, logger: logger) { _ in }
    }
}

/// `kiln serve`'s routes in process (HummingbirdTesting): status codes, headers and bodies. What needs a real
/// server (an independent gateway client, curl, a browser, the OpenAPI check over HTTP) is in kilnTests' ServeTests.
struct ServerRoutesTests {
    static let path = "/tokens/31337/\(ForgeKnightsSite.contract.checksummed)"

    @Test func theMetadataAPIAnswersWithThePublishedBytesAndRevalidates() async throws {
        let site = try await PublishedSite.shared.value
        try await site.application().test(.router) { client in
            let etag = try await client.execute(uri: Self.path + "/1", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.headers[.cacheControl] == "public, no-cache")
                #expect(response.headers[.eTag] == "\"\(site.token.metadata)\"")
                let metadata = try JSONValue.parse(bytes: Array(buffer: response.body))
                #expect(metadata["image"]?.stringValue == "ipfs://\(site.token.image)")
                // The exact published bytes: they hash to the metadata CID.
                let published = try CID(site.token.metadata)
                #expect(CID.of(Array(buffer: response.body), codec: CID.raw).multihash == published.multihash)
                return response.headers[.eTag] ?? ""
            }
            try await client.execute(uri: Self.path + "/1", method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: Self.path + "/1/image", method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "image/png")
                #expect(Array(buffer: response.body).starts(with: [0x89, 0x50, 0x4E, 0x47]))
            }
            try await client.execute(uri: Self.path + "/1/history", method: .get) { response in
                let history = try JSONValue.parse(bytes: Array(buffer: response.body))
                #expect(history["tokenId"] == "1")
                guard case .array(let versions)? = history["versions"] else {
                    Issue.record("no versions: \(String(buffer: response.body))")
                    return
                }
                #expect(versions.count == 1)
            }
        }
    }

    /// The metadata API keeps each token's latest publication while the store publishes nothing new — and follows
    /// a new publication at once (the next request sees it: no timer): a new version of a token, and a token that
    /// was not published (a 404) the moment before. A store of its own, fed the shared site's real publications.
    /// Through Hummingbird's routes (`live: false`) and over real connections (`live: true`), where the answers
    /// kept in memory are written on the event loop (`HotPath`, which must have answered some) — after a count of
    /// the store's on the loop (SQLite) or over the loop's own connection (PostgreSQL).
    @Test(arguments: [false, true], [false, true])
    func theMetadataAPIFollowsANewPublicationAtOnce(live: Bool, postgres: Bool) async throws {
        let shared = try await PublishedSite.shared.value
        let store: any Store =
            postgres
            ? try await PostgresStore.open(url: try await PostgresTestServer.makeDatabase())
            : try SQLiteStore(path: try temporaryFolder("latest").appendingPathComponent("kiln.sqlite").path)
        var read: [Publication] = []
        for id in 1...3 {
            let token = try TokenKey(chainId: 31337, contract: ForgeKnightsSite.contract, tokenId: "\(id)")
            read.append(try await shared.configuration.publication(of: token))
        }
        let real = read
        /// Token `id` gets `source`'s media as its next version.
        @Sendable func publish(_ id: Int, as source: Publication) async throws {
            let token = try TokenKey(chainId: 31337, contract: ForgeKnightsSite.contract, tokenId: "\(id)")
            let batch = try await store.openBatch().number
            let job = try await store.enqueue(
                token,
                stateVersion: batch,
                stateHash: Bytes32(word: UInt64(batch)),
                templateHash: source.templateHash
            ).job
            _ = try await store.lease(owner: "t", limit: 1, seconds: 60, now: 1, batch: batch, only: [job.id])
            var publication = source
            publication.jobId = job.id
            publication.batch = batch
            publication.token = token
            publication.stateHash = job.stateHash
            try await store.complete(publication, owner: "t")
            try await store.closeBatch(batch)
        }
        let metrics = ServerMetrics()
        var served = Site(
            configuration: shared.configuration,
            store: store,
            blockstore: try shared.configuration.openBlockstore(),
            metrics: metrics
        )
        served.pageSize = 48
        var logger = Logger(label: "kiln.test.serve")
        logger.logLevel = .critical
        let application = KilnServer.application(site: served, host: "127.0.0.1", port: 0, logger: logger) { _ in }
        try await publish(1, as: real[0])
        try await application.test(live ? .live : .router) { client in
            func etag(_ id: Int, ifNoneMatch: String? = nil) async throws -> (HTTPResponse.Status, String?) {
                #if canImport(Glibc)
                    // Over a socket that waits long: HummingbirdTesting's live client gives up after 20 s without a
                    // byte, which every suite in parallel on two cores can pass.
                    if live, let port = client.port {
                        let fields = ifNoneMatch.map { [("If-None-Match", "\"\($0)\"")] } ?? []
                        let answer = try await RawHTTP.exchange(port: port, [RawHTTP.get(Self.path + "/\(id)", fields)])
                        return (
                            HTTPResponse.Status(code: answer[0].status),
                            answer[0].fields.first { $0.name.lowercased() == "etag" }?.value
                        )
                    }
                #endif
                var headers = HTTPFields()
                if let ifNoneMatch { headers[.ifNoneMatch] = "\"\(ifNoneMatch)\"" }
                return try await client.execute(uri: Self.path + "/\(id)", method: .get, headers: headers) {
                    ($0.status, $0.headers[.eTag])
                }
            }
            for _ in 0..<3 {
                #expect(try await etag(1) == (.ok, "\"\(real[0].metadata)\""))
                #expect(try await etag(1, ifNoneMatch: real[0].metadata).0 == .notModified)
                #expect(try await etag(2).0 == .notFound)
            }
            try await publish(1, as: real[1])
            try await publish(2, as: real[2])
            #expect(try await etag(1, ifNoneMatch: real[0].metadata) == (.ok, "\"\(real[1].metadata)\""))
            #expect(try await etag(2) == (.ok, "\"\(real[2].metadata)\""), "a 404 a moment ago")
            #expect(try await etag(1) == (.ok, "\"\(real[1].metadata)\""))
            #expect(try await etag(1, ifNoneMatch: real[1].metadata).0 == .notModified)
        }
        #expect((HotPathTests.fromMemory(metrics) > 0) == live, "answers from memory over real connections only")
    }

    @Test func badTokenPathsGetTheirStatus() async throws {
        let site = try await PublishedSite.shared.value
        let lower = ForgeKnightsSite.contract.lowercased
        let checksummed = ForgeKnightsSite.contract.checksummed
        // The checksummed form with the case of its first letter digit flipped.
        let letter = checksummed.dropFirst(2).firstIndex { $0.isLetter }!
        let flipped =
            checksummed[letter].isUppercase ? checksummed[letter].lowercased() : checksummed[letter].uppercased()
        let badChecksum = checksummed.replacingCharacters(in: letter...letter, with: flipped)
        try await site.application().test(.router) { client in
            for (uri, status) in [
                (Self.path + "/abc", HTTPResponse.Status.badRequest),
                (Self.path + "/007", .badRequest),
                (Self.path + "/999", .notFound),
                ("/tokens/1/\(ForgeKnightsSite.contract.checksummed)/1", .notFound),
                ("/tokens/31337/0xnot-an-address/1", .badRequest),
                // Every spelling of the contract a path may use, and a checksum that does not hold.
                ("/tokens/31337/\(lower)/1", .ok),
                ("/tokens/31337/0x\(lower.dropFirst(2).uppercased())/1", .ok),
                ("/tokens/31337/\(badChecksum)/1", .badRequest),
                ("/tokens/31337/0x\(String(repeating: "ab", count: 20))/1", .notFound),
            ] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == status, "\(uri): \(String(buffer: response.body))")
                    #expect(response.headers[.contentType] == "application/json", "\(uri)")
                }
            }
        }
    }

    @Test func theGatewayServesBlocksAndRawBlocks() async throws {
        let site = try await PublishedSite.shared.value
        try await site.application().test(.router) { client in
            let metadata = try await client.execute(uri: Self.path + "/1", method: .get) { Array(buffer: $0.body) }
            try await client.execute(uri: "/ipfs/\(site.token.metadata)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Array(buffer: response.body) == metadata)
            }
            try await client.execute(uri: "/ipfs/\(site.token.directory)/metadata.json", method: .get) { response in
                #expect(response.status == .ok && Array(buffer: response.body) == metadata)
            }
            try await client.execute(uri: "/ipfs/\(site.token.directory)?format=raw", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/vnd.ipld.raw")
                let block = Array(buffer: response.body)
                let directory = try CID(site.token.directory)
                #expect(CID.of(block, codec: CID.dagPB).description == directory.v1.description)
            }
            try await client.execute(uri: "/ipfs/\(site.token.metadata)", method: .head) { response in
                #expect(response.status == .ok && response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/ipfs/not-a-cid", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    /// A folder past kubo's sharding threshold is a HAMT: a path through it resolves down its shards, a CAR of an
    /// entry carries the shards on the way, and the shards alone are the directory as an entity.
    @Test func pathsResolveThroughHAMTShardedFolders() async throws {
        let site = try await PublishedSite.shared.value
        let blocks = try site.configuration.openBlockstore()
        let importer = Importer(profile: .kuboV1)
        var entries: [String: FileDAGBuilder.Entry] = [:]
        for index in 1...6000 {
            entries["\(index).json"] = try importer.add(bytes: Array("{\"n\":\(index)}".utf8), into: blocks)
        }
        let root = try importer.directory(entries, into: blocks)
        let entry = entries["2718.json"]!.cid
        try await site.application().test(.router) { client in
            for index in [1, 2718, 6000] {
                try await client.execute(uri: "/ipfs/\(root.cid)/\(index).json", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "{\"n\":\(index)}")
                }
            }
            try await client.execute(uri: "/ipfs/\(root.cid)/6001.json", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/ipfs/\(root.cid)/", method: .get) { response in
                #expect(response.status == .notImplemented)
            }
            // The CAR of one entry: the root shard, the sub-shards on the way, the entry — each hashing to its CID.
            try await client.execute(uri: "/ipfs/\(root.cid)/2718.json?format=car", method: .get) { response in
                let car = Array(buffer: response.body)
                #expect(response.status == .ok)
                #expect(car.count > 1000 && car.count < 40_000, "a path, not the whole HAMT: \(car.count) bytes")
                let file = try temporaryFolder("hamt-car").appendingPathComponent("entry.car")
                try Data(car).write(to: file)
                let reader = try CARReader(path: file.path)
                var cids: [CID] = []
                while let section = try reader.next() { cids.append(section.cid) }
                #expect(cids.first?.v1 == root.cid.v1 && cids.last?.v1 == entry.v1)
                #expect(cids.count >= 3, "root shard, at least one sub-shard, the entry")
            }
        }
    }

    @Test func pagesHealthAndMetrics() async throws {
        let site = try await PublishedSite.shared.value
        try await site.application().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
            }
            try await client.execute(
                uri: "/collections/31337/\(ForgeKnightsSite.contract.checksummed)/1",
                method: .get
            ) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(site.token.image))
            }
            try await client.execute(uri: "/health", method: .get) { response in
                let health = try JSONValue.parse(bytes: Array(buffer: response.body))
                #expect(response.status == .ok && health["status"] == "ok" && health["collections"] == 1)
            }
            let metadata = try await client.execute(uri: Self.path + "/1", method: .get) { response in
                (bytes: response.body.readableBytes, etag: response.headers[.eTag] ?? "")
            }
            try await client.execute(uri: Self.path + "/1", method: .get, headers: [.ifNoneMatch: metadata.etag]) {
                #expect($0.status == .notModified)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                // Each series counts every request that touched it (made once, kept): one metadata answer and
                // one 304, its bytes served.
                let lines = String(buffer: response.body).split(separator: "\n")
                func value(_ name: String, _ labels: String...) -> Double? {
                    lines.first { $0.hasPrefix(name) && labels.allSatisfy($0.contains) }
                        .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
                }
                #expect(value("kiln_http_requests_total{", "route=\"/tokens\"", "status=\"200\"") == 1)
                #expect(value("kiln_http_requests_total{", "route=\"/tokens\"", "status=\"304\"") == 1)
                #expect(value("kiln_http_requests_total{", "route=\"/health\"", "status=\"200\"") == 1)
                #expect(value("kiln_gateway_bytes_served_total") == Double(metadata.bytes))
            }
        }
    }

    /// The collection's pages follow token ids (keyset pages): each names the ids of its previous and next pages.
    @Test func collectionPagesLinkByTokenId() async throws {
        let site = try await PublishedSite.shared.value
        let collection = "/collections/31337/\(ForgeKnightsSite.contract.checksummed)"
        /// The page's tokens (their links, in order) and its previous and next links.
        @Sendable func page(_ query: String, _ client: some TestClientProtocol) async throws -> (
            tokens: [String], previous: String?, next: String?
        ) {
            try await client.execute(uri: collection + query, method: .get) { response in
                #expect(response.status == .ok, "\(query)")
                let html = String(buffer: response.body)
                func links(_ pattern: String) -> [String] {
                    html.matches(of: try! Regex(pattern)).compactMap { $0.output[1].substring.map(String.init) }
                }
                return (
                    links(#"href="\#(collection)/(\d+)""#),
                    links(#"href="[^"]*\?(before=\d+)">← previous"#).first,
                    links(#"href="[^"]*\?(after=\d+)">next →"#).first
                )
            }
        }
        try await site.application(pageSize: 1).test(.router) { client in
            var seen = try await page("", client)
            #expect(seen.tokens == ["1"] && seen.previous == nil && seen.next == "after=1")
            seen = try await page("?after=1", client)
            #expect(seen.tokens == ["2"] && seen.previous == "before=2" && seen.next == "after=2")
            seen = try await page("?after=2", client)
            #expect(seen.tokens == ["3"] && seen.previous == "before=3" && seen.next == nil, "the last page")
            seen = try await page("?before=3", client)
            #expect(seen.tokens == ["2"] && seen.previous == "before=2" && seen.next == "after=2")
            seen = try await page("?before=2", client)
            #expect(seen.tokens == ["1"] && seen.previous == nil && seen.next == "after=1", "back at the first page")
            try await client.execute(uri: collection + "?after=007", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    /// With a PostgreSQL store, a block the local blockstore lacks comes from the store, checked, and is kept.
    @Test func aBlockOnlyThePostgresStoreHasIsServedAndKept() async throws {
        let site = try await PublishedSite.shared.value
        let store = try await PostgresStore.open(url: try await PostgresTestServer.makeDatabase())
        let bytes = Array("published by a worker on another machine".utf8)
        let cid = try Importer().add(bytes: bytes).cid
        try await store.keep([StoredBlock(cid: cid.description, bytes: bytes)])
        let forgedBytes = Array("a block that is not what its CID says".utf8)
        let forged = try Importer().add(bytes: Array("something else".utf8)).cid
        try await store.keep([StoredBlock(cid: forged.description, bytes: forgedBytes)])
        let local = try FilesystemBlockstore(folder: try temporaryFolder("serve-pg").path)
        let server = Site(configuration: site.configuration, store: store, blockstore: local, metrics: ServerMetrics())
        var logger = Logger(label: "kiln.test.serve")
        logger.logLevel = .critical
        let app = KilnServer.application(site: server, host: "127.0.0.1", port: 0, logger: logger) { _ in }
        try await app.test(.router) { client in
            try await client.execute(uri: "/ipfs/\(cid)?format=raw", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Array(buffer: response.body) == bytes)
            }
            try await client.execute(uri: "/ipfs/\(forged)?format=raw", method: .get) { response in
                #expect(response.status != .ok)
            }
        }
        #expect(local.has(cid), "kept for the next request")
        #expect(!local.has(forged))
    }
}
