// Kiln — Apache-2.0. See LICENSE.

/// A small deterministic generator (SplitMix64) so that a failing random test can be replayed from its seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    /// A generator from `seed`; with no seed, one drawn from the system (print it in failure messages).
    public init(seed: UInt64 = UInt64.random(in: 0...UInt64.max)) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}
