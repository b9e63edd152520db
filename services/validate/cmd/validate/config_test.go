package main

import (
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/worker/workertest"
	"github.com/kp-efaktura/efaktura/services/validate"
)

func TestConfigurationIsDocumented(t *testing.T) {
	common := workertest.Common()
	workertest.Documented(t, workertest.Doc, "validate", validate.Command().FlagSet(), func(name string) bool { return common[name] && name != "http" })
}
