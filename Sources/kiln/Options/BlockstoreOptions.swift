// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

/// Where the blockstore lives.
struct BlockstoreOptions: ParsableArguments {
    @Option(name: .customLong("blocks"), help: "The blockstore folder (one file per block).")
    var folder = "kiln-data/blocks"
}
