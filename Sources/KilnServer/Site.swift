// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import Hummingbird
public import KilnContent
public import KilnCore
public import KilnPipeline
public import KilnStore
internal import NIOCore
internal import Synchronization

/// What `kiln serve` serves from: kiln.yml, its store and its blockstore, read-only.
public struct Site: Sendable {
    /// kiln.yml: the collections (contracts and templates) and the chain id.
    public var configuration: Configuration {
        didSet { contractSpellings = Self.spellings(of: configuration) }
    }
    /// Each served contract by the ways a path may write it (checksummed, lower case, upper case): most paths are
    /// one of these, found without parsing the hex and hashing it for the EIP-55 check on every request.
    private var contractSpellings: [String: Address]
    /// The store publications are read from.
    public var store: any StoreBase & ChainStore & PublicationStore & BlockKeeping
    /// The blocks the gateway serves.
    public var blockstore: any Blockstore
    /// The server's metrics.
    public var metrics: ServerMetrics
    /// The most bytes one gateway answer streams (a CAR of a large DAG is cut there).
    public var maxAnswerBytes = 1 << 30
    /// A Prometheus text file `kiln batch` writes at the end of each run (`metrics.prom` next to OUT): appended to `/metrics`.
    public var batchMetricsFile: String?
    /// The name of each collection's template, by contract.
    public var names: [Address: String] = [:]
    /// Where collections point their `baseURI` (kiln.yml `publish.baseURI`), for the gallery to show.
    public var baseURI: String?
    /// Tokens per gallery page.
    public var pageSize = 48
    /// Verifications run at once (each re-renders a token: CPU work); more are told to try again (429).
    public var maxVerifications = 2
    let verifications = Slots()
    /// The blocks answered with last, kept in memory (``BlockCache``): 32 MiB.
    let blocks = BlockCache(capacity: 32 << 20)
    /// Each token's latest publication as the metadata API last read it, while the store publishes nothing new
    /// (``LatestCache``): 16 384 tokens, about 5 MiB.
    let latestCache = LatestCache(capacity: 16_384)
    /// What the collection pages show of each token's metadata and attestation, by CID (``CardFacts``): 8 192
    /// files, at most a few MiB.
    let cardFacts = CardFacts(capacity: 8_192)
    /// Whole gateway answers to plain requests (``KeptAnswer``), for ``HotPath``: 16 MiB.
    let answers = KeptBytes<String, KeptAnswer>(capacity: 16 << 20) { $0.body.readableBytes + 512 }
    /// Where store checks post their answers for each event loop (``HotPath``).
    let mailboxes = EventLoopMailbox.Boxes()

    /// A site over a store and a blockstore.
    public init(
        configuration: Configuration,
        store: any StoreBase & ChainStore & PublicationStore & BlockKeeping,
        blockstore: any Blockstore,
        metrics: ServerMetrics
    ) {
        self.configuration = configuration
        self.store = store
        self.blockstore = blockstore
        self.metrics = metrics
        contractSpellings = Self.spellings(of: configuration)
    }

    private static func spellings(of configuration: Configuration) -> [String: Address] {
        var spellings: [String: Address] = [:]
        for contract in configuration.contracts {
            let lower = contract.address.lowercased
            spellings[lower] = contract.address
            spellings["0x" + lower.dropFirst(2).uppercased()] = contract.address
            spellings[contract.address.checksummed] = contract.address
        }
        return spellings
    }

    var reader: BlockReader {
        BlockReader(blockstore: blockstore, store: store.sharesBlocks ? store : nil, cache: blocks)
    }

    /// A count of work in progress, taken and given back around each piece.
    final class Slots: Sendable {
        private let taken = Mutex(0)
        /// Takes a slot unless `limit` are taken.
        func take(limit: Int) -> Bool {
            taken.withLock { count in
                guard count < limit else { return false }
                count += 1
                return true
            }
        }
        func giveBack() { taken.withLock { $0 -= 1 } }
    }

    /// The bytes of a (small) published file.
    func cat(_ text: String, limit: Int = 16 << 20) async throws(GatewayFailure) -> [UInt8] {
        let cid: CID
        do { cid = try CID(text) } catch {
            throw GatewayFailure(.internalServerError, "Stored CID '\(text)': \(error.message)", cause: error)
        }
        do {
            let block = try await reader.get(cid)
            guard case .file(let size, let whole) = try DAGWalk.node(cid, block) else {
                throw GatewayFailure(.internalServerError, "\(cid) is not a file")
            }
            guard size <= UInt64(limit) else {
                throw GatewayFailure(.internalServerError, "\(cid) is larger than \(limit) bytes")
            }
            if let whole { return Array(whole) }
            var sink = CollectSink()
            var seen: Set<CID>? = nil
            if size > 0 {
                try await DAGWalk(reader: reader).file(
                    cid,
                    block: block,
                    range: 0...(size - 1),
                    into: &sink,
                    seen: &seen
                )
            }
            return sink.bytes
        } catch let error as GatewayFailure {
            throw error
        } catch let error as ContentError where error.code == .blockNotFound {
            throw GatewayFailure(
                .notFound,
                "The published block \(cid) is not in this server's blockstore: \(error.message)",
                cause: error
            )
        } catch {
            throw GatewayFailure(.internalServerError, "Unable to read \(cid): \(error)", cause: error)
        }
    }

    /// The token a `/tokens/{chainId}/{contract}/{id}` or `/collections/…/{id}` path names.
    func token(chainId: String?, contract: String?, id: String?) throws(GatewayFailure) -> TokenKey {
        let collection = try self.collection(chainId: chainId, contract: contract)
        // TokenKey checks the digits; a path is also canonical (no leading zeros) and at most a uint256's 78 digits.
        let text = id ?? ""
        guard Self.isCanonicalTokenId(text),
            let token = try? TokenKey(chainId: collection.chainId, contract: collection.contract, tokenId: text)
        else {
            throw GatewayFailure(.badRequest, "Token id '\(text)' is not a decimal number")
        }
        return token
    }

    /// Whether `text` is a token id as paths write it: decimal digits, no leading zero, at most a uint256's 78.
    static func isCanonicalTokenId(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 78 && text.utf8.allSatisfy { (0x30...0x39).contains($0) }
            && (text == "0" || !text.hasPrefix("0"))
    }

    /// The collection a path names: one of kiln.yml's contracts on its chain.
    func collection(chainId: String?, contract: String?) throws(GatewayFailure) -> (
        chainId: UInt64, contract: Address
    ) {
        guard let chainId, let chain = UInt64(chainId) else {
            throw GatewayFailure(.badRequest, "Chain id '\(chainId ?? "")' is not a number")
        }
        // A served contract as a path spells it is found as it is; any other text is parsed (for its error).
        let served = contract.flatMap { contractSpellings[$0] }
        let address: Address
        if let served {
            address = served
        } else {
            do { address = try Address(hex: contract ?? "") } catch {
                throw GatewayFailure(
                    .badRequest,
                    "'\(contract ?? "")' is not a contract address: \(error.message)",
                    cause: error
                )
            }
        }
        guard chain == configuration.chainId,
            served != nil || configuration.contracts.contains(where: { $0.address == address })
        else {
            throw GatewayFailure(.notFound, "No collection \(chain):\(address.checksummed) is served here")
        }
        return (chain, address)
    }

    /// A page of one collection's tokens, each with its latest publication, by token id (a keyset page: an index
    /// seek, whatever the collection's size).
    func latestPublications(of contract: Address, page: TokenPage) async throws(GatewayFailure) -> [Publication] {
        do {
            return try await store.latestPublications(chainId: configuration.chainId, contract: contract, page: page)
        } catch {
            throw GatewayFailure(.internalServerError, "Unable to read the store: \(error.message)", cause: error)
        }
    }

    /// What one collection has published: one row of the store.
    func published(_ contract: Address) async throws(GatewayFailure) -> PublishedTotals {
        do { return try await store.published(chainId: configuration.chainId, contract: contract) } catch {
            throw GatewayFailure(.internalServerError, "Unable to read the store: \(error.message)", cause: error)
        }
    }

    /// One token's publications, newest first: its own rows only (an index lookup), not the collection's.
    func versions(of token: TokenKey) async throws(GatewayFailure) -> [Publication] {
        guard token.chainId == configuration.chainId else { return [] }
        do { return try await store.publications(of: token).reversed() } catch {
            throw GatewayFailure(.internalServerError, "Unable to read the store: \(error.message)", cause: error)
        }
    }

    /// A JSON answer.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, etag: String? = nil) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let etag { headers[.eTag] = "\"\(etag)\"" }
        let bytes = (try? value.canonicalBytes()) ?? Array("{}".utf8)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
