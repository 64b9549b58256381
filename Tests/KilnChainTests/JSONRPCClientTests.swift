import Foundation
import KilnChain
import KilnCore
import KilnTesting
import Testing

/// `scripts/crosscheck/hostile_rpc.py` on a loopback port.
struct HostileServer {
    let url: String
    let service: ServiceProcess

    init() async throws {
        service = try await ServiceProcess.start(
            PythonBench.python,
            [PythonBench.packageRoot.appendingPathComponent("scripts/crosscheck/hostile_rpc.py").path],
            name: "hostile_rpc.py",
            accept: { $0.hasPrefix("http://") }
        )
        url = service.firstLine
    }

    /// How many requests `path` has had (asked over JSON-RPC itself, at /count/PATH).
    func count(_ path: String) async throws -> Int {
        let answer = try await JSONRPCClient(url: url + "/count" + path).call("count")
        return answer.integerValue.flatMap { Int(exactly: $0) } ?? -1
    }
}

@Suite(.serialized) struct JSONRPCClientTests {
    static let contract = try! Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")

    func expectError(
        _ server: HostileServer,
        _ path: String,
        _ code: ChainError.Code,
        _ text: String,
        maxBytes: Int = 64 << 20
    ) async {
        var client = JSONRPCClient(url: server.url + "/" + path)
        client.maxResponseBytes = maxBytes
        client.retries = 1
        do {
            let value = try await client.call("eth_blockNumber")
            Issue.record("\(path): expected an error, got \(value)")
        } catch {
            #expect(error.code == code, "\(path): \(error)")
            #expect(error.message.contains(text), "\(path): \(error.message)")
        }
    }

    @Test func hostileAnswersAreTypedErrorsNeverCrashes() async throws {
        let server = try await HostileServer()
        let ok = try await JSONRPCClient(url: server.url + "/ok").call("eth_blockNumber")
        #expect(ok == "0x10")
        await expectError(server, "truncated", .malformed, "the answer is not JSON")
        await expectError(server, "not-json", .malformed, "the answer is not JSON")
        await expectError(server, "wrong-id", .malformed, "the answer has another id")
        await expectError(server, "huge", .malformed, "larger than 1048576 bytes", maxBytes: 1 << 20)
        await expectError(server, "error", .rpc(-32000), "eth_blockNumber: header not found (JSON-RPC error -32000)")
        await expectError(server, "http-500", .transport, "HTTP 500")
        #expect(try await server.count("/http-500") == 2, "one retry after a 5xx")

        // Typed calls check the shape too.
        do {
            _ = try await EthereumRPC(url: server.url + "/wrong-type").blockNumber()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .malformed && error.message.contains("expected a hex quantity"))
        }
        // Nothing listening: a transport error within the timeout, not a hang.
        var refused = EthereumRPC(url: "http://127.0.0.1:1")
        refused.client.timeout = .seconds(2)
        refused.client.retries = 1
        do {
            _ = try await refused.blockNumber()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .transport)
        }
        // With the defaults, a refused connection is said to be refused (async-http-client's pool would otherwise
        // try it again until the deadline, and the call would end in a timeout).
        do {
            _ = try await EthereumRPC(url: "http://127.0.0.1:1").blockNumber()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .transport && error.message.lowercased().contains("refused"), "\(error.message)")
        }
    }

    @Test func logsAreValidatedAndRangesHalvedWhenTheNodeSaysTooMany() async throws {
        let server = try await HostileServer()
        let logs = try await EthereumRPC(url: server.url + "/too-many").logs(
            addresses: [Self.contract],
            from: 100,
            to: 163
        )
        #expect(logs.map(\.blockNumber) == (100...163).map { $0 })
        #expect(try await server.count("/too-many") > 8, "the 64-block range was split until each part had at most 10")

        for (path, text) in [("bad-log", "log 0: "), ("stranger-log", "which was not asked for")] {
            do {
                _ = try await EthereumRPC(url: server.url + "/" + path).logs(addresses: [Self.contract], from: 5, to: 6)
                Issue.record("\(path): expected an error")
            } catch {
                #expect(error.code == .malformed && error.message.contains(text), "\(path): \(error.message)")
            }
        }
    }

    @Test func batchesAnswerInOrderAgainstARealEVM() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-chain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let chain = try await DevChain(folder: folder)
        defer { chain.stop() }
        _ = try await chain.rpc("evm_mine", ["0x3"])
        let rpc = EthereumRPC(url: chain.url)
        #expect(try await rpc.chainId() == chain.chainId)
        #expect(try await rpc.blockNumber() == 3)
        let hashes = try await rpc.blockHashes([0, 1, 2, 3, 9])
        #expect(hashes.count == 4 && hashes[9] == nil)
        #expect(try await rpc.blockHash(2) == hashes[2] && hashes[2] != hashes[3])
    }
}
