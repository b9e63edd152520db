package main

import (
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/worker/workertest"
	"github.com/kp-efaktura/efaktura/services/ingest"
)

func TestConfigurationIsDocumented(t *testing.T) {
	common := workertest.Common()
	workertest.Documented(t, workertest.Doc, "ingest", ingest.Command().FlagSet(), func(name string) bool { return common[name] && name != "http" })
}
