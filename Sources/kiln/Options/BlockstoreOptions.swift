// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

/// Where the blockstore lives.
struct BlockstoreOptions: ParsableArguments {
    @Option(
        name: .customLong("blocks"),
        help:
            "The blockstore folder (its blocks.sqlite and block files); the default is where kiln batch writes with kiln.yml's default out."
    )
    var folder = "kiln-data/out/blocks"
}
