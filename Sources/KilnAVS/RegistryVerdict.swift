// Kiln — Apache-2.0. See LICENSE.

public import KilnChain
internal import KilnCore

/// What a stake registry said of an ``OnchainPayload``: accepted (ERC-1271's magic value), or rejected with its
/// reason. EigenLayer's ECDSAStakeRegistry never returns a failure value: it reverts with a custom error, which
/// ``RegistryRejection`` names. A registry that could not be asked (the RPC failed) is not a verdict: that is the
/// ``AVSError`` that ``OnchainPayload/check(with:)`` throws.
public enum RegistryVerdict: Hashable, Sendable {
    case accepted
    case rejected(RegistryRejection)

    /// Whether the registry accepted the payload.
    public var accepted: Bool { self == .accepted }
}

/// Why a registry rejected a payload: what its call reverted with, or the value it returned instead of
/// ERC-1271's magic value.
public struct RegistryRejection: Hashable, Sendable, CustomStringConvertible {
    /// The revert data (a custom error's selector and arguments), or the returned value.
    public var data: [UInt8]
    /// True when the call reverted; false when it returned something other than the magic value.
    public var reverted: Bool
    /// The error's signature when Kiln knows its selector (`InsufficientSignedStake()`), `Error("…")` for a revert
    /// reason; nil for an unknown selector.
    public var name: String?

    /// EigenLayer's `IECDSAStakeRegistryErrors` that `isValidSignature` reverts with (`shared/INFERNET.md` §5).
    /// Their selectors are computed from the signatures, not copied.
    public static let knownErrors = [
        "LengthMismatch()", "InvalidLength()", "NotSorted()", "InvalidSignature()", "InvalidReferenceBlock()",
        "InvalidSignedWeight()", "InsufficientSignedStake()",
    ]
    private static let bySelector: [[UInt8]: String] = Dictionary(
        uniqueKeysWithValues: knownErrors.map { (ABIEncoding.selector($0), $0) }
    )
    private static let errorString = ABIEncoding.selector("Error(string)")
    private static let panic = ABIEncoding.selector("Panic(uint256)")

    /// Reads what a reverted call returned.
    public init(revertData data: [UInt8]) {
        self.data = data
        reverted = true
        let selector = Array(data.prefix(4))
        if data.count == 4, let known = Self.bySelector[selector] {
            name = known
        } else if selector == Self.errorString,
            case .string(let reason)? = try? ABIEncoding.decode(
                [.string],
                from: Array(data.dropFirst(4)),
                function: "Error(string)"
            ).first
        {
            name = "Error(\"\(reason)\")"
        } else if selector == Self.panic,
            case .uint(let code)? = try? ABIEncoding.decode(
                [.uint(256)],
                from: Array(data.dropFirst(4)),
                function: "Panic(uint256)"
            ).first
        {
            name = "Panic(0x\(String(code, radix: 16)))"
        } else {
            name = nil
        }
    }

    /// Whether it is one of EigenLayer's registry errors (not a revert of the caller's own making).
    public var isRegistryError: Bool { name.map(Self.knownErrors.contains) ?? false }

    /// A call that returned `value` instead of ERC-1271's magic value (registries that return `0xffffffff`).
    public init(returned value: [UInt8]) {
        data = value
        reverted = false
        name = nil
    }

    /// `InsufficientSignedStake()`; an unknown selector raw (`0x12345678…`); `returned 0xffffffff…` for a value.
    public var description: String {
        if let name { return name }
        let raw = Hex.encode(data.count > 4 && !reverted ? Array(data.prefix(4)) : data)
        if !reverted { return "returned \(raw)\(data.count > 4 ? "…" : "") instead of 0x1626ba7e" }
        return data.isEmpty ? "a revert without data" : raw
    }
}

extension OnchainPayload {
    /// Asks the registry, by `eth_call` at the latest block, whether it accepts this payload.
    /// - Throws: ``AVSError`` when the registry could not be asked (transport, a JSON-RPC error that is not a
    ///   revert), with the ``ChainError`` as its cause: a rejection is a ``RegistryVerdict``, not an error.
    public func check(with rpc: EthereumRPC) async throws(AVSError) -> RegistryVerdict {
        let answer: [UInt8]
        do {
            answer = try await rpc.call(to: registry, data: calldata)
        } catch {
            // A node that sends no revert data gives a revert without a reason.
            if error.isRevert { return .rejected(RegistryRejection(revertData: error.revertData ?? [])) }
            throw AVSError(
                "unable to ask the registry \(registry.checksummed) (isValidSignature): \(error.message)",
                cause: error
            )
        }
        return Self.accepts(answer) ? .accepted : .rejected(RegistryRejection(returned: answer))
    }
}
