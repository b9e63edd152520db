package main

import (
	"io"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/worker/workertest"
	"github.com/kp-efaktura/efaktura/services/erpsim"
)

func TestConfigurationIsDocumented(t *testing.T) {
	c := config{sim: erpsim.Config{Secrets: secrets{}}}
	workertest.Documented(t, workertest.Doc, "erpsim", flags(&c, io.Discard), nil)
}
