import CVeeamBlksnapABIProbe
import Testing

/// The C compiler's view of the VAL-7.0 ("veeamblksnap" + bdevfilter) header, through its probe, against the literal ABI.
@Suite("C probe against the VAL-7.0 (\"veeamblksnap\" + bdevfilter) ABI")
struct V7ProbeTests {
    @Test("every struct size and alignment", arguments: ExpectedV7ABI.types.map(\.name))
    func structLayout(name: String) throws {
        let expected = try #require(ExpectedV7ABI.types.first { $0.name == name })
        #expect(veeam_v7_abi_sizeof(name) == expected.size, "sizeof \(name)")
        #expect(veeam_v7_abi_alignof(name) == expected.alignment, "alignof \(name)")
    }

    @Test("every field offset and size")
    func fieldLayout() {
        for row in ExpectedV7ABI.fields {
            #expect(veeam_v7_abi_offsetof(row.type, row.field) == row.offset, "offsetof \(row.type).\(row.field)")
            #expect(veeam_v7_abi_fieldsize(row.type, row.field) == row.size, "fieldsize \(row.type).\(row.field)")
        }
    }

    @Test("every request number")
    func requestNumbers() {
        for row in ExpectedV7ABI.requests {
            #expect(veeam_v7_abi_request(row.name) == row.value, "\(row.name)")
        }
    }

    @Test("every enum value")
    func enumValues() {
        for row in ExpectedV7ABI.enums {
            #expect(veeam_v7_abi_constant(row.name) == row.value, "\(row.name)")
        }
    }

    @Test("every numeric constant")
    func constants() {
        for row in ExpectedV7ABI.constants {
            #expect(veeam_v7_abi_constant(row.name) == row.value, "\(row.name)")
        }
    }

    @Test("the probe covers the whole ABI and knows nothing else")
    func coverage() {
        #expect(Int(veeam_v7_abi_type_count()) == ExpectedV7ABI.types.count)
        #expect(Int(veeam_v7_abi_field_count()) == ExpectedV7ABI.fields.count)
        #expect(Int(veeam_v7_abi_request_count()) == ExpectedV7ABI.requests.count)
        #expect(Int(veeam_v7_abi_constant_count()) == ExpectedV7ABI.enums.count + ExpectedV7ABI.constants.count)
        #expect(ExpectedV7ABI.types.count == 18)
        #expect(ExpectedV7ABI.fields.count == 51)
        #expect(ExpectedV7ABI.requests.count == 12)
        #expect(veeam_v7_abi_sizeof("no_such_struct") == -1)
        #expect(veeam_v7_abi_offsetof("bdevfilter_ctl", "no_such_field") == -1)
        #expect(veeam_v7_abi_request("NO_SUCH_REQUEST") == 0)
        #expect(veeam_v7_abi_constant("NO_SUCH_CONSTANT") == -1)
    }
}
