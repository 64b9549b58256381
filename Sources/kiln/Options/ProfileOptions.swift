// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

/// Options shared by every command that makes CIDs.
struct ProfileOptions: ParsableArguments {
    @Option(
        help: "Import profile: kubo-v1 (ipfs add --cid-version=1), unixfs-v1-2025 (IPIP-499), kubo-v0 (plain ipfs add)."
    )
    var profile: ProfileName = .kuboV1

    @Flag(help: "Include files and folders whose names start with '.' (ipfs add --hidden).")
    var hidden = false

    func importer() throws -> Importer {
        Importer(profile: try ImportProfile(named: profile.rawValue), includeHidden: hidden)
    }

    func validate() throws {
        do { _ = try ImportProfile(named: profile.rawValue) } catch { throw ValidationError(error.message) }
    }
}

/// The import profiles' names, for `--profile` (so `--help` and completions list them).
enum ProfileName: String, CaseIterable, ExpressibleByArgument {
    case kuboV1 = "kubo-v1"
    case unixfsV1_2025 = "unixfs-v1-2025"
    case kuboV0 = "kubo-v0"
}
