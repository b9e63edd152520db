package tenant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kp-efaktura/efaktura/pkg/answer"
)

// maxFile bounds a tenants file; 98 municipalities take a few hundred KB.
const maxFile = 16 << 20

// The tenants file, as [LoadFile] reads it. Field names are those of the
// Tenant JSON, plus secret_env for the secret and token for a plain token.
type (
	tenantsFile struct {
		Tenants []fileTenant `json:"tenants" yaml:"tenants"`
	}
	fileTenant struct {
		Kommune       string                          `json:"kommune" yaml:"kommune"`
		Name          string                          `json:"name" yaml:"name"`
		CVR           string                          `json:"cvr" yaml:"cvr"`
		EconomySystem fileEconomySystem               `json:"economy_system" yaml:"economy_system"`
		Senders       []fileSender                    `json:"senders" yaml:"senders"`
		Agreements    map[AgreementName]fileAgreement `json:"agreements" yaml:"agreements"`
		Tokens        *[]fileToken                    `json:"tokens" yaml:"tokens"`
	}
	fileEconomySystem struct {
		ID        string   `json:"id" yaml:"id"`
		Name      string   `json:"name" yaml:"name"`
		Endpoint  string   `json:"endpoint" yaml:"endpoint"`
		Secret    string   `json:"secret" yaml:"secret"`
		Secrets   []string `json:"secrets" yaml:"secrets"`
		SecretEnv string   `json:"secret_env" yaml:"secret_env"`
	}
	fileSender struct {
		Type string `json:"type" yaml:"type"`
		ID   string `json:"id" yaml:"id"`
		Nets bool   `json:"nets" yaml:"nets"`
	}
	fileAgreement struct {
		State         AgreementState `json:"state" yaml:"state"`
		EconomySystem string         `json:"economy_system" yaml:"economy_system"`
	}
	fileToken struct {
		Role   Role   `json:"role" yaml:"role"`
		Name   string `json:"name" yaml:"name"`
		SHA256 string `json:"sha256" yaml:"sha256"`
		Token  string `json:"token" yaml:"token"`
	}
)

// LoadFile reads tenants from a YAML (.yaml, .yml) or JSON (.json) file with
// a top-level list "tenants", each in the form of the [Tenant] JSON, with
// these differences (see testdata/tenants.yaml):
//   - the economy system's signing secrets are given as "secrets", a list
//     in the "whsec_" form, as "secret", one secret (plain text is mapped
//     to "whsec_" as [EconomySystem].Secret says), or as "secret_env:
//     NAME", read with getenv (a nil getenv reads nothing): the variable
//     holds one plain secret, or one or more "whsec_" secrets separated
//     by spaces (two while a secret is rotated); "secrets" may be given
//     with either of the others, "secret" and "secret_env" not together;
//   - a token is given as "sha256" (its hex SHA-256, see [HashToken]) or as
//     a plain "token", which is hashed at once and not kept;
//   - an agreement's "economy_system" may be left out: it then names the
//     municipality's;
//   - "version" and "updated_at" are not accepted: the store sets them.
//
// A tenant without a "tokens" key gets nil Tokens, so [Store.Put] keeps the
// stored ones; "tokens: []" revokes them. Unknown fields are errors, to catch
// misspellings. Every tenant is validated ([Tenant.Validate]) and a kommune
// may appear once. Errors name the file and the tenant (position and
// kommune) and wrap [ErrInvalid] for a problem of content.
func LoadFile(path string, getenv func(string) string) ([]Tenant, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tenant: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("tenant: read %s: %w", path, err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrInvalid, path, maxFile)
	}
	var file tenantsFile
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
		}
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&file); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
		}
	default:
		return nil, fmt.Errorf("%w: %s: extension %q; expected .yaml, .yml or .json", ErrInvalid, path, ext)
	}
	if len(file.Tenants) == 0 {
		return nil, fmt.Errorf("%w: %s: no tenants (expected a top-level list \"tenants\")", ErrInvalid, path)
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	out := make([]Tenant, 0, len(file.Tenants))
	seen := map[string]int{}
	var errs []error
	for i, ft := range file.Tenants {
		t, problems := ft.tenant(getenv)
		problems = append(problems, t.problems()...)
		if first, dup := seen[ft.Kommune]; dup {
			problems = append(problems, fmt.Errorf("kommune %s is also tenant %d", ft.Kommune, first))
		} else {
			seen[ft.Kommune] = i + 1
		}
		if len(problems) > 0 {
			errs = append(errs, fmt.Errorf("%s: tenant %d (kommune %q): %w: %w", path, i+1, ft.Kommune, ErrInvalid, errors.Join(problems...)))
			continue
		}
		out = append(out, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// tenant turns a file entry into a normalized Tenant, and lists what is
// wrong with the entry beyond what Validate finds.
func (ft fileTenant) tenant(getenv func(string) string) (Tenant, []error) {
	var errs []error
	t := Tenant{
		Kommune: ft.Kommune,
		Name:    ft.Name,
		CVR:     ft.CVR,
		EconomySystem: EconomySystem{
			ID:       ft.EconomySystem.ID,
			Name:     ft.EconomySystem.Name,
			Endpoint: ft.EconomySystem.Endpoint,
			Secret:   ft.EconomySystem.Secret,
			Secrets:  ft.EconomySystem.Secrets,
		},
	}
	if es := ft.EconomySystem; es.SecretEnv != "" {
		// A plain secret is taken byte for byte, as before.
		v := getenv(es.SecretEnv)
		switch {
		case es.Secret != "":
			errs = append(errs, errors.New("economy system: give secret or secret_env, not both"))
		case v == "":
			errs = append(errs, fmt.Errorf("economy system: secret_env %s is not set or empty", es.SecretEnv))
		case strings.HasPrefix(strings.TrimSpace(v), answer.SecretPrefix):
			t.EconomySystem.Secrets = append(slices.Clone(t.EconomySystem.Secrets), strings.Fields(v)...)
		default:
			t.EconomySystem.Secret = v
		}
	}
	for _, s := range ft.Senders {
		t.Senders = append(t.Senders, Sender(s))
	}
	if ft.Agreements != nil {
		t.Agreements = make(map[AgreementName]Agreement, len(ft.Agreements))
		for name, a := range ft.Agreements {
			t.Agreements[name] = Agreement{State: a.State, EconomySystem: a.EconomySystem}
		}
	}
	if ft.Tokens != nil {
		t.Tokens = make([]Token, 0, len(*ft.Tokens))
		for j, tok := range *ft.Tokens {
			switch {
			case tok.Token != "" && tok.SHA256 != "":
				errs = append(errs, fmt.Errorf("token %d (%q): give sha256 or token, not both", j+1, tok.Name))
			case tok.Token != "":
				t.Tokens = append(t.Tokens, Token{Role: tok.Role, Name: tok.Name, SHA256: HashToken(tok.Token)})
			case tok.SHA256 != "":
				t.Tokens = append(t.Tokens, Token{Role: tok.Role, Name: tok.Name, SHA256: tok.SHA256})
			default:
				errs = append(errs, fmt.Errorf("token %d (%q): give sha256 or token", j+1, tok.Name))
			}
		}
	}
	return t.Normalized(), errs
}

// Seed stores each tenant the store does not hold yet, as a process does
// at start-up with the tenants of [LoadFile], and returns how many it
// stored. A municipality stored already is left as it is: once stored, the
// admin API manages it, and a restart must not undo what was done there
// (an agreement revoked, a token or secret rotated). Several processes may
// seed at once; whichever stores a municipality first wins.
//
// It goes on after a failure and returns every error, joined.
func Seed(ctx context.Context, store *Store, tenants []Tenant) (int, error) {
	var errs []error
	stored := 0
	for _, t := range tenants {
		_, err := store.Get(ctx, t.Kommune)
		if err == nil {
			continue
		}
		if errors.Is(err, ErrNotFound) {
			_, err = store.Put(ctx, t, 0)
			if err == nil {
				stored++
			}
		}
		if err != nil && !errors.Is(err, ErrConflict) {
			errs = append(errs, fmt.Errorf("seed %s: %w", t.Kommune, err))
		}
	}
	return stored, errors.Join(errs...)
}
