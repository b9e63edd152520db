package main

import (
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/worker/workertest"
)

func TestUpConfigurationIsDocumented(t *testing.T) {
	t.Setenv("EFAKTURA_HTTP", "") // the documented defaults, whatever the shell says
	t.Setenv("EFAKTURA_DATA", "")
	fs, _ := newUpFlags()
	workertest.Documented(t, workertest.Doc, "efaktura up", fs.FlagSet, nil)
}
