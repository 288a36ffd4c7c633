// The client's API is made of the protocol's types (params and results of every method, `RPCError`,
// `EventInfo`) and the JSON value type. Re-exported so that a user of the `SCIMDClient` product
// needs only `import SCIMDClient`: neither module is a product of its own (docs/DESIGN-NOTES.md).
@_exported import SCIMDProtocol
@_exported import SCIMJSON
