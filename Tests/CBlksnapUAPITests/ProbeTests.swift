import CBlksnapABIProbe
import Testing

/// The C compiler's view of the UAPI (through the probe) against the literal ABI.
@Suite("C probe against the v5 ABI")
struct ProbeTests {
    @Test("every struct size and alignment", arguments: ExpectedABI.types.map(\.name))
    func structLayout(name: String) throws {
        let expected = try #require(ExpectedABI.types.first { $0.name == name })
        #expect(blksnap_abi_sizeof(name) == expected.size, "sizeof \(name)")
        #expect(blksnap_abi_alignof(name) == expected.alignment, "alignof \(name)")
    }

    @Test("every field offset and size")
    func fieldLayout() {
        for row in ExpectedABI.fields {
            #expect(blksnap_abi_offsetof(row.type, row.field) == row.offset, "offsetof \(row.type).\(row.field)")
            #expect(blksnap_abi_fieldsize(row.type, row.field) == row.size, "fieldsize \(row.type).\(row.field)")
        }
    }

    @Test("every request number")
    func requestNumbers() {
        for row in ExpectedABI.requests {
            #expect(blksnap_abi_request(row.name) == row.value, "\(row.name)")
        }
    }

    @Test("every enum value")
    func enumValues() {
        for row in ExpectedABI.enums {
            #expect(blksnap_abi_constant(row.name) == row.value, "\(row.name)")
        }
    }

    @Test("constants of the UAPI")
    func constants() {
        #expect(blksnap_abi_constant("BLKSNAP") == 0x56)
        #expect(blksnap_abi_constant("BLKFILTER_NAME_LENGTH") == 32)
        #expect(blksnap_abi_constant("UUID_SIZE") == 16)
        #expect(blksnap_abi_constant("IMAGE_DISK_NAME_LEN") == 32)
        #expect(blksnap_abi_constant("BLKSNAP_EVENT_COPY_IN_SIZE") == 20)
        #expect(blksnap_abi_constant("BLKSNAP_EVENT_DATA_CAPACITY") == 4064)
    }

    @Test("the probe covers the whole ABI and knows nothing else")
    func coverage() {
        #expect(Int(blksnap_abi_type_count()) == ExpectedABI.types.count)
        #expect(Int(blksnap_abi_field_count()) == ExpectedABI.fields.count)
        #expect(Int(blksnap_abi_request_count()) == ExpectedABI.requests.count)
        #expect(ExpectedABI.types.count == 15)
        #expect(ExpectedABI.requests.count == 12)
        #expect(blksnap_abi_sizeof("no_such_struct") == -1)
        #expect(blksnap_abi_offsetof("blkfilter_ctl", "no_such_field") == -1)
        #expect(blksnap_abi_request("NO_SUCH_REQUEST") == 0)
    }
}
