// Kiln — Apache-2.0. See LICENSE.

/// Adler-32 (RFC 1950, section 8.2): the checksum at the end of a zlib stream, as zlib's `adler32` computes it.
///
/// Hand-written because Debian 12's zlib (1.2.13) adds one byte per step, and a token's 443 KB of filtered rows
/// cost 2 % of a batch's CPU in it. Here sixteen bytes at a time: in a block of 256 bytes, the even and the odd
/// bytes each add to 16-bit lanes (`sums`) and the running lanes to a second set (`prefixes`), which give the block's
/// `Σ (256 − i)·dᵢ`; blocks combine in 32-bit lanes, reduced modulo 65 521 every 128 blocks. `Adler32Tests` compares
/// it with the definition; every PNG file test compares the files with libpng's, whose checksum is zlib's.
enum Adler32 {
    static let modulus: UInt64 = 65_521

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var a: UInt64 = 1, b: UInt64 = 0
        var offset = 0
        let count = bytes.count
        #if _endian(little)
            typealias Lanes = SIMD8<UInt16>
            typealias Wide = SIMD8<UInt32>
            // A byte's distance from the start of its 16, for the even bytes (low halves) and the odd ones.
            let evenIndex = Wide(0, 2, 4, 6, 8, 10, 12, 14), oddIndex = Wide(1, 3, 5, 7, 9, 11, 13, 15)
            while offset + 256 <= count {
                // At most 128 blocks: a lane of `prefixes` stays below 128²/2 × 8 160, one of `weighted` below
                // 128 × 16 × 2 × 34 680, and the eight lanes' sums below 2³².
                let blocks = min((count - offset) / 256, 128)
                var sums = Wide(), prefixes = Wide(), weighted = Wide()
                for _ in 0..<blocks {
                    // Sixteen steps: a lane of `even` reaches 16 × 255, one of `evenPrefix` 136 × 255 (< 2¹⁶).
                    var even = Lanes(), odd = Lanes(), evenPrefix = Lanes(), oddPrefix = Lanes()
                    for step in 0..<16 {
                        let pairs = bytes.loadUnaligned(fromByteOffset: offset + step * 16, as: Lanes.self)
                        even &+= pairs & 0xFF
                        odd &+= pairs &>> 8
                        evenPrefix &+= even
                        oddPrefix &+= odd
                    }
                    let (evenSums, oddSums) = (Wide(truncatingIfNeeded: even), Wide(truncatingIfNeeded: odd))
                    // Σ over the earlier blocks of this run of their sums, for the 256·a each block adds to b.
                    prefixes &+= sums
                    sums &+= evenSums &+ oddSums
                    // Byte i = 16·step + k of the block weighs 256 − i = 16·(16 − step) − k.
                    weighted &+=
                        (Wide(truncatingIfNeeded: evenPrefix) &+ Wide(truncatingIfNeeded: oddPrefix)) &* 16
                        &- evenSums &* evenIndex &- oddSums &* oddIndex
                    offset += 256
                }
                let run = UInt64(blocks)
                b += 256 * (run * a + UInt64(prefixes.wrappedSum())) + UInt64(weighted.wrappedSum())
                a += UInt64(sums.wrappedSum())
                a %= modulus
                b %= modulus
            }
        #endif
        while offset < count {
            a += UInt64(bytes[offset])
            b += a
            offset += 1
        }
        return UInt32(b % modulus) << 16 | UInt32(a % modulus)
    }
}
