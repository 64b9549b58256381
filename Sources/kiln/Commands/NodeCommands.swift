// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import BigInt
import Foundation
import KilnAVS
import KilnCore
import KilnCrypto
import KilnImage
import KilnInference
import KilnPipeline
import KilnChain
import KilnTemplates
import Hummingbird
import Logging

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Run an inference / operator node.", subcommands: [Serve.self])

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve POST /v1/jobs, GET /v1/health, GET /v1/models on loopback, signing every result.",
            discussion: """
                The operator key comes from --key FILE (hex, mode 0600; a key others can read is refused) or the \
                KILN_NODE_KEY environment variable. It is never logged. Prints 'listening on http://HOST:PORT' when ready.
                """
        )

        @Option(help: "The operator key file (hex, mode 0600).")
        var key: String?

        @Option(help: "The address to listen on.")
        var host = "127.0.0.1"

        @Option(help: "The port (0 picks a free one).")
        var port = 8101

        @Option(help: "The EIP-712 domain's chain id.")
        var chainId: UInt64 = 31337

        @Option(help: "The EIP-712 domain's verifying contract (the stake registry).")
        var verifyingContract = "0x0000000000000000000000000000000000000000"

        @Option(help: "Forward jobs to this model server instead of running the built-in model (POST JSON → image bytes).")
        var upstream: String?

        @Option(help: "The model id that --upstream serves.")
        var upstreamModel = "upstream/model"

        @Option(help: "Jobs run at once.")
        var maxConcurrent = max(1, ProcessInfo.processInfo.activeProcessorCount)

        @Option(help: "Jobs that may wait for a slot (more get HTTP 429).")
        var maxQueued = 16

        @Option(help: "Seconds a job may run (then HTTP 504).")
        var jobTimeout = 30

        @Option(help: "FOR TESTS ONLY: misbehave (wrong-output, equivocate, slow, bad-signature, http-500).")
        var testFault: String?

        @Option(help: "For --test-fault slow: seconds to wait before answering.")
        var slowSeconds = 10

        func validate() throws {
            if let testFault, TestFault(rawValue: testFault) == nil {
                throw ValidationError("Unknown --test-fault '\(testFault)': use \(TestFault.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
        }

        func run() async throws {
            let operatorKey: PrivateKey
            if let key {
                operatorKey = try PrivateKey(contentsOfFile: key)
            } else if let text = ProcessInfo.processInfo.environment["KILN_NODE_KEY"] {
                operatorKey = try PrivateKey(hex: text)
            } else {
                throw ValidationError("Give the operator key with --key FILE or KILN_NODE_KEY.")
            }
            let contract: Address
            do { contract = try Address(hex: verifyingContract) } catch { throw ValidationError(error.message) }
            var models: [any InferenceModel] = [CPPNModel()]
            if let upstream { models = [UpstreamModel(id: upstreamModel, url: upstream)] }
            var configuration = NodeConfiguration(key: operatorKey, domain: .kiln(chainId: chainId, verifyingContract: contract), models: models)
            configuration.maxConcurrentJobs = maxConcurrent
            configuration.maxQueuedJobs = maxQueued
            configuration.jobTimeout = .seconds(jobTimeout)
            configuration.fault = testFault.flatMap(TestFault.init(rawValue:))
            configuration.slowDelay = .seconds(slowSeconds)
            var logger = Logger(label: "kiln.node")
            logger[metadataKey: "operator"] = "\(operatorKey.address.checksummed)"
            if let fault = configuration.fault { logger.warning("TEST FAULT ENABLED: \(fault.rawValue)") }
            let node = InferenceNode(configuration: configuration, logger: logger)
            let host = self.host
            let app = NodeServer.application(node: node, host: host, port: port, logger: logger) { port in
                print("listening on http://\(host):\(port) as operator \(operatorKey.address.checksummed)")
                fflush(nil)  // stdout is a pipe under tests: say "listening" now
            }
            try await app.runService()
        }
    }
}

struct InferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run one inference round for a token with quorum, and write the accepted output and its attestation bundle.",
        discussion: "Exit status: 0 quorum reached, 3 quorum not reached, 1 other failures."
    )

    @Option(help: "The template folder.") var template: String
    @Option(help: "The token's traits as JSON.") var state: String
    @Option(help: "The operators file (operators.yml).") var operators: String
    @Option(help: "The token id.") var tokenId = "1"
    @Option(help: "The token's contract.") var contract = "0x0000000000000000000000000000000000000000"
    @Option(help: "The reference block for stakes and signatures.") var referenceBlock: UInt64 = 0
    @Option(help: "Seconds to wait for each node.") var timeout = 20
    @Option(name: [.short, .customLong("out")], help: "Where to write the accepted output (OUT.attestation.json beside it).") var output: String

    func run() async throws {
        let loaded = try loadTemplate(template)
        guard let id = BigUInt(tokenId, radix: 10) else { throw ValidationError("--token-id must be a whole number") }
        let address: Address
        do { address = try Address(hex: contract) } catch { throw ValidationError(error.message) }
        guard let inference = loaded.inference else { throw CLIError("\(template) has no 'inference:' section") }
        let token = TokenRef(contract: address, id: id)
        guard let data = FileManager.default.contents(atPath: state) else { throw CLIError("Unable to read '\(state)'") }
        let full = try loaded.derive(try loaded.state(fromJSON: try JSONValue.parse(bytes: Array(data)), source: state), token: token)
        let (input, inputHash) = try loaded.inferenceInput(state: full, token: token)!
        let jobId = try JSONValue.object([
            "contract": .string(address.lowercased), "tokenId": .integer(BigInt(id)), "model": .string(inference.model), "inputHash": .string(inputHash.hex),
        ]).canonicalHash()
        let table = try await FileOperatorRegistry(path: operators).stakeTable(at: referenceBlock)
        var round = QuorumRound()
        round.timeout = .seconds(timeout)
        let report = await round.run(JobRequest(jobId: jobId, model: inference.model, input: input, referenceBlock: referenceBlock), table: table)
        print("job \(jobId.hex)  model \(inference.model)  input \(inputHash.hex)")
        print(report.summary)
        let bundlePath = (output.hasSuffix(".png") ? String(output.dropLast(4)) : output) + ".attestation.json"
        try AtomicFile.write(try AttestationBundle.json(report).canonicalBytes(), to: bundlePath)
        print("\(bundlePath): attestation bundle written")
        guard let accepted = report.accepted else { throw ExitCode(3) }
        try AtomicFile.write(accepted.output, to: output)
        print("\(output): accepted output written")
    }
}

struct VerifyAttestationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-attestation",
        abstract: "Check an attestation bundle offline: digests, signatures, stake table, quorum, equivocation evidence."
    )

    @Argument(help: "The bundle (OUT.attestation.json).") var bundle: String
    @Option(help: "Also check that this file is the accepted output.") var output: String?

    func run() throws {
        guard let data = FileManager.default.contents(atPath: bundle) else { throw CLIError("Unable to read '\(bundle)'") }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes: Array(data)) } catch { throw CLIError("\(bundle): \(error.message)") }
        let file = try output.map { path -> [UInt8] in
            guard let bytes = FileManager.default.contents(atPath: path) else { throw CLIError("Unable to read '\(path)'") }
            return Array(bytes)
        }
        let result = try AttestationBundle.verify(json, output: file)
        for line in result.lines { print(line) }
        if !result.ok { throw ExitCode(1) }
        print("\(bundle): verified")
    }
}

struct OperatorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operators", abstract: "Show the registry: operators, stake, and whether each node answers now.",
        discussion: """
            Reads --operators FILE, or kiln.yml's operators (a file, or an on-chain registry read at --block, by \
            default the chain's head).
            """)

    @Option(help: "The operators file (operators.yml); default: kiln.yml's operators.") var operators: String?
    @Option(help: "The configuration file (or KILN_CONFIG).") var config = ProcessInfo.processInfo.environment["KILN_CONFIG"] ?? "kiln.yml"
    @Option(help: "The block to read an on-chain registry at (default: the head).") var block: UInt64?

    func run() async throws {
        let registry: any OperatorRegistry
        var at = block ?? 0
        if let operators {
            registry = try FileOperatorRegistry(path: operators)
        } else {
            let configuration: Configuration
            do { configuration = try Configuration(path: config, environment: ProcessInfo.processInfo.environment) } catch { throw CLIError(error.message) }
            registry = try configuration.operatorRegistry()
            if block == nil, configuration.chainOperators != nil, let url = configuration.chainRPC {
                do { at = try await EthereumRPC(url: url).blockNumber() } catch { throw CLIError("\(url): \(error.message)") }
            }
        }
        let table = try await registry.stakeTable(at: at)
        let rule = table.thresholdWeight.map { "threshold weight \($0) of \(table.totalStake) at block \(at)" }
            ?? "threshold \(Double(table.thresholdBps) / 100) % of \(table.totalStake) wei"
        print("\(rule); domain chain \(table.domain.chainId.map(String.init) ?? "?")")
        for op in table.operators {
            let live = op.endpoint.isEmpty ? "no node in kiln.yml" : await NodeClient().health(op.endpoint, timeout: .seconds(3)) ?? "unreachable"
            let share = table.totalStake > 0 ? Double(op.stake * 10_000 / table.totalStake) / 100 : 0
            let key = op.signingKey == op.address ? "" : "  signing key \(op.signingKey.checksummed)"
            print("\(op.address.checksummed)  \(String(format: "%6.2f", share)) %  \(op.endpoint)  \(live)\(key)")
        }
    }
}

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Run Kiln's built-in models locally (no nodes, no signatures).", subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a built-in model on a JSON input and write its output, to preview what nodes will attest.",
            discussion: "Example: kiln model run kiln/cppn-v1 --input '{\"seed\": 7, \"level\": 9}' -o preview.png")

        @Argument(help: "The model id (kiln/cppn-v1).") var model: String
        @Option(help: "The input, a JSON object.") var input: String
        @Option(name: [.short, .customLong("out")], help: "Where to write the output.") var output: String

        func run() async throws {
            let models: [any InferenceModel] = [CPPNModel()]
            guard let chosen = models.first(where: { $0.id == model }) else {
                throw ValidationError("Unknown model '\(model)': built in are \(models.map(\.id).joined(separator: ", ")).")
            }
            let json: JSONValue
            do { json = try JSONValue.parse(input) } catch { throw ValidationError("--input: \(error.message)") }
            let bytes = try await chosen.run(input: json)
            try AtomicFile.write(bytes, to: output)
            print("\(output): \(bytes.count) bytes, outputHash \(Keccak256.hash(bytes).hex), inputHash \(try json.canonicalHash().hex)")
        }
    }
}
