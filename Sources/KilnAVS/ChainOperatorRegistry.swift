// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
public import KilnChain
public import KilnCore
public import KilnInference

/// Operators, signing keys and weights read from an on-chain registry whose views follow EigenLayer's
/// `IECDSAStakeRegistry`: the operator set from its `OperatorRegistered`/`OperatorDeregistered` logs up to the
/// reference block, then each operator's signing key and weight, the total and the threshold weight at that
/// block with `eth_call` (one batch request). Node endpoints are not on chain: they come from kiln.yml.
public struct ChainOperatorRegistry: OperatorRegistry {
    /// The JSON-RPC client registry reads go through.
    public let rpc: EthereumRPC
    /// The stake registry contract (IECDSAStakeRegistry views).
    public let registry: Address
    /// The chain the registry lives on (the EIP-712 domain's chain id).
    public let chainId: UInt64
    /// Operator address → node endpoint.
    public let endpoints: [Address: NodeEndpoint]
    /// The bearer token of each node that asks for one (kiln.yml `operators.nodes.<address>.token`).
    public let bearers: [NodeEndpoint: String]
    /// The registry's deployment block (logs are read from here).
    public let fromBlock: UInt64
    private let cache = TableCache()

    /// EigenLayer's `OperatorRegistered` event, read to find the operator set.
    public static let registered = EventSignature(
        name: "OperatorRegistered",
        parameters: [
            .init(name: "_operator", type: .address, indexed: true), .init(name: "_avs", type: .address, indexed: true),
        ]
    )
    /// EigenLayer's `OperatorDeregistered` event.
    public static let deregistered = EventSignature(
        name: "OperatorDeregistered",
        parameters: [
            .init(name: "_operator", type: .address, indexed: true), .init(name: "_avs", type: .address, indexed: true),
        ]
    )

    /// A registry read over `rpc`; `endpoints` maps each operator to its node's URL (endpoints are not on chain).
    public init(
        rpc: EthereumRPC,
        registry: Address,
        chainId: UInt64,
        endpoints: [Address: NodeEndpoint],
        fromBlock: UInt64 = 0,
        bearers: [NodeEndpoint: String] = [:]
    ) {
        self.rpc = rpc
        self.registry = registry
        self.chainId = chainId
        self.endpoints = endpoints
        self.fromBlock = fromBlock
        self.bearers = bearers
    }

    /// The operators, signing keys, weights, total and threshold weight at `block`, read in one JSON-RPC batch.
    /// - Throws: ``AVSError`` when the node fails or answers something the registry's ABI does not allow.
    public func stakeTable(at block: UInt64) async throws(AVSError) -> StakeTable {
        if let known = await cache.table(at: block) { return known }
        guard let block32 = UInt32(exactly: block) else {
            throw AVSError("block \(block) does not fit the registry's uint32 block numbers")
        }
        func failed(_ error: ChainError) -> AVSError {
            AVSError("registry \(registry.checksummed) at block \(block): \(error.message)", cause: error)
        }
        let logs: [EventLog]
        do { logs = try await rpc.logs(addresses: [registry], from: fromBlock, to: block) } catch {
            throw failed(error)
        }
        var members: [Address] = []
        for log in logs where !log.removed {
            let isIn = log.topics.first == Self.registered.topic0
            guard isIn || log.topics.first == Self.deregistered.topic0 else { continue }
            let decoded: DecodedEvent
            do { decoded = try (isIn ? Self.registered : Self.deregistered).decode(log) } catch {
                throw AVSError(
                    "registry \(registry.checksummed): a log in block \(log.blockNumber ?? 0) does not decode: \(error.message)",
                    cause: error
                )
            }
            guard case .address(let op)? = decoded["_operator"] else { continue }
            members.removeAll { $0 == op }
            if isIn { members.append(op) }
        }
        guard !members.isEmpty else {
            throw AVSError("registry \(registry.checksummed) has no registered operator at block \(block)")
        }
        members.sort()

        var calls: [(method: String, params: [JSONValue])] = []
        func view(_ signature: String, _ arguments: [ABIArgument]) {
            let data = ABIEncoding.call(signature, arguments)
            calls.append(
                ("eth_call", [["to": .string(registry.lowercased), "data": .string(Hex.encode(data))], "latest"])
            )
        }
        for op in members {
            view("getOperatorSigningKeyAtBlock(address,uint256)", [.address(op), .uint(block)])
            view("getOperatorWeightAtBlock(address,uint32)", [.address(op), .uint(UInt64(block32))])
        }
        view("getLastCheckpointTotalWeightAtBlock(uint32)", [.uint(UInt64(block32))])
        view("getLastCheckpointThresholdWeightAtBlock(uint32)", [.uint(UInt64(block32))])
        let answers: [JSONValue]
        do { answers = try await rpc.client.batch(calls) } catch { throw failed(error) }
        func value(_ index: Int, _ type: ABIType, _ what: String) throws(AVSError) -> ABIValue {
            guard let text = answers[index].stringValue, let data = try? Hex.decode(text),
                let decoded = try? ABIEncoding.decode([type], from: data, function: what).first
            else {
                throw AVSError("registry \(registry.checksummed): \(what) at block \(block) did not return a \(type)")
            }
            return decoded
        }
        var operators: [Operator] = []
        for (index, op) in members.enumerated() {
            guard
                case .address(let key) = try value(
                    2 * index,
                    .address,
                    "getOperatorSigningKeyAtBlock(\(op.checksummed))"
                ),
                case .uint(let weight) = try value(
                    2 * index + 1,
                    .uint(256),
                    "getOperatorWeightAtBlock(\(op.checksummed))"
                )
            else { throw AVSError("registry \(registry.checksummed): unexpected answer types") }
            operators.append(
                Operator(address: op, signingKey: key == .zero ? op : key, endpoint: endpoints[op], stake: weight)
            )
        }
        guard case .uint(let total) = try value(2 * members.count, .uint(256), "getLastCheckpointTotalWeightAtBlock"),
            case .uint(let threshold) = try value(
                2 * members.count + 1,
                .uint(256),
                "getLastCheckpointThresholdWeightAtBlock"
            )
        else { throw AVSError("registry \(registry.checksummed): unexpected answer types") }
        guard threshold > 0 else {
            throw AVSError("registry \(registry.checksummed) has no threshold weight at block \(block)")
        }
        let table = StakeTable(
            operators: operators,
            thresholdWeight: threshold,
            totalWeight: total,
            domain: .kiln(chainId: chainId, verifyingContract: registry),
            referenceBlock: block
        )
        await cache.remember(table)
        return table
    }
}

/// Stake tables already read, by block (a batch asks for the same block once per job).
private actor TableCache {
    private var tables: [UInt64: StakeTable] = [:]
    func table(at block: UInt64) -> StakeTable? { tables[block] }
    func remember(_ table: StakeTable) {
        if tables.count > 64 { tables.removeAll() }
        tables[table.referenceBlock] = table
    }
}
