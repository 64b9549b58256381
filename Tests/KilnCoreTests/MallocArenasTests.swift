// Kiln — Apache-2.0. See LICENSE.

import KilnCore
import Testing

@Suite struct MallocArenasTests {
    @Test func oneArenaPerCoreAndAtLeastTwo() {
        #expect(MallocArenas.limit(environment: [:], cores: 16) == 16)
        #expect(MallocArenas.limit(environment: [:], cores: 2) == 2)
        #expect(MallocArenas.limit(environment: [:], cores: 1) == 2)
        #expect(MallocArenas.limit(environment: ["PATH": "/usr/bin"], cores: 4) == 4)
    }

    @Test func anOperatorsMallocArenaMaxWins() {
        #expect(MallocArenas.limit(environment: ["MALLOC_ARENA_MAX": "8"], cores: 2) == nil)
        #expect(MallocArenas.limit(environment: ["MALLOC_ARENA_MAX": ""], cores: 2) == nil)
    }
}
