import CVeeamBlkSnapV1ABIProbe
import Testing

/// The C compiler's view of the VAL-6.3.1 ("blk_snap" v1) header, through its probe, against the literal ABI.
@Suite("C probe against the VAL-6.3.1 (\"blk_snap\" v1) ABI")
struct V1ProbeTests {
    @Test("every struct size and alignment", arguments: ExpectedV1ABI.types.map(\.name))
    func structLayout(name: String) throws {
        let expected = try #require(ExpectedV1ABI.types.first { $0.name == name })
        #expect(veeam_v1_abi_sizeof(name) == expected.size, "sizeof \(name)")
        #expect(veeam_v1_abi_alignof(name) == expected.alignment, "alignof \(name)")
    }

    @Test("every field offset and size")
    func fieldLayout() {
        for row in ExpectedV1ABI.fields {
            #expect(veeam_v1_abi_offsetof(row.type, row.field) == row.offset, "offsetof \(row.type).\(row.field)")
            #expect(veeam_v1_abi_fieldsize(row.type, row.field) == row.size, "fieldsize \(row.type).\(row.field)")
        }
    }

    @Test("every request number")
    func requestNumbers() {
        for row in ExpectedV1ABI.requests {
            #expect(veeam_v1_abi_request(row.name) == row.value, "\(row.name)")
        }
    }

    @Test("every enum value")
    func enumValues() {
        for row in ExpectedV1ABI.enums {
            #expect(veeam_v1_abi_constant(row.name) == row.value, "\(row.name)")
        }
    }

    @Test("every numeric constant")
    func constants() {
        for row in ExpectedV1ABI.constants {
            #expect(veeam_v1_abi_constant(row.name) == row.value, "\(row.name)")
        }
    }

    @Test("the probe covers the whole ABI and knows nothing else")
    func coverage() {
        #expect(Int(veeam_v1_abi_type_count()) == ExpectedV1ABI.types.count)
        #expect(Int(veeam_v1_abi_field_count()) == ExpectedV1ABI.fields.count)
        #expect(Int(veeam_v1_abi_request_count()) == ExpectedV1ABI.requests.count)
        #expect(Int(veeam_v1_abi_constant_count()) == ExpectedV1ABI.enums.count + ExpectedV1ABI.constants.count)
        #expect(ExpectedV1ABI.types.count == 23)
        #expect(ExpectedV1ABI.fields.count == 61)
        #expect(ExpectedV1ABI.requests.count == 15)
        #expect(veeam_v1_abi_sizeof("no_such_struct") == -1)
        #expect(veeam_v1_abi_offsetof("blk_snap_mod", "no_such_field") == -1)
        #expect(veeam_v1_abi_request("NO_SUCH_REQUEST") == 0)
        #expect(veeam_v1_abi_constant("NO_SUCH_CONSTANT") == -1)
    }
}
