import BigInt
import Foundation
import KilnAVS
import KilnContent
import KilnCore
import KilnCrypto
import KilnInference
import KilnTesting
import Logging
import Testing

/// Kiln in Ritual's Infernet network, both ways: `kiln node serve` as a compute container (checked with
/// Ritual's infernet-ml types and eth-abi), and Kiln asking operators through an Infernet node (the test bench's
/// stand-in, itself checked with Ritual's infernet-client).
struct InfernetTests {
    static let contract = "0x00000000000000000000000000000000000000C0"
    static let domain = EIP712Domain.kiln(chainId: 31337, verifyingContract: try! Address(hex: contract))

    static func folder(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    static func node(_ index: Int, in folder: URL, _ extra: [String] = []) async throws -> NodeProcess {
        try await NodeProcess(
            key: "0x" + String(repeating: "0", count: 62) + String(format: "%02x", index + 21),
            folder: folder,
            arguments: ["--chain-id", "31337", "--verifying-contract", contract] + extra
        )
    }

    static func container(_ id: String, _ url: String, allowedIPs: [String] = [], bearer: String = "") -> JSONValue {
        [
            "id": .string(id), "url": .string(url), "external": true, "generates_proofs": false,
            "allowed_ips": .array(allowedIPs.map(JSONValue.string)), "accepted_payments": [:],
            "bearer": .string(bearer),
        ]
    }

    /// A bearer token file (mode 0600) for `kiln node serve --infernet-bearer-file`.
    static func bearerFile(_ token: String, in folder: URL) -> String {
        let path = folder.appendingPathComponent("bearer-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(
            atPath: path,
            contents: Data(token.utf8),
            attributes: [.posixPermissions: 0o600]
        )
        return path
    }

    @Test func nodeAnswersInfernetsContainerProtocol() async throws {
        let folder = try Self.folder("infernet-container")
        defer { try? FileManager.default.removeItem(at: folder) }
        let node = try await Self.node(0, in: folder)
        defer { node.stop() }
        let request = job(41, seed: 12)
        let answer = try await PythonBench.run(
            "infernet.py",
            ["op": "container", "node": .string(node.url), "job": request.json],
            python: PythonBench.infernetPython
        )
        for name in ["offchain", "onchain", "chained", "afterKiln", "badData", "proof", "stream", "badHex"] {
            // The Infernet node fails a job whose answer is not JSON: every answer is, errors too.
            #expect(answer[name]?["contentType"] == "application/json", "\(name)")
        }

        // Off-chain: the signed Kiln job response, as on /v1/jobs.
        #expect(answer["offchain"]?["status"] == 200)
        let response = try JobResponse(json: try #require(answer["offchain"]?["json"]))
        let signer = try response.signature.recoverAddress(
            digest: response.attestation.signingDigest(domain: Self.domain)
        )
        #expect(signer == (try Address(hex: node.address)))
        #expect(response.attestation.inputHash == request.inputHash && response.attestation.jobId == request.jobId)

        // On-chain: raw_output decoded by eth-abi names the same attestation; its signature recovers to the operator.
        let decoded = try #require(answer["onchain"]?["decoded"])
        #expect(answer["onchain"]?["status"] == 200 && answer["onchain"]?["rawInputMatches"] == true)
        #expect(decoded["jobId"]?.stringValue == request.jobId.hex)
        #expect(decoded["modelId"]?.stringValue == request.modelId.hex)
        #expect(decoded["inputHash"]?.stringValue == request.inputHash.hex)
        #expect(decoded["outputHash"]?.stringValue == response.attestation.outputHash.hex)
        #expect(decoded["referenceBlock"]?.integerValue == 7)
        #expect(decoded["signature"]?.stringValue == response.signature.hex)
        let cid = try Importer(profile: .kuboV1).add(bytes: response.output).cid.description
        #expect(decoded["outputCID"]?.stringValue == cid)
        #expect(answer["onchain"]?["processedInput"] == request.json)
        #expect(
            answer["onchain"]?["json"]?["processed_output"] == .null && answer["onchain"]?["json"]?["proof"] == .null
        )

        // Chained after a container that answered with a Kiln job request: read the same way, answered on chain.
        #expect(answer["chained"]?["status"] == 200)
        #expect(answer["chained"]?["json"]?["raw_output"]?.stringValue != nil)
        #expect(answer["chained"]?["json"]?["raw_input"] == .null)

        // Errors: {"code": "<status>", …}, JSON like every answer (a subscription job's output with a code other than
        // "200" is not delivered; a REST job's is its output, which Kiln's client recognises).
        let errors: [(String, String)] = [
            ("afterKiln", "a Kiln node's signed answer, not a request"), ("badData", "'jobId'"),
            ("proof", "does not make proofs"), ("stream", "streaming is not supported"),
            ("badHex", "not abi.encode(string request)"),
        ]
        for (name, text) in errors {
            #expect(answer[name]?["status"] == 422, "\(name)")
            #expect(answer[name]?["json"]?["code"] == "422", "\(name)")
            #expect(
                answer[name]?["json"]?["description"]?.stringValue?.contains(text) == true,
                "\(name): \(answer[name]?["json"] ?? .null)"
            )
        }
        // /service-resources parses as infernet-ml's ServiceResources (the script validates it), model queries answer.
        #expect(answer["resources"]?["serviceId"] == "kiln-node")
        #expect(answer["resources"]?["supported"] == ["supported": true])
        #expect(answer["resources"]?["unsupported"] == ["supported": false])
    }

    @Test func standinServesRitualsInfernetClient() async throws {
        let folder = try Self.folder("infernet-client")
        defer { try? FileManager.default.removeItem(at: folder) }
        let node = try await Self.node(1, in: folder)
        defer { node.stop() }
        let standin = try await InfernetStandin(
            containers: [
                Self.container("kiln-node", node.url), Self.container("refuser", node.url, allowedIPs: ["10.9.9.9"]),
            ],
            folder: folder
        )
        defer { standin.stop() }
        let answer = try await PythonBench.run(
            "infernet.py",
            [
                "op": "client", "node": .string(standin.url), "container": "kiln-node", "refusedContainer": "refuser",
                "job": job(42).json,
            ],
            python: PythonBench.infernetPython
        )
        #expect(answer["healthy"] == true)
        #expect(answer["info"] == ["version": "1.4.0", "containers": ["kiln-node", "refuser"]])
        #expect(
            answer["single"] == ["status": "success", "container": "kiln-node", "jobId": .string(job(42).jobId.hex)]
        )
        // Batch: one id, one per-job refusal; results leave the unknown id out.
        guard case .array(let batch)? = answer["batch"], batch.count == 2 else {
            Issue.record("batch: \(answer["batch"] ?? .null)")
            return
        }
        #expect(batch[0]["id"]?.stringValue != nil)
        #expect(batch[1] == ["error": "Container not supported", "params": ["container": "refuser"]])
        guard case .array(let results)? = answer["results"] else { Issue.record("no results"); return }
        #expect(results.count == 1 && results[0]["status"] == "success")
        // Kiln after Kiln: the first container's answer reaches the second, whose JSON error is, as infernet-node's
        // `Orchestrator._run_job` records any JSON, the output of a successful job.
        #expect(answer["chained"]?["status"] == "success")
        #expect(answer["chained"]?["intermediate"] == ["kiln-node"])
        #expect(answer["chained"]?["output"]?["code"] == "422")
        #expect(answer["chained"]?["error"] == .null)
        #expect(answer["completed"] == answer["expectedCompleted"])
        #expect(answer["fromAnotherIP"] == [])
        #expect(
            answer["refusal"] == [
                "status": 405, "message": "Container not supported", "params": ["container": "refuser"],
            ]
        )
    }

    @Test func mixedQuorumDirectAndThroughInfernet() async throws {
        let folder = try Self.folder("infernet-quorum")
        defer { try? FileManager.default.removeItem(at: folder) }
        var nodes: [NodeProcess] = []
        defer { nodes.forEach { $0.stop() } }
        for index in 0..<3 { nodes.append(try await Self.node(10 + index, in: folder)) }
        nodes.append(
            try await Self.node(13, in: folder, ["--infernet-bearer-file", Self.bearerFile("d0or", in: folder)])
        )
        // One Infernet node in front of two operators' Kiln nodes, with a tight rate limit (429s on the way); the
        // second's node wants a bearer token, which one more entry for it lacks.
        let standin = try await InfernetStandin(
            containers: [
                Self.container("kiln-c", nodes[2].url), Self.container("kiln-d", nodes[3].url, bearer: "d0or"),
                Self.container("kiln-d-open", nodes[3].url),
            ],
            folder: folder,
            rateLimit: (4, 1)
        )
        defer { standin.stop() }
        func operators(_ containers: [String]) -> String {
            var yaml = "chainId: 31337\nverifyingContract: \"\(Self.contract)\"\nthresholdBps: 10000\noperators:\n"
            for (index, stake) in [40, 30, 20, 10].enumerated() {
                let endpoint =
                    index < 2
                    ? "\"\(nodes[index].url)\"" : "{infernet: \"\(standin.url)\", container: \(containers[index - 2])}"
                yaml +=
                    "  - {address: \"\(nodes[index].address)\", endpoint: \(endpoint), stake: \"\(stake)000000000000000000\"}\n"
            }
            return yaml
        }
        try Data(operators(["kiln-c", "kiln-d"]).utf8).write(to: folder.appendingPathComponent("operators.yml"))
        try Data(#"{"level": 6}"#.utf8).write(to: folder.appendingPathComponent("state.json"))
        let template = PythonBench.packageRoot.appendingPathComponent("templates/forge-knights").path
        func runInfer(_ operators: String, _ output: String) async throws -> KilnProcess.Result {
            try await KilnProcess.run(
                [
                    "infer", "--template", template, "--state", "state.json", "--operators", operators, "--token-id",
                    "9", "--timeout", "120", "-o", output,
                ],
                in: folder
            )
        }
        // Every operator must sign (threshold 100 %): the two behind Infernet count exactly as the two direct ones.
        let infer = try await runInfer("operators.yml", "out.png")
        #expect(infer.status == 0, "\(infer.stdout)\n\(infer.stderr)")
        #expect(infer.stdout.contains("quorum reached: 4 of 4 operators"), "\(infer.stdout)")
        let verified = try await KilnProcess.run(
            ["verify-attestation", "out.attestation.json", "--output", "out.png", "--operators", "operators.yml"],
            in: folder
        )
        #expect(verified.status == 0, "\(verified.stdout)")
        #expect(verified.stdout.hasSuffix("out.attestation.json: verified\n"))

        // The same job directly from all four gives the same bytes: where an answer travelled changes nothing.
        let direct = operators(["kiln-c", "kiln-d"]).replacingOccurrences(
            of: "{infernet: \"\(standin.url)\", container: kiln-c}",
            with: "\"\(nodes[2].url)\""
        ).replacingOccurrences(of: "{infernet: \"\(standin.url)\", container: kiln-d}", with: "\"\(nodes[3].url)\"")
        try Data(direct.utf8).write(to: folder.appendingPathComponent("direct.yml"))
        let again = try await runInfer("direct.yml", "direct.png")
        #expect(again.status == 0, "\(again.stdout)")
        #expect(
            try Data(contentsOf: folder.appendingPathComponent("direct.png"))
                == Data(contentsOf: folder.appendingPathComponent("out.png"))
        )

        let listed = try await KilnProcess.run(["operators", "--operators", "operators.yml"], in: folder)
        #expect(
            listed.stdout.contains("infernet \(standin.url) container kiln-c  Infernet node 1.4.0"),
            "\(listed.stdout)"
        )
        #expect(listed.stdout.contains("container kiln-d offered"))

        // A container the Infernet node does not offer: a clear per-operator reason, and no quorum.
        try Data(operators(["kiln-c", "kiln-x"]).utf8).write(to: folder.appendingPathComponent("refused.yml"))
        let refused = try await runInfer("refused.yml", "refused.png")
        #expect(refused.status != 0)
        #expect(
            refused.stdout.contains("HTTP 405: Infernet node: Container not supported (container kiln-x)"),
            "\(refused.stdout)"
        )
        #expect(refused.stdout.contains("quorum NOT reached"))
        let offered = try await KilnProcess.run(["operators", "--operators", "refused.yml"], in: folder)
        #expect(
            offered.stdout.contains("container kiln-x NOT offered (it offers kiln-c, kiln-d, kiln-d-open)"),
            "\(offered.stdout)"
        )

        // A container entry without the bearer token: the Infernet node reports Kiln's JSON 401 as a successful job,
        // and `kiln infer` shows it as that operator's reason, as from a direct node; the three that answered the
        // same output are not said to disagree.
        try Data(operators(["kiln-c", "kiln-d-open"]).utf8).write(to: folder.appendingPathComponent("locked.yml"))
        let locked = try await runInfer("locked.yml", "locked.png")
        #expect(locked.status != 0)
        let lines = locked.stdout.split(separator: "\n").map(String.init)
        let lockedLine = lines.first { $0.contains(nodes[3].address) } ?? ""
        #expect(
            lockedLine.contains("failed")
                && lockedLine.contains("(HTTP 401: this container needs Authorization: Bearer"),
            "\(locked.stdout)"
        )
        #expect(lines.filter { $0.contains("answered — no quorum") }.count == 3, "\(locked.stdout)")
        #expect(
            !locked.stdout.contains("disagreed") && !locked.stdout.contains("not a 32-byte hex"),
            "\(locked.stdout)"
        )
    }

    @Test func infernetFailuresBecomeClearReasons() async throws {
        let folder = try Self.folder("infernet-faults")
        defer { try? FileManager.default.removeItem(at: folder) }
        let node = try await Self.node(
            2,
            in: folder,
            ["--infernet-bearer-file", Self.bearerFile("s3cret\n", in: folder)]
        )
        defer { node.stop() }
        let containers = [
            Self.container("kiln-node", node.url, bearer: "s3cret"), Self.container("dead", "http://127.0.0.1:1"),
            Self.container("stalled", node.url, bearer: "s3cret"), Self.container("no-bearer", node.url),
        ]
        let standin = try await InfernetStandin(
            containers: containers,
            folder: folder,
            rateLimit: (1, 1),
            stall: ["stalled"]
        )
        defer { standin.stop() }
        let client = NodeClient()

        // A rate limit of one request per second per route: Kiln waits out each 429's Retry-After and finishes.
        let answers = try await withThrowingTaskGroup(of: JobResponse.self) { group in
            for n in 0..<3 {
                group.addTask {
                    try await client.submit(
                        job(UInt64(50 + n)),
                        to: .infernet(node: standin.url, container: "kiln-node"),
                        timeout: .seconds(120)
                    )
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(answers.map(\.attestation.jobId)) == Set((50..<53).map { Bytes32(word: UInt64($0)) }))

        // A container the node cannot reach: the job fails with the node's message.
        await #expect {
            _ = try await client.submit(
                job(60),
                to: .infernet(node: standin.url, container: "dead"),
                timeout: .seconds(120)
            )
        } throws: { error in
            (error as? InferenceError)?.message.contains("the Infernet job failed in container dead") == true
        }
        // Kiln's node needs the bearer token its container entry gives: without it, its JSON 401 comes back as a
        // successful job's output, and is the operator's reason with its status, as from a direct node.
        await #expect {
            _ = try await client.submit(
                job(62),
                to: .infernet(node: standin.url, container: "no-bearer"),
                timeout: .seconds(120)
            )
        } throws: { error in
            let error = error as? InferenceError
            return error?.message.hasPrefix("HTTP 401: this container needs Authorization: Bearer") == true
                && error?.status == 401 && error?.isClientError == true
        }
        // A container whose JSON is not a Kiln answer (here: another Infernet node's 404 body): a malformed answer.
        let notKiln = try await InfernetStandin(containers: [], folder: folder)
        defer { notKiln.stop() }
        let relay = try await InfernetStandin(containers: [Self.container("not-kiln", notKiln.url)], folder: folder)
        defer { relay.stop() }
        await #expect {
            _ = try await client.submit(
                job(63),
                to: .infernet(node: relay.url, container: "not-kiln"),
                timeout: .seconds(120)
            )
        } throws: { error in
            // It names what came back: the other node's own 404 body.
            let error = error as? InferenceError
            return error?.code == .badResponse && error?.message.contains("'jobId'") == true
                && error?.message.contains("not a Kiln answer") == true
                && error?.message.contains(#"{"error":"Not Found"}"#) == true
        }
        // A job that never finishes: the node timeout ends the wait.
        await #expect {
            _ = try await client.submit(
                job(61),
                to: .infernet(node: standin.url, container: "stalled"),
                timeout: .seconds(3)
            )
        } throws: { error in
            (error as? InferenceError)?.code == .timeout
        }
    }

    @Test func aJobTheInfernetNodeForgotIsReported() async throws {
        let folder = try Self.folder("infernet-lost")
        defer { try? FileManager.default.removeItem(at: folder) }
        let node = try await Self.node(3, in: folder)
        defer { node.stop() }
        let first = try await InfernetStandin(
            containers: [Self.container("kiln-node", node.url)],
            folder: folder,
            stall: ["kiln-node"]
        )
        let port = first.port
        let url = first.url
        let client = NodeClient()
        let pending = Task {
            try await client.submit(job(70), to: .infernet(node: url, container: "kiln-node"), timeout: .seconds(180))
        }
        // Wait until the first node holds the job (running: its container never answers).
        // (At most 60 /info requests a minute: the stand-in keeps Infernet's default rate limit.)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let info = await client.health(.infernet(node: url, container: "kiln-node"), timeout: .seconds(10))
            if info?.contains("pending 1 off-chain") == true { break }
            try await Task.sleep(for: .seconds(1))
        }
        // The node restarts (its Redis emptied): the job's id is left out of every answer from now on.
        first.stop()
        let second = try await InfernetStandin(
            containers: [Self.container("kiln-node", node.url)],
            folder: folder,
            port: port
        )
        defer { second.stop() }
        await #expect {
            _ = try await pending.value
        } throws: { error in
            (error as? InferenceError)?.message.contains("no longer knows job") == true
        }
    }
}

extension InfernetTests {
    /// A float model's two-phase round (commit, then agreement within tolerance) with half the operators behind
    /// an Infernet node: both phases travel as Infernet jobs and count as the direct ones do.
    @Test func agreementRoundThroughInfernet() async throws {
        let folder = try Self.folder("infernet-agreement")
        defer { try? FileManager.default.removeItem(at: folder) }
        let keys = try (0..<4).map { try PrivateKey(bytes: [UInt8](repeating: 0, count: 31) + [UInt8(61 + $0)]) }
        var logger = Logger(label: "test.infernet")
        logger.logLevel = .critical
        let jitters = [0, 1, 3, 2]
        let nodes = try await LocalNodes.start(
            keys: keys.map { ($0, nil) },
            domain: Self.domain,
            logger: logger,
            models: { [JitterModel(jitter: jitters[$0])] }
        )
        defer { nodes.stop() }
        let standin = try await InfernetStandin(
            containers: [
                Self.container("kiln-c", nodes.nodes[2].endpoint), Self.container("kiln-d", nodes.nodes[3].endpoint),
            ],
            folder: folder
        )
        defer { standin.stop() }
        let endpoints: [NodeEndpoint] = [
            .kiln(nodes.nodes[0].endpoint), .kiln(nodes.nodes[1].endpoint),
            .infernet(node: standin.url, container: "kiln-c"), .infernet(node: standin.url, container: "kiln-d"),
        ]
        let table = StakeTable(
            operators: zip(zip(nodes.nodes, endpoints), Cluster.stakes).map {
                Operator(address: $0.0.address, endpoint: $0.1, stake: $1)
            },
            thresholdBps: 10_000,
            domain: Self.domain,
            referenceBlock: 7
        )
        let policy = AgreementPolicy.pixels(maxChannelDiff: 3, maxMSEMilli: 1000)
        let request = JobRequest(
            jobId: Bytes32(word: 81),
            model: "test/jitter",
            input: ["seed": 5, "width": 40, "height": 40, "agreement": policy.json],
            referenceBlock: 7
        )
        var round = QuorumRound()
        round.timeout = .seconds(120)
        let report = await round.run(request, table: table)
        #expect(report.accepted?.signers.count == 4, "\(report.summary)")
        #expect(report.agreement != nil)
        var outputs: [Bytes32: [UInt8]] = [:]
        for row in report.outcomes {
            if let answer = row.answer { outputs[answer.attestation.outputHash] = answer.output }
        }
        let check = try AttestationBundle.verify(
            AttestationBundle.json(report),
            output: report.accepted?.output,
            outputs: outputs
        )
        #expect(check.ok, "\(check.lines)")
    }
}

extension InfernetTests {
    /// What a subscribing contract gets: the container's on-chain answer, delivered as Infernet's coordinator does
    /// (`output = abi.encode(bytes raw_output, bytes processed_output)`), decoded by a Vyper consumer on a real EVM
    /// that rebuilds the EIP-712 digest and recovers the operator with `ecrecover`.
    @Test func aConsumerContractRecoversTheOperatorFromTheOnchainAnswer() async throws {
        let folder = try Self.folder("infernet-consumer")
        defer { try? FileManager.default.removeItem(at: folder) }
        let chain = try await DevChain(folder: folder)
        defer { chain.stop() }
        let registry = "0x00000000000000000000000000000000000000c5"
        let consumer = try #require(
            try await chain.run("deploy", ["name": "InfernetConsumer", "args": [.string(registry)]])["address"]?
                .stringValue
        )
        let node = try await NodeProcess(
            key: "0x" + String(repeating: "0", count: 62) + "5a",
            folder: folder,
            arguments: ["--chain-id", String(chain.chainId), "--verifying-contract", registry]
        )
        defer { node.stop() }
        let request = job(90, seed: 4)
        let answer = try await PythonBench.run(
            "infernet.py",
            ["op": "onchain", "node": .string(node.url), "job": request.json],
            python: PythonBench.infernetPython
        )
        let raw = try Hex.decode(try #require(answer["raw_output"]?.stringValue), requirePrefix: false)
        /// Delivers `raw_output` as Infernet's coordinator does, then reads the consumer's views for the job.
        func deliver(_ raw: [UInt8], interval: Int, views: [String]) async throws -> [JSONValue] {
            let output = ABIEncoding.encode([.bytes(raw), .bytes([])])
            let arguments: [JSONValue] = [
                1, .number(interval), 1, ["account": 0], "0x", .string(Hex.encode(output)), "0x",
                .string(Bytes32(word: 7).hex), 0,
            ]
            let target: [String: JSONValue] = ["contract": .string(consumer), "name": "InfernetConsumer"]
            _ = try await chain.run(
                "transact",
                target.merging(["calls": [["fn": "rawReceiveCompute", "args": .array(arguments)]]]) { $1 }
            )
            let calls = views.map { ["fn": .string($0), "args": [.string(request.jobId.hex)]] as JSONValue }
            guard
                case .array(let results)? = try await chain.run(
                    "call",
                    target.merging(["calls": .array(calls)]) { $1 }
                )["results"]
            else { return [] }
            return results
        }
        let views = try await deliver(raw, interval: 1, views: ["signerOf", "outputCIDOf", "referenceBlockOf"])
        let direct = try await NodeClient().submit(request, to: .kiln(node.url), timeout: .seconds(120))
        let cid = try Importer(profile: .kuboV1).add(bytes: direct.output).cid.description
        #expect(views == [.string(node.address.lowercased()), .string(cid), 7], "\(views)")

        // Another outputHash under the same signature recovers to someone else: the check is real.
        var tampered = raw
        tampered[3 * 32] ^= 0x01
        let signer = try await deliver(tampered, interval: 2, views: ["signerOf"]).first?.stringValue
        #expect(signer != nil)
        #expect(signer != node.address.lowercased())
    }
}
