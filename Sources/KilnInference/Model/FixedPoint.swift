// Kiln — Apache-2.0. See LICENSE.

/// Q16.16 fixed-point arithmetic in `Int64`, with Kiln's own approximations of sin, tanh and exp, so that a model
/// computes the same bits on every CPU (no floating point, no libm).
enum Q16 {
    static let one: Int64 = 1 << 16
    static let pi: Int64 = 205_887  // π · 65536
    static let twoPi: Int64 = 411_775
    static let halfPi: Int64 = 102_944

    @inline(__always) static func mul(_ a: Int64, _ b: Int64) -> Int64 { (a &* b) >> 16 }

    /// Clamps to ±2¹⁵ so that products never overflow.
    @inline(__always) static func clamp(_ x: Int64) -> Int64 { min(max(x, -(1 << 31)), 1 << 31) }

    /// sin(x): reduce to [−π/2, π/2], then x − x³/6 + x⁵/120 − x⁷/5040 (error < 2·10⁻⁴).
    static func sin(_ x: Int64) -> Int64 {
        var r = x % twoPi
        if r > pi { r -= twoPi }
        if r < -pi { r += twoPi }
        if r > halfPi { r = pi - r }
        if r < -halfPi { r = -pi - r }
        let r2 = mul(r, r)
        let r3 = mul(r2, r)
        let r5 = mul(r3, r2)
        let r7 = mul(r5, r2)
        return r - r3 / 6 + r5 / 120 - r7 / 5040
    }

    /// tanh(x) ≈ x(27 + x²) / (27 + 9x²) on [−3, 3], ±1 outside.
    static func tanh(_ x: Int64) -> Int64 {
        if x >= 3 * one { return one }
        if x <= -3 * one { return -one }
        let x2 = mul(x, x)
        let numerator = mul(x, 27 * one + x2)
        let denominator = 27 * one + 9 * x2
        return (numerator << 16) / denominator
    }

    /// exp(−x²): 2^(−x²/ln 2), the fraction by a quintic (error < 2·10⁻⁴).
    static func gaussian(_ x: Int64) -> Int64 {
        let t = min(mul(x, x), 16 * one)
        let u = mul(t, 94_548)  // t / ln 2
        let whole = u >> 16
        let f = u & 0xFFFF
        // 2^(−f) = e^(−f·ln 2) ≈ 1 − 0.693147·f + 0.240227·f² − 0.0555041·f³ + 0.00961813·f⁴ − 0.00133336·f⁵
        let f2 = mul(f, f)
        let f3 = mul(f2, f)
        let f4 = mul(f2, f2)
        let poly = one - mul(45_426, f) + mul(15_743, f2) - mul(3_638, f3) + mul(630, f4) - mul(87, mul(f4, f))
        return whole >= 62 ? 0 : poly >> whole
    }

    /// ⌊√n⌋ for n ≥ 0 (Newton's method on integers). It starts from the power of two just above √n rather than
    /// from n: from any start at or above ⌊√n⌋ the iteration ends on ⌊√n⌋, and this one takes a few steps, not
    /// thirty (each a 64-bit division, once per pixel of the model).
    static func isqrt(_ n: Int64) -> Int64 {
        guard n > 1 else { return max(0, n) }
        var x = Int64(1) << ((64 - n.leadingZeroBitCount + 1) / 2)
        var y = (x + n / x) / 2
        while y < x {
            x = y
            y = (x + n / x) / 2
        }
        return x
    }
}
