// Kiln — Apache-2.0. See LICENSE.

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KilnCore
import KilnCrypto
import KilnInference
import KilnTesting
import Logging
import NIOCore
import Testing

/// The node's routes in process (HummingbirdTesting's router client: no socket, no process): status codes,
/// headers and bodies. What needs a real connection (429 under load, 408, a job timeout's CPU) is in NodeAPITests
/// and kilnTests.
struct NodeRoutesTests {
    static let contract = try! Address(hex: "0x00000000000000000000000000000000000000C0")
    static let key = PrivateKey.test(1)

    static func application(configure: (inout NodeConfiguration) -> Void = { _ in }) -> some ApplicationProtocol {
        var configuration = NodeConfiguration(
            key: key,
            domain: .kiln(chainId: 31337, verifyingContract: contract),
            models: [CPPNModel()]
        )
        // These tests check routes, not time: with every suite in parallel on two cores a small job can wait tens
        // of seconds for a thread, past the default 30 s (a 504 in CI). The timeout's own test is NodeProcessTests'.
        configuration.jobTimeout = .seconds(600)
        configure(&configuration)
        var logger = Logger(label: "kiln.test.node")
        logger.logLevel = .critical
        let node = InferenceNode(configuration: configuration, logger: logger)
        return NodeServer.application(node: node, host: "127.0.0.1", port: 0, logger: logger) { _ in }
    }

    static func body(_ response: TestResponse) throws -> JSONValue {
        try JSONValue.parse(bytes: Array(buffer: response.body))
    }

    @Test func healthModelsAndTheIndexSayWhoAnswers() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/v1/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                let json = try Self.body(response)
                #expect(json["status"] == "ok")
                #expect(json["operator"]?.stringValue == Self.key.address.checksummed)
                #expect(json["chainId"] == 31337)
            }
            try await client.execute(uri: "/v1/models", method: .get) { response in
                guard case .array(let models)? = try Self.body(response)["models"] else {
                    Issue.record("no models in \(String(buffer: response.body))")
                    return
                }
                #expect(models.first?["id"] == "kiln/cppn-v1")
                #expect(models.first?["modelId"]?.stringValue == Keccak256.hash(utf8: "kiln/cppn-v1").hex)
            }
            try await client.execute(uri: "/", method: .get) { response in
                let index = try Self.body(response)
                #expect(index["service"] == "kiln-node")
            }
            try await client.execute(uri: "/v1/nothing", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func badRequestsGetTheirStatusAndCode() async throws {
        try await Self.application().test(.router) { client in
            func post(_ body: [UInt8]) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(uri: "/v1/jobs", method: .post, body: ByteBuffer(bytes: body)) {
                    ($0.status, String(buffer: $0.body))
                }
            }
            let oversized = try await post(
                Array(#"{"jobId":""#.utf8) + [UInt8](repeating: 0x61, count: 100_000) + Array(#""}"#.utf8)
            )
            #expect(oversized.0 == .contentTooLarge && oversized.1.contains(#""code":"too_large""#))
            let invalid = try await post(Array("{nope".utf8))
            #expect(invalid.0 == .badRequest && invalid.1.contains(#""code":"invalid_json""#))
            #expect(invalid.1.contains("1:2"), "the error says where")
            let wrongType = try await post(
                Array(#"{"jobId":"0x01","modelId":"kiln/cppn-v1","input":{},"referenceBlock":1}"#.utf8)
            )
            #expect(wrongType.0 == .unprocessableContent)
            #expect(wrongType.1.contains("'jobId' must be 0x followed by 64 hex digits"))
            var unknown = job()
            unknown.model = "acme/diffusion"
            let model = try await post(try unknown.json.canonicalBytes())
            #expect(model.0 == .notFound && model.1.contains("unknown model 'acme/diffusion'"))
            var huge = job()
            huge.input = ["width": 100_000]
            let badInput = try await post(try huge.json.canonicalBytes())
            #expect(badInput.0 == .unprocessableContent && badInput.1.contains("'width' must be a whole number 1…1024"))
        }
    }

    @Test func aJobIsAnsweredAndSignedByTheOperator() async throws {
        try await Self.application().test(.router) { client in
            let request = job(3, seed: 11)
            try await client.execute(
                uri: "/v1/jobs",
                method: .post,
                body: ByteBuffer(bytes: try request.json.canonicalBytes())
            ) { response in
                #expect(response.status == .ok)
                let answer = try JobResponse(json: try Self.body(response))
                #expect(answer.attestation.jobId == request.jobId)
                #expect(answer.attestation.outputHash == Keccak256.hash(answer.output))
                let domain = EIP712Domain.kiln(chainId: 31337, verifyingContract: Self.contract)
                let digest = answer.attestation.signingDigest(domain: domain)
                #expect(try answer.signature.recoverAddress(digest: digest) == Self.key.address)
            }
        }
    }

    @Test func aTokenGuardsTheJobRoutesAndLeavesHealthOpen() async throws {
        try await Self.application { $0.authToken = "s3cret-token" }.test(.router) { client in
            let body = ByteBuffer(bytes: try job(4).json.canonicalBytes())
            try await client.execute(uri: "/v1/jobs", method: .post, body: body) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains(#""code":"unauthorized""#))
            }
            try await client.execute(
                uri: "/v1/jobs",
                method: .post,
                headers: [.authorization: "Bearer not-it"],
                body: body
            ) { response in #expect(response.status == .unauthorized) }
            try await client.execute(
                uri: "/v1/jobs",
                method: .post,
                headers: [.authorization: "Bearer s3cret-token"],
                body: body
            ) { response in #expect(response.status == .ok) }
            try await client.execute(uri: "/v1/health", method: .get) { response in #expect(response.status == .ok) }
        }
    }
}
