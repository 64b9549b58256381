// Kiln — Apache-2.0. See LICENSE.

internal import Hummingbird
public import KilnCore
public import KilnCrypto
public import Logging

/// Inference nodes served in this process on free loopback ports (`kiln demo`, tests): each a real HTTP server
/// with its own key, exactly what `kiln node serve` runs.
public final class LocalNodes: Sendable {
    public struct Node: Sendable {
        public var address: Address
        public var endpoint: String
        public var fault: TestFault?
    }

    public let nodes: [Node]
    private let tasks: [Task<Void, any Error>]

    private init(nodes: [Node], tasks: [Task<Void, any Error>]) {
        self.nodes = nodes
        self.tasks = tasks
    }

    /// Starts one node per key (with its fault, if any) and returns once every one listens. Node `i` serves
    /// `models(i)` (the built-in `kiln/cppn-v1` unless told otherwise); `configure(i, &configuration)` sets
    /// anything else (limits, timeouts, a token).
    public static func start(
        keys: [(PrivateKey, TestFault?)],
        domain: EIP712Domain,
        logger: Logger,
        models: (Int) -> [any InferenceModel] = { _ in [CPPNModel()] },
        configure: (Int, inout NodeConfiguration) -> Void = { _, _ in }
    ) async throws -> LocalNodes {
        var nodes: [Node] = []
        var tasks: [Task<Void, any Error>] = []
        for (index, (key, fault)) in keys.enumerated() {
            var configuration = NodeConfiguration(key: key, domain: domain, models: models(index))
            configuration.fault = fault
            configure(index, &configuration)
            let node = InferenceNode(configuration: configuration, logger: logger)
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = NodeServer.application(node: node, host: "127.0.0.1", port: 0, logger: logger) { port in
                continuation.yield(port)
                continuation.finish()
            }
            let task = Task { try await app.runService(gracefulShutdownSignals: []) }
            tasks.append(task)
            var bound: Int?
            for await port in ports { bound = port }
            guard let bound else {
                for task in tasks { task.cancel() }
                throw InferenceError(.badResponse, "a local node did not start listening")
            }
            nodes.append(Node(address: key.address, endpoint: "http://127.0.0.1:\(bound)", fault: fault))
        }
        return LocalNodes(nodes: nodes, tasks: tasks)
    }

    /// Stops every node.
    public func stop() {
        for task in tasks { task.cancel() }
    }
}
