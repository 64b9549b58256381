// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnPipeline
import KilnStore

struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Back up, restore and check a SQLite store (PostgreSQL: pg_dump, see docs/guides/running-kiln.md).",
        subcommands: [Backup.self, Restore.self, Check.self]
    )

    /// The SQLite store kiln.yml names, opened; a PostgreSQL store gets the pg_dump pointer.
    static func sqlite(_ options: PipelineOptions) async throws -> SQLiteStore {
        let configuration = try options.configuration()
        guard let store = try await configuration.openStore() as? SQLiteStore else {
            throw CLIError(
                "the store is PostgreSQL: back it up with pg_dump and restore with pg_restore "
                    + "(docs/guides/running-kiln.md#backups)"
            )
        }
        return store
    }

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Copy the store to a new file with SQLite's online backup: one consistent moment, safe while batches run."
        )
        @Argument(help: "The backup file to write (must not exist).") var file: String
        @OptionGroup var options: PipelineOptions

        func run() async throws {
            let store = try await StoreCommand.sqlite(options)
            try await store.backup(to: file)
            let check = try SQLiteStore.check(file: file)
            print(
                "\(file): a copy of \(store.path) — \(check.batches) batch(es), \(check.jobs) job(s), "
                    + "\(check.publications) publication(s), schema \(check.schema.joined(separator: ", "))"
            )
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the store with a backup, after checking it; refused while a kiln batch holds the store.",
            discussion: """
                The blocks a restored store's publications name must be in OUT/blocks (restore the output folder \
                from the same moment or later: blocks are content-addressed, a later folder has them all). A batch \
                that was open in the backup is finished by the next 'kiln batch'.
                """
        )
        @Argument(help: "The backup file.") var file: String
        @OptionGroup var options: PipelineOptions

        func run() async throws {
            let store = try await StoreCommand.sqlite(options)
            guard let lock = try await store.tryLock() else {
                throw CLIError("a kiln batch holds \(store.path): wait for it to end, then restore")
            }
            try await store.restore(from: file)
            withExtendedLifetime(lock) {}
            let check = try SQLiteStore.check(file: store.path)
            print(
                "\(store.path): restored from \(file) — \(check.batches) batch(es), \(check.jobs) job(s), "
                    + "\(check.publications) publication(s)"
            )
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check a store file (or the configured store): integrity, foreign keys, a schema this kiln knows.",
            discussion: "Exits 1 when a problem is found, so it can vet a backup before it is needed."
        )
        @Argument(help: "A store or backup file (default: the store kiln.yml names).") var file: String?
        @OptionGroup var options: PipelineOptions

        func run() async throws {
            var path = file ?? ""
            if file == nil { path = try await StoreCommand.sqlite(options).path }
            let check = try SQLiteStore.check(file: path)
            for problem in check.problems { print("problem   \(problem)") }
            print(
                "\(path): \(check.problems.isEmpty ? "OK" : "\(check.problems.count) problem(s)") — "
                    + "\(check.batches) batch(es), \(check.jobs) job(s), \(check.publications) publication(s), "
                    + "schema \(check.schema.joined(separator: ", "))"
            )
            if !check.problems.isEmpty { throw ExitCode.failure }
        }
    }
}
