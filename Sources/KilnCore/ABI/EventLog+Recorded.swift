// Kiln — Apache-2.0. See LICENSE.

extension EventLog {
    /// Reads logs recorded one JSON object per line, as `eth_getLogs` returns each (blank lines and `#` comments
    /// are skipped), and calls `body` with each line's number and its log, or why the line is not one.
    ///
    /// Lines are split as bytes, not Characters: a recorded file of 20 000 logs is read on every batch, and
    /// grapheme breaking was most of a no-change batch's time.
    /// - Parameter firstLine: the number of the first line of `bytes` (a file read from a mark onwards).
    /// - Returns: how many lines there were (pieces between newlines, the last one after the final newline included).
    @discardableResult
    public static func forEachRecorded<E: Error>(
        in bytes: ArraySlice<UInt8>,
        firstLine: Int = 1,
        _ body: (_ line: Int, _ log: Result<EventLog, FormatError>) throws(E) -> Void
    ) throws(E) -> Int {
        var lineNumber = firstLine - 1
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if trimmed.isEmpty || trimmed.first == UInt8(ascii: "#") { continue }
            let log: Result<EventLog, FormatError>
            do throws(FormatError) {
                log = .success(try EventLog(json: try JSONValue.parse(bytes: Array(trimmed))))
            } catch {
                log = .failure(error)
            }
            try body(lineNumber, log)
        }
        return lineNumber - firstLine + 1
    }

    /// The logs of a file: one JSON array of log objects, or recorded lines (``forEachRecorded(in:firstLine:_:)``),
    /// each with its line (or, in an array, its position from 1).
    /// - Throws: ``FormatError`` whose message starts with `name:line:` for a line that is not a log, or `name:`
    ///   for an array that is not one.
    public static func readRecorded(_ bytes: [UInt8], name: String) throws(FormatError) -> [(line: Int, log: EventLog)]
    {
        if bytes.first(where: { ![0x20, 0x09, 0x0D, 0x0A].contains($0) }) == UInt8(ascii: "[") {
            do throws(FormatError) {
                guard case .array(let items) = try JSONValue.parse(bytes: bytes) else { return [] }
                var logs: [(line: Int, log: EventLog)] = []
                for (index, item) in items.enumerated() { logs.append((index + 1, try EventLog(json: item))) }
                return logs
            } catch {
                throw FormatError(error.code, "\(name): \(error.message)", cause: error)
            }
        }
        var logs: [(line: Int, log: EventLog)] = []
        try forEachRecorded(in: bytes[...]) { (line, log) throws(FormatError) in
            switch log {
            case .success(let log): logs.append((line, log))
            case .failure(let error): throw FormatError(error.code, "\(name):\(line): \(error.message)", cause: error)
            }
        }
        return logs
    }
}
