// Kiln — Apache-2.0. See LICENSE.

public import BigInt

/// A value of one EIP-712 struct member.
public enum EIP712Value: Hashable, Sendable {
    case uint(BigUInt)
    case int(BigInt)
    case address(Address)
    case bool(Bool)
    /// Exactly N bytes for a `bytesN` member.
    case fixedBytes([UInt8])
    /// Dynamic `bytes`, hashed when encoded.
    case bytes([UInt8])
    /// `string`, hashed (UTF-8) when encoded.
    case string(String)

    /// A `bytes32` value.
    public static func bytes32(_ value: Bytes32) -> EIP712Value { .fixedBytes(value.bytes) }
    /// A `uintN` value from a machine integer.
    public static func uint64(_ value: UInt64) -> EIP712Value { .uint(BigUInt(value)) }
}

/// An EIP-712 struct type whose members are atomic (`uintN`, `intN`, `address`, `bool`, `bytesN`) or the
/// dynamic `bytes` and `string`: enough for Kiln's typed messages, and general enough for more.
///
/// ```swift
/// let type = try EIP712StructType(name: "Mail", members: [("from", "address"), ("contents", "string")])
/// let digest = try type.signingDigest(domain: domain, values: [.address(alice), .string("hi")])
/// ```
public struct EIP712StructType: Hashable, Sendable {
    /// One member of a struct type.
    public struct Member: Hashable, Sendable {
        /// The member's name.
        public var name: String
        /// Its Solidity type.
        public var type: ABIType
    }

    /// The struct's name.
    public let name: String
    /// Its members, in order.
    public let members: [Member]

    /// Declares a struct type; member types are Solidity type names.
    /// - Throws: ``FormatError/Code/unsupportedType`` for a type that isn't supported here.
    public init(name: String, members: [(name: String, type: String)]) throws(FormatError) {
        self.name = name
        var parsed: [Member] = []
        for member in members {
            parsed.append(Member(name: member.name, type: try ABIType(parsing: member.type)))
        }
        self.members = parsed
    }

    /// `Name(type1 name1,type2 name2)`, as EIP-712's `encodeType` defines it for a struct without references.
    public var encodeType: String {
        name + "(" + members.map { "\($0.type) \($0.name)" }.joined(separator: ",") + ")"
    }

    /// `keccak256(encodeType)`.
    public var typeHash: Bytes32 { Keccak256.hash(utf8: encodeType) }

    /// `hashStruct(s) = keccak256(typeHash ‖ encodeData(s))`.
    /// - Throws: ``FormatError/Code/invalidTypedData`` when a value's count, kind or size doesn't fit its member.
    public func hashStruct(_ values: [EIP712Value]) throws(FormatError) -> Bytes32 {
        guard values.count == members.count else {
            throw FormatError(
                .invalidTypedData,
                "Unable to hash '\(name)': expected \(members.count) values, found \(values.count)"
            )
        }
        var encoded = typeHash.bytes
        encoded.reserveCapacity(32 * (members.count + 1))
        for (member, value) in zip(members, values) {
            encoded += try Self.encode(value, as: member.type, member: "\(name).\(member.name)")
        }
        return Keccak256.hash(encoded)
    }

    /// The digest a signer signs: `keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(message))`.
    public func signingDigest(domain: EIP712Domain, values: [EIP712Value]) throws(FormatError) -> Bytes32 {
        EIP712Domain.digest(domainSeparator: domain.separator, structHash: try hashStruct(values))
    }

    /// One member's 32-byte encoding.
    static func encode(_ value: EIP712Value, as type: ABIType, member: String) throws(FormatError) -> [UInt8] {
        func mismatch(_ detail: String) -> FormatError {
            FormatError(.invalidTypedData, "Unable to encode '\(member)' as \(type): \(detail)")
        }
        switch (type, value) {
        case (.uint(let bits), .uint(let number)):
            guard number.bitWidth <= bits, let word = number.bigEndianBytes() else {
                throw mismatch("\(number) does not fit in \(bits) bits")
            }
            return word
        case (.int(let bits), .int(let number)):
            let limit = BigInt(1) << (bits - 1)
            guard number >= -limit, number < limit else { throw mismatch("\(number) does not fit in \(bits) bits") }
            let twos = number < 0 ? (BigInt(1) << 256) + number : number
            return BigUInt(twos).bigEndianBytes()!
        case (.address, .address(let address)):
            return address.word.bytes
        case (.bool, .bool(let flag)):
            return Bytes32(word: flag ? 1 : 0).bytes
        case (.fixedBytes(let count), .fixedBytes(let bytes)):
            guard bytes.count == count else { throw mismatch("expected \(count) bytes, found \(bytes.count)") }
            return bytes + [UInt8](repeating: 0, count: 32 - count)
        case (.bytes, .bytes(let bytes)):
            return Keccak256.hash(bytes).bytes
        case (.string, .string(let text)):
            return Keccak256.hash(utf8: text).bytes
        default:
            throw mismatch("value \(value) is of another kind")
        }
    }
}

/// The EIP-712 domain: which application, version, chain and contract a signature is for.
///
/// Only the fields that are set take part, in EIP-712's order (name, version, chainId, verifyingContract,
/// salt). Kiln's attestations set the first four.
public struct EIP712Domain: Hashable, Sendable {
    /// The application's name.
    public private(set) var name: String?
    /// The application's version.
    public private(set) var version: String?
    /// The chain id, a `uint256` (checked when the domain is made).
    public private(set) var chainId: BigUInt?
    /// The contract that verifies the signatures.
    public private(set) var verifyingContract: Address?
    /// A salt.
    public private(set) var salt: Bytes32?

    /// A domain of the fields given.
    /// - Throws: ``FormatError`` (`overflow`) when `chainId` does not fit a `uint256`.
    public init(
        name: String? = nil,
        version: String? = nil,
        chainId: BigUInt? = nil,
        verifyingContract: Address? = nil,
        salt: Bytes32? = nil
    ) throws(FormatError) {
        if let chainId, chainId.bitWidth > 256 {
            throw FormatError(.overflow, "Unable to make an EIP-712 domain: chainId \(chainId) does not fit a uint256")
        }
        self.init(
            checkedName: name,
            version: version,
            chainId: chainId,
            verifyingContract: verifyingContract,
            salt: salt
        )
    }

    private init(
        checkedName name: String?,
        version: String?,
        chainId: BigUInt?,
        verifyingContract: Address?,
        salt: Bytes32?
    ) {
        self.name = name
        self.version = version
        self.chainId = chainId
        self.verifyingContract = verifyingContract
        self.salt = salt
    }

    /// Kiln's domain: `{name: "Kiln", version: "1", chainId, verifyingContract}`.
    public static func kiln(chainId: UInt64, verifyingContract: Address) -> EIP712Domain {
        EIP712Domain(
            checkedName: "Kiln",
            version: "1",
            chainId: BigUInt(chainId),
            verifyingContract: verifyingContract,
            salt: nil
        )
    }

    /// The `EIP712Domain` struct type for the fields that are set.
    public var structType: EIP712StructType {
        var members: [(name: String, type: String)] = []
        if name != nil { members.append(("name", "string")) }
        if version != nil { members.append(("version", "string")) }
        if chainId != nil { members.append(("chainId", "uint256")) }
        if verifyingContract != nil { members.append(("verifyingContract", "address")) }
        if salt != nil { members.append(("salt", "bytes32")) }
        // The member list is fixed and well-formed: the struct type cannot fail to build.
        return try! EIP712StructType(name: "EIP712Domain", members: members)
    }

    /// `hashStruct(domain)`.
    public var separator: Bytes32 {
        var values: [EIP712Value] = []
        if let name { values.append(.string(name)) }
        if let version { values.append(.string(version)) }
        if let chainId { values.append(.uint(chainId)) }
        if let verifyingContract { values.append(.address(verifyingContract)) }
        if let salt { values.append(.bytes32(salt)) }
        // Every value matches its member, and the initialiser checked that chainId fits a uint256.
        return try! structType.hashStruct(values)
    }

    /// `keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ structHash)`.
    public static func digest(domainSeparator: Bytes32, structHash: Bytes32) -> Bytes32 {
        var hasher = Keccak256()
        hasher.update([0x19, 0x01])
        hasher.update(domainSeparator.bytes)
        hasher.update(structHash.bytes)
        return hasher.finalize()
    }
}
