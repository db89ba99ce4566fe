import Foundation

/// A value on the pickle machine's stack.
///
/// Lists and dicts are reference boxes because pickles mutate them after memoizing them.
/// Nothing is ever imported or executed: globals stay names, and calling one goes through the
/// machine's `call` hook, which models the few callables a torch checkpoint uses.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too large for Int; its value is not kept.
    case bigInteger
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A module-level name, e.g. ("torch._utils", "_rebuild_tensor_v2").
    case global(module: String, name: String)
    /// Something the hooks built (a storage, a tensor), or an unmodelled object.
    case opaque(Any)
}

/// A mutable pickled list (or set).
final class PickleList {
    var items: [PickleValue] = []
}

/// A mutable pickled dict, keeping insertion order as OrderedDict does.
final class PickleDict {
    var entries: [(key: PickleValue, value: PickleValue)] = []
}

/// A pickle virtual machine for the opcodes of protocols 0 to 5 that data (not code) uses.
///
/// Follows CPython's Lib/pickletools.py, which documents every opcode and its argument.
struct PickleMachine {
    /// Resolves a persistent id (BINPERSID, PERSID) into a value.
    var persistentLoad: (PickleValue) throws -> PickleValue

    /// Models calling `module.name(arguments...)` (REDUCE, NEWOBJ, OBJ, INST).
    var call: (_ module: String, _ name: String, _ arguments: [PickleValue]) throws -> PickleValue

    /// Runs the pickle in `bytes` and returns the value that STOP leaves.
    /// `path` and `label` ("archive/data.pkl") name it in errors.
    func run(_ bytes: UnsafeRawBufferPointer, path: String, label: String) throws -> PickleValue {
        var run = Run(machine: self, reader: ByteReader(
            bytes, path: path, label: label, overrunIsTruncation: false))
        return try run.execute()
    }
}

/// The state of one run: stack, marks and memo.
private struct Run {
    let machine: PickleMachine
    var reader: ByteReader
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    var opcodeOffset = 0
    var opcode: UInt8 = 0

    init(machine: PickleMachine, reader: ByteReader) {
        self.machine = machine
        self.reader = reader
    }

    func failure(_ reason: String) -> MT5Error {
        let hex = String(opcode, radix: 16)
        return .malformedFile(
            path: reader.path,
            reason: "\(reader.label): opcode 0x\(hex) at byte \(opcodeOffset): \(reason)")
    }

    mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast(), stack.count >= (marks.last ?? 0) else {
            throw failure("stack is empty")
        }
        return value
    }

    /// Removes and returns everything pushed since the last MARK.
    mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw failure("no MARK to pop to") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    func top() throws -> PickleValue {
        guard let value = stack.last else { throw failure("stack is empty") }
        return value
    }

    func text(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes Python's raw-unicode-escape: each byte is a Latin-1 character, except that
    /// `\u` with 4 hex digits and `\U` with 8 spell other code points.
    func rawUnicodeEscapeText(_ bytes: UnsafeRawBufferPointer) throws -> String {
        var scalars = String.UnicodeScalarView()
        var position = 0
        while position < bytes.count {
            let byte = bytes[position]
            let digits = position + 1 < bytes.count && byte == UInt8(ascii: "\\")
                ? (bytes[position + 1] == UInt8(ascii: "u") ? 4
                    : bytes[position + 1] == UInt8(ascii: "U") ? 8 : 0)
                : 0
            guard digits > 0 else {
                scalars.append(Unicode.Scalar(byte))
                position += 1
                continue
            }
            let start = position + 2
            guard start + digits <= bytes.count,
                let code = UInt32(text(UnsafeRawBufferPointer(
                    rebasing: bytes[start..<(start + digits)])), radix: 16),
                let scalar = Unicode.Scalar(code)
            else { throw failure("bad \\u escape in a UNICODE string") }
            scalars.append(scalar)
            position = start + digits
        }
        return String(scalars)
    }

    mutating func lineText() throws -> String {
        try text(reader.readLine())
    }

    mutating func count<T: FixedWidthInteger>(_ type: T.Type) throws -> Int {
        let value = try reader.read(type)
        guard let result = Int(exactly: value), result >= 0 else {
            throw failure("length \(value) is not valid")
        }
        return result
    }

    /// A little-endian two's-complement integer of `length` bytes (LONG1, LONG4).
    mutating func longInteger(length: Int) throws -> PickleValue {
        let bytes = try reader.readBytes(length)
        guard length > 0 else { return .int(0) }
        guard length <= 8 else { return .bigInteger }
        var value: UInt64 = 0
        for (position, byte) in bytes.enumerated() {
            value |= UInt64(byte) << (8 * UInt64(position))
        }
        if length < 8, bytes[length - 1] & 0x80 != 0 {
            value |= UInt64.max << (8 * UInt64(length))
        }
        return .int(Int(Int64(bitPattern: value)))
    }

    mutating func callValue(_ callable: PickleValue, _ arguments: PickleValue) throws
        -> PickleValue
    {
        guard case .global(let module, let name) = callable else {
            throw failure("calls something that is not a global name")
        }
        let list: [PickleValue]
        switch arguments {
        case .tuple(let items): list = items
        case .none: list = []
        default: throw failure("arguments to \(module).\(name) are not a tuple")
        }
        return try machine.call(module, name, list)
    }

    mutating func setItems(_ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw failure("odd number of keys and values") }
        guard case .dict(let dict) = try top() else { return }
        for index in stride(from: 0, to: items.count, by: 2) {
            dict.entries.append((key: items[index], value: items[index + 1]))
        }
    }

    mutating func appendItems(_ items: [PickleValue]) throws {
        guard case .list(let list) = try top() else { return }
        list.items.append(contentsOf: items)
    }

    mutating func execute() throws -> PickleValue {
        while true {
            opcodeOffset = reader.position
            opcode = try reader.read(UInt8.self)
            switch opcode {
            case 0x80:  // PROTO
                let version = try reader.read(UInt8.self)
                guard version <= 5 else { throw failure("pickle protocol \(version) unknown") }
            case 0x95:  // FRAME
                _ = try reader.read(UInt64.self)
            case UInt8(ascii: "."):  // STOP
                return try pop()
            case UInt8(ascii: "("):  // MARK
                marks.append(stack.count)
            case UInt8(ascii: "0"):  // POP
                if stack.count > (marks.last ?? 0) { _ = try pop() } else { _ = try popToMark() }
            case UInt8(ascii: "1"):  // POP_MARK
                _ = try popToMark()
            case UInt8(ascii: "2"):  // DUP
                stack.append(try top())

            case UInt8(ascii: "N"): stack.append(.none)
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case UInt8(ascii: "J"):  // BININT
                stack.append(.int(Int(try reader.read(Int32.self))))
            case UInt8(ascii: "K"):  // BININT1
                stack.append(.int(Int(try reader.read(UInt8.self))))
            case UInt8(ascii: "M"):  // BININT2
                stack.append(.int(Int(try reader.read(UInt16.self))))
            case 0x8A:  // LONG1
                stack.append(try longInteger(length: count(UInt8.self)))
            case 0x8B:  // LONG4
                stack.append(try longInteger(length: count(Int32.self)))
            case UInt8(ascii: "I"), UInt8(ascii: "L"):  // INT, LONG (text)
                var line = try lineText()
                if line.hasSuffix("L") { line.removeLast() }
                if line == "00" || line == "01" {
                    stack.append(.bool(line == "01"))
                } else if let value = Int(line) {
                    stack.append(.int(value))
                } else {
                    stack.append(.bigInteger)
                }
            case UInt8(ascii: "G"):  // BINFLOAT, big-endian
                stack.append(.float(Double(bitPattern: try reader.read(UInt64.self).byteSwapped)))
            case UInt8(ascii: "F"):  // FLOAT (text)
                guard let value = Double(try lineText()) else { throw failure("not a float") }
                stack.append(.float(value))

            case UInt8(ascii: "X"):  // BINUNICODE
                stack.append(.string(text(try reader.readBytes(count(UInt32.self)))))
            case 0x8C:  // SHORT_BINUNICODE
                stack.append(.string(text(try reader.readBytes(count(UInt8.self)))))
            case 0x8D:  // BINUNICODE8
                stack.append(.string(text(try reader.readBytes(count(UInt64.self)))))
            case UInt8(ascii: "V"):  // UNICODE
                stack.append(.string(try rawUnicodeEscapeText(reader.readLine())))
            case UInt8(ascii: "U"):  // SHORT_BINSTRING
                stack.append(.string(text(try reader.readBytes(count(UInt8.self)))))
            case UInt8(ascii: "T"):  // BINSTRING
                stack.append(.string(text(try reader.readBytes(count(Int32.self)))))
            case UInt8(ascii: "S"):  // STRING (quoted text)
                let line = try lineText()
                stack.append(.string(String(line.dropFirst().dropLast())))
            case UInt8(ascii: "C"):  // SHORT_BINBYTES
                stack.append(.bytes(Array(try reader.readBytes(count(UInt8.self)))))
            case UInt8(ascii: "B"):  // BINBYTES
                stack.append(.bytes(Array(try reader.readBytes(count(UInt32.self)))))
            case 0x8E, 0x96:  // BINBYTES8, BYTEARRAY8
                stack.append(.bytes(Array(try reader.readBytes(count(UInt64.self)))))

            case UInt8(ascii: ")"): stack.append(.tuple([]))  // EMPTY_TUPLE
            case UInt8(ascii: "t"): stack.append(.tuple(try popToMark()))  // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))  // TUPLE1
            case 0x86:  // TUPLE2
                let second = try pop()
                stack.append(.tuple([try pop(), second]))
            case 0x87:  // TUPLE3
                let third = try pop()
                let second = try pop()
                stack.append(.tuple([try pop(), second, third]))

            case UInt8(ascii: "]"), 0x8F:  // EMPTY_LIST, EMPTY_SET
                stack.append(.list(PickleList()))
            case UInt8(ascii: "l"), 0x91:  // LIST, FROZENSET
                let list = PickleList()
                list.items = try popToMark()
                stack.append(.list(list))
            case UInt8(ascii: "a"):  // APPEND
                try appendItems([try pop()])
            case UInt8(ascii: "e"), 0x90:  // APPENDS, ADDITEMS
                try appendItems(try popToMark())

            case UInt8(ascii: "}"): stack.append(.dict(PickleDict()))  // EMPTY_DICT
            case UInt8(ascii: "d"):  // DICT
                let items = try popToMark()
                stack.append(.dict(PickleDict()))
                try setItems(items)
            case UInt8(ascii: "s"):  // SETITEM
                let value = try pop()
                let key = try pop()
                try setItems([key, value])
            case UInt8(ascii: "u"):  // SETITEMS
                try setItems(try popToMark())

            case UInt8(ascii: "c"):  // GLOBAL
                let module = try lineText()
                stack.append(.global(module: module, name: try lineText()))
            case 0x93:  // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop()
                else { throw failure("STACK_GLOBAL needs two strings") }
                stack.append(.global(module: module, name: name))
            case UInt8(ascii: "R"), 0x81:  // REDUCE, NEWOBJ
                let arguments = try pop()
                stack.append(try callValue(try pop(), arguments))
            case 0x92:  // NEWOBJ_EX (keyword arguments are dropped)
                _ = try pop()
                let arguments = try pop()
                stack.append(try callValue(try pop(), arguments))
            case UInt8(ascii: "o"):  // OBJ
                var items = try popToMark()
                guard !items.isEmpty else { throw failure("OBJ without a class") }
                let callable = items.removeFirst()
                stack.append(try callValue(callable, .tuple(items)))
            case UInt8(ascii: "i"):  // INST
                let module = try lineText()
                let name = try lineText()
                stack.append(try callValue(.global(module: module, name: name),
                                           .tuple(try popToMark())))
            case UInt8(ascii: "b"):  // BUILD: state is dropped (a state_dict's _metadata)
                _ = try pop()
                _ = try top()
            case UInt8(ascii: "Q"):  // BINPERSID
                stack.append(try machine.persistentLoad(try pop()))
            case UInt8(ascii: "P"):  // PERSID
                stack.append(try machine.persistentLoad(.string(try lineText())))

            case UInt8(ascii: "q"): memo[try count(UInt8.self)] = try top()  // BINPUT
            case UInt8(ascii: "r"): memo[try count(UInt32.self)] = try top()  // LONG_BINPUT
            case UInt8(ascii: "p"):  // PUT
                guard let index = Int(try lineText()) else { throw failure("bad memo index") }
                memo[index] = try top()
            case 0x94: memo[memo.count] = try top()  // MEMOIZE
            case UInt8(ascii: "h"): try get(count(UInt8.self))  // BINGET
            case UInt8(ascii: "j"): try get(count(UInt32.self))  // LONG_BINGET
            case UInt8(ascii: "g"):  // GET
                guard let index = Int(try lineText()) else { throw failure("bad memo index") }
                try get(index)

            default:
                throw failure("unsupported pickle opcode")
            }
        }
    }

    mutating func get(_ index: Int) throws {
        guard let value = memo[index] else { throw failure("memo slot \(index) is empty") }
        stack.append(value)
    }
}
