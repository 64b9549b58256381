// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import Foundation
internal import Hummingbird
internal import KilnContent
internal import KilnCore
internal import KilnPipeline
internal import KilnStore
internal import NIOCore

/// The gallery: `/` lists the collections, `/collections/{chainId}/{contract}` shows a collection's tokens,
/// `/collections/{chainId}/{contract}/{id}` one token with its attestation, and `…/verify` the same page with the
/// checks of `kiln verify` run on the server.
extension Site {
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func page(_ failure: GatewayFailure) -> Response {
        html(
            GalleryPages.shared.render(
                "message",
                [
                    "title": "\(failure.status.code) \(failure.status.reasonPhrase)", "message": failure.message,
                    "crumb": "",
                ]
            ),
            status: failure.status
        )
    }

    func name(_ contract: Address) -> String { names[contract] ?? contract.checksummed }

    func collectionHref(_ contract: Address) -> String {
        "/collections/\(configuration.chainId)/\(contract.checksummed)"
    }

    /// `/`.
    func indexPage() async throws(GatewayFailure) -> Response {
        var rows: [[String: Any]] = []
        for contract in configuration.contracts {
            let totals = try await published(contract.address)
            rows.append([
                "name": name(contract.address), "href": collectionHref(contract.address),
                "chainId": "\(configuration.chainId)", "contract": contract.address.checksummed,
                "tokens": "\(totals.tokens)", "batch": totals.lastBatch.map { "\($0)" } ?? "—",
            ])
        }
        return Self.html(
            GalleryPages.shared.render(
                "index",
                ["title": "Collections", "crumb": "gallery", "store": store.location, "collections": rows]
            )
        )
    }

    /// `/collections/{chainId}/{contract}`, `?after=ID` (the next page: the tokens after that id) or `?before=ID`
    /// (the previous page). Keyset pages: each is an index seek, however deep into a large collection.
    func collectionPage(_ contract: Address, after: String?, before: String?) async throws(GatewayFailure) -> Response {
        for id in [after, before].compactMap({ $0 }) where !Self.isCanonicalTokenId(id) {
            throw GatewayFailure(.badRequest, "Token id '\(id)' is not a decimal number")
        }
        // One more than a page is read, to know whether another page follows in that direction.
        var latest: [Publication]
        var hasPrevious: Bool
        var hasNext: Bool
        if let before, after == nil {
            latest = try await latestPublications(of: contract, page: TokenPage(.before, before, limit: pageSize + 1))
            hasPrevious = latest.count > pageSize
            hasNext = true
            latest = Array(latest.suffix(pageSize))
        } else {
            latest = try await latestPublications(of: contract, page: TokenPage(.after, after, limit: pageSize + 1))
            hasPrevious = after != nil
            hasNext = latest.count > pageSize
            latest = Array(latest.prefix(pageSize))
        }
        if before != nil, after == nil, !hasPrevious {
            // Back to the start: the first page, whole.
            latest = try await latestPublications(of: contract, page: .first(pageSize + 1))
            hasNext = latest.count > pageSize
            latest = Array(latest.prefix(pageSize))
        }
        let totals = try await published(contract)
        var cards: [[String: Any]] = []
        for latest in latest {
            let id = latest.token.tokenId
            var card: [String: Any] = [
                "id": id, "href": collectionHref(contract) + "/" + id, "thumbnail": latest.thumbnail,
                "batch": "\(latest.batch)", "quorum": "no inference",
            ]
            let traits = await cardFacts.traits(of: latest.metadata) { () async -> [CardFacts.Trait]? in
                guard let metadata = try? JSONValue.parse(bytes: try await cat(latest.metadata)) else { return nil }
                guard case .array(let attributes)? = metadata["attributes"] else { return [] }
                return attributes.prefix(3).compactMap { attribute in
                    guard let trait = attribute["trait_type"]?.stringValue, let value = attribute["value"] else {
                        return nil
                    }
                    return CardFacts.Trait(trait: trait, value: Self.text(value))
                }
            }
            if let traits, !traits.isEmpty {
                card["traits"] = traits.map { ["trait": $0.trait, "value": $0.value] as [String: Any] }
            }
            if let cid = latest.attestation,
                let line = await cardFacts.quorumLine(
                    of: cid,
                    { () async -> String? in (try? JSONValue.parse(bytes: try await cat(cid))).map(Self.quorumLine) }
                )
            {
                card["quorum"] = line
            }
            cards.append(card)
        }
        var values: [String: Any] = [
            "title": name(contract), "crumb": "collection", "name": name(contract),
            "chainId": "\(configuration.chainId)", "contract": contract.checksummed, "tokens": "\(totals.tokens)",
            "batch": totals.lastBatch.map { "\($0)" } ?? "—", "cards": cards,
        ]
        if let baseURI { values["baseURI"] = baseURI + "tokens/\(configuration.chainId)/\(contract.checksummed)/" }
        if let first = latest.first, hasPrevious {
            values["previous"] = collectionHref(contract) + "?before=\(first.token.tokenId)"
        }
        if let last = latest.last, hasNext {
            values["next"] = collectionHref(contract) + "?after=\(last.token.tokenId)"
        }
        return Self.html(GalleryPages.shared.render("collection", values))
    }

    /// `/collections/{chainId}/{contract}/{id}` and, with `verify`, `…/verify`.
    func tokenPage(_ token: TokenKey, verify: Bool) async throws(GatewayFailure) -> Response {
        let versions = try await self.versions(of: token)
        guard let latest = versions.first else {
            throw GatewayFailure(.notFound, "Token \(token) has not been published")
        }
        let base = collectionHref(token.contract) + "/" + token.tokenId
        let api = "/tokens/\(token.chainId)/\(token.contract.checksummed)/\(token.tokenId)"
        let metadataBytes = try await cat(latest.metadata)
        let metadata = try? JSONValue.parse(bytes: metadataBytes)
        var values: [String: Any] = [
            "title": (metadata?["name"]?.stringValue ?? "#\(token.tokenId)"), "crumb": name(token.contract),
            "name": metadata?["name"]?.stringValue ?? "\(name(token.contract)) #\(token.tokenId)",
            "id": token.tokenId, "chainId": "\(token.chainId)", "contract": token.contract.checksummed,
            "image": latest.image, "directory": latest.directory, "metadata": latest.metadata,
            "batch": "\(latest.batch)", "stateHash": latest.stateHash.hex, "versions": "\(versions.count)",
            "apiHref": api, "historyHref": api + "/history", "verifyHref": base + "/verify",
            "metadataJSON": Self.pretty(metadataBytes),
        ]
        if let state = try? await store.state(token, version: nil), let bytes = try? state.json.canonicalBytes() {
            values["stateJSON"] = Self.pretty(bytes)
        }
        if let cid = latest.attestation, let bundle = try? JSONValue.parse(bytes: try await cat(cid)) {
            values["attestation"] = Self.attestation(bundle)
        }
        if verify {
            guard verifications.take(limit: maxVerifications) else {
                throw GatewayFailure(
                    .tooManyRequests,
                    "\(maxVerifications) verifications are running: press Verify again in a moment"
                )
            }
            defer { verifications.giveBack() }
            values["verify"] = await verification(token, latest)
        }
        return Self.html(GalleryPages.shared.render("token", values))
    }

    /// The checks of `kiln verify` for the token's latest publication, run here.
    func verification(_ token: TokenKey, _ publication: Publication) async -> [String: Any] {
        do {
            var verifier = Verifier(blockstore: blockstore, registry: try configuration.operatorRegistry())
            verifier.logStore = store  // the token's own logs, not the collection's
            verifier.expectedToken = token
            let report = try await verifier.verify(try CID(publication.metadata))
            return [
                "class": report.ok ? "ok" : "bad",
                "summary": report.ok
                    ? "verified: byte-identical" : "not verified: \(report.differences.count) difference(s)",
                "checks": report.checks.map { check -> [String: Any] in
                    ["class": check.ok ? "ok" : "bad", "mark": check.ok ? "ok" : "DIFF", "text": check.text]
                },
            ]
        } catch {
            return ["class": "bad", "summary": "not verified: \(error)", "checks": [[String: Any]]()]
        }
    }

    /// "3 of 4 operators · 70.00 % of stake (threshold 66.67 %)".
    static func quorumLine(_ bundle: JSONValue) -> String {
        guard case .array(let operators)? = bundle["stake"]?["operators"] else { return "no stake table" }
        guard case .array(let signers)? = bundle["accepted"]?["signers"] else { return "quorum not reached" }
        let total = BigUInt(bundle["stake"]?["total"]?.stringValue ?? "") ?? 0
        let signed = BigUInt(bundle["accepted"]?["signedStake"]?.stringValue ?? "") ?? 0
        let threshold = bundle["stake"]?["thresholdBps"]?.integerValue.flatMap { Int(exactly: $0) } ?? 0
        return "\(signers.count) of \(operators.count) operators · \(percent(signed, of: total)) of stake "
            + "(threshold \(String(format: "%.2f", Double(threshold) / 100)) %)"
    }

    static func percent(_ part: BigUInt, of total: BigUInt) -> String {
        guard total > 0 else { return "0.00 %" }
        let basis = part * 10_000 / total
        return "\(basis / 100).\(String(basis % 100).count == 1 ? "0" : "")\(basis % 100) %"
    }

    static func attestation(_ bundle: JSONValue) -> [String: Any] {
        var outcomes: [String: String] = [:]
        if case .array(let responses)? = bundle["responses"] {
            for response in responses {
                if let op = response["operator"]?.stringValue { outcomes[op] = response["outcome"]?.stringValue ?? "" }
            }
        }
        let total = BigUInt(bundle["stake"]?["total"]?.stringValue ?? "") ?? 0
        var operators: [[String: Any]] = []
        if case .array(let entries)? = bundle["stake"]?["operators"] {
            for entry in entries {
                let address = entry["address"]?.stringValue ?? "?"
                operators.append([
                    "address": address,
                    "stake": percent(BigUInt(entry["stake"]?.stringValue ?? "") ?? 0, of: total),
                    "outcome": outcomes[address] ?? "not asked",
                ])
            }
        }
        var values: [String: Any] = ["quorum": quorumLine(bundle), "operators": operators]
        if let policy = bundle["agreement"]?["policy"], let text = try? policy.canonicalString() {
            values["policy"] = text
        }
        return values
    }

    static func text(_ value: JSONValue) -> String {
        if let string = value.stringValue { return string }
        return (try? value.canonicalString()) ?? ""
    }

    /// JSON bytes indented for reading (the published bytes stay canonical; this is only for the page).
    static func pretty(_ bytes: [UInt8]) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]
            )
        else { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: data, as: UTF8.self)
    }
}
