package main

import (
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/worker/workertest"
	"github.com/kp-efaktura/efaktura/services/respond"
)

func TestConfigurationIsDocumented(t *testing.T) {
	common := workertest.Common()
	workertest.Documented(t, workertest.Doc, "respond", respond.Command().FlagSet(), func(name string) bool { return common[name] && name != "http" })
}
