// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// A token's state at one version, as stored.
public struct StoredState: Hashable, Sendable {
    public var version: Int
    public var json: JSONValue
    public var hash: Bytes32
}
