// Kiln — Apache-2.0. See LICENSE.

internal import BigInt

/// When operators' outputs count as the same answer: byte-identical (`exact`, the default) or, for image outputs,
/// within a pixel tolerance.
///
/// The decision uses integers only, so every verifier reaches the same verdict. Two images (decoded to 8-bit RGBA,
/// same width and height) agree under `pixels` when
/// - the largest difference of any channel of any pixel, `|a − b|`, is at most `maxChannelDiff`, and
/// - the mean squared error over every channel sample is at most `maxMSEMilli / 1000`, decided as
///   `1000 · Σ(a − b)² ≤ maxMSEMilli · samples` (`samples` = width · height · 4).
///
/// The canonical JSON is `{"rule":"exact"}` or `{"maxChannelDiff":N,"maxMSEMilli":M,"rule":"pixels"}`; its
/// keccak-256 is the policy hash operators sign in an ``InferenceAgreement``.
public enum AgreementPolicy: Hashable, Sendable, CustomStringConvertible {
    case exact
    case pixels(maxChannelDiff: Int, maxMSEMilli: Int)

    /// The JSON the job input and the bundle carry.
    public var json: JSONValue {
        switch self {
        case .exact: ["rule": "exact"]
        case .pixels(let channel, let mse):
            ["rule": "pixels", "maxChannelDiff": .number(channel), "maxMSEMilli": .number(mse)]
        }
    }

    /// keccak-256 of the canonical JSON.
    public var hash: Bytes32 {
        // The JSON holds only short text and small integers: canonical encoding cannot fail.
        (try? json.canonicalHash()) ?? .zero
    }

    /// Whether the rule needs the agreement phase (every rule but `exact`).
    public var isExact: Bool { self == .exact }

    /// "exact" or "pixels: max channel diff 8, max MSE 2.500".
    public var description: String {
        switch self {
        case .exact: "exact"
        case .pixels(let channel, let mse):
            "pixels: max channel diff \(channel), max MSE \(PixelDistance.milli(mse))"
        }
    }

    /// Reads a policy's JSON; the message names what is wrong.
    public init(json: JSONValue) throws(FormatError) {
        guard case .object(let members) = json, let rule = members["rule"]?.stringValue else {
            throw FormatError(.invalidValue, "an agreement policy must be an object with a 'rule'")
        }
        switch rule {
        case "exact":
            guard members.count == 1 else {
                throw FormatError(.invalidValue, "the exact agreement policy takes no other fields")
            }
            self = .exact
        case "pixels":
            func bound(_ key: String, _ range: ClosedRange<Int>) throws(FormatError) -> Int {
                guard let value = members[key]?.integerValue, let number = Int(exactly: value), range.contains(number)
                else {
                    throw FormatError(
                        .invalidValue,
                        "agreement policy '\(key)' must be a whole number \(range.lowerBound)…\(range.upperBound)"
                    )
                }
                return number
            }
            guard Set(members.keys) == ["rule", "maxChannelDiff", "maxMSEMilli"] else {
                throw FormatError(
                    .invalidValue,
                    "the pixels agreement policy has exactly maxChannelDiff and maxMSEMilli"
                )
            }
            self = .pixels(
                maxChannelDiff: try bound("maxChannelDiff", 0...255),
                maxMSEMilli: try bound("maxMSEMilli", 0...Self.maxMSEMilli)
            )
        default:
            throw FormatError(.invalidValue, "unknown agreement rule '\(rule)' (exact or pixels)")
        }
    }

    /// The largest `maxMSEMilli`: an MSE of 65 025 (255²) lets any two images agree.
    public static let maxMSEMilli = 65_025_000

    /// Whether two outputs agree: equal hashes always do; under `pixels`, `distance` (nil when the images could
    /// not be compared: not decodable, or different sizes) must be within both bounds.
    public func accepts(sameBytes: Bool, distance: PixelDistance?) -> Bool {
        if sameBytes { return true }
        switch self {
        case .exact: return false
        case .pixels(let channel, let mse):
            guard let distance else { return false }
            return distance.maxChannelDiff <= channel
                && BigUInt(1000) * BigUInt(distance.sumSquaredDiff) <= BigUInt(mse) * BigUInt(distance.samples)
        }
    }
}

/// How far apart two images of the same size are, in integers: the largest channel difference and the sum of
/// squared channel differences over `samples` channel values (width · height · 4).
public struct PixelDistance: Hashable, Sendable, CustomStringConvertible {
    public var maxChannelDiff: Int
    public var sumSquaredDiff: UInt64
    public var samples: UInt64
    /// Pixels whose RGBA differs at all.
    public var differingPixels: Int

    public init(maxChannelDiff: Int, sumSquaredDiff: UInt64, samples: UInt64, differingPixels: Int) {
        self.maxChannelDiff = maxChannelDiff
        self.sumSquaredDiff = sumSquaredDiff
        self.samples = samples
        self.differingPixels = differingPixels
    }

    /// The mean squared error in thousandths, rounded down (for reports only; decisions use the exact sums).
    public var mseMilli: UInt64 { samples == 0 ? 0 : sumSquaredDiff.multipliedFullWidth(by: 1000).low / samples }

    /// "max channel diff 3, MSE 0.412, 1 204 pixels differ".
    public var description: String {
        "max channel diff \(maxChannelDiff), MSE \(Self.milli(Int(clamping: mseMilli))), \(differingPixels) pixels differ"
    }

    /// The JSON a bundle records (recomputed by every verifier; kept for readers).
    public var json: JSONValue {
        [
            "maxChannelDiff": .number(maxChannelDiff), "sumSquaredDiff": .string(String(sumSquaredDiff)),
            "samples": .string(String(samples)), "differingPixels": .number(differingPixels),
        ]
    }

    /// Reads ``json``'s form; nil when a field is missing or of the wrong kind.
    public init?(json: JSONValue) {
        guard let channel = json["maxChannelDiff"]?.integerValue.flatMap({ Int(exactly: $0) }),
            let sum = json["sumSquaredDiff"]?.stringValue.flatMap({ UInt64($0) }),
            let samples = json["samples"]?.stringValue.flatMap({ UInt64($0) }),
            let differing = json["differingPixels"]?.integerValue.flatMap({ Int(exactly: $0) })
        else { return nil }
        self.init(maxChannelDiff: channel, sumSquaredDiff: sum, samples: samples, differingPixels: differing)
    }

    /// `2500` → "2.500".
    static func milli(_ value: Int) -> String {
        let fraction = String(value % 1000)
        return "\(value / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
