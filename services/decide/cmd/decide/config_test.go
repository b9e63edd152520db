package main

import (
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/worker/workertest"
	"github.com/kp-efaktura/efaktura/services/decide"
)

func TestConfigurationIsDocumented(t *testing.T) {
	common := workertest.Common()
	workertest.Documented(t, workertest.Doc, "decide", decide.Command().FlagSet(), func(name string) bool { return common[name] && name != "http" })
}
