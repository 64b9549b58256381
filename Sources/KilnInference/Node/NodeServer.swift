// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import Hummingbird
internal import KilnCore
internal import BigInt
public import Logging

/// The node's HTTP API (Hummingbird 2): `POST /v1/jobs`, `GET /v1/health`, `GET /v1/models`. JSON in and out;
/// every error is a JSON body `{"error": {"code": …, "message": …}}` with a fitting status.
public enum NodeServer {
    /// Builds the application; `onListening` gets the bound port (useful with port 0).
    public static func application(
        node: InferenceNode,
        host: String,
        port: Int,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        let configuration = node.configuration
        router.get("/v1/health") { _, _ in
            json(
                .ok,
                [
                    "status": "ok", "operator": .string(node.operatorAddress.checksummed),
                    "version": .string(KilnVersion.current),
                    "models": .array(configuration.models.map { .string($0.id) }),
                    "chainId": configuration.domain.chainId.map { .integer(.init($0)) } ?? .null,
                    "verifyingContract": configuration.domain.verifyingContract.map { .string($0.checksummed) }
                        ?? .null,
                ]
            )
        }
        router.get("/v1/models") { _, _ in
            json(
                .ok,
                [
                    "models": .array(
                        configuration.models.map {
                            [
                                "id": .string($0.id), "modelId": .string($0.modelHash.hex),
                                "summary": .string($0.summary),
                            ]
                        }
                    )
                ]
            )
        }
        router.post("/v1/jobs") { request, _ -> Response in
            let started = ContinuousClock.now
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: configuration.maxRequestBytes)
            } catch {
                return failure(
                    .contentTooLarge,
                    "too_large",
                    "the request body exceeds \(configuration.maxRequestBytes) bytes"
                )
            }
            let job: JobRequest
            do {
                let value = try JSONValue.parse(bytes: Array(buffer: body))
                job = try JobRequest(json: value)
            } catch let error as FormatError {
                return failure(.badRequest, "invalid_json", error.message)
            } catch let error as InferenceError {
                return failure(.unprocessableContent, "invalid_request", error.message)
            } catch {
                return failure(.badRequest, "invalid_json", "\(error)")
            }
            let response: Response
            var outcome = "ok"
            do throws(InferenceNode.Failure) {
                response = json(.ok, try await node.handle(job).json)
            } catch {
                switch error {
                case .badRequest(let message):
                    (response, outcome) = (failure(.unprocessableContent, "invalid_input", message), "invalid_input")
                case .unknownModel(let name):
                    (response, outcome) = (
                        failure(
                            .notFound,
                            "unknown_model",
                            "unknown model '\(name)' (this node serves \(configuration.models.map(\.id).joined(separator: ", ")))"
                        ), "unknown_model"
                    )
                case .busy:
                    (response, outcome) = (
                        failure(.tooManyRequests, "busy", "all job slots and the queue are full; retry later"), "busy"
                    )
                case .timeout:
                    (response, outcome) = (
                        failure(.gatewayTimeout, "timeout", "the job did not finish in time"), "timeout"
                    )
                case .modelFailed(let message):
                    (response, outcome) = (failure(.internalServerError, "model_failed", message), "model_failed")
                case .injected:
                    (response, outcome) = (
                        failure(.internalServerError, "test_fault", "--test-fault http-500"), "test_fault"
                    )
                }
            }
            let elapsed = ContinuousClock.now - started
            logger.info(
                "job",
                metadata: [
                    "job": "\(job.jobId.hex.prefix(18))…", "model": "\(job.model)", "outcome": "\(outcome)",
                    "ms":
                        "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                ]
            )
            return response
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "kiln-node/\(KilnVersion.current)"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        let bytes = (try? value.canonicalBytes()) ?? Array("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    static func failure(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        json(status, ["error": ["code": .string(code), "message": .string(message)]])
    }
}
