package main

import (
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/worker/workertest"
)

func TestConfigurationIsDocumented(t *testing.T) {
	common := workertest.Common()
	workertest.Documented(t, workertest.Doc, "ingest", command.FlagSet(), func(name string) bool { return common[name] && name != "http" })
}
