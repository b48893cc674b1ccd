import BlksnapKit

extension ModuleDetectionError {
    /// The CLI's one-line failure: the library's message plus the simulator remedy.
    func commandFailure(simSocket: String?) -> CommandFailure {
        if let underlying { return Backend.failure(underlying, simSocket: simSocket) }
        let status = ExitStatus(rawValue: category.exitStatus) ?? .failure
        var message = description
        if category == .moduleUnavailable {
            message += simSocket.map { " (simulator \($0))" }
                ?? " — or use the simulator: start 'blksnapctl sim serve --root DIR' and pass --sim DIR/blksnapctl.sock, or run 'blksnapctl demo'"
        }
        return CommandFailure(message, status: status)
    }
}
