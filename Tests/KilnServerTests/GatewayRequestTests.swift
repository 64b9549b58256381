import HTTPTypes
import KilnContent
import Testing

@testable import KilnServer

struct GatewayRequestTests {
    static let cid = "bafybeiemzl4an3v6wylw5ha3hmfcrzipacqo6xayt4of7sxugexmbrpnhy"

    func parse(_ path: String, _ query: [String: String] = [:], accept: String? = nil) throws(GatewayFailure)
        -> GatewayRequest
    {
        try GatewayRequest(urlPath: path, query: { query[$0] }, accept: accept)
    }

    @Test func formatWinsOverAcceptAndAcceptNegotiates() throws {
        #expect(try parse("/ipfs/\(Self.cid)", ["format": "raw"], accept: "application/vnd.ipld.car").format == .raw)
        #expect(try parse("/ipfs/\(Self.cid)", accept: "application/vnd.ipld.raw").format == .raw)
        #expect(
            try parse("/ipfs/\(Self.cid)", accept: "application/vnd.ipld.car;version=2, application/vnd.ipld.raw;q=0.5")
                .format == .raw,
            "a CAR version Kiln does not write is skipped for the next choice"
        )
        #expect(try parse("/ipfs/\(Self.cid)", accept: "text/html,*/*;q=0.8").format == .deserialized)
        #expect(
            try parse("/ipfs/\(Self.cid)", accept: "application/vnd.ipld.car; version=1; order=dfs; dups=y").format
                == .car(.init(scope: .all, from: nil, to: nil, duplicates: true))
        )
        #expect(throws: GatewayFailure.self) {
            try parse("/ipfs/\(Self.cid)", accept: "application/vnd.ipld.car;version=2")
        }
    }

    @Test func pathsAndParameters() throws {
        let request = try parse("/ipfs/\(Self.cid)/a%20b/c.png", ["format": "car", "dag-scope": "block"])
        #expect(request.path == ["a b", "c.png"] && !request.trailingSlash)
        #expect(request.format == .car(.init(scope: .block)))
        #expect(try parse("/ipfs/\(Self.cid)/").trailingSlash)
        #expect(
            try parse("/ipfs/\(Self.cid)", ["format": "car", "entity-bytes": "-10:*"]).format
                == .car(.init(scope: .entity, from: -10, to: nil)),
            "entity-bytes implies dag-scope=entity"
        )
        for (path, query) in [
            ("/ipfs/nope", [:]), ("/ipfs/\(Self.cid)/x", ["format": "raw"]), ("/ipfs/\(Self.cid)/../x", [:]),
            ("/ipfs/\(Self.cid)", ["format": "car", "dag-scope": "most"]),
            ("/ipfs/\(Self.cid)", ["format": "car", "entity-bytes": "1-2"]), ("/ipfs/\(Self.cid)", ["format": "zip"]),
            ("/ipfs/\(Self.cid)", ["format": "car", "car-version": "2"]),
        ] {
            #expect(throws: GatewayFailure.self, "\(path) \(query)") { try parse(path, query) }
        }
        do {
            _ = try parse("/ipfs/\(Self.cid)", ["format": "tar"])
            Issue.record("format=tar was accepted")
        } catch {
            #expect(error.status == .notImplemented)
        }
    }

    @Test func entityBytesAndRanges() {
        #expect(Gateway.entityRange(from: 0, to: nil, size: 10) == .range(0...9))
        #expect(Gateway.entityRange(from: -3, to: nil, size: 10) == .range(7...9))
        #expect(Gateway.entityRange(from: 2, to: -2, size: 10) == .range(2...8))
        #expect(Gateway.entityRange(from: 5, to: 100, size: 10) == .range(5...9), "clipped to the end")
        #expect(Gateway.entityRange(from: 10, to: nil, size: 10) == .outside)
        #expect(Gateway.entityRange(from: 6, to: 3, size: 10) == .empty)
        #expect(Gateway.byteRange("bytes=2-5", size: 10) == .some(2...5))
        #expect(Gateway.byteRange("bytes=-4", size: 10) == .some(6...9))
        #expect(Gateway.byteRange("bytes=8-", size: 10) == .some(8...9))
        #expect(Gateway.byteRange("bytes=10-", size: 10) == .some(nil), "unsatisfiable: 416")
        #expect(Gateway.byteRange("bytes=0-1,4-5", size: 10) == nil, "several ranges: the whole file")
        #expect(Gateway.byteRange("items=0-1", size: 10) == nil)
    }

    @Test func contentTypes() {
        #expect(Gateway.contentType(name: "image.PNG") == "image/png")
        #expect(Gateway.sniff([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]) == "image/png")
        #expect(Gateway.sniff(Array(" {\"a\":1}".utf8)) == "application/json")
        #expect(Gateway.sniff([0, 1, 2]) == "application/octet-stream")
    }

    @Test func ifNoneMatchComparesWeakly() {
        let etag = "\"\(Self.cid)\""
        #expect(Gateway.matches(etag, etag: etag))
        #expect(Gateway.matches("W/\(etag)", etag: etag), "a weak validator matches: GET compares weakly")
        #expect(Gateway.matches("\"other\", \t W/\(etag) ", etag: etag), "one of a list, spaces and tabs around")
        #expect(Gateway.matches("\"a\",\(etag)", etag: etag))
        #expect(Gateway.matches("*", etag: etag))
        #expect(Gateway.matches(" * ", etag: etag))
        #expect(Gateway.matches(etag, etag: "W/\(etag)"))
        #expect(!Gateway.matches("\"other\"", etag: etag))
        #expect(!Gateway.matches("", etag: etag))
        #expect(!Gateway.matches(",", etag: etag))
        #expect(!Gateway.matches(String(etag.dropLast()), etag: etag), "a prefix is not the tag")
        #expect(!Gateway.matches("\(etag)x", etag: etag))
        #expect(!Gateway.matches("w/\(etag)", etag: etag), "W/ is case-sensitive")
        #expect(!Gateway.matches("\"\(Self.cid.uppercased())\"", etag: etag), "entity tags compare byte by byte")
    }
}
