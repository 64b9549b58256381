// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// How much of a recorded-logs file a batch has read: the bytes up to `offset` (whole lines), how many lines
/// they hold, and their SHA-256. The next batch parses only what follows, unless the file changed before `offset`.
public struct SourceMark: Hashable, Sendable {
    public var offset: Int64
    public var lines: Int64
    public var prefixHash: Bytes32

    public init(offset: Int64, lines: Int64, prefixHash: Bytes32) {
        self.offset = offset
        self.lines = lines
        self.prefixHash = prefixHash
    }
}
