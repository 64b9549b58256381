// Kiln — Apache-2.0. See LICENSE.

internal import KilnContent
internal import NIOPosix

extension Blockstore {
    /// ``Blockstore/sync()`` on NIO's pool of threads for blocking work, not the cooperative pool's: a commit of
    /// `blocks.sqlite` (or a folder's flush) waits for the disk, and for another process's commit.
    func syncOffThePool() async throws {
        try await NIOThreadPool.singleton.runIfActive { try self.sync() }
    }
}
