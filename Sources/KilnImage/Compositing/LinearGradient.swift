// Kiln — Apache-2.0. See LICENSE.

/// A linear gradient between two points, with colour stops, interpolated in premultiplied space (as CSS does).
public struct LinearGradient: Hashable, Sendable {
    public struct Stop: Hashable, Sendable {
        /// 0…1 along the gradient line.
        public var offset: Double
        public var color: Color
        public init(offset: Double, color: Color) {
            self.offset = offset
            self.color = color
        }
    }

    public var start: (x: Int, y: Int)
    public var end: (x: Int, y: Int)
    public var stops: [Stop]

    /// - Throws: ``ImageError/Code/invalidArgument`` without stops, or with an offset outside 0…1.
    public init(start: (x: Int, y: Int), end: (x: Int, y: Int), stops: [Stop]) throws(ImageError) {
        guard !stops.isEmpty else {
            throw ImageError(.invalidArgument, "Unable to make a gradient without colour stops")
        }
        for stop in stops where !(0...1).contains(stop.offset) {
            throw ImageError(.invalidArgument, "Unable to make a gradient: stop offset \(stop.offset) is outside 0…1")
        }
        self.start = start
        self.end = end
        self.stops = stops.sorted { $0.offset < $1.offset }
    }

    public static func == (lhs: LinearGradient, rhs: LinearGradient) -> Bool {
        lhs.start == rhs.start && lhs.end == rhs.end && lhs.stops == rhs.stops
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(start.x)
        hasher.combine(start.y)
        hasher.combine(end.x)
        hasher.combine(end.y)
        hasher.combine(stops)
    }
}

extension Raster {
    /// A raster filled with `gradient`.
    ///
    /// Each pixel centre is projected on the line from `start` to `end` in exact integers (16 fractional bits),
    /// clamped to the ends, and the two nearest stops are mixed in premultiplied space, rounded once.
    /// - Throws: ``ImageError`` (`invalidArgument`) when a side is outside 1…``maxSide``.
    public init(width: Int, height: Int, gradient: LinearGradient) throws(ImageError) {
        try self.init(width: width, height: height)
        let stops = gradient.stops.map { (offset: Int64(($0.offset * 65536).rounded()), color: $0.color.premultiplied) }
        // Doubled coordinates keep pixel centres (x + ½) integral.
        let dx = Int64(2 * (gradient.end.x - gradient.start.x))
        let dy = Int64(2 * (gradient.end.y - gradient.start.y))
        let denominator = dx * dx + dy * dy
        let x0 = Int64(2 * gradient.start.x)
        let y0 = Int64(2 * gradient.start.y)
        let (width, height) = (self.width, self.height)
        pixels.withUnsafeMutableBufferPointer { buffer in
            var offset = 0
            for y in 0..<height {
                for x in 0..<width {
                    var t: Int64 = 0
                    if denominator > 0 {
                        let numerator = (Int64(2 * x + 1) - x0) * dx + (Int64(2 * y + 1) - y0) * dy
                        t = numerator <= 0 ? 0 : min(65536, numerator * 65536 / denominator)
                    }
                    let (r, g, b, a) = Self.color(at: t, stops)
                    buffer[offset] = r
                    buffer[offset + 1] = g
                    buffer[offset + 2] = b
                    buffer[offset + 3] = a
                    offset += 4
                }
            }
        }
    }

    private static func color(
        at t: Int64,
        _ stops: [(offset: Int64, color: (UInt8, UInt8, UInt8, UInt8))]
    ) -> (UInt8, UInt8, UInt8, UInt8) {
        if t <= stops[0].offset { return stops[0].color }
        for index in 1..<stops.count where t <= stops[index].offset {
            let from = stops[index - 1]
            let to = stops[index]
            let span = to.offset - from.offset
            guard span > 0 else { return to.color }
            let f = (t - from.offset) * 65536 / span
            @inline(__always) func mix(_ a: UInt8, _ b: UInt8) -> UInt8 {
                UInt8((Int64(a) * (65536 - f) + Int64(b) * f + 32768) >> 16)
            }
            return (
                mix(from.color.0, to.color.0), mix(from.color.1, to.color.1), mix(from.color.2, to.color.2),
                mix(from.color.3, to.color.3)
            )
        }
        return stops[stops.count - 1].color
    }
}
