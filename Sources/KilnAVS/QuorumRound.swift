// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnCore
internal import KilnCrypto
public import KilnInference
public import Logging
internal import Metrics
internal import Synchronization

/// Runs one inference round: asks every registered node for the same job, verifies every answer, and accepts
/// the output that operators holding at least the threshold of stake signed.
public struct QuorumRound: Sendable {
    /// The HTTP client nodes are asked through.
    public var client: NodeClient
    /// Every signed answer seen, across rounds, to catch equivocation.
    public var log: SignatureLog
    /// Per-node timeout of one attempt.
    public var timeout: Duration = .seconds(20)
    /// Attempts per node for transport failures, 5xx and 429 (``Backoff``: 250 ms, 500 ms, … with jitter, or the
    /// node's `Retry-After`).
    public var attempts = 2
    /// Nodes asked at once.
    public var maxConcurrent = 16
    /// Ask every operator at once and wait for all, even when fewer would do (for diagnostics: every outcome is
    /// known; every node computes the job).
    public var waitForAll = false
    /// Where the round logs (per-operator failures at debug).
    public var logger: Logger

    /// A round with its own signature log and a logger (default: quiet).
    public init(
        client: NodeClient = NodeClient(),
        log: SignatureLog = SignatureLog(),
        logger: Logger = Logger(label: "kiln.avs")
    ) {
        self.client = client
        self.log = log
        self.logger = logger
    }

    /// Asks the nodes in `table` for `request` and returns the report.
    ///
    /// It asks the fewest operators whose stake can reach the threshold — in the order of ``askingOrder(_:)``
    /// (stake, then address) — and awaits every one of them; only when one fails, disagrees or signs something
    /// invalid does it widen the round, by the fewest further operators that could still make a quorum with the
    /// output most stake signed, and awaits those in turn. So an honest majority costs the fewest node
    /// computations (3 of 4 at 35/30/20/15 and ⅔; 2 at 40/30/20/10), the set asked depends only on what the nodes
    /// answer (the bundle is the same on every run), and it stops when no output can reach the threshold any more.
    /// With ``waitForAll`` it asks every operator at once instead, for diagnostics.
    ///
    /// When the input carries a non-exact agreement policy (`agreement`, see ``AgreementPolicy``), the round has
    /// two phases instead: see ``runAgreement(_:table:policy:)``.
    public func run(_ request: JobRequest, table: StakeTable) async -> QuorumReport {
        if let json = request.input["agreement"], let policy = try? AgreementPolicy(json: json), !policy.isExact {
            return await runAgreement(request, table: table, policy: policy)
        }
        var outcomes: [Address: (Outcome, SignedAnswer?)] = [:]
        var stakeFor: [Bytes32: BigUInt] = [:]
        var signers: [Bytes32: [Address]] = [:]
        var acceptedHash: Bytes32?
        var waiting = Self.askingOrder(table.operators)[...]
        // The first wave: the fewest operators (in order) whose stake reaches the threshold; everyone with waitForAll.
        var wave: [Operator]
        if waitForAll {
            wave = Array(waiting)
            waiting = []
        } else {
            wave = Self.widen(&waiting, from: 0, in: table)
        }
        while !wave.isEmpty {
            await askEach(wave, request, table) { op, outcome, answer in
                if let answer, case .agreed = outcome {
                    let hash = answer.attestation.outputHash
                    stakeFor[hash, default: 0] += op.stake
                    signers[hash, default: []].append(op.address)
                }
                outcomes[op.address] = (outcome, answer)
                return true  // every operator asked is awaited: the same answers give the same bundle
            }
            // Two outputs can both reach a threshold of 50 % or less: the one with more stake, then the lower hash.
            let reaching = stakeFor.filter { table.reaches($0.value) }
            if let best = Self.leading(reaching) {
                acceptedHash = best
                break
            }
            // Widen by the fewest further operators that could still carry the leading output to the threshold.
            let leader = stakeFor.values.max() ?? 0
            wave = Self.widen(&waiting, from: leader, in: table)
        }
        // Without quorum, the output with the most stake (then the lower hash) led: who signed it answered as the
        // others that led did, and only the operators that signed another output disagreed.
        let leading =
            acceptedHash == nil
            ? Self.leading(stakeFor) : nil
        var rows: [(operator: Operator, outcome: Outcome, answer: SignedAnswer?)] = []
        for op in table.operators {
            guard let (outcome, answer) = outcomes[op.address] else {
                rows.append((op, Self.unasked(op, table), nil))
                continue
            }
            guard case .agreed = outcome, let answer else {
                rows.append((op, outcome, answer))
                continue
            }
            let hash = answer.attestation.outputHash
            if let accepted = acceptedHash {
                rows.append((op, hash == accepted ? .agreed : .disagreed, answer))
            } else {
                rows.append((op, hash == leading ? .unconfirmed : .disagreed, answer))
            }
        }
        var accepted: QuorumReport.Accepted?
        if let hash = acceptedHash,
            let output = rows.first(where: { $0.answer?.attestation.outputHash == hash })?.answer?.output
        {
            // Signers in stake-table order, not arrival order: the same answers give the same bundle bytes.
            let signed = Set(signers[hash] ?? [])
            accepted = (output, hash, table.operators.map(\.address).filter(signed.contains), stakeFor[hash] ?? 0)
        }
        let evidence = await log.evidence.filter { $0.first.attestation.jobId == request.jobId }
        return QuorumReport(request: request, table: table, outcomes: rows, accepted: accepted, evidence: evidence)
    }

    /// The output with the most signed stake, then the lower hash: the one a round accepts among those that reach
    /// the threshold, and the one that led when none did.
    static func leading(_ stakes: [Bytes32: BigUInt]) -> Bytes32? {
        stakes.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key.hex > $1.key.hex })?.key
    }

    /// The order operators are asked in: stake first (largest first), then address (ascending); operators without
    /// stake are never asked.
    public static func askingOrder(_ operators: [Operator]) -> [Operator] {
        operators.filter { $0.stake > 0 }.sorted {
            $0.stake != $1.stake ? $0.stake > $1.stake : $0.address.bytes.lexicographicallyPrecedes($1.address.bytes)
        }
    }

    /// Takes from the front of `waiting` the fewest operators whose stake, added to `signed`, reaches the threshold;
    /// none when even all of them would not.
    static func widen(_ waiting: inout ArraySlice<Operator>, from signed: BigUInt, in table: StakeTable) -> [Operator] {
        let all = waiting.reduce(signed) { $0 + $1.stake }
        guard table.reaches(all) else { return [] }
        var taken: [Operator] = []
        var stake = signed
        while !table.reaches(stake), let op = waiting.popFirst() {
            taken.append(op)
            stake += op.stake
        }
        return taken
    }

    /// Asks `operators` for `request`, at most ``maxConcurrent`` at once, and hands each outcome to `take` as it
    /// arrives, after recording the answer in ``log``: an operator that signed another output for this job before
    /// comes as `.equivocated`. Stops asking, and cancels the requests still out, when `take` returns false.
    func askEach(
        _ operators: [Operator],
        _ request: JobRequest,
        _ table: StakeTable,
        take: (Operator, Outcome, SignedAnswer?) -> Bool
    ) async {
        let checked = CheckedOutputs()
        await withTaskGroup(of: (Operator, Outcome, SignedAnswer?).self) { group in
            var queue = operators[...]
            func startNext() {
                guard let op = queue.popFirst() else { return }
                group.addTask { await ask(op, request, table, checked: checked) }
            }
            for _ in 0..<min(maxConcurrent, operators.count) { startNext() }
            for await (op, outcome, answer) in group {
                var outcome = outcome
                if let answer, case .agreed = outcome {
                    if await log.record(op.address, answer) != nil {
                        logger.warning(
                            "equivocation",
                            metadata: ["operator": "\(op.address)", "job": "\(request.jobId.hex)"]
                        )
                    }
                    if await log.hasEquivocated(op.address, job: request.jobId) { outcome = .equivocated }
                }
                guard take(op, outcome, answer) else {
                    group.cancelAll()
                    break
                }
                startNext()
            }
        }
    }

    /// One node: ask (with retries), then verify the answer against the request and the registry.
    func ask(_ op: Operator, _ request: JobRequest, _ table: StakeTable, checked: CheckedOutputs) async -> (
        Operator, Outcome, SignedAnswer?
    ) {
        let started = ContinuousClock.now
        let answer = await askOnce(op, request, table, checked: checked)
        // swift-metrics: a no-op unless the process bootstrapped a backend (`kiln batch` does: Prometheus).
        let operatorLabel = op.address.checksummed
        switch answer.1 {
        case .agreed, .disagreed:
            let elapsed = ContinuousClock.now - started
            Metrics.Timer(label: "kiln_operator_request_seconds", dimensions: [("operator", operatorLabel)])
                .recordNanoseconds(
                    elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
                )
        case .notNeeded: break
        default:
            Counter(
                label: "kiln_operator_failures_total",
                dimensions: [("operator", operatorLabel), ("reason", answer.1.label)]
            ).increment()
        }
        return answer
    }

    private func askOnce(_ op: Operator, _ request: JobRequest, _ table: StakeTable, checked: CheckedOutputs) async
        -> (
            Operator, Outcome, SignedAnswer?
        )
    {
        guard let endpoint = op.endpoint else {
            return (op, .failed(AVSError("no node endpoint for this operator in kiln.yml")), nil)
        }
        var lastError: InferenceError?
        let backoff = Backoff(attempts: attempts, first: .milliseconds(250))
        for attempt in 0..<backoff.attempts {
            if Task.isCancelled { return (op, .notNeeded, nil) }
            if attempt > 0 {
                // Cancelled while waiting: the round no longer needs this operator.
                do { try await backoff.wait(retry: attempt, retryAfter: lastError?.retryAfter) } catch {
                    return (op, .notNeeded, nil)
                }
            }
            do {
                let response = try await client.submit(request, to: endpoint, timeout: timeout)
                switch Self.verify(response, for: request, from: op, in: table, checked: checked) {
                case .success(let answer): return (op, .agreed, answer)
                case .failure(let reason): return (op, .invalid(reason), nil)
                }
            } catch {
                lastError = error
                // A busy node (429) asks to come back, and so does a 408 on a reused idle connection; other 4xx
                // answers are the node's final word. Transport failures and 5xx are retried too.
                if error.asksForAnotherAttempt { continue }
                if error.isClientError || error.code == .badResponse { break }
                if error.code == .timeout { break }
            }
        }
        if Task.isCancelled { return (op, .notNeeded, nil) }
        guard let lastError else { return (op, .failed(AVSError("no attempt made")), nil) }
        if lastError.code == .timeout { return (op, .timedOut, nil) }
        return (op, .failed(AVSError(lastError.message, cause: lastError)), nil)
    }

    /// The checks every answer must pass before its signature counts.
    public static func verify(
        _ response: JobResponse,
        for request: JobRequest,
        from op: Operator,
        in table: StakeTable,
        checked: CheckedOutputs? = nil
    ) -> Result<SignedAnswer, AVSError> {
        let a = response.attestation
        guard a.jobId == request.jobId else {
            return .failure(AVSError("answered job \(a.jobId.hex), not \(request.jobId.hex)"))
        }
        guard a.modelId == request.modelId else { return .failure(AVSError("signed another model id")) }
        guard a.inputHash == request.inputHash else {
            return .failure(AVSError("signed another input hash \(a.inputHash.hex)"))
        }
        guard a.referenceBlock == request.referenceBlock else {
            return .failure(AVSError("signed reference block \(a.referenceBlock), not \(request.referenceBlock)"))
        }
        guard checked?.hashes(response.output, to: a.outputHash) ?? (Keccak256.hash(response.output) == a.outputHash)
        else {
            return .failure(AVSError("the output does not hash to the signed outputHash"))
        }
        let signer: Address
        do {
            signer = try response.signature.recoverAddress(digest: a.signingDigest(domain: table.domain))
        } catch {
            return .failure(AVSError("signature: \(error.message)", cause: error))
        }
        guard signer == op.signingKey else {
            let whose = op.signingKey == op.address ? "the operator" : "the operator's signing key"
            return .failure(
                AVSError("signature recovers to \(signer.checksummed), not \(whose) \(op.signingKey.checksummed)")
            )
        }
        guard op.stake > 0 else { return .failure(AVSError("no stake at block \(table.referenceBlock)")) }
        return .success(SignedAnswer(attestation: a, signature: response.signature, output: response.output))
    }
}

extension QuorumReport {
    /// The accepted output, its hash, the operators that signed it, their stake and signatures.
    public typealias Accepted = (output: [UInt8], outputHash: Bytes32, signers: [Address], signedStake: BigUInt)
}

/// The outputs a round has checked against their signed hash, by that hash: nodes that agree send the same bytes,
/// and comparing them is cheaper than hashing them again (Keccak-256 of every answer was 2 % of `kiln batch`'s CPU).
public final class CheckedOutputs: Sendable {
    private let outputs = Mutex<[Bytes32: [UInt8]]>([:])

    /// An empty set, for one round.
    public init() {}

    /// Whether Keccak-256 of `output` is `hash`: true at once for the same bytes as an output already found to
    /// hash to it.
    public func hashes(_ output: [UInt8], to hash: Bytes32) -> Bool {
        if let known = outputs.withLock({ $0[hash] }), known == output { return true }
        guard Keccak256.hash(output) == hash else { return false }
        outputs.withLock { $0[hash] = output }
        return true
    }
}
