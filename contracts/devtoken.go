package contracts

// PathDevToken is the development identity provider's token shortcut: a
// POST of {"sub", "expires_in"} answers an access token. It is no
// operation of the contract. The mock's provider serves it (mock/idp) and
// the documentation page offers it (contracts/portal); it is written here,
// the one layer both import, so the page cannot offer a path the provider
// does not serve.
const PathDevToken = "/_dev/token"
