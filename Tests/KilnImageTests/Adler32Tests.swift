import KilnTesting
import Testing

@testable import KilnImage

struct Adler32Tests {
    /// RFC 1950's definition, a byte at a time.
    static func definition(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return b << 16 | a
    }

    @Test func theDefinitionsSumsAtEveryLength() {
        var generator = SeededGenerator(seed: 1950)
        var lengths = Array(0...600) + [4_095, 4_096, 32_768, 32_769, 33_023]
        lengths += (0..<20).map { _ in Int.random(in: 0...200_000, using: &generator) }
        for length in lengths {
            let bytes = generator.bytes(length)
            #expect(bytes.withUnsafeBytes(Adler32.checksum) == Self.definition(bytes), "\(length) bytes")
        }
        // The largest lanes: every byte 255, over several runs of 128 blocks.
        for length in [256, 32_768, 1 << 20, (1 << 20) + 255] {
            let bytes = [UInt8](repeating: 255, count: length)
            #expect(bytes.withUnsafeBytes(Adler32.checksum) == Self.definition(bytes), "\(length) × 255")
        }
        #expect([UInt8]("Wikipedia".utf8).withUnsafeBytes(Adler32.checksum) == 0x11E6_0398)
    }
}
