// Kiln — Apache-2.0. See LICENSE.

internal import CSecp256k1

/// The one libsecp256k1 context Kiln uses, created and randomized once.
///
/// libsecp256k1 documents that a context may be used from several threads at once by every function that
/// takes it as `const` (all we call after creation); it is never mutated after `init`.
/// That is why it can be `@unchecked Sendable`.
final class Secp256k1Context: @unchecked Sendable {
    static let shared = Secp256k1Context()

    let pointer: OpaquePointer

    private init() {
        pointer = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE))!
        // Blinding against side channels when signing; a fresh seed per process.
        var seed = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in seed.indices { seed[index] = generator.next() }
        _ = secp256k1_context_randomize(pointer, seed)
    }

    deinit { secp256k1_context_destroy(pointer) }
}
