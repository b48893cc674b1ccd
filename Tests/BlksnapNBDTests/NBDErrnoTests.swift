import BlksnapNBD
import SystemPackage
import Testing

@Suite struct NBDErrnoTests {
    @Test func theTableOfNBDErrors() {
        let table: [(Errno, NBDError)] = [
            (.notPermitted, .permissionDenied), (.readOnlyFileSystem, .permissionDenied),
            (.ioError, .ioError), (.noMemory, .noMemory), (.invalidArgument, .invalidArgument),
            (.noSpace, .noSpace), (.fileTooLarge, .noSpace), (.diskQuotaExceeded, .noSpace),
            (.overflow, .overflow), (.notSupported, .notSupported), (.socketShutdown, .shutdown),
        ]
        for (errno, error) in table {
            #expect(NBDError(errno: errno) == error, "\(errno)")
        }
    }

    @Test func errorsTheProtocolHasNoValueForAreEIO() {
        for errno: Errno in [.noSuchFileOrDirectory, .noSuchAddressOrDevice, .badFileDescriptor, .permissionDenied, .resourceBusy] {
            #expect(NBDError(errno: errno) == .ioError, "\(errno)")
        }
        #expect(NBDSourceError(errno: .noSpace, message: "full", isFatal: false).nbdError == .noSpace)
    }
}
