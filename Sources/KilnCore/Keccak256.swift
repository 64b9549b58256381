// Kiln — Apache-2.0. See LICENSE.

/// Keccak-256 as Ethereum uses it: the original Keccak padding (`0x01 … 0x80`), not SHA3-256's `0x06`.
///
/// Use the one-shot ``hash(_:)`` for a value in memory, or feed a stream with ``update(_:)`` and end it
/// with ``finalize()``:
///
/// ```swift
/// let topic0 = Keccak256.hash(Array("Transfer(address,address,uint256)".utf8))
/// var hasher = Keccak256()
/// hasher.update(firstChunk)
/// hasher.update(secondChunk)
/// let digest = hasher.finalize()
/// ```
public struct Keccak256: Sendable {
    /// The rate in bytes: 1600 − 2 × 256 bits.
    public static let blockSize = 136
    private static let rateLanes = 17

    private typealias Lanes = (
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64
    )
    private var lanes: Lanes = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    /// Bytes of the current block already absorbed.
    private var offset = 0

    /// A hasher with nothing absorbed yet.
    public init() {}

    /// The Keccak-256 of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> Bytes32 {
        var hasher = Keccak256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The Keccak-256 of the UTF-8 bytes of `text`.
    public static func hash(utf8 text: String) -> Bytes32 {
        var text = text
        return text.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// The Keccak-256 of the bytes in `buffer`.
    public static func hash(_ buffer: UnsafeRawBufferPointer) -> Bytes32 {
        var hasher = Keccak256()
        hasher.update(buffer)
        return hasher.finalize()
    }

    /// Absorbs more bytes.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBytes { update($0) }
        }
    }

    /// Absorbs the bytes in `buffer`.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard var base = buffer.baseAddress else { return }
        var remaining = buffer.count
        let rate = Self.blockSize
        withUnsafeMutablePointer(to: &lanes) { tuple in
            tuple.withMemoryRebound(to: UInt64.self, capacity: 25) { state in
                // Finish a partial block byte by byte.
                while offset != 0 && remaining > 0 {
                    Self.xorByte(base.load(as: UInt8.self), at: offset, into: state)
                    base += 1
                    remaining -= 1
                    offset += 1
                    if offset == rate {
                        Self.permute(state)
                        offset = 0
                    }
                }
                // Whole blocks, a lane at a time.
                while remaining >= rate {
                    for lane in 0..<Self.rateLanes {
                        state[lane] ^= UInt64(
                            littleEndian: base.loadUnaligned(fromByteOffset: lane * 8, as: UInt64.self)
                        )
                    }
                    Self.permute(state)
                    base += rate
                    remaining -= rate
                }
                // The tail starts a new partial block.
                while remaining > 0 {
                    Self.xorByte(base.load(as: UInt8.self), at: offset, into: state)
                    base += 1
                    remaining -= 1
                    offset += 1
                }
            }
        }
    }

    /// Pads, squeezes and returns the digest. The hasher is consumed.
    public consuming func finalize() -> Bytes32 {
        let offset = self.offset
        return withUnsafeMutablePointer(to: &lanes) { tuple in
            tuple.withMemoryRebound(to: UInt64.self, capacity: 25) { state in
                Self.xorByte(0x01, at: offset, into: state)
                Self.xorByte(0x80, at: Self.blockSize - 1, into: state)
                Self.permute(state)
                return Bytes32(
                    littleEndianWords: state[0],
                    state[1],
                    state[2],
                    state[3]
                )
            }
        }
    }

    @inline(__always)
    private static func xorByte(_ byte: UInt8, at offset: Int, into state: UnsafeMutablePointer<UInt64>) {
        state[offset >> 3] ^= UInt64(byte) &<< UInt64((offset & 7) << 3)
    }
}
