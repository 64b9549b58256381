// Kiln — Apache-2.0. See LICENSE.

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KilnContent
import KilnCore
import KilnStore
import KilnTesting
import Logging
import Testing

@testable import KilnServer

#if canImport(Glibc)
    import Glibc

    /// The answers `kiln serve` writes from memory on NIO's event loop (`HotPath`), over real connections: the same
    /// bytes as Hummingbird's routes give, in the order the requests came (pipelined too), and as fresh.
    struct HotPathTests {
        static let contract = ForgeKnightsSite.contract.checksummed

        /// Every answer the hot path gives, beside Hummingbird's own answer to the same request: the same status, the
        /// same header fields in the same order (the `Date` field's value aside) and the same body — and the hot path
        /// did answer. Hummingbird's answer: for the metadata API, the request with a query the route ignores (the hot
        /// path hands it on); for the gateway, the first request of its kind (nothing kept yet).
        @Test func theEventLoopsAnswersAreTheRoutesAnswers() async throws {
            try await Self.serve { shared, metrics, port in
                let token = "/tokens/31337/\(Self.contract)/1"
                let image = shared.token.image
                let etag = "\"\(shared.token.metadata)\""
                let requests: [(String, [(String, String)])] = [
                    (token, []), (token, [("If-None-Match", etag)]), (token, [("If-None-Match", "W/\(etag), \"x\"")]),
                    (token, [("Connection", "keep-alive")]), (token + "/image", []), ("/ipfs/\(image)", []),
                    ("/ipfs/\(image)?format=raw", []), ("/ipfs/\(image)", [("Accept", "image/png")]),
                    ("/ipfs/\(shared.token.metadata)", [("Connection", "Keep-Alive")]),
                ]
                for (path, fields) in requests {
                    let gateway = path.hasPrefix("/ipfs/")
                    if !gateway { _ = try await RawHTTP.exchange(port: port, [RawHTTP.get(path)]) }  // the token kept
                    let before = Self.fromMemory(metrics)
                    let routed = try await RawHTTP.exchange(
                        port: port,
                        [RawHTTP.get(gateway ? path : path + "?v", fields)]
                    )[0]
                    #expect(Self.fromMemory(metrics) == before, "\(path) \(fields): Hummingbird's answer")
                    let hot = try await RawHTTP.exchange(port: port, [RawHTTP.get(path, fields)])[0]
                    #expect(Self.fromMemory(metrics) == before + 1, "\(path) \(fields): answered from memory")
                    #expect(hot.status == routed.status, "\(path) \(fields)")
                    #expect(hot.fields.map(\.name) == routed.fields.map(\.name), "\(path) \(fields)")
                    #expect(
                        hot.fields.filter { $0.name != "Date" }.map(\.value)
                            == routed.fields.filter { $0.name != "Date" }.map(\.value),
                        "\(path) \(fields)"
                    )
                    #expect(hot.body == routed.body, "\(path) \(fields)")
                    // Byte for byte: the status line, each field's name and value and their separators.
                    #expect(hot.headButDate == routed.headButDate, "\(path) \(fields)")
                    let date = try #require(hot.fields.first { $0.name == "Date" }?.value)
                    #expect(Self.imfFixdate.date(from: date) != nil, "\(date) is RFC 9110's IMF-fixdate")
                }
                // What it hands on: another method, a query on the metadata API, an unknown token, a Range, a
                // `Connection: close`.
                let before = Self.fromMemory(metrics)
                for request in [
                    "HEAD \(token) HTTP/1.1\r\nHost: k\r\n\r\n", RawHTTP.get(token + "?x=1"),
                    RawHTTP.get("/tokens/31337/\(Self.contract)/99"),
                    RawHTTP.get("/ipfs/\(image)", [("Range", "bytes=0-9")]),
                    RawHTTP.get(token, [("Connection", "close")]),
                ] {
                    _ = try await RawHTTP.exchange(port: port, [request], head: request.hasPrefix("HEAD"))
                }
                #expect(Self.fromMemory(metrics) == before)
            }
        }

        /// Pipelined requests, some answered from memory and some by Hummingbird (one of those a slow page), come back
        /// in the order they were sent, each its own answer — and a `Connection: close` request is answered, then the
        /// connection closed.
        @Test func pipelinedAnswersKeepTheirOrder() async throws {
            try await Self.serve { shared, metrics, port in
                let token = "/tokens/31337/\(Self.contract)"
                for id in 1...3 { _ = try await RawHTTP.exchange(port: port, [RawHTTP.get("\(token)/\(id)")]) }
                let paths = [
                    "\(token)/1", "/health", "\(token)/2", "/collections/31337/\(Self.contract)", "\(token)/3",
                    "\(token)/1/history", "\(token)/2", "/ipfs/\(shared.token.metadata)", "\(token)/99", "\(token)/1",
                ]
                let answers = try await RawHTTP.exchange(port: port, paths.map { RawHTTP.get($0) })
                #expect(answers.count == paths.count)
                for (path, answer) in zip(paths, answers) {
                    switch path {
                    case "/health", "/collections/31337/\(Self.contract)":
                        #expect(answer.status == 200, "\(path)")
                    case "\(token)/99":
                        #expect(answer.status == 404, "\(path)")
                    case "\(token)/1/history":
                        #expect(answer.status == 200 && answer.text.contains("\"versions\""), "\(path)")
                    case "/ipfs/\(shared.token.metadata)":
                        #expect(answer.status == 200 && answer.text.contains("\"tokenId\":\"1\""), "\(path)")
                    default:  // a token's metadata: its own id
                        let id = path.split(separator: "/").last.map(String.init) ?? ""
                        #expect(answer.status == 200 && answer.text.contains("\"tokenId\":\"\(id)\""), "\(path)")
                    }
                }
                #expect(Self.fromMemory(metrics) >= 1, "some were answered from memory")

                let closing = try await RawHTTP.exchange(
                    port: port,
                    [RawHTTP.get("\(token)/1", [("Connection", "close")])],
                    expectClose: true
                )
                #expect(closing.first?.status == 200)
            }
        }

        /// `kiln serve` over the shared site on a port of its own, with its metrics, for `body`.
        static func serve(_ body: @escaping @Sendable (PublishedSite, ServerMetrics, Int) async throws -> Void)
            async throws
        {
            let shared = try await PublishedSite.shared.value
            let metrics = ServerMetrics()
            try await shared.application(metrics: metrics).test(.live) { client in
                try await body(shared, metrics, try #require(client.port))
            }
        }

        /// The `Date` field as Hummingbird's `DateCache` writes it, beside Foundation's formatter.
        @Test func theDateFieldIsIMFFixdate() throws {
            for seconds in [0, 951_782_400, 1_796_428_800, 4_102_444_799] {
                let text = HotPath.httpDate(seconds)
                #expect(text == Self.imfFixdate.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
            }
        }

        static let imfFixdate: DateFormatter = {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            return formatter
        }()

        static func fromMemory(_ metrics: ServerMetrics) -> Int {
            for line in metrics.exposition().split(separator: "\n")
            where line.hasPrefix("kiln_http_answered_from_memory_total ") {
                return Int(Double(line.split(separator: " ").last ?? "") ?? -1)
            }
            return 0
        }
    }

    struct RawHTTPError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// A small HTTP/1.1 client on a socket: requests written at once (pipelined), answers read in order.
    enum RawHTTP {
        struct Answer: Sendable {
            var status = 0
            var fields: [(name: String, value: String)] = []
            /// The status line and fields as they came, each line with its CRLF.
            var head: [UInt8] = []
            var body: [UInt8] = []
            /// `head` without its `Date` line.
            var headButDate: String {
                String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
                    .filter { !$0.hasPrefix("Date: ") }.joined(separator: "\r\n")
            }
            var text: String { String(decoding: body, as: UTF8.self) }
        }

        static func get(_ path: String, _ fields: [(String, String)] = []) -> String {
            "GET \(path) HTTP/1.1\r\nHost: kiln\r\n" + fields.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
        }

        /// Sends `requests` in one write and reads one answer for each (no body after a `HEAD` when `head`); with
        /// `expectClose`, checks that the server then closes the connection.
        static func exchange(port: Int, _ requests: [String], head: Bool = false, expectClose: Bool = false)
            async throws -> [Answer]
        {
            try await offPool {
                let socket = try connect(port: port)
                defer { Glibc.close(socket) }
                let bytes = Array(requests.joined().utf8)
                guard send(socket, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
                    throw RawHTTPError("unable to send the requests")
                }
                var buffer: [UInt8] = []
                var answers: [Answer] = []
                func more() throws -> Bool {
                    var chunk = [UInt8](repeating: 0, count: 65_536)
                    let count = recv(socket, &chunk, chunk.count, 0)
                    guard count >= 0 else { throw RawHTTPError("recv: errno \(errno)") }
                    buffer += chunk[..<count]
                    return count > 0
                }
                while answers.count < requests.count {
                    guard let end = find(Array("\r\n\r\n".utf8), in: buffer) else {
                        guard try more() else { throw RawHTTPError("closed after \(answers.count) answers") }
                        continue
                    }
                    let lines = String(decoding: buffer[..<end], as: UTF8.self).components(separatedBy: "\r\n")
                    var answer = Answer()
                    answer.head = Array(buffer[..<(end + 2)])
                    answer.status = Int(lines[0].split(separator: " ")[1]) ?? 0
                    for line in lines.dropFirst() {
                        let parts = line.split(separator: ":", maxSplits: 1)
                        answer.fields.append(
                            (String(parts[0]), String(parts.count > 1 ? parts[1].drop { $0 == " " } : ""))
                        )
                    }
                    let length =
                        head
                        ? 0
                        : answer.fields.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) }
                            ?? 0
                    while buffer.count < end + 4 + length {
                        guard try more() else { throw RawHTTPError("closed in a body") }
                    }
                    answer.body = Array(buffer[(end + 4)..<(end + 4 + length)])
                    buffer.removeFirst(end + 4 + length)
                    answers.append(answer)
                }
                if expectClose, try more() { throw RawHTTPError("the connection stayed open") }
                return answers
            }
        }

        private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
            guard haystack.count >= needle.count else { return nil }
            for start in 0...(haystack.count - needle.count)
            where haystack[start..<start + needle.count].elementsEqual(needle) {
                return start
            }
            return nil
        }

        /// A connected socket to localhost (HummingbirdTesting binds `localhost`: IPv4 or IPv6), with a 20 s
        /// receive timeout.
        private static func connect(port: Int) throws -> Int32 {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo("localhost", String(port), &hints, &list) == 0 else { throw RawHTTPError("no localhost") }
            defer { freeaddrinfo(list) }
            var entry = list
            while let info = entry {
                let socket = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
                if socket >= 0 {
                    var timeout = timeval(tv_sec: 120, tv_usec: 0)
                    setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                    if Glibc.connect(socket, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return socket }
                    Glibc.close(socket)
                }
                entry = info.pointee.ai_next
            }
            throw RawHTTPError("unable to connect to localhost:\(port)")
        }
    }
#endif
