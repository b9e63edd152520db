package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

const rulesSynopsis = "efaktura rules get [--api URL] [--token TOKEN] KOMMUNE\n" +
	"       efaktura rules set [--api URL] [--token TOKEN] KOMMUNE FILE"

// runRules shows and sets a municipality's straight-through rules
// (issue 14) through the admin API: get prints them as JSON, set PUTs the
// JSON of FILE ("-": standard input) and prints them as saved. Exit
// status as for runTenant: 1 when the API refused the rules (every
// problem is named) or the municipality is unknown.
func runRules(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	sub, code, ok := subcommand(args, rulesSynopsis, stderr, "get", "set")
	if !ok {
		return code
	}
	fs := newFlagSet("rules "+sub, rulesSynopsis)
	flags := apiFlagsVar(fs)
	operands, err := fs.parse(args[1:], stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	switch {
	case sub == "get" && len(operands) != 1:
		return fs.usageError(stderr, "get needs one kommune code")
	case sub == "set" && len(operands) != 2:
		return fs.usageError(stderr, "set needs a kommune code and a file of rules (JSON; - reads standard input)")
	case !events.ValidKommune(operands[0]):
		return fs.usageError(stderr, "%q is not a kommune code (4 digits)", operands[0])
	}
	c, err := flags.client()
	if err != nil {
		return fs.usageError(stderr, "%v", err)
	}
	name := "efaktura rules " + sub
	path := "/v1/tenants/" + operands[0] + "/rules"
	var out tenant.Rules
	if sub == "get" {
		if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
			return apiFailure(stderr, name, err)
		}
		return writeRules(stdout, stderr, out)
	}
	in, err := readRules(operands[1], stdin)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		var syn *json.SyntaxError
		if errors.As(err, &syn) || errors.Is(err, errNotRules) {
			return exitInvalid
		}
		return exitError
	}
	if err := c.do(ctx, http.MethodPut, path, in, &out); err != nil {
		return apiFailure(stderr, name, err)
	}
	return writeRules(stdout, stderr, out)
}

var errNotRules = errors.New("the file is not the rules' JSON")

// readRules reads the rules' JSON from path, or stdin for "-": one object,
// no unknown field (the API would refuse it anyway, less clearly).
func readRules(path string, stdin io.Reader) (tenant.Rules, error) {
	var raw []byte
	var err error
	if path == "-" {
		raw, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return tenant.Rules{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var rs tenant.Rules
	if err := dec.Decode(&rs); err != nil {
		return tenant.Rules{}, fmt.Errorf("%s: %w: %w", path, errNotRules, err)
	}
	return rs, nil
}

func writeRules(stdout, stderr io.Writer, rs tenant.Rules) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rs); err != nil {
		fmt.Fprintf(stderr, "efaktura: write: %v\n", err)
		return exitError
	}
	return exitOK
}
