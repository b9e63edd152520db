package main

import (
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/worker/workertest"
)

func TestConfigurationIsDocumented(t *testing.T) {
	common := workertest.Common()
	workertest.Documented(t, workertest.Doc, "decide", command(func(string) string { return "" }).FlagSet(), func(name string) bool { return common[name] && name != "http" })
}
