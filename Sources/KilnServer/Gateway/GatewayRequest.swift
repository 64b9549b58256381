// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import Hummingbird
internal import KilnContent
internal import KilnCore

/// What a `GET /ipfs/{cid}[/{path}]` asks for, read from its path, query and `Accept` header as the IPFS
/// Path Gateway and Trustless Gateway specs say: `format` wins over `Accept`; raw blocks only for `/ipfs/{cid}`;
/// CAR streams take `dag-scope`, `entity-bytes`, `car-version`, `car-order` and `car-dups`.
struct GatewayRequest: Sendable, Equatable {
    /// Which answer.
    enum Format: Sendable, Equatable {
        /// A browser's answer: the file's bytes (with `Range`), a directory's listing or its `index.html`.
        case deserialized
        /// `application/vnd.ipld.raw`: the one block.
        case raw
        /// `application/vnd.ipld.car`: a CAR v1 stream, depth-first.
        case car(CAROptions)
    }

    /// `dag-scope`: which blocks after the path's.
    enum Scope: String, Sendable, Equatable { case block, entity, all }

    /// A CAR request's parameters.
    struct CAROptions: Sendable, Equatable {
        var scope: Scope = .all
        /// `entity-bytes=from:to` (inclusive; negative counts from the end; `to` nil is `*`).
        var from: Int64?
        var to: Int64?
        /// `dups=y`: a block is sent every time the walk meets it (default `n`: once).
        var duplicates = false
    }

    /// The CID at the start of the path, as given.
    var root: CID
    /// The path's names after the CID, percent-decoded.
    var path: [String]
    /// Whether the URL path ends with `/` (a directory asked as a directory).
    var trailingSlash: Bool
    var format: Format

    /// The request's content path, `/ipfs/{cid}/{path}` (for `X-Ipfs-Path` and messages).
    var contentPath: String { "/ipfs/\(root)" + path.map { "/" + $0 }.joined() + (trailingSlash ? "/" : "") }

    /// Parses a request.
    /// - Parameters:
    ///   - urlPath: the URL's path, still percent-encoded, starting `/ipfs/`.
    ///   - query: a query parameter's (first) value by name, percent-decoded.
    ///   - accept: the `Accept` header.
    /// - Throws: ``GatewayFailure`` with 400 (bad CID, path or parameter), 406 or 501 (a format Kiln does not make).
    init(urlPath: String, query: (String) -> String?, accept: String?) throws(GatewayFailure) {
        guard urlPath.hasPrefix("/ipfs/") else { throw GatewayFailure(.notFound, "Not a /ipfs/ path") }
        let rest = urlPath.dropFirst("/ipfs/".count)
        var segments = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        trailingSlash = segments.count > 1 && segments.last == ""
        segments.removeAll { $0.isEmpty }
        guard let first = segments.first else { throw GatewayFailure(.badRequest, "No CID after /ipfs/") }
        do { root = try CID(first) } catch {
            throw GatewayFailure(.badRequest, "'\(first)' is not a valid CID: \(error.message)", cause: error)
        }
        var names: [String] = []
        for segment in segments.dropFirst() {
            guard let name = segment.removingPercentEncoding, !name.contains("\0") else {
                throw GatewayFailure(.badRequest, "Path segment '\(segment)' is not valid percent-encoded UTF-8")
            }
            guard name != "." && name != ".." else {
                throw GatewayFailure(.badRequest, "Path segment '\(name)' is not allowed in an immutable path")
            }
            names.append(name)
        }
        path = names
        format = try Self.format(query: query, accept: accept)
        if format == .raw && !path.isEmpty {
            throw GatewayFailure(
                .badRequest,
                "Raw blocks are served for /ipfs/{cid} only (no path): ask for a CAR to traverse a path"
            )
        }
    }

    private static func format(query: (String) -> String?, accept: String?) throws(GatewayFailure) -> Format {
        if let name = query("format") {
            switch name {
            case "raw": return .raw
            case "car": return .car(try carOptions(query: query, accept: nil))
            case "tar", "dag-json", "dag-cbor", "json", "cbor", "ipns-record":
                throw GatewayFailure(
                    .notImplemented,
                    "format=\(name) is not served by Kiln's gateway (raw and car are)"
                )
            default:
                throw GatewayFailure(.badRequest, "Unknown format '\(name)': use raw or car")
            }
        }
        guard let accept, !accept.isEmpty else { return .deserialized }
        var sawIPLD = false
        for range in mediaRanges(accept) {
            switch range.type {
            case "application/vnd.ipld.raw": return .raw
            case "application/vnd.ipld.car":
                sawIPLD = true
                if let version = range.parameters["version"], version != "1" { continue }
                if let order = range.parameters["order"], order != "dfs" && order != "unk" { continue }
                if let dups = range.parameters["dups"], dups != "y" && dups != "n" { continue }
                return .car(try carOptions(query: query, accept: range.parameters))
            case "application/vnd.ipfs.ipns-record", "application/x-tar", "application/vnd.ipld.dag-json",
                "application/vnd.ipld.dag-cbor":
                sawIPLD = true
            default:
                if range.type.hasPrefix("application/vnd.ipld.") { sawIPLD = true }
            }
        }
        if sawIPLD && !accept.contains("*/*") && !accept.contains("text/") && !accept.contains("image/") {
            throw GatewayFailure(
                .notAcceptable,
                "None of the Accept types is served: Kiln gives application/vnd.ipld.raw and application/vnd.ipld.car; version=1; order=dfs"
            )
        }
        return .deserialized
    }

    private static func carOptions(query: (String) -> String?, accept: [String: String]?) throws(GatewayFailure)
        -> CAROptions
    {
        var options = CAROptions()
        if let version = query("car-version"), version != "1" {
            throw GatewayFailure(.badRequest, "car-version=\(version) is not served: Kiln writes CAR version 1")
        }
        if let order = query("car-order"), order != "dfs" && order != "unk" {
            throw GatewayFailure(.badRequest, "car-order=\(order) is not served: Kiln writes order=dfs")
        }
        let dups = query("car-dups") ?? accept?["dups"]
        switch dups {
        case nil, "n": options.duplicates = false
        case "y": options.duplicates = true
        case let other?: throw GatewayFailure(.badRequest, "car-dups must be y or n, found '\(other)'")
        }
        if let scope = query("dag-scope") {
            guard let parsed = Scope(rawValue: scope) else {
                throw GatewayFailure(.badRequest, "dag-scope must be block, entity or all, found '\(scope)'")
            }
            options.scope = parsed
        }
        if let bytes = query("entity-bytes") {
            let parts = bytes.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let from = Int64(parts[0]), parts[1] == "*" || Int64(parts[1]) != nil else {
                throw GatewayFailure(
                    .badRequest,
                    "entity-bytes must be from:to (integers, negative from the end, to may be *), found '\(bytes)'"
                )
            }
            options.from = from
            options.to = parts[1] == "*" ? nil : Int64(parts[1])
            options.scope = .entity  // entity-bytes implies dag-scope=entity
        }
        return options
    }

    /// The media ranges of an `Accept` header, highest `q` first (ties keep their order), without `q=0`.
    static func mediaRanges(_ header: String) -> [(type: String, parameters: [String: String])] {
        var ranges: [(type: String, parameters: [String: String], q: Double, index: Int)] = []
        for (index, item) in header.split(separator: ",").enumerated() {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let type = parts.first?.lowercased(), !type.isEmpty else { continue }
            var parameters: [String: String] = [:]
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1).map {
                    $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                }
                if pair.count == 2 { parameters[pair[0].lowercased()] = pair[1] }
            }
            let q = parameters.removeValue(forKey: "q").flatMap(Double.init) ?? 1
            if q > 0 { ranges.append((type, parameters, q, index)) }
        }
        return ranges.sorted { $0.q != $1.q ? $0.q > $1.q : $0.index < $1.index }.map { ($0.type, $0.parameters) }
    }
}

/// A request the gateway answers with an error status and a plain-text reason.
///
/// A documented exception to "one error struct per domain": it never leaves KilnServer, and what it carries is the
/// HTTP answer itself (status and text), which the routes write as the response; the cause is kept for the log.
struct GatewayFailure: CausedError, Sendable {
    var status: HTTPResponse.Status
    var message: String
    var cause: (any Error)?

    init(_ status: HTTPResponse.Status, _ message: String, cause: (any Error)? = nil) {
        self.status = status
        self.message = message
        self.cause = cause
    }

    var description: String { message }
}
