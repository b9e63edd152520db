// Package idem records which side effects have already happened, so a
// consumer that receives a message at least once can act on it exactly once.
//
// # The two-phase pattern
//
// A [Store] keeps one record per key, in one of two states: a lease held by
// an owner ("in progress") or done. A consumer handles each delivery so:
//
//  1. [Store.Claim] the key with a lease. [Done] means the side effect
//     already happened: ack and skip. [Busy] means another worker holds a
//     live lease: redeliver later (NakWithDelay), do not ack.
//  2. On [Claimed], perform the side effect (and publish the next events).
//  3. On success, ack and [Store.Complete] the key with a long ttl, in
//     either order: only a redelivery reads the completion, and there is
//     none unless the ack is lost. Package bus acks first, so that an
//     in-order consumer's next message does not wait for the store.
//     On failure, [Store.Release] the key, then nak.
//
// A key is never marked done before its side effect succeeded: recording
// the key first and acting second loses the work when the worker crashes in
// between (the "SET NX before processing" pitfall; Redpanda Connect's dedupe
// processor documents it). A crashed owner's lease expires by itself, and
// then another worker may claim the key and do the work.
//
// # Leases
//
// Choose the lease longer than the longest side effect. When the lease runs
// out before the owner finishes, another worker may take over: the old
// owner's Complete and Release then return [ErrNotOwner], and the side
// effect may have happened twice. A redelivery that comes while a crashed
// owner's lease still runs finds the key [Busy] and must come back once the
// lease is over: the bus, whose lease is at least JetStream's AckWait (2
// minutes against 30 seconds by default), redelivers it after one lease.
// Choose ttl at least as long as the producer may redeliver or resend (the
// bus keeps done keys for days).
//
// # Implementations
//
// [RedisStore] keeps the records in Redis (standalone, Sentinel or Cluster)
// with Lua scripts; [KVStore] keeps them in a JetStream key-value bucket, for
// deployments without Redis such as the all-in-one "efaktura up". Both pass
// the contract suite in package idemtest.
//
// # High availability
//
// Redis replicates asynchronously: a failover can lose a claim or a
// completion that the old primary acknowledged, and then a duplicate gets
// through. A replicated (R3) KV bucket commits writes through a quorum, but
// its reads go through direct get and may lag behind the latest write. The
// store narrows duplicates; it cannot exclude them. Business-level
// idempotency (deterministic event ids, Nats-Msg-Id deduplication, the ERP's
// own idempotency key) remains the last line of defence.
package idem
