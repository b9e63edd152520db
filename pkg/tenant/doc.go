// Package tenant holds the municipalities (kommuner) efaktura serves: their
// economy system, the senders allowed to submit for them, their two SF1590_D
// service agreements, and the tokens their systems and caseworkers use.
//
// The parts:
//
//   - [Tenant] is the model, with [Tenant.Validate], [Tenant.Public] (what
//     may be shown: no signing secret, no token hashes) and
//     [Tenant.AnswersAllowed].
//   - [Store] keeps tenants in the JetStream KV bucket "EFAKTURA_tenants"
//     and publishes every change as [events.TypeTenantChanged] and
//     [events.TypeAgreementChanged]; the admin process writes through it.
//   - [Registry] is the workers' in-memory view of the bucket: it follows
//     every change and answers [Registry.Authenticate] and
//     [Registry.Senders] without a round trip.
//   - [LoadFile] reads tenants from a YAML or JSON file at start-up and
//     [Seed] puts them into the store.
//   - [NewAdminAPI] is the operators' HTTP API (efaktura tenant ... and
//     efaktura agreement ... talk to it).
//
// Tokens: the economy system holds a token of [RoleIngest], caseworkers
// tokens of [RoleCaseworker], both part of their municipality; operators
// hold admin tokens ([RoleAdmin]), which are global and given to
// [NewRegistry] as hashes. Only SHA-256 hashes of tokens are stored
// ([HashToken]).
package tenant
