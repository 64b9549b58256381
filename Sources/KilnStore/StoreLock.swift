// Kiln — Apache-2.0. See LICENSE.

/// The store's batch lock, held until released or the object is dropped (and by the operating system or the
/// database until the process ends, however it ends: a killed coordinator never leaves the store locked).
public final class StoreLock: Sendable {
    /// What is locked, for messages.
    public let description: String
    private let releaser: @Sendable () -> Void

    /// A lock that `release` lets go of.
    public init(description: String, release: @escaping @Sendable () -> Void) {
        self.description = description
        releaser = release
    }

    deinit { releaser() }
}
