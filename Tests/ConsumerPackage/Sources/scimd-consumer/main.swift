import SCIMDClient

let scimd = SCIMDClient(socketPath: CommandLine.arguments.dropFirst().first ?? SCIMDClient.defaultSocketPath)
// Provisioning check: is the customer's IdP provisioning anyone yet?
let acme = try await scimd.connection("acme")
print("acme: \(acme.activeUsers) of \(acme.users) users active")
// SSO: which provisioned user is this login, and may they log in?
let login = try await scimd.resolveSSO(.init(connection: "acme", claims: ["email": "alice@acme.example"]))
print("alice: \(login.verdict), roles \(login.user?.roles ?? [])")
// Follow the change feed from now on; the client reconnects and resumes when scimd restarts.
let now = try await scimd.listEvents(.init(limit: 1)).latestSequence
for try await event in try await scimd.subscribeEvents(EventSelection(after: now)) {
    print(event.sequence, event.type, event.resourceId ?? "-")
}
await scimd.shutdown()
