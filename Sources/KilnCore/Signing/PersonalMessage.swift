// Kiln — Apache-2.0. See LICENSE.

/// EIP-191 version `0x45` ("personal_sign") messages.
public enum PersonalMessage {
    /// `keccak256("\x19Ethereum Signed Message:\n" ‖ len(message) ‖ message)`, the digest that
    /// `personal_sign` and eth-account's `encode_defunct` sign.
    public static func digest(_ message: some Collection<UInt8>) -> Bytes32 {
        var hasher = Keccak256()
        hasher.update(Array("\u{19}Ethereum Signed Message:\n\(message.count)".utf8))
        hasher.update(message)
        return hasher.finalize()
    }
}
