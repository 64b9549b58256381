import BigInt
import KilnCore
@testable import KilnTemplates
import Testing

let here = SourceLocation(file: "t.yml", line: 3, column: 10)

func parse(_ text: String) throws -> Expression { try Expression.parse(text, at: here) }

let scope = TypeScope(
    state: ["level": .int, "name": .string, "ratio": .decimal, "alive": .bool, "owner": .string],
    event: ["to": .string, "level": .int]
)

func eval(_ text: String, state: [String: Value] = [:], id: BigUInt = 7) throws -> Value {
    let e = try parse(text)
    _ = try e.type(in: scope)
    let defaults: [String: Value] = [
        "level": .int(3), "name": .string("Ada"), "ratio": .decimal(0.5), "alive": .bool(true),
        "owner": .string("0xab"),
    ]
    return try e.evaluate(
        in: Environment(
            tokenId: id,
            contract: "0x00000000000000000000000000000000000000AA",
            state: defaults.merging(state) { $1 },
            event: ["to": .string("0xcd"), "level": .int(9)]
        )
    )
}

struct ExpressionParserTests {
    @Test(
        arguments: [
            ("1 + 2 * 3", "(1 + (2 * 3))"),
            ("(1 + 2) * 3", "((1 + 2) * 3)"),
            ("1 - 2 - 3", "((1 - 2) - 3)"),
            ("8 / 4 % 3", "((8 / 4) % 3)"),
            ("-2 * -x(1)", "((- 2) * (- x(1)))"),
            ("not a(1) and b(2) or c(3)", "(((not a(1)) and b(2)) or c(3))"),
            ("a(1) or b(2) and c(3)", "(a(1) or (b(2) and c(3)))"),
            ("1 + 2 < 4 and true", "(((1 + 2) < 4) and true)"),
            ("state.level >= 10", "(state.level >= 10)"),
            ("event.to == token.contract", "(event.to == token.contract)"),
            ("'it''s'", "\"it\"\"s\""),
            ("\"a\\\"b\"", "\"a\"b\""),
            ("if(state.alive, 'x', \"y\")", "if(state.alive, \"x\", \"y\")"),
            ("pick('k', {'gold': 1, 'iron': 6})", "pick(\"k\", {\"gold\": 1, \"iron\": 6})"),
            ("1_000_000", "1000000"),
            ("2.50", "2.5"),
            ("f()", "f()"),
        ] as [(String, String)]
    )
    func precedenceAndForms(_ text: String, _ expected: String) throws {
        if text == "'it''s'" {  // two adjacent strings are not one expression
            #expect(throws: TemplateError.self) { try parse(text) }
            return
        }
        #expect(try parse(text).description == expected)
    }

    @Test func bigIntegersStayExact() throws {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        #expect(try eval(max) == .int(BigInt(max)!))
        #expect(try eval("\(max) + 1") == .int(BigInt(max)! + 1))
        #expect(try eval("token.id * token.id", id: BigUInt(max)!) == .int(BigInt(max)! * BigInt(max)!))
    }

    @Test(
        arguments: [
            ("1 +", 13, "expected a value, found the end of the expression"),
            ("(1 + 2", 16, "expected ')' to close '(', found end of expression"),
            ("1 + + 2", 14, "expected a value, found '+'"),
            ("state.", 16, "expected a name after 'state.'"),
            (
                "stat.level", 10,
                "unknown name 'stat'; values are state.NAME, event.NAME, token.id, token.contract (did you mean 'state'?)"
            ),
            ("1 = 2", 12, "'=' is not an operator; compare with '=='"),
            ("a && b", 12, "use 'and' / 'or' instead of '&'"),
            ("!x", 10, "use 'not' instead of '!'"),
            ("'open", 10, "unterminated string"),
            ("1 < 2 < 3", 16, "comparisons don't chain: write 'a < b and b < c'"),
            ("12abc", 12, "a number runs into 'a'"),
            ("1 2", 12, "unexpected number 2 after the expression"),
            ("{'a': 1}", 10, "a weights object {\"name\": weight, …} is only allowed as pick's second argument"),
            ("pick('k', {'a': 1, 'a': 2})", 29, "'a' appears twice in the weights object"),
            ("'a\\q'", 12, "unknown escape '\\q' in a string"),
            ("#", 10, "unexpected character '#'"),
        ] as [(String, Int, String)]
    )
    func syntaxErrorsSayWhere(_ text: String, _ column: Int, _ message: String) {
        #expect(throws: TemplateError(SourceLocation(file: "t.yml", line: 3, column: column), message)) {
            try parse(text)
        }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "(", count: 200) + "1" + String(repeating: ")", count: 200)
        #expect { try parse(deep) } throws: {
            ($0 as! TemplateError).description.contains("nested deeper than 64 levels")
        }
        let minus = String(repeating: "-", count: 500) + "1"
        #expect { try parse(minus) } throws: {
            ($0 as! TemplateError).description.contains("nested deeper than 64 levels")
        }
    }
}

struct ExpressionTypeTests {
    @Test(
        arguments: [
            ("state.level + 1", ValueType.int), ("state.level + 0.5", .decimal), ("state.name + 'x'", .string),
            ("state.level > 2 and state.alive", .bool), ("min(1, 2.5)", .decimal), ("max(1, 2)", .int),
            ("clamp(state.level, 0, 10)", .int),
            ("len(state.name)", .int), ("upper(state.name)", .string), ("hex(token.id)", .string),
            ("str(state.ratio)", .string),
            ("int('42')", .int), ("if(state.alive, 1, 2.0)", .decimal), ("event.level * 2", .int),
            ("token.contract", .string),
            ("pick(state.owner, {'a': 1})", .string),
        ] as [(String, ValueType)]
    )
    func types(_ text: String, _ type: ValueType) throws {
        #expect(try parse(text).type(in: scope) == type)
    }

    @Test(
        arguments: [
            ("state.levl", 10, "unknown state 'state.levl' (did you mean 'level'?)"),
            (
                "state.level + 'x'", 22,
                "'+' adds numbers or joins strings, found int and string (use str() to join a number)"
            ),
            ("not state.level", 10, "'not' needs a bool, found int"),
            ("state.alive and 1", 22, "'and' needs bools, found bool and int"),
            ("state.name < 3", 21, "'<' needs two numbers or two strings, found string and int"),
            ("if(state.level, 1, 2)", 13, "if()'s condition must be a bool, found int"),
            ("if(state.alive, 1, 'x')", 10, "if()'s two branches have different types: int and string"),
            ("len(1)", 14, "len() needs a string, found int"),
            ("lenn('x')", 10, "unknown function 'lenn' (did you mean 'len'?)"),
            ("min()", 10, "min() takes 1…16 arguments, found 0"),
            ("pick(1, {'a': 1})", 15, "pick()'s key must be a string"),
            ("pick('k', 3)", 20, "pick()'s second argument must be a weights object like {\"gold\": 1, \"iron\": 6}"),
            ("pick('k', {'a': 0})", 20, "pick() weights must be whole numbers ≥ 0, at least one of them > 0"),
            ("token.owner", 10, "unknown 'token.owner': use token.id or token.contract"),
            ("-state.name", 10, "'-' needs a number, found string"),
        ] as [(String, Int, String)]
    )
    func typeErrorsSayWhere(_ text: String, _ column: Int, _ message: String) {
        #expect(throws: TemplateError(SourceLocation(file: "t.yml", line: 3, column: column), message)) {
            try parse(text).type(in: scope)
        }
    }

    @Test func eventNamesOnlyInsideEvents() {
        #expect(
            throws: TemplateError(
                here,
                "'event.to' is only available in an event's 'set' (here only state and token are)"
            )
        ) {
            try parse("event.to").type(in: TypeScope(state: [:]))
        }
    }
}

struct ExpressionEvaluationTests {
    @Test(
        arguments: [
            ("7 / 2", Value.int(3)), ("-7 / 2", .int(-4)), ("-7 % 3", .int(2)), ("7 % -3", .int(-2)),
            ("7.0 / 2", .decimal(3.5)),
            ("1 + 2 * 3 - 4", .int(3)), ("'a' + 'b'", .string("ab")), ("'b' > 'a'", .bool(true)),
            ("2 == 2.0", .bool(true)),
            ("state.level >= 3 and state.alive", .bool(true)), ("min(4, 2, 9)", .int(2)),
            ("max(1, 2.5)", .decimal(2.5)),
            ("clamp(15, 0, 10)", .int(10)), ("clamp(-1.5, 0, 1)", .decimal(0)), ("len('héllo')", .int(5)),
            ("upper('abc')", .string("ABC")),
            ("lower('ABC')", .string("abc")), ("hex(255)", .string("0xff")), ("str(2.0)", .string("2")),
            ("str(0.1 + 0.2)", .string("0.30000000000000004")),
            ("str(true)", .string("true")), ("int('42')", .int(42)), ("int('0x1f')", .int(31)), ("int(-2.7)", .int(-2)),
            ("int(true)", .int(1)),
            ("if(state.alive, 'yes', 'no')", .string("yes")), ("if(false, 1, 2.5)", .decimal(2.5)),
            ("if(true, 1, 2.5)", .decimal(1)),
            ("token.id + 1", .int(8)), ("token.contract", .string("0x00000000000000000000000000000000000000aa")),
            ("event.level - state.level", .int(6)), ("false and 1 / 0 == 1", .bool(false)),
            ("true or 1 / 0 == 1", .bool(true)),
        ] as [(String, Value)]
    )
    func values(_ text: String, _ expected: Value) throws {
        #expect(try eval(text) == expected)
    }

    @Test(
        arguments: [
            ("1 / 0", "division by zero"), ("5 % 0", "modulo by zero"),
            ("int('x1')", "int() of \"x1\": not a whole number"),
            ("hex(-1)", "hex() of a negative number (-1)"), ("clamp(1, 5, 2)", "clamp() bounds are reversed: 5 > 2"),
        ] as [(String, String)]
    )
    func runtimeErrors(_ text: String, _ message: String) {
        #expect { try eval(text) } throws: { ($0 as! TemplateError).diagnostics.first?.message == message }
    }

    @Test func pickIsDeterministicWeightedAndOrderFree() throws {
        let a = "pick('armor', {'gold': 1, 'silver': 3, 'iron': 6})"
        let b = "pick('armor', {'iron': 6, 'gold': 1, 'silver': 3})"
        var counts: [String: Int] = [:]
        for id in 1...3000 {
            let first = try eval(a, id: BigUInt(id))
            #expect(try eval(a, id: BigUInt(id)) == first, "same token, same draw")
            #expect(try eval(b, id: BigUInt(id)) == first, "the order of the weights does not matter")
            counts[first.description, default: 0] += 1
        }
        // 10 %, 30 %, 60 % within a generous margin (3000 draws).
        #expect((200...400).contains(counts["gold"] ?? 0), "\(counts)")
        #expect((780...1020).contains(counts["silver"] ?? 0), "\(counts)")
        #expect((1650...1950).contains(counts["iron"] ?? 0), "\(counts)")
        // The key and the contract change the draw; the weights' zero entries never come up.
        let keys = try (1...50).map { try eval("pick('k\($0)', {'a': 1, 'b': 1})", id: 1).description }
        #expect(Set(keys).count == 2)
        #expect(
            try (1...200).allSatisfy {
                try eval("pick('z', {'never': 0, 'always': 5})", id: BigUInt($0)) == .string("always")
            }
        )
    }

    @Test func pickDrawIsTheDocumentedKeccak() throws {
        // keccak256("kiln.pick\0<contract>\0<id>\0<key>") mod total, choices sorted by name.
        let seed = "kiln.pick\u{0}0x00000000000000000000000000000000000000aa\u{0}7\u{0}armor"
        let draw = BigUInt(bigEndian: Keccak256.hash(utf8: seed).bytes) % 10
        let expected = draw < 1 ? "gold" : draw < 7 ? "iron" : "silver"  // gold 1, iron 6, silver 3
        #expect(try eval("pick('armor', {'gold': 1, 'silver': 3, 'iron': 6})") == .string(expected))
    }

    @Test func interpolation() throws {
        let text = try Interpolation("armor_{{state.name}}_{{ state.level + 1 }}.png", at: here)
        #expect(
            try text.evaluate(
                in: Environment(tokenId: 1, contract: "0x", state: ["name": .string("gold"), "level": .int(2)])
            ) == "armor_gold_3.png"
        )
        #expect(try Interpolation("{{state.level}}", at: here).soleExpression?.description == "state.level")
        #expect(try Interpolation("plain", at: here).soleExpression == nil)
        #expect(throws: TemplateError(here.advanced(by: 4), "'{{' without a closing '}}'")) {
            try Interpolation("abc {{state.x", at: here)
        }
        #expect(throws: TemplateError(here.advanced(by: 9), "expected a value, found the end of the expression")) {
            try Interpolation("x {{ 1 + }}", at: here)
        }
    }
}

struct UncheckedEvaluationTests {
    /// `evaluate` is public: an expression that never went through the type checker gets an error, never a crash.
    @Test(arguments: [
        "min()", "max()", "clamp(1, 2)", "min(\"a\", \"b\")", "clamp(\"a\", 1, 2)", "if(true, 1)", "len()", "nosuch(1)",
        "upper(1, 2)",
    ])
    func uncheckedCallsThrowInsteadOfCrashing(text: String) throws {
        let expression = try parse(text)
        #expect(throws: TemplateError.self, "\(text)") {
            try expression.evaluate(in: Environment(tokenId: 1, contract: "0x", state: [:]))
        }
    }
}
