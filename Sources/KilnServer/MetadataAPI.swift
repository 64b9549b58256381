// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import HTTPTypes
internal import Hummingbird
internal import KilnContent
internal import KilnCore
internal import KilnStore
internal import NIOCore

/// The metadata API for collections whose `baseURI` is HTTP: `GET /tokens/{chainId}/{contract}/{id}` is the
/// token's current `metadata.json`, the exact published bytes, with its CID as `ETag`; `…/image` its image;
/// `…/history` every published version.
extension Site {
    /// The token's latest publication (what the metadata API needs of it), or 404: from ``LatestCache`` when the
    /// store has published nothing since it was read.
    func latest(_ token: TokenKey) async throws(GatewayFailure) -> LatestCache.Entry {
        let entry: LatestCache.Entry?
        do {
            let generation = try await latestCache.generation(check: publicationCheck)
            if let kept = latestCache.entry(token, at: generation) {
                entry = kept
            } else {
                entry = try await store.latestPublication(token).map {
                    LatestCache.Entry(metadata: $0.metadata, image: $0.image, batch: $0.batch)
                }
                latestCache.keep(token, entry, at: generation)
            }
        } catch {
            throw GatewayFailure(.internalServerError, "Unable to read the store: \(error.message)", cause: error)
        }
        guard let entry else { throw GatewayFailure(.notFound, "Token \(token) has not been published") }
        return entry
    }

    /// How ``LatestCache`` checks the store: its count of publications, read by a task.
    var publicationCheck: LatestCache.Check {
        let store = self.store
        return LatestCache.check { () async throws(StoreError) in try await store.publishedTotals().publications }
    }

    /// `metadata.json` or `image.png` of the token's latest publication.
    func tokenFile(_ token: TokenKey, image: Bool, ifNoneMatch: String?) async throws(GatewayFailure) -> Response {
        let publication = try await latest(token)
        let (cid, headers, revalidated) = Self.tokenHead(publication, image: image, ifNoneMatch: ifNoneMatch)
        if revalidated { return Response(status: .notModified, headers: headers) }
        let bytes = try await cat(cid)
        metrics.served(blocks: 0, bytes: bytes.count)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The same answers, made once for ``HotPath`` when all they need is in memory: the token's entry kept for the
    /// generation a check that started after the request came read (``LatestCache``), and its file in one kept block
    /// (``BlockCache``). Nil otherwise (and for a token not published: its 404 is the routes' to write).
    func tokenAnswer(_ token: TokenKey, image: Bool, kept generation: Int) -> LatestCache.TokenAnswer? {
        guard case .some(.some(let publication)) = latestCache.entry(token, at: generation) else { return nil }
        let (cid, headers, _) = Self.tokenHead(publication, image: image, ifNoneMatch: nil)
        guard let parsed = try? CID(cid), !parsed.isIdentity, let block = blocks.get(parsed),
            case .file(_, let whole?)? = try? DAGWalk.node(parsed, block)
        else { return nil }
        var fields = headers
        // Where Hummingbird puts it: after the route's fields.
        fields.append(HTTPField(name: .contentLength, value: String(whole.count)))
        guard let ok = EncodedHead(.ok, fields), let notModified = EncodedHead(.notModified, headers) else {
            return nil
        }
        return LatestCache.TokenAnswer(
            etag: "\"\(cid)\"",
            ok: ok,
            body: ByteBuffer(bytes: whole),
            notModified: notModified
        )
    }

    /// The CID a token's answer serves, its header fields, and whether `ifNoneMatch` names it (a 304).
    private static func tokenHead(
        _ publication: LatestCache.Entry,
        image: Bool,
        ifNoneMatch: String?
    ) -> (cid: String, headers: HTTPFields, revalidated: Bool) {
        let (cid, headers) =
            image ? (publication.image, publication.imageHead) : (publication.metadata, publication.metadataHead)
        return (cid, headers, ifNoneMatch.map { Gateway.matches($0, etag: "\"\(cid)\"") } ?? false)
    }

    /// The header fields of the metadata API's answer with the file `cid` of a token's publication in `batch`.
    static func tokenHead(cid: String, image: Bool, batch: Int) -> HTTPFields {
        // Made as one list, not field by field (each set searches the fields before it).
        HTTPFields([
            HTTPField(name: .contentType, value: image ? "image/png" : "application/json"),
            HTTPField(name: .eTag, value: "\"\(cid)\""),
            // The token's media change when its state does: clients keep the answer but ask again (ETag → 304).
            HTTPField(name: .cacheControl, value: "public, no-cache"),
            HTTPField(name: .accessControlAllowOrigin, value: "*"),
            HTTPField(name: .xIpfsPath, value: "/ipfs/\(cid)"),
            HTTPField(name: .xKilnBatch, value: String(batch)),
        ])
    }

    /// Every published version of the token, newest first.
    func history(_ token: TokenKey) async throws(GatewayFailure) -> Response {
        let versions = try await self.versions(of: token)
        guard !versions.isEmpty else { throw GatewayFailure(.notFound, "Token \(token) has not been published") }
        var response = Self.json([
            "chainId": .number(token.chainId), "contract": .string(token.contract.checksummed),
            "tokenId": .string(token.tokenId),
            "versions": .array(versions.map(Self.json(_:))),
        ])
        response.headers[.accessControlAllowOrigin] = "*"
        response.headers[.cacheControl] = "public, no-cache"
        return response
    }

    static func json(_ publication: Publication) -> JSONValue {
        var entry: [String: JSONValue] = [
            "batch": .number(publication.batch), "job": .number(publication.jobId),
            "stateHash": .string(publication.stateHash.hex), "templateHash": .string(publication.templateHash.hex),
            "directory": .string(publication.directory), "metadata": .string(publication.metadata),
            "image": .string(publication.image), "thumbnail": .string(publication.thumbnail),
            "template": .string(publication.template),
        ]
        if let inference = publication.inference { entry["inference"] = .string(inference) }
        if let attestation = publication.attestation { entry["attestation"] = .string(attestation) }
        return .object(entry)
    }
}
