import Foundation
import KilnCore
import Testing

struct BackoffTests {
    @Test func delaysDoubleWithJitterUpToTheLimit() {
        let backoff = Backoff(attempts: 5, first: .milliseconds(200), limit: .seconds(1))
        for _ in 0..<50 {
            let first = backoff.delay(retry: 1)
            #expect(first >= .milliseconds(100) && first <= .milliseconds(200))
            let second = backoff.delay(retry: 2)
            #expect(second >= .milliseconds(200) && second <= .milliseconds(400))
            let late = backoff.delay(retry: 9)
            #expect(late >= .milliseconds(500) && late <= .seconds(1), "capped at the limit")
        }
        let spread = Set((0..<50).map { _ in backoff.delay(retry: 3) })
        #expect(spread.count > 10, "jittered, so that clients refused together do not return together")
    }

    @Test func retryAfterIsHonouredAndCapped() {
        let backoff = Backoff(attempts: 3, first: .milliseconds(200), maxRetryAfter: .seconds(30))
        #expect(backoff.delay(retry: 1, retryAfter: .seconds(3)) == .seconds(3))
        #expect(backoff.delay(retry: 1, retryAfter: .seconds(3600)) == .seconds(30))
        #expect(Backoff.retryAfter(" 7 ") == .seconds(7))
        #expect(Backoff.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == nil, "an HTTP date: the computed backoff")
        #expect(Backoff.retryAfter("-1") == nil && Backoff.retryAfter(nil) == nil)
    }

    /// A cancelled wait ends with `CancellationError` (a swallowed cancellation would sleep the 30 s out and
    /// return normally).
    @Test func cancellationEndsTheWait() async {
        let backoff = Backoff(attempts: 2, first: .seconds(60))
        let task = Task { try await backoff.wait(retry: 1, retryAfter: .seconds(30)) }
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
    }
}

struct AtomicFileTests {
    @Test func writesReplaceAndFlushTheFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("a.bin").path
        try AtomicFile.write([1, 2, 3], to: path)
        try AtomicFile.write([4, 5], to: path, syncFolder: false)
        try AtomicFile.syncFolder(of: path)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == [4, 5])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["a.bin"], "no temporary file left")
        do {
            try AtomicFile.sync(folder: folder.path + "/missing")
            Issue.record("flushing a missing folder succeeded")
        } catch {
            #expect(error.description.contains("missing") && error.description.contains("No such file"))
        }
    }
}
