// Kiln — Apache-2.0. See LICENSE.

internal import KilnContent
internal import Synchronization

/// The blocks `kiln serve` answered with last, in memory (``KeptBytes``): a block is named by its hash, so a kept
/// block is never stale, and a hot image or metadata file is answered without a trip to NIO's thread pool and the
/// file system.
typealias BlockCache = KeptBytes<CID, [UInt8]>

/// Values kept in memory up to a number of bytes, oldest out first, so the server's memory does not grow with the
/// store: only for values that never go stale (named by a hash, or answers about such values).
final class KeptBytes<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// The bytes kept at most.
    let capacity: Int
    private let size: @Sendable (Value) -> Int
    private let state: Mutex<State>

    private struct State {
        var values: [Key: Value] = [:]
        /// Arrival order; `head` is the oldest still listed.
        var order: [Key] = []
        var head = 0
        var bytes = 0
    }

    init(capacity: Int, size: @escaping @Sendable (Value) -> Int) {
        self.capacity = capacity
        self.size = size
        state = Mutex(State())
    }

    func get(_ key: Key) -> Value? { state.withLock { $0.values[key] } }

    /// Keeps `value` (checked by whoever made it), dropping the oldest values to make room.
    func put(_ key: Key, _ value: Value) {
        let bytes = size(value)
        guard bytes <= capacity / 8 else { return }  // a large value would push out many small hot ones
        let size = self.size
        state.withLock { state in
            guard state.values[key] == nil else { return }
            while state.bytes + bytes > capacity, state.head < state.order.count {
                let oldest = state.order[state.head]
                state.head += 1
                state.bytes -= state.values.removeValue(forKey: oldest).map(size) ?? 0
            }
            if state.head > 1_024, state.head * 2 > state.order.count {  // compact the order now and then
                state.order.removeFirst(state.head)
                state.head = 0
            }
            state.values[key] = value
            state.order.append(key)
            state.bytes += bytes
        }
    }

    /// The bytes kept now.
    var bytes: Int { state.withLock { $0.bytes } }
}

extension KeptBytes where Key == CID, Value == [UInt8] {
    convenience init(capacity: Int) { self.init(capacity: capacity, size: { $0.count }) }
}
