// Kiln — Apache-2.0. See LICENSE.

internal import KilnContent
internal import Synchronization

/// The blocks `kiln serve` answered with last, in memory, up to a size: a block is named by its hash, so a kept
/// block is never stale, and a hot image or metadata file is answered without a trip to NIO's thread pool and the
/// file system. Oldest out first; at most `capacity` bytes (so the server's memory does not grow with the store).
final class BlockCache: Sendable {
    /// The bytes kept at most.
    let capacity: Int
    private let state: Mutex<State>

    private struct State {
        var blocks: [CID: [UInt8]] = [:]
        /// Arrival order; `head` is the oldest still listed.
        var order: [CID] = []
        var head = 0
        var bytes = 0
    }

    init(capacity: Int) {
        self.capacity = capacity
        state = Mutex(State())
    }

    func get(_ cid: CID) -> [UInt8]? { state.withLock { $0.blocks[cid] } }

    /// Keeps `bytes` (checked against `cid` by whoever read them), dropping the oldest blocks to make room.
    func put(_ cid: CID, _ bytes: [UInt8]) {
        guard bytes.count <= capacity / 8 else { return }  // a large block would push out many small hot ones
        state.withLock { state in
            guard state.blocks[cid] == nil else { return }
            while state.bytes + bytes.count > capacity, state.head < state.order.count {
                let oldest = state.order[state.head]
                state.head += 1
                state.bytes -= state.blocks.removeValue(forKey: oldest)?.count ?? 0
            }
            if state.head > 1_024, state.head * 2 > state.order.count {  // compact the order now and then
                state.order.removeFirst(state.head)
                state.head = 0
            }
            state.blocks[cid] = bytes
            state.order.append(cid)
            state.bytes += bytes.count
        }
    }

    /// The bytes kept now.
    var bytes: Int { state.withLock { $0.bytes } }
}
