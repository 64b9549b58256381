// Kiln — Apache-2.0. See LICENSE.

public import BigInt
internal import Foundation
public import KilnCore
public import KilnInference
public import KilnYAML
internal import KilnCrypto

/// A registered operator: its address, the key its node signs with (as in EigenLayer, the registry maps the
/// operator to a signing key; the file registry uses the operator's own address), where its node listens, and
/// its stake (weight).
public struct Operator: Hashable, Sendable {
    /// The operator's address (what stake is registered to).
    public var address: Address
    /// The address its node signs with; answers must recover to it.
    public var signingKey: Address
    /// Where its node is reached; `nil` when the registry lists an operator that kiln.yml gives no node for.
    public var endpoint: NodeEndpoint?
    /// Its stake (weight) at the reference block.
    public var stake: BigUInt

    /// An operator; without `signingKey` it signs with its own address (the file registry's rule).
    public init(address: Address, signingKey: Address? = nil, endpoint: NodeEndpoint?, stake: BigUInt) {
        self.address = address
        self.signingKey = signingKey ?? address
        self.endpoint = endpoint
        self.stake = stake
    }
}

/// The operators and the rules of agreement at one reference block.
public struct StakeTable: Hashable, Sendable {
    /// The registered operators.
    public var operators: [Operator]
    /// File registry: accept when signed stake × 10 000 ≥ total stake × this. With an on-chain registry, the
    /// threshold weight as basis points of the total (for reports only; ``thresholdWeight`` decides).
    public var thresholdBps: Int
    /// On-chain registry: its threshold weight and total weight at the reference block; accept when the signed
    /// weight ≥ the threshold weight (the registry's own rule in `isValidSignature`).
    public var thresholdWeight: BigUInt?
    /// The registry's total weight, when it states one (on chain); otherwise the sum of the stakes.
    public var totalWeight: BigUInt?
    /// The EIP-712 domain attestations must be signed in.
    public var domain: EIP712Domain
    /// The block stakes and keys are read at; attestations name it.
    public var referenceBlock: UInt64

    /// The total the threshold is a share of: the registry's total weight, or the sum of the stakes.
    public var totalStake: BigUInt { totalWeight ?? operators.reduce(0) { $0 + $1.stake } }

    /// A table whose threshold is `thresholdBps` basis points of the total stake.
    public init(operators: [Operator], thresholdBps: Int, domain: EIP712Domain, referenceBlock: UInt64) {
        self.operators = operators
        self.thresholdBps = thresholdBps
        self.domain = domain
        self.referenceBlock = referenceBlock
    }

    /// A table with the registry's rule: `signed ≥ thresholdWeight` (and never more than `totalWeight`).
    public init(
        operators: [Operator],
        thresholdWeight: BigUInt,
        totalWeight: BigUInt,
        domain: EIP712Domain,
        referenceBlock: UInt64
    ) {
        let bps = totalWeight > 0 ? Int((thresholdWeight * 10_000 + totalWeight - 1) / totalWeight) : 10_000
        self.init(operators: operators, thresholdBps: min(bps, 10_000), domain: domain, referenceBlock: referenceBlock)
        self.thresholdWeight = thresholdWeight
        self.totalWeight = totalWeight
    }

    /// Whether `signed` reaches the threshold (exact integers).
    public func reaches(_ signed: BigUInt) -> Bool {
        if let thresholdWeight { return thresholdWeight > 0 && signed >= thresholdWeight && signed <= totalStake }
        return totalStake > 0 && signed * 10_000 >= totalStake * BigUInt(thresholdBps)
    }
}

/// Where operators and stakes come from: a file now, an on-chain registry (the chain issue) behind the same call.
public protocol OperatorRegistry: Sendable {
    /// The stake table at `block` (a file registry ignores the block).
    func stakeTable(at block: UInt64) async throws(AVSError) -> StakeTable
    /// The bearer token to send to each node that asks for one (`kiln node serve --auth-token-file`), by endpoint.
    var bearers: [NodeEndpoint: String] { get }
}

extension OperatorRegistry {
    /// No node asks for a token.
    public var bearers: [NodeEndpoint: String] { [:] }
}

/// An error from the AVS layer — registries, quorum rounds, bundles — with a code to match on, a message, the
/// underlying error when there is one, and where in Kiln's source it was raised (swift-nio's `FileSystemError`
/// shape).
public struct AVSError: CausedError, CodedError, Hashable, Sendable {
    /// What kind of failure this is. New codes may be added without breaking clients.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable { case registry, bundle, failed }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }
        /// An operators file or an on-chain registry could not be read, or is malformed.
        public static let registry = Code(.registry)
        /// An attestation bundle is malformed.
        public static let bundle = Code(.bundle)
        /// Any other failure.
        public static let failed = Code(.failed)
        /// The code's name.
        public var description: String { String(describing: wrapped) }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What failed, for people (a file's errors start with `file:line:column`).
    public var message: String
    /// The underlying error, kept rather than flattened.
    public var cause: (any Error)?
    /// Where in Kiln's source the error was raised: `#fileID:#line`.
    public var location: String

    /// An error with a code, a message and, optionally, its cause.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        location = "\(file):\(line)"
    }

    /// An error of code ``Code/failed``.
    public init(_ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.init(.failed, message, cause: cause, file: file, line: line)
    }

    /// The message.
    public var description: String { message }
    /// The code's name.
    public var codeName: String { code.description }

    /// Equal when code and message are (the cause and location are context).
    public static func == (lhs: AVSError, rhs: AVSError) -> Bool { lhs.code == rhs.code && lhs.message == rhs.message }
    /// Hashes code and message.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}

/// `operators.yml`:
/// ```yaml
/// chainId: 31337
/// verifyingContract: "0x…"      # the EIP-712 domain's contract (the stake registry)
/// thresholdBps: 6667            # optional, default 6667 (⅔)
/// operators:
///   - {address: "0x…", endpoint: "http://127.0.0.1:8101", stake: "40000000000000000000"}
///   - {address: "0x…", endpoint: {infernet: "http://10.0.0.7:4000", container: kiln-node}, stake: "…"}
///   - {address: "0x…", endpoint: "https://node.example", token: env:NODE_C_TOKEN, stake: "…"}
/// ```
///
/// `token` (`env:NAME` or `file:PATH`, mode 0600) is the bearer token the node was started with
/// (`--auth-token-file`); it is read when the file is loaded and sent with every request to that node.
public struct FileOperatorRegistry: OperatorRegistry {
    /// The table the file describes (its reference block is set per call).
    public let table: StakeTable
    /// The bearer token of each node that asks for one.
    public let bearers: [NodeEndpoint: String]

    /// Reads and checks `path`.
    /// - Throws: ``AVSError`` naming `file:line:column`.
    public init(path: String) throws(AVSError) {
        do { try self.init(root: try YAMLNode.load(path)) } catch {
            throw AVSError(.registry, error.description, cause: error)
        }
    }

    /// Reads operators.yml text as if it were the file `source`.
    public init(yaml: String, source: String = "operators.yml") throws(AVSError) {
        do { try self.init(root: try YAMLNode.parse(yaml, file: source)) } catch {
            throw AVSError(.registry, error.description, cause: error)
        }
    }

    init(root: YAMLNode) throws(YAMLError) {
        guard case .mapping = root.kind else {
            throw root.error("expected a mapping with chainId, verifyingContract, operators")
        }
        let map = try root.fields("operators.yml", allowed: OperatorsFileKeys.top)
        let chainId = try map.required("chainId", "a positive whole number").integer(
            "'chainId'",
            in: UInt64(1)...UInt64.max
        )
        let contract = try map.required("verifyingContract", "the EIP-712 domain's contract").address(
            "'verifyingContract'"
        )
        let threshold = try map["thresholdBps"]?.integer("'thresholdBps'", in: 1...10_000) ?? 6667
        guard let listNode = map["operators"], case .sequence(let list) = listNode.kind, !list.isEmpty else {
            throw (map["operators"] ?? root).error("'operators' must be a non-empty list")
        }
        var operators: [Operator] = []
        var bearers: [NodeEndpoint: String] = [:]
        for (index, entry) in list.enumerated() {
            let fields = try entry.fields("operators[\(index)]", allowed: OperatorsFileKeys.operator)
            let address = try fields.required("address", "the operator's address").address(
                "operators[\(index)].address"
            )
            let endpoint = try fields.required("endpoint", "its node's URL, or {infernet: URL, container: ID}")
                .nodeEndpoint("operators[\(index)].endpoint")
            let stakeNode = try fields.required("stake", "wei, as a decimal string")
            guard let text = stakeNode.scalar, let stake = BigUInt(text, radix: 10), stake.bitWidth <= 256 else {
                throw stakeNode.error("operators[\(index)].stake must be a decimal string of wei (uint256)")
            }
            guard !operators.contains(where: { $0.address == address }) else {
                throw entry.error("operator \(address) is listed twice")
            }
            if let token = fields["token"] {
                let context = "operators[\(index)].token"
                guard let reference = SecretReference(try token.text(context)) else {
                    throw token.error(
                        "\(context) must name where the node's bearer token is, env:NAME or file:PATH (0600), never the token itself"
                    )
                }
                do throws(CryptoError) { bearers[endpoint] = try reference.value() } catch {
                    throw token.error("\(context): \(error.message)", cause: error)
                }
            }
            operators.append(Operator(address: address, endpoint: endpoint, stake: stake))
        }
        self.bearers = bearers
        table = StakeTable(
            operators: operators,
            thresholdBps: threshold,
            domain: .kiln(chainId: chainId, verifyingContract: contract),
            referenceBlock: 0
        )
    }

    /// The file's table, at `block` (a file has no history: the stakes are the same at every block).
    public func stakeTable(at block: UInt64) async throws(AVSError) -> StakeTable {
        var table = table
        table.referenceBlock = block
        return table
    }
}

extension YAMLNode {
    /// A node endpoint: a Kiln node's URL, or `{infernet: URL, container: ID}` for a Kiln node behind an Infernet
    /// node (the container id its `config.json` gives Kiln's node).
    public func nodeEndpoint(_ context: String) throws(YAMLError) -> NodeEndpoint {
        if scalar != nil { return .kiln(try url(context)) }
        return try Self.infernetEndpoint(
            try fields(context, allowed: OperatorsFileKeys.infernetEndpoint),
            missing: "the Infernet node's URL, e.g. http://host:4000"
        )
    }

    /// kiln.yml's `operators.nodes` entry: what ``nodeEndpoint(_:)`` reads, or either form with a `token` (a
    /// secret reference, returned unread): `{url: URL, token: …}`, `{infernet: URL, container: ID, token: …}`.
    public func nodeEntry(_ context: String) throws(YAMLError) -> (endpoint: NodeEndpoint, token: YAMLNode?) {
        if scalar != nil { return (try nodeEndpoint(context), nil) }
        let fields = try fields(context, allowed: OperatorsFileKeys.nodeEntry)
        if let url = fields["url"] {
            guard fields["infernet"] == nil, fields["container"] == nil else {
                throw error("\(context): give url, or infernet and container, not both")
            }
            return (.kiln(try url.url(fields.name("url"))), fields["token"])
        }
        let endpoint = try Self.infernetEndpoint(
            fields,
            missing: "url: the node's URL, or infernet: the Infernet node's URL"
        )
        return (endpoint, fields["token"])
    }

    /// `{infernet: URL, container: ID}` from a mapping's fields; `missing` says what `infernet` is when absent.
    private static func infernetEndpoint(_ fields: Fields, missing: String) throws(YAMLError) -> NodeEndpoint {
        let node = try fields.required("infernet", missing).url(fields.name("infernet"))
        let container = try fields.required("container", "the id of Kiln's container in its config.json").text(
            fields.name("container")
        )
        return .infernet(node: node, container: container)
    }
}

/// The keys `operators.yml` accepts, one list per mapping: the reader checks each mapping against its list, and
/// ``paths`` names them all as the reference page does (docs/reference/operators-yml.md; a test compares the two).
public enum OperatorsFileKeys {
    /// The top level.
    public static let top = ["chainId", "verifyingContract", "thresholdBps", "operators"]
    /// `operators[]`.
    public static let `operator` = ["address", "endpoint", "stake", "token"]
    /// `operators[].endpoint` when it is a mapping: an operator behind its Infernet node.
    public static let infernetEndpoint = ["infernet", "container"]
    /// kiln.yml's `operators.nodes.ADDRESS` when it is a mapping.
    public static let nodeEntry = ["url", "infernet", "container", "token"]

    /// Every key path of operators.yml (`[]` for a list item).
    public static let paths: [String] =
        top + `operator`.map { "operators[].\($0)" } + infernetEndpoint.map { "operators[].endpoint.\($0)" }
}
