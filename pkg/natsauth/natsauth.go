// Package natsauth is the one source of the NATS identities of efaktura's
// components and of what each may publish and subscribe to (issue 16).
//
// Each worker connects as its own NATS user, in one account, EFAKTURA,
// with JetStream enabled. Its permissions allow exactly what the worker
// does:
//   - publish the event types it produces ([events.Filter] of each), and
//     nothing of another worker's;
//   - the JetStream API of the streams, consumers and KV buckets it uses:
//     create, update and look up the streams and buckets it provisions at
//     start (every worker does, by design), create, read and pause its own
//     durable consumers, read and write its buckets; never delete or purge
//     a stream, and never touch a bucket or stream it does not use;
//   - its dead-letter subject, its replies (an inbox prefix of its own,
//     [InboxPrefix], so no worker reads another's replies) and its
//     replicas' resume notices.
//
// The admin identity, for the operator CLIs (efaktura dlq, answers,
// retention) and the nats CLI (backups, purges), may do anything in the
// account; the submitter identity, for an upstream ERP adapter, may only
// publish bundle.submitted.
//
// [Config] renders the permissions as a NATS server configuration file,
// deploy/nats/permissions.conf, which a test keeps equal to the code; a
// deployment's users file ([Users]) names each user's credentials and
// refers to these permissions by variable.
package natsauth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kp-efaktura/efaktura/events"
)

// Account is the NATS account every efaktura identity belongs to.
const Account = "EFAKTURA"

// The identities. Workers are named as their bus service (bus.Config.Service),
// which prefixes their durable consumers.
const (
	Ingest    = "ingest"
	Validate  = "validate"
	Decide    = "decide"
	Respond   = "respond"
	Admin     = "admin"
	Submitter = "submitter"
)

// Workers are the four workers' identities, in pipeline order.
var Workers = []string{Ingest, Validate, Decide, Respond}

// Identities are every identity, workers first.
var Identities = []string{Ingest, Validate, Decide, Respond, Admin, Submitter}

// Layout names the streams, buckets and consumers a deployment uses; the
// zero value takes the defaults, which are the workers' defaults.
type Layout struct {
	// Stream is the event stream (EFAKTURA_STREAM); default EFAKTURA. Its
	// dead-letter stream is Stream+"_DLQ", the idempotency bucket (without
	// Redis) Stream+"_idem".
	Stream string
	// Documents is decide's bucket of open documents (DECIDE_BUCKET);
	// default EFAKTURA_documents.
	Documents string
}

// Fixed names, owned by the packages that create them; repeated here
// because pkg cannot import the services. The whole-flow test with the
// shipped permissions fails when one of them changes.
const (
	tenantsBucket = "EFAKTURA_tenants"    // pkg/tenant.DefaultBucket
	answersStream = "EFAKTURA_ANSWERS"    // services/respond
	archiveBucket = "EFAKTURA_archive"    // services/decide.ArchiveBucket
	bundlesBucket = "EFAKTURA_bundles"    // services/decide.BundlesBucket
	dupsBucket    = "EFAKTURA_duplicates" // services/decide.DuplicatesBucket
	archiveStream = "EFAKTURA_ARCHIVE"    // services/decide.ArchiveStream
	archivePrefix = "efaktura_archive"    // services/decide.ArchiveSubject
	resumedPrefix = "_efaktura.resumed"   // pkg/bus resume notices
	dlqPrefix     = "dlq"                 // pkg/bus dead-letter subjects
	documentsDflt = "EFAKTURA_documents"  // services/decide.DefaultBucket
	streamDflt    = "EFAKTURA"            // pkg/bus default stream
	respondQueues = "answers"             // services/respond.QueueHandler prefix
)

func (l Layout) withDefaults() Layout {
	if l.Stream == "" {
		l.Stream = streamDflt
	}
	if l.Documents == "" {
		l.Documents = documentsDflt
	}
	return l
}

// Permissions are the subjects an identity may publish and subscribe to;
// everything else is refused with a permissions violation.
type Permissions struct {
	Publish, Subscribe []string
}

// InboxPrefix is the prefix of the reply subjects of identity name's
// connection (nats.CustomInboxPrefix): _INBOX.<name>. Its permissions let
// it subscribe there and nowhere else under _INBOX.
func InboxPrefix(name string) string { return "_INBOX." + name }

// durables are each worker's durable consumers on the event stream,
// "<worker>-<handler>" (the handler names of services/*).
var durables = map[string][]string{
	Ingest:   {"bundles"},
	Validate: {"documents"},
	Decide: {"document-received", "document-validated", "document-rejected", "verdict-submitted", "answer-parked", "answer-delivered", "answer-failed",
		"bundle-received", "bundle-rejected"},
	Respond: {"decided"},
}

// publishes are the event types each worker publishes.
var publishes = map[string][]string{
	Ingest:   {events.TypeBundleReceived, events.TypeBundleRejected, events.TypeDocumentReceived},
	Validate: {events.TypeDocumentValidated, events.TypeDocumentRejected},
	// decide serves the caseworkers' verdicts and, on its admin port, the
	// municipalities' records.
	Decide:  {events.TypeVerdictSubmitted, events.TypeVerdictRefused, events.TypeDocumentDecided, events.TypeTenantChanged, events.TypeAgreementChanged},
	Respond: {events.TypeAnswerQueued, events.TypeAnswerParked, events.TypeAnswerDelivered, events.TypeAnswerFailed},
}

// For returns identity name's permissions under layout l; false for an
// unknown name.
func For(name string, l Layout) (Permissions, bool) {
	l = l.withDefaults()
	switch name {
	case Admin:
		return Permissions{Publish: []string{">"}, Subscribe: []string{">"}}, true
	case Submitter:
		return Permissions{
			Publish:   append([]string{events.Filter(events.TypeBundleSubmitted)}, jsAPI("STREAM.INFO."+l.Stream)...),
			Subscribe: []string{InboxPrefix(name) + ".>"},
		}, true
	}
	if _, ok := publishes[name]; !ok {
		return Permissions{}, false
	}
	var p perms
	p.sub(InboxPrefix(name) + ".>")
	// The account's JetStream limits, which opening a KV bucket reads.
	p.pub(jsAPI("INFO")...)
	// The event stream and the dead letters: every worker provisions both.
	p.stream(l.Stream)
	p.stream(l.Stream + "_DLQ")
	p.pub(dlqPrefix + "." + strings.ToLower(l.Stream) + "." + name)
	for _, t := range publishes[name] {
		p.pub(events.Filter(t))
	}
	for _, h := range durables[name] {
		p.durable(l.Stream, name+"-"+h)
	}
	// Resume notices between a worker's replicas (bus.Resume).
	resumed := resumedPrefix + "." + strings.ToLower(l.Stream) + "." + name + ".>"
	p.pub(resumed)
	p.sub(resumed)
	// Every worker follows the municipalities (its registry) and, without
	// Redis, keeps idempotency keys in the bus's bucket.
	p.bucket(tenantsBucket, name == Decide)
	p.bucket(l.Stream+"_idem", true)

	switch name {
	case Ingest:
		p.stream(events.RawStream)
		p.pub(events.RawSubjects)
		p.directGet(events.RawStream)
	case Validate:
		p.pub(jsAPI("STREAM.INFO." + events.RawStream)...)
		p.directGet(events.RawStream)
	case Decide:
		p.bucket(l.Documents, true)
		p.bucket(archiveBucket, true)
		p.bucket(bundlesBucket, true)
		p.bucket(dupsBucket, true)
		p.stream(archiveStream)
		p.pub(archivePrefix + ".>")
		// Pages of the archive: ephemeral consumers, made and deleted.
		p.pub(jsAPI("CONSUMER.CREATE."+archiveStream+".>", "CONSUMER.DELETE."+archiveStream+".>",
			"CONSUMER.MSG.NEXT."+archiveStream+".>", "CONSUMER.INFO."+archiveStream+".>")...)
		// The admin API's agreements table counts respond's parked
		// answers (tenant.AnswerQueues): read-only, the stream, its
		// consumers' list and the head of a queue (issue 15).
		p.pub(jsAPI("STREAM.INFO."+answersStream, "CONSUMER.LIST."+answersStream, "STREAM.MSG.GET."+answersStream)...)
	case Respond:
		p.stream(answersStream)
		// One queue per municipality, respond-answers-<kommune>: a stream
		// of respond's alone, so any consumer name on it.
		p.pub(jsAPI("CONSUMER.CREATE."+answersStream+".*", "CONSUMER.CREATE."+answersStream+".*.>",
			"CONSUMER.DURABLE.CREATE."+answersStream+".*", "CONSUMER.INFO."+answersStream+".*",
			"CONSUMER.MSG.NEXT."+answersStream+".*", "CONSUMER.PAUSE."+answersStream+".*")...)
		// Its gauges (services/respond/metrics.go) list the queues
		// (respond.Queues) and read its own dead letters through an
		// ordered consumer filtered on its dead-letter subject
		// (bus.DeadLetters.List): made, read and deleted.
		p.pub(jsAPI("CONSUMER.LIST." + answersStream)...)
		dlq := l.Stream + "_DLQ"
		p.pub(jsAPI("CONSUMER.CREATE."+dlq+".*."+dlqPrefix+"."+strings.ToLower(l.Stream)+"."+name,
			"CONSUMER.MSG.NEXT."+dlq+".*", "CONSUMER.INFO."+dlq+".*", "CONSUMER.DELETE."+dlq+".*")...)
		p.pub("$JS.ACK." + answersStream + ".>")
	}
	return p.done(), true
}

// perms collects subjects without repeats.
type perms struct{ Permissions }

func (p *perms) pub(s ...string) { p.Publish = append(p.Publish, s...) }
func (p *perms) sub(s ...string) { p.Subscribe = append(p.Subscribe, s...) }

func (p *perms) done() Permissions {
	for _, l := range []*[]string{&p.Publish, &p.Subscribe} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return p.Permissions
}

func jsAPI(ops ...string) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = "$JS.API." + op
	}
	return out
}

// stream allows creating, updating and looking up a stream, not deleting
// or purging it.
func (p *perms) stream(name string) {
	p.pub(jsAPI("STREAM.INFO."+name, "STREAM.CREATE."+name, "STREAM.UPDATE."+name)...)
}

// directGet allows reading single messages of a stream by sequence or
// subject.
func (p *perms) directGet(name string) {
	p.pub(jsAPI("STREAM.MSG.GET."+name, "DIRECT.GET."+name, "DIRECT.GET."+name+".>")...)
}

// durable allows a durable pull consumer: creating or updating it, looking
// it up, fetching and acking, and pausing it.
func (p *perms) durable(stream, name string) {
	p.pub(jsAPI("CONSUMER.CREATE."+stream+"."+name, "CONSUMER.CREATE."+stream+"."+name+".>",
		"CONSUMER.DURABLE.CREATE."+stream+"."+name, "CONSUMER.INFO."+stream+"."+name,
		"CONSUMER.MSG.NEXT."+stream+"."+name, "CONSUMER.PAUSE."+stream+"."+name)...)
	p.pub("$JS.ACK." + stream + "." + name + ".>")
}

// bucket allows opening a KV bucket (creating or updating its stream),
// reading and watching it, and writing it when write is set.
func (p *perms) bucket(name string, write bool) {
	s := "KV_" + name
	p.stream(s)
	p.directGet(s)
	// Watches are ordered consumers of the bucket's stream, with flow
	// control.
	p.pub(jsAPI("CONSUMER.CREATE."+s+".>", "CONSUMER.DELETE."+s+".>", "CONSUMER.INFO."+s+".>")...)
	p.pub("$JS.FC." + s + ".>")
	if write {
		p.pub("$KV." + name + ".>")
	}
}

// Config renders the permissions of every identity under l as a NATS
// server configuration file: one variable per identity,
// EFAKTURA_<IDENTITY>_PERMISSIONS, for a users file to refer to ([Users]).
// deploy/nats/permissions.conf is Config(Layout{}).
func Config(l Layout) string {
	var b strings.Builder
	b.WriteString("# The permissions of efaktura's NATS identities, one variable per identity.\n")
	b.WriteString("# Generated from pkg/natsauth; do not edit. TestShippedPermissions keeps it equal\n")
	b.WriteString("# to the code (cd pkg && go test ./natsauth -run TestShippedPermissions -update\n")
	b.WriteString("# writes it). A users file includes it and refers to the variables (docs/operations.md).\n")
	for _, name := range Identities {
		p, _ := For(name, l)
		fmt.Fprintf(&b, "\n%s = {\n", Variable(name))
		writeList(&b, "publish", p.Publish)
		writeList(&b, "subscribe", p.Subscribe)
		b.WriteString("}\n")
	}
	return b.String()
}

// Variable is the name of identity name's permissions in [Config]'s file.
func Variable(name string) string {
	return "EFAKTURA_" + strings.ToUpper(name) + "_PERMISSIONS"
}

func writeList(b *strings.Builder, key string, subjects []string) {
	fmt.Fprintf(b, "  %s: {\n    allow: [\n", key)
	for _, s := range subjects {
		fmt.Fprintf(b, "      %q\n", s)
	}
	b.WriteString("    ]\n  }\n")
}

// User is one NATS user of an identity: an nkey (its public key, "U..."),
// or a user name and password (a bcrypt hash is best). An identity may
// have two users at once while its credentials are rotated.
type User struct {
	Identity string
	NKey     string
	Name     string
	Password string
}

// Users renders a users file: it includes permissionsFile (the path of
// [Config]'s file, relative to the users file) and defines account
// EFAKTURA, with JetStream, holding users. The server's configuration
// includes it.
func Users(permissionsFile string, users []User) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "include %q\n\naccounts {\n  %s {\n    jetstream: enabled\n    users: [\n", permissionsFile, Account)
	for _, u := range users {
		if !slices.Contains(Identities, u.Identity) {
			return "", fmt.Errorf("natsauth: unknown identity %q", u.Identity)
		}
		switch {
		case u.NKey != "" && u.Name == "" && u.Password == "":
			fmt.Fprintf(&b, "      {nkey: %q, permissions: $%s}\n", u.NKey, Variable(u.Identity))
		case u.NKey == "" && u.Name != "" && u.Password != "":
			fmt.Fprintf(&b, "      {user: %q, password: %q, permissions: $%s}\n", u.Name, u.Password, Variable(u.Identity))
		default:
			return "", fmt.Errorf("natsauth: user of %s: give an nkey, or a name and a password", u.Identity)
		}
	}
	b.WriteString("    ]\n  }\n}\n")
	return b.String(), nil
}
