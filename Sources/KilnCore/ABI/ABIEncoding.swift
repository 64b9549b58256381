// Kiln — Apache-2.0. See LICENSE.

public import BigInt

/// A value to ABI-encode: the argument of a contract call.
public indirect enum ABIArgument: Hashable, Sendable {
    case uint(BigUInt)
    case address(Address)
    case bool(Bool)
    /// `bytes1` … `bytes32`: the bytes, padded on the right.
    case fixedBytes([UInt8])
    case bytes([UInt8])
    case string(String)
    /// A dynamic array `T[]` of same-typed elements.
    case array([ABIArgument])

    /// A `uint256` argument.
    public static func uint(_ value: UInt64) -> ABIArgument { .uint(BigUInt(value)) }
    /// A `bytes32` argument.
    public static func bytes32(_ value: Bytes32) -> ABIArgument { .fixedBytes(value.bytes) }

    var isDynamic: Bool {
        switch self {
        case .bytes, .string, .array: true
        default: false
        }
    }
}

/// Contract ABI encoding (Solidity's `abi.encode` and call data) and decoding of return data.
public enum ABIEncoding {
    /// The first 4 bytes of the Keccak-256 of a canonical signature such as `tokenURI(uint256)`.
    public static func selector(_ signature: String) -> [UInt8] {
        Array(Keccak256.hash(utf8: signature).bytes.prefix(4))
    }

    /// Call data: the selector, then the encoded arguments.
    public static func call(_ signature: String, _ arguments: [ABIArgument]) -> [UInt8] {
        selector(signature) + encode(arguments)
    }

    /// `abi.encode(arguments…)`: heads (static values, or the offsets of dynamic ones), then the dynamic values.
    public static func encode(_ arguments: [ABIArgument]) -> [UInt8] {
        var head: [UInt8] = []
        var tail: [UInt8] = []
        let headSize = arguments.count * 32
        for argument in arguments {
            if argument.isDynamic {
                head += word(BigUInt(headSize + tail.count))
                tail += encode(argument)
            } else {
                head += encode(argument)
            }
        }
        return head + tail
    }

    /// One value in place: a word for static types, length-prefixed (and padded) for dynamic ones.
    private static func encode(_ argument: ABIArgument) -> [UInt8] {
        switch argument {
        case .uint(let value): word(value)
        case .address(let address): [UInt8](repeating: 0, count: 12) + address.bytes
        case .bool(let flag): word(flag ? 1 : 0)
        case .fixedBytes(let bytes): padded(Array(bytes.prefix(32)))
        case .bytes(let bytes): word(BigUInt(bytes.count)) + padded(bytes)
        case .string(let text): word(BigUInt(text.utf8.count)) + padded(Array(text.utf8))
        case .array(let elements): word(BigUInt(elements.count)) + encode(elements)
        }
    }

    private static func word(_ value: BigUInt) -> [UInt8] {
        value.bigEndianBytes(count: 32) ?? [UInt8](repeating: 0xFF, count: 32)
    }

    private static func padded(_ bytes: [UInt8]) -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32)
    }

    /// Decodes return data of elementary `types` (what `eth_call` gives back), checking every bound.
    /// - Throws: ``FormatError`` naming `function` and the value that does not decode.
    public static func decode(_ types: [ABIType], from data: [UInt8], function: String) throws(FormatError)
        -> [ABIValue]
    {
        let reader = ABIDataReader(data: data, event: function)
        var values: [ABIValue] = []
        for (index, type) in types.enumerated() {
            values.append(try reader.decode(headIndex: index, as: type, field: "return value \(index)"))
        }
        return values
    }
}
