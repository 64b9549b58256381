// Kiln — Apache-2.0. See LICENSE.

#if canImport(Glibc)
    import Glibc
#endif

/// glibc's allocator, tuned once for commands that render token after token.
enum Allocator {
    /// A token's canvas, its straight copy and its PNG are about 0.6 MiB each. glibc maps blocks that large on
    /// their own at first and gives freed memory at the top of an arena back to the kernel past a threshold, so
    /// each new one faulted its pages in again: page faults and `madvise` were 3 % of `kiln batch`'s CPU. Blocks
    /// up to 4 MiB come from the arenas, and an arena keeps up to 8 MiB free at its top (the peak RSS of a
    /// 10 000-token batch is in docs/explanation/performance.md).
    static func keepRenderBuffers() {
        #if canImport(Glibc)
            // `mallopt` is declared in <malloc.h>, which Swift's Glibc module leaves out: looked up by name (it is
            // glibc's, so always there), with <malloc.h>'s parameter numbers.
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
            let (trimThreshold, mmapThreshold): (Int32, Int32) = (-1, -3)  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
            _ = mallopt(mmapThreshold, 4 << 20)
            _ = mallopt(trimThreshold, 8 << 20)
        #endif
    }
}
